#!/usr/bin/env python3
"""fake-build.py PLATFORM SIZE OUT: a test stand-in for a release file of PLATFORM (napi name, e.g.
linux-x64-gnu, wasm32-wasip1): the header of a real build for that platform, then random bytes up to SIZE bytes.

`x0x-dist publish`, `package release` and the server check each file's content against the platform its name
claims (issue 21; x0x-dist-loader's artifact.rs, whose `minimal_build` this mirrors). Stages and benches that
publish synthetic files use this instead of `head -c N /dev/urandom`. Nothing can load the result.
"""
import os
import struct
import sys


def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n == 0:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def header(platform, payload_len):
    if platform.startswith("wasm32-wasip1"):
        out = bytearray(b"\0asm\x01\0\0\0")
        if platform == "wasm32-wasip1-threads":
            out += bytes([1, 4, 1, 0x60, 0, 0])  # type section: () -> ()
            sec = bytearray([2])
            for name in (b"wasi", b"thread-spawn"):
                sec += bytes([len(name)]) + name
            sec += bytes([0, 0])
            for name in (b"env", b"memory"):
                sec += bytes([len(name)]) + name
            sec += bytes([2, 3, 1, 1])  # shared memory, min 1, max 1
            out += bytes([2]) + leb(len(sec)) + sec
        name = b"\x03x0x"  # custom section "x0x" holding the payload
        out += bytes([0]) + leb(len(name) + payload_len) + name
        return bytes(out)
    if platform.startswith("linux-"):
        arch = platform.split("-")[1]
        is64, machine = {"x64": (True, 62), "arm64": (True, 183), "arm": (False, 40)}[arch]
        ident = b"\x7fELF" + bytes([2 if is64 else 1, 1, 1, 0]) + bytes(8)
        if is64:
            rest = struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, 0, 0, 64, 56, 0, 64, 0, 0)
        else:
            rest = struct.pack("<HHIIIIIHHHHHH", 3, machine, 1, 0, 0, 0, 0, 52, 32, 0, 40, 0, 0)
        return ident + rest
    if platform.startswith("darwin-"):
        cpu = 0x0100000C if platform.endswith("arm64") else 0x01000007
        return struct.pack("<IIIIIIII", 0xFEEDFACF, cpu, 0, 6, 0, 0, 0, 0)
    if platform.startswith("win32-x64"):
        h = bytearray(b"MZ") + bytes(0x3A) + struct.pack("<I", 0x40) + b"PE\0\0" + struct.pack("<H", 0x8664)
        return bytes(h) + bytes(0x40 + 24 - len(h))
    sys.exit(f"fake-build.py: unknown platform {platform}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    platform, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # The header's length does not depend on the payload length for sizes below 2^21 - 4 (one more LEB byte
    # above): compute it with the final length.
    guess = len(header(platform, size))
    payload = max(0, size - guess)
    head = header(platform, payload)
    payload = max(0, size - len(head))
    head = header(platform, payload)
    with open(out, "wb") as f:
        f.write(head)
        left = payload
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n


if __name__ == "__main__":
    main()
