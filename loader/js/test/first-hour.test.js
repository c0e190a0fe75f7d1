'use strict';
// Issue 21 (what a new user hits in the first hour), the loader's part:
// - a native build that fails verification while WASM loads is a security event: a process warning (once per
//   process per file), a record `x0x doctor` shows; X0X_FORCE_WASM=error still fails closed;
// - a corrupt cache file with the repository down is reported as cache.corrupt first, not network.unreachable alone.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { Resolver, readVerifyFailures } = require('../lib/loader');
const { render } = require('../lib/doctor');

const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';
const WASM = 'x0x/0.3.1/x0x.wasm32-wasip1.wasm';
const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

function setup() {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({
    [NATIVE]: { data: Buffer.from('native bytes v0.3.1'), custom: { glibc_floor: '2.17', libc: 'glibc' } },
    [WASM]: { data: Buffer.from('wasm bytes v0.3.1'), custom: { kind: 'wasm' } },
  });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: false });
  return { d, repo, pkg, cache: path.join(d, 'cache'), fileUrl: `file://${repo.dir}` };
}

function resolver(s, env) {
  return new Resolver({
    pkgDir: s.pkg,
    env: { X0X_DIST_CACHE: s.cache, ...env },
    host: GNU_HOST,
    loadNative: (f) => ({ kind: 'native', bytes: fs.readFileSync(f, 'utf8'), file: f }),
    loadWasm: (b) => ({ kind: 'wasm', bytes: b.toString() }),
  });
}

/** Flips a byte of the stored native target in the repository (the server's copy is tampered with). */
function tamperNative(s) {
  const t = JSON.parse(s.repo.x0xBytes).signed.targets[NATIVE];
  const f = path.join(s.repo.dir, 'targets', path.dirname(NATIVE), `${t.hashes.sha256}.${path.basename(NATIVE)}`);
  const b = fs.readFileSync(f);
  b[0] ^= 1;
  fs.writeFileSync(f, b);
}

/** Warnings emitted while `fn` runs (they are delivered on a later tick). */
async function warningsDuring(fn) {
  const got = [];
  const on = (w) => got.push(w);
  process.on('warning', on);
  try {
    fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', on);
  }
  return got;
}

test('issue 21: a tampered native build falling back to WASM warns once per process and is recorded for doctor', async () => {
  const s = setup();
  tamperNative(s);
  let res;
  const first = await warningsDuring(() => {
    res = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  });
  assert.equal(res.kind, 'wasm', 'the WASM build still loads');
  const sec = first.filter((w) => w.name === 'X0xSecurityWarning');
  assert.equal(sec.length, 1, first.map(String).join('\n'));
  assert.equal(sec[0].code, 'target.digest_mismatch');
  assert.equal(sec[0].detail, NATIVE);
  assert.match(sec[0].message, /linux-x64-gnu failed verification.*loaded wasm32-wasip1 instead/);
  // Recorded where `x0x doctor` shows it.
  const events = readVerifyFailures(s.cache);
  assert.equal(events.length, 1);
  assert.equal(events[0].code, 'target.digest_mismatch');
  assert.equal(events[0].file, NATIVE);
  const text = render({ candidates: [], platformPackages: [], resolution: { platform: 'wasm32-wasip1', kind: 'wasm', source: 'cache', file: 'f' }, verifyFailures: events });
  assert.match(text, /SECURITY {2}1 verification failure\(s\) recorded/);
  assert.match(text, /\[target\.digest_mismatch\] x0x\/0\.3\.1\/x0x\.linux-x64-gnu\.node: loaded wasm32-wasip1 instead/);
  // Once per process: the next cold resolution in this process records it again but does not warn again.
  fs.rmSync(path.join(s.cache, 'resolved'), { recursive: true, force: true });
  const second = await warningsDuring(() => resolver(s, { X0X_DIST_URL: s.fileUrl, X0X_DIST_VERIFY: 'always' }).resolve());
  assert.deepEqual(second.filter((w) => w.name === 'X0xSecurityWarning'), []);
});

test('issue 21: X0X_FORCE_WASM=error still fails closed on a tampered native build (no fallback, no load)', () => {
  const s = setup();
  tamperNative(s);
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: s.fileUrl, X0X_FORCE_WASM: 'error' }).resolve(),
    (e) => e.code === 'loader.no_candidate' && e.candidates.every((c) => c.name !== 'wasm32-wasip1') && e.cause.code === 'target.digest_mismatch',
  );
});

test('issue 21: a corrupt cache file with the repository down reports cache.corrupt as the first cause', () => {
  const s = setup();
  const first = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  assert.equal(first.kind, 'native');
  // Drop the warm record (the cold path re-hashes the cache) and corrupt the cached blob.
  fs.rmSync(path.join(s.cache, 'resolved'), { recursive: true, force: true });
  const blob = first.file;
  fs.chmodSync(blob, 0o644);
  const b = fs.readFileSync(blob);
  b[0] ^= 1;
  fs.writeFileSync(blob, b);
  fs.chmodSync(blob, 0o444);
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: 'http://127.0.0.1:9/down', X0X_DIST_RETRIES: '0' }).resolve(),
    (e) => {
      assert.equal(e.code, 'loader.no_candidate');
      assert.equal(e.cause.code, 'cache.corrupt', `first cause: ${e.cause.code} ${e.cause.message}`);
      assert.match(e.cause.message, /no longer matched its signed hash and was removed/);
      assert.match(e.message, /network\.unreachable/, 'the network failure is still named');
      assert.match(e.message, /next: .*a cached file no longer matched its signed hash/);
      return true;
    },
  );
  assert.ok(!fs.existsSync(blob), 'the corrupt blob was removed');
});

test('issue 21: X0X_DIST_URL without a scheme is named with its value and what is missing, once', () => {
  const s = setup();
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: '127.0.0.1:8080' }).resolve(),
    (e) => {
      assert.equal(e.code, 'loader.no_candidate');
      assert.equal(e.cause.code, 'config.invalid');
      const said = e.message.split('X0X_DIST_URL="127.0.0.1:8080" is not a repository URL: it has no scheme: did you mean http://127.0.0.1:8080?').length - 1;
      assert.equal(said, 1, e.message);
      assert.doesNotMatch(e.message, /invalid url/);
      return true;
    },
  );
});
