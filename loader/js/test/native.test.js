'use strict';
// Real loading: a real N-API addon through process.dlopen, required through the package's index.js in a
// fresh process, warm and cold.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { buildAddon } = require('./helpers/addon');
const { platform, arch } = process;

const d = h.tmpdir();
const addon = platform === 'linux' && arch === 'x64' ? buildAddon(d) : null;

function node(args, env) {
  return spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
}

test('real addon: cold require fetches and dlopens, warm require loads from the record', { skip: !addon && !process.env.CI && 'no C compiler / node headers' }, () => {
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: fs.readFileSync(addon), custom: { glibc_floor: '2.2.5', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg'), repo, { embed: true });
  const env = { X0X_DIST_CACHE: path.join(d, 'cache'), X0X_DIST_URL: `file://${repo.dir}`, X0X_DIST_DEBUG: '1' };
  const cold = node(['-e', `console.log(require(${JSON.stringify(pkg)}).hello())`], env);
  assert.equal(cold.status, 0, cold.stderr);
  assert.equal(cold.stdout.trim(), 'hello from native');
  assert.match(cold.stderr, /loaded linux-x64-gnu from repository/);
  const warm = node(['-e', `console.log(require(${JSON.stringify(pkg)}).hello())`], { ...env, X0X_DIST_URL: 'http://127.0.0.1:9' });
  assert.equal(warm.status, 0, warm.stderr);
  assert.match(warm.stderr, /warm: linux-x64-gnu/);
  assert.doesNotMatch(warm.stderr, /host /, 'the warm path does no host detection');
});

test('real addon: an error from require carries the code and the chained causes', { skip: !addon && !process.env.CI && 'no C compiler / node headers' }, () => {
  const repo = new h.Repo(path.join(d, 'repo2'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: fs.readFileSync(addon), custom: { glibc_floor: '9.99', libc: 'glibc' } } });
  const pkg = h.makePackage(path.join(d, 'pkg2'), repo, { embed: true });
  const r = node(
    ['-e', `try { require(${JSON.stringify(pkg)}) } catch (e) { let c = e, codes = []; while (c) { codes.push(c.code); c = c.cause } console.log(JSON.stringify(codes)); console.log(e.message) }`],
    { X0X_DIST_CACHE: path.join(d, 'cache2'), X0X_DIST_OFFLINE: '1' },
  );
  const [codes, ...msg] = r.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(codes), ['loader.no_candidate', 'loader.load_failed', 'target.not_found', 'target.not_found']);
  assert.match(msg.join('\n'), /needs glibc 9\.99, this host has \d/);
});
