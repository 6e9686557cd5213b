#!/usr/bin/env bash
# Builds the suite's images from binaries on this machine, for hosts that cannot pull from
# a container registry (air-gapped runners, this project's CI):
#   egress-verify/redis:local  redis-server + redis-cli from the host (Debian: apt-get install redis-server redis-tools)
#   egress-verify/probe:local  the host's node binary + helpers/probe.mjs
# Both are FROM scratch: the binary plus the shared libraries ldd lists. They have no shell,
# so they are run with exec-form commands. Linux hosts only.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "build-local-images: '$1' not found; $2" >&2; exit 1; }; }
need docker "install a Docker engine (Debian: apt-get install docker.io)"
need redis-server "install Redis (Debian: apt-get install redis-server redis-tools)"
need redis-cli "install Redis tools (Debian: apt-get install redis-tools)"
need node "install Node.js >= 20"
[ "$(uname -s)" = Linux ] || { echo "build-local-images: needs a Linux host (the binaries are copied into the image)" >&2; exit 1; }

# Copies binaries and every library they link (with its path) into a build context.
stage() {
  local ctx=$1; shift
  local bin lib
  for bin in "$@"; do
    install -D -m 0755 "$(readlink -f "$bin")" "$ctx/usr/local/bin/$(basename "$bin")"
    for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
      install -D -m 0755 "$(readlink -f "$lib")" "$ctx$lib"
    done
  done
}

build() {
  local tag=$1 ctx=$2 started=$SECONDS
  DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$ctx" >/dev/null 2>&1 || docker build --tag "$tag" "$ctx"
  echo "built $tag in $((SECONDS - started))s ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/redis/data"
stage "$work/redis" "$(command -v redis-server)" "$(command -v redis-cli)"
cat > "$work/redis/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY . /
ENV PATH=/usr/local/bin
WORKDIR /data
EXPOSE 6379
# No persistence: a stand-in for a cache; protected mode off so other containers may connect.
CMD ["redis-server", "--protected-mode", "no", "--save", "", "--appendonly", "no"]
DOCKERFILE
build egress-verify/redis:local "$work/redis"

mkdir -p "$work/probe/probe" "$work/probe/tmp"
stage "$work/probe" "$(command -v node)"
install -m 0644 helpers/probe.mjs "$work/probe/probe/probe.mjs"
cat > "$work/probe/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY . /
ENV PATH=/usr/local/bin
ENTRYPOINT ["node", "/probe/probe.mjs"]
DOCKERFILE
build egress-verify/probe:local "$work/probe"
