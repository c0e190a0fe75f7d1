'use strict';
// lib/hot.js: the pieces of the warm path that replaced slower built-ins keep their exact meaning.
const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('os');
const { safeName, defaultCacheDir, recordLocation } = require('../lib/hot');

test('safeName equals the regex replacement it replaced', () => {
  for (const n of ['x0x-0.3.1-linux-x64-auto-0a1b2c3d', 'x0x-1.0.0+build.7-linux-x64-force-ffffffff', '@x0x/core', 'a b\\c:d~é€😀', '', '._-']) {
    assert.equal(safeName(n), n.replace(/[^A-Za-z0-9._-]/g, '_'), n);
  }
});

test('default cache directory: $HOME as os.homedir() answers it on POSIX, XDG_CACHE_HOME first', () => {
  assert.equal(defaultCacheDir({ HOME: '/home/u' }, 'linux'), '/home/u/.cache/x0x-dist');
  assert.equal(defaultCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/xdg' }, 'linux'), '/xdg/x0x-dist');
  assert.equal(defaultCacheDir({ HOME: '/Users/u' }, 'darwin'), '/Users/u/Library/Caches/x0x-dist');
  if (process.platform !== 'win32' && process.env.HOME) assert.equal(defaultCacheDir({ HOME: process.env.HOME }, process.platform), defaultCacheDir({}, process.platform));
  assert.equal(defaultCacheDir({}, 'linux'), `${os.homedir()}/.cache/x0x-dist`);
});

test('record location: bound to the anchor path, release, force mode and node binary', () => {
  const base = { pkgDir: '/p/node_modules/x0x', pkg: 'x0x', version: '0.3.1', rootPath: undefined, cacheDir: '/c', forceWasm: 'auto' };
  const a = recordLocation(base);
  assert.equal(a.anchorFile, '/p/node_modules/x0x/root.json');
  assert.match(a.recordPath, /^\/c\/resolved\/x0x-0\.3\.1-[a-z0-9]+-[a-z0-9]+-auto-[0-9a-f]{8}\.json$/);
  for (const change of [{ pkgDir: '/q/node_modules/x0x' }, { version: '0.3.2' }, { forceWasm: 'force' }, { rootPath: '/etc/x0x/root.json' }]) {
    assert.notEqual(recordLocation({ ...base, ...change }).recordPath, a.recordPath, JSON.stringify(change));
  }
});

// A cache as the resolver leaves it: an anchor, a blob in <cache>/blobs, and the record lib/loader.js writes.
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');
const { readConfig } = require('../lib/constants');
const { warmRecord, checkRecord, fastLoad, statId, openChecked, validRecord, hotMode, wasmModeOf } = require('../lib/hot');

/** Invert the first byte of `file` in place and set its times back to what they were, to the nanosecond (`touch -r`). */
function flipByteKeepTimes(file) {
  const ref = `${file}.times`;
  assert.equal(require('child_process').spawnSync('touch', ['-r', file, ref]).status, 0);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.from([fs.readFileSync(file)[0] ^ 0xff]), 0, 1, 0);
  fs.closeSync(fd);
  assert.equal(require('child_process').spawnSync('touch', ['-r', ref, file]).status, 0);
  fs.rmSync(ref);
}

function warmCache(dir, env, blobData = Buffer.from('not really a shared object')) {
  const pkgDir = path.join(dir, 'node_modules', 'x0x');
  fs.mkdirSync(pkgDir, { recursive: true });
  fs.writeFileSync(path.join(pkgDir, 'root.json'), '{"signed":{}}');
  const cfg = readConfig(env);
  if (cfg.rootPath) fs.writeFileSync(cfg.rootPath, '{"signed":{"other":1}}');
  const loc = recordLocation({ pkgDir, pkg: 'x0x', version: '0.3.1', rootPath: cfg.rootPath, cacheDir: cfg.cacheDir, forceWasm: cfg.forceWasm });
  const blob = path.join(cfg.cacheDir, 'blobs', 'ab12.node');
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  fs.mkdirSync(path.dirname(loc.recordPath), { recursive: true });
  fs.writeFileSync(blob, blobData);
  const interp = path.join(dir, 'ld.so');
  fs.writeFileSync(interp, 'interpreter');
  const rec = {
    v: 3,
    anchorFile: loc.anchorFile,
    anchorFileId: statId(loc.anchorFile),
    version: '0.3.1',
    platform: 'linux-x64-gnu',
    kind: 'native',
    blob,
    blobId: statId(blob),
    host: { exec: process.execPath, execId: statId(process.execPath), interp, interpId: statId(interp) },
    checkedAt: Date.now(),
  };
  fs.writeFileSync(loc.recordPath, JSON.stringify(rec));
  return { pkgDir, rec, loc, cfg, blob, interp };
}

test('warmRecord finds exactly the record the resolver names, under every setting that moves it', (t) => {
  const d = h.tmpdir();
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  const cwd = process.cwd();
  process.chdir(d); // X0X_DIST_CACHE may be relative: resolved against the working directory
  t.after(() => process.chdir(cwd));
  const envs = [
    { HOME: path.join(d, 'home') },
    { HOME: path.join(d, 'home'), XDG_CACHE_HOME: path.join(d, 'xdg') },
    { HOME: path.join(d, 'home'), XDG_CACHE_HOME: 'relative-xdg-is-ignored' },
    { X0X_DIST_CACHE: path.join(d, 'c1') },
    { X0X_DIST_CACHE: 'rel/c2' },
    { X0X_DIST_CACHE: '', npm_config_x0x_dist_cache: path.join(d, 'c3') },
    { X0X_DIST_CACHE: path.join(d, 'c4'), X0X_DIST_ROOT: path.join(d, 'private-root.json') },
    { X0X_DIST_CACHE: path.join(d, 'c5'), npm_config_x0x_dist_root: path.join(d, 'npm-root.json') },
    { X0X_DIST_CACHE: path.join(d, 'c6'), X0X_FORCE_WASM: 'TRUE' },
    { X0X_DIST_CACHE: path.join(d, 'c6'), npm_config_x0x_force_wasm: 'error' },
    { X0X_DIST_CACHE: path.join(d, 'c6'), X0X_FORCE_WASM: 'no' },
  ];
  for (const env of envs) {
    const c = warmCache(path.join(d, String(envs.indexOf(env))), env);
    if (env.X0X_FORCE_WASM === 'TRUE') {
      // WASM only: the inlined path does not serve it (hotMode); lib/ finds the record the resolver names.
      assert.equal(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.1' }, env), null);
      assert.deepEqual(validRecord(c.loc, '0.3.1', c.cfg.cacheDir), c.rec);
      continue;
    }
    assert.deepEqual(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.1' }, env), c.rec, JSON.stringify(env));
    assert.equal(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.2' }, env), null, 'another release');
    // Bound to the anchor's path: the installed package's root.json, unless X0X_DIST_ROOT names one.
    const elsewhere = warmRecord(path.join(d, 'elsewhere'), { pkg: 'x0x', version: '0.3.1' }, env);
    assert.deepEqual(elsewhere, c.cfg.rootPath ? c.rec : null, `another install, ${JSON.stringify(env)}`);
  }
  // A setting the record was not written under names another record.
  const c = warmCache(path.join(d, 'modes'), { X0X_DIST_CACHE: path.join(d, 'c7') });
  for (const other of [{ X0X_FORCE_WASM: '1' }, { X0X_FORCE_WASM: 'error' }, { X0X_DIST_ROOT: path.join(d, 'modes', 'node_modules', 'x0x', 'root.json') }]) {
    const env = { X0X_DIST_CACHE: path.join(d, 'c7'), ...other };
    if (other.X0X_DIST_ROOT) assert.notEqual(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.1' }, env), null, 'same anchor path, same record');
    else assert.equal(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.1' }, env), null, JSON.stringify(other));
  }
  // A force mode that means nothing never loads from a record (lib/ then reports config.invalid); '0' is auto.
  const base = { X0X_DIST_CACHE: path.join(d, 'c7') };
  assert.deepEqual(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.1' }, { ...base, X0X_FORCE_WASM: '0' }), c.rec);
  for (const bad of ['maybe', 'forbid', '2']) {
    assert.equal(warmRecord(c.pkgDir, { pkg: 'x0x', version: '0.3.1' }, { ...base, X0X_FORCE_WASM: bad }), null, bad);
  }
});

test('checkRecord: every identity the record pins is checked (each tampering alone invalidates it)', (t) => {
  const d = h.tmpdir();
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  const fresh = (name) => warmCache(path.join(d, name), { X0X_DIST_CACHE: path.join(d, name, 'cache') });
  // The blob's identity is checked on the descriptor it is loaded through (openChecked), after checkRecord.
  const check = (c, rec = c.rec) => {
    const ok = checkRecord(rec, c.loc.anchorFile, '0.3.1', c.cfg.cacheDir);
    if (!ok) return ok;
    const fd = openChecked(ok.blob, ok.blobId);
    if (fd < 0) return null;
    fs.closeSync(fd);
    return ok;
  };
  const later = new Date(Date.now() + 5000);
  const intact = fresh('intact');
  assert.deepEqual(check(intact), intact.rec, 'the untouched cache is valid');

  const cases = {
    'record format': (c) => check(c, { ...c.rec, v: 1 }),
    // v2 records pinned no ctime: a byte flipped in place with its mtime restored passed them (issue 21).
    'record format 2 (no ctime)': (c) => check(c, { ...c.rec, v: 2 }),
    'release': (c) => checkRecord(c.rec, c.loc.anchorFile, '0.3.2', c.cfg.cacheDir),
    'anchor path': (c) => checkRecord(c.rec, path.join(d, 'other-root.json'), '0.3.1', c.cfg.cacheDir),
    'anchor touched': (c) => (fs.utimesSync(c.loc.anchorFile, later, later), check(c)),
    'anchor replaced (same size and mtime, new inode)': (c) => {
      const st = fs.statSync(c.loc.anchorFile);
      const tmp = `${c.loc.anchorFile}.new`;
      fs.copyFileSync(c.loc.anchorFile, tmp);
      fs.utimesSync(tmp, st.atime, st.mtime);
      fs.renameSync(tmp, c.loc.anchorFile);
      return check(c);
    },
    'blob touched': (c) => (fs.utimesSync(c.blob, later, later), check(c)),
    'blob rewritten': (c) => (fs.writeFileSync(c.blob, 'other bytes, other size'), check(c)),
    'blob: a byte flipped in place, size and mtime restored (only the ctime says it)': (c) => {
      const st = fs.statSync(c.blob);
      flipByteKeepTimes(c.blob);
      const now = fs.statSync(c.blob);
      assert.deepEqual([now.size, now.mtimeMs, now.ino], [st.size, st.mtimeMs, st.ino], 'only the ctime differs');
      return check(c);
    },
    'blob removed': (c) => (fs.rmSync(c.blob), check(c)),
    'blob outside <cache>/blobs': (c) => {
      const outside = path.join(d, `outside-${Math.random()}.node`);
      fs.copyFileSync(c.blob, outside);
      return check(c, { ...c.rec, blob: outside, blobId: statId(outside) });
    },
    // (an existing, unchanged file: only the comparison with process.execPath can refuse it)
    'written by another node binary': (c) => check(c, { ...c.rec, host: { ...c.rec.host, exec: c.interp, execId: statId(c.interp) } }),
    'node binary changed': (c) => check(c, { ...c.rec, host: { ...c.rec.host, execId: { ...c.rec.host.execId, mtimeMs: 1 } } }),
    'ELF interpreter changed': (c) => (fs.utimesSync(c.interp, later, later), check(c)),
    'ELF interpreter removed': (c) => (fs.rmSync(c.interp), check(c)),
    'ELF interpreter appeared (recorded as absent)': (c) => check(c, { ...c.rec, host: { ...c.rec.host, interpId: null } }),
    'no host identity': (c) => check(c, { ...c.rec, host: undefined }),
  };
  for (const [name, tamper] of Object.entries(cases)) {
    const c = fresh(name.replace(/[^a-z]/g, '_'));
    assert.deepEqual(check(c), c.rec, `${name}: valid before`);
    assert.equal(tamper(c), null, name);
  }
  // An interpreter recorded as absent that is still absent keeps the record valid.
  const c = fresh('no_interp');
  fs.rmSync(c.interp);
  assert.deepEqual(check(c, { ...c.rec, host: { ...c.rec.host, interpId: null } }), { ...c.rec, host: { ...c.rec.host, interpId: null } });
});

test('fastLoad: loads a valid native record; bypassed by X0X_DIST_VERIFY=always, X0X_NATIVE_PATH, X0X_DIST_DEBUG=1', (t) => {
  const d = h.tmpdir();
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  const addon = process.platform === 'linux' && process.arch === 'x64' ? buildAddon(d) : null;
  if (!addon) return t.skip(process.env.CI ? assert.fail('CI installs a C compiler and node headers') : 'no C compiler / node headers');
  const env = { X0X_DIST_CACHE: path.join(d, 'cache') };
  const c = warmCache(path.join(d, 'p'), env, fs.readFileSync(addon));
  const release = { pkg: 'x0x', version: '0.3.1' };
  assert.equal(fastLoad(c.pkgDir, release, env).hello(), 'hello from native');
  for (const bypass of [{ X0X_DIST_VERIFY: 'Always' }, { npm_config_x0x_dist_verify: 'always' }, { X0X_NATIVE_PATH: addon }, { npm_config_x0x_native_path: addon }, { X0X_DIST_DEBUG: '1' }, { npm_config_x0x_dist_debug: '1' }]) {
    assert.equal(fastLoad(c.pkgDir, release, { ...env, ...bypass }), null, JSON.stringify(bypass));
  }
  // WASM records are for lib/warm.js.
  fs.writeFileSync(c.loc.recordPath, JSON.stringify({ ...c.rec, kind: 'wasm' }));
  assert.equal(fastLoad(c.pkgDir, release, env), null, 'wasm record');
});

test('fastLoad steps aside when the revocations check is due (issue 23): interval passed, no checkedAt, clock set back, yanked', () => {
  const { checkDue } = require('../lib/hot');
  const now = Date.now();
  assert.equal(checkDue({ checkedAt: now - 1000 }, {}), false, 'checked a second ago, default 1 h');
  assert.equal(checkDue({ checkedAt: now - 3601 * 1000 }, {}), true, 'an hour ago');
  assert.equal(checkDue({ checkedAt: now - 11 * 1000 }, { X0X_DIST_REVOCATION_INTERVAL: '10' }), true, 'interval 10 s');
  assert.equal(checkDue({ checkedAt: now - 9 * 1000 }, { npm_config_x0x_dist_revocation_interval: '10' }), false, '.npmrc interval');
  assert.equal(checkDue({ checkedAt: now }, { X0X_DIST_REVOCATION_INTERVAL: '0' }), true, 'interval 0: every require');
  assert.equal(checkDue({}, {}), true, 'a record written before revocations existed');
  assert.equal(checkDue({ checkedAt: now + 60000 }, {}), true, 'a check in the future (clock set back)');
  assert.equal(checkDue({ checkedAt: now, yanked: 'bad' }, {}), true, 'yanked: lib/warm.js warns');
  assert.equal(checkDue({ checkedAt: now }, { X0X_DIST_REVOCATION_INTERVAL: 'soon' }), true, 'invalid: lib/ reports it');
});

test('the part of hot.js pack.js inlines: self-contained (fs, path), ASCII, every function compiled with the module', () => {
  const src = fs.readFileSync(path.join(__dirname, '..', 'lib', 'hot.js'), 'utf8');
  const cut = src.indexOf('\n// HOT-END');
  assert.ok(cut > 0, 'the HOT-END line exists');
  const inlined = src.slice(0, cut);
  assert.doesNotMatch(inlined, /[^\x00-\x7f]/, 'ASCII only: one non-ASCII character makes V8 scan the whole module as two-byte');
  // `function` only as `(function name(`: a plain declaration is pre-parsed, then parsed again at its first call.
  const code = inlined.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  for (const m of code.matchAll(/\bfunction\b/g)) assert.equal(code[m.index - 1], '(', `a plain function at ${code.slice(m.index, m.index + 40)}`);
  assert.doesNotMatch(code, /=>/, 'no arrow functions (each would be another lazily compiled function)');
  const mod = { exports: {} };
  const required = [];
  new Function('module', 'exports', 'require', inlined)(mod, mod.exports, (n) => (required.push(n), require(n)));
  assert.deepEqual(required, ['fs', 'path']);
  assert.equal(typeof mod.exports.fastLoad, 'function');
});

test('hotMode (the inlined warm path) agrees with wasmModeOf wherever it answers, and answers for auto and error', () => {
  const values = ['', '0', '1', 'true', 'TRUE', 'yes', 'no', 'false', 'error', 'ERROR', 'maybe'];
  const flavors = ['', 'threads', 'wasip1', 'wasm32-wasi', 'bogus'];
  let answered = 0;
  for (const force of values) {
    for (const npmForce of values) {
      for (const napi of ['', '1', 'error', '0']) {
        for (const flavor of flavors) {
          const env = { X0X_FORCE_WASM: force, npm_config_x0x_force_wasm: npmForce, NAPI_RS_FORCE_WASI: napi, X0X_WASM_FLAVOR: flavor };
          const hot = hotMode(env);
          if (hot === null) continue;
          answered += 1;
          assert.equal(hot, wasmModeOf(env), JSON.stringify(env));
        }
      }
    }
  }
  assert.ok(answered > 0);
  assert.equal(hotMode({}), 'auto');
  assert.equal(hotMode({ X0X_FORCE_WASM: 'error' }), 'forbid');
});
