#!/usr/bin/env bash
# Soak (issue 20; a benchmark, not CI: the 1-minute version is step d of cli/tests/scale_garage_db.sh): 3
# `x0x-dist serve --database` replicas on a 3-node Garage bucket and one PostgreSQL, nginx round-robin in front,
# for SOAK_SECS: 200 concurrent downloaders (`wrk -t2 -c200 --latency` through nginx, cycling over
# timestamp.json, the newest snapshot, a 1 MiB target and the package's JSON view) and one `x0x-dist publish`
# per second (through nginx). Reports requests, errors (non-2xx, socket errors, failed publishes), p50/p99
# latency and each replica's RSS sampled every 10 s (flat: the last sample against the one after a minute).
# Usage: benches/run.sh soak   (env: SOAK_SECS=600 CONNS=200 BIN=<x0x-dist> X0X_S3_ENV=<running cluster>
#                               OUT=benches/scale/results-soak.md)
# Needs: garage, postgresql, nginx, wrk (scripts/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$WS/benches/scale/lib.sh"
SOAK_SECS=${SOAK_SECS:-600} CONNS=${CONNS:-200}
OUT=${OUT:-benches/scale/results-soak.md}
scale_init soak
LOAD0=$(loadavg)
scale_garage
scale_pg
scale_repo x0x
scale_s3url soak
P=() RP=()
for i in 0 1 2; do
  scale_serve port_ --storage "$S3URL" --s3-endpoint "${EP[$i]}" --keys "$REPO/online" --database "$DB" \
    --replica-id "soak-$i"
  P+=("$port_") RP+=("$LAST_PID")
done
NP=$(port)
bash scripts/nginx-lb.sh start "$W/lb" "$NP" "127.0.0.1:${P[0]}" "127.0.0.1:${P[1]}" "127.0.0.1:${P[2]}" >/dev/null
LB=http://127.0.0.1:$NP
pub() { # pub VERSION SIZE: one publish through nginx
  local f=$W/f/$1/x0x.wasm32-wasip1.wasm
  mkdir -p "$(dirname "$f")"; python3 scripts/fake-build.py wasm32-wasip1 "$2" "$f"
  "$BIN" publish --server "$LB" --token "$TOKEN" --key "$W/pub.key" --package x0x --version "$1" "$f" >/dev/null
}
pub 1.0.0 $((1 << 20))
SHA=$(sha256sum "$W/f/1.0.0/x0x.wasm32-wasip1.wasm" | cut -d' ' -f1)
SNAP=$(curl -fsS "$LB/tuf/metadata/timestamp.json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signed"]["meta"]["snapshot.json"]["version"])')
cat >"$W/paths.lua" <<LUA
local paths = {"/tuf/metadata/timestamp.json", "/tuf/metadata/$SNAP.snapshot.json",
  "/tuf/targets/x0x/1.0.0/$SHA.x0x.wasm32-wasip1.wasm", "/api/v1/packages/x0x"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
for u in /tuf/metadata/timestamp.json "/tuf/metadata/$SNAP.snapshot.json" "/tuf/targets/x0x/1.0.0/$SHA.x0x.wasm32-wasip1.wasm" /api/v1/packages/x0x; do
  curl -fsS -o /dev/null "$LB$u"
done

echo "== soak: ${SOAK_SECS}s, $CONNS downloaders through nginx, one publish per second"
wrk -t2 -c"$CONNS" -d"${SOAK_SECS}s" --latency -s "$W/paths.lua" "$LB" >"$W/wrk.txt" 2>&1 &
WRK=$!
RSS=("" "" "") k=0 failed=0 t_end=$((SECONDS + SOAK_SECS)) next_rss=$SECONDS
while [ $SECONDS -lt $t_end ]; do
  if [ $SECONDS -ge $next_rss ]; then
    for i in 0 1 2; do RSS[i]+="$(rss_kib "${RP[$i]}") "; done
    next_rss=$((next_rss + 10))
  fi
  k=$((k + 1))
  t0=$(date +%s%N)
  pub "2.0.$k" 1024 2>>"$W/pub.err" || failed=$((failed + 1))
  left=$(( 1000 - ($(date +%s%N) - t0) / 1000000 ))
  [ "$left" -gt 0 ] && sleep "0.$(printf '%03d' "$left")"
done
wait "$WRK"
for i in 0 1 2; do RSS[i]+="$(rss_kib "${RP[$i]}") "; done
# Every publish that succeeded is in the final state: the package's newest version.
last=$(grep -c . <(curl -fsS "$LB/api/v1/packages/x0x" | grep -o "\"2\.0\.$k\"") || true)
LOAD1=$(loadavg)
cat "$W/wrk.txt"
reqs=$(awk '/requests in/ {print $1}' "$W/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$W/wrk.txt"); non2xx=${non2xx:-0}
sock=$(awk '/Socket errors/ {gsub(/,/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s}' "$W/wrk.txt"); sock=${sock:-0}
p50=$(awk '$1 == "50%" {print $2}' "$W/wrk.txt"); p99=$(awk '$1 == "99%" {print $2}' "$W/wrk.txt")
rps=$(wrk_rps <"$W/wrk.txt")
flat() { # first sample after a minute, last sample, growth
  read -r -a s <<<"$1"; local a=${s[6]:-${s[0]}} b=${s[-1]}
  awk -v a="$a" -v b="$b" 'BEGIN {printf "%.0f → %.0f MiB (%+.1f%%)", a/1024, b/1024, (b-a)*100/a}'
}
{
  echo "| Soak, ${SOAK_SECS} s | value |"
  echo "|---|---|"
  echo "| downloads (wrk -t2 -c$CONNS through nginx) | $reqs requests, $rps req/s |"
  echo "| errors | $non2xx non-2xx, $sock socket errors (wrk counts a response slower than 2 s as a timeout), $failed of $k publishes failed |"
  echo "| latency p50 / p99 | $p50 / $p99 |"
  echo "| last publish (2.0.$k) served through nginx at the end | $([ "$last" -gt 0 ] && echo yes || echo NO) |"
  for i in 0 1 2; do echo "| RSS replica $i (after 1 min → end) | $(flat "${RSS[$i]}") |"; done
  echo
  echo "Machine: $(machine); $(date -u +%F); load average before $LOAD0, after $LOAD1. RSS samples (KiB, every 10 s):"
  for i in 0 1 2; do echo "replica $i: ${RSS[$i]}"; done
} | tee "$OUT"
[ "$failed" = 0 ] && [ "$non2xx" = 0 ] && [ "$sock" = 0 ]
