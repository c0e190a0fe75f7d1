#!/usr/bin/env bash
# Documentation that must not drift: the README's configuration table against both loaders' lists.
# (docs/error-codes.md and the shared vectors are checked by 30-interop.sh and the manifests drift test.)
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/check-config-table.js
