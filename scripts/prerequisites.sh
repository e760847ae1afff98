#!/usr/bin/env bash
# Installs or builds what the test suites need beyond npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split("."); if (+major < 24) { console.error(`Node ${process.version} is first on PATH; run through npm (npm test) so node_modules/.bin/node (Node 24) is used`); process.exit(1) }'

# Debian packages the suites run for real: redis-server and redis-cli (rate-limit store tests).
apt_packages=()
command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || apt_packages+=(redis-tools)
# openssl: certificates for the TLS tests.
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
if ((${#apt_packages[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "missing ${apt_packages[*]}: install them (Debian: apt-get install ${apt_packages[*]})" >&2
    exit 1
  fi
  echo "== installing ${apt_packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi
