#!/usr/bin/env bash
# Native vs WASM benchmark of the x0x core (not part of CI): builds host + wasm with `cargo xtask build`, then
# runs bench.js on both in the same process. Results: BENCHMARKS.md, "Core: native vs WASM".
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-dist/bench-core}
cargo xtask build --targets host,wasm --out "$OUT" --no-check
NODE_PATH="$PWD/core/node_modules" NODE_NO_WARNINGS=1 node benches/core/bench.js \
  "$OUT/x0x.linux-x64-gnu.node" "$OUT/x0x.wasip1.cjs" --json "$OUT/bench.json"
