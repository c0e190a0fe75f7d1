"""pytest plugin for tuf-conformance runs of the x0x-dist clients (scripts/tuf-conformance.sh).

The suite's repository simulator signs with ecdsa-sha2-nistp256 keys unless a test asks for another key
type; this plugin makes ed25519 the default key type, for the second of the two runs docs/conformance.md
records (TUF_CONFORMANCE_KEYS=ed25519). Tests that ask for a key type explicitly (test_keytype_and_scheme)
and the static repositories (ecdsa-signed, not produced by the simulator) are unchanged.
"""

from tuf_conformance._internal import repository_simulator

repository_simulator.RepositorySimulator.new_signer.__defaults__ = ("ed25519", "ed25519")
