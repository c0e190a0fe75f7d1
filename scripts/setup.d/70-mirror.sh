#!/usr/bin/env bash
# Mirror/bundle tests need: iproute2 (`ip netns` for the air-gapped test), tar (the bundle format is checked
# against it), a C compiler and Node's headers (a loadable test addon when the core build is absent), strace
# (bundle_crash.rs reads the import's sync/rename order from its syscalls). Benchmarks (not CI) also use curl.
# Idempotent and fast when everything is present.
set -euo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tar >/dev/null 2>&1 || need+=(tar)
command -v cc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v strace >/dev/null 2>&1 || need+=(strace)   # bundle_crash.rs reads the import's sync/rename order
if [ ! -f /usr/include/node/node_api.h ] && [ ! -f "$(dirname "$(dirname "$(command -v node)")")/include/node/node_api.h" ]; then
  need+=(libnode-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
echo "mirror setup ok"
