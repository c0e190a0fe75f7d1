'use strict';
// resolve → fetch → verify → cache → load, against real repositories (file:// and HTTP on 127.0.0.1).
// Loading is observed through injected loaders (the bytes they were handed), except where noted; real
// dlopen/WASM are covered by native.test.js and the end-to-end stage.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { serveChild } = require('./helpers/server');
const { Resolver } = require('../lib/loader');

const NATIVE = 'x0x/0.3.1/x0x.linux-x64-gnu.node';
const WASM = 'x0x/0.3.1/x0x.wasm32-wasip1.wasm';
const GNU_HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

function setup({ embed = false, nativeCustom = { glibc_floor: '2.17', libc: 'glibc' }, consistent = true } = {}) {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'), { consistent });
  repo.publish({
    [NATIVE]: { data: Buffer.from('native bytes v0.3.1'), custom: nativeCustom },
    [WASM]: { data: Buffer.from('wasm bytes v0.3.1'), custom: { kind: 'wasm' } },
  });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed });
  const cache = path.join(d, 'cache');
  return { d, repo, pkg, cache, fileUrl: `file://${repo.dir}` };
}

function resolver(s, env, host = GNU_HOST) {
  return new Resolver({
    pkgDir: s.pkg,
    env: { X0X_DIST_CACHE: s.cache, ...env },
    host,
    loadNative: (f) => ({ kind: 'native', bytes: fs.readFileSync(f, 'utf8'), file: f }),
    loadWasm: (b) => ({ kind: 'wasm', bytes: b.toString() }),
  });
}

const blobs = (cache) => (fs.existsSync(path.join(cache, 'blobs')) ? fs.readdirSync(path.join(cache, 'blobs')) : []);

test('file:// repository: fetch, verify, cache, load; then warm from the record', () => {
  const s = setup();
  const r = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  assert.equal(r.platform, 'linux-x64-gnu');
  assert.equal(r.source, 'repository');
  assert.equal(r.exports.bytes, 'native bytes v0.3.1');
  assert.equal(blobs(s.cache).length, 1);
  const st = fs.statSync(path.join(s.cache, 'blobs', blobs(s.cache)[0]));
  assert.equal(st.mode & 0o777, 0o444, 'cached blobs are read-only');
  const warm = resolver(s, { X0X_DIST_URL: 'http://127.0.0.1:9/unreachable' }).resolve();
  assert.equal(warm.warm, true);
  assert.equal(warm.exports.bytes, 'native bytes v0.3.1');
});

test('embedded release metadata + warm cache: no repository needed at all', () => {
  const s = setup({ embed: true });
  resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  // Drop the warm record: the cold path must verify the blob from embedded metadata, offline.
  fs.rmSync(path.join(s.cache, 'resolved'), { recursive: true });
  fs.rmSync(path.join(s.cache, 'tuf'), { recursive: true });
  const r = resolver(s, { X0X_DIST_OFFLINE: '1' }).resolve();
  assert.equal(r.source, 'cache');
  assert.ok(!r.warm);
});

test('tampered target → target.digest_mismatch and nothing cached', () => {
  const s = setup();
  const meta = JSON.parse(s.repo.x0xBytes).signed.targets;
  for (const [p, t] of Object.entries(meta)) {
    const f = path.join(s.repo.dir, 'targets', path.dirname(p), `${t.hashes.sha256}.${path.basename(p)}`);
    const b = fs.readFileSync(f);
    b[0] ^= 1;
    fs.writeFileSync(f, b);
  }
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve(),
    (e) => {
      assert.equal(e.code, 'loader.no_candidate');
      assert.deepEqual(e.candidates.map((c) => c.code), ['target.digest_mismatch', 'target.not_found', 'target.digest_mismatch']);
      assert.equal(e.cause.code, 'target.digest_mismatch');
      assert.equal(e.cause.cause.code, 'target.not_found');
      assert.match(e.message, /linux-x64-gnu \(glibc 2\.36\)/);
      assert.match(e.message, /next: /);
      return true;
    },
  );
  assert.deepEqual(blobs(s.cache), []);
  assert.deepEqual(fs.readdirSync(path.join(s.cache, 'tmp')), [], 'no partial files left');
});

test('glibc floor above the host → skipped with the reason, WASM loaded', () => {
  const s = setup({ nativeCustom: { glibc_floor: '2.39', libc: 'glibc' } });
  const r = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  assert.equal(r.kind, 'wasm');
  assert.equal(r.platform, 'wasm32-wasip1');
  assert.match(r.attempts[0].reason, /needs glibc 2\.39, this host has 2\.36/);
  assert.equal(r.exports.bytes, 'wasm bytes v0.3.1');
  assert.equal(blobs(s.cache).length, 1, 'the skipped native binary is never downloaded');
});

test('X0X_FORCE_WASM=1 loads WASM; X0X_FORCE_WASM=error refuses it', () => {
  const s = setup();
  const r = resolver(s, { X0X_DIST_URL: s.fileUrl, X0X_FORCE_WASM: '1' }).resolve();
  assert.equal(r.kind, 'wasm');
  const s2 = setup({ nativeCustom: { glibc_floor: '2.39' } });
  assert.throws(
    () => resolver(s2, { X0X_DIST_URL: s2.fileUrl, X0X_FORCE_WASM: 'error' }).resolve(),
    (e) => e.code === 'loader.no_candidate' && e.candidates.length === 1 && /glibc 2\.39/.test(e.message),
  );
  // npm config form (.npmrc x0x_force_wasm=1).
  const s3 = setup();
  assert.equal(resolver(s3, { X0X_DIST_URL: s3.fileUrl, npm_config_x0x_force_wasm: '1' }).resolve().kind, 'wasm');
});

test('native load failure (ERR_DLOPEN_FAILED) falls through to WASM with the reason kept', () => {
  const s = setup();
  const r = new Resolver({
    pkgDir: s.pkg,
    env: { X0X_DIST_CACHE: s.cache, X0X_DIST_URL: s.fileUrl },
    host: GNU_HOST,
    // The real dlopen: the "binary" is text, so the dynamic linker refuses it.
    loadWasm: (b) => ({ kind: 'wasm', bytes: b.toString() }),
  }).resolve();
  assert.equal(r.kind, 'wasm');
  assert.equal(r.attempts[0].code, 'loader.load_failed');
  assert.match(r.attempts[0].reason, /ERR_DLOPEN_FAILED/);
});

test('offline with a cold cache → clear error naming the bundle/cache options', () => {
  const s = setup({ embed: true });
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: 'http://127.0.0.1:9', X0X_DIST_OFFLINE: '1' }).resolve(),
    (e) => {
      assert.equal(e.code, 'loader.no_candidate');
      assert.ok(e.candidates.every((c) => c.code === 'loader.offline' || c.code === 'target.not_found'));
      assert.match(e.message, /X0X_DIST_BUNDLE/);
      assert.match(e.message, /X0X_DIST_CACHE/);
      return true;
    },
  );
});

test('no repository configured and nothing local → error says to set X0X_DIST_URL', () => {
  const s = setup();
  assert.throws(() => resolver(s, {}).resolve(), (e) => e.code === 'loader.no_candidate' && /X0X_DIST_URL/.test(e.message));
});

test('unsupported host (no native, WASM forbidden) → loader.no_candidate listing the host', () => {
  const s = setup();
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: s.fileUrl, X0X_FORCE_WASM: 'error' }, { platform: 'freebsd', arch: 'x64' }).resolve(),
    (e) => e.code === 'loader.no_candidate' && /freebsd-x64/.test(e.message) && /forbids WASM/.test(e.message),
  );
});

test('X0X_NATIVE_PATH: loaded only if it matches a signed target', () => {
  const s = setup({ embed: true });
  const good = path.join(s.d, 'good.node');
  fs.writeFileSync(good, 'native bytes v0.3.1');
  const r = resolver(s, { X0X_NATIVE_PATH: good }).resolve();
  assert.equal(r.source, 'X0X_NATIVE_PATH');
  assert.equal(r.exports.bytes, 'native bytes v0.3.1');
  const bad = path.join(s.d, 'bad.node');
  fs.writeFileSync(bad, 'something else');
  assert.throws(() => resolver(s, { X0X_NATIVE_PATH: bad }).resolve(), (e) => e.code === 'target.digest_mismatch');
});

test('installed platform package @x0x/core-<platform> is verified, copied into the cache and loaded', () => {
  const s = setup({ embed: true });
  const dir = path.join(s.pkg, 'node_modules', '@x0x', 'core-linux-x64-gnu');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"@x0x/core-linux-x64-gnu","version":"0.3.1"}');
  fs.writeFileSync(path.join(dir, 'x0x.linux-x64-gnu.node'), 'native bytes v0.3.1');
  const r = resolver(s, {}).resolve();
  assert.equal(r.source, 'platform-package');
  assert.equal(path.dirname(r.file), path.join(s.cache, 'blobs'));
  // A tampered platform package is refused.
  fs.rmSync(s.cache, { recursive: true });
  fs.chmodSync(path.join(dir, 'x0x.linux-x64-gnu.node'), 0o644);
  fs.writeFileSync(path.join(dir, 'x0x.linux-x64-gnu.node'), 'native bytes v0.3.2');
  assert.throws(() => resolver(s, {}).resolve(), (e) => e.candidates[0].code === 'target.length_mismatch' || e.candidates[0].code === 'target.digest_mismatch');
});

test('a cached blob modified after verification is detected: warm record rejected, blob re-hashed and replaced', () => {
  const s = setup();
  const first = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  fs.chmodSync(first.file, 0o644);
  fs.writeFileSync(first.file, 'evil bytes padded to len');
  const r = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  assert.ok(!r.warm);
  assert.equal(r.exports.bytes, 'native bytes v0.3.1');
});

test('X0X_DIST_VERIFY=always bypasses the warm record', () => {
  const s = setup();
  resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  const r = resolver(s, { X0X_DIST_URL: s.fileUrl, X0X_DIST_VERIFY: 'always' }).resolve();
  assert.ok(!r.warm);
  assert.equal(r.source, 'cache');
});

test('HTTP repository: retries 503s, resumes a dropped download with Range, consistent-snapshot URLs', async () => {
  const s = setup();
  const srv = await serveChild(s.repo.dir, { failFirst: 2, dropTargetOnce: true });
  try {
    const r = resolver(s, { X0X_DIST_URL: srv.url, X0X_DIST_RETRIES: '4' }).resolve();
    assert.equal(r.exports.bytes, 'native bytes v0.3.1');
    const counts = await srv.counts();
    const targetHits = Object.entries(counts).filter(([p]) => p.includes('/targets/'));
    assert.equal(targetHits.length, 1);
    assert.match(targetHits[0][0], /\/tuf\/targets\/x0x\/0\.3\.1\/[0-9a-f]{64}\.x0x\.linux-x64-gnu\.node$/);
    assert.equal(targetHits[0][1], 2, 'one dropped attempt + one Range resume');
  } finally {
    await srv.close();
  }
});

test('rollback: a repository serving older metadata than the cache trusts → metadata.rollback', async () => {
  const s = setup();
  const oldTs = s.repo.timestampBytes;
  s.repo.publish({ 'x0x/0.3.1/x0x.wasm32-wasip1-threads.wasm': { data: Buffer.from('threads') } });
  const srv = await serveChild(s.repo.dir);
  try {
    resolver(s, { X0X_DIST_URL: srv.url }).resolve();
    fs.writeFileSync(path.join(s.repo.dir, 'metadata', 'timestamp.json'), oldTs);
    fs.rmSync(path.join(s.cache, 'blobs'), { recursive: true });
    fs.rmSync(path.join(s.cache, 'resolved'), { recursive: true });
    // Make the cache's persisted metadata unusable for lookup (so the loader must go online) but keep the
    // persisted timestamp as the rollback reference.
    const persisted = fs.readdirSync(path.join(s.cache, 'tuf'))[0];
    for (const f of fs.readdirSync(path.join(s.cache, 'tuf', persisted))) {
      if (f !== 'timestamp.json') fs.rmSync(path.join(s.cache, 'tuf', persisted, f));
    }
    assert.throws(
      () => resolver(s, { X0X_DIST_URL: srv.url }).resolve(),
      (e) => e.code === 'loader.no_candidate' && e.candidates.some((c) => c.code === 'metadata.rollback'),
    );
  } finally {
    await srv.close();
  }
});

test('expired timestamp online → metadata.expired in the candidate reasons', () => {
  const s = setup();
  s.repo.expires.timestamp = '2001-01-01T00:00:00Z';
  s.repo.writeTimestamp();
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve(),
    (e) => e.candidates.every((c) => c.code === 'metadata.expired'),
  );
});

test('root rotation is followed from the shipped root through N+1.root.json', () => {
  const s = setup();
  s.repo.rotateRoot();
  s.repo.rotateRoot();
  // New timestamp signed with the same timestamp key, under root v3.
  s.repo.writeTimestamp();
  const r = resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  assert.equal(r.platform, 'linux-x64-gnu');
  const persisted = fs.readdirSync(path.join(s.cache, 'tuf'))[0];
  assert.ok(fs.existsSync(path.join(s.cache, 'tuf', persisted, '3.root.json')));
});

test('non-consistent-snapshot repositories work too', () => {
  const s = setup({ consistent: false });
  assert.equal(resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve().platform, 'linux-x64-gnu');
});

test('X0X_DIST_ROOT replaces the shipped root: a foreign root rejects the repository', () => {
  const s = setup();
  const other = new h.Repo(path.join(s.d, 'other'));
  const rootFile = path.join(s.d, 'other-root.json');
  fs.writeFileSync(rootFile, other.anchor);
  assert.throws(
    () => resolver(s, { X0X_DIST_URL: s.fileUrl, X0X_DIST_ROOT: rootFile }).resolve(),
    (e) => e.candidates.every((c) => c.code.startsWith('metadata.')),
  );
  assert.deepEqual(blobs(s.cache), []);
});

test('X0X_DIST_BUNDLE: an unpacked bundle directory works offline; a file that is not a bundle is bundle.invalid', () => {
  const s = setup();
  const r = resolver(s, { X0X_DIST_BUNDLE: s.repo.dir, X0X_DIST_OFFLINE: '1' }).resolve();
  assert.equal(r.source, 'bundle');
  const s2 = setup();
  const file = path.join(s2.d, 'x0x.bundle');
  fs.writeFileSync(file, 'not yet a format');
  assert.throws(
    () => resolver(s2, { X0X_DIST_BUNDLE: file }).resolve(),
    (e) => e.candidates.every((c) => c.code === 'bundle.invalid'),
  );
});

test('a warm record is bound to the trust anchor: a replaced root.json sends require back to full verification', () => {
  const s = setup();
  resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve();
  assert.equal(resolver(s, {}).resolve().warm, true);
  const other = new h.Repo(path.join(s.d, 'other'));
  fs.writeFileSync(path.join(s.pkg, 'root.json'), other.anchor);
  assert.throws(() => resolver(s, { X0X_DIST_URL: s.fileUrl }).resolve(), (e) => e.code === 'loader.no_candidate');
});

test('a server slower than X0X_DIST_TIMEOUT_MS → network.unreachable after the retries, nothing cached', async () => {
  const s = setup();
  const srv = await serveChild(s.repo.dir, { delayMs: 3000 });
  try {
    const t0 = Date.now();
    assert.throws(
      () => resolver(s, { X0X_DIST_URL: srv.url, X0X_DIST_TIMEOUT_MS: '200', X0X_DIST_RETRIES: '1' }).resolve(),
      (e) => e.candidates.every((c) => c.code === 'network.unreachable') && /timed out after 200 ms/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 15000, 'timeouts are enforced');
    assert.deepEqual(blobs(s.cache), []);
  } finally {
    await srv.close();
  }
});

test('read-only cache directory: an installed platform package still verifies and loads in place', { skip: process.getuid && process.getuid() === 0 && 'root ignores directory permissions' }, () => {
  const s = setup({ embed: true });
  const dir = path.join(s.pkg, 'node_modules', '@x0x', 'core-linux-x64-gnu');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"@x0x/core-linux-x64-gnu","version":"0.3.1"}');
  fs.writeFileSync(path.join(dir, 'x0x.linux-x64-gnu.node'), 'native bytes v0.3.1');
  fs.mkdirSync(s.cache, { mode: 0o555 });
  const r = resolver(s, {}).resolve();
  assert.equal(r.source, 'platform-package');
  assert.equal(r.file, path.join(dir, 'x0x.linux-x64-gnu.node'));
});

test('unwritable cache path: an installed platform package still verifies and loads in place', () => {
  const s = setup({ embed: true });
  const dir = path.join(s.pkg, 'node_modules', '@x0x', 'core-linux-x64-gnu');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"@x0x/core-linux-x64-gnu","version":"0.3.1"}');
  fs.writeFileSync(path.join(dir, 'x0x.linux-x64-gnu.node'), 'native bytes v0.3.1');
  // A regular file where the cache directory should be: mkdir fails even for root.
  fs.writeFileSync(s.cache, 'not a directory');
  const r = resolver(s, {}).resolve();
  assert.equal(r.source, 'platform-package');
  assert.equal(r.exports.bytes, 'native bytes v0.3.1');
  assert.equal(r.file, path.join(dir, 'x0x.linux-x64-gnu.node'));
});
