#!/usr/bin/env bash
# The README's test command (`npm test`) runs this: prerequisites, type check, lint, then every suite.
# Prerequisites are installed or built when missing (idempotent, cached outside the clone); when one
# cannot be had, this fails rather than skipping the tests that need it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prerequisites.sh

echo "== type check"
tsc -p tsconfig.json
echo "== lint"
eslint --max-warnings 0 .
prettier --check --log-level warn "**/*.ts"
echo "== tests"
exec node --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-2}" \
  "policy/**/*.test.ts" "monitoring/**/*.test.ts" "kube/**/*.test.ts" "program/**/*.test.ts" "sidecar/**/*.test.ts" "operator/**/*.test.ts" "cli/**/*.test.ts" "test/**/*.test.ts"
