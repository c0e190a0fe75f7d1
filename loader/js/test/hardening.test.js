'use strict';
// Issue 14, hardened loading: load what was checked, and only from a cache no other user can change.
//   - a cache directory (or one of its directories, or a non-sticky parent) writable by another user, or not
//     owned by this one, is refused with cache.insecure — cold and warm — and nothing is loaded from it;
//   - the file dlopened is the one hashed: a binary swapped in at the blob's path after the check is never
//     loaded (Linux: loaded through /proc/self/fd/N of the checked descriptor), cold and warm;
//   - a blob or record another user could write (mode, owner) is not trusted by the warm path;
//   - the trust anchor is the package's root.json or X0X_DIST_ROOT, never a root found only in the cache.
// Real dlopen of a real N-API addon (test/fixtures/addon.c) where it matters.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');
const { Resolver } = require('../lib/loader');
const { loadNative } = require('../lib/warm');
const { fastLoad } = require('../lib/hot');

const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';
const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };
const ROOT = process.getuid && process.getuid() === 0;
const posix = process.platform !== 'win32';
const d0 = h.tmpdir();
const addon = process.platform === 'linux' && process.arch === 'x64' ? buildAddon(d0) : null;
const noAddon = !addon && !process.env.CI && 'no C compiler / node headers';

function setup(data = Buffer.from('native bytes v0.3.1')) {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ [NATIVE]: { data, custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  return { d, repo, pkg, cache: path.join(d, 'cache'), fileUrl: `file://${repo.dir}` };
}

const fake = (f, fd) => ({ bytes: fs.readFileSync(fd === undefined ? f : `/proc/self/fd/${fd}`, 'utf8'), file: f });
function resolver(s, env = {}, opts = {}) {
  return new Resolver({ pkgDir: s.pkg, env: { X0X_DIST_CACHE: s.cache, X0X_DIST_URL: s.fileUrl, ...env }, host: GNU_HOST, loadNative: fake, loadWasm: (b) => ({ wasm: b.toString() }), ...opts });
}
const codeOf = (fn) => {
  try {
    fn();
  } catch (e) {
    return e.code;
  }
  return 'no error';
};

test('a cache directory writable by other users is refused (cache.insecure), cold and warm, naming the fix', { skip: !posix }, () => {
  const s = setup();
  assert.equal(resolver(s).resolve().exports.bytes, 'native bytes v0.3.1');
  assert.equal(resolver(s).resolve().warm, true, 'warm before');
  fs.chmodSync(s.cache, 0o777);
  let e;
  try {
    resolver(s).resolve();
  } catch (x) {
    e = x;
  }
  assert.equal(e && e.code, 'cache.insecure');
  assert.match(e.message, /writable by other users \(mode 0777/);
  assert.match(e.message, /chmod go-w.*X0X_DIST_CACHE/);
  fs.chmodSync(s.cache, 0o700);
  assert.equal(resolver(s).resolve().warm, true, 'fixed: warm again');
  // Each directory of the cache, not only its root.
  // Each directory of the cache, not only its root (tuf/ is read by the cold path only: X0X_DIST_VERIFY=always).
  for (const [sub, env] of [['blobs', {}], ['resolved', {}], ['tuf', { X0X_DIST_VERIFY: 'always' }], ['blobs', { X0X_DIST_VERIFY: 'always' }]]) {
    fs.chmodSync(path.join(s.cache, sub), 0o757);
    assert.equal(codeOf(() => resolver(s, env).resolve()), 'cache.insecure', sub);
    fs.chmodSync(path.join(s.cache, sub), 0o700);
  }
  // A planted symlink in place of blobs/ is refused too.
  fs.renameSync(path.join(s.cache, 'blobs'), path.join(s.d, 'blobs-elsewhere'));
  fs.symlinkSync(path.join(s.d, 'blobs-elsewhere'), path.join(s.cache, 'blobs'));
  // (the warm path judges a symlink by its target, whose owner and mode it checks; the resolver refuses it)
  assert.equal(codeOf(() => resolver(s, { X0X_DIST_VERIFY: 'always' }).resolve()), 'cache.insecure', 'blobs/ as a symlink');
});

test('new cache directories are created 0700; a world-writable non-sticky parent is refused, a sticky one (/tmp) is not', { skip: !posix }, () => {
  const s = setup();
  const parent = path.join(s.d, 'shared');
  fs.mkdirSync(parent);
  fs.chmodSync(parent, 0o777);
  const cache = path.join(parent, 'cache');
  assert.equal(codeOf(() => resolver({ ...s, cache }).resolve()), 'cache.insecure');
  assert.equal(fs.existsSync(cache), false, 'nothing was written under it');
  fs.chmodSync(parent, 0o1777);
  assert.equal(resolver({ ...s, cache }).resolve().exports.bytes, 'native bytes v0.3.1');
  for (const sub of ['', 'blobs', 'resolved', 'locks', 'tmp']) assert.equal(fs.statSync(path.join(cache, sub)).mode & 0o777, 0o700, sub || 'cache');
});

test('a cache directory owned by another user is refused (cache.insecure)', { skip: !ROOT && 'needs root to chown' }, () => {
  const s = setup();
  resolver(s).resolve();
  fs.chownSync(s.cache, 65534, 65534);
  assert.equal(codeOf(() => resolver(s).resolve()), 'cache.insecure');
  fs.chownSync(s.cache, 0, 0);
  // blobs/ group-writable by a group that is not this user's own: refused; by the user's own group: accepted.
  fs.chownSync(path.join(s.cache, 'blobs'), 0, 65534);
  fs.chmodSync(path.join(s.cache, 'blobs'), 0o770);
  assert.equal(codeOf(() => resolver(s).resolve()), 'cache.insecure');
  fs.chownSync(path.join(s.cache, 'blobs'), 0, process.getgid());
  assert.equal(resolver(s).resolve().exports.bytes, 'native bytes v0.3.1');
});

test('warm path: a blob another user could write, or a record in a directory others can write, is not trusted', { skip: !posix }, () => {
  const s = setup();
  resolver(s).resolve();
  const blob = path.join(s.cache, 'blobs', fs.readdirSync(path.join(s.cache, 'blobs'))[0]);
  fs.chmodSync(blob, 0o666); // same identity (chmod keeps size, mtime, inode): only the mode says it
  const r = resolver(s).resolve();
  assert.notEqual(r.warm, true, 'a world-writable blob is not loaded from its record');
  assert.equal(r.exports.bytes, 'native bytes v0.3.1');
  const rec = path.join(s.cache, 'resolved', fs.readdirSync(path.join(s.cache, 'resolved'))[0]);
  assert.equal(resolver(s).resolve().warm, true, 'the re-verified blob (replaced by a fresh 0444 copy) is warm again');
  // resolved/ writable by others: no record in it is trusted (nobody else can have put one there otherwise).
  assert.ok(fs.existsSync(rec));
  fs.chmodSync(path.join(s.cache, 'resolved'), 0o777);
  assert.equal(codeOf(() => resolver(s).resolve()), 'cache.insecure');
});

test('load what was checked (cold): a binary swapped in at the blob path after the hash check is never dlopened', { skip: noAddon }, () => {
  const s = setup(fs.readFileSync(addon));
  const evil = path.join(s.d, 'evil.node');
  let swapped = 0;
  // Between the check and the dlopen, replace the verified blob at its path (what a writable cache allows).
  const swapThenLoad = (file, fd) => {
    fs.writeFileSync(evil, 'not the verified binary: dlopen of this fails');
    fs.renameSync(evil, file);
    swapped += 1;
    return loadNative(file, fd);
  };
  const r = resolver(s, {}, { loadNative: swapThenLoad }).resolve();
  assert.equal(swapped, 1);
  assert.equal(r.exports.hello(), 'hello from native', 'the checked file was loaded, not the one now at its path');
  // The same swap against a path-based load is what the descriptor prevents: the path now holds other bytes.
  assert.throws(() => loadNative(r.file), /dlopen .* failed/);
});

test('load what was checked (warm): a blob replaced with the same size and mtime is refused by its inode', { skip: noAddon }, () => {
  const s = setup(fs.readFileSync(addon));
  const loaded = resolver(s, {}, { loadNative }).resolve();
  assert.equal(loaded.exports.hello(), 'hello from native');
  const env = { X0X_DIST_CACHE: s.cache };
  const release = { pkg: 'x0x', version: '0.3.1' };
  const mod = fastLoad(s.pkg, release, env);
  assert.equal(mod && mod.hello(), 'hello from native', 'warm through the inlined path');
  // A same-size, same-mtime impostor at the blob's path: a new inode, so the record no longer holds.
  const blob = loaded.file;
  const st = fs.statSync(blob);
  const tmp = path.join(s.cache, 'tmp', 'impostor');
  fs.writeFileSync(tmp, Buffer.alloc(st.size, 0x41));
  fs.chmodSync(tmp, 0o444);
  fs.utimesSync(tmp, st.atime, st.mtime);
  fs.renameSync(tmp, blob);
  assert.equal(fastLoad(s.pkg, release, env), null, 'the impostor is not loaded from the record');
  const again = resolver(s, {}, { loadNative }).resolve();
  assert.equal(again.exports.hello(), 'hello from native', 'resolved again: the impostor was discarded and the verified binary fetched');
});

test('trust anchor: never a root found only in the cache', () => {
  const s = setup();
  resolver(s).resolve();
  const anchorDir = path.join(s.cache, 'tuf', fs.readdirSync(path.join(s.cache, 'tuf'))[0]);
  // 1. An attacker's repository (its own keys) whose newer root and targets are planted in the cache's
  //    persisted metadata for this anchor, listing the attacker's bytes already placed as a blob.
  const evil = new h.Repo(path.join(s.d, 'evil'));
  evil.publish({ [NATIVE]: { data: Buffer.from('attacker bytes'), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const planted = path.join(s.d, 'planted');
  evil.exportMetadata(planted);
  for (const f of fs.readdirSync(planted)) {
    const dest = path.join(anchorDir, f === '1.root.json' ? '2.root.json' : f);
    fs.rmSync(dest, { force: true });
    fs.copyFileSync(path.join(planted, f), dest);
  }
  const sha = require('crypto').createHash('sha256').update('attacker bytes').digest('hex');
  fs.writeFileSync(path.join(s.cache, 'blobs', `${sha}.node`), 'attacker bytes', { mode: 0o444 });
  fs.rmSync(path.join(s.cache, 'resolved'), { recursive: true });
  const r = resolver(s, { X0X_DIST_OFFLINE: '1', X0X_DIST_URL: '' }).resolve();
  assert.equal(r.exports.bytes, 'native bytes v0.3.1', 'the package root rejected the planted chain; the signed binary loaded');
  // 2. A warm record naming a root.json inside the cache as its anchor is not used.
  const recFile = path.join(s.cache, 'resolved', fs.readdirSync(path.join(s.cache, 'resolved'))[0]);
  const rec = JSON.parse(fs.readFileSync(recFile, 'utf8'));
  const cacheRoot = path.join(s.cache, 'root.json');
  fs.writeFileSync(cacheRoot, evil.anchor);
  const st = fs.statSync(cacheRoot);
  fs.writeFileSync(recFile, JSON.stringify({ ...rec, anchorFile: cacheRoot, anchorFileId: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev } }));
  assert.notEqual(resolver(s, { X0X_DIST_OFFLINE: '1' }).resolve().warm, true);
  // 3. No root in the package and no X0X_DIST_ROOT: a clear error, never a root from the cache.
  fs.rmSync(path.join(s.pkg, 'root.json'));
  fs.rmSync(path.join(s.cache, 'resolved'), { recursive: true });
  let e;
  try {
    resolver(s, { X0X_DIST_OFFLINE: '1' }).resolve();
  } catch (x) {
    e = x;
  }
  assert.equal(e && e.code, 'config.invalid');
  assert.match(e.message, /cannot read the trusted root .*root\.json/);
  // X0X_DIST_ROOT names the anchor explicitly and is used.
  const explicit = path.join(s.d, 'trusted-root.json');
  fs.writeFileSync(explicit, s.repo.anchor);
  assert.equal(resolver(s, { X0X_DIST_ROOT: explicit }).resolve().exports.bytes, 'native bytes v0.3.1');
});
