#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tracing suites export to (test/tracing/collector: the core
# collector's OTLP receiver and the contrib file exporter, pinned in its go.mod) from the Go module
# proxy. Idempotent: cached outside the clone in a folder named after the collector release and the
# sources' hash (a change of pins or components rebuilds), reused when present and reporting that
# version, built under a lock so concurrent runs wait for one build.
# Prints the binary's path on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$here/collector/main.go")
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
sources=$(cat "$here/collector/go.mod" "$here/collector/go.sum" "$here/collector/main.go" | sha256sum | cut -c1-12)
bin="$cache/bin/otelcol-v$version-$sources"
binary="$bin/otelcol-warden"

fail() { echo "build-collector: $*" >&2; exit 1; }
[ -n "$version" ] || fail "collector/main.go names no version"
grep -q "^	go.opentelemetry.io/collector/otelcol v$version\$" "$here/collector/go.mod" \
  || fail "collector/go.mod does not require go.opentelemetry.io/collector/otelcol v$version (main.go's version)"
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
command -v go >/dev/null || fail "Go is not installed; it builds the OpenTelemetry Collector from the Go module proxy (https://go.dev/dl)"

current() { [ -x "$binary" ] && [ "$("$binary" --version 2>/dev/null)" = "otelcol-warden version $version" ]; }

mkdir -p "$bin"
exec 9>"$bin/.build.lock"
if ! flock -n 9; then
  echo "build-collector: another build of $bin is running; waiting for it" >&2
  flock 9
fi
if ! current; then
  echo "building the OpenTelemetry Collector $version (OTLP receiver, file exporter)" >&2
  started=$SECONDS
  export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
  (cd "$here/collector" && go build -trimpath -ldflags "-s -w" -o "$binary.tmp" .) || fail "go build of the collector failed"
  mv "$binary.tmp" "$binary"
  current || fail "$binary does not report version $version: $("$binary" --version 2>&1)"
  echo "built the collector in $((SECONDS - started))s" >&2
fi
echo "$binary"
