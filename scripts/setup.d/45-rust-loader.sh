#!/usr/bin/env bash
# The Rust loader's stage needs python3 (e2e checks) and the openssl CLI (SHA-256 benchmark peer).
set -euo pipefail
need=()
for p in openssl python3; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
