'use strict';
// The `next:` line of loader.no_candidate names the step that fits the failure: an expired repository or
// bundle points at the operator's documented policy (not "a security event: report it"), and a
// X0X_DIST_BUNDLE that is not a bundle says so, with the path.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { Resolver } = require('../lib/loader');

const HOST = { platform: 'linux', arch: 'x64', glibc: '2.36', interpreter: '/lib64/ld-linux-x86-64.so.2' };

function setup(expireTimestamp) {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  if (expireTimestamp) repo.expires.timestamp = new Date(Date.now() - 3600e3).toISOString().replace(/\.\d+Z$/, 'Z');
  repo.publish({
    'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native'), custom: { glibc_floor: '2.17', libc: 'glibc' } },
    'x0x/0.3.1/x0x.wasm32-wasip1.wasm': { data: Buffer.from('wasm'), custom: { kind: 'wasm' } },
  });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, {});
  return { d, repo, pkg, cache: path.join(d, 'cache') };
}

function failure(s, env) {
  const r = new Resolver({
    pkgDir: s.pkg,
    env: { X0X_DIST_CACHE: s.cache, ...env },
    host: HOST,
    loadNative: () => ({}),
    loadWasm: () => ({}),
  });
  try {
    r.resolve();
  } catch (e) {
    return e;
  }
  assert.fail('resolve() should have failed');
}

test('expired metadata: next names X0X_DIST_ALLOW_EXPIRED_AFTER, not a security event', () => {
  const s = setup(true);
  const e = failure(s, { X0X_DIST_URL: `file://${s.repo.dir}` });
  assert.equal(e.code, 'loader.no_candidate');
  assert.ok(e.candidates.some((c) => c.code === 'metadata.expired'), JSON.stringify(e.candidates));
  const next = e.message.split('\nnext: ')[1];
  assert.match(next, /X0X_DIST_ALLOW_EXPIRED_AFTER \(docs\/air-gapped\.md\)/);
  assert.doesNotMatch(next, /security event/);
});

test('a tampered signature is still called a security event', () => {
  const s = setup(false);
  const ts = path.join(s.repo.dir, 'metadata', 'timestamp.json');
  const doc = JSON.parse(fs.readFileSync(ts, 'utf8'));
  doc.signed.version += 1;
  fs.writeFileSync(ts, JSON.stringify(doc));
  const e = failure(s, { X0X_DIST_URL: `file://${s.repo.dir}` });
  assert.match(e.message.split('\nnext: ')[1], /security event/);
});

test('X0X_DIST_BUNDLE that is not a bundle: next names the path and bundle export', () => {
  const s = setup(false);
  const file = path.join(s.d, 'notes.txt');
  fs.writeFileSync(file, 'not a bundle\n'.repeat(100));
  const e = failure(s, { X0X_DIST_BUNDLE: file });
  assert.ok(e.candidates.every((c) => c.code === 'bundle.invalid'), JSON.stringify(e.candidates));
  const next = e.message.split('\nnext: ')[1];
  assert.ok(next.includes(`X0X_DIST_BUNDLE=${file} is not a readable x0x-dist bundle`), next);
  assert.match(next, /x0x-dist bundle export/);
});

test('the expiry policy in force is said on stderr (the fetch worker\'s warning reaches the user)', () => {
  const s = setup(true); // timestamp expired an hour ago
  const cutoff = new Date(Date.now() - 2 * 3600e3).toISOString().replace(/\.\d+Z$/, 'Z'); // it was valid then
  const written = [];
  const orig = process.stderr.write;
  process.stderr.write = (chunk, ...rest) => {
    written.push(String(chunk));
    return orig.call(process.stderr, chunk, ...rest);
  };
  let r;
  try {
    r = new Resolver({
      pkgDir: s.pkg,
      env: { X0X_DIST_CACHE: s.cache, X0X_DIST_URL: `file://${s.repo.dir}`, X0X_DIST_ALLOW_EXPIRED_AFTER: cutoff },
      host: HOST,
      loadNative: () => ({ kind: 'native' }),
      loadWasm: () => ({ kind: 'wasm' }),
    }).resolve();
  } finally {
    process.stderr.write = orig;
  }
  assert.equal(r.platform, 'linux-x64-gnu');
  assert.ok(
    written.some((w) => w.startsWith(`x0x: warning: X0X_DIST_ALLOW_EXPIRED_AFTER=${cutoff.replace('Z', '.000Z')} is set`)),
    JSON.stringify(written),
  );
});
