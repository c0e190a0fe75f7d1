#!/usr/bin/env bash
# Native vs WASM benchmark of the x0x core (not part of CI, ~1 min after the build): builds host + wasm with
# `cargo xtask build`, then runs bench.js on both in the same process, alternating, and 5 load-time breakdowns.
# Results: BENCHMARKS.md, "Core: native vs WASM". Build variants (simd128, fat LTO, wasm-opt): variants.sh.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
OUT=${OUT:-dist/bench-core}
cargo xtask build --targets host,wasm --out "$OUT" --no-check
echo "machine: $(nproc) cores, $(uptime)"
NODE_PATH="$PWD/core/node_modules" NODE_NO_WARNINGS=1 node benches/core/bench.js \
  "$OUT/x0x.linux-x64-gnu.node" "$OUT/x0x.wasip1.cjs" --json "$OUT/bench.json" --rounds "${ROUNDS:-21}"
for i in 1 2 3 4 5; do
  NODE_PATH="$PWD/core/node_modules" node --no-warnings benches/core/load-breakdown.js "$OUT"
done
echo "machine: $(uptime)"
