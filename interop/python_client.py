#!/usr/bin/env python3
"""python-tuf (ngclient) as an independent client of a repository x0x-dist wrote.

Serves REPO (which holds metadata/ and targets/ in consistent-snapshot layout) over HTTP on 127.0.0.1, or reads
a running x0x-dist server at --url (its /tuf/metadata/ and /tuf/targets/), starts a tuf.ngclient.Updater from the trusted ROOT, refreshes (root rotation, timestamp, snapshot, targets, the
delegated package role) and downloads every --target, comparing the bytes with --expect-file when given.

Exit status 0 when every target downloaded and verified; --expect-error NAME inverts that: the refresh or a
download must fail with the python-tuf exception class NAME (e.g. BadSignatureError, ExpiredMetadataError).
"""
import argparse
import functools
import hashlib
import json
import http.server
import os
import shutil
import sys
import tempfile
import threading

from securesystemslib.formats import encode_canonical
from tuf.ngclient import Updater


def check_keyids(root_bytes: bytes) -> None:
    """Every key id in the root equals securesystemslib's rule: sha256 of the canonical {keytype, scheme, keyval}."""
    keys = json.loads(root_bytes)["signed"]["keys"]
    for keyid, k in keys.items():
        d = {"keytype": k["keytype"], "scheme": k["scheme"], "keyval": k["keyval"]}
        want = hashlib.sha256(encode_canonical(d).encode()).hexdigest()
        if want != keyid:
            raise AssertionError(f"key id {keyid} differs from securesystemslib's {want}")
    print(f"ok: {len(keys)} root key ids match securesystemslib's key id rule")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):  # keep CI logs short
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--repo", help="directory with metadata/ and targets/ (served here on 127.0.0.1)")
    where.add_argument("--url", help="a running x0x-dist server (or load balancer) serving /tuf/")
    ap.add_argument("--root", required=True, help="trusted root.json to start from")
    ap.add_argument("--target", action="append", default=[], help="target path to download (repeatable)")
    ap.add_argument("--expect-file", action="append", default=[], help="expected bytes of each --target, in order")
    ap.add_argument("--expect-error", help="python-tuf exception class name the run must fail with")
    ap.add_argument("--check-keyids", action="store_true", help="also check the root's key ids (see check_keyids)")
    args = ap.parse_args()

    server = None
    if args.url:
        base = args.url.rstrip("/") + "/tuf"
    else:
        handler = functools.partial(QuietHandler, directory=args.repo)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
    work = tempfile.mkdtemp(prefix="x0x-interop-")
    try:
        meta_dir = os.path.join(work, "metadata")
        dl_dir = os.path.join(work, "downloads")
        os.makedirs(meta_dir)
        os.makedirs(dl_dir)
        with open(args.root, "rb") as f:
            bootstrap = f.read()
        if args.check_keyids:
            check_keyids(bootstrap)
        try:
            updater = Updater(
                metadata_dir=meta_dir,
                metadata_base_url=f"{base}/metadata/",
                target_base_url=f"{base}/targets/",
                target_dir=dl_dir,
                bootstrap=bootstrap,
            )
            updater.refresh()
            for i, path in enumerate(args.target):
                info = updater.get_targetinfo(path)
                if info is None:
                    raise LookupError(f"python-tuf found no target {path}")
                out = updater.download_target(info, os.path.join(dl_dir, f"{i}.bin"))
                with open(out, "rb") as f:
                    got = f.read()
                if i < len(args.expect_file):
                    with open(args.expect_file[i], "rb") as f:
                        if f.read() != got:
                            raise AssertionError(f"{path}: downloaded bytes differ from {args.expect_file[i]}")
                custom = info.custom or {}
                print(f"ok {path} {info.length} bytes sha256={info.hashes['sha256']} custom={custom}")
            print(f"python-tuf verified {len(args.target)} target(s) from {args.url or args.repo}")
        except Exception as e:  # noqa: BLE001
            if args.expect_error and type(e).__name__ == args.expect_error:
                print(f"ok: failed as expected with {type(e).__name__}: {e}")
                return 0
            print(f"python-tuf failed: {type(e).__name__}: {e}", file=sys.stderr)
            return 1
        if args.expect_error:
            print(f"expected {args.expect_error} but everything verified", file=sys.stderr)
            return 1
        return 0
    finally:
        if server is not None:
            server.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
