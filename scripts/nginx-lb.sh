#!/usr/bin/env bash
# A throwaway nginx load balancer on 127.0.0.1, e.g. two server replicas behind one address.
#
#   nginx-lb.sh start DIR PORT UPSTREAM...   listen on 127.0.0.1:PORT, round-robin to UPSTREAM (host:port) ...
#   nginx-lb.sh stop DIR
#
# Everything (prefix, nginx.conf, pid, logs, temp dirs) lives under DIR; the system nginx config is never read
# (-p DIR -c DIR/nginx.conf, -e for the error log). nginx runs in the foreground (daemon off) as a background
# process of this script; its master pid is in DIR/nginx.pid. Proxying is unbuffered both ways, bodies of any
# size pass (client_max_body_size 0), Host and every request header pass unchanged, so SigV4-signed or
# conditional requests (If-None-Match, If-Match) reach the upstream as sent.
set -euo pipefail
NGINX=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
TIMEOUT=${NGINX_START_TIMEOUT:-30}
die() { echo "nginx-lb: $*" >&2; exit 1; }

cmd=${1:-}; DIR=${2:-}
[ -n "$cmd" ] && [ -n "$DIR" ] || die "usage: $0 start DIR PORT UPSTREAM... | stop DIR"
case $cmd in
  start)
    PORT=${3:-}; shift 3 || die "usage: $0 start DIR PORT UPSTREAM..."
    [ $# -ge 1 ] || die "at least one UPSTREAM (host:port)"
    [ -x "$NGINX" ] || die "no nginx (run scripts/setup.d/75-garage.sh)"
    mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd -P)
    if [ -f "$DIR/nginx.pid" ] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null; then die "already running in $DIR"; fi
    mkdir -p "$DIR/logs" "$DIR/tmp"
    servers=""; for u in "$@"; do servers+="    server $u;"$'\n'; done
    user_line=""; [ "$(id -u)" = 0 ] && user_line="user root;"   # as root, workers would otherwise drop to nobody
    cat >"$DIR/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log $DIR/logs/access.log;
  client_body_temp_path $DIR/tmp/client_body;
  proxy_temp_path $DIR/tmp/proxy;
  fastcgi_temp_path $DIR/tmp/fastcgi;
  uwsgi_temp_path $DIR/tmp/uwsgi;
  scgi_temp_path $DIR/tmp/scgi;
  upstream backends {
$servers    keepalive 16;
  }
  server {
    listen 127.0.0.1:$PORT;
    client_max_body_size 0;
    proxy_buffering off;
    proxy_request_buffering off;
    underscores_in_headers on;
    ignore_invalid_headers off;
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_pass_request_headers on;
      proxy_next_upstream error timeout;
      proxy_connect_timeout 5s;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
EOF
    "$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" -t -q || die "config test failed ($DIR/nginx.conf)"
    nohup "$NGINX" -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/logs/error.log" >"$DIR/logs/stdout.log" 2>&1 </dev/null &
    pid=$!
    deadline=$((SECONDS + TIMEOUT))
    until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; do
      if ! kill -0 "$pid" 2>/dev/null; then tail -n 20 "$DIR/logs/error.log" "$DIR/logs/stdout.log" >&2; die "nginx exited"; fi
      [ $SECONDS -lt $deadline ] || { tail -n 20 "$DIR/logs/error.log" >&2; die "not listening on $PORT after ${TIMEOUT}s"; }
      sleep 0.2
    done
    echo "$pid" >"$DIR/nginx.pid"   # nginx writes it too; the same pid (master, daemon off)
    echo "nginx-lb: 127.0.0.1:$PORT -> $* (pid $pid, $DIR)" >&2
    ;;
  stop)
    [ -f "$DIR/nginx.pid" ] || exit 0
    pid=$(cat "$DIR/nginx.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -QUIT "$pid" 2>/dev/null || true   # graceful: finish in-flight requests
      for ((t = 0; t < 100; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
      for ((t = 0; t < 50; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/nginx.pid"
    ;;
  *) die "unknown command $cmd" ;;
esac
