'use strict';
// Issue 25, finding 4: a fetch worker killed mid-download (SIGKILL: the parent's own bound, an OOM killer, a
// user) left its `tmp/<pid>-….part` in the cache for ever, even after a later success. The next cold
// require sweeps what killed processes left (lib/cache.js sweepTmp), and never what a live one is writing.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');
const cache = require('../lib/cache');
const { fnv1a } = require('../lib/hot');

const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';
const HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

function requireScript(pkg) {
  return `
    const { Resolver } = require(${JSON.stringify(path.join(h.LOADER, 'lib', 'loader.js'))});
    try {
      const r = new Resolver({ pkgDir: ${JSON.stringify(pkg)}, host: ${JSON.stringify(HOST)}, loadNative: (f) => ({ file: f }) }).resolve();
      process.stdout.write(JSON.stringify({ ok: true, source: r.source }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    }`;
}

function run(script, env) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script], { env: { ...process.env, X0X_FORCE_WASM: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    p.stdout.on('data', (x) => { out += x; });
    p.stderr.on('data', (x) => { errOut += x; });
    p.on('exit', () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        resolve({ ok: false, code: 'no answer', message: errOut });
      }
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('a worker killed (-9) mid-download leaves tmp/<pid>-….part; the next require succeeds and sweeps it', { timeout: 120000 }, async () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ [NATIVE]: { data: Buffer.alloc(4096, 3), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  const cacheDir = path.join(d, 'cache');
  const srv = await serveChild(repo.dir, { drip: '/targets/', dripMs: 50 });
  try {
    const env = { X0X_DIST_CACHE: cacheDir, X0X_DIST_URL: srv.url };
    const first = run(requireScript(pkg), env);
    // Wait for the worker's partial file, then kill the worker (its pid is in the name) with SIGKILL.
    const tmp = path.join(cacheDir, 'tmp');
    let part;
    for (let i = 0; i < 400 && !part; i += 1) {
      await sleep(25);
      part = (fs.existsSync(tmp) ? fs.readdirSync(tmp) : []).find((f) => f.endsWith('.part') && fs.statSync(path.join(tmp, f)).size > 0);
    }
    assert.ok(part, 'the worker started writing its .part file');
    const pid = Number(part.split('-')[0]);
    assert.match(part, new RegExp(`^${pid}-${fnv1a(os.hostname())}-[0-9a-f]+\\.part$`), 'named <pid>-<host>-<random>.part');
    process.kill(pid, 'SIGKILL');
    const killed = await first;
    assert.equal(killed.ok, false);
    assert.ok(fs.existsSync(path.join(tmp, part)), 'the killed worker left its partial file (what the sweep is for)');
    // A later require: the server is fast again; it succeeds and the orphan is gone.
    await srv.setFaults({ drip: 'false' });
    const later = await run(requireScript(pkg), env);
    assert.deepEqual(later, { ok: true, source: 'repository' });
    assert.deepEqual(fs.readdirSync(tmp), [], 'the orphan was swept');
  } finally {
    await srv.close();
  }
});

test("sweepTmp: removes a dead process's file and any stale one; never a live process's, nor another host's recent one", async () => {
  const d = h.tmpdir();
  cache.ensureDirs(d);
  const tmp = path.join(d, 'tmp');
  const host = fnv1a(os.hostname());
  // A live process (a child that sleeps) and a dead one (a child that has exited).
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => dead.on('exit', r));
  try {
    const files = {
      live: `${live.pid}-${host}-aaaa.part`,
      dead: `${dead.pid}-${host}-bbbb.part`,
      mine: `${process.pid}-${host}-cccc.part`,
      otherHost: `${dead.pid}-00000000-dddd.part`,
      staleOtherHost: `${live.pid}-00000000-eeee.part`,
      staleLive: `${live.pid}-${host}-ffff.part`,
      strange: 'not-ours.txt',
    };
    for (const f of Object.values(files)) fs.writeFileSync(path.join(tmp, f), 'partial');
    const old = new Date(Date.now() - cache.TMP_STALE_MS - 60000);
    for (const f of [files.staleOtherHost, files.staleLive]) fs.utimesSync(path.join(tmp, f), old, old);
    const removed = cache.sweepTmp(d).sort();
    assert.deepEqual(removed, [files.dead, files.staleOtherHost, files.staleLive].sort());
    assert.deepEqual(fs.readdirSync(tmp).sort(), [files.live, files.mine, files.otherHost, files.strange].sort());
  } finally {
    live.kill('SIGKILL');
  }
});
