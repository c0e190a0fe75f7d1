'use strict';
// postinstall never fails the install; when it can, it leaves the cache warm for the first require.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');

function setup() {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('not really a binary'), custom: { glibc_floor: '2.17' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo);
  fs.copyFileSync(path.join(h.LOADER, 'postinstall.js'), path.join(pkg, 'postinstall.js'));
  fs.mkdirSync(path.join(pkg, 'bin'));
  fs.copyFileSync(path.join(h.LOADER, 'bin', 'x0x.js'), path.join(pkg, 'bin', 'x0x.js'));
  return { d, repo, pkg };
}

const run = (pkg, env) =>
  spawnSync(process.execPath, [path.join(pkg, 'postinstall.js')], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });

test('offline, nothing cached: exit 0 with a warning naming the code and what to do', () => {
  const s = setup();
  const r = run(s.pkg, { X0X_DIST_CACHE: path.join(s.d, 'c'), X0X_DIST_OFFLINE: '1' });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /warning: could not prefetch/);
  assert.match(r.stderr, /\[loader\.no_candidate\]/);
  assert.match(r.stderr, /X0X_DIST_BUNDLE/);
});

test('repository unreachable: exit 0 with a warning', () => {
  const s = setup();
  const r = run(s.pkg, { X0X_DIST_CACHE: path.join(s.d, 'c'), X0X_DIST_URL: 'http://127.0.0.1:9', X0X_DIST_RETRIES: '0' });
  assert.equal(r.status, 0);
  assert.match(r.stderr, /network\.unreachable/);
});

test('repository reachable: the binary is fetched and verified into the cache (then loading fails: still exit 0)', () => {
  const s = setup();
  const cache = path.join(s.d, 'c');
  const r = run(s.pkg, { X0X_DIST_CACHE: cache, X0X_DIST_URL: `file://${s.repo.dir}` });
  assert.equal(r.status, 0);
  assert.equal(fs.readdirSync(path.join(cache, 'blobs')).length, 1, 'prefetched');
  assert.match(r.stderr, /ERR_DLOPEN_FAILED/);
});
