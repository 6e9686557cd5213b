#!/usr/bin/env bash
# Step 2: kubelet, kubeadm, kubectl, kube-proxy from k8s.io/kubernetes v1.36.1
# as one multi-call binary (kube-node/), with the version ldflags kubeadm and
# `kubectl version` read. Output: $OUT/kube-node (default /tmp/kind-node-bin).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-/tmp/kind-node-bin}
VERSION=v1.36.1
BUILD_DATE=$(cd "$here/kube-node" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
flags=(-s -w)
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=("-X $pkg.gitVersion=$VERSION" "-X $pkg.gitMajor=1" "-X $pkg.gitMinor=36"
          "-X $pkg.gitTreeState=clean" "-X $pkg.buildDate=$BUILD_DATE")
done
mkdir -p "$OUT"
start=$(date +%s)
(cd "$here/kube-node" && CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -mod=readonly \
  -ldflags "${flags[*]}" -o "$OUT/kube-node" .)
for c in kubelet kubeadm kubectl kube-proxy; do ln -sf kube-node "$OUT/$c"; done
echo "kube-node built in $(( $(date +%s) - start ))s: $(du -h "$OUT/kube-node" | cut -f1)"
