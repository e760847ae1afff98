#!/usr/bin/env bash
# Installs or builds what the test suites need beyond npm packages. Idempotent: everything is cached
# outside the clone (MCP_WARDEN_CACHE, default ~/.cache/mcp-warden) and reused when present.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split("."); if (+major < 24) { console.error(`Node ${process.version} is first on PATH; run through npm (npm test) so node_modules/.bin/node (Node 24) is used`); process.exit(1) }'

cache=${MCP_WARDEN_CACHE:-$HOME/.cache/mcp-warden}
mkdir -p "$cache"

# Python MCP peers (the `mcp` client SDK and a FastMCP server), pinned in test/python/requirements.txt.
# The virtualenv is keyed by the requirements' hash, so a change of pins builds a fresh one.
requirements=test/python/requirements.txt
venv="$cache/venv-$(sha256sum "$requirements" | cut -c1-12)"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  python=$(command -v python3 || true)
  if [ -z "$python" ] || ! "$python" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
    if ! dpkg -s python3-venv >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    python=python3
  fi
  echo "== creating the Python virtualenv for the interop tests ($venv)" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$requirements"
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$cache/venv"

# A real kube-apiserver and etcd (built from the Go module proxy once, then cached).
if ! bash test/cluster/build-binaries.sh >/dev/null 2>"$cache/build-binaries.log"; then
  cat "$cache/build-binaries.log" >&2
  exit 1
fi
