'use strict';
// Independent implementation: a repository written by python-tuf (interop/python_writer.py: root rotation,
// delegation, unknown fields, consistent snapshot) is verified and loaded by this loader.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { Resolver } = require('../lib/loader');

const WS = path.join(__dirname, '..', '..', '..');
const PY = path.join(WS, '.toolchains', 'venv', 'bin', 'python');
const hasTuf = fs.existsSync(PY) && spawnSync(PY, ['-c', 'import tuf.api.metadata'], { stdio: 'ignore' }).status === 0;

// `mixed`: every other key type, signed by securesystemslib (root ecdsa P-256 rotated to rsa, targets P-384,
// snapshot rsa, timestamp under the legacy keytype ecdsa-sha2-nistp256, the x0x role ecdsa P-256).
for (const keys of ['ed25519', 'mixed'])
test(`a python-tuf-written repository (${keys} keys) verifies and loads`, { skip: !hasTuf && !process.env.CI && 'python-tuf venv not installed' }, () => {
  const d = h.tmpdir();
  const repo = path.join(d, 'repo');
  const w = spawnSync(PY, [path.join(WS, 'interop', 'python_writer.py'), '--out', repo, '--keys', keys], { encoding: 'utf8' });
  assert.equal(w.status, 0, w.stderr);
  const pkg = path.join(d, 'pkg');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, 'package.json'), '{"name":"x0x","version":"0.3.1"}');
  fs.copyFileSync(path.join(repo, 'metadata', '1.root.json'), path.join(pkg, 'root.json'));
  const load = (host, cache) =>
    new Resolver({
      pkgDir: pkg,
      env: { X0X_DIST_CACHE: path.join(d, cache), X0X_DIST_URL: `file://${repo}` },
      host,
      loadNative: (f) => fs.readFileSync(f),
      loadWasm: (b) => b,
    }).resolve();
  const native = load({ platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' }, 'c1');
  assert.equal(native.platform, 'linux-x64-gnu');
  const stored = fs.readdirSync(path.join(repo, 'targets', 'x0x', '0.3.1')).find((f) => f.endsWith('.x0x.linux-x64-gnu.node'));
  assert.deepEqual(native.exports, fs.readFileSync(path.join(repo, 'targets', 'x0x', '0.3.1', stored)));
  const wasm = load({ platform: 'freebsd', arch: 'x64' }, 'c2');
  assert.equal(wasm.platform, 'wasm32-wasip1');
});
