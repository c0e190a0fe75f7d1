#!/usr/bin/env bash
# Server benchmarks (not run in CI). Compares `x0x-dist serve` with nginx (Debian, sendfile on, access_log off,
# 2 workers, its own -c config) serving the same repository directory on 127.0.0.1, alternating, medians of
# ROUNDS runs of `wrk -t2 -c32 -d${DUR}s`:
#   1. a 32 MiB target (hash-prefixed, immutable; streamed, and from the memory cache) goal >= 1.0x nginx
#   2. a ~2 KiB metadata file (versioned, immutable)          goal >= 0.8x nginx req/s
#   3. server RSS while 64 clients download the 32 MiB target
#   4. server RSS growth during a 1 GiB upload (UPLOAD_MIB)    goal <= 32 MiB
#   5. resolve latency with 1,000 versions x 10 targets      goal p99 < 5 ms (wrk --latency, -c1 and -c32,
#      unpinned and pinned with taskset: server on CPU 0, wrk on CPU 1)
# Usage: benches/run.sh server            (env: ROUNDS=3 DUR=10 UPLOAD_MIB=1024 OUT=benches/server/results.md)
#        ONLY=resolve benches/run.sh server   (part 5 alone; writes benches/server/results-resolve.md)
# Needs: nginx, wrk, curl (scripts/setup.sh installs them).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ROUNDS=${ROUNDS:-3}
DUR=${DUR:-10}
UPLOAD_MIB=${UPLOAD_MIB:-1024}
OUT=${OUT:-benches/server/results.md}
release_build x0x-dist bench-repo
BIN=$(release_bin x0x-dist)
GEN=$(release_bin bench-repo)
W=$(mktemp -d /tmp/x0x-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# 5. resolve: ROUNDS alternating runs of `wrk --latency` at 1 and 32 clients, unpinned and pinned (server on
# CPU 0, wrk on CPU 1 with taskset: the two never compete for a core, but the server's tokio workers share one);
# medians of p99 and req/s; plus the server's own histogram (handler time, no client or scheduler noise).
resolve_bench() {
  R2=$W/repo2
  "$BIN" init --repo "$R2" >/dev/null
  "$BIN" keygen --out "$W/pub2.key" >/dev/null
  "$BIN" package add --repo "$R2" x0x --publisher-key "$W/pub2.key.pub" >/dev/null
  "$GEN" "$R2" "$W/pub2.key" 1000
  SP=$(port)
  "$BIN" serve --repo "$R2" --listen "127.0.0.1:$SP" --log warn & SPID=$!; PIDS+=("$SPID")
  wait_port "$SP"
  RURL="http://127.0.0.1:$SP/api/v1/packages/x0x/resolve?range=%5E5&target=x86_64-unknown-linux-gnu"
  curl -fsS "$RURL" | grep -q '"version":"5.99.0"'
  p99() { awk '/ 99%/ {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}'; }
  pin_server() { for t in /proc/"$SPID"/task/*; do taskset -pc "$1" "$(basename "$t")" >/dev/null; done; }
  RLOAD0=$(loadavg)
  declare -gA RS
  for round in $(seq "$ROUNDS"); do
    for mode in free pinned; do
      pre=()
      if [ $mode = pinned ]; then pin_server 0; pre=(taskset -c 1); else pin_server 0-$(( $(nproc) - 1 )); fi
      for c in 1 32; do
        t=1; [ $c = 32 ] && t=2
        out=$("${pre[@]}" wrk -t$t -c$c -d"${DUR}s" --latency "$RURL")
        RS[p99_${mode}_$c]+="$(echo "$out" | p99) "
        RS[rps_${mode}_$c]+="$(echo "$out" | wrk_rps) "
      done
    done
    echo "round $round: p99 1c ${RS[p99_free_1]}/ 32c ${RS[p99_free_32]}| pinned 1c ${RS[p99_pinned_1]}/ 32c ${RS[p99_pinned_32]}"
  done
  RLOAD1=$(loadavg)
  med() { echo "${RS[$1]}" | tr ' ' '\n' | grep . | median; }
  # Server-side view: the `api` latency histogram's bucket holding the 99th percentile.
  srv_p99=$(curl -fsS "http://127.0.0.1:$SP/metrics" | awk -F'[{}" ]+' '/^x0x_dist_http_request_duration_seconds_bucket\{route="api"/ {
    le=$5; n=$NF; les[++k]=le; cnt[k]=n } END { tot=cnt[k]; for (i=1;i<=k;i++) if (cnt[i] >= 0.99*tot) { print (les[i]=="+Inf" ? "inf" : les[i]*1000); exit } }')
  RESOLVE_ROWS="| resolve, 1,000 versions x 10 targets, 1 client: p99 / req/s | $(med p99_free_1) ms / $(med rps_free_1) | | | p99 < 5 ms |
| resolve, same, 32 clients: p99 / req/s | $(med p99_free_32) ms / $(med rps_free_32) | | | p99 < 5 ms |
| resolve, pinned (server CPU 0, wrk CPU 1), 1 client: p99 / req/s | $(med p99_pinned_1) ms / $(med rps_pinned_1) | | | |
| resolve, pinned, 32 clients: p99 / req/s | $(med p99_pinned_32) ms / $(med rps_pinned_32) | | | |
| resolve, server-side p99 (handler time, histogram bucket) | <= ${srv_p99} ms | | | p99 < 5 ms |"
  RESOLVE_NOTE="Resolve: medians of $ROUNDS rounds of \`wrk --latency -d${DUR}s\` (-t1 -c1, -t2 -c32); load average before $RLOAD0, after $RLOAD1. p99 per round: 1c ${RS[p99_free_1]}/ 32c ${RS[p99_free_32]}/ pinned 1c ${RS[p99_pinned_1]}/ pinned 32c ${RS[p99_pinned_32]}(ms)."
}

if [ "${ONLY:-}" = resolve ]; then
  resolve_bench
  {
    echo "| Benchmark | x0x-dist | nginx 1.22 | ratio | goal |"
    echo "|---|---|---|---|---|"
    echo "$RESOLVE_ROWS"
    echo
    echo "Machine: $(machine); $(date -u +%F)."
    echo "$RESOLVE_NOTE"
  } | tee "${OUT%.md}-resolve.md"
  exit 0
fi

echo "== setup in $W"
REPO=$W/repo
"$BIN" init --repo "$REPO" >/dev/null
"$BIN" keygen --out "$W/pub.key" >/dev/null
"$BIN" package add --repo "$REPO" x0x --publisher-key "$W/pub.key.pub" >/dev/null
TOKEN=$("$BIN" token create --repo "$REPO" --package x0x 2>/dev/null)
mkdir -p "$W/dist"
python3 scripts/fake-build.py wasm32-wasip1 $((32 << 20)) "$W/dist/x0x.wasm32-wasip1.wasm"
SP=$(port)
"$BIN" serve --repo "$REPO" --listen "127.0.0.1:$SP" --log warn & SPID=$!; PIDS+=("$SPID")
wait_port "$SP"
"$BIN" publish --server "http://127.0.0.1:$SP" --token "$TOKEN" --key "$W/pub.key" --package x0x --version 1.0.0 "$W/dist/x0x.wasm32-wasip1.wasm" >/dev/null
SHA=$(sha256sum "$W/dist/x0x.wasm32-wasip1.wasm" | cut -d' ' -f1)
BIG="/tuf/targets/x0x/1.0.0/$SHA.x0x.wasm32-wasip1.wasm"
# The metadata file closest to 2 KiB.
META=$(cd "$REPO/metadata" && for f in [0-9]*.json; do echo "$(( $(stat -c %s "$f") - 2048 )) $f"; done | awk '{d=$1<0?-$1:$1; print d, $2}' | sort -n | head -1 | cut -d' ' -f2)
META_SIZE=$(stat -c %s "$REPO/metadata/$META")
echo "big target: $BIG; metadata: $META ($META_SIZE bytes)"

NP=$(port)
static_nginx "$W" "$NP" "$REPO"
curl -fsS -o /dev/null "http://127.0.0.1:$NP$BIG" && curl -fsS -o /dev/null "http://127.0.0.1:$SP$BIG"
cmp <(curl -fsS "http://127.0.0.1:$NP/tuf/metadata/$META") <(curl -fsS "http://127.0.0.1:$SP/tuf/metadata/$META")

declare -A R
for round in $(seq "$ROUNDS"); do
  for who in x0x nginx; do
    p=$SP; [ $who = nginx ] && p=$NP
    out=$(wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:$p$BIG")
    R[big_$who]+="$(echo "$out" | wrk_mbs) "
    out=$(wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:$p/tuf/metadata/$META")
    R[meta_$who]+="$(echo "$out" | wrk_rps) "
    echo "round $round $who: big ${R[big_$who]}MB/s | meta ${R[meta_$who]}req/s"
  done
done
big_x=$(echo ${R[big_x0x]} | tr ' ' '\n' | median); big_n=$(echo ${R[big_nginx]} | tr ' ' '\n' | median)
meta_x=$(echo ${R[meta_x0x]} | tr ' ' '\n' | median); meta_n=$(echo ${R[meta_nginx]} | tr ' ' '\n' | median)

echo "== 32 MiB target from the in-memory cache ([cache] max_file_bytes = 64 MiB; default 1 MiB streams it)"
NC=$(port)
printf '[cache]\nmax_file_bytes = 67108864\n' > "$W/nocache.toml"
"$BIN" serve --repo "$REPO" --listen "127.0.0.1:$NC" --log warn --config "$W/nocache.toml" & NCPID=$!; PIDS+=("$NCPID")
wait_port "$NC"
for round in $(seq "$ROUNDS"); do
  R[stream_x0x]+="$(wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:$NC$BIG" | wrk_mbs) "
done
stream_x=$(echo ${R[stream_x0x]} | tr ' ' '\n' | median)
kill "$NCPID"; wait "$NCPID" 2>/dev/null || true

echo "== RSS while 64 clients download 32 MiB"
base=$(rss_kb "$SPID"); peak=$base
wrk -t2 -c64 -d"${DUR}s" "http://127.0.0.1:$SP$BIG" > /dev/null & WP=$!
while kill -0 $WP 2>/dev/null; do r=$(rss_kb "$SPID"); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2; done
rss64=$((peak / 1024))

echo "== RSS growth on a $UPLOAD_MIB MiB upload"
kill "$SPID"; wait "$SPID" 2>/dev/null || true
"$BIN" serve --repo "$REPO" --listen "127.0.0.1:$SP" --log warn --max-blob-bytes $(( (UPLOAD_MIB + 1024) << 20 )) & SPID=$!; PIDS+=("$SPID")
wait_port "$SP"
head -c $((UPLOAD_MIB << 20)) /dev/urandom > "$W/big.bin"
GSHA=$(sha256sum "$W/big.bin" | cut -d' ' -f1)
before=$(rss_kb "$SPID"); upeak=$before
t0=$(date +%s.%N)
curl -fsS -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -T "$W/big.bin" "http://127.0.0.1:$SP/api/v1/blobs/sha256/$GSHA" & CP=$!
while kill -0 $CP 2>/dev/null; do r=$(rss_kb "$SPID"); [ "$r" -gt "$upeak" ] && upeak=$r; sleep 0.1; done
wait $CP
t1=$(date +%s.%N)
up_growth=$(( (upeak - before) / 1024 ))
up_rate=$(python3 -c "print(round($UPLOAD_MIB/($t1-$t0)))")
rm -f "$W/big.bin"

echo "== resolve with 1,000 versions x 10 targets"
kill "$SPID"; wait "$SPID" 2>/dev/null || true
resolve_bench
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
{
  echo "| Benchmark | x0x-dist | nginx 1.22 | ratio | goal |"
  echo "|---|---|---|---|---|"
  echo "| 32 MiB target, \`wrk -t2 -c32 -d${DUR}s\`, median of $ROUNDS | ${big_x} MB/s | ${big_n} MB/s | $(ratio "$big_x" "$big_n")x | >= 1.0x |"
  echo "| 32 MiB target from the in-memory cache (max_file_bytes = 64 MiB), median of $ROUNDS | ${stream_x} MB/s | ${big_n} MB/s | $(ratio "$stream_x" "$big_n")x | |"
  echo "| $META_SIZE B metadata (\`$META\`), same | ${meta_x} req/s | ${meta_n} req/s | $(ratio "$meta_x" "$meta_n")x | >= 0.8x |"
  echo "| Server RSS peak, 64 clients downloading 32 MiB | ${rss64} MiB | | | |"
  up_size="$UPLOAD_MIB MiB"; [ "$UPLOAD_MIB" = 1024 ] && up_size="1 GiB"
  echo "| Server RSS growth during a $up_size upload (${up_rate} MiB/s) | ${up_growth} MiB | | | <= 32 MiB |"
  echo "$RESOLVE_ROWS"
  echo
  echo "Machine: $(machine); $(date -u +%F)."
  echo "Runs per cell: x0x: ${R[big_x0x]}/ ${R[meta_x0x]}; nginx: ${R[big_nginx]}/ ${R[meta_nginx]}"
  echo "$RESOLVE_NOTE"
} | tee "$OUT"
