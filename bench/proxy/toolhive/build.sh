#!/usr/bin/env bash
# Builds the benchmark's ToolHive peer (bench/proxy/toolhive: ToolHive's proxy runner with Cedar
# authorization, pinned in its go.mod) from the Go module proxy. Idempotent: cached outside the clone
# in a folder named after the ToolHive release and the sources' hash (a change of pins or of main.go
# rebuilds), reused when present and reporting that version, built under a lock so concurrent runs
# wait for one build. The first build takes minutes (ToolHive pulls in much of Kubernetes' client).
# Prints the binary's path on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$here/main.go")
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
sources=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
bin="$cache/bin/toolhive-v$version-$sources"
binary="$bin/toolhive-proxy"

fail() { echo "toolhive build: $*" >&2; exit 1; }
[ -n "$version" ] || fail "toolhive/main.go names no version"
grep -q "^require github.com/stacklok/toolhive v$version\$" "$here/go.mod" \
  || fail "toolhive/go.mod does not require github.com/stacklok/toolhive v$version (main.go's version)"
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
command -v go >/dev/null || fail "Go is not installed; it builds ToolHive from the Go module proxy (https://go.dev/dl)"

current() { [ -x "$binary" ] && [ "$("$binary" -version 2>/dev/null)" = "toolhive-proxy toolhive v$version" ]; }

mkdir -p "$bin"
exec 9>"$bin/.build.lock"
if ! flock -n 9; then
  echo "toolhive build: another build of $bin is running; waiting for it" >&2
  flock 9
fi
if ! current; then
  echo "building ToolHive $version's proxy runner with Cedar authorization (first time: several minutes)" >&2
  started=$SECONDS
  export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
  (cd "$here" && go build -trimpath -ldflags "-s -w" -o "$binary.tmp" .) || fail "go build of ToolHive $version failed (it needs Go ≥ 1.26; later ToolHive tags need Go 1.27)"
  mv "$binary.tmp" "$binary"
  current || fail "$binary does not report version $version: $("$binary" -version 2>&1)"
  echo "built ToolHive's proxy in $((SECONDS - started))s" >&2
fi
echo "$binary"
