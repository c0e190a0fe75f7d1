'use strict';
// Redirects: a repository that offloads targets to another host (302), relative and absolute Locations, the
// hop limit, and the refused https → http downgrade — real servers on 127.0.0.1, the real Resolver.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');
const { Resolver } = require('../lib/loader');
const { redirectTarget, MAX_REDIRECTS } = require('../lib/fetch');

const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

test('redirectTarget: relative, absolute, limits and downgrade', () => {
  const from = new URL('https://repo.example/tuf/targets/x0x/a.node');
  assert.equal(redirectTarget(from, '/cdn/a.node', 0).href, 'https://repo.example/cdn/a.node');
  assert.equal(redirectTarget(from, 'https://cdn.example/a', 0).href, 'https://cdn.example/a');
  const plain = new URL('http://repo.example/x');
  assert.equal(redirectTarget(plain, 'https://cdn.example/a', 0).href, 'https://cdn.example/a', 'upgrade is fine');
  const cases = [
    [from, 'http://cdn.example/a', 0, /downgrade/],
    [from, 'ftp://cdn.example/a', 0, /not http/],
    [from, undefined, 0, /no Location/],
    [from, 'https://cdn.example/a', MAX_REDIRECTS, /more than 5 redirects/],
  ];
  for (const [f, loc, hops, re] of cases) {
    const e = redirectTarget(f, loc, hops);
    assert.ok(e instanceof Error, `${loc} should be refused`);
    assert.equal(e.code, 'network.http_status');
    assert.equal(e.retry, false);
    assert.match(e.message, re);
  }
});

function resolver(d, pkg, url, name) {
  return new Resolver({
    pkgDir: pkg,
    env: { X0X_DIST_CACHE: path.join(d, name), X0X_DIST_URL: url, X0X_DIST_RETRIES: '0' },
    host: GNU_HOST,
    loadNative: (f) => fs.readFileSync(f, 'utf8'),
  });
}

test('targets redirected to another server (CDN offload) are fetched there and verified', { timeout: 60000 }, async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native via cdn'), custom: {} } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo);
  const cdn = await serveChild(repo.dir);
  const origin = await serveChild(repo.dir, { redirectTargetsTo: cdn.url });
  try {
    assert.equal(resolver(d, pkg, origin.url, 'c1').resolve().exports, 'native via cdn');
    const targetsAt = (counts) => Object.keys(counts).filter((p) => p.startsWith('/tuf/targets/')).length;
    assert.equal(targetsAt(await cdn.counts()), 1, 'the target came from the CDN');
    assert.equal(targetsAt(await origin.counts()), 1, 'the origin answered the target request with a redirect');
    assert.ok(Object.keys(await origin.counts()).includes('/tuf/metadata/timestamp.json'));
  } finally {
    await cdn.close();
    await origin.close();
  }
});

test('a redirect loop stops after the hop limit with network.http_status and caches nothing', { timeout: 60000 }, async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('never'), custom: {} } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo);
  const srv = await serveChild(repo.dir);
  await srv.setFaults({ redirectLoop: true });
  try {
    assert.throws(
      () => resolver(d, pkg, srv.url, 'c2').resolve(),
      (e) => e.candidates.every((c) => c.code === 'network.http_status') && /more than 5 redirects/.test(e.message),
    );
    // The first request (the root probe) loops; one request per hop, a refused redirect is not retried.
    const counts = await srv.counts();
    assert.equal(counts['/tuf/metadata/2.root.json'], MAX_REDIRECTS + 1);
    const cached = fs.existsSync(path.join(d, 'c2')) ? fs.readdirSync(path.join(d, 'c2'), { recursive: true }).filter((f) => /\.node$/.test(f)) : [];
    assert.deepEqual(cached, []);
  } finally {
    await srv.close();
  }
});
