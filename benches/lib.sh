# shellcheck shell=bash
# The one shell library of the benchmarks: benches/run.sh and every benches/<area>/*.sh source it (before
# anything else; it moves to the workspace root). It sets WS (the workspace root) and exports CARGO_TARGET_DIR
# (default $WS/target), and gives:
#   release_build PROGRAM...   cargo build --release of these programs, once per run (the runner's build counts)
#   release_bin PROGRAM        the path of a program release_build built
#   port, wait_port PORT       a free loopback port; wait until 127.0.0.1:PORT accepts connections
#   median                     the median of the numbers on stdin, one a line
#   loadavg, machine           the load averages now; "N cores, M GiB, OS" for a results footer
#   wrk_rps, wrk_mbs           wrk's "Requests/sec" and "Transfer/sec" (normalised to MB/s) from its output
#   static_nginx DIR PORT REPO the peer: nginx serving REPO's metadata/ and targets/ under /tuf/
WS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$WS"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WS/target}

# The programs the benchmarks run: the CLI (package x0x-dist), and the benchmark programs of x0x-dist-benches
# (benches/Cargo.toml), each built with only its own feature (bench-verify needs none).
bench_feature() {
  case $1 in
    bench-verify | bench-keys) echo "" ;;
    sha256-throughput) echo loader ;;
    bench-repo) echo server ;;
    *) echo "release_build: unknown program $1 (x0x-dist, bench-verify, bench-keys, sha256-throughput, bench-repo)" >&2; return 1 ;;
  esac
}
# X0X_BENCH_BUILT lists what this run has built (exported: a script the runner starts does not build again).
release_build() {
  local p cli=() progs=() features=()
  for p in "$@"; do
    case " ${X0X_BENCH_BUILT:-} " in *" $p "*) continue ;; esac
    if [ "$p" = x0x-dist ]; then cli=(-p x0x-dist --bin x0x-dist); else features+=("$(bench_feature "$p")"); progs+=(--bin "$p"); fi
  done
  if [ ${#cli[@]} -gt 0 ]; then
    echo "== cargo build --release ${cli[*]} (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)" >&2
    cargo build -q --release "${cli[@]}"
  fi
  if [ ${#progs[@]} -gt 0 ]; then
    local f
    f=$(printf '%s\n' "${features[@]}" | { grep . || true; } | sort -u | paste -sd, -)
    echo "== cargo build --release -p x0x-dist-benches --no-default-features --features '$f' ${progs[*]}" >&2
    cargo build -q --release -p x0x-dist-benches --no-default-features --features "$f" "${progs[@]}"
  fi
  export X0X_BENCH_BUILT="${X0X_BENCH_BUILT:-} $*"
}
release_bin() { echo "$CARGO_TARGET_DIR/release/$1"; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not up" >&2; return 1; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
loadavg() { uptime | sed 's/.*load average: //'; }
machine() { echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"; }
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
