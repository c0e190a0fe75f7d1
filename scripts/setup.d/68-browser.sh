#!/usr/bin/env bash
# The real headless browser the web UI test drives (server/tests/ui_browser.cjs, .ci/stages/40-server.sh):
# Debian's `chromium` (apt) and `puppeteer-core` (npm, pinned; it downloads no browser), under the toolchains
# directory, not globally. Idempotent.
set -euo pipefail
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
DIR=$ROOT/browser
WANT=25.16.0
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null
fi
have() { node -p "require('$DIR/node_modules/puppeteer-core/package.json').version" 2>/dev/null || true; }
if [ "$(have)" != "$WANT" ]; then
  mkdir -p "$DIR"
  cat >"$DIR/package.json" <<JSON
{ "name": "x0x-ui-browser", "private": true, "dependencies": { "puppeteer-core": "$WANT" } }
JSON
  (cd "$DIR" && timeout 600 npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
v=$(have)
[ "$v" = "$WANT" ] || { echo "puppeteer-core $v under $DIR, expected $WANT" >&2; exit 1; }
chromium --version
