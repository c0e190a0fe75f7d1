#!/usr/bin/env bash
# Publishing into a package role with many targets (issue 25, finding 5). For each size (VERSIONS × 10 platforms:
# 1000 → 10k targets, 5000 → 50k), seeds role v1 offline (`bench-repo --compact`, as `x0x-dist publish` writes
# it), starts the release server, then times RUNS publishes of one more release (one wasm file) with the release
# CLI, and reads the server's RSS before (VmRSS) and its peak after (VmHWM), and the role's size.
# Goal and results: BENCHMARKS.md ("Large roles"). Usage: benches/run.sh large-role [VERSIONS...] (env: RUNS=3)
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
release_build x0x-dist bench-repo
BIN=$(release_bin x0x-dist)
GEN=$(release_bin bench-repo)
RUNS=${RUNS:-3}
W=$(mktemp -d)
SP=
trap '[ -n "$SP" ] && kill $SP 2>/dev/null; rm -rf "$W"' EXIT
kib() { awk -v k="$1" '$1 == k":" {print int($2/1024)}' "/proc/$SP/status"; }
echo "| targets | role (compact) | publish, median of $RUNS | server RSS idle | server RSS peak |"
echo "|---|---|---|---|---|"
for VERSIONS in "${@:-1000 5000}"; do
  R=$W/r$VERSIONS
  "$BIN" init --repo "$R" >/dev/null
  "$BIN" keygen --out "$W/pub$VERSIONS.key" >/dev/null
  "$BIN" package add --repo "$R" x0x --publisher-key "$W/pub$VERSIONS.key.pub" >/dev/null
  (umask 077; "$BIN" token create --repo "$R" --package x0x >"$W/token")
  "$GEN" "$R" "$W/pub$VERSIONS.key" "$VERSIONS" --compact 2>/dev/null
  # 50k compact targets are ~15 MB: raise the 4 MiB default (the setting metadata.too_large names).
  printf '[limits]\nmax_metadata_bytes = 16777216\n' >"$W/server.toml"
  P=$(port)
  "$BIN" serve --repo "$R" --config "$W/server.toml" --listen "127.0.0.1:$P" --log warn &
  SP=$!
  until curl -sf "http://127.0.0.1:$P/healthz" >/dev/null; do sleep 0.1; done
  sleep 1  # the package views are built in the background at startup
  idle=$(kib VmRSS)
  times=()
  for i in $(seq "$RUNS"); do
    mkdir -p "$W/d$i"
    python3 scripts/fake-build.py wasm32-wasip1 4096 "$W/d$i/x0x.wasm32-wasip1.wasm"
    t0=$(date +%s.%N)
    "$BIN" publish --server "http://127.0.0.1:$P" --token-file "$W/token" --key "$W/pub$VERSIONS.key" \
      --package x0x --version "9999.0.$i" "$W/d$i/x0x.wasm32-wasip1.wasm" >/dev/null
    times+=("$(echo "$(date +%s.%N) - $t0" | bc)")
  done
  peak=$(kib VmHWM)
  role=$(ls -S "$R"/metadata/*.x0x.json | head -1)
  size=$(stat -c %s "$role")
  med=$(printf '%s\n' "${times[@]}" | median)
  printf '| %d | %.1f MB | %.2f s | %d MiB | %d MiB |\n' $((VERSIONS * 10)) "$(echo "$size / 1000000" | bc -l)" "$med" "$idle" "$peak"
  kill $SP; wait $SP 2>/dev/null || true; SP=
done
