#!/usr/bin/env bash
# flip-byte.sh FILE OFFSET: inverts every bit of the byte at OFFSET, in place. For tamper tests: writing a fixed
# byte (`printf X | dd ...`) leaves random test data unchanged once in 256 runs, and the test then fails for no
# reason; an inverted byte always differs.
set -euo pipefail
f=$1; off=$2
b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
[ -n "$b" ] || { echo "flip-byte.sh: $f has no byte at offset $off" >&2; exit 1; }
# shellcheck disable=SC2059 # the format is the octal escape of the new byte
printf "$(printf '\\%03o' $((b ^ 255)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
