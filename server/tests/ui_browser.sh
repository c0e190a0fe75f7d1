#!/usr/bin/env bash
# The web UI's release lifecycle in a real headless browser (issue 23): Debian's chromium driven by
# puppeteer-core (scripts/setup.d/68-browser.sh), a real `x0x-dist serve` on 127.0.0.1, real releases.
#
#   publish 1.0.0 (publisher key); stage 1.1.0 (token A); the page lists it as staged by token A;
#   approving it with token A in the form is refused (release.self_approval, shown on the page);
#   token B approves it (the server signs it in: provenance with approved_by); rejecting the staged 1.2.0
#   with token A is refused, with token B it is dropped (never signed in); token B yanks 1.0.0 with a
#   reason in the form; `release revoke` of 1.1.0 with an advisory; the page shows each state.
# Screenshots of every step go to $X0X_UI_ARTIFACTS (default target/ui-screenshots), printed at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
E2E_NAME=ui-browser
source loader/js/e2e/lib.sh
OUT=${X0X_UI_ARTIFACTS:-$CARGO_TARGET_DIR/ui-screenshots}
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || fail "chromium not installed (scripts/setup.d/68-browser.sh)"
[ -d "$TOOLS/browser/node_modules/puppeteer-core" ] || fail "puppeteer-core not installed (scripts/setup.d/68-browser.sh)"

step "building x0x-dist"
cargo build -q -p x0x-dist --bin x0x-dist
BIN=$CARGO_TARGET_DIR/debug/x0x-dist
new_repo
TOKEN_B=$("$BIN" token create --repo "$R" --package x0x 2>/dev/null)
# The server may sign x0x's releases online (what lets an approval from the browser sign a staged release in).
"$BIN" package trust --repo "$R" x0x --issuer https://ci.invalid --audience x0x-ci --claim repository=acme/x0x --sign-online >/dev/null
start_server
WASM=$T/x0x.wasm32-wasip1.wasm
wasm() { printf '\0asm\1\0\0\0\0\5\3x0x%s' "$1" >"$WASM"; } # a minimal wasm32-wasip1 module: one custom section "x0x"
wasm A

step "publish 1.0.0, stage 1.1.0 and 1.2.0"
publish 1.0.0 "$WASM" >/dev/null
wasm B
"$BIN" publish --server "$URL" --token "$TOKEN" --stage --package x0x --version 1.1.0 "$WASM" >/dev/null
wasm C
"$BIN" publish --server "$URL" --token "$TOKEN" --stage --package x0x --version 1.2.0 "$WASM" >/dev/null

step "the browser: staged, self-approval refused, approve, yank"
mkdir -p "$OUT"
NODE_PATH=$TOOLS/browser/node_modules node server/tests/ui_browser.cjs "$URL" "$TOKEN" "$TOKEN_B" "$OUT" "$CHROMIUM" \
  "$BIN release revoke x0x 1.1.0 --reason CVE-2026-0042 --advisory https://example.com/adv/42 --server $URL --token $TOKEN_B"
step "passed; screenshots in $OUT"
ls "$OUT"
