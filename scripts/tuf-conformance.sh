#!/usr/bin/env bash
# tuf-conformance.sh: run the official TUF client conformance suite (theupdateframework/tuf-conformance)
# against our two TUF clients, through the adapters kept in the repo:
#   js    loader/conformance/js   -> loader/js/conformance/client.js (lib/trust.js, lib/tuf.js, lib/fetch.js)
#   rust  loader/conformance/rust -> the example `tuf-conformance` of x0x-dist-loader (verify::TrustedSet)
# No expected failures: there is no <entrypoint>.xfails; every test must pass.
# Key types: each client runs once per mode in TUF_CONFORMANCE_KEYS (default "default ed25519"): `default` is the
# suite as it is (its simulator signs with ecdsa-sha2-nistp256 keys), `ed25519` loads the pytest plugin
# loader/conformance/x0x_ed25519_keys.py, which makes ed25519 the simulator's default key type.
#
# Nothing is fetched: the suite is a local checkout and its Python dependencies are already installed.
#   TUF_CONFORMANCE_DIR     checkout of the suite (required; unset or absent: SKIPPED, exit 2)
#   TUF_CONFORMANCE_PYTHON  a Python with the suite's dependencies (default: python3), e.g. a venv made with
#                           `python3 -m venv V && V/bin/pip install -e "$TUF_CONFORMANCE_DIR"`
#   TUF_CONFORMANCE_CLIENTS clients to run (default: "js rust")
#   TUF_CONFORMANCE_KEYS    key modes to run (default: "default ed25519")
#   TUF_CONFORMANCE_OUT     where reports and summary.txt go (default: target/tuf-conformance)
# Extra arguments go to pytest (e.g. -k test_targetfile_search -rA).
# Exit status: 0 when every client passed every test in every key mode, 1 when one did not, 2 when the suite
# did not run at all (no checkout, or a Python without its dependencies): a skip is never reported as a pass.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
suite=${TUF_CONFORMANCE_DIR:-}
if [ -z "$suite" ] || [ ! -d "$suite/tuf_conformance" ]; then
  echo "tuf-conformance: skipped: set TUF_CONFORMANCE_DIR to a checkout of theupdateframework/tuf-conformance" \
    "(${suite:-unset}${suite:+ has no tuf_conformance/}); see docs/conformance.md" >&2
  echo "tuf-conformance: SKIPPED (exit 2): nothing was tested" >&2
  exit 2
fi
suite=$(cd "$suite" && pwd)
py=${TUF_CONFORMANCE_PYTHON:-python3}
if ! "$py" -c 'import pytest, pytest_jsonreport, tuf, securesystemslib' 2>/dev/null; then
  echo "tuf-conformance: skipped: $py lacks the suite's dependencies;" \
    "install them with: python3 -m venv V && V/bin/pip install -e \"$suite\" (then TUF_CONFORMANCE_PYTHON=V/bin/python)" >&2
  echo "tuf-conformance: SKIPPED (exit 2): nothing was tested" >&2
  exit 2
fi
command -v faketime >/dev/null || { echo "tuf-conformance: the suite needs faketime (apt-get install faketime)" >&2; exit 1; }
out=${TUF_CONFORMANCE_OUT:-$root/target/tuf-conformance}
mkdir -p "$out"
out=$(cd "$out" && pwd)
commit=$(git -C "$suite" rev-parse HEAD 2>/dev/null || cat "$suite/.commit" 2>/dev/null || echo unknown)

status=0
: >"$out/summary.txt"
for client in ${TUF_CONFORMANCE_CLIENTS:-js rust}; do
 for keys in ${TUF_CONFORMANCE_KEYS:-default ed25519}; do
  entry="$root/loader/conformance/$client"
  [ -x "$entry" ] || { echo "tuf-conformance: no entry point $entry" >&2; status=1; continue; }
  case $keys in
    default) plugin=() ;;
    ed25519) plugin=(-p x0x_ed25519_keys) ;;
    *) echo "tuf-conformance: unknown key mode $keys (default, ed25519)" >&2; status=1; continue ;;
  esac
  name=$client-$keys
  if [ "$client" = rust ]; then
    (cd "$root" && cargo build --quiet -p x0x-dist-loader --example tuf-conformance) || { status=1; continue; }
    X0X_CONFORMANCE_RUST_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/examples/tuf-conformance"
    export X0X_CONFORMANCE_RUST_BIN
  fi
  echo "tuf-conformance: $client ($entry), $keys keys, against suite $commit" >&2
  (cd "$suite" && PYTHONPATH="$root/loader/conformance:$suite${PYTHONPATH:+:$PYTHONPATH}" "$py" -m pytest -q \
    "${plugin[@]}" --entrypoint "$entry" \
    --json-report --json-report-file="$out/$name.json" "$@" tuf_conformance) >"$out/$name.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || status=1
  # Anything but "passed" (failed, skipped, xfailed, error) fails the run.
  "$py" - "$name" "$out/$name.json" "$commit" >>"$out/summary.txt" <<'EOF'
import json, sys
client, report, commit = sys.argv[1:]
try:
    tests = json.load(open(report))["tests"]
except (OSError, ValueError, KeyError):
    print(f"{client}: no report ({report})")
    sys.exit(1)
count = lambda o: sum(1 for t in tests if t["outcome"] == o)
print(f"{client}: {len(tests)} tests, {count('passed')} passed, {count('failed')} failed, "
      f"{count('xfailed')} xfailed, {count('skipped')} skipped, suite {commit}")
for t in tests:
    if t["outcome"] != "passed":
        print(f"  {t['outcome']}: {t['nodeid'].split('::', 1)[1]}")
sys.exit(0 if tests and all(t["outcome"] == "passed" for t in tests) else 1)
EOF
  [ $? -eq 0 ] || status=1
 done
done
cat "$out/summary.txt"
echo "tuf-conformance: logs and reports in $out" >&2
exit $status
