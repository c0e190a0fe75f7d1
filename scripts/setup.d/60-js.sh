#!/usr/bin/env bash
# JS loader tests: pnpm (pinned; newer releases refuse to install with npm 11 here) under the toolchains
# directory, not globally. Idempotent.
set -euo pipefail
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
if [ ! -x "$ROOT/pnpm/node_modules/.bin/pnpm" ]; then
  mkdir -p "$ROOT/pnpm"
  npm install --silent --no-audit --no-fund --prefix "$ROOT/pnpm" pnpm@12.4.2 >/dev/null
fi
"$ROOT/pnpm/node_modules/.bin/pnpm" --version >/dev/null
