#!/usr/bin/env bash
# The npm optionalDependencies model end to end, through a real registry: `x0x` and its platform packages
# `@x0x/core-<platform>` (scripts/pack.js --platform-packages, from the real dist/core release on a real
# `x0x-dist serve`) published to a local Verdaccio 6.8.0 (scripts/setup.d/62-verdaccio.sh), then installed
# by real npm and pnpm into fresh projects and loaded with no network (loader/js/e2e/registry.sh; about
# 1 minute). Set X0X_REGISTRY_E2E=0 to skip it locally.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "${X0X_REGISTRY_E2E:-1}" != 0 ]; then
  scripts/deadline.sh 900 bash loader/js/e2e/registry.sh
fi
