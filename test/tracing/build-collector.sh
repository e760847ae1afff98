#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tracing suites export to (test/tracing/collector: the core
# collector's OTLP receiver and the contrib file exporter, pinned in its go.mod) from the Go module
# proxy. Idempotent: cached outside the clone in a folder named after the collector release and the
# sources' hash (a change of pins or components rebuilds), reused when present and reporting that
# version, built under a lock so concurrent runs wait for one build.
# Prints the binary's path on stdout's last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/go-binary.sh
source "$here/../../scripts/lib/go-binary.sh"
version=$(sed -n 's/^const version = "\(.*\)"$/\1/p' "$here/collector/main.go")
cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
sources=$(go_sources_hash "$here/collector")
bin="$cache/bin/otelcol-v$version-$sources"
binary="$bin/otelcol-warden"

fail() { echo "build-collector: $*" >&2; exit 1; }
[ -n "$version" ] || fail "collector/main.go names no version"
grep -q "^	go.opentelemetry.io/collector/otelcol v$version\$" "$here/collector/go.mod" \
  || fail "collector/go.mod does not require go.opentelemetry.io/collector/otelcol v$version (main.go's version)"
build_go_binary "$here/collector" "$binary" --version "otelcol-warden version $version" "the OpenTelemetry Collector $version (OTLP receiver, file exporter)"
echo "$binary"
