#!/usr/bin/env bash
# The one way to run a benchmark (figures and the commands that reproduce them: BENCHMARKS.md).
#   benches/run.sh --list                 the benchmarks, one a line
#   benches/run.sh --help                 this text, and each benchmark's command and smoke settings
#   benches/run.sh NAME [ARGS...]         run one (ARGS go to its script; its env knobs are in the script's header)
#   benches/run.sh --smoke NAME [ARGS...] run one with tiny rounds and sizes (checks it works end to end; its
#                                         figures mean nothing), writing results files under $SMOKE_OUT
# Each benchmark keeps its own script under benches/<area>/; this runner exports CARGO_TARGET_DIR (default
# target/), builds in release what the benchmark runs (benches/lib.sh release_build: the x0x-dist CLI, the
# programs of x0x-dist-benches), puts core/node_modules on NODE_PATH, and starts the script.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SMOKE_OUT=${SMOKE_OUT:-${TMPDIR:-/tmp}/x0x-bench-smoke}

# NAME | programs built first | smoke settings (VAR=value: env, the rest: args) | command | what it measures.
# In commands and smoke settings, @bin/PROGRAM is a release program (built first) and @python the venv's python.
BENCHES=(
  "server | x0x-dist bench-repo | ROUNDS=1 DUR=1 UPLOAD_MIB=64 OUT=@smoke/server.md | bash benches/server/run.sh | x0x-dist serve vs nginx: 32 MiB target, metadata, RSS, upload, resolve p99 (Server; ONLY=resolve: resolve rows only)"
  "server-resolve-ab | bench-repo | ROUNDS=1 DUR=1 @bin/x0x-dist @bin/x0x-dist | bash benches/server/resolve-ab.sh | resolve p99 of two server binaries side by side: OLD_BIN NEW_BIN (Server)"
  "large-role | x0x-dist bench-repo | RUNS=1 100 | bash benches/server/large-role.sh | publishing into a role of VERSIONS x 10 targets (default 1000 5000: 10k and 50k): time, server RSS (Large roles)"
  "scale | x0x-dist | ROUNDS=1 DUR=1 PUBLISHES=2 OUT=@smoke/scale.md | bash benches/scale/run.sh | S3 replica (3-node Garage) vs local replica vs nginx (Scale-out; needs garage)"
  "publish-db | x0x-dist | PUBLISHES=2 DUR=1 OUT=@smoke/publish-db.md | bash benches/scale/publish-db.sh | publish latency: local directory vs S3 single writer vs S3 + PostgreSQL coordinator; timestamp req/s (Scale-out; needs garage, postgresql)"
  "fleet | x0x-dist | PUBLISHERS=2 ROUNDS=1 DOWNLOADS=1 OUT=@smoke/fleet.md | bash benches/scale/fleet.sh | 3 replicas + PostgreSQL: commits/s of 3 replicas vs 1; 32 MiB through a replica vs from the engine directly (Scale-out; needs garage, postgresql)"
  "soak | x0x-dist | SOAK_SECS=15 CONNS=20 OUT=@smoke/soak.md | bash benches/scale/soak.sh | 3 replicas + PostgreSQL + nginx for SOAK_SECS (600): 200 downloaders, a publish per second: errors, p50/p99, RSS (Scale-out; needs garage, postgresql, nginx, wrk)"
  "mirror | x0x-dist | ROUNDS=1 MIB=4 OUT=@smoke/mirror.md | bash benches/mirror/run.sh | mirror sync vs curl, bundle export/import vs tar (Mirror and bundles)"
  "core | | ROUNDS=3 OUT=@smoke/core | bash benches/core/run.sh | core native vs WASM: operations and load (Core: native vs WASM; builds the core)"
  "core-variants | | ROUNDS=3 OUT=@smoke/variants | bash benches/core/variants.sh | WASM build variants vs the shipped build (Core: native vs WASM; builds four cores)"
  "core-threads | | ROUNDS=3 LOAD_RUNS=3 OUT=@smoke/threads | bash benches/core/threads.sh | native vs wasm32-wasip1 vs wasm32-wasip1-threads (Core: wasm32-wasip1-threads; builds the core)"
  "core-load | | dist/core --runs 3 --glue | node benches/core/load.js | load time of the core builds in DIR, fresh processes (Load time of the WASM builds)"
  "core-load-breakdown | | dist/core | node --no-warnings benches/core/load-breakdown.js | where a WASM load of DIR spends its time (Core: native vs WASM)"
  "loader-warm | | --runs 3 | node benches/loader/warm.js | warm require('x0x') vs napi-rs index.js, node, floor (Loader; needs dist/core)"
  "loader-warm-ab | | --a loader/js --b loader/js --runs 3 | node benches/loader/warm-ab.js | warm require('x0x') of two loader versions --a DIR --b DIR (Loader; needs dist/core)"
  "loader-platform-package | | --runs 3 | node benches/loader/platform-package.js | require('x0x') from a platform package vs napi-rs's (Loader; needs dist/core)"
  "loader-require | | --runs 3 | node benches/loader/require.js | warm/cold require, X0X_DIST_VERIFY=always, node SHA-256 (Loader; needs dist/core)"
  "loader-cold | x0x-dist | 1 | bash benches/loader/cold.sh | first require of a 32 MiB release vs npm install from Verdaccio (Loader; needs dist/core)"
  "loader-sha256 | | --rounds 1 --mib 16 | node benches/loader/sha256.js | SHA-256 of the JS loader's paths vs openssl speed (Loader: SHA-256 throughput (JS))"
  "loader-rust-sha256 | sha256-throughput | ROUNDS=1 MIB=32 RUNS=1 OPENSSL_SECONDS=1 | bash benches/loader-rust/sha256.sh | SHA-256 of the Rust loader's path vs openssl speed (Rust loader)"
  "loader-rust-fetch | x0x-dist | RUNS=3 | bash benches/loader-rust/fetch.sh | x0x-dist fetch of 32 MiB, cold and warm, vs curl + sha256sum (Rust loader)"
  "npm | x0x-dist | RUNS=1 ROUNDS=1 DUR=1 SIZE_MIB=1 OUT=@smoke/npm.md | bash benches/npm/run.sh | cold npm install x0x and abbreviated packument req/s: /npm/ vs Verdaccio (npm registry)"
  "manifests-verify | bench-verify | 50 | @bin/bench-verify | the full TUF chain of manifests/vectors/repo, ITERATIONS (Metadata verification)"
  "keys | bench-keys | SECONDS_EACH=0.2 OUT=@smoke/keys.md | bash benches/keys/run.sh | verify/s by key type (ed25519, ECDSA P-256/P-384, RSA-PSS): Rust, JS, openssl speed (Signature verification by key type)"
  "manifests-verify-python | | 20 | @python benches/manifests/python-tuf-verify.py | the peer: python-tuf's TrustedMetadataSet, ITERATIONS (Metadata verification)"
)

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }
# entry NAME: sets NAME BUILDS SMOKE CMD WHAT from the table, or fails.
entry() {
  local e n b s c w
  for e in "${BENCHES[@]}"; do
    IFS='|' read -r n b s c w <<<"$e"
    if [ "$(trim "$n")" = "$1" ]; then
      NAME=$1 BUILDS=$(trim "$b") SMOKE=$(trim "$s") CMD=$(trim "$c") WHAT=$(trim "$w")
      return 0
    fi
  done
  echo "benches/run.sh: no benchmark named '$1' (benches/run.sh --list)" >&2
  return 2
}
names() { local e; for e in "${BENCHES[@]}"; do trim "${e%%|*}"; done; }
list() {
  local n
  for n in $(names); do entry "$n"; printf '%-24s %s\n' "$n" "$WHAT"; done
}
help() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  echo
  local n
  for n in $(names); do
    entry "$n"
    printf '%s\n    %s\n    command: %s\n    builds: %s\n    smoke: %s\n' "$n" "$WHAT" "$CMD" "${BUILDS:--}" "$SMOKE"
  done
}
# expand WORD: @bin/PROGRAM, @python and @smoke placeholders.
expand() {
  case $1 in
    *@bin/*) echo "${1%%@bin/*}$(release_bin "${1#*@bin/}")" ;;
    @python) echo "${X0X_TOOLCHAINS:-$WS/.toolchains}/venv/bin/python" ;;
    *@smoke*) echo "${1//@smoke/$SMOKE_OUT}" ;;
    *) echo "$1" ;;
  esac
}

smoke=
case ${1:-} in
  "" | -h | --help) help; exit 0 ;;
  --list) list; exit 0 ;;
  --smoke) smoke=1; shift; [ $# -gt 0 ] || { echo "usage: benches/run.sh --smoke NAME [ARGS...]" >&2; exit 2; } ;;
esac
entry "$1"
shift

# What to build: the table's programs and any @bin/ program the command or the smoke settings name.
read -r -a builds <<<"$BUILDS"
read -r -a cmd <<<"$CMD"
words=("${cmd[@]}")
env_set=() smoke_args=()
if [ -n "$smoke" ]; then
  read -r -a sw <<<"$SMOKE"
  words+=("${sw[@]}")
  mkdir -p "$SMOKE_OUT"
  for w in "${sw[@]}"; do
    if [[ $w =~ ^[A-Z_][A-Z0-9_]*= ]]; then env_set+=("$(expand "$w")"); else smoke_args+=("$(expand "$w")"); fi
  done
fi
for w in "${words[@]}"; do [[ $w == *@bin/* && " ${builds[*]} " != *" ${w#*@bin/} "* ]] && builds+=("${w#*@bin/}"); done
if [ ${#builds[@]} -gt 0 ]; then release_build "${builds[@]}"; fi
run=()
for w in "${cmd[@]}"; do run+=("$(expand "$w")"); done
export NODE_PATH="$WS/core/node_modules${NODE_PATH:+:$NODE_PATH}"
echo "== $NAME: ${env_set[*]} ${run[*]} ${smoke_args[*]} $*" >&2
exec env "${env_set[@]}" "${run[@]}" "${smoke_args[@]}" "$@"
