#!/usr/bin/env bash
# Toolchains for `cargo xtask build --targets all` and its load checks (cross linkers, Debian rustc-web for
# build-std, zig, the wasm32-wasip1 and wasm32-wasip1-threads sysroots, foreign Node.js runtimes, qemu-user, Wine). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/toolchains.sh
