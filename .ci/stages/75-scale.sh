#!/usr/bin/env bash
# Scale-out on a real object store (issue 13): a 3-node Garage cluster on 127.0.0.1 (scripts/garage-cluster.sh;
# garage and nginx from scripts/setup.d/75-garage.sh), then with X0X_S3_ENV=DIR/env X0X_REQUIRE_S3=1:
#  1. server/tests/s3_store.rs: the store-level assertions on the S3 store (multipart, aborts, ranges, links);
#  1b. server/tests/coordinator.rs `*_on_s3`: the commit coordinator on the bucket (PostgreSQL, single writer);
#  2. cli/tests/scale_garage.sh: a repository migrated into the bucket, a publish leader and a follower on it
#     behind nginx; publishes through nginx and each replica (also concurrent), python-tuf and the JS loader
#     through nginx, kill -9 of the leader mid-upload and at five points of a commit and of the follower
#     mid-forward (each time the bucket copied back passes `x0x-dist verify`, the retry lands), a Garage node down, the
#     follower's visibility lag (poll_secs 1). Uses the core of stage 50 (dist/core) when present.
# Bounded: ~1 min once x0x-dist is built (GARAGE_BASE_PORT moves the cluster's ports, default 39000).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -f dist/core/x0x.linux-x64-gnu.node ]; then export X0X_CORE_DIR=$PWD/dist/core; fi
# Garage is built in the background by scripts/setup.sh (overlapped with the stages before this one).
scripts/await-setup.sh 75-garage 2400
G=$(mktemp -d /tmp/x0x-ci-garage.XXXXXX)
trap 'bash scripts/garage-cluster.sh stop "$G" || true; rm -rf "$G"' EXIT
t0=$SECONDS
scripts/deadline.sh 180 bash scripts/garage-cluster.sh start "$G" 3
echo "garage cluster up in $((SECONDS - t0)) s"
export X0X_S3_ENV=$G/env X0X_REQUIRE_S3=1
scripts/deadline.sh 600 cargo test -p x0x-dist-server --test s3_store
# The commit coordinator on the bucket (docs/coordinator.md): 3 replicas + PostgreSQL publishing at once, the
# single writer's claim and its out-of-band check (the *_on_s3 tests; the directory variants ran in stage 20).
scripts/deadline.sh 600 cargo test -p x0x-dist-server --test coordinator on_s3
scripts/deadline.sh 600 bash cli/tests/scale_garage.sh
# Day-2 verbs on the bucket (package add|resign, verify with --storage --database beside a publishing replica; the
# writer claim without a database) and kill -9 of a random replica at each commit point, 10 times (~1.5 min).
scripts/deadline.sh 300 cargo test -p x0x-dist --test live_admin --test crash_commit_points on_s3
# Any replica publishes (issue 20): 3 serve --database replicas + PostgreSQL behind nginx on the bucket (~2 min).
scripts/deadline.sh 300 bash cli/tests/scale_garage_db.sh
echo "scale stage ok in $((SECONDS - t0)) s"
