'use strict';
// The warm path of require('x0x'): where a warm record lives, whether it still holds, and a native load from it
// (docs/loader.md, "Threat model of the warm path"). scripts/pack.js inlines the top of this file, up to the
// line that starts with "// HOT-END", into the packed index.js; lib/warm.js, lib/loader.js and lib/constants.js use the same functions,
// so there is one implementation of the record's name, the cache directory and the checks. Anything unusual
// (WASM record, X0X_DIST_DEBUG, a failed check or load) returns null and lib/warm.js takes over.
//
// Compiling this part is a third of a warm require's own cost (docs/loader.md, "Performance"). Hence: ASCII
// only; fs and path only; nothing lib/ alone needs above that line; every function above it is a parenthesized
// function expression, which V8 compiles with the module instead of pre-parsing it now and parsing it again at
// its first call (twice the work: 0.15 ms for the old fastLoad).

const fs = require('fs');
const path = require('path');

/** The default cache directory; $HOME on POSIX as os.homedir() answers it, without loading `os` (~0.2 ms). */
const defaultCacheDir = (function defaultCacheDir(env = process.env, platform = process.platform) {
  const home = platform !== 'win32' && env.HOME ? env.HOME : undefined;
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(require('os').homedir(), 'AppData', 'Local'), 'x0x-dist', 'Cache');
  if (platform === 'darwin') return path.join(home || require('os').homedir(), 'Library', 'Caches', 'x0x-dist');
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home || require('os').homedir(), '.cache'), 'x0x-dist');
});

/** FNV-1a (32-bit), hex: names warm records without touching crypto (its first use costs ~0.3 ms). */
const fnv1a = (function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0, n = str.length; i < n; i += 1) h = Math.imul(h ^ str.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
});

/** `name` with every character outside [A-Za-z0-9._-] replaced by `_` (a loop: a first regex costs ~20 us). */
const safeName = (function safeName(name) {
  let out = '';
  for (let i = 0; i < name.length; i += 1) {
    const c = name.charCodeAt(i);
    out += (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45 ? name[i] : '_';
  }
  return out;
});

/**
 * The warm record's path: `<cacheDir>/resolved/<pkg>-<version>-<platform>-<arch>-<force>-<fnv1a>.json`, the hash
 * over the anchor's path, the release, the host's platform/arch, the X0X_FORCE_WASM mode and node's binary.
 */
const recordPath = (function recordPath(cacheDir, anchorFile, pkg, version, forceWasm) {
  const { platform, arch, execPath } = process;
  const key = fnv1a(JSON.stringify([anchorFile, pkg, version, platform, arch, forceWasm, execPath]));
  return path.join(cacheDir, 'resolved', `${safeName(`${pkg}-${version}-${platform}-${arch}-${forceWasm}-${key}`)}.json`);
});

/**
 * `st` (fs.Stats or undefined) has the identity `id` recorded: size, mtime, ctime, inode and device. The ctime
 * is what a user cannot set back (utimes sets it to now): a byte flipped in place and the mtime restored is seen.
 */
const sameStat = (function sameStat(st, id) {
  return st !== undefined && id != null && st.size === id.size && st.mtimeMs === id.mtimeMs && st.ctimeMs === id.ctimeMs && st.ino === id.ino && st.dev === id.dev;
});

const NO_THROW = { throwIfNoEntry: false };

/**
 * `st` (fs.Stats) is owned by this user and no other user can write it: not world-writable, and
 * group-writable only for the user's own primary group (the user-private-group convention of umask 002).
 * Windows has no uid (ACLs): true there.
 */
const ownedSafe = (function ownedSafe(st) {
  if (process.getuid === undefined) return true;
  return st.uid === process.getuid() && (st.mode & 0o002) === 0 && ((st.mode & 0o020) === 0 || st.gid === process.getgid());
});

/**
 * The cache directory, its blobs/ and resolved/ are this user's alone (ownedSafe), so that only this user can
 * add, swap or remove a record or a blob (a record is then this user's too: no other could have created it).
 * statSync only (one stat per directory): a symlink is judged by its target. A cache reached through a symlink
 * never has a record here anyway: lib/ resolves the directory (resolveCacheDir, refusing another user's link)
 * and names every blob in a record by that resolved path, which checkRecord compares with `cacheDir`.
 * Otherwise the warm path steps aside and lib/ refuses the cache (cache.insecure, cache.foreign_symlink).
 */
const safeDirs = (function safeDirs(cacheDir) {
  try {
    const root = fs.statSync(cacheDir, NO_THROW);
    const blobs = fs.statSync(path.join(cacheDir, 'blobs'), NO_THROW);
    const resolved = fs.statSync(path.join(cacheDir, 'resolved'), NO_THROW);
    return root !== undefined && blobs !== undefined && resolved !== undefined && ownedSafe(root) && ownedSafe(blobs) && ownedSafe(resolved);
  } catch {
    return false; // ENOTDIR, EACCES, ...: lib/ decides
  }
});

/**
 * `rec` (a parsed record) if it still holds, else null: same release and anchor path, a blob inside
 * `<cacheDir>/blobs`, recorded by this very node, and the anchor, node and its ELF interpreter still have the
 * identities recorded when the blob was verified. The blob itself is checked on the descriptor it is loaded
 * through (openChecked).
 */
const checkRecord = (function checkRecord(rec, anchorFile, version, cacheDir) {
  if (!rec || rec.v !== 3 || rec.version !== version || rec.anchorFile !== anchorFile || typeof rec.blob !== 'string') return null;
  const host = rec.host;
  if (!host || host.exec !== process.execPath || path.dirname(rec.blob) !== path.join(cacheDir, 'blobs')) return null;
  try {
    if (!sameStat(fs.statSync(anchorFile, NO_THROW), rec.anchorFileId) || !sameStat(fs.statSync(host.exec, NO_THROW), host.execId)) return null;
    // An interpreter that did not exist when recorded (node started through an explicit loader) must still not.
    if (host.interp && (host.interpId ? !sameStat(fs.statSync(host.interp, NO_THROW), host.interpId) : fs.statSync(host.interp, NO_THROW) !== undefined)) {
      return null;
    }
    return rec;
  } catch {
    return null;
  }
});

/**
 * A descriptor of `file` if what it opened (never through a symlink at `file`) has the identity `id` and is this
 * user's alone, else -1. What is loaded is then dlopened or read through this descriptor: the inode checked is
 * the inode loaded, whatever happens to the path meanwhile.
 */
const openChecked = (function openChecked(file, id) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0));
  } catch {
    return -1;
  }
  try {
    const st = fs.fstatSync(fd);
    if (sameStat(st, id) && ownedSafe(st)) return fd;
  } catch {
    /* refused below */
  }
  fs.closeSync(fd);
  return -1;
});

/**
 * The X0X_FORCE_WASM mode of `env` if it is one whose record can name a native binary and no napi-rs or flavour
 * variable is set: 'auto' or 'forbid' (X0X_FORCE_WASM=error); else null, and lib/ decides (wasmModeOf below
 * HOT-END is the whole rule, and agrees with this one wherever this one answers). The other modes load WASM
 * first or only, which lib/warm.js serves; the whole rule costs ~30 us more to compile here.
 */
const hotMode = (function hotMode(env) {
  if (env.NAPI_RS_FORCE_WASI || env.NAPI_RS_WASI_FLAVOR || env.X0X_WASM_FLAVOR || env.npm_config_x0x_wasm_flavor) return null;
  const f = (env.X0X_FORCE_WASM || env.npm_config_x0x_force_wasm || '').toLowerCase();
  return f === '' || f === '0' || f === 'false' || f === 'no' ? 'auto' : f === 'error' ? 'forbid' : null;
});

/**
 * The record's revocations check is due (lib/revocations.js): its last check (`checkedAt`, ms) is
 * X0X_DIST_REVOCATION_INTERVAL seconds old or more (default 3600), in the future (a clock set back), missing
 * (an older record), or the release is yanked (lib/warm.js warns). Then lib/ decides; an invalid interval
 * too (lib/constants.js reports config.invalid).
 */
const checkDue = (function checkDue(rec, env) {
  const v = env.X0X_DIST_REVOCATION_INTERVAL || env.npm_config_x0x_dist_revocation_interval;
  const age = Date.now() - rec.checkedAt;
  return !(age >= 0 && age < (v === undefined ? 3600000 : Number(v) * 1000)) || rec.yanked !== undefined;
});

/** The warm record of this package's `release` under the settings in `env` if it still holds, else null. */
const warmRecord = (function warmRecord(pkgDir, release, env = process.env) {
  const cacheDir = path.resolve(env.X0X_DIST_CACHE || env.npm_config_x0x_dist_cache || defaultCacheDir(env));
  const rootPath = env.X0X_DIST_ROOT || env.npm_config_x0x_dist_root;
  const anchorFile = rootPath ? path.resolve(rootPath) : path.join(pkgDir, 'root.json');
  const forceWasm = hotMode(env);
  if (!forceWasm) return null; // WASM first or only, or not a valid setting: lib/ decides
  if (!safeDirs(cacheDir)) return null;
  let rec;
  try {
    rec = JSON.parse(fs.readFileSync(recordPath(cacheDir, anchorFile, release.pkg, release.version, forceWasm), 'utf8'));
  } catch {
    return null;
  }
  return checkRecord(rec, anchorFile, release.version, cacheDir);
});

/**
 * The packed index.js's warm path: the exports of the native blob named by a valid record, or null (no or
 * stale record, WASM, X0X_DIST_VERIFY=always, X0X_NATIVE_PATH, X0X_DIST_DEBUG, X0X_DIST_REQUIRE_PROVENANCE, dlopen
 * failure).
 * @param {string} pkgDir
 * @param {{pkg: string, version: string}} release
 */
const fastLoad = (function fastLoad(pkgDir, release, env = process.env) {
  if (
    (env.X0X_DIST_VERIFY || env.npm_config_x0x_dist_verify || '').toLowerCase() === 'always' ||
    env.X0X_NATIVE_PATH ||
    env.npm_config_x0x_native_path ||
    (env.X0X_DIST_DEBUG || env.npm_config_x0x_dist_debug) === '1' ||
    // Required provenance: lib/warm.js checks the record's (lib/provenance.js).
    env.X0X_DIST_REQUIRE_PROVENANCE ||
    env.npm_config_x0x_dist_require_provenance
  ) {
    return null;
  }
  const rec = warmRecord(pkgDir, release, env);
  if (rec === null || rec.kind !== 'native' || checkDue(rec, env)) return null;
  const fd = openChecked(rec.blob, rec.blobId);
  if (fd < 0) return null;
  const m = { exports: {} };
  try {
    // Linux: the checked descriptor itself (no window for a swap). Elsewhere the path: its file was just shown
    // to be the verified one, and only this user can change what the path names (docs/loader.md).
    process.dlopen(m, process.platform === 'linux' ? '/proc/self/fd/' + fd : rec.blob);
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
  return m.exports;
});

module.exports = { defaultCacheDir, fnv1a, safeName, recordPath, sameStat, ownedSafe, safeDirs, checkRecord, openChecked, hotMode, checkDue, warmRecord, fastLoad };
// HOT-END: scripts/pack.js inlines this file up to this line. Below: what only lib/ uses.

/**
 * The WASM selection mode (also part of the warm record's name), or null for an invalid value (lib/ reports
 * config.invalid): 'auto' (native, then wasm32-wasip1-threads, then wasm32-wasip1), 'force' (WASM only),
 * 'forbid' (native only), 'prefer' (WASM first, native after), 'force-threads' / 'force-wasip1' (that flavour only).
 * X0X_FORCE_WASM wins over napi-rs's NAPI_RS_FORCE_WASI (`1`/`true`: 'prefer'; `error`: 'force'; other values
 * ignored, as napi-rs does); a flavour (X0X_WASM_FLAVOR, else napi-rs's NAPI_RS_WASI_FLAVOR) means that flavour only.
 */
function wasmModeOf(env) {
  const force = (env.X0X_FORCE_WASM || env.npm_config_x0x_force_wasm || '').toLowerCase();
  let mode = force === '1' || force === 'true' || force === 'yes' ? 'force' : force === 'error' ? 'forbid' : force === '' || force === '0' || force === 'false' || force === 'no' ? 'auto' : '';
  const napi = (env.NAPI_RS_FORCE_WASI || '').toLowerCase();
  if (force === '' && (napi === '1' || napi === 'true')) mode = 'prefer';
  if (force === '' && napi === 'error') mode = 'force';
  const f = (env.X0X_WASM_FLAVOR || env.npm_config_x0x_wasm_flavor || env.NAPI_RS_WASI_FLAVOR || '').toLowerCase();
  const flavor = { '': '', threads: 'threads', 'wasm32-wasip1-threads': 'threads', 'wasm32-wasi': 'threads', wasip1: 'wasip1', 'wasm32-wasip1': 'wasip1' }[f];
  if (!mode || flavor === undefined || (flavor && mode === 'forbid')) return null;
  return flavor ? `force-${flavor}` : mode;
}

/** The path process.dlopen loads `fd` through: /proc/self/fd/N on Linux (no window for a swap), else `file`. */
function fdPath(fd, file) {
  return process.platform === 'linux' ? `/proc/self/fd/${fd}` : file;
}

/** One setting: the environment first, then npm's `npm_config_<lowercase>` (lib/constants.js documents them). */
function setting(name, env = process.env) {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  const npm = env[`npm_config_${name.toLowerCase()}`];
  return npm !== undefined && npm !== '' ? npm : undefined;
}

function cacheDirOf(env) {
  return path.resolve(setting('X0X_DIST_CACHE', env) || defaultCacheDir(env));
}

/**
 * `cacheDir` with every symbolic link in its path resolved, once, so that nothing later goes through a link:
 * each component is lstat'ed from the root; a link owned by this user or root is followed (its target's
 * components are walked the same way, `..` after a resolved prefix being its parent), a link owned by anyone
 * else is refused (cache.foreign_symlink: its owner could point it at a directory of theirs between a check and
 * a load, issue 25). A missing component ends the walk: the rest is created later, as real directories, by
 * lib/cache.js ensureDirs, which checks again. Returns the resolved path; throws cache.foreign_symlink.
 * Windows: path.resolve only (no uid).
 */
function resolveCacheDir(cacheDir) {
  const abs = path.resolve(cacheDir);
  if (process.getuid === undefined) return abs;
  const uid = process.getuid();
  let rest = abs.split('/').filter(Boolean);
  let done = '/';
  let links = 0;
  while (rest.length) {
    const name = rest.shift();
    if (name === '.') continue;
    if (name === '..') {
      done = path.dirname(done);
      continue;
    }
    const p = path.join(done, name);
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      return path.join(p, ...rest); // absent (or unreadable: ensureDirs reports io.error)
    }
    if (!st.isSymbolicLink()) {
      done = p;
      continue;
    }
    if (st.uid !== uid && st.uid !== 0) {
      throw require('./errors').err(
        'cache.foreign_symlink',
        `refusing the cache directory ${abs}: ${p} is a symbolic link owned by uid ${st.uid}, neither this user (uid ${uid}) nor root; ` +
          `its owner could point it at a directory of their own between the check and the load of a binary. ` +
          `next: set X0X_DIST_CACHE to a directory of your own (not through that link), or remove the link`,
        { cacheDir: abs, link: p, owner: st.uid },
      );
    }
    links += 1;
    if (links > 40) throw require('./errors').err('io.error', `too many symbolic links resolving the cache directory ${abs}`);
    const target = fs.readlinkSync(p);
    if (path.isAbsolute(target)) done = '/';
    rest = [...target.split('/').filter(Boolean), ...rest];
  }
  return done;
}

/** The trust anchor's path and the warm record's path (what warmRecord reads, for the resolver that writes it). */
function recordLocation({ pkgDir, pkg, version, rootPath, cacheDir, forceWasm }) {
  const anchorFile = rootPath ? path.resolve(rootPath) : path.join(pkgDir, 'root.json');
  return { anchorFile, recordPath: recordPath(cacheDir, anchorFile, pkg, version, forceWasm) };
}

/** Stat fields that change whenever a file is replaced or modified (ctime: also when its mtime is set back). */
function fileId(st) {
  return { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, dev: st.dev };
}
function sameId(a, b) {
  return Boolean(a && b && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino && a.dev === b.dev);
}
function statId(p) {
  try {
    const st = fs.statSync(p, NO_THROW);
    return st ? fileId(st) : null;
  } catch {
    return null;
  }
}

/** The warm record at `loc` ({anchorFile, recordPath}) if it still holds (checkRecord), else null. */
function validRecord(loc, version, cacheDir) {
  if (!safeDirs(cacheDir)) return null;
  let rec;
  try {
    rec = JSON.parse(fs.readFileSync(loc.recordPath, 'utf8'));
  } catch {
    return null;
  }
  return checkRecord(rec, loc.anchorFile, version, cacheDir);
}

Object.assign(module.exports, { setting, cacheDirOf, wasmModeOf, resolveCacheDir, recordLocation, fileId, sameId, statId, validRecord, fdPath });
