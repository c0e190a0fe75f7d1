'use strict';
// The hot core of the warm path, self-contained (built-ins fs, path and, for the default cache directory
// only, os): where a warm record lives, whether it still holds, and a native load from it. scripts/pack.js
// inlines this file, unchanged, into the packed index.js, so a warm require('x0x') compiles one small module
// and loads nothing from lib/; lib/warm.js and lib/constants.js use the same functions, so there is one
// implementation of the record key, the settings it depends on and the checks (docs/loader.md, "Threat model
// of the warm path"). Anything unusual (WASM record, X0X_DIST_DEBUG, a failed check or load) returns null
// and lib/warm.js takes over.

const fs = require('fs');
const path = require('path');

/** One setting: the environment first, then npm's `npm_config_<lowercase>` (lib/constants.js documents them). */
function setting(name, env = process.env) {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  const npm = env[`npm_config_${name.toLowerCase()}`];
  if (npm !== undefined && npm !== '') return npm;
  return undefined;
}

/** The home directory: $HOME on POSIX, as os.homedir() itself answers, without loading `os` (~0.2 ms). */
function homeDir(env, platform) {
  if (platform !== 'win32' && env.HOME) return env.HOME;
  return require('os').homedir();
}

function defaultCacheDir(env = process.env, platform = process.platform) {
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA || path.join(homeDir(env, platform), 'AppData', 'Local');
    return path.join(base, 'x0x-dist', 'Cache');
  }
  if (platform === 'darwin') return path.join(homeDir(env, platform), 'Library', 'Caches', 'x0x-dist');
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(homeDir(env, platform), '.cache'), 'x0x-dist');
}

function cacheDirOf(env) {
  return path.resolve(setting('X0X_DIST_CACHE', env) || defaultCacheDir(env));
}

function forceWasmOf(env) {
  const force = (setting('X0X_FORCE_WASM', env) || '').toLowerCase();
  return ['1', 'true', 'yes'].includes(force) ? 'force' : force === 'error' ? 'forbid' : 'auto';
}

/** FNV-1a (32-bit), hex: names warm records without touching crypto (its first use costs ~0.3 ms). */
function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i += 1) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** `name` with every character outside [A-Za-z0-9._-] replaced by `_` (a loop: a first regex costs ~20 µs). */
function safeName(name) {
  let out = '';
  for (let i = 0; i < name.length; i += 1) {
    const c = name.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45;
    out += ok ? name[i] : '_';
  }
  return out;
}

/**
 * The trust anchor's path and the warm record's path. The key binds the record to the anchor's path, the
 * release, the host's platform/arch, the X0X_FORCE_WASM mode and node's binary.
 */
function recordLocation({ pkgDir, pkg, version, rootPath, cacheDir, forceWasm }) {
  const anchorFile = rootPath ? path.resolve(rootPath) : path.join(pkgDir, 'root.json');
  const id = [anchorFile, pkg, version, process.platform, process.arch, forceWasm, process.execPath];
  const name = `${pkg}-${version}-${process.platform}-${process.arch}-${forceWasm}-${fnv1a(JSON.stringify(id))}`;
  return { anchorFile, recordPath: path.join(cacheDir, 'resolved', `${safeName(name)}.json`) };
}

/** Stat fields that change whenever a file is replaced or modified. */
function fileId(st) {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
}
function sameId(a, b) {
  return Boolean(a && b && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev);
}
function statId(p) {
  try {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    return st ? fileId(st) : null;
  } catch {
    return null;
  }
}

/** Node's binary and its ELF interpreter still are the files recorded (`host` from lib/warm.js hostIdentity). */
function sameHost(a) {
  if (!a || !sameId(statId(a.exec), a.execId)) return false;
  if (!a.interp) return true;
  // An interpreter that did not exist when recorded (node started through an explicit loader) must still not.
  return a.interpId ? sameId(statId(a.interp), a.interpId) : statId(a.interp) === null;
}

/**
 * The warm record at `loc` if it still holds: same release and anchor path, and the anchor, node, its
 * interpreter and the blob (inside `<cacheDir>/blobs`) have the identities recorded when the blob was verified.
 */
function validRecord(loc, version, cacheDir) {
  let rec;
  try {
    rec = JSON.parse(fs.readFileSync(loc.recordPath, 'utf8'));
  } catch {
    return null;
  }
  if (!rec || rec.v !== 2 || rec.version !== version || rec.anchorFile !== loc.anchorFile || typeof rec.blob !== 'string') return null;
  if (path.dirname(rec.blob) !== path.join(cacheDir, 'blobs')) return null;
  if (!sameId(statId(loc.anchorFile), rec.anchorFileId) || !sameHost(rec.host) || !sameId(statId(rec.blob), rec.blobId)) return null;
  return rec;
}

/**
 * The packed index.js's warm path: the exports of the native blob named by a valid record, or null (no or
 * stale record, WASM, X0X_DIST_VERIFY=always, X0X_NATIVE_PATH, X0X_DIST_DEBUG, dlopen failure).
 * @param {string} pkgDir
 * @param {{pkg: string, version: string}} release
 */
function fastLoad(pkgDir, release, env = process.env) {
  if ((setting('X0X_DIST_VERIFY', env) || '').toLowerCase() === 'always' || setting('X0X_NATIVE_PATH', env) || setting('X0X_DIST_DEBUG', env) === '1') {
    return null;
  }
  const cacheDir = cacheDirOf(env);
  const loc = recordLocation({ pkgDir, pkg: release.pkg, version: release.version, rootPath: setting('X0X_DIST_ROOT', env), cacheDir, forceWasm: forceWasmOf(env) });
  const rec = validRecord(loc, release.version, cacheDir);
  if (!rec || rec.kind !== 'native') return null;
  const m = { exports: {} };
  try {
    process.dlopen(m, rec.blob);
  } catch {
    return null;
  }
  return m.exports;
}

module.exports = { setting, defaultCacheDir, safeName, cacheDirOf, forceWasmOf, fnv1a, recordLocation, fileId, sameId, statId, sameHost, validRecord, fastLoad };
