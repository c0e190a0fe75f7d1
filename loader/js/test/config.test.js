'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { readConfig, SETTINGS, defaultCacheDir } = require('../lib/constants');
const { CODES } = require('../lib/errors');

test('environment first, then npm config (npm_config_<key> from .npmrc)', () => {
  const c = readConfig({ npm_config_x0x_dist_url: 'http://npmrc', X0X_DIST_OFFLINE: '1', npm_config_x0x_force_wasm: 'error' });
  assert.equal(c.url, 'http://npmrc');
  assert.equal(c.offline, true);
  assert.equal(c.forceWasm, 'forbid');
  assert.equal(readConfig({ X0X_DIST_URL: 'http://env', npm_config_x0x_dist_url: 'http://npmrc' }).url, 'http://env');
  assert.equal(readConfig({ X0X_FORCE_WASM: '1' }).forceWasm, 'force');
  assert.equal(readConfig({}).forceWasm, 'auto');
  assert.equal(readConfig({ X0X_DIST_VERIFY: 'always' }).verifyAlways, true);
  assert.equal(readConfig({ X0X_DIST_RETRIES: '5' }).retries, 5);
  assert.equal(readConfig({ X0X_FORCE_WASM: '0' }).forceWasm, 'auto');
  assert.equal(readConfig({ X0X_FORCE_WASM: 'ERROR' }).forceWasm, 'forbid');
  // A setting that means nothing is an error, not silently the default.
  for (const env of [{ X0X_DIST_RETRIES: 'x' }, { X0X_DIST_TIMEOUT_MS: '-1' }, { X0X_DIST_TIMEOUT_MS: '1.5' }, { X0X_FORCE_WASM: 'maybe' }, { npm_config_x0x_force_wasm: 'forbid' }]) {
    assert.throws(() => readConfig(env), (e) => e.code === 'config.invalid' && e.message.includes(Object.values(env)[0]), JSON.stringify(env));
  }
});

test("WASM selection: napi-rs's NAPI_RS_FORCE_WASI / NAPI_RS_WASI_FLAVOR beside X0X_FORCE_WASM / X0X_WASM_FLAVOR", () => {
  const mode = (env) => readConfig(env).forceWasm;
  // napi-rs's tri-state: 1/true = WASM first with native after, error = WASM only; other values ignored like napi-rs.
  assert.equal(mode({ NAPI_RS_FORCE_WASI: '1' }), 'prefer');
  assert.equal(mode({ NAPI_RS_FORCE_WASI: 'true' }), 'prefer');
  assert.equal(mode({ NAPI_RS_FORCE_WASI: 'error' }), 'force');
  assert.equal(mode({ NAPI_RS_FORCE_WASI: 'false' }), 'auto');
  assert.equal(mode({ NAPI_RS_FORCE_WASI: 'whatever' }), 'auto');
  // Ours wins when both are set.
  assert.equal(mode({ X0X_FORCE_WASM: 'error', NAPI_RS_FORCE_WASI: '1' }), 'forbid');
  assert.equal(mode({ X0X_FORCE_WASM: '0', NAPI_RS_FORCE_WASI: 'error' }), 'auto');
  // A flavour means that flavour only; napi-rs calls the threads flavour wasm32-wasi.
  for (const [env, want] of [
    [{ X0X_WASM_FLAVOR: 'threads' }, 'force-threads'],
    [{ X0X_WASM_FLAVOR: 'wasm32-wasip1-threads' }, 'force-threads'],
    [{ X0X_WASM_FLAVOR: 'WASIP1' }, 'force-wasip1'],
    [{ npm_config_x0x_wasm_flavor: 'wasip1' }, 'force-wasip1'],
    [{ NAPI_RS_WASI_FLAVOR: 'wasm32-wasi' }, 'force-threads'],
    [{ NAPI_RS_WASI_FLAVOR: 'wasm32-wasip1' }, 'force-wasip1'],
    [{ X0X_WASM_FLAVOR: 'wasip1', NAPI_RS_WASI_FLAVOR: 'wasm32-wasi' }, 'force-wasip1'],
    [{ X0X_WASM_FLAVOR: 'threads', X0X_FORCE_WASM: '1' }, 'force-threads'],
  ]) {
    assert.equal(mode(env), want, JSON.stringify(env));
  }
  for (const [env, name] of [
    [{ X0X_WASM_FLAVOR: 'simd' }, 'X0X_WASM_FLAVOR'],
    [{ NAPI_RS_WASI_FLAVOR: 'wasm32-wasip2' }, 'NAPI_RS_WASI_FLAVOR'],
    [{ X0X_WASM_FLAVOR: 'threads', X0X_FORCE_WASM: 'error' }, 'X0X_FORCE_WASM'],
  ]) {
    assert.throws(() => readConfig(env), (e) => e.code === 'config.invalid' && e.message.startsWith(name), JSON.stringify(env));
  }
});

test('default cache directories per OS', () => {
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }, 'linux'), '/xdg/x0x-dist');
  assert.match(defaultCacheDir({}, 'linux'), /\.cache\/x0x-dist$/);
  assert.match(defaultCacheDir({}, 'darwin'), /Library\/Caches\/x0x-dist$/);
  assert.match(defaultCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32'), /x0x-dist/);
});

test('docs/loader.md documents every setting', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'loader.md'), 'utf8');
  for (const k of Object.keys(SETTINGS)) assert.match(doc, new RegExp(`\\| \`${k}\``), `${k} missing from docs/loader.md`);
});

test('every code the loader raises exists in the project-wide table (manifests/src/codes.rs)', () => {
  const rs = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'manifests', 'src', 'codes.rs'), 'utf8');
  const shared = new Set([...rs.matchAll(/= "([a-z_.]+)", \d+, \d+,/g)].map((m) => m[1]));
  for (const c of Object.keys(CODES)) assert.ok(shared.has(c), `${c} is not in manifests/src/codes.rs`);
  const libDir = path.join(__dirname, '..', 'lib');
  for (const f of fs.readdirSync(libDir)) {
    const src = fs.readFileSync(path.join(libDir, f), 'utf8');
    for (const m of src.matchAll(/err\(\s*'([a-z_.]+)'/g)) assert.ok(m[1] in CODES, `${f} raises unknown code ${m[1]}`);
  }
});

test('X0X_DIST_MIN_RELEASE_AGE: seconds or s/m/h/d, as the Rust loader; a pinned young release is loader.too_young', () => {
  const age = (v) => readConfig({ X0X_DIST_MIN_RELEASE_AGE: v }).minReleaseAgeS;
  assert.equal(readConfig({}).minReleaseAgeS, 0);
  assert.deepEqual(['3600', '90s', '30m', '12h', '7d', '0'].map(age), [3600, 90, 1800, 43200, 604800, 0]);
  for (const v of ['d', '-1', '1w', '1.5h', 'x']) {
    assert.throws(() => age(v), (e) => e.code === 'config.invalid', v);
  }
  const { check } = require('../lib/cooldown');
  const now = Date.parse('2026-12-07T12:00:00Z');
  const r = { pkg: 'x0x', version: '1.2.0', cfg: { minReleaseAgeS: 86400 } };
  const info = (published) => ({ custom: published === undefined ? {} : { published } });
  // Published an hour ago: refused until a day after its publish time, named.
  assert.throws(() => check(r, info('2026-12-07T11:00:00Z'), now), (e) => e.code === 'loader.too_young' && e.lifecycle && e.message.includes('eligible at 2026-12-08T11:00:00.000Z'));
  check(r, info('2026-12-05T11:00:00Z'), now); // two days old
  check(r, info(undefined), now); // no publish time: old
  check({ ...r, cfg: { minReleaseAgeS: 0 } }, info('2026-12-07T11:59:59Z'), now); // off
});

test('X0X_DIST_REQUIRE_PROVENANCE: ISSUER or ISSUER|REPOSITORY, as the Rust loader; a release without matching signed provenance is loader.provenance', () => {
  const req = (v) => readConfig({ X0X_DIST_REQUIRE_PROVENANCE: v }).requireProvenance;
  assert.equal(readConfig({}).requireProvenance, null);
  assert.equal(req(' '), null);
  assert.deepEqual(req('https://ci.example|org/x0x'), { issuer: 'https://ci.example', repository: 'org/x0x' });
  assert.deepEqual(req('https://gitlab.com'), { issuer: 'https://gitlab.com', repository: null });
  for (const v of ['org/x0x', 'https://i|', 'https://i|a|b', 'ftp://i', 'https://a b']) {
    assert.throws(() => req(v), (e) => e.code === 'config.invalid', v);
  }
  const { check, summary } = require('../lib/provenance');
  const r = { pkg: 'x0x', version: '1.2.0', cfg: { requireProvenance: req('https://ci.example|org/x0x') } };
  const info = (provenance) => ({ path: 'x0x/1.2.0/x0x.wasm32-wasip1.wasm', custom: provenance ? { provenance } : {} });
  check(r, info({ issuer: 'https://ci.example', repository: 'org/x0x' }));
  check({ ...r, cfg: { requireProvenance: req('https://gitlab.com|g/x0x') } }, info({ issuer: 'https://gitlab.com', project_path: 'g/x0x' }));
  check({ ...r, cfg: { requireProvenance: null } }, info(null)); // off
  const refused = (i, why) => assert.throws(() => check(r, i), (e) => e.code === 'loader.provenance' && e.lifecycle && e.message.includes(why) && e.message.includes('X0X_DIST_REQUIRE_PROVENANCE=https://ci.example|org/x0x'), why);
  refused(info(null), 'has no signed provenance');
  refused(info({ issuer: 'https://other.example', repository: 'org/x0x' }), 'from issuer https://other.example');
  refused(info({ issuer: 'https://ci.example', repository: 'evil/x0x' }), 'from repository evil/x0x');
  assert.equal(summary({ repository: 'org/x0x', issuer: 'https://ci.example', run: 7, x: 'a\u001b[2Jb' }), 'issuer=https://ci.example repository=org/x0x run=7 x=a?[2Jb');
});
