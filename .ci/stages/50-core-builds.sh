#!/usr/bin/env bash
# The x0x core: Rust unit + property tests, every build of the matrix (host, wasm32-wasip1, wasm32-wasip1-threads,
# the cross targets),
# each checked in a real Node of its platform (or Mach-O inspection for macOS), the checked-in index.d.ts
# against the generated one, and the Node tests against the native and both WASM builds side by side.
# Builds land in dist/core (the directory other stages publish from).
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
cargo test -p x0x-core
cargo xtask build --targets all --out dist/core --require-checks
X0X_NATIVE=dist/core/x0x.linux-x64-gnu.node X0X_WASM=dist/core/x0x.wasip1.cjs X0X_WASM_THREADS=dist/core/x0x.wasi.cjs \
  NODE_PATH="$PWD/core/node_modules" node --test core/test/core.test.js
echo "core builds stage: $(( $(date +%s) - t0 ))s"
