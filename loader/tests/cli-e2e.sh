#!/usr/bin/env bash
# End-to-end: the real `x0x-dist` binary. init → keygen → package add → serve (127.0.0.1) → publish real ELF
# fixtures → `fetch` (host best, --all-targets, --target, file://, offline, concurrent processes) → `doctor`;
# then threats against the real server: a tampered blob (exit 4, target.digest_mismatch), a glibc-too-new
# release (falls back to WASM, doctor says why), a file that is not a bundle (bundle.invalid, exit 3).
# Usage: loader/tests/cli-e2e.sh [path/to/x0x-dist]   (default: builds it with cargo)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -ge 1 ]; then B=$(realpath "$1"); else
  cargo build -q -p x0x-dist
  B=$(realpath "${CARGO_TARGET_DIR:-target}/debug/x0x-dist")
fi
W=$(mktemp -d); SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_status() { # expect_status N CODE cmd...
  local want=$1 code=$2; shift 2
  set +e; "$@" >"$W/out.txt" 2>"$W/err.txt"; local got=$?; set -e
  [ "$got" = "$want" ] || { cat "$W/err.txt" >&2; fail "$* exited $got, want $want"; }
  grep -q "error\[$code\]" "$W/err.txt" || { cat "$W/err.txt" >&2; fail "$* did not report $code"; }
}
FIX=loader/tests/data
cd "$W"
"$B" init --repo "$W/repo" >/dev/null
"$B" keygen --out "$W/pub.key" >/dev/null
"$B" package add --repo "$W/repo" x0x --publisher-key "$W/pub.key.pub" >/dev/null
TOKEN=$("$B" token create --repo "$W/repo" --package x0x 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
"$B" serve --repo "$W/repo" --listen "127.0.0.1:$PORT" >"$W/serve.log" 2>&1 &
SERVER_PID=$!
# Ready when /healthz answers (a deadline, not a count of tries: python's startup alone is slow under load).
end=$((SECONDS + 60))
until python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=5)" "$URL/healthz" 2>/dev/null; do
  [ "$SECONDS" -lt "$end" ] || { cat "$W/serve.log" >&2; fail "server not ready within 60 s"; }
  sleep 0.1
done
ROOT="$W/repo/metadata/1.root.json"
OLDPWD_=$OLDPWD
mkdir rel1 rel2
cp "$OLDPWD_/$FIX/plain.so" rel1/x0x.linux-x64-gnu.node
printf '\0asm\1\0\0\0\0\7\3x0xone' > rel1/x0x.wasm32-wasip1.wasm
cp "$OLDPWD_/$FIX/glibc-2.99.so" rel2/x0x.linux-x64-gnu.node
printf '\0asm\1\0\0\0\0\7\3x0xtwo' > rel2/x0x.wasm32-wasip1.wasm
"$B" publish --server "$URL" --token "$TOKEN" --key "$W/pub.key" --package x0x --version 0.3.1 rel1/* >/dev/null

# Best build for this host (x86_64 glibc here): the native one, byte-identical.
"$B" fetch --server "$URL" --root "$ROOT" --package x0x --version '^0.3' --out o1 --cache c1 >/dev/null
cmp o1/x0x.linux-x64-gnu.node rel1/x0x.linux-x64-gnu.node || fail "native build differs"
# Again into the same directory (the cached blob is read-only; the exported copy is the user's, 0644).
"$B" fetch --server "$URL" --root "$ROOT" --package x0x --version '^0.3' --out o1 --cache c1 >/dev/null
[ "$(stat -c %a o1/x0x.linux-x64-gnu.node)" = 644 ] || fail "exported file mode $(stat -c %a o1/x0x.linux-x64-gnu.node)"
# Every target, as JSON.
"$B" fetch --server "$URL" --root "$ROOT" --package x0x --version 0.3.1 --all-targets --out o2 --cache c1 --json > all.json
python3 - all.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["version"] == "0.3.1", r
assert sorted(f["platform"] for f in r["files"]) == ["linux-x64-gnu", "wasm32-wasip1"], r
PY
cmp o2/x0x.wasm32-wasip1.wasm rel1/x0x.wasm32-wasip1.wasm || fail "wasm build differs"
# One target by triple; a file:// repository (the server's directory) verifies the same signed bytes.
"$B" fetch --server "file://$W/repo" --root "$ROOT" --package x0x --target wasm32-wasip1 --out o3 --cache c3 >/dev/null
cmp o3/x0x.wasm32-wasip1.wasm rel1/x0x.wasm32-wasip1.wasm || fail "file:// fetch differs"
# Offline from the warm cache works; offline from an empty cache fails with loader.offline (exit 7).
X0X_DIST_OFFLINE=1 "$B" fetch --server "$URL" --root "$ROOT" --package x0x --out o4 --cache c1 >/dev/null
expect_status 7 loader.offline env X0X_DIST_OFFLINE=1 "$B" fetch --server "$URL" --root "$ROOT" --package x0x --out o5 --cache c5
# Six concurrent processes sharing one empty cache all end with verified bytes.
pids=()
for i in 1 2 3 4 5 6; do
  "$B" fetch --server "$URL" --root "$ROOT" --package x0x --out "p$i" --cache shared >/dev/null 2>"p$i.err" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent fetch failed: $(cat p*.err)"; done
for i in 1 2 3 4 5 6; do cmp "p$i/x0x.linux-x64-gnu.node" rel1/x0x.linux-x64-gnu.node || fail "concurrent copy $i differs"; done
[ "$(ls shared/blobs | wc -l)" = 1 ] || fail "cache should hold exactly one blob"
[ -z "$(ls shared/tmp)" ] || fail "leftover partial files"

# A release whose native build needs GLIBC_2.99: rejected from verified metadata, WASM chosen.
"$B" publish --server "$URL" --token "$TOKEN" --key "$W/pub.key" --package x0x --version 0.4.0 rel2/* >/dev/null
"$B" fetch --server "$URL" --root "$ROOT" --package x0x --out o6 --cache c1 >/dev/null
[ -f o6/x0x.wasm32-wasip1.wasm ] && [ ! -e o6/x0x.linux-x64-gnu.node ] || fail "glibc 2.99 build was not rejected"
"$B" doctor --server "$URL" --root "$ROOT" --cache c1 --json > doctor.json
python3 - doctor.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok", d
assert d["host"]["libc"]["libc"] == "glibc" and d["glibc"], d["host"]
# Node 20 here has shared WebAssembly.Memory: the JS loader would prefer the threads flavour, and says why.
assert d["wasm"]["flavour"] == "wasm32-wasip1-threads" and "SharedArrayBuffer" in d["wasm"]["reason"], d["wasm"]
res = d["resolution"]
assert res["version"] == "0.4.0" and res["taken"] == "x0x/0.4.0/x0x.wasm32-wasip1.wasm", res
native = [c for c in res["candidates"] if c["platform"] == "linux-x64-gnu"][0]
assert native["reason"].startswith("rejected: needs glibc 2.99, host has"), native
roles = [m["role"] for m in d["metadata"]]
assert roles == ["root", "timestamp", "snapshot", "targets", "x0x"], roles
PY
"$B" doctor > doctor.txt || fail "doctor without a repository must succeed"
grep -q '^WASM fallback:   wasm32-wasip1-threads preferred over wasm32-wasip1 (node v' doctor.txt || fail "doctor does not say which WASM flavour and why"
# A node without shared memory (as a Node with --no-harmony-sharedarraybuffer would be): wasip1 only, with the reason.
mkdir -p nosab && printf '#!/bin/sh\nexec %s --no-harmony-sharedarraybuffer "$@"\n' "$(command -v node)" > nosab/node && chmod +x nosab/node
PATH="$PWD/nosab:$PATH" "$B" doctor > doctor-nosab.txt || fail "doctor (no SharedArrayBuffer) must succeed"
grep -q '^WASM fallback:   wasm32-wasip1 only, not wasm32-wasip1-threads' doctor-nosab.txt || fail "doctor: $(grep WASM doctor-nosab.txt)"

# A tampered blob on the server's disk (a release nobody fetched yet, so the server has not cached it in
# memory): refused with target.digest_mismatch (exit 4), nothing written.
mkdir rel3 && cp rel1/x0x.linux-x64-gnu.node rel3/ && printf '\0asm\1\0\0\0\0\11\3x0xthree' > rel3/x0x.wasm32-wasip1.wasm
"$B" publish --server "$URL" --token "$TOKEN" --key "$W/pub.key" --package x0x --version 0.5.0 rel3/* >/dev/null
blob=$(ls "$W"/repo/targets/x0x/0.5.0/*x0x.wasm32-wasip1.wasm)
python3 - "$blob" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[9] ^= 0xff; open(p, "wb").write(bytes(b))
PY
expect_status 4 target.digest_mismatch "$B" fetch --server "$URL" --root "$ROOT" --package x0x --version 0.5.0 \
  --target wasm32-wasip1 --out o7 --cache c7
[ ! -e o7/x0x.wasm32-wasip1.wasm ] || fail "tampered file was written"
[ -z "$(ls c7/blobs)" ] || fail "tampered file entered the cache"
# A file that is not a bundle: a clear code (real bundles: cli/tests/bundle*.rs, .ci/stages/70-mirror.sh).
printf 'not a bundle' > x.bundle
expect_status 3 bundle.invalid "$B" fetch --bundle x.bundle --root "$ROOT" --package x0x --out o8
echo "cli-e2e: ok"
