#!/usr/bin/env bash
# Issue 24: the server is also an npm registry. `x0x` and its platform packages are installed from `/npm/` of
#   A. the origin (`x0x-dist serve`),
#   B. a pull-through mirror of it (`mirror init` + `serve`: records and binaries pulled on demand, verified),
#   C. an air-gapped mirror loaded from a bundle (`bundle export` / `bundle import`), run with every client
#      inside a network namespace that has only loopback (`unshare -n`, `ip link set lo up`; root only),
# with npm 11 and 12, pnpm 10 and 12, yarn 4 (Plug'n'Play and node-modules), Bun and Deno (`npm:` specifier),
# each into a fresh project with a fresh cache and HOME. After each install, `require('x0x')` (Deno: `import`)
# must load the binary from the installed platform package with no request to `/tuf/`: X0X_DIST_URL names the
# very server, so the loader could fetch from it, and the server's `/metrics` counters for the metadata and
# targets routes must not move during the installs and loads (the package's embedded metadata verifies it).
# Also: the same tarball bytes and integrity from A, B and C; `npm view x0x`, `npm view x0x versions`, `npm
# audit` (bulk advisories: none); a lockfile written with `npm install --os=darwin --cpu=arm64` then `npm ci` on
# Linux installs and loads the Linux package; the generated package.json files agree with `pack.js`'s.
#
# The payload: the real core when ${X0X_CORE_DIST:-dist/core} has it (stage 50), else a minimal real Node-API
# addon compiled here (loader/js/e2e/fixtures/addon.c), plus stand-ins for darwin-arm64 and linux-x64-musl
# (scripts/fake-build.py: real headers, never loaded) so that the optional dependencies span platforms.
# Toolchains: .toolchains/matrix (scripts/setup.d/64-install-matrix.sh). No public registry is contacted:
# x0x's only dependencies are its platform packages (its WASM runtime peers are optional).
set -euo pipefail
cd "$(dirname "$0")/../../.."
E2E_NAME="npm registry e2e"
OUTER_T=${T:-}
source loader/js/e2e/lib.sh
if [ "${1:-}" = --airgap-inner ]; then
  # Re-run inside the namespace: the outer run's scratch directory, which the outer run removes.
  rm -rf "$T"
  T=$OUTER_T
  trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done' EXIT
fi
M=$TOOLS/matrix
[ -d "$M/npm12" ] || fail "no matrix toolchains under $M: run scripts/setup.d/64-install-matrix.sh"
NODE24=$M/node-24.22.3/bin/node
T0=$(date +%s)
VERSION=1.0.0
PRE=1.1.0-rc.1

# --- the clients ------------------------------------------------------------------------------------------
CLIENTS=(npm11 npm12 pnpm10 pnpm12 yarn-pnp yarn-nm bun deno)
# install CLIENT REG DIR: `x0x` from the registry REG (…/npm/) into a fresh project DIR (own cache and HOME).
install() {
  local c=$1 reg=$2 p=$3 home=$3.home
  mkdir -p "$p" "$home"
  echo "{\"name\":\"e2e-$c\",\"version\":\"1.0.0\",\"private\":true}" >"$p/package.json"
  local env=(env -u npm_config_registry HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache"
    npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false)
  local host=${reg#http://}; host=${host%%[:/]*}
  case $c in
    npm11) (cd "$p" && "${env[@]}" timeout 120 "$M/npm11/node_modules/.bin/npm" install x0x --registry "$reg" --cache "$home/npm-cache") ;;
    npm12) (cd "$p" && "${env[@]}" PATH="$(dirname "$NODE24"):$PATH" timeout 120 "$NODE24" "$M/npm12/node_modules/npm/bin/npm-cli.js" install x0x --registry "$reg" --cache "$home/npm-cache") ;;
    pnpm10 | pnpm12)
      printf 'registry=%s\nstore-dir=%s\n' "$reg" "$home/store" >"$p/.npmrc"
      (cd "$p" && "${env[@]}" timeout 120 "$M/$c/node_modules/.bin/pnpm" add x0x) ;;
    yarn-pnp | yarn-nm)
      # npmMinimalAgeGate: yarn 4.18 quarantines versions younger than a day by their packument `time`, and
      # these were released a second ago (docs/npm-registry.md, "Clients").
      printf 'npmRegistryServer: "%s"\nunsafeHttpWhitelist: ["%s"]\nnpmMinimalAgeGate: 0\n' "${reg%/}" "$host" >"$p/.yarnrc.yml"
      [ "$c" = yarn-nm ] && echo 'nodeLinker: node-modules' >>"$p/.yarnrc.yml"
      (cd "$p" && "${env[@]}" YARN_GLOBAL_FOLDER="$home/yarn" YARN_ENABLE_TELEMETRY=0 timeout 120 node "$M/yarn4/node_modules/@yarnpkg/cli-dist/bin/yarn.js" add x0x) ;;
    bun) (cd "$p" && "${env[@]}" BUN_INSTALL_CACHE_DIR="$home/bun-cache" timeout 120 "$M/bun/node_modules/.bin/bun" add x0x --registry "$reg") ;;
    deno)
      # Deno installs `npm:` specifiers into DENO_DIR (no package.json: its global cache, no node_modules);
      # NPM_CONFIG_REGISTRY is its registry setting. --minimum-dependency-age=0: Deno, like yarn, holds back versions
      # younger than a day by their `time`, and these were released a second ago.
      rm "$p/package.json"
      echo "$reg" >"$p.reg"
      printf "import x from 'npm:x0x@%s';\nconsole.log('ok', x.core || typeof x.AgentKeypair);\n" "$VERSION" >"$p/main.mjs"
      (cd "$p" && "${env[@]}" NPM_CONFIG_REGISTRY="$reg" DENO_DIR="$home/deno" timeout 120 "$M/deno/node_modules/.bin/deno" cache --minimum-dependency-age=0 main.mjs) ;;
  esac
}
# load CLIENT DIR [URL]: require('x0x') the client's way, with X0X_DIST_URL=URL (the loader may fetch from
# there, but must not need to); prints the loader's debug lines and `ok …`.
load() {
  local c=$1 p=$2 pre=()
  local env=(env -u X0X_DIST_BUNDLE X0X_DIST_URL="${3:-}" X0X_DIST_CACHE="$p.cache" X0X_DIST_DEBUG=1)
  case $c in
    bun) (cd "$p" && "${env[@]}" "$M/bun/node_modules/.bin/bun" -e "$PROBE") ;;
    deno) (cd "$p" && "${env[@]}" NPM_CONFIG_REGISTRY="$(cat "$p.reg")" DENO_DIR="$p.home/deno" "$M/deno/node_modules/.bin/deno" run -A --minimum-dependency-age=0 main.mjs) ;;
    *)
      [ -f "$p/.pnp.cjs" ] && pre=(--require "$p/.pnp.cjs")
      (cd "$p" && "${env[@]}" node "${pre[@]}" -e "$PROBE") ;;
  esac
}
# tuf_requests URL ROUTE: how many /tuf/ requests of ROUTE (metadata or targets) the server at URL has answered.
tuf_requests() {
  node -e "fetch('$1/metrics').then((r) => r.text()).then((t) => { let n = 0;
    for (const m of t.matchAll(/^x0x_dist_http_requests_total\{route=\"$2\"[^}]*\} (\d+)/gm)) n += Number(m[1]);
    console.log(n) })"
}
# clients_against NAME URL: every client installs from URL/npm/ and loads the core; no /tuf/ target request
# meanwhile (the binary comes from the platform package, verified by its embedded metadata). Metadata requests are
# the revocations check a fresh cache makes once per X0X_DIST_REVOCATION_INTERVAL (issue 23: timestamp, snapshot,
# revocations): at most 3 per load.
clients_against() {
  local name=$1 url=$2 before after mbefore mafter
  before=$(tuf_requests "$url" targets)
  mbefore=$(tuf_requests "$url" metadata)
  for c in "${CLIENTS[@]}"; do
    local p=$T/$name-$c t=$SECONDS
    install "$c" "$url/npm/" "$p" >"$p.log" 2>&1 || { cat "$p.log"; fail "$name: $c install"; }
    out=$(load "$c" "$p" "$url" 2>&1) || { echo "$out"; fail "$name: $c: require('x0x') failed"; }
    has "$out" "^ok " || fail "$name: $c: $out"
    has "$out" "loaded linux-x64-gnu from platform-package" || fail "$name: $c: not loaded from the platform package: $out"
    echo "   $name / $c: installed in $((SECONDS - t)) s, loaded linux-x64-gnu from platform-package"
  done
  after=$(tuf_requests "$url" targets)
  mafter=$(tuf_requests "$url" metadata)
  [ "$before" = "$after" ] || fail "$name: $((after - before)) /tuf/ target requests during the installs and loads"
  [ $((mafter - mbefore)) -le $((3 * ${#CLIENTS[@]})) ] ||
    fail "$name: $((mafter - mbefore)) /tuf/ metadata requests for ${#CLIENTS[@]} loads (the revocations check is at most 3 each)"
  echo "   $name: no /tuf/ target request during ${#CLIENTS[@]} installs and loads ($((mafter - mbefore)) metadata requests: the revocations check)"
}
PROBE="const x = require('x0x'); console.log('ok', x.core || typeof x.AgentKeypair)"

# --- the air-gapped part runs again inside the network namespace ------------------------------------------
if [ "${1:-}" = --airgap-inner ]; then
  ip link set lo up
  PORT=$(free_port)
  URL=http://127.0.0.1:$PORT
  "$BIN" serve --repo "$AIRGAP" --listen "127.0.0.1:$PORT" >"$T/airgap-server.log" 2>&1 &
  PIDS+=($!)
  wait_url "$URL/readyz" || { cat "$T/airgap-server.log"; fail "air-gapped mirror did not start"; }
  node -e "fetch('http://1.1.1.1/', { signal: AbortSignal.timeout(2000) }).then(() => process.exit(1), () => process.exit(0))" ||
    fail "the namespace reaches beyond loopback"
  node -e "fetch('$URL/npm/x0x/-/x0x-$VERSION.tgz').then((r) => r.arrayBuffer()).then((b) =>
    console.log(require('crypto').createHash('sha512').update(Buffer.from(b)).digest('base64')))" >"$T/airgap.sha512"
  clients_against airgap "$URL"
  exit 0
fi

# --- setup ------------------------------------------------------------------------------------------------
step "building x0x-dist"
cargo build -q -p x0x-dist --bin x0x-dist
BIN=$CARGO_TARGET_DIR/debug/x0x-dist
mkdir -p "$T/build"
if [ -f "$BUILD/x0x.linux-x64-gnu.node" ]; then
  cp "$BUILD/x0x.linux-x64-gnu.node" "$T/build/"
  echo "   payload: the real core from $BUILD"
else
  gcc -shared -fPIC -O2 -o "$T/build/x0x.linux-x64-gnu.node" loader/js/e2e/fixtures/addon.c
  echo "   payload: a minimal Node-API addon (no core build in $BUILD)"
fi
python3 scripts/fake-build.py darwin-arm64 65536 "$T/build/x0x.darwin-arm64.node"
python3 scripts/fake-build.py linux-x64-musl 65536 "$T/build/x0x.linux-x64-musl.node"
FILES=("$T"/build/*.node)

step "A. origin: x0x $VERSION and $PRE published (${FILES[*]##*/})"
new_repo
start_server --log warn
publish "$VERSION" "${FILES[@]}" >/dev/null
publish "$PRE" "${FILES[@]}" >/dev/null
ORIGIN=$URL
unset X0X_DIST_URL X0X_DIST_BUNDLE X0X_NATIVE_PATH X0X_FORCE_WASM X0X_DIST_OFFLINE X0X_DIST_ROOT X0X_DIST_CACHE
export npm_config_update_notifier=false npm_config_fund=false

step "npm view, dist-tags, audit"
NC=$T/npm-view-cache
out=$(npm view x0x --registry "$ORIGIN/npm/" --cache "$NC" 2>&1) || fail "npm view x0x: $out"
has "$out" "x0x@$VERSION" || fail "npm view x0x: $out"
has "$out" "latest: $VERSION" || fail "npm view x0x (dist-tags): $out"
has "$out" "next: $PRE" || fail "npm view x0x (next): $out"
out=$(npm view x0x versions --json --registry "$ORIGIN/npm/" --cache "$NC")
[ "$(node -p "JSON.stringify(JSON.parse(process.argv[1]))" "$out")" = "[\"$VERSION\",\"$PRE\"]" ] || fail "npm view x0x versions: $out"
out=$(npm view "@x0x/core-darwin-arm64@$VERSION" os cpu --json --registry "$ORIGIN/npm/" --cache "$NC")
has "$out" darwin || fail "npm view @x0x/core-darwin-arm64 os: $out"
echo "   npm view x0x: latest $VERSION, next $PRE; versions [$VERSION, $PRE]"

step "the generated package.json files agree with pack.js's"
mapfile -t TGZS < <(timeout 120 node loader/js/scripts/pack.js --version "$VERSION" --root "$R/metadata/1.root.json" \
  --repo "$R" --release "$T/build" --platform-packages --out "$T/pack" 2>"$T/pack.log") || { cat "$T/pack.log"; fail "pack.js"; }
for t in "${TGZS[@]}"; do
  tar xzf "$t" -O package/package.json >"$T/pack.pj.json"
  n=$(node -p "require('$T/pack.pj.json').name")
  base=${n#@x0x/}
  curl -sf "$ORIGIN/npm/$n/-/$base-$VERSION.tgz" -o "$T/ours.tgz" || fail "GET /npm/$n tarball"
  tar xzf "$T/ours.tgz" -O package/package.json >"$T/ours.pj.json"
  # pack.js adds `types` when a release directory has index.d.ts; nothing else may differ.
  node -e "
    const a = require('$T/pack.pj.json'), b = require('$T/ours.pj.json'); delete a.types;
    if (JSON.stringify(a) !== JSON.stringify(b)) { console.error(JSON.stringify(a, null, 1), JSON.stringify(b, null, 1)); process.exit(1) }" ||
    fail "$n: package.json differs between pack.js and /npm/"
  tar tzf "$t" | sort >"$T/pack.files"; tar tzf "$T/ours.tgz" | sort >"$T/ours.files"
  # metadata/: pack.js embeds the chain current when it runs; /npm/ the one frozen when the version was published.
  extra=$(comm -23 "$T/pack.files" "$T/ours.files" | grep -v -e '\.cjs$' -e 'index\.d\.ts$' -e 'wasi-worker' -e '^package/metadata/' || true)
  [ -z "$extra" ] || fail "$n: pack.js ships files /npm/ does not: $extra"
done
curl -sf "$ORIGIN/npm/x0x/-/x0x-$VERSION.tgz" -o "$T/ours-x0x.tgz" || fail "GET /npm/x0x tarball"
mkdir -p "$T/cmp/pack" "$T/cmp/ours"
tar xzf "${TGZS[-1]}" -C "$T/cmp/pack" && tar xzf "$T/ours-x0x.tgz" -C "$T/cmp/ours" || fail "unpacking the x0x tarballs"
for f in index.js lib/loader.js lib/tuf.js bin/x0x.js platforms.json README.md; do
  cmp -s "$T/cmp/pack/package/$f" "$T/cmp/ours/package/$f" ||
    fail "x0x: $f differs between pack.js and /npm/: $(diff "$T/cmp/pack/package/$f" "$T/cmp/ours/package/$f" | head -20)"
done
echo "   ${#TGZS[@]} packages: same package.json, same files (less the WASI glue and types, which need a build directory), same index.js, lib/, README"

clients_against origin "$ORIGIN"

step "audit and a cross-platform lockfile"
P=$T/lock; mkdir -p "$P"; echo '{"name":"lock","version":"1.0.0","private":true}' >"$P/package.json"
(cd "$P" && timeout 120 npm install "x0x@$VERSION" --os=darwin --cpu=arm64 --registry "$ORIGIN/npm/" --cache "$T/lock-cache" >/dev/null 2>&1) ||
  fail "npm install --os=darwin --cpu=arm64"
[ -d "$P/node_modules/@x0x/core-darwin-arm64" ] || fail "--os=darwin --cpu=arm64 did not install @x0x/core-darwin-arm64"
for pkg in core-linux-x64-gnu core-linux-x64-musl core-darwin-arm64; do
  node -e "const l = require('$P/package-lock.json'); if (!l.packages['node_modules/@x0x/$pkg']) process.exit(1)" ||
    fail "package-lock.json lacks @x0x/$pkg: $(cat "$P/package-lock.json")"
done
rm -rf "$P/node_modules"
(cd "$P" && timeout 120 npm ci --registry "$ORIGIN/npm/" --cache "$T/lock-cache2" >/dev/null 2>&1) || fail "npm ci on linux from the darwin lockfile"
[ "$(ls "$P/node_modules/@x0x")" = core-linux-x64-gnu ] || fail "npm ci installed [$(ls "$P/node_modules/@x0x")]"
out=$(load npm "$P" 2>&1) || true
has "$out" "loaded linux-x64-gnu from platform-package" || fail "after npm ci: $out"
out=$(cd "$P" && timeout 60 npm audit --registry "$ORIGIN/npm/" --cache "$T/lock-cache2" 2>&1) || fail "npm audit: $out"
has "$out" "found 0 vulnerabilities" || fail "npm audit: $out"
echo "   lockfile from --os=darwin --cpu=arm64 records every platform package; npm ci on linux installs linux-x64-gnu and loads it"
echo "   npm audit: found 0 vulnerabilities"

step "B. pull-through mirror of the origin"
MIRROR=$T/mirror
"$BIN" mirror init --repo "$MIRROR" --upstream "$ORIGIN" --root "$R/metadata/1.root.json" >/dev/null
MPORT=$(free_port)
MURL=http://127.0.0.1:$MPORT
"$BIN" serve --repo "$MIRROR" --listen "127.0.0.1:$MPORT" --log warn >"$T/mirror.log" 2>&1 &
PIDS+=($!)
wait_url "$MURL/readyz" || { cat "$T/mirror.log"; fail "mirror did not start"; }
clients_against mirror "$MURL"

step "the same bytes and integrity from origin and mirror"
for u in "x0x/-/x0x-$VERSION.tgz" "@x0x/core-linux-x64-gnu/-/core-linux-x64-gnu-$VERSION.tgz" "x0x/-/x0x-$PRE.tgz"; do
  a=$(curl -sf "$ORIGIN/npm/$u" | sha512sum); b=$(curl -sf "$MURL/npm/$u" | sha512sum)
  [ "$a" = "$b" ] || fail "$u: origin and mirror serve different bytes"
done
ia=$(curl -sf "$ORIGIN/npm/x0x" | node -p "JSON.parse(require('fs').readFileSync(0)).versions['$VERSION'].dist.integrity")
ib=$(curl -sf "$MURL/npm/x0x" | node -p "JSON.parse(require('fs').readFileSync(0)).versions['$VERSION'].dist.integrity")
[ "$ia" = "$ib" ] || fail "integrity differs: origin $ia, mirror $ib"
echo "   identical tarballs; x0x@$VERSION integrity ${ia:0:30}… on both"

step "C. air-gapped mirror from a bundle, in a network namespace with only loopback"
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
  "$BIN" bundle export --repo "$R" --out "$T/x0x.bundle" >/dev/null
  AIRGAP=$T/airgap
  "$BIN" bundle import --repo "$AIRGAP" --root "$R/metadata/1.root.json" "$T/x0x.bundle" >/dev/null
  # The records the origin made when each version was published travel in the bundle (its chain today is
  # newer than 1.0.0's: without them the mirror would embed other metadata, and serve other bytes).
  # (The listing goes to a file: `tar tf | grep -q` under pipefail fails whenever grep exits before tar has
  # written its last name, and tar dies of SIGPIPE.)
  tar tf "$T/x0x.bundle" >"$T/bundle.list" || fail "tar cannot list the bundle"
  grep -qx "npm/x0x-$VERSION.record.json" "$T/bundle.list" || fail "the bundle carries no npm release record"
  [ -f "$AIRGAP/npm/x0x-$VERSION.record.json" ] || fail "bundle import did not bring the npm release records"
  export BIN AIRGAP M NODE24 VERSION PRE CARGO_TARGET_DIR
  export T
  unshare -n bash "$0" --airgap-inner
  want=$(curl -sf "$ORIGIN/npm/x0x/-/x0x-$VERSION.tgz" | node -e "process.stdout.write(require('crypto').createHash('sha512').update(require('fs').readFileSync(0)).digest('base64'))")
  [ "$(cat "$T/airgap.sha512")" = "$want" ] || fail "the air-gapped mirror's x0x tarball differs from the origin's"
  echo "   the air-gapped mirror serves the origin's x0x tarball byte for byte"
else
  echo "   skipped: needs root, ip (iproute2) and unshare -n"
fi
step "all scenarios passed in $(($(date +%s) - T0)) s"
