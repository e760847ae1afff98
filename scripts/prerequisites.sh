#!/usr/bin/env bash
# Installs or builds what the test suites need beyond npm packages. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
node -e 'const [major] = process.versions.node.split("."); if (+major < 24) { console.error(`Node ${process.version} is first on PATH; run through npm (npm test) so node_modules/.bin/node (Node 24) is used`); process.exit(1) }'
