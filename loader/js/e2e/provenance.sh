#!/usr/bin/env bash
# End-to-end, issue 23: trusted publishing to a loader that checks the provenance. A real OpenID provider
# (`oidc-provider`, test-support/oidc-issuer.mjs) as the CI issuer, a real `x0x-dist serve` on 127.0.0.1 whose
# policy for x0x trusts that issuer and signs online, the real `x0x` package from scripts/pack.js, real node.
#
#   the provider issues a CI ID token (repository x0x-org/x0x) -> `publish --oidc-token-file` exchanges it and
#   the server signs 1.0.0 online with the claims as custom.provenance; 1.1.0 is published with the publisher
#   key (no provenance). Then:
#   - X0X_DIST_REQUIRE_PROVENANCE='ISSUER|x0x-org/x0x': 1.0.0 loads (cold, warm), 1.1.0 is loader.provenance;
#     another repository or issuer refuses 1.0.0 even from the warm cache;
#   - `npx x0x doctor` and `x0x-dist doctor` print 1.0.0's provenance; `x0x-dist verify` and the web UI too;
#   - the Rust loader: `fetch --version '*'` takes 1.1.0 without the setting, skips it for 1.0.0 with it, and
#     `--version 1.1.0` is loader.provenance.
#
# Inputs: a debug x0x-dist (built here), cc and node headers, .toolchains/oidc-provider
# (scripts/setup.d/66-oidc-provider.sh).
set -euo pipefail
cd "$(dirname "$0")/../../.."
E2E_NAME=provenance
source loader/js/e2e/lib.sh
[ -f "$TOOLS/oidc-provider/node_modules/oidc-provider/package.json" ] || fail "oidc-provider not installed (scripts/setup.d/66-oidc-provider.sh)"

step "building x0x-dist and the fixture addon"
cargo build -q -p x0x-dist --bin x0x-dist
BIN=$CARGO_TARGET_DIR/debug/x0x-dist
ADDON=$(node -e "console.log(require('./loader/js/test/helpers/addon').buildAddon(process.argv[1]) || '')" "$T")
[ -n "$ADDON" ] || fail "cannot build the fixture addon (cc and node headers needed)"

step "starting the OpenID provider"
OIDC_PROVIDER_DIR=$TOOLS/oidc-provider node test-support/oidc-issuer.mjs >"$T/issuer.out" 2>"$T/issuer.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$T/issuer.out" ] && break; sleep 0.1; done
ISSUER=$(node -p "JSON.parse(require('fs').readFileSync('$T/issuer.out', 'utf8')).ci") || fail "the issuer did not start: $(cat "$T/issuer.log")"
REPO=x0x-org/x0x

new_repo
"$BIN" package trust --repo "$R" x0x --issuer "$ISSUER" --audience x0x-ci --claim "repository=$REPO" --sign-online >/dev/null
start_server

build() { # build VERSION: the addon with the version appended (distinct bytes per release)
  mkdir -p "$T/build-$1"
  cat "$ADDON" >"$T/build-$1/x0x.linux-x64-gnu.node"
  printf 'x0x-release-%s' "$1" >>"$T/build-$1/x0x.linux-x64-gnu.node"
}
id_token() { # id_token CLAIMS_JSON: an ID token from the provider's token endpoint (what a CI runner gets)
  node -e "
    const body = new URLSearchParams({ grant_type: 'urn:x0x:ci-id-token', client_id: 'x0x-ci', client_secret: 'ci-secret', claims: process.argv[1] });
    fetch('$ISSUER/token', { method: 'POST', body }).then((r) => r.json()).then((j) => { if (!j.id_token) throw new Error(JSON.stringify(j)); process.stdout.write(j.id_token) })" "$1"
}
install() {
  local tgz
  tgz=$(node loader/js/scripts/pack.js --version "$1" --root "$R/metadata/1.root.json" --repo "$URL" --out "$T" 2>/dev/null)
  mkdir -p "$T/p$1/node_modules/x0x"
  tar xzf "$tgz" -C "$T/p$1/node_modules/x0x" --strip-components=1
}
CALL="console.log('ok', require('x0x').hello())"
load() { # load VERSION CACHE [ENV...]: prints stdout+stderr, never fails
  local v=$1 c=$2; shift 2
  (cd "$T/p$v" && env X0X_DIST_URL="$URL" X0X_DIST_CACHE="$c" "$@" node -e "$CALL" 2>&1) || true
}

step "CI token -> exchange -> publish 1.0.0 (signed online with provenance); 1.1.0 with the publisher key"
build 1.0.0
id_token "{\"repository\":\"$REPO\",\"workflow_ref\":\"$REPO/.github/workflows/release.yml@refs/heads/main\",\"ref\":\"refs/heads/main\"}" >"$T/id-token"
out=$("$BIN" publish --server "$URL" --oidc-token-file "$T/id-token" --package x0x --version 1.0.0 "$T/build-1.0.0/x0x.linux-x64-gnu.node" 2>&1) || fail "OIDC publish: $out"
has "$out" "signed by the server's online key" || fail "1.0.0 was not signed online: $out"
build 1.1.0
publish 1.1.0 "$T/build-1.1.0/x0x.linux-x64-gnu.node" >/dev/null
install 1.0.0
install 1.1.0
out=$("$BIN" verify --repo "$R")
has "$out" "provenance x0x/1.0.0/x0x.linux-x64-gnu.node (signed by the server's online key):.*issuer=$ISSUER.*repository=$REPO" || fail "verify does not show 1.0.0's provenance: $out"
! has "$out" "provenance x0x/1.1.0" || fail "a key-signed release shown with provenance: $out"

REQ="$ISSUER|$REPO"
C=$T/cache
step "X0X_DIST_REQUIRE_PROVENANCE: the loader verifies the provenance"
out=$(load 1.0.0 "$C" X0X_DIST_REQUIRE_PROVENANCE="$REQ"); has "$out" "^ok hello" || fail "1.0.0 with matching provenance: $out"
out=$(load 1.0.0 "$C" X0X_DIST_REQUIRE_PROVENANCE="$REQ" X0X_DIST_DEBUG=1); has "$out" "warm: linux-x64-gnu" || fail "second require with matching provenance was not warm: $out"
out=$(load 1.0.0 "$C" X0X_DIST_REQUIRE_PROVENANCE="$ISSUER|evil/x0x")
has "$out" "loader.provenance" && has "$out" "from repository $REPO, not evil/x0x" || fail "another repository must refuse 1.0.0, even warm: $out"
! has "$out" "^ok" || fail "1.0.0 loaded for another repository: $out"
out=$(load 1.0.0 "$C" X0X_DIST_REQUIRE_PROVENANCE="https://token.actions.githubusercontent.com")
has "$out" "loader.provenance" && has "$out" "from issuer $ISSUER" || fail "another issuer must refuse 1.0.0: $out"
out=$(load 1.1.0 "$C"); has "$out" "^ok hello" || fail "1.1.0 without the setting: $out"
out=$(load 1.1.0 "$C" X0X_DIST_REQUIRE_PROVENANCE="$REQ")
has "$out" "loader.provenance" && has "$out" "has no signed provenance" || fail "the key-signed 1.1.0 must be refused from the warm cache: $out"
! has "$out" "^ok" || fail "1.1.0 loaded without provenance: $out"
out=$(load 1.0.0 "$C" X0X_DIST_REQUIRE_PROVENANCE="not-a-url"); has "$out" "config.invalid" || fail "a malformed setting: $out"

step "doctors show the provenance"
doc=$(cd "$T/p1.0.0" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C node node_modules/x0x/bin/x0x.js doctor 2>&1) || fail "npx x0x doctor: $doc"
has "$doc" "^provenance (signed by the server's online key): .*issuer=$ISSUER .*repository=$REPO" || fail "npx x0x doctor does not show the provenance: $doc"
doc=$(cd "$T/p1.1.0" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C node node_modules/x0x/bin/x0x.js doctor --json 2>&1) || fail "npx x0x doctor 1.1.0: $doc"
has "$doc" '"provenance": null' || fail "1.1.0 has no provenance in doctor --json: $doc"
doc=$(X0X_DIST_CACHE=$T/rcache "$BIN" doctor --server "$URL" --root "$R/metadata/1.root.json" --version =1.0.0 2>&1) || fail "x0x-dist doctor: $doc"
has "$doc" "provenance (signed by the server's online key): .*repository=$REPO" || fail "x0x-dist doctor does not show the provenance: $doc"

page=$(node -e "fetch('$URL/').then((r) => r.text()).then((t) => process.stdout.write(t))")
has "$page" "<code>repository</code> = <code>$REPO</code>" || fail "the web UI does not show 1.0.0's provenance: $page"

step "the Rust loader: a range skips releases without the provenance, a pin is refused"
fetch() { # fetch VERSION [ENV...]
  env X0X_DIST_CACHE="$T/rcache" "${@:2}" "$BIN" fetch --server "$URL" --root "$R/metadata/1.root.json" --package x0x --version "$1" --out "$T/out" 2>&1
}
out=$(fetch '*') || fail "fetch *: $out"
has "$out" "1\.1\.0" || fail "without the setting fetch * takes 1.1.0: $out"
out=$(fetch '*' X0X_DIST_REQUIRE_PROVENANCE="$REQ") || fail "fetch * with the setting: $out"
has "$out" "1\.0\.0" && ! has "$out" "1\.1\.0" || fail "with the setting fetch * takes 1.0.0: $out"
out=$(fetch 1.1.0 X0X_DIST_REQUIRE_PROVENANCE="$REQ") && fail "fetch of 1.1.0 without provenance succeeded: $out"
has "$out" "loader.provenance" || fail "fetch --version 1.1.0: $out"
step "passed"
