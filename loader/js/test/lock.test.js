'use strict';
// 32 real processes require at once with a cold cache: exactly one download, all of them load.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');
const cache = require('../lib/cache');

const N = 32;

function run(script, env) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { errOut += d; });
    p.on('exit', (code) => resolve({ code, out: out.trim(), err: errOut }));
  });
}

test(`${N} processes, cold cache, one download`, { timeout: 120000 }, async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  const big = Buffer.alloc(4 << 20, 7);
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: big, custom: { glibc_floor: '2.17' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  const srv = await serveChild(repo.dir, { delayMs: 300 });
  try {
    const script = `
      const { Resolver } = require(${JSON.stringify(path.join(h.LOADER, 'lib', 'loader.js'))});
      const r = new Resolver({ pkgDir: ${JSON.stringify(pkg)},
        host: { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' },
        loadNative: (f) => ({ size: require('fs').statSync(f).size }) }).resolve();
      process.stdout.write(JSON.stringify({ source: r.source, size: r.exports.size }));`;
    const env = { X0X_DIST_CACHE: path.join(d, 'cache'), X0X_DIST_URL: srv.url };
    const results = await Promise.all(Array.from({ length: N }, () => run(script, env)));
    for (const r of results) assert.equal(r.code, 0, r.err);
    const parsed = results.map((r) => JSON.parse(r.out));
    assert.ok(parsed.every((p) => p.size === big.length));
    const counts = await srv.counts();
    const downloads = Object.entries(counts).filter(([p]) => p.includes('/targets/')).reduce((a, [, n]) => a + n, 0);
    assert.equal(downloads, 1, `target downloads: ${JSON.stringify(counts)}`);
    assert.equal(fs.readdirSync(path.join(d, 'cache', 'blobs')).length, 1);
    assert.deepEqual(fs.readdirSync(path.join(d, 'cache', 'locks')), []);
  } finally {
    await srv.close();
  }
});

test('a stale lock left by a dead process is broken', async () => {
  const d = h.tmpdir();
  cache.ensureDirs(d);
  const lock = path.join(d, 'locks', 'abc.lock');
  // A pid that cannot exist on this host.
  fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, host: require('os').hostname(), at: Date.now() }));
  const r = await cache.withLock(d, 'abc', () => false, async () => 'got it', { waitMs: 5000 });
  assert.equal(r.value, 'got it');
  // An old lock from another host is broken by age.
  fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', at: 0 }));
  const old = new Date(Date.now() - 60000);
  fs.utimesSync(lock, old, old);
  const r2 = cache.withLockSync(d, 'abc', () => false, () => 'again', { waitMs: 5000, staleMs: 30000 });
  assert.equal(r2.value, 'again');
});

test('a live lock is waited for, and the waiter sees the finished work', async () => {
  const d = h.tmpdir();
  cache.ensureDirs(d);
  let done = false;
  const holder = cache.withLock(d, 'k', () => false, async () => {
    await new Promise((r) => setTimeout(r, 300));
    done = true;
    return 'holder';
  });
  await new Promise((r) => setTimeout(r, 20));
  const waiter = await cache.withLock(d, 'k', () => done, async () => 'waiter-did-work');
  assert.equal((await holder).value, 'holder');
  assert.equal(waiter.waited, true);
});
