'use strict';
// Issue 14: Node's permission model. Under `--permission` (Node 20: `--experimental-permission`) without
// `--allow-addons` the native candidates are skipped with loader.permission_denied and the WASM build takes
// over (no flag for that); when nothing else loads, the error names the exact flag. Real node processes, a
// real N-API addon; the real WASM fallback under the model is in loader/js/e2e/matrix.sh.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');
const { permissionState } = require('../lib/permission');

const PERM = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : process.allowedNodeEnvironmentFlags.has('--experimental-permission') ? '--experimental-permission' : null;
const d = h.tmpdir();
const addon = process.platform === 'linux' && process.arch === 'x64' ? buildAddon(d) : null;
const skip = (!PERM && 'this node has no permission model') || (!addon && !process.env.CI && 'no C compiler / node headers');

test('permissionState: off without the model; with it, each capability from process.permission.has', () => {
  assert.deepEqual(permissionState({ execArgv: [], env: {} }), { enabled: false, addons: true, wasi: true, child: true });
  const has = (allowed) => ({ has: (s) => allowed.includes(s) });
  assert.deepEqual(permissionState({ permission: has(['fs.read']), execArgv: ['--permission'], env: {} }), { enabled: true, addons: false, wasi: false, child: false });
  assert.deepEqual(permissionState({ permission: has(['addon', 'wasi', 'child']), execArgv: [], env: { NODE_OPTIONS: '--permission --allow-addons' } }), { enabled: true, addons: true, wasi: true, child: true });
  // A Node that does not know a scope: judged by the flags given.
  const old = { has: (s) => { if (s === 'addon' || s === 'wasi') throw new TypeError('unknown scope'); return s === 'fs.read'; } };
  assert.deepEqual(permissionState({ permission: old, execArgv: ['--experimental-permission', '--allow-addons'], env: {} }), { enabled: true, addons: true, wasi: false, child: false });
});

function setup() {
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: fs.readFileSync(addon), custom: { glibc_floor: '2.2.5', libc: 'glibc' } } });
  fs.writeFileSync(path.join(d, 'root.json'), repo.anchor);
  const packed = spawnSync(process.execPath, [path.join(h.LOADER, 'scripts', 'pack.js'), '--version', '0.3.1', '--root', path.join(d, 'root.json'), '--repo', repo.dir, '--out', d], { encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const nm = path.join(d, 'project', 'node_modules');
  fs.mkdirSync(nm, { recursive: true });
  assert.equal(spawnSync('tar', ['xzf', packed.stdout.trim(), '-C', nm]).status, 0);
  fs.renameSync(path.join(nm, 'package'), path.join(nm, 'x0x'));
  // The native binary from the cache (prefetched without the model), so no child process is needed.
  const cache = path.join(d, 'cache');
  const r = spawnSync(process.execPath, [path.join(nm, 'x0x', 'bin', 'x0x.js'), 'prefetch'], { env: { ...process.env, X0X_DIST_CACHE: cache, X0X_DIST_URL: `file://${repo.dir}` }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { project: path.join(d, 'project'), cache };
}

const PROBE = "try { console.log('ok', require('x0x').hello()) } catch (e) { console.log('error', e.code); console.log(e.message) }";

test('under --permission: without --allow-addons the native build is refused by name and the flag is named; with it, loads', { skip }, () => {
  const s = setup();
  const env = { ...process.env, X0X_DIST_CACHE: s.cache, X0X_DIST_OFFLINE: '1' };
  delete env.X0X_DIST_URL;
  const run = (...flags) => spawnSync(process.execPath, [PERM, '--allow-fs-read=*', ...flags, '-e', PROBE], { cwd: s.project, env, encoding: 'utf8' });
  const denied = run();
  assert.match(denied.stdout, /^error loader\.no_candidate/, denied.stdout + denied.stderr);
  assert.match(denied.stdout, /linux-x64-gnu: \[loader\.permission_denied\] Node's permission model forbids native addons/);
  assert.match(denied.stdout, /allow --allow-addons \(native build\)/);
  assert.match(denied.stdout, /--allow-wasi \(WASM build\)/);
  const allowed = run('--allow-addons');
  assert.match(allowed.stdout, /^ok hello from native/, allowed.stdout + allowed.stderr);
  // And without the model, the warm record written before is still used (none was written under it).
  const plain = spawnSync(process.execPath, ['-e', PROBE], { cwd: s.project, env, encoding: 'utf8' });
  assert.match(plain.stdout, /^ok hello from native/);
});
