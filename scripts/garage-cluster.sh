#!/usr/bin/env bash
# A local Garage (S3-compatible) cluster on 127.0.0.1 for multi-node storage tests; installed by
# scripts/setup.d/75-garage.sh. Each node is a separate `garage server` process with its own config, metadata and
# data dirs under DIR; nothing outside DIR is touched.
#
#   garage-cluster.sh start DIR [NODES=3]    a fresh cluster (wipes DIR/node*): NODES nodes, layout, bucket x0x, a
#                                            new random key, DIR/env
#   garage-cluster.sh stop DIR               stop every node started in DIR (pidfiles), TERM then KILL
#   garage-cluster.sh node-stop DIR I        stop node I (1-based) only
#   garage-cluster.sh node-start DIR I       restart node I with its existing config and data
#
# Node I (1..NODES) listens on GARAGE_BASE_PORT+10*I + 0 (S3 API), +1 (RPC), +3 (admin API);
# GARAGE_BASE_PORT defaults to 39000. replication_factor = min(3, NODES), consistency_mode = "consistent": with 3
# replicas reads and writes need 2 of them, so one node may be down. `source DIR/env` gives AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION (garage), X0X_S3_ENDPOINTS (every node's S3 API, space-separated),
# X0X_S3_BUCKET (x0x), GARAGE_PIDS, GARAGE_ADMIN_ENDPOINTS, GARAGE_ADMIN_TOKEN.
# Requests are path-style (http://127.0.0.1:PORT/x0x/KEY), SigV4 with region "garage", e.g.
#   curl --aws-sigv4 aws:amz:garage:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
#        -H "x-amz-content-sha256: <hex sha256 of the body, or UNSIGNED-PAYLOAD>" ...
# (Garage answers 400 "Missing X-Amz-Content-Sha256" without that header; curl 7.88 does not add it.)
# Garage has no conditional PutObject (If-None-Match / If-Match are ignored on PUT); see 75-garage.sh.
#
#   GARAGE_BIN            default $X0X_TOOLCHAINS/garage-2.5.0/bin/garage ($X0X_TOOLCHAINS default ./.toolchains)
#   GARAGE_START_TIMEOUT  seconds per readiness wait (default 90)
set -euo pipefail
GARAGE=${GARAGE_BIN:-${X0X_TOOLCHAINS:-$PWD/.toolchains}/garage-2.5.0/bin/garage}
BASE=${GARAGE_BASE_PORT:-39000}
TIMEOUT=${GARAGE_START_TIMEOUT:-90}
REGION=garage
BUCKET=x0x

die() { echo "garage-cluster: $*" >&2; exit 1; }
log() { echo "garage-cluster: $*" >&2; }
s3_port() { echo $((BASE + 10 * $1)); }
rpc_port() { echo $((BASE + 10 * $1 + 1)); }
admin_port() { echo $((BASE + 10 * $1 + 3)); }
g() { local i=$1; shift; "$GARAGE" -c "$DIR/node$i.toml" "$@"; }
alive() { local p; p=$(cat "$DIR/node$1.pid" 2>/dev/null) && kill -0 "$p" 2>/dev/null; }
fail_node() {  # fail_node I MESSAGE: the message, then the node's log tail
  echo "garage-cluster: node $1: $2" >&2
  echo "---- tail of $DIR/node$1.log" >&2; tail -n 40 "$DIR/node$1.log" >&2 || true
  exit 1
}
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
health() { curl -s -m 5 "http://127.0.0.1:$(admin_port "$1")/health" 2>/dev/null || true; }
health_code() { curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$(admin_port "$1")/health" 2>/dev/null || true; }

write_config() {  # write_config I N SECRET ADMIN_TOKEN
  local i=$1 n=$2 rf=$(( $2 < 3 ? $2 : 3 ))
  mkdir -p "$DIR/node$i/meta" "$DIR/node$i/data"
  cat >"$DIR/node$i.toml" <<EOF
metadata_dir = "$DIR/node$i/meta"
data_dir = "$DIR/node$i/data"
db_engine = "lmdb"
metadata_fsync = false
data_fsync = false

replication_factor = $rf
consistency_mode = "consistent"

rpc_bind_addr = "127.0.0.1:$(rpc_port "$i")"
rpc_public_addr = "127.0.0.1:$(rpc_port "$i")"
rpc_secret = "$3"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$(s3_port "$i")"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$(admin_port "$i")"
admin_token = "$4"
EOF
  chmod 600 "$DIR/node$i.toml"
}

launch() {  # launch I: start node I in the background, wait until its admin API answers and its node id exists
  local i=$1 deadline
  if alive "$i"; then die "node $i already running (pid $(cat "$DIR/node$i.pid"))"; fi
  for p in "$(s3_port "$i")" "$(rpc_port "$i")" "$(admin_port "$i")"; do
    port_free "$p" || die "node $i: port $p on 127.0.0.1 is in use (set GARAGE_BASE_PORT)"
  done
  NO_COLOR=1 RUST_LOG=${RUST_LOG:-garage=info,netapp=warn} nohup "$GARAGE" -c "$DIR/node$i.toml" server \
    >>"$DIR/node$i.log" 2>&1 </dev/null &
  echo $! >"$DIR/node$i.pid"
  deadline=$((SECONDS + TIMEOUT))
  until [ "$(health_code "$i")" != 000 ] && [ "$(health_code "$i")" != "" ] && g "$i" node id -q >/dev/null 2>&1; do
    alive "$i" || fail_node "$i" "exited during start-up"
    [ $SECONDS -lt $deadline ] || fail_node "$i" "admin API on port $(admin_port "$i") not up after ${TIMEOUT}s"
    sleep 0.3
  done
}

wait_health() {  # wait_health I PATTERN: until node I's /health body matches PATTERN
  local deadline=$((SECONDS + TIMEOUT))
  until health "$1" | grep -q "$2"; do
    alive "$1" || fail_node "$1" "exited"
    [ $SECONDS -lt $deadline ] || fail_node "$1" "/health never matched '$2' in ${TIMEOUT}s; last: $(health "$1" | head -n1)"
    sleep 0.5
  done
}

retry() {  # retry I WHAT CMD...: run CMD until it succeeds or the deadline passes
  local i=$1 what=$2 deadline=$((SECONDS + TIMEOUT)) out; shift 2
  until out=$("$@" 2>&1); do
    [ $SECONDS -lt $deadline ] || { echo "$out" >&2; fail_node "$i" "$what failed for ${TIMEOUT}s"; }
    sleep 1
  done
}

EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3_ready() {  # s3_ready PORT KEY SECRET: a signed HEAD on the bucket answers 200
  # Garage wants x-amz-content-sha256 on every signed request, and curl < 8 does not send it by itself.
  [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -I --aws-sigv4 "aws:amz:$REGION:s3" --user "$2:$3" \
    -H "x-amz-content-sha256: $EMPTY_SHA256" "http://127.0.0.1:$1/$BUCKET")" = 200 ]
}

cmd_start() {
  local n=${1:-3} i secret token key_id key_secret ids=() deadline
  [ "$n" -ge 1 ] 2>/dev/null || die "NODES must be a positive integer"
  "$GARAGE" --version >/dev/null 2>&1 || die "no working garage at $GARAGE (run scripts/setup.d/75-garage.sh)"
  mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd -P)
  for f in "$DIR"/node*.pid; do
    [ -e "$f" ] || continue; i=${f##*/node}; i=${i%.pid}
    if alive "$i"; then die "node $i already running in $DIR (stop it first)"; fi
  done
  rm -rf "$DIR"/node[0-9]* "$DIR/env"
  # A failed start leaves nothing running (the log tail is printed first; logs and data stay for a look).
  trap 'rc=$?; if [ $rc != 0 ]; then log "start failed; stopping the nodes it started"; stop_all; fi' EXIT
  secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  echo "$n" >"$DIR/nodes"
  for ((i = 1; i <= n; i++)); do write_config "$i" "$n" "$secret" "$token"; done
  for ((i = 1; i <= n; i++)); do launch "$i"; done
  for ((i = 1; i <= n; i++)); do ids+=("$(g "$i" node id -q)"); done   # <hex id>@127.0.0.1:<rpc port>
  for ((i = 2; i <= n; i++)); do retry 1 "node connect $i" g 1 node connect "${ids[i - 1]}"; done
  for ((i = 1; i <= n; i++)); do
    retry 1 "layout assign $i" g 1 layout assign -z "z$i" -c 1G "${ids[i - 1]%@*}"
  done
  retry 1 "layout apply" g 1 layout apply --version 1
  for ((i = 1; i <= n; i++)); do wait_health "$i" "fully operational"; done
  key_id=GK$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  key_secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
  retry 1 "bucket create" g 1 bucket create "$BUCKET"
  retry 1 "key import" g 1 key import --yes -n x0x "$key_id" "$key_secret"
  retry 1 "bucket allow" g 1 bucket allow --read --write --owner "$BUCKET" --key "$key_id"
  for ((i = 1; i <= n; i++)); do
    deadline=$((SECONDS + TIMEOUT))
    until s3_ready "$(s3_port "$i")" "$key_id" "$key_secret"; do
      alive "$i" || fail_node "$i" "exited"
      [ $SECONDS -lt $deadline ] || fail_node "$i" "signed HEAD /$BUCKET on port $(s3_port "$i") not 200 after ${TIMEOUT}s"
      sleep 0.5
    done
  done
  write_env "$n" "$key_id" "$key_secret" "$token"
  log "$n node(s) up in $DIR: S3 $(for ((i = 1; i <= n; i++)); do printf '%s ' "$(s3_port "$i")"; done)(source $DIR/env)"
}

write_env() {  # write_env N KEY_ID KEY_SECRET ADMIN_TOKEN
  local n=$1 i eps="" admins="" pids=""
  for ((i = 1; i <= n; i++)); do
    eps+="${eps:+ }http://127.0.0.1:$(s3_port "$i")"
    admins+="${admins:+ }http://127.0.0.1:$(admin_port "$i")"
    pids+="${pids:+ }$(cat "$DIR/node$i.pid")"
  done
  cat >"$DIR/env" <<EOF
export AWS_ACCESS_KEY_ID=$2
export AWS_SECRET_ACCESS_KEY=$3
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export X0X_S3_ENDPOINTS="$eps"
export X0X_S3_BUCKET=$BUCKET
export GARAGE_ADMIN_ENDPOINTS="$admins"
export GARAGE_ADMIN_TOKEN=$4
export GARAGE_PIDS="$pids"
EOF
}

stop_node() {  # stop_node I: TERM, up to 15 s, then KILL
  local i=$1 p t
  p=$(cat "$DIR/node$i.pid" 2>/dev/null) || return 0
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for ((t = 0; t < 150; t++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then log "node $i (pid $p) ignored TERM; KILL"; kill -KILL "$p" 2>/dev/null || true; fi
    while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$DIR/node$i.pid"
}

stop_all() {
  local f i
  [ -d "$DIR" ] || return 0
  for f in "$DIR"/node*.pid; do [ -e "$f" ] || continue; i=${f##*/node}; stop_node "${i%.pid}"; done
}

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: $0 start DIR [NODES] | stop DIR | node-stop DIR I | node-start DIR I"
case $cmd in
  start) cmd_start "${3:-3}" ;;
  stop) stop_all ;;
  node-stop) [ -n "${3:-}" ] || die "node-stop DIR I"; stop_node "$3" ;;
  node-start)
    [ -n "${3:-}" ] && [ -f "$DIR/node$3.toml" ] || die "node-start DIR I: no $DIR/node${3:-?}.toml"
    DIR=$(cd "$DIR" && pwd -P)
    launch "$3"
    # The peers' reconnection back-off can leave a restarted node isolated for ~30 s: connect both ways now.
    for ((j = 1; j <= $(cat "$DIR/nodes"); j++)); do
      [ "$j" != "$3" ] && alive "$j" || continue
      g "$3" node connect "$(g "$j" node id -q)" >/dev/null 2>&1 || log "node $3 -> $j: connect failed (will retry by itself)"
      g "$j" node connect "$(g "$3" node id -q)" >/dev/null 2>&1 || log "node $j -> $3: connect failed (will retry by itself)"
    done
    wait_health "$3" "operational"
    if [ -f "$DIR/env" ]; then  # refresh GARAGE_PIDS
      pids=""; for ((i = 1; i <= $(cat "$DIR/nodes"); i++)); do pids+="${pids:+ }$(cat "$DIR/node$i.pid" 2>/dev/null || echo -)"; done
      sed -i "s/^export GARAGE_PIDS=.*/export GARAGE_PIDS=\"$pids\"/" "$DIR/env"
    fi
    ;;
  *) die "unknown command $cmd" ;;
esac
