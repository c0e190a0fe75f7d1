#!/usr/bin/env bash
# All Rust tests of the workspace.
set -euo pipefail
cargo test --workspace
