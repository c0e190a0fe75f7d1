#!/usr/bin/env bash
# Issue 14: `x0x` installs at every package manager's DEFAULT settings (no install script: nothing to approve)
# and loads in every runtime: npm 11/12, pnpm 10/12, yarn 4 (PnP and node-modules) and Bun through one local
# Verdaccio, with and without platform packages; Node 18/20/22/24/26, Bun, Deno, Node's permission model
# (loader/js/e2e/matrix.sh; toolchains from scripts/setup.d/64-install-matrix.sh). Set X0X_MATRIX_E2E=0 to skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${X0X_MATRIX_E2E:-1}" != 0 ]; then
  scripts/deadline.sh 1200 bash loader/js/e2e/matrix.sh
fi
