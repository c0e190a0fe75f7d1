#!/usr/bin/env python3
"""Peer for `benches/run.sh manifests-verify` (benches/manifests/verify.rs): python-tuf's TrustedMetadataSet
verifying the same vector repository chain (root rotation, timestamp, snapshot, targets, delegated x0x)."""
import os
import sys
import time
from datetime import datetime, timezone

from tuf.api.metadata import Root
from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
from tuf.ngclient.config import EnvelopeType

D = os.path.join(os.path.dirname(__file__), "..", "..", "manifests", "vectors", "repo", "metadata")


def read(name: str) -> bytes:
    with open(os.path.join(D, name), "rb") as f:
        return f.read()


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    files = [read(f) for f in ["1.root.json", "2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json", "1.x0x.json"]]
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def run():
        s = TrustedMetadataSet(files[0], EnvelopeType.METADATA)
        s.reference_time = now
        s.update_root(files[1])
        s.update_timestamp(files[2])
        s.update_snapshot(files[3])
        s.update_targets(files[4])
        s.update_delegated_targets(files[5], "x0x", "targets")

    for _ in range(20):
        run()
    t0 = time.perf_counter()
    for _ in range(n):
        run()
    per = (time.perf_counter() - t0) / n
    print(f"python-tuf {Root.__module__.split('.')[0]}: full chain {per * 1e6:.1f} us/iteration over {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
