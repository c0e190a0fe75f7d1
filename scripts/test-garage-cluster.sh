#!/usr/bin/env bash
# Checks scripts/garage-cluster.sh and pins the Garage behaviour our storage code relies on (or must not rely on):
# a 3-node cluster (replication 3, consistency_mode "consistent") serves reads and writes with one node down and
# refuses them with two down; a node that comes back serves what was written while it was away; PUT and HEAD
# return an ETag; GET honours If-None-Match (304) and If-Match (412); PUT IGNORES If-None-Match: * and If-Match
# (no conditional writes: the second create-only PUT succeeds and overwrites); nginx-lb.sh in front of two nodes
# passes SigV4-signed requests.
#   GARAGE_BIN / X0X_TOOLCHAINS / GARAGE_BASE_PORT as for garage-cluster.sh; KEEP=1 leaves the cluster dir.
set -euo pipefail
cd "$(dirname "$0")/.."
HERE=$PWD/scripts
DIR=$(mktemp -d /tmp/x0x-garage-test.XXXXXX)
cleanup() { bash "$HERE/garage-cluster.sh" stop "$DIR" || true; [ -n "${KEEP:-}" ] || rm -rf "$DIR"; }
trap cleanup EXIT

t0=$SECONDS
bash "$HERE/garage-cluster.sh" start "$DIR" 3
echo "cluster start: $((SECONDS - t0)) s"
# shellcheck disable=SC1091
. "$DIR/env"
read -r -a EP <<<"$X0X_S3_ENDPOINTS"

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# s3 METHOD NODE KEY [curl args...]: prints "<status> <etag>"; the body goes to $DIR/body, headers to $DIR/hdr.
# x-amz-content-sha256 is required by Garage and not sent by curl 7.88: $SHA (default: that of an empty body).
s3() {
  local m=$1 n=$2 k=$3; shift 3
  local code
  code=$(curl -s -m 30 -X "$m" -o "$DIR/body" -D "$DIR/hdr" -w '%{http_code} %{time_total}' \
    --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "x-amz-content-sha256: ${SHA:-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855}" \
    "$@" "${EP[n - 1]}/$X0X_S3_BUCKET/$k") || true
  echo "${code#* }" >"$DIR/time"; code=${code%% *}
  [ "$m" = HEAD ] && : >"$DIR/body"
  echo "$code $(tr -d '\r' <"$DIR/hdr" 2>/dev/null | awk 'tolower($1)=="etag:"{print $2}')"
}
put() {  # put NODE KEY CONTENT [curl args...]
  local n=$1 k=$2 c=$3; shift 3
  printf '%s' "$c" >"$DIR/up"
  SHA=$(sha256sum "$DIR/up" | cut -d' ' -f1) s3 PUT "$n" "$k" --data-binary "@$DIR/up" "$@"
}
expect() {  # expect WHAT WANT_CODE GOT("code etag") [WANT_BODY]
  local what=$1 want=$2 got=$3 body=${4-}
  if [ "${got%% *}" != "$want" ]; then bad "$what: HTTP ${got%% *}, want $want ($(head -c 300 "$DIR/body"))"; return; fi
  if [ $# -ge 4 ] && [ "$(cat "$DIR/body")" != "$body" ]; then bad "$what: body '$(head -c 100 "$DIR/body")', want '$body'"; return; fi
  local e=${got#* }; ok "$what: HTTP $want${e:+ (ETag $e)} in $(cat "$DIR/time") s"
}

# 1. Write on node 1, read on node 3; ETag on PUT, GET and HEAD
r=$(put 1 a.txt "hello"); expect "PUT a.txt @1" 200 "$r"; etag=${r#* }
[ -n "$etag" ] && ok "PUT returns ETag $etag" || bad "PUT returned no ETag"
r=$(s3 GET 3 a.txt); expect "GET a.txt @3" 200 "$r" hello
[ "${r#* }" = "$etag" ] && ok "GET ETag = PUT ETag" || bad "GET ETag ${r#* } != $etag"
r=$(s3 HEAD 2 a.txt -I); expect "HEAD a.txt @2" 200 "$r"
[ "${r#* }" = "$etag" ] && ok "HEAD ETag = PUT ETag" || bad "HEAD ETag ${r#* } != $etag"

# 2. One node down (quorum 2 of 3 left): reads and writes go on
bash "$HERE/garage-cluster.sh" node-stop "$DIR" 2
t=$SECONDS
expect "node 2 down: GET a.txt @1" 200 "$(s3 GET 1 a.txt)" hello
expect "node 2 down: GET a.txt @3" 200 "$(s3 GET 3 a.txt)" hello
expect "node 2 down: PUT b.txt @1" 200 "$(put 1 b.txt "written while 2 was down")"
expect "node 2 down: GET b.txt @3" 200 "$(s3 GET 3 b.txt)" "written while 2 was down"
expect "node 2 down: PUT a.txt @3 (overwrite)" 200 "$(put 3 a.txt "hello v2")"
expect "node 2 down: GET a.txt @1" 200 "$(s3 GET 1 a.txt)" "hello v2"
echo "     (one node down: 6 requests in $((SECONDS - t)) s)"
# 3. Two nodes down (no quorum): refused
bash "$HERE/garage-cluster.sh" node-stop "$DIR" 3
t=$SECONDS
r=$(s3 GET 1 a.txt); [ "${r%% *}" != 200 ] && ok "nodes 2+3 down: GET @1 refused: HTTP ${r%% *} $(grep -o '<Code>[^<]*' "$DIR/body" | head -n1) in $((SECONDS - t)) s" || bad "nodes 2+3 down: GET @1 answered 200"
t=$SECONDS
r=$(put 1 c.txt "no quorum"); [ "${r%% *}" != 200 ] && ok "nodes 2+3 down: PUT @1 refused: HTTP ${r%% *} $(grep -o '<Code>[^<]*' "$DIR/body" | head -n1) in $((SECONDS - t)) s" || bad "nodes 2+3 down: PUT @1 answered 200"
# 4. Both back: node 2 serves what was written while it was down
t=$SECONDS
bash "$HERE/garage-cluster.sh" node-start "$DIR" 3
bash "$HERE/garage-cluster.sh" node-start "$DIR" 2
echo "     (restart of nodes 3 and 2: $((SECONDS - t)) s)"
expect "node 2 back: GET b.txt @2" 200 "$(s3 GET 2 b.txt)" "written while 2 was down"
expect "node 2 back: GET a.txt @2" 200 "$(s3 GET 2 a.txt)" "hello v2"

# 5. Conditional GET works (the ETag poll of timestamp.json)
r=$(s3 HEAD 1 a.txt -I); etag=${r#* }
expect "GET If-None-Match: current ETag" 304 "$(s3 GET 2 a.txt -H "If-None-Match: $etag")"
expect "GET If-None-Match: other ETag" 200 "$(s3 GET 2 a.txt -H 'If-None-Match: "0123"')" "hello v2"
expect "GET If-Match: current ETag" 200 "$(s3 GET 3 a.txt -H "If-Match: $etag")" "hello v2"
expect "GET If-Match: other ETag" 412 "$(s3 GET 3 a.txt -H 'If-Match: "0123"')"
expect "HEAD If-None-Match: current ETag" 304 "$(s3 HEAD 1 a.txt -I -H "If-None-Match: $etag")"

# 6. Conditional PUT does NOT exist: If-None-Match: * and If-Match are ignored (AWS S3 would answer 412)
expect "PUT new.txt If-None-Match: * (absent key)" 200 "$(put 1 new.txt "first" -H 'If-None-Match: *')"
r=$(put 2 new.txt "second" -H 'If-None-Match: *')
if [ "${r%% *}" = 200 ]; then ok "PUT new.txt If-None-Match: * (key exists): HTTP 200 -- IGNORED, overwritten"
else bad "PUT new.txt If-None-Match: * (key exists): HTTP ${r%% *}: garage now honours it; update the docs"; fi
expect "GET new.txt after the second create-only PUT" 200 "$(s3 GET 3 new.txt)" second
r=$(put 3 new.txt "third" -H 'If-Match: "0123"')
if [ "${r%% *}" = 200 ]; then ok "PUT new.txt If-Match: wrong ETag: HTTP 200 -- IGNORED, overwritten"
else bad "PUT new.txt If-Match: wrong ETag: HTTP ${r%% *}: garage now honours it; update the docs"; fi
expect "GET new.txt" 200 "$(s3 GET 1 new.txt)" third

# 7. scripts/nginx-lb.sh in front of nodes 1 and 3: SigV4 survives the proxy (Host and headers pass unchanged)
LBPORT=$(( ${GARAGE_BASE_PORT:-39000} + 9 ))
trap 'bash "$HERE/nginx-lb.sh" stop "$DIR/lb" || true; cleanup' EXIT
bash "$HERE/nginx-lb.sh" start "$DIR/lb" "$LBPORT" "${EP[0]#http://}" "${EP[2]#http://}"
EP+=("http://127.0.0.1:$LBPORT")   # "node 4" = the balancer
head -c 3000000 /dev/urandom >"$DIR/big"
r=$(SHA=$(sha256sum "$DIR/big" | cut -d' ' -f1) s3 PUT 4 big --data-binary "@$DIR/big"); expect "PUT 3 MB via nginx-lb" 200 "$r"
for k in 1 2; do
  r=$(s3 GET 4 big); expect "GET 3 MB via nginx-lb ($k)" 200 "$r"
  cmp -s "$DIR/big" "$DIR/body" && ok "GET via nginx-lb ($k): same bytes" || bad "GET via nginx-lb ($k): bytes differ"
done
expect "GET If-None-Match via nginx-lb" 304 "$(s3 GET 4 big -H "If-None-Match: ${r#* }")"
bash "$HERE/nginx-lb.sh" stop "$DIR/lb"

. "$DIR/env"   # GARAGE_PIDS after the restarts
bash "$HERE/garage-cluster.sh" stop "$DIR"
left=$(for p in $GARAGE_PIDS; do kill -0 "$p" 2>/dev/null && echo "$p"; done || true)
[ -z "$left" ] && ok "stop: no garage process left" || bad "stop left pids $left"
echo "test-garage-cluster: $fails failure(s), $((SECONDS - t0)) s"
[ "$fails" = 0 ]
