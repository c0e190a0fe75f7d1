#!/usr/bin/env bash
# Scale-out benchmarks (issue 13; not run in CI): one `x0x-dist serve` replica on the S3 backend (a local 3-node
# Garage cluster, scripts/garage-cluster.sh) vs one replica on the local directory vs nginx serving that
# directory statically, all on 127.0.0.1, alternating, medians of ROUNDS:
#   1. 32 MiB target download: one `curl` stream (MB/s) and `wrk -t2 -c8 -d${DUR}s` (MB/s)
#   2. metadata req/s, `wrk -t2 -c32 -d${DUR}s`: /tuf/metadata/timestamp.json and the newest N.snapshot.json
#   3. publish latency: median of PUBLISHES `x0x-dist publish` runs (one 1 KiB file, new version each) to the
#      S3 replica and to the local one
# Usage: benches/run.sh scale      (env: ROUNDS=3 DUR=5 PUBLISHES=10 BIN=<x0x-dist> (default: a release build)
#                                    X0X_S3_ENV=<env of a running cluster> (default: starts one; GARAGE_BIN,
#                                    GARAGE_BASE_PORT as for garage-cluster.sh) OUT=benches/scale/results.md)
# Needs: nginx, wrk, curl, garage (scripts/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$WS/benches/scale/lib.sh"
ROUNDS=${ROUNDS:-3} DUR=${DUR:-5} PUBLISHES=${PUBLISHES:-10}
OUT=${OUT:-benches/scale/results.md}
scale_init scale
LOAD0=$(loadavg)
scale_garage

echo "== setup in $W"
scale_repo x0x
R=$REPO
mkdir -p "$W/dist"
python3 scripts/fake-build.py wasm32-wasip1 $((32 << 20)) "$W/dist/x0x.wasm32-wasip1.wasm"
scale_serve LP --repo "$R"
"$BIN" publish --server "http://127.0.0.1:$LP" --token "$TOKEN" --key "$W/pub.key" --package x0x --version 1.0.0 \
  "$W/dist/x0x.wasm32-wasip1.wasm" >/dev/null
# The same repository in the bucket; its replica is a leader too (its own store: never two leaders on one).
scale_s3url scale
scale_serve SP --storage "$S3URL" --s3-endpoint "${EP[0]}" --keys "$R/online"
SHA=$(sha256sum "$W/dist/x0x.wasm32-wasip1.wasm" | cut -d' ' -f1)
BIG="/tuf/targets/x0x/1.0.0/$SHA.x0x.wasm32-wasip1.wasm"
SNAP="/tuf/metadata/$(cd "$R/metadata" && ls -- *.snapshot.json | sort -n | tail -1)"

NP=$(port)
static_nginx "$W" "$NP" "$R"
for p in "$SP" "$LP" "$NP"; do
  for u in "$BIG" "$SNAP" /tuf/metadata/timestamp.json; do curl -fsS -o /dev/null "http://127.0.0.1:$p$u"; done
done
cmp <(curl -fsS "http://127.0.0.1:$SP$BIG") "$W/dist/x0x.wasm32-wasip1.wasm"
echo "big target: $BIG; snapshot: $SNAP"

declare -A X
names=(s3 local nginx)
declare -A PORT=([s3]=$SP [local]=$LP [nginx]=$NP)
for round in $(seq "$ROUNDS"); do
  for who in "${names[@]}"; do
    p=${PORT[$who]}
    for _ in 1 2 3; do
      X[curl_$who]+="$(curl -fsS -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$p$BIG" | awk '{printf "%.0f", $1/1048576}') "
    done
    X[wrk_$who]+="$(wrk -t2 -c8 -d"${DUR}s" "http://127.0.0.1:$p$BIG" | wrk_mbs) "
    X[ts_$who]+="$(wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:$p/tuf/metadata/timestamp.json" | wrk_rps) "
    X[snap_$who]+="$(wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:$p$SNAP" | wrk_rps) "
    echo "after round $round, $who: curl ${X[curl_$who]}MiB/s | wrk ${X[wrk_$who]}MB/s | timestamp ${X[ts_$who]}req/s | snapshot ${X[snap_$who]}req/s"
  done
done

echo "== publish latency ($PUBLISHES publishes of a 1 KiB file each)"
declare -A PUB=([s3]=$SP [local]=$LP)
for i in $(seq "$PUBLISHES"); do
  for who in s3 local; do
    d=$W/p-$who-$i; mkdir -p "$d"; python3 scripts/fake-build.py wasm32-wasip1 1024 "$d/x0x.wasm32-wasip1.wasm"
    v=2.$i.0; [ $who = local ] && v=3.$i.0
    t0=$(date +%s%N)
    "$BIN" publish --server "http://127.0.0.1:${PUB[$who]}" --token "$TOKEN" --key "$W/pub.key" --package x0x \
      --version "$v" "$d/x0x.wasm32-wasip1.wasm" >/dev/null
    X[pub_$who]+="$(( ($(date +%s%N) - t0) / 1000000 )) "
  done
done
echo "publish ms: s3 ${X[pub_s3]}| local ${X[pub_local]}"
LOAD1=$(loadavg)

m() { echo "${X[$1]}" | med | xargs printf "%.0f"; }
{
  echo "| Benchmark | S3 replica (Garage x3) | local replica | nginx static | S3 / local | S3 / nginx |"
  echo "|---|---|---|---|---|---|"
  echo "| 32 MiB target, one curl stream (MiB/s) | $(m curl_s3) | $(m curl_local) | $(m curl_nginx) | $(ratio "$(m curl_s3)" "$(m curl_local)")x | $(ratio "$(m curl_s3)" "$(m curl_nginx)")x |"
  echo "| 32 MiB target, wrk -t2 -c8 (MB/s) | $(m wrk_s3) | $(m wrk_local) | $(m wrk_nginx) | $(ratio "$(m wrk_s3)" "$(m wrk_local)")x | $(ratio "$(m wrk_s3)" "$(m wrk_nginx)")x |"
  echo "| timestamp.json, wrk -t2 -c32 (req/s) | $(m ts_s3) | $(m ts_local) | $(m ts_nginx) | $(ratio "$(m ts_s3)" "$(m ts_local)")x | $(ratio "$(m ts_s3)" "$(m ts_nginx)")x |"
  echo "| ${SNAP##*/}, wrk -t2 -c32 (req/s) | $(m snap_s3) | $(m snap_local) | $(m snap_nginx) | $(ratio "$(m snap_s3)" "$(m snap_local)")x | $(ratio "$(m snap_s3)" "$(m snap_nginx)")x |"
  echo "| publish latency, median of $PUBLISHES (ms) | $(m pub_s3) | $(m pub_local) | | $(ratio "$(m pub_s3)" "$(m pub_local)")x | |"
  echo
  echo "Machine: $(machine); $(date -u +%F); load average before $LOAD0, after $LOAD1."
  echo "Medians of $ROUNDS rounds (curl: 3 per round), \`wrk -d${DUR}s\`. All values: $(for k in "${!X[@]}"; do printf '%s: %s\n' "$k" "${X[$k]}"; done | sort | tr '\n' ';' | sed 's/ ;/; /g')"
} | tee "$OUT"
