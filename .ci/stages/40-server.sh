#!/usr/bin/env bash
# Server (crates x0x-dist-server and x0x-dist: serve / token / publish): fmt, clippy, every server test
# including the slow and root-only ones (kill -9 crash recovery, full disk on a tmpfs) that
# `cargo test --workspace` skips, and hadolint on docker/Dockerfile. Bounded: ~3 min on 2 cores once the workspace is built.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Formatting of this area's files (the lint stage checks the whole workspace).
mine=(server/src/{config,error,files,metrics,openapi,publish,router,server,state,tokens}.rs cli/src/client.rs
      server/src/routes/{blobs,ops,packages,tuf}.rs server/src/storage/{mod,local}.rs
      cli/src/commands/{serve,token,publish}.rs benches/server/bench-repo.rs
      cli/tests/{serving,publishing,uploads,openapi,timestamp_refresh,cli_publish,shutdown,python_tuf,logging,crash_recovery,disk_full,replicas}.rs
      cli/tests/common/{mod,cli}.rs)
rustfmt --edition 2021 --check "${mine[@]}"
cargo clippy -p x0x-dist-repository -p x0x-dist-server -p x0x-dist --all-targets -- -D warnings
tests=(serving publishing uploads openapi timestamp_refresh cli_publish shutdown python_tuf logging crash_recovery disk_full replicas)
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
# Unit tests of the libraries the server is made of, then the integration tests (they live in x0x-dist).
scripts/deadline.sh 600 cargo test -p x0x-dist-repository -p x0x-dist-server --lib -- --include-ignored
scripts/deadline.sh 900 cargo test -p x0x-dist "${args[@]}" -- --include-ignored
HADOLINT=${X0X_TOOLCHAINS:-$PWD/.toolchains}/venv/bin/hadolint
"$HADOLINT" --config docker/hadolint.yaml docker/Dockerfile
echo "server stage ok"
