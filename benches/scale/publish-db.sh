#!/usr/bin/env bash
# Publish latency with the commit coordinator (issue 20; not run in CI): one `x0x-dist serve` on a local
# directory (file lock), one on a 3-node Garage bucket without a database (single writer), and one on another
# prefix of that bucket with PostgreSQL (`--database`, scripts/pg-cluster.sh), all on 127.0.0.1. Alternating,
# PUBLISHES `x0x-dist publish` runs each (one 1 KiB file, new version each): medians and ratios to the directory.
# Also timestamp.json req/s (`wrk -t2 -c32`): with a database it is served from memory, from a check of the
# database at most 10 ms old (docs/coordinator.md, "Reads").
# Usage: benches/run.sh publish-db   (env: PUBLISHES=10 DUR=5 BIN=<x0x-dist> X0X_S3_ENV=<running cluster>
#                                     OUT=benches/scale/results-publish-db.md)
# Needs: garage, postgresql, wrk (scripts/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$WS/benches/scale/lib.sh"
PUBLISHES=${PUBLISHES:-10} DUR=${DUR:-5}
OUT=${OUT:-benches/scale/results-publish-db.md}
scale_init pubdb
LOAD0=$(loadavg)
scale_garage
scale_pg
scale_repo x0x
R=$REPO
scale_s3url pub-a; S1=$S3URL
scale_s3url pub-b; S2=$S3URL
scale_serve LP --repo "$R"
scale_serve SP --storage "$S1" --s3-endpoint "${EP[0]}" --keys "$R/online"
scale_serve DP --storage "$S2" --s3-endpoint "${EP[0]}" --keys "$R/online" --database "$DB"

declare -A X PORT=([local]=$LP [s3]=$SP [s3db]=$DP) V=([local]=1 [s3]=2 [s3db]=3)
for i in $(seq "$PUBLISHES"); do
  for who in local s3 s3db; do
    d=$W/p-$who-$i; mkdir -p "$d"; python3 scripts/fake-build.py wasm32-wasip1 1024 "$d/x0x.wasm32-wasip1.wasm"
    t0=$(date +%s%N)
    "$BIN" publish --server "http://127.0.0.1:${PORT[$who]}" --token "$TOKEN" --key "$W/pub.key" --package x0x \
      --version "${V[$who]}.$i.0" "$d/x0x.wasm32-wasip1.wasm" >/dev/null
    X[pub_$who]+="$(( ($(date +%s%N) - t0) / 1000000 )) "
  done
done
for who in local s3 s3db; do
  X[ts_$who]="$(wrk -t2 -c32 -d"${DUR}s" "http://127.0.0.1:${PORT[$who]}/tuf/metadata/timestamp.json" | wrk_rps)"
done
echo "publish ms: local ${X[pub_local]}| s3 ${X[pub_s3]}| s3+db ${X[pub_s3db]}"
LOAD1=$(loadavg)
m() { echo "${X[$1]}" | med | xargs printf "%.0f"; }
{
  echo "| Benchmark | local directory | S3 (Garage x3), single writer | S3 + PostgreSQL | S3 / local | S3+PG / local |"
  echo "|---|---|---|---|---|---|"
  echo "| publish latency, median of $PUBLISHES (ms) | $(m pub_local) | $(m pub_s3) | $(m pub_s3db) | $(ratio "$(m pub_s3)" "$(m pub_local)")x | $(ratio "$(m pub_s3db)" "$(m pub_local)")x |"
  echo "| timestamp.json, wrk -t2 -c32 (req/s) | $(m ts_local) | $(m ts_s3) | $(m ts_s3db) | $(ratio "$(m ts_s3)" "$(m ts_local)")x | $(ratio "$(m ts_s3db)" "$(m ts_local)")x |"
  echo
  echo "Machine: $(machine); $(date -u +%F); load average before $LOAD0, after $LOAD1. Publish: the whole"
  echo "\`x0x-dist publish\` process (TUF refresh, upload, sign, commit). All values: $(for k in "${!X[@]}"; do printf '%s: %s\n' "$k" "${X[$k]}"; done | sort | tr '\n' ';' | sed 's/ ;/; /g')"
} | tee "$OUT"
