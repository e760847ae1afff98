#!/usr/bin/env bash
# Installs and builds what the proxy benchmark compares against: nginx from Debian's packages and
# ToolHive's proxy (bench/proxy/toolhive, built from the Go module proxy and cached by version).
# Idempotent: a second run finds both in place.
set -euo pipefail
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq nginx >/dev/null
fi
bash "$(dirname "$0")/toolhive/build.sh" >/dev/null
