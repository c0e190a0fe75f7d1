#!/usr/bin/env bash
# Cold install of a 32 MiB release, against the npm registry path (results in BENCHMARKS.md, "Loader").
#
#   ours: the first `require('x0x')` with an empty cache, in a fresh node process, from a real release on a
#         real `x0x-dist serve` (127.0.0.1): host detection, TUF update (root, timestamp, snapshot, targets,
#         x0x; child process), download, streaming SHA-256 + length check, fsync + rename into the cache,
#         warm record, dlopen. The target is the real host .node padded with random bytes to 32 MiB (the
#         padding is after the ELF's last section, so dlopen loads it unchanged; the random bytes make it
#         as incompressible as the peer's file). The x0x package itself is unpacked beforehand (not timed).
#   peer: `npm install` of a package holding the same 32 MiB file from a local Verdaccio 6.8.0 (no uplinks,
#         web UI off), into an empty project with a fresh `--cache` (resolve packument, download the
#         tarball, integrity check, extract, write package-lock).
# Runs alternate (ours, peer) RUNS times; medians and their ratio are printed. Not in CI (Verdaccio is
# installed on demand into .toolchains/verdaccio).
#
# Usage: benches/run.sh loader-cold [RUNS]   (default 5)
#   X0X_DIST_BIN   the x0x-dist binary (default: cargo build --release -p x0x-dist into $CARGO_TARGET_DIR)
#   X0X_CORE_DIST  the core build holding x0x.linux-x64-gnu.node (default dist/core)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
E2E_NAME=cold
source loader/js/e2e/lib.sh
RUNS=${1:-5}
SIZE=$((32 << 20))
CORE=$BUILD/x0x.linux-x64-gnu.node
VERD=$TOOLS/verdaccio
say() { echo "== cold: $*" >&2; }
now_ms() { date +%s%3N; }

[ -f "$CORE" ] || { echo "$CORE missing: cargo xtask build --targets host --out dist/core" >&2; exit 1; }
if [ -z "${X0X_DIST_BIN:-}" ]; then
  release_build x0x-dist
  X0X_DIST_BIN=$(release_bin x0x-dist)
fi
BIN=$X0X_DIST_BIN
if [ ! -x "$VERD/node_modules/.bin/verdaccio" ]; then
  say "installing verdaccio 6.8.0 into $VERD"
  mkdir -p "$VERD"
  # 6.10+ needs Node >= 22; without the override the install fails with ETARGET on node-fetch.
  cat >"$VERD/package.json" <<'JSON'
{ "name": "x0x-bench-verdaccio", "private": true, "dependencies": { "verdaccio": "6.8.0" }, "overrides": { "verdaccio-audit": { "node-fetch": "2.7.0" } } }
JSON
  (cd "$VERD" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false npm_config_loglevel=error

say "32 MiB synthetic target: the real $(basename "$CORE") + random padding"
mkdir -p "$T/release"
BLOB=$T/release/x0x.linux-x64-gnu.node
cp "$CORE" "$BLOB"
head -c $((SIZE - $(stat -c %s "$CORE"))) /dev/urandom >>"$BLOB"
node -e "process.dlopen({ exports: {} }, '$BLOB')" || { echo "the padded binary does not load" >&2; exit 1; }

say "x0x-dist serve + publish"
new_repo
start_server
publish 0.9.0 "$BLOB" >/dev/null
TGZ=$(node loader/js/scripts/pack.js --version 0.9.0 --root "$R/metadata/1.root.json" --repo "$URL" --out "$T" 2>/dev/null)
mkdir -p "$T/ours/node_modules"
tar xzf "$TGZ" -C "$T/ours/node_modules"
mv "$T/ours/node_modules/package" "$T/ours/node_modules/x0x"
echo '{"name":"cold-ours","version":"1.0.0","private":true}' >"$T/ours/package.json"

say "verdaccio 6.8.0 + publish of the same 32 MiB file"
start_verdaccio "$VERD/node_modules/.bin/verdaccio"
mkdir -p "$T/peer-pkg"
cp "$BLOB" "$T/peer-pkg/x0x.linux-x64-gnu.node"
echo '{"name":"x0x-cold-peer","version":"1.0.0","main":"x0x.linux-x64-gnu.node","license":"MIT"}' >"$T/peer-pkg/package.json"
(cd "$T/peer-pkg" && npm publish --registry "$REG" --userconfig "$T/npmrc" --cache "$T/npm-publish-cache" >/dev/null)

ours=()
peer=()
for i in $(seq 1 "$RUNS"); do
  C=$T/x0x-cache-$i
  t0=$(now_ms)
  (cd "$T/ours" && X0X_DIST_URL=$URL X0X_DIST_CACHE=$C node -e "require('x0x')")
  t1=$(now_ms)
  ls "$C"/blobs/*.node >/dev/null # the blob really was fetched into the fresh cache
  ours+=($((t1 - t0)))
  P=$T/peer-$i
  mkdir -p "$P"
  echo '{"name":"cold-peer","version":"1.0.0","private":true}' >"$P/package.json"
  t0=$(now_ms)
  (cd "$P" && npm install x0x-cold-peer --registry "$REG" --userconfig "$T/npmrc" --cache "$T/npm-cache-$i" >/dev/null)
  t1=$(now_ms)
  cmp -s "$BLOB" "$P/node_modules/x0x-cold-peer/x0x.linux-x64-gnu.node"
  peer+=($((t1 - t0)))
  say "run $i: ours ${ours[-1]} ms, npm install ${peer[-1]} ms (load $(cut -d' ' -f1 /proc/loadavg))"
done
# Sanity: the next require is warm, from the cache filled above.
(cd "$T/ours" && X0X_DIST_CACHE=$T/x0x-cache-1 X0X_DIST_OFFLINE=1 node -e "require('x0x')")

M_OURS=$(printf '%s\n' "${ours[@]}" | median)
M_PEER=$(printf '%s\n' "${peer[@]}" | median)
echo "date: $(date -u +%FT%TZ); $(nproc) cores; node $(node -v); npm $(npm -v); load: $(cut -d' ' -f1-3 /proc/loadavg); runs: $RUNS alternating"
echo "ours (first require, 32 MiB, x0x-dist serve): ${ours[*]} ms; median $M_OURS ms"
echo "peer (npm install, 32 MiB, verdaccio 6.8.0):  ${peer[*]} ms; median $M_PEER ms"
echo "ratio ours/peer: $(awk -v a="$M_OURS" -v b="$M_PEER" 'BEGIN {printf "%.3f", a / b}')"
