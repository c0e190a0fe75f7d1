#!/usr/bin/env bash
# The README's run command works: `cargo xtask demo` builds host + wasm, creates a repository, publishes the core,
# serves it and packs the npm package (here with --no-serve, into a temporary data directory); then a fresh npm
# project installs the packed package against a server on that repository and calls the core.
set -euo pipefail
cd "$(dirname "$0")/../.."
D=$(mktemp -d); trap 'kill $SRV 2>/dev/null || true; rm -rf "$D"' EXIT
SRV=
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cargo xtask demo --data "$D/data" --listen "127.0.0.1:$PORT" --no-serve
# Re-running is idempotent: the repository is reused and the published version is not published again.
cargo xtask demo --data "$D/data" --listen "127.0.0.1:$PORT" --no-serve --no-build 2>&1 | tee "$D/second.log"
grep -q "already published" "$D/second.log"
BIN=${CARGO_TARGET_DIR:-target}/release/x0x-dist
"$BIN" serve --repo "$D/data/repo" --listen "127.0.0.1:$PORT" & SRV=$!
end=$((SECONDS + 60)) # a deadline that fails loudly (the install below would fail obscurely instead)
until curl -fs -m 5 "http://127.0.0.1:$PORT/readyz" >/dev/null; do
  [ "$SECONDS" -lt "$end" ] || { echo "server not ready within 60 s"; exit 1; }
  sleep 0.1
done
mkdir "$D/app"; cd "$D/app"; npm init -y >/dev/null
X0X_DIST_URL="http://127.0.0.1:$PORT" X0X_DIST_CACHE="$D/cache" npm install --no-audit --no-fund "$D"/data/x0x-*.tgz
X0X_DIST_URL="http://127.0.0.1:$PORT" X0X_DIST_CACHE="$D/cache" node -e "
const x = require('x0x');
const k = x.AgentKeypair.generate();
const sig = k.sign(Buffer.from('demo'));
if (!x.verify(k.publicKey, Buffer.from('demo'), sig)) throw new Error('signature did not verify');
console.log('demo install ok: agent', k.agentId.toString());
"
