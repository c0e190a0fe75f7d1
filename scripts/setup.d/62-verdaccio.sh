#!/usr/bin/env bash
# The npm registry the platform-package end-to-end test publishes to (loader/js/e2e/registry.sh, CI stage
# 62-registry): Verdaccio 6.8.0 under the toolchains directory, not globally. Same version, place and
# package.json as benches/loader/cold.sh, which installs it on demand, so the two share one install.
# 6.10+ needs Node >= 22; without the override the install fails with ETARGET on node-fetch
# (/work/shared/TOOLCHAINS.md, "Peers for benchmarks"). Idempotent.
set -euo pipefail
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
VERD=$ROOT/verdaccio
if [ ! -x "$VERD/node_modules/.bin/verdaccio" ]; then
  mkdir -p "$VERD"
  cat >"$VERD/package.json" <<'JSON'
{ "name": "x0x-bench-verdaccio", "private": true, "dependencies": { "verdaccio": "6.8.0" }, "overrides": { "verdaccio-audit": { "node-fetch": "2.7.0" } } }
JSON
  (cd "$VERD" && timeout 600 npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
v=$(node -p "require('$VERD/node_modules/verdaccio/package.json').version")
[ "$v" = 6.8.0 ] || { echo "verdaccio $v under $VERD, expected 6.8.0" >&2; exit 1; }
