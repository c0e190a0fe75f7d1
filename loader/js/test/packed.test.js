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

function setup(dir = d) {
  const repo = new h.Repo(path.join(dir, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: fs.readFileSync(addon), custom: { glibc_floor: '2.2.5', libc: 'glibc' } } });
  fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
  const packed = spawnSync(process.execPath, [path.join(h.LOADER, 'scripts', 'pack.js'), '--version', '0.3.1', '--root', path.join(dir, 'root.json'), '--repo', repo.dir, '--out', dir], { encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const nm = path.join(dir, 'project', 'node_modules');
  fs.mkdirSync(nm, { recursive: true });
  assert.equal(spawnSync('tar', ['xzf', packed.stdout.trim(), '-C', nm]).status, 0);
  fs.renameSync(path.join(nm, 'package'), path.join(nm, 'x0x'));
  return { repo, project: path.join(dir, 'project'), cache: path.join(dir, 'cache') };
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

// --- Platform packages (pack.js --platform-packages): the npm optionalDependencies model -------------------

const crypto = require('crypto');
const pack = require('../scripts/pack');

function packPlatform(dir, repo, extra = []) {
  const r = spawnSync(
    process.execPath,
    [path.join(h.LOADER, 'scripts', 'pack.js'), '--version', '0.3.1', '--root', path.join(dir, 'root.json'), '--repo', repo.dir, '--platform-packages', '--out', path.join(dir, 'out'), ...extra],
    { encoding: 'utf8' },
  );
  return { ...r, tgzs: r.stdout.trim().split('\n').filter(Boolean) };
}

function untar(tgz, dest) {
  fs.mkdirSync(dest, { recursive: true });
  assert.equal(spawnSync('tar', ['xzf', tgz, '-C', dest]).status, 0);
  return path.join(dest, 'package');
}

test('npm constraints per platform: os/cpu, libc only on Linux (glibc/musl), none for WASM', () => {
  const { fromName } = require('../lib/platforms');
  assert.deepEqual(pack.npmConstraints(fromName('linux-x64-gnu')), { os: ['linux'], cpu: ['x64'], libc: ['glibc'] });
  assert.deepEqual(pack.npmConstraints(fromName('linux-arm64-musl')), { os: ['linux'], cpu: ['arm64'], libc: ['musl'] });
  assert.deepEqual(pack.npmConstraints(fromName('linux-arm-gnueabihf')), { os: ['linux'], cpu: ['arm'], libc: ['glibc'] });
  assert.deepEqual(pack.npmConstraints(fromName('darwin-arm64')), { os: ['darwin'], cpu: ['arm64'] });
  assert.deepEqual(pack.npmConstraints(fromName('win32-x64-msvc')), { os: ['win32'], cpu: ['x64'] });
  assert.deepEqual(pack.npmConstraints(fromName('wasm32-wasip1')), {});
  assert.equal(pack.platformPackageName('acme', fromName('linux-x64-musl')), '@acme/core-linux-x64-musl');
  assert.deepEqual(pack.args(['--platform-packages', '--version', '1.0.0']), { 'platform-packages': true, version: '1.0.0' });
  assert.throws(() => pack.args(['--version']), /needs a value/);
});

test('--platform-packages: one package per signed target, x0x last with exact optionalDependencies (native only); installed, it loads with no repository', { skip }, () => {
  const dir = h.tmpdir('x0x-pp-');
  try {
    const repo = new h.Repo(path.join(dir, 'repo'));
    const musl = crypto.randomBytes(3000);
    const wasm = crypto.randomBytes(2000);
    repo.publish({
      'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: fs.readFileSync(addon), custom: { glibc_floor: '2.2.5', libc: 'glibc' } },
      'x0x/0.3.1/x0x.linux-x64-musl.node': { data: musl },
      'x0x/0.3.1/x0x.wasm32-wasip1.wasm': { data: wasm },
    });
    fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
    // No --release: the bytes are downloaded from the repository (and checked).
    const r = packPlatform(dir, repo);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.tgzs.map((t) => path.basename(t)), [
      'x0x-core-linux-x64-gnu-0.3.1.tgz',
      'x0x-core-linux-x64-musl-0.3.1.tgz',
      'x0x-core-wasm32-wasip1-0.3.1.tgz',
      'x0x-0.3.1.tgz',
    ]);
    const nm = path.join(dir, 'project', 'node_modules');
    const gnu = untar(r.tgzs[0], path.join(dir, 'x-gnu'));
    const gj = JSON.parse(fs.readFileSync(path.join(gnu, 'package.json'), 'utf8'));
    assert.equal(gj.name, '@x0x/core-linux-x64-gnu');
    assert.equal(gj.version, '0.3.1');
    assert.deepEqual([gj.os, gj.cpu, gj.libc, gj.main, gj.files], [['linux'], ['x64'], ['glibc'], 'x0x.linux-x64-gnu.node', ['x0x.linux-x64-gnu.node']]);
    assert.equal(gj.scripts, undefined, 'a platform package runs no scripts');
    assert.match(gj.description, /verified by `x0x`/);
    assert.deepEqual(fs.readdirSync(gnu).sort(), ['README.md', 'package.json', 'x0x.linux-x64-gnu.node']);
    assert.ok(fs.readFileSync(path.join(gnu, 'x0x.linux-x64-gnu.node')).equals(fs.readFileSync(addon)));
    const muslPkg = untar(r.tgzs[1], path.join(dir, 'x-musl'));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(muslPkg, 'package.json'), 'utf8')).libc, ['musl']);
    assert.ok(fs.readFileSync(path.join(muslPkg, 'x0x.linux-x64-musl.node')).equals(musl));
    const wj = JSON.parse(fs.readFileSync(path.join(untar(r.tgzs[2], path.join(dir, 'x-wasm')), 'package.json'), 'utf8'));
    assert.deepEqual([wj.name, wj.os, wj.cpu, wj.libc, wj.main], ['@x0x/core-wasm32-wasip1', undefined, undefined, undefined, 'x0x.wasm32-wasip1.wasm']);
    const x0x = untar(r.tgzs[3], path.join(dir, 'x-x0x'));
    const xj = JSON.parse(fs.readFileSync(path.join(x0x, 'package.json'), 'utf8'));
    assert.deepEqual(xj.optionalDependencies, { '@x0x/core-linux-x64-gnu': '0.3.1', '@x0x/core-linux-x64-musl': '0.3.1' });

    // Laid out as npm installs them on this host: x0x + the matching platform package; no repository at all.
    fs.mkdirSync(path.join(nm, '@x0x'), { recursive: true });
    fs.renameSync(x0x, path.join(nm, 'x0x'));
    fs.renameSync(gnu, path.join(nm, '@x0x', 'core-linux-x64-gnu'));
    const env = { ...process.env, X0X_DIST_CACHE: path.join(dir, 'cache'), X0X_DIST_DEBUG: '1' };
    for (const k of ['X0X_DIST_URL', 'X0X_DIST_BUNDLE', 'X0X_NATIVE_PATH', 'X0X_FORCE_WASM']) delete env[k];
    const run = (code) => spawnSync(process.execPath, ['-e', code], { cwd: path.join(dir, 'project'), env, encoding: 'utf8' });
    const ok = run("console.log(require('x0x').hello())");
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'hello from native');
    assert.match(ok.stderr, /loaded linux-x64-gnu from platform-package/);

    // A platform package of another release (version skew): refused by its hash, and the error says why.
    const ppDir = path.join(nm, '@x0x', 'core-linux-x64-gnu');
    const ppJson = path.join(ppDir, 'package.json');
    const good = fs.readFileSync(ppJson, 'utf8');
    fs.writeFileSync(ppJson, good.replace('"version": "0.3.1"', '"version": "0.3.0"'));
    fs.appendFileSync(path.join(ppDir, 'x0x.linux-x64-gnu.node'), 'other release');
    env.X0X_DIST_CACHE = path.join(dir, 'cache-skew');
    const skew = run("try { require('x0x') } catch (e) { console.log(e.code, e.cause.code); console.log(e.message) }");
    assert.match(skew.stdout, /^loader\.no_candidate target\.length_mismatch\n/);
    assert.match(skew.stdout, /installed @x0x\/core-linux-x64-gnu@0\.3\.0, but x0x is 0\.3\.1/);
    const skewBlobs = path.join(dir, 'cache-skew', 'blobs');
    assert.deepEqual(fs.existsSync(skewBlobs) ? fs.readdirSync(skewBlobs) : [], [], 'nothing admitted to the cache');

    // Omitted (--omit=optional): the error names the missing optional dependency and the repository options.
    fs.rmSync(path.join(nm, '@x0x', 'core-linux-x64-gnu'), { recursive: true });
    env.X0X_DIST_CACHE = path.join(dir, 'cache2');
    const missing = run("try { require('x0x') } catch (e) { console.log(e.code); console.log(e.message) }");
    assert.match(missing.stdout, /^loader\.no_candidate\n/);
    assert.match(missing.stdout, /@x0x\/core-linux-x64-gnu \(an optional dependency of x0x\) is not installed/);
    assert.match(missing.stdout, /X0X_DIST_URL/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--platform-packages: a --release binary that differs from the signed target is refused, nothing printed', () => {
  const dir = h.tmpdir('x0x-pp-');
  try {
    const repo = new h.Repo(path.join(dir, 'repo'));
    const data = crypto.randomBytes(4096);
    repo.publish({ 'x0x/0.3.1/x0x.linux-arm64-gnu.node': { data } });
    fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
    const release = path.join(dir, 'release');
    fs.mkdirSync(release);
    const bad = Buffer.from(data);
    bad[100] ^= 1;
    fs.writeFileSync(path.join(release, 'x0x.linux-arm64-gnu.node'), bad);
    const r = packPlatform(dir, repo, ['--release', release]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /\[target\.digest_mismatch\]/);
    assert.deepEqual(r.tgzs, []);
    fs.writeFileSync(path.join(release, 'x0x.linux-arm64-gnu.node'), data.subarray(1));
    const short = packPlatform(dir, repo, ['--release', release]);
    assert.match(short.stderr, /\[target\.length_mismatch\]/);
    // The signed bytes, a custom scope: named @acme/core-…, and the scope is where the loader will look.
    fs.writeFileSync(path.join(release, 'x0x.linux-arm64-gnu.node'), data);
    const good = packPlatform(dir, repo, ['--release', release, '--scope', 'acme']);
    assert.equal(good.status, 0, good.stderr);
    assert.equal(path.basename(good.tgzs[0]), 'acme-core-linux-arm64-gnu-0.3.1.tgz');
    const x0x = untar(good.tgzs[1], path.join(dir, 'x'));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(x0x, 'package.json'), 'utf8')).optionalDependencies, { '@acme/core-linux-arm64-gnu': '0.3.1' });
    assert.equal(JSON.parse(fs.readFileSync(path.join(x0x, 'release.json'), 'utf8')).scope, 'acme');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without --platform-packages: one line (the x0x package), no optionalDependencies (the CLI the other scripts use)', () => {
  const dir = h.tmpdir('x0x-pp-');
  try {
    const repo = new h.Repo(path.join(dir, 'repo'));
    repo.publish({ 'x0x/0.3.1/x0x.linux-arm64-gnu.node': { data: crypto.randomBytes(100) } });
    fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
    const r = spawnSync(process.execPath, [path.join(h.LOADER, 'scripts', 'pack.js'), '--version', '0.3.1', '--root', path.join(dir, 'root.json'), '--repo', repo.dir, '--out', dir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(path.basename(r.stdout.trim()), 'x0x-0.3.1.tgz');
    const x0x = untar(r.stdout.trim(), path.join(dir, 'x'));
    assert.equal(JSON.parse(fs.readFileSync(path.join(x0x, 'package.json'), 'utf8')).optionalDependencies, undefined);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--platform-packages: two packages npm would install on the same hosts (win32 msvc + gnu): only the preferred one is optional', () => {
  const dir = h.tmpdir('x0x-pp-');
  try {
    const repo = new h.Repo(path.join(dir, 'repo'));
    repo.publish({
      'x0x/0.3.1/x0x.win32-x64-gnu.node': { data: crypto.randomBytes(64) },
      'x0x/0.3.1/x0x.win32-x64-msvc.node': { data: crypto.randomBytes(64) },
      'x0x/0.3.1/x0x.darwin-x64.node': { data: crypto.randomBytes(64) },
    });
    fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
    const r = packPlatform(dir, repo);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.tgzs.length, 4, 'every signed target still gets its package');
    assert.match(r.stderr, /@x0x\/core-win32-x64-gnu@0\.3\.1 .*not an optional dependency: npm would install it alongside @x0x\/core-win32-x64-msvc/);
    const x0x = untar(r.tgzs[3], path.join(dir, 'x'));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(x0x, 'package.json'), 'utf8')).optionalDependencies, {
      '@x0x/core-darwin-x64': '0.3.1',
      '@x0x/core-win32-x64-msvc': '0.3.1',
    });
    assert.match(fs.readFileSync(path.join(x0x, 'README.md'), 'utf8'), /optional dependency `@x0x\/core-<platform>`/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Issue 14: the package needs no allow-list entry in any package manager: no lifecycle script at all (npm 12,
// pnpm 10+, yarn 4 and Bun run none of a dependency's by default), and `npx x0x prefetch` does at install
// time what an install script used to.
test('packed x0x declares no lifecycle script; its bin `x0x prefetch` fills the cache and the next require is warm', { skip }, () => {
  const s = setup(h.tmpdir());
  const pj = JSON.parse(fs.readFileSync(path.join(s.project, 'node_modules', 'x0x', 'package.json'), 'utf8'));
  const LIFECYCLE = ['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare', 'prepublish', 'preuninstall', 'uninstall', 'postuninstall'];
  for (const k of LIFECYCLE) assert.equal((pj.scripts || {})[k], undefined, `x0x declares a ${k} script`);
  // npm runs `node-gyp rebuild` as an implicit install script when a binding.gyp ships: none may.
  assert.equal(fs.existsSync(path.join(s.project, 'node_modules', 'x0x', 'binding.gyp')), false);
  assert.deepEqual(pj.bin, { x0x: 'bin/x0x.js' });
  const bin = path.join(s.project, 'node_modules', 'x0x', 'bin', 'x0x.js');
  assert.ok(fs.statSync(bin).mode & 0o100, 'bin/x0x.js is executable');
  const cache = path.join(d, 'cache-prefetch');
  const env = { ...process.env, X0X_DIST_CACHE: cache, X0X_DIST_URL: `file://${s.repo.dir}` };
  const r = spawnSync(process.execPath, [bin, 'prefetch'], { cwd: s.project, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /x0x: linux-x64-gnu ready \(repository/);
  const warm = probe({ ...s, cache }, { X0X_DIST_URL: 'http://127.0.0.1:9' });
  assert.deepEqual(warm.loaded, ['index.js'], 'after prefetch the first require is warm');
  // Failure: exit 1 with the code and the next step; --if-possible: a warning and exit 0.
  const bad = { ...process.env, X0X_DIST_CACHE: path.join(d, 'cache-none'), X0X_DIST_OFFLINE: '1' };
  delete bad.X0X_DIST_URL;
  const f = spawnSync(process.execPath, [bin, 'prefetch'], { cwd: s.project, env: bad, encoding: 'utf8' });
  assert.equal(f.status, 1, f.stderr);
  assert.match(f.stderr, /\[loader\.no_candidate\][\s\S]*next: /);
  const soft = spawnSync(process.execPath, [bin, 'prefetch', '--if-possible'], { cwd: s.project, env: bad, encoding: 'utf8' });
  assert.equal(soft.status, 0, soft.stderr);
  assert.match(soft.stderr, /warning: could not prefetch/);
  const unknown = spawnSync(process.execPath, [bin, 'prefech'], { cwd: s.project, env: bad, encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "prefech".*npx x0x --help/);
});

// Issue 21: the WASM runtime (3.2 MB of node_modules) is not installed on native hosts: optional peers only.
test('packed x0x lists the WASM runtime as optional peerDependencies, not dependencies', { skip }, () => {
  const s = setup(h.tmpdir());
  const pj = JSON.parse(fs.readFileSync(path.join(s.project, 'node_modules', 'x0x', 'package.json'), 'utf8'));
  const { PINS } = require('../scripts/pack');
  assert.equal(pj.dependencies, undefined);
  assert.deepEqual(pj.peerDependencies, PINS);
  for (const k of Object.keys(PINS)) assert.deepEqual(pj.peerDependenciesMeta[k], { optional: true }, k);
  const readme = fs.readFileSync(path.join(s.project, 'node_modules', 'x0x', 'README.md'), 'utf8');
  assert.match(readme, /npm install @napi-rs\/wasm-runtime@1\.2\.7 @emnapi\/core@/);
});
