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
      server/tests/{serving,publishing,uploads,openapi,timestamp_refresh,logging,disk_full,replicas,error_bodies}.rs server/src/connections.rs
      cli/tests/{cli_publish,shutdown,python_tuf,crash_recovery,connection_limits,large_role,terminal_escapes,token_file}.rs
      test-support/src/{fixture,cli,live}.rs)
rustfmt --edition 2021 --check "${mine[@]}"
cargo clippy -p x0x-dist-repository -p x0x-dist-server -p x0x-dist -p x0x-dist-test-support --all-targets -- -D warnings
args() { local a=(); for t in "$@"; do a+=(--test "$t"); done; echo "${a[@]}"; }
# Unit tests of the libraries the server is made of, then the integration tests: the in-process server's (in
# x0x-dist-server), then the ones that run the x0x-dist binary (in x0x-dist).
scripts/deadline.sh 600 cargo test -p x0x-dist-repository -p x0x-dist-server --lib -- --include-ignored
# shellcheck disable=SC2046 # word splitting of the --test list is intended
scripts/deadline.sh 900 cargo test -p x0x-dist-server $(args serving publishing uploads openapi timestamp_refresh logging disk_full replicas error_bodies) -- --include-ignored
# shellcheck disable=SC2046
scripts/deadline.sh 900 cargo test -p x0x-dist $(args cli_publish shutdown python_tuf crash_recovery connection_limits large_role terminal_escapes token_file trusted_publishing oidc_exchange) -- --include-ignored
# The web UI's release lifecycle in headless chromium (scripts/setup.d/68-browser.sh); screenshots under
# $CARGO_TARGET_DIR/ui-screenshots (X0X_UI_ARTIFACTS), kept as artifacts.
scripts/deadline.sh 300 bash server/tests/ui_browser.sh
HADOLINT=${X0X_TOOLCHAINS:-$PWD/.toolchains}/venv/bin/hadolint
"$HADOLINT" --config docker/hadolint.yaml docker/Dockerfile
python3 docker/scale-out/check.py # compose.yaml: YAML, the scale-out profile's structure (+ docker compose config)
echo "server stage ok"
