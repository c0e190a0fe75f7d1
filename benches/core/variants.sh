#!/usr/bin/env bash
# WASM build variants measured against the shipped configuration (not part of CI; ~5 min): the shipped build,
# +simd128, a fat-LTO/codegen-units=1 release profile, and binaryen's wasm-opt -O3 on the shipped module
# (binaryen from npm, pinned, into a temporary directory). Results: BENCHMARKS.md, "Core: native vs WASM".
#   benches/run.sh core-variants
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
OUT=${OUT:-dist/bench-variants}
SEED_FLAGS="-C target-feature=+bulk-memory,+mutable-globals,+reference-types -C link-arg=--initial-memory=262144000"
mkdir -p "$OUT"
cargo xtask build --targets host,wasm --out "$OUT/shipped" --no-check
CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="$SEED_FLAGS -C target-feature=+simd128" \
  cargo xtask build --targets wasm --out "$OUT/simd128" --no-check
CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  cargo xtask build --targets wasm --out "$OUT/fat-lto" --no-check
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
npm install --prefix "$T" --no-audit --no-fund --silent binaryen@132.0.0
mkdir -p "$OUT/wasm-opt"
cp "$OUT/shipped/x0x.wasip1.cjs" "$OUT/wasm-opt/"
"$T/node_modules/.bin/wasm-opt" -O3 --enable-bulk-memory --enable-mutable-globals --enable-reference-types \
  --enable-sign-ext --enable-nontrapping-float-to-int --enable-multivalue \
  "$OUT/shipped/x0x.wasm32-wasip1.wasm" -o "$OUT/wasm-opt/x0x.wasm32-wasip1.wasm"
ls -l "$OUT"/*/x0x.wasm32-wasip1.wasm
uptime
NODE_PATH="$PWD/core/node_modules" NODE_NO_WARNINGS=1 node benches/core/variants.js "$OUT/shipped/x0x.linux-x64-gnu.node" \
  "shipped=$OUT/shipped/x0x.wasip1.cjs" "simd128=$OUT/simd128/x0x.wasip1.cjs" \
  "fat-lto=$OUT/fat-lto/x0x.wasip1.cjs" "wasm-opt-O3=$OUT/wasm-opt/x0x.wasip1.cjs" --rounds "${ROUNDS:-21}"
