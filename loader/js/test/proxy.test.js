'use strict';
// HTTPS through a CONNECT proxy (HTTPS_PROXY), a private CA (NODE_EXTRA_CA_CERTS), NO_PROXY, and plain HTTP
// through HTTP_PROXY — real TLS, a real proxy, real processes on 127.0.0.1.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawn, spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');
const { Resolver } = require('../lib/loader');
const { bypassProxy } = require('../lib/fetch');

const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

function startProxy(logFile) {
  const p = spawn(process.execPath, [path.join(__dirname, 'helpers', 'proxy.js'), logFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    p.stdout.once('data', (d) => resolve({ url: String(d).trim(), close: () => new Promise((r) => { p.once('exit', r); p.kill(); }) }));
  });
}

const hasOpenssl = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

test('NO_PROXY rules', () => {
  const u = (s) => new URL(s);
  assert.equal(bypassProxy(u('https://a.example.com/x'), { NO_PROXY: '.example.com' }), true);
  assert.equal(bypassProxy(u('https://example.com/x'), { NO_PROXY: 'example.com' }), true);
  assert.equal(bypassProxy(u('https://notexample.com/x'), { NO_PROXY: 'example.com' }), false);
  assert.equal(bypassProxy(u('http://127.0.0.1:8080/x'), { no_proxy: '127.0.0.1:9090' }), false);
  assert.equal(bypassProxy(u('http://127.0.0.1:8080/x'), { no_proxy: 'localhost, 127.0.0.1:8080' }), true);
  assert.equal(bypassProxy(u('http://x/'), { NO_PROXY: '*' }), true);
});

test('https repository through a CONNECT proxy with a private CA; NO_PROXY bypasses it', { skip: !hasOpenssl && !process.env.CI && 'no openssl', timeout: 60000 }, async () => {
  const d = h.tmpdir();
  const key = path.join(d, 'key.pem');
  const cert = path.join(d, 'cert.pem');
  const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
  assert.equal(gen.status, 0, String(gen.stderr));
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native over tls'), custom: { glibc_floor: '2.17' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo);
  const srv = await serveChild(repo.dir, { tls: { key, cert } });
  const log = path.join(d, 'proxy.log');
  fs.writeFileSync(log, '');
  const proxy = await startProxy(log);
  const run = (cache, extra) =>
    new Resolver({
      pkgDir: pkg,
      env: { PATH: process.env.PATH, X0X_DIST_CACHE: path.join(d, cache), X0X_DIST_URL: srv.url, NODE_EXTRA_CA_CERTS: cert, HTTPS_PROXY: proxy.url, ...extra },
      host: GNU_HOST,
      loadNative: (f) => fs.readFileSync(f, 'utf8'),
    }).resolve();
  try {
    assert.equal(run('c1', {}).exports, 'native over tls');
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    assert.ok(lines.length >= 2 && lines.every((l) => l === `CONNECT 127.0.0.1:${new URL(srv.url).port}`), lines.join('\n'));
    fs.writeFileSync(log, '');
    assert.equal(run('c2', { NO_PROXY: '127.0.0.1' }).exports, 'native over tls');
    assert.equal(fs.readFileSync(log, 'utf8'), '', 'NO_PROXY host went through the proxy');
    // Without the private CA the TLS handshake fails: network.unreachable, nothing cached.
    assert.throws(() => run('c3', { NODE_EXTRA_CA_CERTS: '', X0X_DIST_RETRIES: '0' }), (e) => e.candidates.every((c) => c.code === 'network.unreachable'));
  } finally {
    await proxy.close();
    await srv.close();
  }
});

test('http repository through HTTP_PROXY (absolute-URI requests)', { timeout: 60000 }, async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native via proxy'), custom: {} } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo);
  const srv = await serveChild(repo.dir);
  const log = path.join(d, 'proxy.log');
  fs.writeFileSync(log, '');
  const proxy = await startProxy(log);
  try {
    const r = new Resolver({
      pkgDir: pkg,
      env: { X0X_DIST_CACHE: path.join(d, 'c'), X0X_DIST_URL: srv.url, HTTP_PROXY: proxy.url },
      host: GNU_HOST,
      loadNative: (f) => fs.readFileSync(f, 'utf8'),
    }).resolve();
    assert.equal(r.exports, 'native via proxy');
    assert.match(fs.readFileSync(log, 'utf8'), /^GET http:\/\/127\.0\.0\.1:\d+\/tuf\/metadata\/timestamp\.json$/m);
    assert.match(fs.readFileSync(log, 'utf8'), /\/tuf\/targets\/x0x\/0\.3\.1\/[0-9a-f]{64}\.x0x\.linux-x64-gnu\.node$/m);
  } finally {
    await proxy.close();
    await srv.close();
  }
});
