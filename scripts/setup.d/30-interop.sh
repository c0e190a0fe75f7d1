#!/usr/bin/env bash
# python-tuf interop needs pyca/cryptography for ed25519 (securesystemslib's CryptoSigner and key verification).
# scripts/setup.sh has created $X0X_TOOLCHAINS/venv with `tuf` already. Idempotent; fast when installed.
set -euo pipefail
VENV=${X0X_TOOLCHAINS:-$PWD/.toolchains}/venv
"$VENV/bin/python" -c 'import tuf.ngclient, cryptography' 2>/dev/null && exit 0
"$VENV/bin/pip" install -q tuf cryptography >/dev/null
"$VENV/bin/python" -c 'import tuf.ngclient, cryptography'
