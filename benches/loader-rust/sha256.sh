#!/usr/bin/env bash
# SHA-256 throughput: the loader's Rust path (sha2, SHA-NI via cpufeatures; the sha256-throughput program) vs
# `openssl speed -evp sha256` (16 KiB blocks; `-elapsed` so openssl divides by wall-clock time as we do, not by
# its default CPU time, which flatters it on a loaded machine), interleaved ROUNDS times; medians. Prints a
# Markdown row for BENCHMARKS.md and exits non-zero if the ratio is below 0.9.
# Usage: benches/run.sh loader-rust-sha256   (env: ROUNDS=3; MIB=256 RUNS=5: sha256-throughput's buffer and runs;
#                                            OPENSSL_SECONDS=2; CARGO_TARGET_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-3} MIB=${MIB:-256} RUNS=${RUNS:-5} OPENSSL_SECONDS=${OPENSSL_SECONDS:-2}
release_build sha256-throughput
bin=$(release_bin sha256-throughput)
runs=()
for _ in $(seq "$ROUNDS"); do
  r=$("$bin" "$MIB" "$RUNS")
  # openssl's machine-readable line: +F:<n>:sha256:<16B>:<64B>:...:<16KiB> in bytes per second.
  o=$(openssl speed -elapsed -seconds "$OPENSSL_SECONDS" -mr -evp sha256 2>/dev/null | awk -F: '/^\+F:/ {print $NF}')
  runs+=("$r|$o")
done
python3 - "${runs[@]}" <<'PY'
import json, sys, datetime, platform, statistics as st
rs = [json.loads(a.split("|")[0]) for a in sys.argv[1:]]
os_ = [float(a.split("|")[1]) / 1e9 for a in sys.argv[1:]]
m = lambda k: st.median(r[k] for r in rs)
o = st.median(os_)
best = m("streamed_1mib_gbps")
ratio = best / o
print(f"sha2 whole {m('whole_buffer_gbps'):.2f} GB/s, streamed 1 MiB {best:.2f} GB/s, from file {m('file_gbps'):.2f} GB/s; "
      f"ring streamed {m('ring_streamed_1mib_gbps'):.2f} GB/s; openssl {o:.2f} GB/s; ratio {ratio:.2f}")
print(f"| Loader SHA-256, Rust (sha2, streamed 1 MiB) | `openssl speed -evp sha256` (16 KiB) | {best:.2f} vs {o:.2f} GB/s "
      f"(file path {m('file_gbps'):.2f}, ring {m('ring_streamed_1mib_gbps'):.2f}) | {ratio:.2f}x | {platform.machine()}, 2 cores | {datetime.date.today()} |")
sys.exit(0 if ratio >= 0.9 else 1)
PY
