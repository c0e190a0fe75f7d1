#!/usr/bin/env bash
# All Rust tests of the workspace.
set -euo pipefail
# --no-fail-fast: every failing test binary is reported, not only the first.
cargo test --workspace --no-fail-fast
