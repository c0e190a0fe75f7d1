#!/usr/bin/env bash
# Publish latency with the commit coordinator (issue 20; not run in CI): one `x0x-dist serve` on a local
# directory (file lock), one on a 3-node Garage bucket without a database (single writer), and one on another
# prefix of that bucket with PostgreSQL (`--database`, scripts/pg-cluster.sh), all on 127.0.0.1. Alternating,
# PUBLISHES `x0x-dist publish` runs each (one 1 KiB file, new version each): medians and ratios to the directory.
# Also timestamp.json req/s (`wrk -t2 -c32`): with a database every request checks for a newer timestamp.
# Usage: benches/run.sh publish-db   (env: PUBLISHES=10 DUR=5 BIN=<x0x-dist> X0X_S3_ENV=<running cluster>
#                                     OUT=benches/scale/results-publish-db.md)
# Needs: garage, postgresql, wrk (scripts/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
PUBLISHES=${PUBLISHES:-10} DUR=${DUR:-5}
OUT=${OUT:-benches/scale/results-publish-db.md}
if [ -z "${BIN:-}" ]; then
  release_build x0x-dist
  BIN=$(release_bin x0x-dist)
fi
W=$(mktemp -d /tmp/x0x-bench-pubdb.XXXXXX)
# Its own directory: the cluster runs as the postgres user, which cannot enter $W (0700, root).
PGD=$(mktemp -d /tmp/x0x-bench-pg.XXXXXX)
PIDS=() OWN_CLUSTER=
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash "$WS/scripts/pg-cluster.sh" stop "$PGD"; rm -rf "$PGD"
  [ -n "$OWN_CLUSTER" ] && bash "$WS/scripts/garage-cluster.sh" stop "$W/garage"
  rm -rf "$W"
}
trap cleanup EXIT
wait_ready() { for _ in $(seq 600); do curl -fs -m 2 -o /dev/null "http://127.0.0.1:$1/readyz" && return 0; sleep 0.05; done; echo "port $1 not ready" >&2; return 1; }
med() { tr ' ' '\n' | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
LOAD0=$(loadavg)
if [ -z "${X0X_S3_ENV:-}" ]; then
  OWN_CLUSTER=1
  bash scripts/garage-cluster.sh start "$W/garage" 3
  X0X_S3_ENV=$W/garage/env
fi
# shellcheck disable=SC1090
. "$X0X_S3_ENV"
read -r -a EP <<<"$X0X_S3_ENDPOINTS"
bash scripts/pg-cluster.sh start "$PGD"
DB=$(cat "$PGD/url")
R=$W/repo
"$BIN" init --repo "$R" >/dev/null
"$BIN" keygen --out "$W/pub.key" >/dev/null
"$BIN" package add --repo "$R" x0x --publisher-key "$W/pub.key.pub" >/dev/null
TOKEN=$("$BIN" token create --repo "$R" --package x0x 2>/dev/null)
S1=s3://$X0X_S3_BUCKET/bench-pub-$(date +%s)-$$-a S2=s3://$X0X_S3_BUCKET/bench-pub-$(date +%s)-$$-b
"$BIN" migrate --from "$R" --to "$S1" --s3-endpoint "${EP[0]}" 2>/dev/null
"$BIN" migrate --from "$R" --to "$S2" --s3-endpoint "${EP[0]}" 2>/dev/null
LP=$(port) SP=$(port) DP=$(port)
"$BIN" serve --repo "$R" --listen "127.0.0.1:$LP" --log warn & PIDS+=($!)
"$BIN" serve --storage "$S1" --s3-endpoint "${EP[0]}" --keys "$R/online" --listen "127.0.0.1:$SP" --log warn & PIDS+=($!)
"$BIN" serve --storage "$S2" --s3-endpoint "${EP[0]}" --keys "$R/online" --database "$DB" --listen "127.0.0.1:$DP" \
  --log warn & PIDS+=($!)
for p in "$LP" "$SP" "$DP"; do wait_ready "$p"; done

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
