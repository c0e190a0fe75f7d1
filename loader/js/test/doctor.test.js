'use strict';
// Issue 14: a missing platform package is explained by its real cause, from the evidence on disk (lib/platform-cause.js),
// in `x0x doctor` and in the loader.no_candidate message: another libc, node_modules from another OS, omitted
// optional dependencies, a release-age cooldown — not a generic "reinstall" or a package manager bug.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const h = require('./helpers/repo');
const { platformPackageCause } = require('../lib/platform-cause');
const { table } = require('../lib/platforms');

const rows = table();
const GNU = { platform: 'linux', arch: 'x64', libc: 'gnu' };

/** A project with x0x at node_modules/x0x (npm layout) and the given extra files (relative to the project). */
function project(files = {}) {
  const d = h.tmpdir();
  const pkgDir = path.join(d, 'node_modules', 'x0x');
  fs.mkdirSync(pkgDir, { recursive: true });
  fs.writeFileSync(path.join(d, 'package.json'), '{"name":"app","version":"1.0.0"}');
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(d, f)), { recursive: true });
    fs.writeFileSync(path.join(d, f), text);
  }
  return { d, pkgDir };
}
const cause = (p, env = {}) => platformPackageCause({ pkgDir: p.pkgDir, scope: 'x0x', pkg: 'x0x', version: '0.3.1', wanted: 'linux-x64-gnu', host: GNU, rows, env });

test('wrong libc: a musl package on a glibc host', () => {
  const c = cause(project({ 'node_modules/@x0x/core-linux-x64-musl/package.json': '{}' }));
  assert.equal(c.cause, 'wrong-libc');
  assert.match(c.evidence[0], /@x0x\/core-linux-x64-musl/);
  assert.match(c.next, /another C library/);
});

test('node_modules copied from another OS: only a darwin package is installed', () => {
  const c = cause(project({ 'node_modules/@x0x/core-darwin-arm64/package.json': '{}' }));
  assert.equal(c.cause, 'other-host');
  assert.match(c.next, /installed on another OS\/CPU and copied here/);
});

test('omitted optional dependencies: the lockfile resolves it, node_modules lacks it; npm_config_omit; pnpm .modules.yaml', () => {
  assert.equal(cause(project({ 'package-lock.json': '{"packages":{"node_modules/@x0x/core-linux-x64-gnu":{"optional":true}}}' })).cause, 'omitted');
  assert.equal(cause(project(), { npm_config_omit: 'optional' }).cause, 'omitted');
  const c = cause(project({ 'node_modules/.modules.yaml': 'included:\n  dependencies: true\n  devDependencies: true\n  optionalDependencies: false\n' }));
  assert.equal(c.cause, 'omitted');
  assert.match(c.next, /--omit=optional/);
});

test('a release-age cooldown: pnpm minimumReleaseAge, npm min-release-age, yarn npmMinimalAgeGate', () => {
  const c = cause(project({ 'pnpm-workspace.yaml': 'minimumReleaseAge: 1440\n' }));
  assert.equal(c.cause, 'cooldown');
  assert.match(c.evidence[0], /pnpm minimumReleaseAge = 1440/);
  assert.match(c.next, /minimumReleaseAgeExclude/);
  assert.equal(cause(project({ '.npmrc': 'min-release-age=3\n' })).cause, 'cooldown');
  assert.equal(cause(project({ '.yarnrc.yml': 'npmMinimalAgeGate: 3d\n' })).cause, 'cooldown');
});

test('none of these: not-installed, with the explicit install command (no package manager bug blamed)', () => {
  const c = cause(project());
  assert.equal(c.cause, 'not-installed');
  assert.match(c.next, /npm install @x0x\/core-linux-x64-gnu@0\.3\.1/);
  assert.doesNotMatch(JSON.stringify(c), /bug|npm\/cli/i);
});

test('the loader.no_candidate message names the cause; `x0x doctor --json` reports it', () => {
  const d = h.tmpdir();
  const repo = new h.Repo(path.join(d, 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('native'), custom: { glibc_floor: '2.17', libc: 'glibc' } } });
  const pkgDir = path.join(d, 'app', 'node_modules', 'x0x');
  h.makePackage(pkgDir, repo);
  fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify({ name: 'x0x', version: '0.3.1', optionalDependencies: { '@x0x/core-linux-x64-gnu': '0.3.1' } }));
  fs.mkdirSync(path.join(d, 'app', 'node_modules', '@x0x', 'core-darwin-arm64'), { recursive: true });
  fs.mkdirSync(path.join(pkgDir, 'bin'));
  fs.copyFileSync(path.join(h.LOADER, 'bin', 'x0x.js'), path.join(pkgDir, 'bin', 'x0x.js'));
  const env = { PATH: process.env.PATH, X0X_DIST_CACHE: path.join(d, 'cache'), X0X_DIST_OFFLINE: '1' };
  if (process.platform !== 'linux' || process.arch !== 'x64') return;
  const r = spawnSync(process.execPath, ['-e', "try { require('x0x') } catch (e) { console.log(e.message) }"], { cwd: path.join(d, 'app'), env, encoding: 'utf8' });
  assert.match(r.stdout, /@x0x\/core-linux-x64-gnu \(an optional dependency of x0x\) is not installed \[other-host: installed: @x0x\/core-darwin-arm64/);
  const doc = spawnSync(process.execPath, [path.join(pkgDir, 'bin', 'x0x.js'), 'doctor', '--json'], { env, encoding: 'utf8' });
  assert.equal(doc.status, 1, doc.stderr);
  const rep = JSON.parse(doc.stdout);
  assert.equal(rep.ok, false);
  assert.deepEqual(rep.platformPackages.map((p) => [p.name, p.installed, p.cause]), [['@x0x/core-linux-x64-gnu', false, 'other-host']]);
  assert.equal(rep.resolution.error.code, 'loader.no_candidate');
  const text = spawnSync(process.execPath, [path.join(pkgDir, 'bin', 'x0x.js'), 'doctor'], { env, encoding: 'utf8' });
  assert.match(text.stdout, /not installed — other-host/);
  assert.match(text.stdout, /next: node_modules was installed on another OS/);
});
