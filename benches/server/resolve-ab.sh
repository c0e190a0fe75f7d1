#!/usr/bin/env bash
# resolve p99: two server binaries side by side on the same repository (1,000 versions x 10 targets),
# alternating, ROUNDS x {plain, Accept-Encoding: gzip} x {1 client, 32 clients} `wrk --latency -d${DUR}s`.
# Used to tell the server's share of the client-side p99 from the machine's (BENCHMARKS.md, Server).
# Usage: benches/run.sh server-resolve-ab OLD_BIN NEW_BIN     (env: ROUNDS=3 DUR=5 CARGO_TARGET_DIR)
#   e.g. build the old commit's release binary, copy it aside, then compare with the current one.
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2")
. "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}
release_build bench-repo
GEN=$(release_bin bench-repo)
W=$(mktemp -d /tmp/x0x-resolve-ab.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
"$NEW" init --repo "$W/r" >/dev/null
"$NEW" keygen --out "$W/pub.key" >/dev/null
"$NEW" package add --repo "$W/r" x0x --publisher-key "$W/pub.key.pub" >/dev/null
"$GEN" "$W/r" "$W/pub.key" 1000
RQ="/api/v1/packages/x0x/resolve?range=%5E5&target=x86_64-unknown-linux-gnu"
PO=$(port); "$OLD" serve --repo "$W/r" --listen "127.0.0.1:$PO" --log warn 2>/dev/null & PIDS+=($!)
PN=$(port); "$NEW" serve --repo "$W/r" --listen "127.0.0.1:$PN" --log warn 2>/dev/null & PIDS+=($!)
wait_port "$PO"; wait_port "$PN"
curl -fsS -o /dev/null "http://127.0.0.1:$PO$RQ"; curl -fsS -o /dev/null "http://127.0.0.1:$PN$RQ"
declare -A P
echo "load before: $(loadavg)"
for r in $(seq "$ROUNDS"); do
  for who in old new; do
    p=$PO; [ $who = new ] && p=$PN
    for h in plain gzip; do
      H="X-Plain: 1"; [ $h = gzip ] && H="Accept-Encoding: gzip"
      for c in 1 32; do
        t=1; [ $c = 32 ] && t=2
        o=$(wrk -t$t -c$c -d"${DUR}s" --latency -H "$H" "http://127.0.0.1:$p$RQ")
        P[$who $h ${c}c]+="$(echo "$o" | awk '/ 99%/ {print $2}')/$(echo "$o" | awk '/Requests\/sec/ {printf "%.0f", $2}') "
      done
    done
  done
done
echo "load after: $(loadavg)"
echo "p99/req/s per round:"
for k in "${!P[@]}"; do echo "  $k: ${P[$k]}"; done | sort
