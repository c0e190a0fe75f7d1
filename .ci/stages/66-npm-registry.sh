#!/usr/bin/env bash
# Issue 24: the server is also an npm registry. npm 11/12, pnpm 10/12, yarn 4 (PnP and node-modules), Bun and
# Deno install `x0x` from `/npm/` of the origin, a pull-through mirror and an air-gapped mirror (bundle, network
# namespace with only loopback) and load it with no request to /tuf/; same bytes everywhere; npm view, audit,
# a cross-platform lockfile (loader/js/e2e/npm-registry.sh; under a minute; toolchains from
# scripts/setup.d/64-install-matrix.sh). Set X0X_NPM_REGISTRY_E2E=0 to skip it locally.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${X0X_NPM_REGISTRY_E2E:-1}" != 0 ]; then
  scripts/deadline.sh 600 bash loader/js/e2e/npm-registry.sh
fi
