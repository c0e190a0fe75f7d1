'use strict';
// lib/hot.js: the pieces of the warm path that replaced slower built-ins keep their exact meaning.
const test = require('node:test');
const assert = require('node:assert/strict');
const os = require('os');
const { safeName, defaultCacheDir, recordLocation } = require('../lib/hot');

test('safeName equals the regex replacement it replaced', () => {
  for (const n of ['x0x-0.3.1-linux-x64-auto-0a1b2c3d', 'x0x-1.0.0+build.7-linux-x64-force-ffffffff', '@x0x/core', 'a b\\c:d~é€😀', '', '._-']) {
    assert.equal(safeName(n), n.replace(/[^A-Za-z0-9._-]/g, '_'), n);
  }
});

test('default cache directory: $HOME as os.homedir() answers it on POSIX, XDG_CACHE_HOME first', () => {
  assert.equal(defaultCacheDir({ HOME: '/home/u' }, 'linux'), '/home/u/.cache/x0x-dist');
  assert.equal(defaultCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/xdg' }, 'linux'), '/xdg/x0x-dist');
  assert.equal(defaultCacheDir({ HOME: '/Users/u' }, 'darwin'), '/Users/u/Library/Caches/x0x-dist');
  if (process.platform !== 'win32' && process.env.HOME) assert.equal(defaultCacheDir({ HOME: process.env.HOME }, process.platform), defaultCacheDir({}, process.platform));
  assert.equal(defaultCacheDir({}, 'linux'), `${os.homedir()}/.cache/x0x-dist`);
});

test('record location: bound to the anchor path, release, force mode and node binary', () => {
  const base = { pkgDir: '/p/node_modules/x0x', pkg: 'x0x', version: '0.3.1', rootPath: undefined, cacheDir: '/c', forceWasm: 'auto' };
  const a = recordLocation(base);
  assert.equal(a.anchorFile, '/p/node_modules/x0x/root.json');
  assert.match(a.recordPath, /^\/c\/resolved\/x0x-0\.3\.1-[a-z0-9]+-[a-z0-9]+-auto-[0-9a-f]{8}\.json$/);
  for (const change of [{ pkgDir: '/q/node_modules/x0x' }, { version: '0.3.2' }, { forceWasm: 'force' }, { rootPath: '/etc/x0x/root.json' }]) {
    assert.notEqual(recordLocation({ ...base, ...change }).recordPath, a.recordPath, JSON.stringify(change));
  }
});
