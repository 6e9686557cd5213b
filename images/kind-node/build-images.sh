#!/usr/bin/env bash
# Step 3: the images kubeadm expects, built here and tagged with the names
# `kubeadm config images list --kubernetes-version v1.36.1` prints:
#   kube-apiserver/-controller-manager/-scheduler  FROM scratch + .tools/bin/kube-control-plane
#   etcd                                           FROM scratch + .tools/bin/etcd (3.6.16 under the 3.6.8-0 tag)
#   pause                                          FROM scratch + pause.c from k8s.io/kubernetes, static
#   kube-proxy                                     the Debian rootfs (it needs iptables) + kube-node
#   coredns                                        FROM scratch + coredns/ (only the Corefile's plugins)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
BIN=${KUBE_NODE_BIN:-/tmp/kind-node-bin}
ROOTFS_IMAGE=${BASE_ROOTFS_IMAGE:-egress-verify/kind-base-rootfs:bookworm}
V=v1.36.1
work=$(mktemp -d /tmp/kind-node-images.XXXXXX)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

scratch_image() { # TAG FILE NAME_IN_IMAGE
  local tag=$1 file=$2 name=$3 ctx
  ctx=$(mktemp -d "$work/ctx.XXXX")
  cp "$file" "$ctx/$name"
  printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENV PATH=/usr/local/bin\nENTRYPOINT ["/usr/local/bin/%s"]\n' \
    "$name" "$name" "$name" > "$ctx/Dockerfile"
  docker build -q -t "$tag" "$ctx" >/dev/null
  echo "built $tag"
}

for c in kube-apiserver kube-controller-manager kube-scheduler; do
  scratch_image "registry.k8s.io/$c:$V" "$repo/.tools/bin/kube-control-plane" "$c"
done
scratch_image registry.k8s.io/etcd:3.6.8-0 "$repo/.tools/bin/etcd" etcd

pause_src=$(cd "$here/kube-node" && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
gcc -Os -static -DVERSION=v3.10.2-egress-verify -o "$work/pause" "$pause_src"
strip "$work/pause"
ctx=$(mktemp -d "$work/ctx.XXXX"); cp "$work/pause" "$ctx/pause"
printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$ctx/Dockerfile"
docker build -q -t registry.k8s.io/pause:3.10.2 "$ctx" >/dev/null; echo "built registry.k8s.io/pause:3.10.2"

ctx=$(mktemp -d "$work/ctx.XXXX"); cp -L "$BIN/kube-node" "$ctx/kube-proxy"
printf 'FROM %s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nENTRYPOINT ["/usr/local/bin/kube-proxy"]\n' "$ROOTFS_IMAGE" > "$ctx/Dockerfile"
docker build -q -t "registry.k8s.io/kube-proxy:$V" "$ctx" >/dev/null; echo "built registry.k8s.io/kube-proxy:$V"
if [[ ! -x "$BIN/coredns" ]]; then
  (cd "$here/coredns" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -mod=readonly \
    -ldflags '-s -w -X github.com/coredns/coredns/coremain.GitCommit=v1.14.2' -o "$BIN/coredns" .)
fi
ctx=$(mktemp -d "$work/ctx.XXXX"); cp "$BIN/coredns" "$ctx/coredns"
printf 'FROM scratch\nCOPY coredns /coredns\nEXPOSE 53 53/udp\nENTRYPOINT ["/coredns"]\n' > "$ctx/Dockerfile"
docker build -q -t registry.k8s.io/coredns/coredns:v1.14.2 "$ctx" >/dev/null; echo "built registry.k8s.io/coredns/coredns:v1.14.2"
echo "images: $(( $(date +%s) - start ))s"
