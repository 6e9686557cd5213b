#!/usr/bin/env bash
# Step 4: assemble the kind node image by hand (`kind build node-image` cannot
# run offline): the Debian rootfs + this folder's files + kube-node, with the
# images of build-images.sh imported into the node's containerd, committed as
# egress-verify/kind-node:v1.36.1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=${KUBE_NODE_BIN:-/tmp/kind-node-bin}
ROOTFS_IMAGE=${BASE_ROOTFS_IMAGE:-egress-verify/kind-base-rootfs:bookworm}
NODE_IMAGE=${NODE_IMAGE:-egress-verify/kind-node:v1.36.1}
V=v1.36.1
IMAGES=(
  "registry.k8s.io/kube-apiserver:$V" "registry.k8s.io/kube-controller-manager:$V"
  "registry.k8s.io/kube-scheduler:$V" "registry.k8s.io/kube-proxy:$V"
  registry.k8s.io/etcd:3.6.8-0 registry.k8s.io/pause:3.10.2 registry.k8s.io/coredns/coredns:v1.14.2
)
name=kind-node-build-$$
start=$(date +%s)
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT

# Not --privileged (refused on this host, see README); what the build needs.
docker run -d --name "$name" --cap-add=ALL --cap-drop=SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --entrypoint sleep "$ROOTFS_IMAGE" infinity >/dev/null

in_node() { docker exec -i "$name" "$@"; }
in_node mkdir -p /usr/local/bin /etc/systemd/system/kubelet.service.d /etc/containerd \
  /etc/cni/net.d /etc/kubernetes/manifests /kind
docker cp "$here/files/entrypoint" "$name:/usr/local/bin/entrypoint"
docker cp "$here/files/kubelet.service" "$name:/etc/systemd/system/kubelet.service"
docker cp "$here/files/10-kubeadm.conf" "$name:/etc/systemd/system/kubelet.service.d/10-kubeadm.conf"
docker cp "$here/files/containerd-config.toml" "$name:/etc/containerd/config.toml"
docker cp "$here/files/10-spike.conflist" "$name:/etc/cni/net.d/10-spike.conflist"
docker cp -L "$BIN/kube-node" "$name:/usr/bin/kube-node"
in_node bash -euc '
  for c in kubelet kubeadm kubectl; do ln -sf kube-node /usr/bin/$c; done
  echo '"$V"' > /kind/version
  chmod 755 /usr/local/bin/entrypoint
  systemctl enable kubelet.service containerd.service
  # units that have no job in a node container
  systemctl mask console-getty.service getty.target apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service systemd-binfmt.service
  echo ReadKMsg=no >> /etc/systemd/journald.conf
  /usr/bin/kubelet --version; /usr/bin/kubeadm version -o short
'
echo "files: $(( $(date +%s) - start ))s"

# Import the images into the node's containerd content store (unpacked when
# the node runs, on its /var volume).
docker exec -d "$name" containerd
for _ in $(seq 1 30); do in_node ctr version >/dev/null 2>&1 && break; sleep 1; done
docker save "${IMAGES[@]}" | in_node ctr -n k8s.io images import --no-unpack --all-platforms --digests -
in_node ctr -n k8s.io images ls -q
in_node pkill -x containerd || true
sleep 2
in_node rm -rf /run/containerd /tmp/*
echo "images imported: $(( $(date +%s) - start ))s"

docker commit "$name" "$NODE_IMAGE-flat" >/dev/null
# docker 20.10's commit --change knows no STOPSIGNAL: set the config in a build
printf 'FROM %s\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]\nCMD []\n' \
  "$NODE_IMAGE-flat" | docker build -q -t "$NODE_IMAGE" - >/dev/null
docker rmi "$NODE_IMAGE-flat" >/dev/null
echo "committed $NODE_IMAGE: $(( $(date +%s) - start ))s"
