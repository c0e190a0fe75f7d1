# Shared helpers of the shell benches (benches/server/run.sh, benches/scale/run.sh): source it.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not up" >&2; return 1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# wrk's "Requests/sec" and "Transfer/sec" (normalised to MB/s).
wrk_rps() { awk '/Requests\/sec/ {print $2}'; }
wrk_mbs() { awk '/Transfer\/sec/ {v=$2; u=v; gsub(/[0-9.]/,"",u); gsub(/[A-Za-z]/,"",v); if (u=="GB") v*=1024; if (u=="KB") v/=1024; print v}'; }
# static_nginx DIR PORT REPO: the peer: nginx (2 workers, sendfile, no access log) serving REPO's metadata/ and
# targets/ under /tuf/ on 127.0.0.1:PORT, its files under DIR/nginx, pid in DIR/nginx.pid; returns once it listens.
static_nginx() {
  local dir=$1 port=$2 repo=$3
  mkdir -p "$dir/nginx"
  # nginx workers run unprivileged: let them read the served directories.
  chmod 755 "$dir" "$repo"; chmod -R a+rX "$repo/metadata" "$repo/targets" "$repo/blobs"
  cat >"$dir/nginx/nginx.conf" <<NGINX
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
  sendfile on; tcp_nopush on; access_log off; keepalive_requests 100000;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    location /tuf/metadata/ { alias $repo/metadata/; }
    location /tuf/targets/ { alias $repo/targets/; }
  }
}
NGINX
  nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx"
  wait_port "$port"
}
