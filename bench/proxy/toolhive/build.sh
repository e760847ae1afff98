#!/usr/bin/env bash
# Builds the benchmark's ToolHive peer (bench/proxy/toolhive: ToolHive's proxy runner with Cedar
# authorization, pinned in its go.mod) from the Go module proxy. Idempotent: cached outside the clone
# in a folder named after the ToolHive release and the sources' hash (a change of pins or of main.go
# rebuilds), reused when present and reporting that version, built under a lock so concurrent runs
# wait for one build. The first build takes minutes (ToolHive pulls in much of Kubernetes' client).
# Prints the binary's path on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../../scripts/lib/go-binary.sh
source "$here/../../../scripts/lib/go-binary.sh"
version=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$here/main.go")
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
sources=$(go_sources_hash "$here")
bin="$cache/bin/toolhive-v$version-$sources"
binary="$bin/toolhive-proxy"

fail() { echo "toolhive build: $*" >&2; exit 1; }
[ -n "$version" ] || fail "toolhive/main.go names no version"
grep -q "^require github.com/stacklok/toolhive v$version\$" "$here/go.mod" \
  || fail "toolhive/go.mod does not require github.com/stacklok/toolhive v$version (main.go's version)"
build_go_binary "$here" "$binary" -version "toolhive-proxy toolhive v$version" "ToolHive $version's proxy runner with Cedar authorization (it needs Go ≥ 1.26; later ToolHive tags need Go 1.27)"
echo "$binary"
