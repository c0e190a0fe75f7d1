#!/usr/bin/env bash
# All Rust tests of the workspace. The PKCS#11 tests (cli/tests/pkcs11.rs) need SoftHSM2 and pkcs11-tool
# (scripts/setup.d/35-softhsm.sh): with CI=true they fail, not skip, when those are missing.
set -euo pipefail
# --no-fail-fast: every failing test binary is reported, not only the first.
cargo test --workspace --no-fail-fast
