#!/usr/bin/env bash
# A real S3-compatible engine for the multi-node storage tests: Garage 2.5.0 (crates.io, AGPL-3.0), run only as a
# separate server process (scripts/garage-cluster.sh), never linked into our code. Installed under the toolchains
# directory as $ROOT/garage-2.5.0/bin/garage, built with the smallest feature set that runs: LMDB metadata engine
# only (no SQLite, metrics, K2V); main.rs refuses to build without `bundled-libs` or `system-libs`, and
# bundled-libs is a no-op without SQLite. Also nginx (scripts/nginx-lb.sh puts two server replicas behind one
# address).
#
# Garage has NO conditional PutObject: in garage_api_s3 2.5.0 If-None-Match / If-Match (and If-Modified-Since /
# If-Unmodified-Since) are only evaluated in get.rs (GET/HEAD, 304/412); put.rs never reads them, so a PUT with
# `If-None-Match: *` overwrites an existing key and answers 200. Anything that needs create-only or
# compare-and-swap writes must not rely on the store for it (scripts/test-garage-cluster.sh shows this).
# Cost: a cold build (crate sources already downloaded) took 7 min 15 s wall, 638 s user + 39 s sys CPU, 1.3 GB peak
# RSS on 2 idle cores (about 22 min next to a CI run); the install is one 47 MB binary.
# Idempotent: skipped in well under a second when the binary is there and answers --version.
set -euo pipefail
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}; mkdir -p "$ROOT"; ROOT=$(cd "$ROOT" && pwd -P)
VER=2.5.0
DEST=$ROOT/garage-$VER

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt-get update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends nginx >/dev/null
fi

if "$DEST/bin/garage" --version >/dev/null 2>&1; then
  echo "garage setup ok ($("$DEST/bin/garage" --version | head -n1), already installed)"
  exit 0
fi
# A machine-wide copy outside the checkout: CI runs in a fresh clone each time (a new .toolchains), and this is
# the one toolchain that costs minutes to build, so a machine builds it once. Set X0X_GARAGE_CACHE=none to
# always build.
CACHE=${X0X_GARAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/x0x-dist/garage-$VER}
if [ "$CACHE" != none ] && "$CACHE/bin/garage" --version 2>/dev/null | grep -q "$VER"; then
  mkdir -p "$DEST/bin"
  cp "$CACHE/bin/garage" "$DEST/bin/garage.tmp" && mv "$DEST/bin/garage.tmp" "$DEST/bin/garage"
  echo "garage setup ok ($("$DEST/bin/garage" --version | head -n1), from the machine's cache $CACHE)"
  exit 0
fi
# Its own target dir (not the workspace's), deleted afterwards: the build tree is ~GBs, the binary ~tens of MB.
export CARGO_TARGET_DIR=$ROOT/garage-build
start=$(date +%s)
cargo install garage --version "$VER" --locked --root "$DEST" --no-default-features --features lmdb,bundled-libs
end=$(date +%s)
rm -rf "$CARGO_TARGET_DIR"
"$DEST/bin/garage" --version >/dev/null
if [ "$CACHE" != none ] && mkdir -p "$CACHE/bin" 2>/dev/null; then
  cp "$DEST/bin/garage" "$CACHE/bin/garage.tmp" && mv "$CACHE/bin/garage.tmp" "$CACHE/bin/garage" || true
fi
echo "garage setup ok (built garage $VER in $((end - start)) s; $(du -sh "$DEST" | cut -f1) under $DEST)"
