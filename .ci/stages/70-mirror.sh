#!/usr/bin/env bash
# Mirror and air-gapped bundles (repository/src/mirror, repository/src/bundle, server/src/mirror/pull.rs,
# loader/js/lib/bundle.js): the mirror and bundle tests against real servers on 127.0.0.1 (pull-through,
# tampering upstream, tampered mirror, upstream down, sync filters/resume, rollback; bundle round trips,
# damaged/forged bundles; the import's durability order read with strace and kill -9 mid-import,
# bundle_crash.rs), and the air-gapped install inside a network namespace (Rust and JS loaders; expiry refused
# by default, accepted under X0X_DIST_ALLOW_EXPIRED_AFTER), and `npm install` of the packed x0x package
# against a pull-through mirror (cli/tests/mirror_npm.sh). Uses the core built by stage 50 (dist/core) when
# present. Bounded: ~2 min.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f dist/core/x0x.linux-x64-gnu.node ]; then export X0X_CORE_DIR=$PWD/dist/core; fi
# Require the namespace when this machine can make one (root + iproute2), so the air-gapped test cannot
# silently degrade to the env-only variant.
if ip netns add x0xci-probe 2>/dev/null; then ip netns del x0xci-probe; export X0X_REQUIRE_NETNS=1; fi
scripts/deadline.sh 600 cargo test -p x0x-dist-repository --lib -- bundle:: mirror::
scripts/deadline.sh 900 cargo test -p x0x-dist --test mirror --test bundle --test bundle_crash --test bundle_airgap -- --include-ignored
scripts/deadline.sh 300 bash cli/tests/mirror_npm.sh
echo "mirror stage ok"
