#!/usr/bin/env bash
# Regenerates the small ELF fixtures used by the loader's ELF tests (checked in; needs gcc on x86_64 glibc).
#   glibc-2.99.so      a shared object whose verneed asks for GLIBC_2.99 (patched from GLIBC_2.34: same length,
#                      the vna_hash is not used by our parser, so the fixture is an honest "too new" binary)
#   musl-interp.bin    an executable whose PT_INTERP is /lib/ld-musl-x86_64.so.1 (no musl on the build host)
#   plain.so           a shared object with only a GLIBC_2.2.5 need
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/a.c" <<'C'
#include <pthread.h>
#include <string.h>
static void *run(void *p) { return p; }
int spawn(void) { pthread_t t; pthread_create(&t, 0, run, 0); return pthread_join(t, 0); }
C
gcc -O2 -shared -fPIC -o "$tmp/a.so" "$tmp/a.c"
grep -q GLIBC_2.34 "$tmp/a.so"
sed 's/GLIBC_2\.34/GLIBC_2.99/g' "$tmp/a.so" > glibc-2.99.so
cat >"$tmp/b.c" <<'C'
#include <string.h>
unsigned long len(const char *s) { return strlen(s); }
C
gcc -O2 -shared -fPIC -o plain.so "$tmp/b.c"
cat >"$tmp/m.c" <<'C'
void _start(void) { for (;;) {} }
C
gcc -O2 -nostdlib -Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1 -Wl,--no-as-needed -o musl-interp.bin "$tmp/m.c" -lc
strip glibc-2.99.so plain.so musl-interp.bin
ls -l glibc-2.99.so plain.so musl-interp.bin
