#!/usr/bin/env bash
# A private PostgreSQL cluster on 127.0.0.1 for benchmarks and manual runs (the Rust tests use
# test-support/src/postgres.rs, the same steps). Debian's `postgresql` binaries (scripts/setup.d/50-postgres.sh);
# as root the cluster runs as the `postgres` user. Nothing outside DIR is touched.
#   pg-cluster.sh start DIR [PORT]   initdb DIR/data (trust auth, user postgres), start it; DIR/url holds the URL
#                                    (DIR's parents must be enterable by the postgres user: not inside a 0700 dir)
#   pg-cluster.sh stop DIR           pg_ctl stop -m fast
set -euo pipefail
BIN=${X0X_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
[ -x "$BIN/pg_ctl" ] || { echo "pg-cluster: no PostgreSQL (scripts/setup.d/50-postgres.sh)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cmd=${1:?start|stop} DIR=${2:?DIR}
case $cmd in
  start)
    PORT=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DIR"
    as_pg "$BIN/initdb" -D "$DIR/data" -A trust -U postgres --no-sync -E UTF8 >/dev/null
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w -t 60 \
      -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c max_connections=200" start >/dev/null
    echo "postgres://postgres@127.0.0.1:$PORT/postgres" >"$DIR/url"
    echo "pg-cluster: up on 127.0.0.1:$PORT ($DIR/url)" >&2 ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true ;;
  *) echo "usage: pg-cluster.sh start DIR [PORT] | stop DIR" >&2; exit 2 ;;
esac
