#!/usr/bin/env bash
# The wasm32-wasip1-threads sysroot (called by scripts/toolchains.sh; idempotent):
#   $ROOT/sysroot-wasi-threads   std built with Debian's rustc-web (-Zbuild-std) + wasix-libc + the shim
#   $ROOT/rustc-wasi-threads     rustc with that sysroot (what `cargo xtask build --targets wasm-threads` runs)
#
# No registry ships a threads build of upstream wasi-libc. Debian sid's `wasix-libc` (Wasmer's fork of wasi-libc)
# is one: every object is +atomics,+bulk-memory, pthread_create spawns through the standard `wasi.thread-spawn`
# import, wasi_thread_start matches upstream's. What differs is patched at link time with Debian's llvm-mc/lld 19
# (reference recipe: the team's shared toolchains/wasm-wasip1-threads.sh; docs/building.md explains each part):
#  - shim.s defines the few `wasix_32v1.*` imports wasix-libc calls (futexes on memory.atomic.wait32/notify,
#    thread_exit as a wasm exception caught by a replacement wasi_thread_start, path_open2 -> preview1
#    path_open, getcwd -> "/", abort's SIGABRT -> trap, the rest ENOTSUP / no-op) so they are linked, not imported;
#  - wasix-libc passes absolute paths to the preview1 path_* calls, which Node's uvwasi rejects (ENOTCAPABLE):
#    generated wrappers below drop the leading '/' (the glue preopens "/" only);
#  - clockid_t is an int there but a pointer in Rust's libc crate: lld --wrap's clock_gettime/getres/nanosleep.
# `cargo xtask build` then checks that the module imports nothing but wasi_snapshot_preview1.* and
# wasi.thread-spawn (a wasix_32v1 import the shim lacks would fail there, not at load time on a user's machine).
#
# The .deb is vendored next to this script and its SHA-256 checked, so a sid upload cannot change the build.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${1:?usage: sysroot.sh <toolchains dir>}
T=wasm32-wasip1-threads
WASIX_LIBC_DEB=$HERE/wasix-libc_2025.12.24.1+ds-1_amd64.deb
WASIX_LIBC_SHA256=f16b844194b248fbd402e48b38cfc3fe37fd6093d15e3a8b8692bd3e53c2b890
log() { echo "toolchains: $*"; }

# Everything the sysroot is made of; a change to any of them rebuilds it.
STAMP="$(sha256sum "$WASIX_LIBC_DEB" "$HERE/shim.s" "$0" | sha256sum | cut -c1-16) $(/usr/bin/rustc -V)"
S="$ROOT/sysroot-wasi-threads"
if [ -f "$S/.complete" ] && [ "$(cat "$S/.complete")" = "$STAMP" ]; then
  printf '#!/bin/sh\nexec /usr/bin/rustc --sysroot %s "$@"\n' "$S" > "$ROOT/rustc-wasi-threads"; chmod +x "$ROOT/rustc-wasi-threads"
  exit 0
fi

# 1. wasix-libc, checked and unpacked (not installed: it conflicts with wasi-libc).
got=$(sha256sum "$WASIX_LIBC_DEB" | cut -d' ' -f1)
if [ "$got" != "$WASIX_LIBC_SHA256" ]; then
  echo "toolchains: $WASIX_LIBC_DEB has SHA-256 $got, want $WASIX_LIBC_SHA256" >&2; exit 1
fi
L="$ROOT/wasix-libc"; rm -rf "$L"; dpkg-deb -x "$WASIX_LIBC_DEB" "$L"

# 2. std for wasm32-wasip1-threads (atomics, bulk-memory, mutable-globals are in the target spec), with bitcode so
#    the core's LTO can use it. One directory per target: switching targets in one rebuilds everything.
D="$ROOT/stdbuild-threads"
if [ ! -d "$D/target/$T/release/deps" ] || [ "$(cat "$D/.rustc" 2>/dev/null)" != "$(/usr/bin/rustc -V)" ]; then
  log "std for $T (build-std, ~1-2 min)"
  rm -rf "$D"; mkdir -p "$D"
  printf '[package]\nname="stddummy"\nversion="0.0.0"\nedition="2021"\n[lib]\npath="lib.rs"\n[workspace]\n' > "$D/Cargo.toml"; : > "$D/lib.rs"
  ( cd "$D" && env -u CARGO_TARGET_DIR -u RUSTFLAGS RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Cembed-bitcode=yes \
      /usr/bin/cargo build -q --release -Zbuild-std=std,panic_abort --target $T )
  /usr/bin/rustc -V > "$D/.rustc"
fi

# 3. the shim: shim.s + generated slash-stripping wrappers for the preview1 path_* calls.
B="$ROOT/wasi-threads-shim"; rm -rf "$B"; mkdir -p "$B"
cp "$HERE/shim.s" "$B/shim.s"
strip_slashes() { # $1 = ptr local, $2 = len local, $3 = scratch local
  printf '\tlocal.get\t%s\n\tlocal.set\t%s\n\tblock\n\tloop\n' "$2" "$3"
  printf '\tlocal.get\t%s\n\ti32.eqz\n\tbr_if\t1\n\tlocal.get\t%s\n\ti32.load8_u\t0\n\ti32.const\t47\n\ti32.ne\n\tbr_if\t1\n' "$2" "$1"
  printf '\tlocal.get\t%s\n\ti32.const\t1\n\ti32.add\n\tlocal.set\t%s\n\tlocal.get\t%s\n\ti32.const\t1\n\ti32.sub\n\tlocal.set\t%s\n' "$1" "$1" "$2" "$2"
  printf '\tbr\t0\n\tend_loop\n\tend_block\n\tlocal.get\t%s\n\ti32.eqz\n\tlocal.get\t%s\n\ti32.const\t0\n\ti32.ne\n\ti32.and\n' "$2" "$3"
  printf '\tif\n\ti32.const\t__wasix_shim_dot\n\tlocal.set\t%s\n\ti32.const\t1\n\tlocal.set\t%s\n\tend_if\n' "$1" "$2"
}
{
  # A path that was only slashes becomes "." (the preopen itself).
  printf '\t.section\t.rodata.__wasix_shim_dot,"",@\n__wasix_shim_dot:\n\t.asciz\t"."\n\t.size\t__wasix_shim_dot, 2\n'
  # name | wasm params | path (ptr,len) local pairs
  while IFS='|' read -r name params pairs; do
    sig="($params) -> (i32)"; imp=__wasix_shim_p1_$name; fn=__imported_wasi_snapshot_preview1_$name
    nparams=$(echo "$params" | tr ',' '\n' | wc -l)
    printf '\t.functype\t%s %s\n\t.import_module\t%s, wasi_snapshot_preview1\n\t.import_name\t%s, %s\n' "$imp" "$sig" "$imp" "$imp" "$name"
    printf '\t.section\t.text.%s,"",@\n\t.globl\t%s\n\t.type\t%s,@function\n%s:\n\t.functype\t%s %s\n\t.local\ti32\n' "$fn" "$fn" "$fn" "$fn" "$fn" "$sig"
    for pair in $pairs; do strip_slashes "${pair%,*}" "${pair#*,}" "$nparams"; done
    for ((i = 0; i < nparams; i++)); do printf '\tlocal.get\t%d\n' "$i"; done
    printf '\tcall\t%s\n\tend_function\n' "$imp"
  done <<'EOT'
path_create_directory|i32, i32, i32|1,2
path_filestat_get|i32, i32, i32, i32, i32|2,3
path_filestat_set_times|i32, i32, i32, i32, i64, i64, i32|2,3
path_link|i32, i32, i32, i32, i32, i32, i32|2,3 5,6
path_open|i32, i32, i32, i32, i32, i64, i64, i32, i32|2,3
path_readlink|i32, i32, i32, i32, i32, i32|1,2
path_remove_directory|i32, i32, i32|1,2
path_rename|i32, i32, i32, i32, i32, i32|1,2 4,5
path_symlink|i32, i32, i32, i32, i32|3,4
path_unlink_file|i32, i32, i32|1,2
EOT
} >> "$B/shim.s"
llvm-mc-19 -triple=$T -mattr=+atomics,+bulk-memory,+mutable-globals,+exception-handling -filetype=obj \
  -o "$B/shim.o" "$B/shim.s"

# 4. a sysroot laid out like rustup's: host libs, rust-lld (lld-19 + the clock --wrap), the new std, wasix-libc
#    with the shim as its self-contained C runtime.
rm -rf "$S"; H="$S/lib/rustlib/x86_64-unknown-linux-gnu"; SC="$S/lib/rustlib/$T/lib/self-contained"
mkdir -p "$H/bin" "$SC"
ln -sfn /usr/lib/rustlib/x86_64-unknown-linux-gnu/lib "$H/lib"
printf '#!/bin/sh\nexec /usr/bin/lld-19 "$@" --wrap=clock_gettime --wrap=clock_getres --wrap=clock_nanosleep\n' > "$H/bin/rust-lld"
chmod +x "$H/bin/rust-lld"
cp "$D/target/$T/release/deps/"*.rlib "$S/lib/rustlib/$T/lib/" && rm -f "$S/lib/rustlib/$T/lib/"libstddummy-*
cp "$L/usr/lib/wasm32-wasi/"*.o "$L/usr/lib/wasm32-wasi/"*.a "$SC/"
llvm-ar-19 d "$SC/libc.a" wasi_thread_start.o   # replaced by the shim's (which catches thread_exit's throw)
llvm-ar-19 rs "$SC/libc.a" "$B/shim.o"
echo "$STAMP" > "$S/.complete"
printf '#!/bin/sh\nexec /usr/bin/rustc --sysroot %s "$@"\n' "$S" > "$ROOT/rustc-wasi-threads"; chmod +x "$ROOT/rustc-wasi-threads"
log "wasm32-wasip1-threads sysroot ready (wasix-libc $(dpkg-deb -f "$WASIX_LIBC_DEB" Version))"
