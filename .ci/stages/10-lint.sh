#!/usr/bin/env bash
# Formatting, clippy (-D warnings), workflow lint.
set -euo pipefail
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
.toolchains/venv/bin/actionlint .github/workflows/*.yml
