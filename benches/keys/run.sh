#!/usr/bin/env bash
# Signature verification per second by key type: the Rust clients (bench-keys: manifests' PublicKey::verify as
# the TUF walk calls it, and with the key parsed once), the JS loader (lib/keys.js, Node's crypto), and
# `openssl speed` on the same machine in the same run (its verify/s: the raw primitive, a ceiling).
#   SECONDS_EACH  seconds per measurement (default 2)    OUT  also write the table there (optional)
# Run: benches/run.sh keys   (BENCHMARKS.md, "Signature verification by key type")
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
S=${SECONDS_EACH:-2}
BIN=${BENCH_KEYS_BIN:-$(release_bin bench-keys)}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$BIN" "$S" >"$T/rust"
node "$WS/benches/keys/verify.js" "$S" >"$T/js"
# openssl speed: ed25519 / ecdsap256 / ecdsap384 / rsa3072 (verify/s column). -mr: machine-readable lines.
OS=$(awk -v s="$S" 'BEGIN { n = int(s + 0.5); print (n < 1 ? 1 : n) }') # openssl takes whole seconds
openssl speed -mr -seconds "$OS" ed25519 ecdsap256 ecdsap384 rsa3072 2>/dev/null >"$T/openssl" || true
ossl() { # ossl NAME: verify/s from openssl's -mr lines (OpenSSL 3: +F2/+F4:idx:bits:sign/s:verify/s,
  #          +F6:idx:bits:name:sign/s:verify/s)
  case $1 in
    ed25519) awk -F: '/^\+F6:/ && $4=="Ed25519" {printf "%.0f", $6; exit}' "$T/openssl" ;;
    ecdsa-p256) awk -F: '/^\+F4:/ && $3==256 {printf "%.0f", $5; exit}' "$T/openssl" ;;
    ecdsa-p384) awk -F: '/^\+F4:/ && $3==384 {printf "%.0f", $5; exit}' "$T/openssl" ;;
    rsa-3072) awk -F: '/^\+F2:/ && $3==3072 {printf "%.0f", $5; exit}' "$T/openssl" ;;
  esac
}
{
  echo "| key type | Rust, as the walk verifies (parse + verify) | Rust, key parsed once | JS loader (lib/keys.js) | openssl speed | Rust sign/s |"
  echo "|---|---|---|---|---|---|"
  while IFS=$'\t' read -r name walk parsed sign; do
    js=$(awk -v n="$name" '$1==n {print $2}' "$T/js")
    echo "| $name | $walk | $parsed | $js | $(ossl "$name") | $sign |"
  done <"$T/rust"
  echo
  echo "verify/s, 1 KiB message; $(nproc) CPU, $(uname -m), $(openssl version | cut -d' ' -f1-2), node $(node --version), $(date -u +%F)"
} | tee ${OUT:+"$OUT"}
