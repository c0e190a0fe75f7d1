#!/usr/bin/env bash
# `npm install` of the packed `x0x` package against a pull-through mirror, then `require('x0x')` calls the
# binary: upstream `x0x-dist serve` → mirror `x0x-dist serve --upstream` → npm + the JS loader, all on 127.0.0.1.
# Uses the core from $X0X_CORE_DIR when present, else the loader's test addon built with cc. Run by
# .ci/stages/70-mirror.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build -q -p x0x-dist
B=$CARGO_TARGET_DIR/debug/x0x-dist
W=$(mktemp -d /tmp/x0x-mirror-npm.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "mirror_npm: FAIL: $*" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Ready when /healthz answers (the port accepts connects from the bind on, before the repository is open);
# a 60 s deadline for a loaded machine.
wait_port() {
  local end=$((SECONDS + 60))
  until curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null; do
    [ "$SECONDS" -lt "$end" ] || fail "no server answering on port $1 within 60 s: $(cat "$W"/*.log)"; sleep 0.05
  done
}

mkdir -p "$W/dist"
if [ -n "${X0X_CORE_DIR:-}" ] && [ -f "$X0X_CORE_DIR/x0x.linux-x64-gnu.node" ]; then
  cp "$X0X_CORE_DIR/x0x.linux-x64-gnu.node" "$W/dist/"; CALL="typeof m.coreVersion === 'function' ? m.coreVersion() : ''"
else
  INC=/usr/include/node; [ -f "$INC/node_api.h" ] || INC=$(dirname "$(dirname "$(command -v node)")")/include/node
  cc -shared -fPIC -O2 -I"$INC" -o "$W/dist/x0x.linux-x64-gnu.node" loader/js/test/fixtures/addon.c
  CALL="m.hello()"
fi
python3 scripts/fake-build.py wasm32-wasip1 4096 "$W/dist/x0x.wasm32-wasip1.wasm"
"$B" init --repo "$W/up" >/dev/null
"$B" keygen --out "$W/pub.key" >/dev/null
"$B" package add --repo "$W/up" x0x --publisher-key "$W/pub.key.pub" >/dev/null
"$B" package release --repo "$W/up" x0x --version 0.1.0 --key "$W/pub.key" "$W"/dist/* >/dev/null
ROOT=$W/up/metadata/1.root.json
UP=$(port); "$B" serve --repo "$W/up" --listen "127.0.0.1:$UP" --log warn 2>"$W/up.log" & PIDS+=($!); wait_port "$UP"
"$B" mirror init --repo "$W/mirror" --upstream "http://127.0.0.1:$UP" --root "$ROOT" >/dev/null
MP=$(port); "$B" serve --repo "$W/mirror" --upstream "http://127.0.0.1:$UP" --listen "127.0.0.1:$MP" --log warn 2>"$W/m.log" & PIDS+=($!); wait_port "$MP"
MIRROR=http://127.0.0.1:$MP
TGZ=$(node loader/js/scripts/pack.js --version 0.1.0 --root "$ROOT" --repo "$MIRROR" --out "$W/pack" 2>/dev/null | tail -1)
[ -f "$TGZ" ] || fail "pack.js produced no package"
mkdir "$W/app"
echo '{"name":"app","version":"1.0.0","private":true}' > "$W/app/package.json"
export X0X_DIST_URL=$MIRROR X0X_DIST_CACHE=$W/cache
( cd "$W/app" && npm install --no-audit --no-fund --foreground-scripts "$TGZ" >/dev/null 2>"$W/npm.err" ) || fail "npm install: $(tail -5 "$W/npm.err")"
OUT=$(cd "$W/app" && node -e "const m = require('x0x'); console.log(String($CALL))") || fail "require('x0x') failed"
[ -n "$OUT" ] || fail "the binary returned nothing"
# The binary came through the mirror: it pulled and stored the verified target.
ls "$W/mirror/targets/x0x/0.1.0/"*.x0x.linux-x64-gnu.node >/dev/null 2>&1 || fail "the mirror did not serve the binary"
echo "mirror_npm: ok ($OUT)"
