#!/usr/bin/env bash
# Step 1 of the kind node spike: a Debian bookworm root file system with the
# packages a kind node needs, made with debootstrap (no container registry),
# then imported into Docker as egress-verify/kind-base-rootfs:bookworm.
#
# The Debian mirror is read from this host's apt sources (or DEBIAN_MIRROR),
# so no host name is written here. The .deb cache survives in $CACHE.
#
# Usage: build-rootfs.sh [ROOTFS_DIR]
set -euo pipefail

ROOTFS=${1:-/tmp/kind-node-rootfs}
CACHE=${DEBOOTSTRAP_CACHE:-/tmp/kind-node-debcache}
SUITE=bookworm
IMAGE=${BASE_ROOTFS_IMAGE:-egress-verify/kind-base-rootfs:bookworm}

mirror() {
  if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(grep -rhs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -1 || true)
  [[ -n "$uri" ]] || uri=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -1 || true)
  [[ -n "$uri" ]] || { echo "no Debian mirror found; set DEBIAN_MIRROR" >&2; exit 1; }
  echo "$uri"
}

# What a kind node uses from the distribution (the list follows the package
# list in kind's images/base Dockerfile; containerd/runc/CNI come from Debian
# here instead of being built from Go: bookworm ships containerd 1.6, runc 1.1,
# CNI plugins 1.1).
PACKAGES=(
  systemd systemd-sysv dbus
  conntrack iptables nftables iproute2 ethtool util-linux mount kmod
  libseccomp2 pigz bash ca-certificates curl jq procps
  containerd runc containernetworking-plugins
)

command -v debootstrap >/dev/null || apt-get install -y debootstrap
mkdir -p "$CACHE"
start=$(date +%s)
if [[ ! -x "$ROOTFS/usr/bin/apt-get" ]]; then
  rm -rf "$ROOTFS"
  debootstrap --variant=minbase --cache-dir="$CACHE" "$SUITE" "$ROOTFS" "$(mirror)"
fi
echo "debootstrap: $(( $(date +%s) - start ))s"

# Install the rest with apt inside the chroot; no service may start there.
printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d"
chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
mount --bind /proc "$ROOTFS/proc"
trap 'umount "$ROOTFS/proc" 2>/dev/null || true' EXIT
mkdir -p "$ROOTFS/var/cache/apt/archives"
cp -n "$CACHE"/*.deb "$ROOTFS/var/cache/apt/archives/" 2>/dev/null || true
chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive apt-get update -q
chroot "$ROOTFS" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"
cp -n "$ROOTFS"/var/cache/apt/archives/*.deb "$CACHE/" 2>/dev/null || true
chroot "$ROOTFS" apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/*
rm -f "$ROOTFS/usr/sbin/policy-rc.d"
umount "$ROOTFS/proc"; trap - EXIT
echo "packages: $(( $(date +%s) - start ))s"

tar -C "$ROOTFS" -c . | docker import - "$IMAGE"
echo "imported $IMAGE: $(( $(date +%s) - start ))s"
