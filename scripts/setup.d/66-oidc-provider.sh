#!/usr/bin/env bash
# The OpenID provider the trusted-publishing tests run as a local CI issuer (server/tests/oidc_publish.rs via
# test-support's `oidc` helper and scripts/oidc-issuer.js): the npm package `oidc-provider` (panva, an
# OpenID Certified implementation), pinned, under the toolchains directory, not globally. Idempotent.
set -euo pipefail
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
DIR=$ROOT/oidc-provider
WANT=9.13.3
have() { node -p "require('$DIR/node_modules/oidc-provider/package.json').version" 2>/dev/null || true; }
if [ "$(have)" != "$WANT" ]; then
  mkdir -p "$DIR"
  cat >"$DIR/package.json" <<JSON
{ "name": "x0x-oidc-issuer", "private": true, "dependencies": { "oidc-provider": "$WANT" } }
JSON
  (cd "$DIR" && timeout 600 npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
v=$(have)
[ "$v" = "$WANT" ] || { echo "oidc-provider $v under $DIR, expected $WANT" >&2; exit 1; }
