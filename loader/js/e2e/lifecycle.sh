#!/usr/bin/env bash
# End-to-end, issue 23: yanks and revocations reach installed copies. A real `x0x-dist serve` on 127.0.0.1, real
# releases (a tiny real napi addon, test/fixtures/addon.c, built with cc), the real `x0x` package from
# scripts/pack.js, real node requiring it; `x0x-dist release revoke|yank` against the server.
#
#   publish 1.0.0 and 2.0.0; require 2.0.0 (cold, then warm); revoke 2.0.0: within X0X_DIST_REVOCATION_INTERVAL
#   the warm require still loads (at most one check per interval), after it the next require refuses it from
#   the warm cache (loader.revoked, naming reason, advisory and 1.0.0 to move to), `npx x0x doctor` says so;
#   publish and yank 1.1.0: the pinned 1.1.0 loads with one release.yanked warning (cold and warm);
#   X0X_DIST_MIN_RELEASE_AGE=1d refuses the fresh 1.0.0 (loader.too_young, signed custom.published);
#   server stopped: the revoked release stays refused (last verified revocations), 1.0.0 still loads, and a
#   cache that never saw the revocation follows what it last verified (loads, "repository not reached").
#
# Inputs: a debug x0x-dist (built here), cc and node headers.
set -euo pipefail
cd "$(dirname "$0")/../../.."
E2E_NAME=lifecycle
source loader/js/e2e/lib.sh

step "building x0x-dist and the fixture addon"
cargo build -q -p x0x-dist --bin x0x-dist
BIN=$CARGO_TARGET_DIR/debug/x0x-dist
ADDON=$(node -e "console.log(require('./loader/js/test/helpers/addon').buildAddon(process.argv[1]) || '')" "$T")
[ -n "$ADDON" ] || fail "cannot build the fixture addon (cc and node headers needed)"
new_repo
start_server

release() { # release VERSION: the addon with the version appended (distinct bytes per release), published
  mkdir -p "$T/build-$1"
  cat "$ADDON" >"$T/build-$1/x0x.linux-x64-gnu.node"
  printf 'x0x-release-%s' "$1" >>"$T/build-$1/x0x.linux-x64-gnu.node"
  publish "$1" "$T/build-$1/x0x.linux-x64-gnu.node" >/dev/null
}
install() { # install VERSION: the packed x0x VERSION, unpacked as $T/pVERSION/node_modules/x0x
  local tgz
  tgz=$(node loader/js/scripts/pack.js --version "$1" --root "$R/metadata/1.root.json" --repo "$URL" --out "$T" 2>/dev/null)
  mkdir -p "$T/p$1/node_modules/x0x"
  tar xzf "$tgz" -C "$T/p$1/node_modules/x0x" --strip-components=1
}
CALL="console.log('ok', require('x0x').hello())"
load() { # load VERSION CACHE [ENV...]: node requiring x0x VERSION; prints stdout+stderr, never fails
  local v=$1 c=$2; shift 2
  (cd "$T/p$v" && env X0X_DIST_URL="$URL" X0X_DIST_CACHE="$c" X0X_DIST_REVOCATION_INTERVAL=3 "$@" node -e "$CALL" 2>&1) || true
}
revoke() { "$BIN" release "$1" x0x "$2" --reason "$3" "${@:4}" --server "$URL" --token "$TOKEN" >/dev/null; }

step "publishing x0x 1.0.0 and 2.0.0"
release 1.0.0
release 2.0.0
install 1.0.0
install 2.0.0
C=$T/cache
OLD=$T/cache-old

step "require 2.0.0: cold, then warm"
out=$(load 2.0.0 "$C"); has "$out" "^ok hello from native" || fail "cold require of 2.0.0: $out"
out=$(load 2.0.0 "$C" X0X_DIST_DEBUG=1); has "$out" "warm: linux-x64-gnu" || fail "second require was not warm: $out"
out=$(load 2.0.0 "$OLD"); has "$out" "^ok hello" || fail "cold require of 2.0.0 (second cache): $out"
out=$(load 1.0.0 "$C"); has "$out" "^ok hello" || fail "require of 1.0.0: $out"

step "revoke 2.0.0: refused from the warm cache after the interval, not before"
revoke revoke 2.0.0 "CVE-2026-1234" --advisory https://example.com/adv/1234
out=$(load 2.0.0 "$C" X0X_DIST_DEBUG=1); has "$out" "warm: linux-x64-gnu" || fail "within the interval the warm record holds (one check per interval): $out"
sleep 3.2
out=$(load 2.0.0 "$C")
has "$out" "loader.revoked" || fail "after the interval the revoked 2.0.0 still loaded: $out"
has "$out" "CVE-2026-1234" && has "$out" "https://example.com/adv/1234" && has "$out" "move to x0x@1.0.0" || fail "the refusal names reason, advisory and the version to move to: $out"
! has "$out" "^ok" || fail "revoked 2.0.0 loaded: $out"
out=$(load 2.0.0 "$C" X0X_DIST_REVOCATION_INTERVAL=3600); has "$out" "loader.revoked" || fail "a revoked release stays refused: $out"
doc=$(cd "$T/p2.0.0" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C node node_modules/x0x/bin/x0x.js doctor 2>&1) && fail "doctor exit 0 for a revoked release: $doc"
has "$doc" "loader.revoked" && has "$doc" "move to x0x@1.0.0" || fail "doctor does not say why and where to move: $doc"
out=$(load 1.0.0 "$C" X0X_DIST_REVOCATION_INTERVAL=0); has "$out" "^ok hello" || fail "1.0.0 after the revocation of 2.0.0: $out"

step "yank 1.1.0: the pinned install loads with one warning naming the reason"
release 1.1.0
install 1.1.0
revoke yank 1.1.0 "crashes on musl"
out=$(load 1.1.0 "$C")
has "$out" "^ok hello" || fail "a pinned yanked release must load: $out"
has "$out" "X0xYankedWarning: x0x 1.1.0 is yanked (crashes on musl)" || fail "no yank warning: $out"
has "$out" "move to x0x@1.0.0" || fail "the yank warning names the version to move to: $out"
[ "$(grep -c 'yanked' <<<"$out")" = 1 ] || fail "one line of warning expected: $out"
out=$(load 1.1.0 "$C" X0X_DIST_DEBUG=1); has "$out" "warm: linux-x64-gnu" && has "$out" "is yanked (crashes on musl)" || fail "warm load of a yanked release warns too: $out"

step "cooldown: a pinned release younger than X0X_DIST_MIN_RELEASE_AGE is refused, naming when it becomes eligible"
out=$(load 1.0.0 "$T/cache-young" X0X_DIST_MIN_RELEASE_AGE=1d)
has "$out" "loader.too_young" && has "$out" "becomes eligible at" || fail "a one-day cooldown must refuse the fresh 1.0.0: $out"
! has "$out" "^ok" || fail "a too-young release loaded: $out"
out=$(load 1.0.0 "$T/cache-young" X0X_DIST_MIN_RELEASE_AGE=0); has "$out" "^ok hello" || fail "without a cooldown 1.0.0 loads: $out"

step "server down: the last verified revocations hold"
stop_server
sleep 3.2
out=$(load 2.0.0 "$C" X0X_DIST_RETRIES=0 X0X_DIST_DEADLINE_MS=2000); has "$out" "loader.revoked" || fail "offline, the revoked release must stay refused: $out"
out=$(load 2.0.0 "$C" X0X_DIST_OFFLINE=1); has "$out" "loader.revoked" || fail "X0X_DIST_OFFLINE=1: the revoked release must stay refused: $out"
out=$(load 1.0.0 "$C" X0X_DIST_RETRIES=0 X0X_DIST_DEADLINE_MS=2000); has "$out" "^ok hello" || fail "offline within expiry, 1.0.0 loads: $out"
out=$(load 1.1.0 "$C" X0X_DIST_OFFLINE=1); has "$out" "^ok hello" && has "$out" "is yanked" || fail "offline, the pinned yanked 1.1.0 loads with its warning: $out"
out=$(load 2.0.0 "$OLD" X0X_DIST_RETRIES=0 X0X_DIST_DEADLINE_MS=2000 X0X_DIST_DEBUG=1)
has "$out" "^ok hello" && has "$out" "repository not reached" || fail "a cache that never verified the revocation follows what it last verified: $out"
step "passed"
