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
