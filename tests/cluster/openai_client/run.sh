#!/usr/bin/env bash
# ctest entry: runs openai_client.test.mjs with node's test runner. Needs node and the pinned
# client installed here (`npm ci`, which scripts/test.sh runs). Without them the test says
# skipped (exit 77) and why, except under CI=true, where it fails.
set -uo pipefail
cd "$(dirname "$0")"
missing=""
command -v node >/dev/null 2>&1 || missing="node is not installed"
[ -z "$missing" ] && [ ! -d node_modules/openai ] && missing="the openai package is not installed (run: npm ci --prefix tests/cluster/openai_client)"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then echo "FAILED: $missing"; exit 1; fi
  echo "skipped: $missing"; exit 77
fi
exec node --test --test-reporter=spec openai_client.test.mjs
