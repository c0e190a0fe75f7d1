#!/usr/bin/env bash
# Any replica publishes (issue 20) on a REAL object store: 3 `x0x-dist serve --database` replicas on one Garage
# bucket prefix (scripts/garage-cluster.sh) and one PostgreSQL (scripts/pg-cluster.sh), nginx in front.
#   a. 30 packages, each published through all 3 replicas at once (distinct versions: 90 publishes in flight):
#      every publish answered 200 is in the final signed state (python-tuf downloads every target through each
#      replica and through nginx);
#   b. 10 races: the same version of one package through the 3 replicas at once: exactly one winner, clear errors
#      for the others;
#   c. 200 timestamp refreshes alternating between the replicas while publishes run: never backwards;
#   d. a soak of SOAK_SECS (default 60): downloaders through nginx and one publish per second, 0 errors.
# Needs X0X_S3_ENV=DIR/env (scripts/garage-cluster.sh start DIR). Run by .ci/stages/75-scale.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
WS=$PWD
fail() { echo "scale_garage_db: FAIL: $*" >&2; exit 1; }
step() { echo "== scale_garage_db: $* ($((SECONDS - T0)) s)"; }
T0=$SECONDS
[ -n "${X0X_S3_ENV:-}" ] && [ -f "$X0X_S3_ENV" ] || fail "X0X_S3_ENV must name the env file of scripts/garage-cluster.sh"
# shellcheck disable=SC1090
. "$X0X_S3_ENV"
read -r -a EP <<<"$X0X_S3_ENDPOINTS"
[ "${#EP[@]}" -ge 3 ] || fail "needs a 3-node cluster"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$WS/target}
PY=${X0X_TOOLCHAINS:-$WS/.toolchains}/venv/bin/python
[ -x "$PY" ] || fail "$PY missing: run scripts/setup.sh"
if [ -n "${X0X_DIST_BIN:-}" ]; then B=$X0X_DIST_BIN; else
  cargo build -q -p x0x-dist --bin x0x-dist; B=$CARGO_TARGET_DIR/debug/x0x-dist
fi
W=$(mktemp -d /tmp/x0x-scale-db.XXXXXX)
chmod 755 "$W"
PIDS=()
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  bash "$WS/scripts/nginx-lb.sh" stop "$W/lb" || true
  bash "$WS/scripts/pg-cluster.sh" stop "$W/pg" || true
  if [ "$rc" != 0 ]; then
    for f in "$W"/*.log; do [ -f "$f" ] && { echo "---- tail of $f"; tail -n 20 "$f"; }; done
  fi
  [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {
  local end=$((SECONDS + 60))
  until curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null; do
    [ "$SECONDS" -lt "$end" ] || fail "no replica ready on port $1: $(tail -n 20 "$2")"; sleep 0.05
  done
}
PREFIX=scale-db-$(date +%s)-$$-$RANDOM
S3URL=s3://$X0X_S3_BUCKET/$PREFIX
NPKG=${NPKG:-30}

step "repository: $NPKG packages + race, one token; migrate into $S3URL; PostgreSQL"
R=$W/repo
"$B" init --repo "$R" >/dev/null
"$B" keygen --out "$W/pub.key" >/dev/null
PKGS=()
for i in $(seq -w 1 "$NPKG"); do PKGS+=("p$i"); done
args=()
for p in "${PKGS[@]}" race; do
  "$B" package add --repo "$R" "$p" --publisher-key "$W/pub.key.pub" >/dev/null
  args+=(--package "$p")
done
TOK=$("$B" token create --repo "$R" "${args[@]}" 2>/dev/null)
ROOT=$R/metadata/1.root.json
"$B" migrate --from "$R" --to "$S3URL" --s3-endpoint "${EP[0]}" >"$W/migrate.log" 2>&1 || fail "migrate"
bash scripts/pg-cluster.sh start "$W/pg" 2>"$W/pg.log"
DB=$(cat "$W/pg/url")

step "3 replicas (serve --database), nginx"
PORTS=()
for i in 0 1 2; do
  p=$(port); PORTS+=("$p")
  "$B" serve --storage "$S3URL" --s3-endpoint "${EP[$i]}" --keys "$R/online" --database "$DB" \
    --replica-id "replica-$i" --poll-secs 1 --listen "127.0.0.1:$p" --log info >"$W/r$i.log" 2>&1 &
  PIDS+=($!)
done
for i in 0 1 2; do wait_ready "${PORTS[$i]}" "$W/r$i.log"; done
URL=(); for p in "${PORTS[@]}"; do URL+=("http://127.0.0.1:$p"); done
PN=$(port)
bash scripts/nginx-lb.sh start "$W/lb" "$PN" "127.0.0.1:${PORTS[0]}" "127.0.0.1:${PORTS[1]}" "127.0.0.1:${PORTS[2]}"
LB=http://127.0.0.1:$PN

PUBS=()
pub() { # pub OUT URL PACKAGE VERSION FILE: in the background (PUBS: their pids)
  "$B" publish --server "$2" --token "$TOK" --key "$W/pub.key" --package "$3" --version "$4" "$5" >"$1" 2>&1 &
  PUBS+=($!)
}
# wait_pubs: waits for every publish in PUBS; OKS = how many answered 200
wait_pubs() { OKS=0; for j in "${PUBS[@]}"; do wait "$j" && OKS=$((OKS + 1)) || true; done; PUBS=(); }
mkfile() { mkdir -p "$(dirname "$1")"; python3 scripts/fake-build.py wasm32-wasip1 20000 "$1"; }  # random bytes: distinct

step "c (background). 200 timestamp refreshes alternating between the replicas"
"$PY" - "${URL[@]}" >"$W/mono.log" 2>&1 <<'PYEOF' &
import json, sys, time, urllib.request
urls = sys.argv[1:]
last = 0
for i in range(200):
    u = urls[i % len(urls)]
    v = json.load(urllib.request.urlopen(u + "/tuf/metadata/timestamp.json", timeout=10))["signed"]["version"]
    if v < last:
        print(f"BACKWARDS: {u} served timestamp {v} after {last}"); sys.exit(1)
    last = v
    time.sleep(0.05)
print(f"ok: 200 refreshes, timestamp {last}")
PYEOF
MONO=$!

step "a. $((NPKG * 3)) publishes at once ($NPKG packages x 3 replicas, distinct versions)"
for p in "${PKGS[@]}"; do
  for i in 0 1 2; do
    f=$W/f/$p-$i/$p.wasm32-wasip1.wasm; mkfile "$f"
    pub "$W/out-$p-$i" "${URL[$i]}" "$p" "1.0.$i" "$f"
  done
done
wait_pubs; ok=$OKS
failed=$(grep -l "^error" "$W"/out-p* 2>/dev/null | wc -l || true)
echo "publishes: $ok answered 200 ($failed failed)"
[ "$failed" = 0 ] || { grep -h "^error" "$W"/out-p* | sort | uniq -c | head; fail "$failed publishes failed"; }

step "b. 10 races for one version through the 3 replicas"
for k in $(seq 1 10); do
  for i in 0 1 2; do
    f=$W/race/$k-$i/race.wasm32-wasip1.wasm; mkfile "$f"
    pub "$W/race-$k-$i" "${URL[$i]}" race "2.0.$k" "$f"
  done
  wait_pubs; wins=$OKS
  [ "$wins" = 1 ] || fail "race $k: $wins winners"
  for i in 0 1 2; do
    grep -q "^published" "$W/race-$k-$i" && continue
    grep -Eq "error\[(version.exists|publish.conflict|metadata.rollback)\]" "$W/race-$k-$i" \
      || fail "race $k: unclear loser error: $(cat "$W/race-$k-$i")"
  done
done
wait "$MONO" || fail "timestamp went backwards: $(cat "$W/mono.log")"
cat "$W/mono.log"

step "a'. python-tuf downloads every target through each replica and nginx"
targets=()
for p in "${PKGS[@]}"; do for i in 0 1 2; do
  targets+=(--target "$p/1.0.$i/$p.wasm32-wasip1.wasm" --expect-file "$W/f/$p-$i/$p.wasm32-wasip1.wasm")
done; done
for u in "${URL[@]}" "$LB"; do
  "$PY" interop/python_client.py --url "$u" --root "$ROOT" "${targets[@]}" >"$W/pytuf.log" 2>&1 \
    || fail "python-tuf through $u: $(tail -n 5 "$W/pytuf.log")"
done
echo "python-tuf: ${#PKGS[@]}x3 targets verified through 3 replicas and nginx"

SOAK=${SOAK_SECS:-60}
step "d. soak ${SOAK} s: 8 downloaders through nginx + one publish per second"
"$PY" - "$LB" "$SOAK" "${PKGS[0]}" >"$W/soak.log" 2>&1 <<'PYEOF' &
import sys, threading, time, urllib.request
lb, secs, pkg = sys.argv[1], float(sys.argv[2]), sys.argv[3]
errors, n, lat = [], [0], []
end = time.time() + secs
def worker():
    while time.time() < end:
        for path in ("/tuf/metadata/timestamp.json", "/api/v1/packages/" + pkg):
            t = time.time()
            try:
                urllib.request.urlopen(lb + path, timeout=10).read()
                lat.append(time.time() - t); n[0] += 1
            except Exception as e:
                errors.append(f"{path}: {e}")
ts = [threading.Thread(target=worker) for _ in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
lat.sort()
print(f"soak: {n[0]} requests, {len(errors)} errors, p50 {lat[len(lat)//2]*1000:.1f} ms, p99 {lat[int(len(lat)*0.99)]*1000:.1f} ms")
if errors: print(errors[:5]); sys.exit(1)
PYEOF
SOAKPID=$!
k=0; soak_end=$((SECONDS + SOAK))
while [ $SECONDS -lt $soak_end ]; do
  k=$((k + 1)); f=$W/soak/$k/${PKGS[0]}.wasm32-wasip1.wasm; mkfile "$f"
  "$B" publish --server "$LB" --token "$TOK" --key "$W/pub.key" --package "${PKGS[0]}" --version "3.0.$k" "$f" \
    >"$W/soak-pub.out" 2>&1 || fail "soak publish $k: $(cat "$W/soak-pub.out")"
  sleep 1
done
wait "$SOAKPID" || fail "soak: $(cat "$W/soak.log")"
cat "$W/soak.log"; echo "soak: $k publishes, all landed"
echo "scale_garage_db ok in $((SECONDS - T0)) s"
