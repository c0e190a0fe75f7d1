#!/usr/bin/env bash
# Keys in hardware (docs/hardware-keys.md): the PKCS#11 tests (cli/tests/pkcs11.rs, run by `cargo test --workspace`
# in stage 20) need SoftHSM2 (the module /usr/lib/softhsm/libsofthsm2.so and softhsm2-util, to make a private token)
# and OpenSC's pkcs11-tool (to generate keys on it). Idempotent; fast when installed.
set -euo pipefail
need=()
for p in softhsm2 opensc; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
test -e /usr/lib/softhsm/libsofthsm2.so
command -v softhsm2-util pkcs11-tool >/dev/null
