'use strict';
// Issue 21, defect 4: "the warm path can load a changed file". A byte flipped in a cached blob, its mtime set
// back: size, mtime, inode and device all as recorded, so the warm path loaded it without a re-hash, against
// the README's promise (never loading a byte whose SHA-256 was not checked). The record now also pins the
// ctime, which no user can set back (utimes and every write set it to now): the warm path refuses the record,
// the resolver re-hashes the blob (cache.corrupt: removed), fetches the verified bytes again and is warm again.
// A real N-API addon through a real dlopen.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');
const { Resolver } = require('../lib/loader');
const { loadNative } = require('../lib/warm');
const { fastLoad } = require('../lib/hot');

const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';
const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };
const d0 = h.tmpdir();
const addon = process.platform === 'linux' && process.arch === 'x64' ? buildAddon(d0) : null;
const skip = !addon && !process.env.CI && 'no C compiler / node headers';

/** Flip one byte of `file` in place (same inode, same size), then set its atime and mtime back to the nanosecond. */
function flipByteKeepTimes(file, at) {
  const ref = `${file}.times`;
  assert.equal(spawnSync('touch', ['-r', file, ref]).status, 0);
  const mode = fs.statSync(file).mode & 0o777;
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] ^= 0xff;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
  fs.chmodSync(file, mode);
  assert.equal(spawnSync('touch', ['-r', ref, file]).status, 0);
  fs.rmSync(ref);
}

test('issue 21: a byte flipped in a cached blob with its mtime restored is not loaded warm; it is re-hashed, refused and fetched again', { skip }, () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ [NATIVE]: { data: fs.readFileSync(addon), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  const cacheDir = path.join(d, 'cache');
  const env = { X0X_DIST_CACHE: cacheDir, X0X_DIST_URL: `file://${repo.dir}` };
  const resolver = () => new Resolver({ pkgDir: pkg, env, host: GNU_HOST, loadNative });
  const cold = resolver().resolve();
  assert.equal(cold.exports.hello(), 'hello from native');
  const release = { pkg: 'x0x', version: '0.3.1' };
  assert.equal(fastLoad(pkg, release, env).hello(), 'hello from native', 'warm through the inlined path');
  assert.equal(resolver().resolve().warm, true, 'warm through lib/warm.js');

  // The flip: in the ELF section header table's region (at the end: dlopen would not notice), so that only
  // the hash tells; then every stat field the old record pinned is as recorded.
  const blob = cold.file;
  const before = fs.statSync(blob);
  flipByteKeepTimes(blob, before.size - 8);
  const after = fs.statSync(blob);
  assert.deepEqual([after.size, after.mtimeMs, after.ino, after.dev], [before.size, before.mtimeMs, before.ino, before.dev], 'size, mtime, inode and device unchanged');
  assert.notEqual(after.ctimeMs, before.ctimeMs, 'only the ctime says it changed');
  assert.notEqual(h.sha(fs.readFileSync(blob)), h.sha(fs.readFileSync(addon)));

  assert.equal(fastLoad(pkg, release, env), null, 'the inlined warm path refuses the record');
  const r = resolver();
  const again = r.resolve();
  assert.notEqual(again.warm, true, 'lib/warm.js refuses it too');
  assert.ok(r.trace.some((l) => /cache\.corrupt: .* no longer matches its signed hash; removed/.test(l)), r.trace.join('\n'));
  assert.equal(again.source, 'repository', 'fetched again');
  assert.equal(again.exports.hello(), 'hello from native');
  assert.equal(h.sha(fs.readFileSync(again.file)), h.sha(fs.readFileSync(addon)), 'the cache holds the verified bytes again');
  assert.equal(resolver().resolve().warm, true, 'and the next require is warm');
});

test('issue 21: the same flip with the repository unreachable is refused (never loaded), not served from the record', { skip }, () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ [NATIVE]: { data: fs.readFileSync(addon), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  const cacheDir = path.join(d, 'cache');
  const cold = new Resolver({ pkgDir: pkg, env: { X0X_DIST_CACHE: cacheDir, X0X_DIST_URL: `file://${repo.dir}` }, host: GNU_HOST, loadNative }).resolve();
  flipByteKeepTimes(cold.file, fs.statSync(cold.file).size - 8);
  const env = { X0X_DIST_CACHE: cacheDir, X0X_DIST_URL: 'http://127.0.0.1:9', X0X_DIST_RETRIES: '0' };
  assert.equal(fastLoad(pkg, { pkg: 'x0x', version: '0.3.1' }, env), null);
  assert.throws(() => new Resolver({ pkgDir: pkg, env, host: GNU_HOST, loadNative }).resolve(), (e) => e.code === 'loader.no_candidate');
  assert.equal(fs.existsSync(cold.file), false, 'the changed blob was removed, not loaded');
});
