#!/usr/bin/env bash
# Mirror and bundle benchmarks (not run in CI). One release of 10 targets x 32 MiB (random bytes) published
# into a local repository and served by `x0x-dist serve` on 127.0.0.1; medians of ROUNDS alternating runs:
#   1. `x0x-dist mirror sync` into an empty mirror (metadata chain verified, 4 parallel downloads, each target
#      hashed and checked before it is renamed into place) vs `curl --parallel --parallel-max 4` of the same
#      10 files from the same server into a directory                                        goal >= 0.8x
#   2. `x0x-dist bundle export` (chain verified, every target hashed while copied) vs `tar -cf` of the same
#      metadata/ and targets/ directories                                                      goal >= 0.8x
#   3. `x0x-dist bundle import --repo` into an empty mirror (unpack with TOC hashes, chain verified, every
#      target hashed against the metadata and made durable — fdatasync — before the metadata commit, moved
#      into place) vs `tar -xf` of the same bundle (which leaves its output to write-back)     goal >= 0.8x
#      and vs `tar -xf && sync`, the durable equivalent (second peer row, for fairness)
#   4. the same import again into the same mirror (idempotent: nothing is written), no peer
# Ratio = peer time / our time (1.0 = as fast as the peer). Page cache is warm for both sides; `sync` runs
# before every timed step so neither side pays for the other's write-back. Export does not fsync (a torn
# bundle is refused on import); import does (see repository/src/bundle/import.rs).
# Usage: benches/run.sh mirror     (env: ROUNDS=5 MIB=32 (the size of each target) OUT=benches/mirror/results.md
#                                        CARGO_TARGET_DIR)
# Needs: curl, tar (scripts/setup.d/70-mirror.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-5}
MIB=${MIB:-32}
OUT=${OUT:-benches/mirror/results.md}
release_build x0x-dist
BIN=$(release_bin x0x-dist)
W=$(mktemp -d /tmp/x0x-mirror-bench.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b - a}'; }

echo "== setup in $W"
REPO=$W/repo
"$BIN" init --repo "$REPO" >/dev/null
"$BIN" keygen --out "$W/pub.key" >/dev/null
"$BIN" package add --repo "$REPO" x0x --publisher-key "$W/pub.key.pub" >/dev/null
mkdir -p "$W/dist"
for p in darwin-arm64 darwin-x64 linux-x64-gnu linux-arm64-gnu linux-x64-musl linux-arm64-musl win32-x64-msvc \
  linux-arm-gnueabihf; do python3 scripts/fake-build.py "$p" $((MIB << 20)) "$W/dist/x0x.$p.node"; done
python3 scripts/fake-build.py wasm32-wasip1 $((MIB << 20)) "$W/dist/x0x.wasm32-wasip1.wasm"
python3 scripts/fake-build.py wasm32-wasip1-threads $((MIB << 20)) "$W/dist/x0x.wasm32-wasip1-threads.wasm"
"$BIN" package release --repo "$REPO" x0x --version 1.0.0 --key "$W/pub.key" "$W"/dist/* >/dev/null
ROOT=$REPO/metadata/1.root.json
P=$(port)
"$BIN" serve --repo "$REPO" --listen "127.0.0.1:$P" --log warn 2>/dev/null &
PID=$!
wait_port "$P"
URL=http://127.0.0.1:$P
FILES=$(cd "$REPO/targets" && find x0x -type f | sort)
CURL_ARGS=()
for f in $FILES; do CURL_ARGS+=(-o "$W/curl/$(basename "$f")" "$URL/tuf/targets/$f"); done
TOTAL=$(cd "$REPO/targets" && du -cb $FILES | tail -1 | cut -f1)
echo "   10 targets, $TOTAL bytes, server on $URL"

LOAD0=$(loadavg)
sync_t=(); curl_t=(); exp_t=(); tarc_t=(); imp_t=(); tarx_t=(); tarxs_t=(); reimp_t=()
for r in $(seq "$ROUNDS"); do
  rm -rf "$W/m" "$W/curl"; mkdir -p "$W/curl"; sync
  a=$(now); curl -sf --no-progress-meter --parallel --parallel-max 4 "${CURL_ARGS[@]}"; b=$(now); curl_t+=("$(secs "$a" "$b")")
  sync; a=$(now); "$BIN" mirror sync --from "$URL" --repo "$W/m" --root "$ROOT" --parallel 4 >/dev/null; b=$(now); sync_t+=("$(secs "$a" "$b")")
  rm -f "$W/b.tar" "$W/t.tar"
  sync; a=$(now); tar -cf "$W/t.tar" -C "$REPO" metadata targets; b=$(now); tarc_t+=("$(secs "$a" "$b")")
  sync; a=$(now); "$BIN" bundle export --repo "$REPO" --root "$ROOT" --out "$W/b.tar" >/dev/null; b=$(now); exp_t+=("$(secs "$a" "$b")")
  rm -rf "$W/x" "$W/i"; mkdir -p "$W/x"
  sync; a=$(now); tar -xf "$W/b.tar" -C "$W/x"; b=$(now); tarx_t+=("$(secs "$a" "$b")")
  sync; a=$(now); "$BIN" bundle import "$W/b.tar" --repo "$W/i" --root "$ROOT" >/dev/null; b=$(now); imp_t+=("$(secs "$a" "$b")")
  rm -rf "$W/x"; mkdir -p "$W/x"
  sync; a=$(now); tar -xf "$W/b.tar" -C "$W/x" && sync; b=$(now); tarxs_t+=("$(secs "$a" "$b")")
  sync; a=$(now); "$BIN" bundle import "$W/b.tar" --repo "$W/i" >/dev/null; b=$(now); reimp_t+=("$(secs "$a" "$b")")
  echo "   round $r: sync ${sync_t[-1]}s curl ${curl_t[-1]}s | export ${exp_t[-1]}s tar-c ${tarc_t[-1]}s | import ${imp_t[-1]}s tar-x ${tarx_t[-1]}s tar-x+sync ${tarxs_t[-1]}s | re-import ${reimp_t[-1]}s"
done
cmp -s "$W/m/targets/$(echo "$FILES" | head -1)" "$REPO/targets/$(echo "$FILES" | head -1)" || { echo "mirror copy differs" >&2; exit 1; }
m() { printf '%s\n' "$@" | median; }
S=$(m "${sync_t[@]}"); C=$(m "${curl_t[@]}"); E=$(m "${exp_t[@]}"); TC=$(m "${tarc_t[@]}"); I=$(m "${imp_t[@]}"); TX=$(m "${tarx_t[@]}")
TXS=$(m "${tarxs_t[@]}"); RI=$(m "${reimp_t[@]}")
rate() { awk -v b="$TOTAL" -v s="$1" 'BEGIN {printf "%.0f MB/s", b / s / 1e6}'; }
ratio() { awk -v p="$1" -v o="$2" 'BEGIN {printf "%.2f", p / o}'; }
{
  echo "| Benchmark (10 x $MIB MiB) | x0x-dist | peer | peer | ratio (peer/ours) | goal |"
  echo "|---|---|---|---|---|---|"
  echo "| mirror sync vs curl --parallel 4 | ${S}s ($(rate "$S")) | curl | ${C}s ($(rate "$C")) | $(ratio "$C" "$S") | >= 0.8 |"
  echo "| bundle export vs tar -cf | ${E}s ($(rate "$E")) | GNU tar | ${TC}s ($(rate "$TC")) | $(ratio "$TC" "$E") | >= 0.8 |"
  echo "| bundle import vs tar -xf | ${I}s ($(rate "$I")) | GNU tar | ${TX}s ($(rate "$TX")) | $(ratio "$TX" "$I") | >= 0.8 |"
  echo "| bundle import vs tar -xf && sync (durable) | ${I}s ($(rate "$I")) | GNU tar + sync | ${TXS}s ($(rate "$TXS")) | $(ratio "$TXS" "$I") | |"
  echo "| bundle import again (idempotent, nothing written) | ${RI}s | | | | |"
  echo
  echo "Medians of $ROUNDS rounds, $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d); load before: $LOAD0; after: $(loadavg)."
} | tee "$OUT"
