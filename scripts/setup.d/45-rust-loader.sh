#!/usr/bin/env bash
# The Rust loader's stage: python3 (e2e checks), the openssl CLI and curl (benchmark peers).
set -euo pipefail
need=()
for p in openssl python3 curl; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
