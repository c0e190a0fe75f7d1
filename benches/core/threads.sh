#!/usr/bin/env bash
# Native vs wasm32-wasip1 vs wasm32-wasip1-threads (not part of CI, ~2 min after the builds): builds the three
# with `cargo xtask build`, then runs threads.js on them in one process, alternating, and load.js (load time).
# Results: BENCHMARKS.md, "Core: wasm32-wasip1-threads beside native and wasm32-wasip1".
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
OUT=${OUT:-dist/bench-threads}
cargo xtask build --targets host,wasm,wasm-threads --out "$OUT" --no-check
echo "machine: $(nproc) cores, $(uptime)"
NODE_PATH="$PWD/core/node_modules" NODE_NO_WARNINGS=1 node benches/core/threads.js \
  "$OUT/x0x.linux-x64-gnu.node" "$OUT/x0x.wasip1.cjs" "$OUT/x0x.wasi.cjs" --json "$OUT/threads.json" --rounds "${ROUNDS:-15}"
# Load time (issue 12: <= 60 ms): native, wasip1 and threads side by side, then where a load's CPU time goes.
NODE_PATH="$PWD/core/node_modules" node benches/core/load.js "$OUT" --runs "${LOAD_RUNS:-21}" --glue --json "$OUT/load.json"
NODE_PATH="$PWD/core/node_modules" node benches/core/load.js "$OUT" --runs "${LOAD_RUNS:-21}" --phases --json "$OUT/load-phases.json"
echo "machine: $(uptime)"
