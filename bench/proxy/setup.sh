#!/usr/bin/env bash
# Installs what the proxy benchmark compares against: nginx from Debian's packages. Idempotent.
set -euo pipefail
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq nginx >/dev/null
fi
