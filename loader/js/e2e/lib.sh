# shellcheck shell=bash
# The setup the end-to-end scripts (loader/js/e2e/run.sh, registry.sh) and benches/loader/cold.sh share:
# sourced from the workspace root (after `set -euo pipefail` and the `cd`), with E2E_NAME set (the prefix
# of its messages). It makes the scratch directory T (removed on exit, together with the server and every
# process in PIDS), and gives:
#   step/has/fail, free_port, wait_url, blobs       small helpers
#   build_inputs                                    the core build in BUILD (built when absent), a debug
#                                                   x0x-dist; sets BIN and VERSION (core/package.json)
#   new_repo                                        $BIN init/keygen/package add x0x/token create: sets R
#                                                   (the repository), TOKEN, and $T/publisher.key
#   start_server [ARGS...] / stop_server            `$BIN serve --repo $R` on 127.0.0.1 (PORT and URL are
#                                                   chosen once and kept across restarts), SERVER_PID
#   publish VERSION FILE...                         `$BIN publish` of x0x VERSION to the running server
#   start_verdaccio VERDACCIO_BIN                   a local Verdaccio (no uplinks, web UI off) and a user:
#                                                   sets VPORT, REG and the npm userconfig $T/npmrc
#   seed_registry PACKAGE_JSON                      the closure of that package.json's dependencies and peers, packed
#                                                   from the public registry, published to the Verdaccio
WS=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WS/target}
TOOLS=${X0X_TOOLCHAINS:-$WS/.toolchains}
BUILD=${X0X_CORE_DIST:-$WS/dist/core}
T=$(mktemp -d "/tmp/x0x-${E2E_NAME// /-}.XXXXXX")
PIDS=()
SERVER_PID=
PORT=
cleanup() {
  stop_server
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
step() { echo "== $E2E_NAME: $*"; }
has() { grep -q -- "$2" <<<"$1"; } # has TEXT PATTERN (no pipe: grep -q closing early must not trip pipefail)
fail() { echo "$E2E_NAME FAILED: $*" >&2; exit 1; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_url() {
  for _ in $(seq 1 300); do
    node -e "fetch('$1').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
blobs() { ls "$1/blobs" 2>/dev/null | wc -l; }
# What every scenario runs: load x0x and call into it.
CALL="const x = require('x0x'); const k = x.AgentKeypair.generate(); if (typeof k !== 'object') throw new Error('no keypair'); console.log('ok', typeof k)"

build_inputs() {
  if [ ! -f "$BUILD/x0x.linux-x64-gnu.node" ] || [ ! -f "$BUILD/x0x.wasm32-wasip1.wasm" ] || [ ! -f "$BUILD/x0x.wasip1.cjs" ]; then
    step "building the core (host, wasm) into $BUILD"
    cargo xtask build --targets host,wasm --out "$BUILD"
  fi
  step "building x0x-dist"
  cargo build -q -p x0x-dist --bin x0x-dist
  BIN=$CARGO_TARGET_DIR/debug/x0x-dist
  VERSION=$(node -p "require('$WS/core/package.json').version")
}

new_repo() {
  R=$T/repo
  "$BIN" init --repo "$R" >/dev/null
  "$BIN" keygen --out "$T/publisher.key" >/dev/null
  "$BIN" package add --repo "$R" x0x --publisher-key "$T/publisher.key.pub" >/dev/null
  TOKEN=$("$BIN" token create --repo "$R" --package x0x 2>/dev/null)
}

start_server() {
  [ -n "$PORT" ] || PORT=$(free_port)
  URL=http://127.0.0.1:$PORT
  "$BIN" serve --repo "$R" --listen "127.0.0.1:$PORT" "$@" >"$T/server.log" 2>&1 &
  SERVER_PID=$!
  wait_url "$URL/readyz" || { cat "$T/server.log"; fail "server did not become ready"; }
}
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=
}

publish() {
  local version=$1; shift
  "$BIN" publish --server "$URL" --token "$TOKEN" --key "$T/publisher.key" --package x0x --version "$version" "$@"
}

start_verdaccio() {
  VPORT=$(free_port)
  REG=http://127.0.0.1:$VPORT/
  mkdir -p "$T/verdaccio/storage"
  # Test-only config: no uplinks (nothing but what the script publishes), web UI off, any registered user
  # may publish. Never a configuration for a real registry.
  cat >"$T/verdaccio/config.yaml" <<YAML
storage: $T/verdaccio/storage
auth:
  htpasswd:
    file: $T/verdaccio/htpasswd
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
web:
  enable: false
max_body_size: 300mb
listen: 127.0.0.1:$VPORT
log: { type: stdout, format: pretty, level: warn }
YAML
  "$1" --config "$T/verdaccio/config.yaml" >"$T/verdaccio.log" 2>&1 &
  PIDS+=($!)
  wait_url "${REG}-/ping" || { cat "$T/verdaccio.log"; fail "verdaccio did not come up"; }
  local token
  token=$(node -e "
    fetch('${REG}-/user/org.couchdb.user:e2e', { method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'e2e', password: 'e2e-pass-$RANDOM' }) })
    .then((r) => r.json()).then((j) => { if (!j.token) throw new Error(JSON.stringify(j)); console.log(j.token) })")
  printf '//127.0.0.1:%s/:_authToken=%s\n' "$VPORT" "$token" >"$T/npmrc"
}

seed_registry() {
  mkdir -p "$T/deps" "$T/seed"
  node -e "const p = require('$1'); require('fs').writeFileSync('$T/deps/package.json',
    JSON.stringify({ name: 'seed', version: '1.0.0', private: true, dependencies: { ...p.dependencies, ...p.peerDependencies } }))"
  (cd "$T/deps" && timeout 300 npm install --ignore-scripts --package-lock-only >/dev/null) || fail "resolving x0x's dependencies"
  mapfile -t SEED < <(node -e "
    const l = require('$T/deps/package-lock.json');
    for (const [k, v] of Object.entries(l.packages)) if (k) console.log(k.replace(/^.*node_modules\//, '') + '@' + v.version)" | sort -u)
  (cd "$T/seed" && timeout 300 npm pack --silent "${SEED[@]}" >/dev/null) || fail "npm pack ${SEED[*]}"
  for t in "$T"/seed/*.tgz; do
    timeout 120 npm publish "$t" --registry "$REG" --userconfig "$T/npmrc" --cache "$T/npm-publish-cache" --ignore-scripts --tag latest \
      >"$T/seed-publish.log" 2>&1 || { cat "$T/seed-publish.log"; fail "npm publish $t"; }
  done
  echo "   ${SEED[*]}"
}
