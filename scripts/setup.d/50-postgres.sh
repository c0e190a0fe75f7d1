#!/usr/bin/env bash
# PostgreSQL for the commit coordinator's tests (server/src/coordinator/; test-support/src/postgres.rs starts a
# private cluster per test as the `postgres` user). Debian's `postgresql` package: the binaries only are used (the
# packaged cluster is not needed and may stay stopped). Idempotent and fast when present.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  apt-get update -q >/dev/null
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends postgresql >/dev/null
fi
id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
echo "postgres setup ok ($(ls -d /usr/lib/postgresql/*/bin | tail -1))"
