#!/usr/bin/env bash
# Interop with python-tuf, the reference TUF implementation, in both directions, plus the test-vector drift check.
#  1. Regenerating the shared vectors must not change them (git diff --exit-code).
#  2. python-tuf's ngclient (over HTTP on 127.0.0.1) verifies the vector repository (root rotation, delegated
#     `x0x` role, consistent-snapshot targets) and rejects tampered copies.
#  3. A repository built with the x0x-dist CLI (init, keygen, package add, package release x2) is refreshed and
#     downloaded from by python-tuf; a tampered target is rejected.
#  4. python-tuf (tuf.api.metadata) writes a repository; `x0x-dist verify` accepts it and rejects tampering.
#  5. Key types (ecdsa P-256/P-384, rsassa-pss-sha256): a repository made by the CLI with ecdsa and rsa keys is
#     verified by python-tuf; one python-tuf/securesystemslib signs with every type (its ecdsa-sha2-nistp256
#     legacy keytype too) is verified by `x0x-dist verify` and by the JS loader (loader/js/test/interop.test.js),
#     and the CLI signs a release with a PKCS#8 key securesystemslib made, which python-tuf then verifies.
# Bounded: a debug build of x0x-dist plus a few seconds of Python.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${X0X_TOOLCHAINS:-$PWD/.toolchains}/venv/bin/python
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

echo "== vectors: regenerate and check for drift"
cargo run -q -p x0x-dist-manifests --example gen-vectors
if git rev-parse --git-dir >/dev/null 2>&1; then
  git diff --exit-code -- manifests/vectors docs/error-codes.md
  test -z "$(git status --porcelain -- manifests/vectors)" || { echo "untracked files in manifests/vectors"; exit 1; }
else
  echo "not a git checkout: drift is checked by the Rust test manifests/tests/drift.rs only"
fi

cargo build -q -p x0x-dist --bin x0x-dist
BIN=$CARGO_TARGET_DIR/debug/x0x-dist
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
V=manifests/vectors

expect_status() { # expect_status STATUS CMD...: run CMD, require that exit status
  local want=$1; shift
  set +e; "$@"; local got=$?; set -e
  [ "$got" = "$want" ] || { echo "expected exit $want, got $got: $*"; exit 1; }
}

echo "== python-tuf reads the vector repository"
$PY interop/python_client.py --repo $V/repo --root $V/repo/metadata/1.root.json --check-keyids \
  --target x0x/0.3.1/x0x.linux-x64-gnu.node --target x0x/0.3.1/x0x.wasm32-wasip1.wasm
# python-tuf rejects an envelope with two signatures by one key id outright (DeserializationError); we count it once.
for case in bad-signature:timestamp.json:UnsignedMetadataError expired-timestamp:timestamp.json:ExpiredMetadataError \
            wrong-key:timestamp.json:UnsignedMetadataError duplicate-signature:1.x0x.json:DeserializationError; do
  IFS=: read -r name file err <<<"$case"
  rm -rf "$T/v" && cp -r $V/repo "$T/v" && cp "$V/cases/$name/$file" "$T/v/metadata/$file"
  if [ "$name" = duplicate-signature ]; then cp "$V/cases/threshold-not-met/1.targets.json" "$T/v/metadata/1.targets.json"; fi
  echo "-- vector $name: python-tuf must fail with $err"
  $PY interop/python_client.py --repo "$T/v" --root $V/repo/metadata/1.root.json \
    --target x0x/0.3.1/x0x.linux-x64-gnu.node --expect-error "$err"
done

echo "== python-tuf reads a repository written by the x0x-dist CLI"
R=$T/ours
$BIN init --repo "$R" >/dev/null
$BIN keygen --out "$T/publisher.key" >/dev/null
$BIN package add --repo "$R" x0x --publisher-key "$T/publisher.key.pub"
mkdir -p "$T/dist1" "$T/dist2"
# Real headers, random bodies: a release checks each file's content against its platform (issue 21).
python3 scripts/fake-build.py linux-x64-gnu 300000 "$T/dist1/x0x.linux-x64-gnu.node"
python3 scripts/fake-build.py wasm32-wasip1 200000 "$T/dist1/x0x.wasm32-wasip1.wasm"
python3 scripts/fake-build.py linux-arm64-musl 100000 "$T/dist2/x0x.linux-arm64-musl.node"
# ... and refuses a file that is not what its name says, writing nothing.
cp "$T/dist1/x0x.linux-x64-gnu.node" "$T/x0x.linux-arm64-gnu.node"
expect_status 4 $BIN package release --repo "$R" x0x --version 0.0.1 --key "$T/publisher.key" "$T/x0x.linux-arm64-gnu.node"
$BIN package release --repo "$R" x0x --version 0.3.1 --key "$T/publisher.key" --glibc-floor 2.17 "$T"/dist1/*
$BIN package release --repo "$R" x0x --version 0.4.0 --key "$T/publisher.key" "$T"/dist2/*
$BIN verify --repo "$R"
$PY interop/python_client.py --repo "$R" --root "$R/metadata/1.root.json" --check-keyids \
  --target x0x/0.3.1/x0x.linux-x64-gnu.node --expect-file "$T/dist1/x0x.linux-x64-gnu.node" \
  --target x0x/0.3.1/x0x.wasm32-wasip1.wasm --expect-file "$T/dist1/x0x.wasm32-wasip1.wasm" \
  --target x0x/0.4.0/x0x.linux-arm64-musl.node --expect-file "$T/dist2/x0x.linux-arm64-musl.node"
stored=$(find "$R/targets/x0x/0.4.0" -name '*.x0x.linux-arm64-musl.node')
bash scripts/flip-byte.sh "$stored" 10
$PY interop/python_client.py --repo "$R" --root "$R/metadata/1.root.json" \
  --target x0x/0.4.0/x0x.linux-arm64-musl.node --expect-error LengthOrHashMismatchError
expect_status 4 "$BIN" verify --repo "$R"

echo "== x0x-dist verifies a repository written by python-tuf"
P=$T/py
$PY interop/python_writer.py --out "$P"
$BIN verify --repo "$P"
# python-tuf's own client agrees with the repository it wrote.
$PY interop/python_client.py --repo "$P" --root "$P/metadata/1.root.json" --target x0x/0.3.1/x0x.wasm32-wasip1.wasm
f=$(find "$P/targets" -name '*.x0x.wasm32-wasip1.wasm')
bash scripts/flip-byte.sh "$f" 3
expect_status 4 "$BIN" verify --repo "$P"
sed -i 's/"threshold": 1/"threshold": 2/' "$P/metadata/1.targets.json"
expect_status 3 "$BIN" verify --repo "$P"
echo "== key types: python-tuf reads a repository the CLI signed with ecdsa and rsa keys"
K=$T/keys
$BIN init --repo "$K" --key-type ecdsa-p256 >/dev/null
$BIN keygen --type rsa --out "$T/rsa.key" >/dev/null
$BIN keygen --type ecdsa-p384 --out "$T/p384.key" >/dev/null
$BIN package add --repo "$K" x0x --publisher-key "$T/rsa.key.pub" --publisher-key "$T/p384.key.pub"
$BIN package release --repo "$K" x0x --version 0.3.1 --key "$T/rsa.key" "$T"/dist1/*
$BIN verify --repo "$K"
$PY interop/python_client.py --repo "$K" --root "$K/metadata/1.root.json" --check-keyids \
  --target x0x/0.3.1/x0x.wasm32-wasip1.wasm --expect-file "$T/dist1/x0x.wasm32-wasip1.wasm"

echo "== key types: x0x-dist verifies a repository python-tuf signed with ecdsa, rsa and the legacy ecdsa keytype"
M=$T/mixed
$PY interop/python_writer.py --out "$M" --keys mixed --secret-dir "$T/mixed-keys"
$BIN verify --repo "$M"
$PY interop/python_client.py --repo "$M" --root "$M/metadata/1.root.json" --target x0x/0.3.1/x0x.wasm32-wasip1.wasm
# Tampered: the timestamp (signed with the legacy-keytype ecdsa key) no longer verifies.
python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["signed"]["version"]=7; json.dump(d, open(p, "w"))' "$M/metadata/timestamp.json"
expect_status 3 "$BIN" verify --repo "$M"

echo "== key types: the CLI signs with PKCS#8 keys securesystemslib made; python-tuf verifies"
S=$T/sslib-signed
$BIN init --repo "$S" >/dev/null
cp "$T/mixed-keys/x0x.key" "$T/sslib-publisher.key"
$BIN package add --repo "$S" x0x --publisher-key <(python3 - "$M/metadata/1.targets.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["signed"]["delegations"]
kid = d["roles"][0]["keyids"][0]
k = dict(d["keys"][kid]); k["keyid"] = kid
print(json.dumps(k))
PY
)
$BIN package release --repo "$S" x0x --version 0.3.1 --key "$T/sslib-publisher.key" "$T"/dist1/*
$PY interop/python_client.py --repo "$S" --root "$S/metadata/1.root.json" --check-keyids \
  --target x0x/0.3.1/x0x.linux-x64-gnu.node --expect-file "$T/dist1/x0x.linux-x64-gnu.node"
echo "interop ok"
