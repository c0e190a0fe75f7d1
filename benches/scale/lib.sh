# shellcheck shell=bash
# What the scale-out benchmarks share (benches/scale/*.sh source it after benches/lib.sh): a scratch directory,
# a 3-node Garage cluster (or the running one X0X_S3_ENV names), a private PostgreSQL, a repository with a
# publisher key and an upload token, replicas, and one cleanup for all of it.
#   scale_init NAME            W=$(mktemp -d /tmp/x0x-bench-NAME.XXXXXX), the EXIT trap, BIN (default: a release build)
#   scale_garage               X0X_S3_ENV (starts a cluster in $W/garage unless set), sourced; EP=(endpoints)
#   scale_pg                   DB=<url> of a private PostgreSQL cluster (scripts/pg-cluster.sh)
#   scale_repo PKG...          REPO=$W/repo with packages PKG... (publisher key $W/pub.key), TOKEN for all of them
#   scale_s3url TAG            S3URL=s3://BUCKET/bench-TAG-<unique>, the repository migrated into it
#   scale_serve VAR ARGS...    `BIN serve ARGS... --listen 127.0.0.1:PORT --log warn` in the background, waits for
#                              /readyz; VAR=PORT, its pid appended to PIDS (logs: $W/serve-PORT.log)
#   wait_ready PORT, med (median of space-separated numbers on stdin), ratio A B (A/B, 2 decimals)
#   rss_kib PID                resident set size in KiB
SCALE_PIDS=() OWN_CLUSTER= PGD=
scale_cleanup() {
  local p
  for p in "${SCALE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  [ -d "$W/lb" ] && bash "$WS/scripts/nginx-lb.sh" stop "$W/lb" >/dev/null 2>&1
  [ -n "$PGD" ] && { bash "$WS/scripts/pg-cluster.sh" stop "$PGD" >/dev/null 2>&1; rm -rf "$PGD"; }
  [ -n "$OWN_CLUSTER" ] && bash "$WS/scripts/garage-cluster.sh" stop "$W/garage"
  rm -rf "$W"
}
scale_init() {
  if [ -z "${BIN:-}" ]; then
    release_build x0x-dist
    BIN=$(release_bin x0x-dist)
  fi
  W=$(mktemp -d "/tmp/x0x-bench-$1.XXXXXX")
  trap scale_cleanup EXIT
}
scale_garage() {
  if [ -z "${X0X_S3_ENV:-}" ]; then
    OWN_CLUSTER=1
    bash "$WS/scripts/garage-cluster.sh" start "$W/garage" 3
    X0X_S3_ENV=$W/garage/env
  fi
  # shellcheck disable=SC1090
  . "$X0X_S3_ENV"
  read -r -a EP <<<"$X0X_S3_ENDPOINTS"
}
scale_pg() {
  # Its own directory: the cluster runs as the postgres user, which cannot enter $W (0700, root).
  PGD=$(mktemp -d /tmp/x0x-bench-pg.XXXXXX)
  bash "$WS/scripts/pg-cluster.sh" start "$PGD" >/dev/null
  DB=$(cat "$PGD/url")
}
scale_repo() {
  local p args=()
  REPO=$W/repo
  "$BIN" init --repo "$REPO" >/dev/null
  "$BIN" keygen --out "$W/pub.key" >/dev/null 2>&1
  for p in "$@"; do
    "$BIN" package add --repo "$REPO" "$p" --publisher-key "$W/pub.key.pub" >/dev/null
    args+=(--package "$p")
  done
  TOKEN=$("$BIN" token create --repo "$REPO" "${args[@]}" 2>/dev/null)
}
scale_s3url() {
  S3URL=s3://$X0X_S3_BUCKET/bench-$1-$(date +%s)-$$-$RANDOM
  "$BIN" migrate --from "$REPO" --to "$S3URL" --s3-endpoint "${EP[0]}" >/dev/null 2>&1
}
scale_serve() {
  local var=$1 p
  shift
  p=$(port)
  "$BIN" serve "$@" --listen "127.0.0.1:$p" --log warn >"$W/serve-$p.log" 2>&1 &
  SCALE_PIDS+=($!)
  LAST_PID=$!
  wait_ready "$p"
  printf -v "$var" '%s' "$p"
}
wait_ready() { for _ in $(seq 600); do curl -fs -m 2 -o /dev/null "http://127.0.0.1:$1/readyz" && return 0; sleep 0.05; done; echo "port $1 not ready" >&2; return 1; }
med() { tr ' ' '\n' | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
