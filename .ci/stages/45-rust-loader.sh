#!/usr/bin/env bash
# The Rust loader: library tests (one file per threat in loader/tests/, against a real signed repository on
# 127.0.0.1), the `x0x-dist fetch`/`doctor` end-to-end script against the real server, and the SHA-256
# throughput benchmark beside openssl (reported; a low ratio on a noisy machine warns, it does not fail).
# `benches/run.sh loader-rust-fetch` (needs a release build of the whole server, ~5 min here) is run by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deadline.sh 900 cargo test -q -p x0x-dist-loader
scripts/deadline.sh 600 bash loader/tests/cli-e2e.sh
scripts/deadline.sh 600 bash benches/run.sh loader-rust-sha256 || echo "warning: SHA-256 ratio below 0.9 in this run (see BENCHMARKS.md for the reference figure)"
