#!/usr/bin/env bash
# Builds the real control-plane binaries the end-to-end suites use, from the Go module proxy:
# kube-apiserver, kube-controller-manager, kubectl (k8s.io/kubernetes), etcd and helm.
# Idempotent: binaries are cached outside the clone, keyed by version, and reused when present.
# Prints the bin directory on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
KUBE_VERSION=1.35.4
ETCD_VERSION=3.6.5
HELM_VERSION=3.22.0
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
bin="$cache/bin/k8s-v$KUBE_VERSION-etcd-v$ETCD_VERSION-helm-v$HELM_VERSION"
mkdir -p "$bin"

export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
export GOMODCACHE=${GOMODCACHE:-$(go env GOMODCACHE)} GOCACHE=${GOCACHE:-$(go env GOCACHE)}

build() { # name, module dir, package, extra ldflags
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-}
  if [ -x "$bin/$name" ]; then return 0; fi
  echo "building $name ($pkg)" >&2
  local started=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  echo "built $name in $((SECONDS - started))s" >&2
}

minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
kube_ld="-X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
for cmd in kube-apiserver kube-controller-manager kubectl; do
  build "$cmd" "$here/tools/kubernetes" "k8s.io/kubernetes/cmd/$cmd" "$kube_ld"
done
build etcd "$here/tools/etcd" .

if [ ! -x "$bin/helm" ]; then
  echo "building helm v$HELM_VERSION" >&2
  GOBIN="$bin" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
fi

"$bin/kube-apiserver" --version >&2
"$bin/etcd" --version | sed -n 1p >&2  # sed reads to the end: no SIGPIPE under pipefail
"$bin/helm" version --short >&2
echo "$bin"
