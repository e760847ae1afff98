# Builds a Go program of this repository from the Go module proxy, cached outside the clone: sourced by
# the build scripts of the binaries the tests and benchmarks need (the OpenTelemetry Collector, the
# ToolHive peer). Idempotent: reused when present and reporting its version, built under a lock so
# concurrent runs wait for one build. The caller sets `fail` and calls build_go_binary.

# build_go_binary SOURCE_DIR BINARY VERSION_FLAG EXPECTED_VERSION_LINE WHAT
# SOURCE_DIR holds go.mod, go.sum and main.go; BINARY is the cached path (its folder is created).
build_go_binary() {
  local source=$1 binary=$2 version_flag=$3 expected=$4 what=$5
  if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then PATH=/usr/local/go/bin:$PATH; fi
  command -v go >/dev/null || fail "Go is not installed; it builds $what from the Go module proxy (https://go.dev/dl)"
  current() { [ -x "$binary" ] && [ "$("$binary" "$version_flag" 2>/dev/null)" = "$expected" ]; }
  mkdir -p "$(dirname "$binary")"
  exec 9>"$(dirname "$binary")/.build.lock"
  if ! flock -n 9; then
    echo "another build of $binary is running; waiting for it" >&2
    flock 9
  fi
  if ! current; then
    echo "building $what (the first build takes minutes)" >&2
    local started=$SECONDS
    export GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} CGO_ENABLED=0
    (cd "$source" && go build -trimpath -ldflags "-s -w" -o "$binary.tmp" .) || fail "go build of $what failed"
    mv "$binary.tmp" "$binary"
    current || fail "$binary does not report '$expected': $("$binary" "$version_flag" 2>&1)"
    echo "built $what in $((SECONDS - started))s" >&2
  fi
  exec 9>&-
}

# The short hash of a Go program's sources: a change of pins or of main.go builds anew.
go_sources_hash() {
  cat "$1/go.mod" "$1/go.sum" "$1/main.go" | sha256sum | cut -c1-12
}
