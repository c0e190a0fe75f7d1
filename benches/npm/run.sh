#!/usr/bin/env bash
# The npm registry view (`/npm/`, docs/npm-registry.md) against Verdaccio serving the very same packages
# (results in BENCHMARKS.md, "npm registry").
#
#   cold install: `npm install x0x` into an empty project with a fresh `--cache` (packuments of x0x and its
#         platform packages, the x0x and @x0x/core-linux-x64-gnu tarballs, integrity checks, extraction,
#         package-lock), from `/npm/` of a real `x0x-dist serve` (release build) vs from a local Verdaccio 6.8.0
#         (no uplinks, web UI off) holding the tarballs downloaded from `/npm/` and `npm publish`ed to it (same
#         bytes, same integrity). One untimed install each first (both servers warm), then RUNS alternating
#         pairs; medians and the ratio ours/peer (goal ≤ 1.0).
#   packument req/s: the abbreviated packument of x0x (`Accept: application/vnd.npm.install-v1+json`, what npm,
#         pnpm and yarn ask for) with wrk (2 threads, 32 connections, DUR s), ROUNDS alternating rounds; medians
#         and the ratio ours/peer (goal ≥ 5).
# The release: x0x VERSION with a real Node-API addon for linux-x64-gnu padded to SIZE_MIB (random bytes after
# the ELF's end: it still loads) and stand-ins for darwin-arm64, linux-x64-musl and win32-x64-msvc
# (scripts/fake-build.py), so x0x has four optional dependencies of which npm installs one.
#
# Usage: benches/run.sh npm
#   RUNS (default 7)  ROUNDS (3)  DUR (10)  SIZE_MIB (8)  OUT (benches/npm/results.md)
#   X0X_DIST_BIN      the x0x-dist binary (default: cargo build --release -p x0x-dist)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
E2E_NAME=npm-bench
source loader/js/e2e/lib.sh
RUNS=${RUNS:-7}
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
SIZE_MIB=${SIZE_MIB:-8}
OUT=${OUT:-$WS/benches/npm/results.md}
VERSION=1.0.0
VERD=$TOOLS/verdaccio/node_modules/.bin/verdaccio
ABBR='application/vnd.npm.install-v1+json'
say() { echo "== npm bench: $*" >&2; }
now_ms() { date +%s%3N; }
[ -x "$VERD" ] || { echo "no Verdaccio at $VERD: scripts/setup.d/62-verdaccio.sh" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk missing (apt-get install wrk)" >&2; exit 1; }
if [ -z "${X0X_DIST_BIN:-}" ]; then
  release_build x0x-dist
  X0X_DIST_BIN=$(release_bin x0x-dist)
fi
BIN=$X0X_DIST_BIN
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_loglevel=error

say "the release: linux-x64-gnu addon padded to $SIZE_MIB MiB, three stand-ins"
mkdir -p "$T/build"
NATIVE=$T/build/x0x.linux-x64-gnu.node
gcc -shared -fPIC -O2 -o "$NATIVE" loader/js/e2e/fixtures/addon.c
head -c $((SIZE_MIB * 1048576 - $(stat -c %s "$NATIVE"))) /dev/urandom >>"$NATIVE"
node -e "process.dlopen({ exports: {} }, '$NATIVE')" || { echo "the padded addon does not load" >&2; exit 1; }
for p in darwin-arm64 linux-x64-musl win32-x64-msvc; do
  python3 scripts/fake-build.py "$p" $((SIZE_MIB * 1048576)) "$T/build/x0x.$p.node"
done

say "x0x-dist serve (release) + publish"
new_repo
start_server --log warn
publish "$VERSION" "$T"/build/*.node >/dev/null
curl -sf -H "Accept: $ABBR" "$URL/npm/x0x" >/dev/null || { echo "/npm/x0x does not answer" >&2; exit 1; }

say "verdaccio 6.8.0 with the same tarballs"
start_verdaccio "$VERD"
mkdir -p "$T/tgz"
for n in @x0x/core-linux-x64-gnu @x0x/core-darwin-arm64 @x0x/core-linux-x64-musl @x0x/core-win32-x64-msvc x0x; do
  f=$T/tgz/${n//[@\/]/_}.tgz
  curl -sf "$URL/npm/$n/-/${n#@x0x/}-$VERSION.tgz" -o "$f"
  timeout 120 npm publish "$f" --registry "$REG" --userconfig "$T/npmrc" --cache "$T/publish-cache" --tag latest >/dev/null
done
ours_int=$(curl -sf "$URL/npm/x0x" | node -p "JSON.parse(require('fs').readFileSync(0)).versions['$VERSION'].dist.integrity")
peer_int=$(curl -sf "${REG}x0x" | node -p "JSON.parse(require('fs').readFileSync(0)).versions['$VERSION'].dist.integrity")
[ "$ours_int" = "$peer_int" ] || { echo "the two registries disagree on x0x's integrity" >&2; exit 1; }

N=0
install_ms() { # install_ms REGISTRY: a cold `npm install x0x`; prints milliseconds
  N=$((N + 1))
  local p=$T/p$N
  mkdir -p "$p"
  echo '{"name":"b","version":"1.0.0","private":true}' >"$p/package.json"
  local t0 t1
  t0=$(now_ms)
  (cd "$p" && npm install "x0x@$VERSION" --registry "$1" --cache "$T/cache$N" >/dev/null 2>&1) || { echo "npm install from $1 failed" >&2; exit 1; }
  t1=$(now_ms)
  [ -f "$p/node_modules/@x0x/core-linux-x64-gnu/x0x.linux-x64-gnu.node" ] || { echo "no platform package from $1" >&2; exit 1; }
  rm -rf "$p" "$T/cache$N"
  echo $((t1 - t0))
}
say "cold npm install x0x: 1 warm-up each, then $RUNS alternating pairs"
install_ms "$URL/npm/" >/dev/null
install_ms "$REG" >/dev/null
: >"$T/ours.ms"; : >"$T/peer.ms"
for _ in $(seq "$RUNS"); do
  install_ms "$URL/npm/" >>"$T/ours.ms"
  install_ms "$REG" >>"$T/peer.ms"
done
ours_ms=$(median <"$T/ours.ms"); peer_ms=$(median <"$T/peer.ms")
say "install: ours $(paste -sd' ' "$T/ours.ms") ms (median $ours_ms), verdaccio $(paste -sd' ' "$T/peer.ms") ms (median $peer_ms)"

say "abbreviated packument req/s: wrk -t2 -c32 -d${DUR}s, $ROUNDS alternating rounds"
: >"$T/ours.rps"; : >"$T/peer.rps"
for _ in $(seq "$ROUNDS"); do
  wrk -t2 -c32 -d"${DUR}s" -H "Accept: $ABBR" "$URL/npm/x0x" | wrk_rps >>"$T/ours.rps"
  wrk -t2 -c32 -d"${DUR}s" -H "Accept: $ABBR" "${REG}x0x" | wrk_rps >>"$T/peer.rps"
done
ours_rps=$(median <"$T/ours.rps"); peer_rps=$(median <"$T/peer.rps")
say "packument: ours $(paste -sd' ' "$T/ours.rps") (median $ours_rps), verdaccio $(paste -sd' ' "$T/peer.rps") (median $peer_rps)"

ratio() { node -p "($1 / $2).toFixed(2)"; }
{
  echo "# npm registry: x0x-dist /npm/ vs Verdaccio 6.8.0"
  echo
  echo "\`benches/run.sh npm\` (RUNS=$RUNS ROUNDS=$ROUNDS DUR=$DUR SIZE_MIB=$SIZE_MIB), $(date -u +%Y-%m-%d), $(machine), load average $(loadavg)."
  echo
  echo "| Measure | x0x-dist \`/npm/\` | Verdaccio 6.8.0 | Ratio (ours/peer) | Goal |"
  echo "|---|---|---|---|---|"
  echo "| cold \`npm install x0x\` (median ms; $SIZE_MIB MiB platform package) | $ours_ms | $peer_ms | $(ratio "$ours_ms" "$peer_ms") | ≤ 1.0 |"
  echo "| abbreviated packument of x0x (median req/s, wrk -t2 -c32) | $ours_rps | $peer_rps | $(ratio "$ours_rps" "$peer_rps") | ≥ 5 |"
  echo
  echo "Raw: install ms ours [$(paste -sd' ' "$T/ours.ms")], Verdaccio [$(paste -sd' ' "$T/peer.ms")]; req/s ours [$(paste -sd' ' "$T/ours.rps")], Verdaccio [$(paste -sd' ' "$T/peer.rps")]."
} >"$OUT"
cat "$OUT"
