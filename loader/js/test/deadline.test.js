'use strict';
// Issue 25, finding 3: X0X_DIST_TIMEOUT_MS is an inactivity timeout, so a server dripping one byte a second
// held require() (and the event loop, through spawnSync) until the fetch worker was killed: 77.5 s on
// timestamp.json with a 3 s timeout, 310.6 s on a target, ending in `internal`. Now every download has a total
// deadline (X0X_DIST_DEADLINE_MS, scaled by size for targets), a worker run is given the sum of its
// deadlines, and require() ends with network.timeout naming the URL.
//
// A real HTTP server on 127.0.0.1 (test/helpers/server.js, in its own process) drips the chosen files one byte
// per second; require() runs in a real child `node` (its spawnSync of the worker blocks that process, so the
// test measures it from outside, with a kill switch).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');

const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';

function setup() {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ [NATIVE]: { data: Buffer.alloc(64 * 1024, 7), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  // No metadata embedded: the require must ask the repository (the drip hits the TUF update itself).
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: false });
  return { d, repo, pkg, cache: path.join(d, 'cache') };
}

/** require() of the package in a child node (native candidate only, fake dlopen); {code, message, ms}. */
function requireInChild(s, env, killAfterMs = 120000) {
  const script = `
    const { Resolver } = require(${JSON.stringify(path.join(h.LOADER, 'lib', 'loader.js'))});
    try {
      const r = new Resolver({ pkgDir: ${JSON.stringify(s.pkg)}, host: { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' },
        loadNative: (f) => ({ file: f }) }).resolve();
      process.stdout.write(JSON.stringify({ ok: true, source: r.source }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, code: e.code, message: e.message, candidates: e.candidates }));
    }`;
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, X0X_DIST_CACHE: s.cache, X0X_FORCE_WASM: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const kill = setTimeout(() => p.kill('SIGKILL'), killAfterMs);
    let out = '';
    let errOut = '';
    p.stdout.on('data', (x) => { out += x; });
    p.stderr.on('data', (x) => { errOut += x; });
    p.on('exit', (status, signal) => {
      clearTimeout(kill);
      const ms = Date.now() - t0;
      try {
        resolve({ ...JSON.parse(out), ms });
      } catch {
        resolve({ ok: false, code: `no answer (status ${status}, signal ${signal})`, message: errOut, ms });
      }
    });
  });
}

test('a server dripping timestamp.json: require() ends with network.timeout naming its URL, within the deadline', { timeout: 150000 }, async () => {
  const s = setup();
  const srv = await serveChild(s.repo.dir, { drip: 'timestamp.json' });
  try {
    // The inactivity timeout (5 s) never fires: a byte arrives every second. Only the deadline can end it.
    const r = await requireInChild(s, { X0X_DIST_URL: srv.url, X0X_DIST_TIMEOUT_MS: '5000', X0X_DIST_RETRIES: '1', X0X_DIST_DEADLINE_MS: '2000' });
    assert.equal(r.code, 'loader.no_candidate', JSON.stringify(r));
    assert.deepEqual(r.candidates.map((c) => c.code), ['network.timeout'], JSON.stringify(r.candidates));
    assert.match(r.message, new RegExp(`\\[network\\.timeout\\] GET ${srv.url}/tuf/metadata/timestamp\\.json did not complete within \\d+ ms: its deadline is 2000 ms \\(X0X_DIST_DEADLINE_MS\\)`));
    assert.doesNotMatch(r.message, /internal/);
    // One deadline (2 s) plus node's start; the budget of the whole run is 5 × 2 s + 10 s.
    assert.ok(r.ms >= 2000 && r.ms < 12000, `require() took ${r.ms} ms`);
  } finally {
    await srv.close();
  }
});

test('a server dripping the target: network.timeout naming the target URL; the deadline scales with its size; nothing cached', { timeout: 150000 }, async () => {
  const s = setup();
  const srv = await serveChild(s.repo.dir, { drip: '/targets/' });
  try {
    const r = await requireInChild(s, { X0X_DIST_URL: srv.url, X0X_DIST_TIMEOUT_MS: '5000', X0X_DIST_RETRIES: '3', X0X_DIST_DEADLINE_MS: '2000' });
    assert.equal(r.code, 'loader.no_candidate', JSON.stringify(r));
    assert.deepEqual(r.candidates.map((c) => c.code), ['network.timeout']);
    // 64 KiB: 2000 ms + 2000 ms × 64 KiB / 4 MiB = 2032 ms.
    assert.match(r.message, new RegExp(`GET ${srv.url}/tuf/targets/x0x/0\\.3\\.1/[0-9a-f]{64}\\.x0x\\.linux-x64-gnu\\.node did not complete within \\d+ ms: its deadline is 2032 ms for 65536 bytes`));
    assert.ok(r.ms >= 2000 && r.ms < 15000, `require() took ${r.ms} ms`);
    assert.deepEqual(fs.readdirSync(path.join(s.cache, 'blobs')), []);
    assert.deepEqual(fs.readdirSync(path.join(s.cache, 'tmp')), [], 'the partial download was removed');
  } finally {
    await srv.close();
  }
});

test('the fetch worker alone: it cuts itself off at its deadline with network.timeout (never internal)', { timeout: 60000 }, async () => {
  const s = setup();
  const srv = await serveChild(s.repo.dir, { drip: 'timestamp.json' });
  try {
    const args = {
      cacheDir: s.cache,
      url: srv.url,
      anchorFile: path.join(s.pkg, 'root.json'),
      embeddedDir: path.join(s.pkg, 'metadata'),
      targetPath: NATIVE,
      kind: 'native',
      mode: 'refresh',
      timeoutMs: 5000,
      retries: 0,
      deadlineMs: 60000,
      deadlineAt: Date.now() + 1500, // what is left of the run's budget binds before the file's own deadline
    };
    const t0 = Date.now();
    const out = await new Promise((resolve) => {
      const p = spawn(process.execPath, [path.join(h.LOADER, 'lib', 'worker.js'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let o = '';
      p.stdout.on('data', (x) => { o += x; });
      p.on('exit', () => resolve(o));
    });
    const ms = Date.now() - t0;
    const answer = JSON.parse(out.trim().split('\n').pop());
    assert.equal(answer.error.code, 'network.timeout', out);
    assert.equal(answer.error.phase, 'metadata');
    assert.match(answer.error.message, /timestamp\.json did not complete within \d+ ms: .*, or less: what was left of its fetch's budget \(the sum of the deadlines of its downloads\)/);
    assert.ok(ms < 10000, `the worker took ${ms} ms`);
  } finally {
    await srv.close();
  }
});

test('a worker that hangs outright (a bundle that is a FIFO nobody writes) is killed after its budget: network.timeout, not internal', { skip: process.platform === 'win32', timeout: 90000 }, async () => {
  const s = setup();
  const fifo = path.join(s.d, 'bundle.fifo');
  const { spawnSync } = require('child_process');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // A blocking read in the worker: no timer of its own can fire. The parent kills it at 5 × 300 ms + 10 s.
  const r = await requireInChild(s, { X0X_DIST_BUNDLE: fifo, X0X_DIST_DEADLINE_MS: '300' });
  assert.equal(r.code, 'loader.no_candidate', JSON.stringify(r));
  assert.deepEqual(r.candidates.map((c) => c.code), ['network.timeout']);
  assert.match(r.message, new RegExp(`fetching x0x/0\\.3\\.1/x0x\\.linux-x64-gnu\\.node from bundle ${fifo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} did not complete within 11500 ms \\(the sum of its deadlines, 1500 ms, X0X_DIST_DEADLINE_MS\\): the fetch worker was killed`));
  assert.ok(r.ms >= 11500 && r.ms < 30000, `require() took ${r.ms} ms`);
});

test("waiting for another process's download of the same blob is bounded by the deadline too (network.timeout)", { timeout: 60000 }, async () => {
  const s = setup();
  // Another live process (this one) holds the blob's lock and keeps it fresh: the worker waits for it.
  require('../lib/cache').ensureDirs(s.cache);
  const sha = h.sha(Buffer.alloc(64 * 1024, 7));
  const lock = path.join(s.cache, 'locks', `${sha}.lock`);
  fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: require('os').hostname(), at: Date.now() }));
  const args = {
    cacheDir: s.cache,
    url: `file://${s.repo.dir}`,
    anchorFile: path.join(s.pkg, 'root.json'),
    embeddedDir: path.join(s.pkg, 'metadata'),
    targetPath: NATIVE,
    kind: 'native',
    mode: 'fetch',
    timeoutMs: 5000,
    retries: 0,
    deadlineMs: 1000,
    deadlineAt: Date.now() + 1500,
  };
  const t0 = Date.now();
  const out = await new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(h.LOADER, 'lib', 'worker.js'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '';
    p.stdout.on('data', (x) => { o += x; });
    p.on('exit', () => resolve(o));
  });
  const answer = JSON.parse(out.trim().split('\n').pop());
  assert.equal(answer.error.code, 'network.timeout', out);
  assert.match(answer.error.message, new RegExp(`waited \\d+ ms for another process's download of ${NATIVE.replace(/\./g, '\\.')} from file://`));
  assert.ok(Date.now() - t0 < 10000);
  assert.ok(fs.existsSync(lock), "the other process's lock is left alone");
});
