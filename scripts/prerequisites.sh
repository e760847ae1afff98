#!/usr/bin/env bash
# Installs or builds what the test suites need beyond npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split("."); if (+major < 24) { console.error(`Node ${process.version} is first on PATH; run through npm (npm test) so node_modules/.bin/node (Node 24) is used`); process.exit(1) }'

apt_updated=false
need() { # command, Debian package that provides it
  command -v "$1" >/dev/null && return 0
  if [ "$apt_updated" = false ]; then apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need openssl openssl  # certificates of the test control plane (test/cluster/pki.ts)
need flock util-linux # one build of the control-plane binaries at a time

# The real Kubernetes control plane for the cluster suites: built from the Go module proxy on the
# first run (about ten minutes), then found in the cache in well under a second.
bash test/cluster/build-binaries.sh >/dev/null
