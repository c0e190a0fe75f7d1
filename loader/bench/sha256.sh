#!/usr/bin/env bash
# SHA-256 throughput: the loader's Rust path (sha2, SHA-NI via cpufeatures) vs `openssl speed -evp sha256`
# (16 KiB blocks; `-elapsed` so openssl divides by wall-clock time as we do, not by its default CPU time, which
# flatters it on a loaded machine), interleaved 3 times; medians. Prints a Markdown row for BENCHMARKS.md and
# exits non-zero if the ratio is below 0.9.   Usage: loader/bench/sha256.sh   (CARGO_TARGET_DIR is honoured)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build -q --release -p x0x-dist-loader --example sha256_throughput
bin="${CARGO_TARGET_DIR:-target}/release/examples/sha256_throughput"
runs=()
for _ in 1 2 3; do
  r=$("$bin")
  # openssl's machine-readable line: +F:<n>:sha256:<16B>:<64B>:...:<16KiB> in bytes per second.
  o=$(openssl speed -elapsed -seconds 2 -mr -evp sha256 2>/dev/null | awk -F: '/^\+F:/ {print $NF}')
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
