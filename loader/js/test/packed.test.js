'use strict';
// The packed index.js (scripts/pack.js) and its inlined warm path (lib/hot.js): a warm require of the real
// package compiles that one module and loads nothing from lib/; anything that invalidates the record (a
// touched blob, a replaced node binary identity, X0X_DIST_VERIFY=always, a WASM-forcing setting) sends it
// through lib/warm.js and the full resolver, and the binary still loads.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');

const d = h.tmpdir();
const addon = process.platform === 'linux' && process.arch === 'x64' ? buildAddon(d) : null;
const skip = !addon && !process.env.CI && 'no C compiler / node headers'; // CI installs both: never skip there

// Prints the addon's answer and the package files loaded (relative to the package).
const PROBE = `const x = require('x0x'); const pkg = require('path').dirname(require.resolve('x0x'));
console.log(JSON.stringify({ hello: x.hello(), loaded: Object.keys(require.cache).filter((f) => f.startsWith(pkg)).map((f) => require('path').relative(pkg, f)) }))`;

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
  return { repo, project: path.join(d, 'project'), cache: path.join(d, 'cache') };
}

function probe(s, env = {}) {
  const r = spawnSync(process.execPath, ['-e', PROBE], { cwd: s.project, env: { ...process.env, X0X_DIST_CACHE: s.cache, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('packed index.js: cold through lib/, warm from index.js alone; invalidated records go back through lib/', { skip }, () => {
  const s = setup();
  const cold = probe(s, { X0X_DIST_URL: `file://${s.repo.dir}` });
  assert.equal(cold.hello, 'hello from native');
  assert.ok(cold.loaded.includes(path.join('lib', 'loader.js')), cold.loaded.join(' '));

  const warm = probe(s, { X0X_DIST_URL: 'http://127.0.0.1:9' });
  assert.equal(warm.hello, 'hello from native');
  assert.deepEqual(warm.loaded, ['index.js'], 'a warm require loads only index.js');

  // The same record, but X0X_DIST_VERIFY=always: re-verified through lib/.
  const always = probe(s, { X0X_DIST_OFFLINE: '1', X0X_DIST_VERIFY: 'always' });
  assert.equal(always.hello, 'hello from native');
  assert.ok(always.loaded.includes(path.join('lib', 'loader.js')), always.loaded.join(' '));

  // A different X0X_FORCE_WASM mode is a different record: not the native one.
  const forbid = probe(s, { X0X_DIST_OFFLINE: '1', X0X_FORCE_WASM: 'error' });
  assert.ok(forbid.loaded.includes(path.join('lib', 'warm.js')), forbid.loaded.join(' '));

  // A touched blob (same bytes, new mtime) no longer matches the record: re-hashed through lib/, then warm again.
  const blobs = path.join(s.cache, 'blobs');
  const blob = path.join(blobs, fs.readdirSync(blobs).find((f) => f.endsWith('.node')));
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(blob, t, t);
  const touched = probe(s, { X0X_DIST_OFFLINE: '1' });
  assert.equal(touched.hello, 'hello from native');
  assert.ok(touched.loaded.includes(path.join('lib', 'loader.js')), touched.loaded.join(' '));
  assert.deepEqual(probe(s, { X0X_DIST_OFFLINE: '1' }).loaded, ['index.js'], 'the re-verification wrote a fresh record');

  // A record pointing outside <cache>/blobs is never used by the inlined path.
  const resolved = path.join(s.cache, 'resolved');
  const recFile = path.join(resolved, fs.readdirSync(resolved).find((f) => f.includes('-auto-')));
  const rec = JSON.parse(fs.readFileSync(recFile, 'utf8'));
  const elsewhere = path.join(d, 'elsewhere.node');
  fs.copyFileSync(addon, elsewhere);
  const st = fs.statSync(elsewhere);
  fs.writeFileSync(recFile, JSON.stringify({ ...rec, blob: elsewhere, blobId: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev } }));
  const outside = probe(s, { X0X_DIST_OFFLINE: '1' });
  assert.ok(outside.loaded.includes(path.join('lib', 'loader.js')), outside.loaded.join(' '));
});
