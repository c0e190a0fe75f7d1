'use strict';
// Issue 21, defect 6: the packed `x0x` remembers the repository it was packed from (`pack.js --repo URL`), so a
// plain require works with no X0X_DIST_URL; when it cannot be reached, `next:` names that first and never
// suggests a platform package that was not made (`npx x0x doctor` neither).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');
const { Resolver } = require('../lib/loader');

const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

/** Packs x0x 0.3.1 (no platform packages) from the repository at `url`; returns the unpacked package dir. */
function packFrom(dir, repo, url) {
  fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
  const r = spawnSync(process.execPath, [path.join(h.LOADER, 'scripts', 'pack.js'), '--version', '0.3.1', '--root', path.join(dir, 'root.json'), '--repo', url, '--out', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const dest = path.join(dir, 'x');
  fs.mkdirSync(dest);
  assert.equal(spawnSync('tar', ['xzf', r.stdout.trim(), '-C', dest]).status, 0);
  return path.join(dest, 'package');
}

function resolver(pkgDir, cache, env = {}) {
  return new Resolver({
    pkgDir,
    env: { X0X_DIST_CACHE: cache, ...env },
    host: GNU_HOST,
    loadNative: (f) => ({ kind: 'native', bytes: fs.readFileSync(f, 'utf8') }),
    loadWasm: (b) => ({ kind: 'wasm', bytes: b.toString() }),
  });
}

test('issue 21: pack.js --repo URL is the packed package default repository; X0X_DIST_URL still overrides it', async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native from the default repository'), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const srv = await serveChild(repo.dir);
  try {
    const pkg = packFrom(d, repo, srv.url);
    assert.equal(JSON.parse(fs.readFileSync(path.join(pkg, 'release.json'), 'utf8')).repository, srv.url);
    // No X0X_DIST_URL: fetched from the recorded repository.
    const r = resolver(pkg, path.join(d, 'c1')).resolve();
    assert.equal(r.source, 'repository');
    assert.equal(r.exports.bytes, 'native from the default repository');
    // X0X_DIST_URL wins over it (an unreachable one here: the failure names it, not the default).
    assert.throws(
      () => resolver(pkg, path.join(d, 'c2'), { X0X_DIST_URL: 'http://127.0.0.1:9', X0X_DIST_RETRIES: '0' }).resolve(),
      (e) => /check that http:\/\/127\.0\.0\.1:9 is reachable/.test(e.message),
    );
  } finally {
    await srv.close();
  }
});

test('issue 21: with the default repository down, next: names it first and no platform package that was not made', async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native'), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const srv = await serveChild(repo.dir);
  const pkg = packFrom(d, repo, srv.url);
  await srv.close();
  assert.throws(
    () => resolver(pkg, path.join(d, 'c'), { X0X_DIST_RETRIES: '0' }).resolve(),
    (e) => {
      const next = e.message.split('\nnext: ')[1];
      assert.ok(next, e.message);
      assert.ok(next.startsWith(`check that the package's default repository ${srv.url}`), next);
      assert.doesNotMatch(e.message, /@x0x\/core-/, 'suggests a platform package that was not made');
      assert.doesNotMatch(e.message, /no repository is configured/);
      return true;
    },
  );
  // `npx x0x doctor` says the same: no platform package to install.
  const { diagnose, render } = require('../lib/doctor');
  const rep = diagnose(pkg, { X0X_DIST_CACHE: path.join(d, 'c3'), X0X_DIST_RETRIES: '0' });
  for (const p of rep.platformPackages) {
    assert.equal(p.cause, 'not-packaged', JSON.stringify(p));
    assert.doesNotMatch(p.next, /npm install/);
  }
  assert.doesNotMatch(render(rep), /npm install @x0x\/core-/);
});
