#!/usr/bin/env bash
# The JavaScript loader (loader/js): unit and integration tests with node --test (real HTTP servers on
# 127.0.0.1, 32 real processes for the cache lock, a real N-API addon), then the end-to-end test against
# the real x0x-dist server and core build (loader/js/e2e/run.sh; set X0X_JS_E2E=0 to skip it locally).
set -euo pipefail
cd "$(dirname "$0")/../.."
node --version
# No per-test --test-timeout: a VM paused for minutes would fail whatever test was running. scripts/deadline.sh
# counts only time in which the machine ran, and on expiry says what a stuck process was doing before it stops it.
scripts/deadline.sh 600 node --test --test-concurrency=2 loader/js/test/*.test.js
if [ "${X0X_JS_E2E:-1}" != 0 ]; then
  scripts/deadline.sh 2400 bash loader/js/e2e/run.sh
  # Issue 23: yanks and revocations reach installed copies (tiny fixture addon; about 30 s).
  scripts/deadline.sh 600 bash loader/js/e2e/lifecycle.sh
  # Issue 23: a local OpenID provider's CI token -> exchange -> online-signed publish -> the loaders verify the
  # provenance (X0X_DIST_REQUIRE_PROVENANCE); about 20 s.
  scripts/deadline.sh 300 bash loader/js/e2e/provenance.sh
fi
