#!/usr/bin/env bash
# A fleet of replicas with the commit coordinator (issue 20; not run in CI), on 127.0.0.1: 3 `x0x-dist serve
# --database` replicas on one prefix of a 3-node Garage bucket and one PostgreSQL.
#   1. commits per second: PUBLISHERS `x0x-dist publish` loops at once (one package each, ROUNDS versions of a
#      1 KiB file each), all through replica 1, then the same spread over the 3 replicas (issue: >= 2x one);
#   2. a 32 MiB target: one `curl` stream through a replica vs the same object fetched from the engine (Garage's
#      S3 API, a SigV4 GET of the blob) directly; medians of DOWNLOADS alternating (issue: >= 0.9x).
# Usage: benches/run.sh fleet   (env: PUBLISHERS=6 ROUNDS=5 DOWNLOADS=7 BIN=<x0x-dist> X0X_S3_ENV=<running cluster>
#                                OUT=benches/scale/results-fleet.md)
# Needs: garage, postgresql, curl (scripts/setup.sh).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
. "$WS/benches/scale/lib.sh"
PUBLISHERS=${PUBLISHERS:-6} ROUNDS=${ROUNDS:-5} DOWNLOADS=${DOWNLOADS:-7}
OUT=${OUT:-benches/scale/results-fleet.md}
scale_init fleet
LOAD0=$(loadavg)
scale_garage
scale_pg
PKGS=(big)
for i in $(seq "$PUBLISHERS"); do PKGS+=("p$i"); done
scale_repo "${PKGS[@]}"
scale_s3url fleet
P=()
for i in 0 1 2; do
  scale_serve port_ --storage "$S3URL" --s3-endpoint "${EP[$i]}" --keys "$REPO/online" --database "$DB" \
    --replica-id "bench-$i"
  P+=("$port_")
done
mkdir -p "$W/f"
# publish_all TAG PORT...: every publisher publishes ROUNDS versions of its package (major TAG) in sequence, the
# publishers at once, publisher i through PORT[i mod n]; prints commits per second.
publish_all() {
  local tag=$1 i pids=() t0 t1 n
  shift
  local ports=("$@")
  t0=$(date +%s%N)
  for i in $(seq "$PUBLISHERS"); do
    (
      port=${ports[$(( (i - 1) % ${#ports[@]} ))]}
      for r in $(seq "$ROUNDS"); do
        f=$W/f/$tag-$i-$r/p$i.wasm32-wasip1.wasm; mkdir -p "$(dirname "$f")"
        python3 scripts/fake-build.py wasm32-wasip1 1024 "$f"
        "$BIN" publish --server "http://127.0.0.1:$port" --token "$TOKEN" --key "$W/pub.key" --package "p$i" \
          --version "$tag.$r.0" "$f" >/dev/null 2>"$W/pub-$tag-$i.err" || { echo "publish p$i $tag.$r.0 failed: $(cat "$W/pub-$tag-$i.err")" >&2; exit 1; }
      done
    ) &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  t1=$(date +%s%N)
  n=$((PUBLISHERS * ROUNDS))
  awk -v n="$n" -v ns=$((t1 - t0)) 'BEGIN {printf "%.1f", n / (ns / 1e9)}'
}
declare -A X
# Alternating, twice each: one replica, three replicas.
for round in 1 2; do
  X[one]+="$(publish_all $((round * 10 + 1)) "${P[0]}") "
  X[three]+="$(publish_all $((round * 10 + 2)) "${P[@]}") "
  echo "after round $round: one replica ${X[one]}commits/s | three replicas ${X[three]}commits/s"
done

# 2. 32 MiB through a replica vs from the engine.
f=$W/f/big/big.wasm32-wasip1.wasm; mkdir -p "$(dirname "$f")"
python3 scripts/fake-build.py wasm32-wasip1 $((32 << 20)) "$f"
"$BIN" publish --server "http://127.0.0.1:${P[0]}" --token "$TOKEN" --key "$W/pub.key" --package big --version 1.0.0 \
  "$f" >/dev/null
SHA=$(sha256sum "$f" | cut -d' ' -f1)
BIG=/tuf/targets/big/1.0.0/$SHA.big.wasm32-wasip1.wasm
OBJ=${EP[1]}/$X0X_S3_BUCKET/${S3URL#s3://"$X0X_S3_BUCKET"/}/blobs/sha256/$SHA
direct() {
  curl -fsS -o /dev/null -w '%{speed_download}' --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
    --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$OBJ"
}
cmp <(curl -fsS "http://127.0.0.1:${P[1]}$BIG") "$f"
cmp <(curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$OBJ") "$f"
for _ in $(seq "$DOWNLOADS"); do
  X[replica]+="$(curl -fsS -o /dev/null -w '%{speed_download}' "http://127.0.0.1:${P[1]}$BIG" | awk '{printf "%.0f", $1/1048576}') "
  X[engine]+="$(direct | awk '{printf "%.0f", $1/1048576}') "
done
LOAD1=$(loadavg)
m() { echo "${X[$1]}" | med | xargs printf "%.1f"; }
{
  echo "| Benchmark | one replica / engine direct | 3 replicas / through a replica | ratio |"
  echo "|---|---|---|---|"
  echo "| commits per second, $PUBLISHERS publishers x $ROUNDS versions (median of 2) | $(m one) | $(m three) | $(ratio "$(m three)" "$(m one)")x |"
  echo "| 32 MiB target, one curl stream, median of $DOWNLOADS (MiB/s) | $(m engine) | $(m replica) | $(ratio "$(m replica)" "$(m engine)")x |"
  echo
  echo "Machine: $(machine); $(date -u +%F); load average before $LOAD0, after $LOAD1. Replicas: \`serve --storage"
  echo "s3://… --database\` on a 3-node Garage cluster, each on its own node's S3 endpoint; engine direct: a SigV4"
  echo "\`curl\` GET of the blob object from node 2's endpoint (the one replica 2 reads from). All values: $(for k in "${!X[@]}"; do printf '%s: %s\n' "$k" "${X[$k]}"; done | sort | tr '\n' ';' | sed 's/ ;/; /g')"
} | tee "$OUT"
