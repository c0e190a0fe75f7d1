'use strict';
// Build test/fixtures/addon.c into a real .node with the system C compiler and Node's own headers.
// Returns null (tests skip) when either is missing.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

function buildAddon(outDir) {
  const include = [path.join(path.dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((p) =>
    fs.existsSync(path.join(p, 'node_api.h')),
  );
  if (!include) return null;
  const out = path.join(outDir, 'addon.node');
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', `-I${include}`, '-o', out, path.join(__dirname, '..', 'fixtures', 'addon.c')], {
    stdio: 'pipe',
  });
  return r.status === 0 ? out : null;
}

module.exports = { buildAddon };
