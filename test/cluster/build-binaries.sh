#!/usr/bin/env bash
# Builds the real control-plane binaries the end-to-end suites use, from the Go module proxy:
# kube-apiserver, kube-controller-manager, kubectl (k8s.io/kubernetes), etcd and helm; and for the
# node-backed suites, kube-scheduler, kubelet and kube-proxy from the same module setup.
# Idempotent: binaries are cached outside the clone in a folder named after their versions
# (test/cluster/versions.env), reused when present and reporting the expected version, and built
# under a lock so that concurrent runs (several worktrees, CI) wait for one build instead of racing.
# Prints the bin directory on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
bin="$cache/bin/k8s-v$KUBE_VERSION-etcd-v$ETCD_VERSION-helm-v$HELM_VERSION"

fail() { echo "build-binaries: $*" >&2; exit 1; }
# Go's own installer puts it in /usr/local/go/bin, which a non-login shell may not have on PATH.
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
command -v go >/dev/null || fail "Go is not installed; it builds the control plane from the Go module proxy (https://go.dev/dl)"
grep -q "^require k8s.io/kubernetes v$KUBE_VERSION\$" "$here/tools/kubernetes/go.mod" \
  || fail "tools/kubernetes/go.mod does not require k8s.io/kubernetes v$KUBE_VERSION (versions.env)"
staging=v0.${KUBE_VERSION#1.}
if grep -E '^\s+k8s\.io/[a-z-]+ => ' "$here/tools/kubernetes/go.mod" | grep -v " $staging\$" >&2; then
  fail "the replace lines above are not pinned to $staging (KUBE_VERSION=$KUBE_VERSION)"
fi
grep -q "^require go.etcd.io/etcd/server/v3 v$ETCD_VERSION\$" "$here/tools/etcd/go.mod" \
  || fail "tools/etcd/go.mod does not require go.etcd.io/etcd/server/v3 v$ETCD_VERSION (versions.env)"

export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
export GOMODCACHE=${GOMODCACHE:-$(go env GOMODCACHE)} GOCACHE=${GOCACHE:-$(go env GOCACHE)}

mkdir -p "$bin"
# One build at a time per cache folder; a second run waits, then finds the binaries built.
exec 9>"$bin/.build.lock"
if ! flock -n 9; then
  echo "build-binaries: another build of $bin is running; waiting for it" >&2
  flock 9
fi

version_of() { # the version a built binary reports, in the form versions.env uses
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy) "$bin/$1" --version | sed -n 's/^Kubernetes v//p' ;;
    kubectl) "$bin/kubectl" version --client | sed -n 's/^Client Version: v//p' ;;
    etcd) "$bin/etcd" --version | sed -n 's/^etcd Version: //p' ;;
    helm) "$bin/helm" version --short | sed -n 's/^v\([0-9.]*\).*/\1/p' ;;
  esac
}

current() { # name, expected version: true when the cached binary is present and reports it
  [ -x "$bin/$1" ] && [ "$(version_of "$1" 2>/dev/null)" = "$2" ]
}

verify() { # name, expected version
  local got
  got=$(version_of "$1" 2>&1) || fail "$bin/$1 does not run: $got"
  [ "$got" = "$2" ] || fail "$bin/$1 reports version '$got', expected $2"
}

build() { # name, expected version, module dir, package, extra ldflags
  local name=$1 version=$2 dir=$3 pkg=$4 ldflags=${5:-}
  if current "$name" "$version"; then return 0; fi
  echo "building $name $version ($pkg)" >&2
  local started=$SECONDS
  (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name.tmp" "$pkg")
  mv "$bin/$name.tmp" "$bin/$name"
  verify "$name" "$version"
  echo "built $name in $((SECONDS - started))s" >&2
}

minor=${KUBE_VERSION#1.}; minor=${minor%%.*}
kube_ld="-X k8s.io/component-base/version.gitVersion=v$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
for cmd in kube-apiserver kube-controller-manager kubectl kube-scheduler kube-proxy kubelet; do
  build "$cmd" "$KUBE_VERSION" "$here/tools/kubernetes" "k8s.io/kubernetes/cmd/$cmd" "$kube_ld"
done
build etcd "$ETCD_VERSION" "$here/tools/etcd" .

if ! current helm "$HELM_VERSION"; then
  echo "building helm $HELM_VERSION" >&2
  started=$SECONDS
  rm -f "$bin/helm"
  GOBIN="$bin" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  verify helm "$HELM_VERSION"
  echo "built helm in $((SECONDS - started))s" >&2
fi

echo "cluster binaries: kube-apiserver, kube-controller-manager, kubectl, kube-scheduler, kube-proxy, kubelet v$KUBE_VERSION; etcd v$ETCD_VERSION; helm v$HELM_VERSION" >&2
echo "$bin"
