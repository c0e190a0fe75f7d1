#!/usr/bin/env bash
# `x0x-dist fetch` of a 32 MiB release from the real server on 127.0.0.1: cold (empty cache: TUF refresh,
# download, streaming SHA-256, atomic rename, copy to --out) and warm (cached: TUF refresh, re-hash, copy),
# beside the peer `curl -o` + `sha256sum` of the same URL (download and hash, no verification of anything).
# Medians of RUNS (default 15) hyperfine runs. Prints Markdown rows for BENCHMARKS.md.
# Usage: benches/run.sh loader-rust-fetch      (env: RUNS=15 CARGO_TARGET_DIR)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
RUNS=${RUNS:-15}
release_build x0x-dist
B=$(realpath "$(release_bin x0x-dist)")
W=$(mktemp -d); PID=
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
"$B" init --repo "$W/repo" >/dev/null
"$B" keygen --out "$W/pub.key" >/dev/null 2>&1
"$B" package add --repo "$W/repo" x0x --publisher-key "$W/pub.key.pub" >/dev/null
TOKEN=$("$B" token create --repo "$W/repo" --package x0x 2>/dev/null)
PORT=$(port)
URL=http://127.0.0.1:$PORT
"$B" serve --repo "$W/repo" --listen "127.0.0.1:$PORT" >serve.log 2>&1 & PID=$!
wait_port "$PORT"
mkdir rel && python3 "$WS/scripts/fake-build.py" wasm32-wasip1 $((32 * 1024 * 1024)) rel/x0x.wasm32-wasip1.wasm
"$B" publish --server "$URL" --token "$TOKEN" --key "$W/pub.key" --package x0x --version 1.0.0 rel/* >/dev/null
ROOT="$W/repo/metadata/1.root.json"
BLOB_URL="$URL/tuf/targets/x0x/1.0.0/$(ls repo/targets/x0x/1.0.0/ | head -1)"
F="$B fetch --server $URL --root $ROOT --package x0x --version 1.0.0 --target wasm32-wasip1"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json h.json \
  -n cold --prepare "rm -rf $W/cold $W/out1" "$F --cache $W/cold --out $W/out1" \
  -n warm --prepare true "$F --cache $W/warm --out $W/out2" \
  -n curl+sha256sum --prepare "rm -f $W/c.bin" "bash -c 'curl -s -o $W/c.bin $BLOB_URL && sha256sum $W/c.bin'" >/dev/null
python3 - h.json <<'PY'
import json, sys, datetime, platform
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = {k: v["median"] for k, v in r.items()}
mib = 32
for k in ("cold", "warm", "curl+sha256sum"):
    print(f"{k}: median {med[k]*1000:.1f} ms ({mib/med[k]:.0f} MiB/s)")
d = datetime.date.today()
print(f"| `x0x-dist fetch` 32 MiB, cold cache (TUF refresh + download + SHA-256 + rename + copy) | `curl -o` + `sha256sum` | {med['cold']*1000:.0f} ms vs {med['curl+sha256sum']*1000:.0f} ms | {med['curl+sha256sum']/med['cold']:.2f}x | {platform.machine()}, 2 cores, loopback | {d} |")
print(f"| `x0x-dist fetch` 32 MiB, warm cache (TUF refresh + re-hash + copy) | `curl -o` + `sha256sum` | {med['warm']*1000:.0f} ms vs {med['curl+sha256sum']*1000:.0f} ms | {med['curl+sha256sum']/med['warm']:.2f}x | {platform.machine()}, 2 cores, loopback | {d} |")
PY
