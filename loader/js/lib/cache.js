'use strict';
// The verified cache. Layout under the cache directory (X0X_DIST_CACHE):
//
//   blobs/<sha256>.<node|wasm>   content-addressed, written once via tmp file + fsync + rename, mode 0444;
//                                only ever created from bytes whose SHA-256 and length matched verified metadata
//   tuf/<anchor>/                trusted TUF metadata per trust anchor (sha256 of the anchor root.json):
//                                N.root.json chain, timestamp.json, N.snapshot.json, N.targets.json, N.<role>.json
//   resolved/<key>.json          warm-path records: which blob this host/version/settings resolved to, with the
//                                blob's size/mtime/ctime/ino/dev at verification time (fstat of the descriptor
//                                whose bytes were hashed) and the host identity (node's execPath + its ELF
//                                interpreter's stat)
//   locks/<sha256>.lock          cross-process download locks (open 'wx'); stale after LOCK_STALE_MS unless the
//                                holder refreshes its mtime, or at once if its pid is gone on this host
//   tmp/<pid>-<host>-<rand>.part in-flight downloads (same file system as blobs/, so rename is atomic); a killed
//                                process's are swept by the next cold require (sweepTmp)
//
// The directory is resolved once (lib/hot.js resolveCacheDir, no symlink left in the path) and checked
// (insecurity) before anything in it is used; every path below is in that resolved directory.
// See docs/loader.md for the threat model behind trusting a record without re-hashing.

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { err } = require('./errors');
const { DEFAULTS } = require('./constants');
const { fileId, sameId, ownedSafe, resolveCacheDir } = require('./hot');

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function dirs(cacheDir) {
  return {
    blobs: path.join(cacheDir, 'blobs'),
    tuf: path.join(cacheDir, 'tuf'),
    resolved: path.join(cacheDir, 'resolved'),
    locks: path.join(cacheDir, 'locks'),
    tmp: path.join(cacheDir, 'tmp'),
  };
}

/**
 * Create the cache directories (0700) and check them again: a directory created here through a path another
 * user changed meanwhile (a link planted where nothing was when the path was resolved) is refused.
 */
function ensureDirs(cacheDir) {
  const before = resolveCacheDir(cacheDir);
  const d = dirs(cacheDir);
  try {
    // 0700: only this user may add, replace or remove anything the loader trusts (checkSecure).
    for (const p of Object.values(d)) mkdirDurable(p, 0o700);
  } catch (e) {
    throw err('io.error', `cannot create cache directory ${cacheDir}`, { cause: e });
  }
  if (resolveCacheDir(cacheDir) !== before) {
    throw err('cache.foreign_symlink', `refusing the cache directory ${cacheDir}: a symbolic link appeared in its path while it was being created`, { cacheDir });
  }
  checkSecure(before);
  return d;
}

/**
 * Why another user could change what the cache holds, or null: the cache directory and its blobs/, resolved/,
 * tuf/, locks/ and tmp/ (those that exist) must be directories (not symlinks) owned by this user and writable
 * by no other (ownedSafe: group-writable only for the user's own primary group); every existing parent must be
 * owned by this user or root and, if others can write it, be sticky (/tmp), so that nobody else can rename the
 * cache away and put their own in its place. `cacheDir` is resolved (lib/hot.js resolveCacheDir): a parent
 * that is a symlink here was planted after that. POSIX only (Windows: per-user %LOCALAPPDATA%, ACLs not checked).
 */
function insecurity(cacheDir) {
  if (process.getuid === undefined) return null;
  const uid = process.getuid();
  const mode = (st) => `mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${st.uid}`;
  const own = [cacheDir, ...Object.values(dirs(cacheDir))];
  for (const p of own) {
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue; // absent (created later by ensureDirs, 0700) or unreachable (ensureDirs reports io.error)
    }
    if (st.isSymbolicLink()) return `${p} is a symbolic link`;
    if (!st.isDirectory()) continue; // nothing can be put there: ensureDirs reports io.error
    if (st.uid !== uid) return `${p} is owned by uid ${st.uid}, not by this user (uid ${uid})`;
    if (!ownedSafe(st)) return `${p} is writable by other users (${mode(st)})`;
  }
  for (let p = path.dirname(path.resolve(cacheDir)); ; p = path.dirname(p)) {
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      st = null;
    }
    if (st) {
      if (st.isSymbolicLink()) return `${p} (a parent of the cache) is a symbolic link`;
      if (st.uid !== uid && st.uid !== 0) return `${p} (a parent of the cache) is owned by uid ${st.uid}, neither this user (uid ${uid}) nor root`;
      const others = (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== process.getgid());
      if (others && (st.mode & 0o1000) === 0) return `${p} (a parent of the cache) is writable by other users and not sticky (${mode(st)})`;
    }
    if (path.dirname(p) === p) break;
  }
  return null;
}

/** Throws cache.insecure when insecurity() finds a way for another user to change the cache. */
function checkSecure(cacheDir) {
  const why = insecurity(cacheDir);
  if (why) {
    throw err(
      'cache.insecure',
      `refusing the cache directory ${cacheDir}: ${why}; another user could replace a verified binary between its check and its load. ` +
        `next: chmod go-w (and chown to yourself) the directory named, or set X0X_DIST_CACHE to a directory only you can write`,
      { cacheDir },
    );
  }
}

function blobPath(cacheDir, sha256, kind) {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw err('internal', `not a sha256: ${sha256}`);
  return path.join(cacheDir, 'blobs', `${sha256}.${kind === 'wasm' ? 'wasm' : 'node'}`);
}

/** This host, as tmp/ names carry it (a cache shared by containers: a pid is only meaningful on its own host). */
const HOST_TAG = require('./hot').fnv1a(os.hostname());

function tmpPath(cacheDir) {
  return path.join(cacheDir, 'tmp', `${process.pid}-${HOST_TAG}-${crypto.randomBytes(6).toString('hex')}.part`);
}

/** tmp/ files older than this are removed whoever wrote them (a live download writes, and so touches, its file). */
const TMP_STALE_MS = 3600000;

/**
 * Remove what killed processes left in tmp/ (issue 25: a worker killed mid-download left its .part file):
 * files written on this host by a process that no longer exists, and any file not modified for TMP_STALE_MS.
 * A live process's file (its pid answers, or it is another host's and recent) is left alone, so concurrent
 * requires and downloads are never disturbed. Returns the names removed.
 */
function sweepTmp(cacheDir) {
  const dir = dirs(cacheDir).tmp;
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed = [];
  for (const name of names) {
    const m = /^(\d+)-([0-9a-f]{8})-[0-9a-f]+\.part$/.exec(name);
    const file = path.join(dir, name);
    let gone = false;
    if (m && m[2] === HOST_TAG && Number(m[1]) !== process.pid) {
      try {
        process.kill(Number(m[1]), 0);
      } catch (e) {
        gone = e.code === 'ESRCH';
      }
    }
    if (!gone) {
      try {
        gone = Date.now() - fs.lstatSync(file).mtimeMs > TMP_STALE_MS;
      } catch {
        continue;
      }
    }
    if (!gone) continue;
    try {
      fs.unlinkSync(file);
      removed.push(name);
    } catch {
      /* removed by another sweeper */
    }
  }
  return removed;
}

/**
 * Make the entries of `dir` durable (a rename into it, a new file): fsync of the directory itself, as the Rust
 * side does (durable/). Without it a crash can lose a renamed file whose bytes were synced, and with it the
 * rollback reference (trust.js) that must never go back. Windows cannot open a directory for fsync: skipped.
 */
function syncDir(dir) {
  if (process.platform === 'win32') return;
  let fd;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | (fs.constants.O_DIRECTORY || 0));
    fs.fsyncSync(fd);
  } catch (e) {
    // EINVAL/ENOTSUP: a filesystem that cannot sync a directory (some network and FUSE mounts): nothing more to do.
    if (e && (e.code === 'EINVAL' || e.code === 'ENOTSUP' || e.code === 'EPERM')) return;
    throw err('io.error', `cannot sync directory ${dir}`, { cause: e });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * `mkdir -p dir` whose result survives a crash: each directory it creates is synced into its parent (a file
 * synced into a directory whose own entry was lost is lost with it: the rollback reference, trust.js).
 * Returns the first directory created, or undefined.
 */
function mkdirDurable(dir, mode = 0o777) {
  const first = fs.mkdirSync(dir, { recursive: true, mode });
  if (first === undefined) return undefined;
  // Deepest first: `dir`'s entry in its parent, ..., up to `first`'s entry in the directory that existed.
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    syncDir(path.dirname(d));
    if (d === path.resolve(first) || path.dirname(d) === d) break;
  }
  return first;
}

/** Atomically and durably publish `tmp` as `dest`, read-only. */
function publish(tmp, dest) {
  try {
    fs.chmodSync(tmp, 0o444);
    fs.renameSync(tmp, dest);
    syncDir(path.dirname(dest));
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err('io.error', `cannot move ${tmp} to ${dest}`, { cause: e });
  }
}

/** Write `bytes` (already verified) to `dest` atomically and durably (file, then its directory), read-only. */
function writeAtomic(cacheDir, dest, bytes, mode = 0o444) {
  const tmp = tmpPath(cacheDir);
  try {
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (mode !== 0o444) fs.chmodSync(tmp, mode);
  } catch (e) {
    throw err('io.error', `cannot write ${tmp}`, { cause: e });
  }
  if (mode === 0o444) publish(tmp, dest);
  else {
    fs.renameSync(tmp, dest);
    syncDir(path.dirname(dest));
  }
}

/** Hash a file (full read). */
function sha256File(file) {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Cross-process lock on `name` (one per blob). Returns a release function, or null when `done()` became true
 * while waiting (another process finished the work). Works sync (`wait: sleepSync`) or async.
 */
function lockAttempt(lockFile, staleMs) {
  try {
    const fd = fs.openSync(lockFile, 'wx', 0o644);
    fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now() }));
    return fd;
  } catch (e) {
    if (e.code !== 'EEXIST') throw err('io.error', `cannot create lock ${lockFile}`, { cause: e });
  }
  // Held: break it if stale (holder dead on this host, or not refreshed for staleMs).
  try {
    const raw = fs.readFileSync(lockFile, 'utf8');
    const st = fs.statSync(lockFile);
    let dead = false;
    try {
      const info = JSON.parse(raw);
      if (info.host === os.hostname() && Number.isInteger(info.pid)) {
        try {
          process.kill(info.pid, 0);
        } catch (e) {
          dead = e.code === 'ESRCH';
        }
      }
    } catch {
      // Being written right now, or garbage: judge by age only.
    }
    if (dead || Date.now() - st.mtimeMs > staleMs) {
      // Re-read before unlinking so that a lock re-taken meanwhile is not removed.
      if (fs.readFileSync(lockFile, 'utf8') === raw) fs.unlinkSync(lockFile);
    }
  } catch {
    /* vanished meanwhile: retry */
  }
  return null;
}

function unlock(fd, lockFile) {
  try {
    fs.closeSync(fd);
  } catch {
    /* closed */
  }
  try {
    fs.unlinkSync(lockFile);
  } catch {
    /* removed */
  }
}

function makeRelease(fd, lockFile, staleMs) {
  const timer = setInterval(() => {
    try {
      const now = new Date();
      fs.futimesSync(fd, now, now);
    } catch {
      /* best effort */
    }
  }, Math.max(1000, staleMs / 3));
  if (timer.unref) timer.unref();
  return () => {
    clearInterval(timer);
    unlock(fd, lockFile);
  };
}

// The waiting protocol both lock variants share, as a generator so that one copy serves the synchronous and the
// asynchronous caller: it yields each delay to sleep before the next attempt and returns the lock taken
// ({ fd, lockFile, staleMs }), or null once done() says another process finished the work.
function* acquire(cacheDir, name, done, opts) {
  const staleMs = opts.staleMs || DEFAULTS.LOCK_STALE_MS;
  const waitMs = opts.waitMs || DEFAULTS.LOCK_WAIT_MS;
  const lockFile = path.join(dirs(cacheDir).locks, `${name}.lock`);
  const t0 = Date.now();
  let delay = 10;
  for (;;) {
    if (done()) return null;
    const fd = lockAttempt(lockFile, staleMs);
    if (fd !== null) return { fd, lockFile, staleMs };
    if (Date.now() - t0 > waitMs) throw opts.timeoutError ? opts.timeoutError(waitMs) : err('io.error', `timed out after ${waitMs} ms waiting for ${lockFile}`);
    yield delay;
    delay = Math.min(200, delay * 2);
  }
}

async function withLock(cacheDir, name, done, fn, opts = {}) {
  const steps = acquire(cacheDir, name, done, opts);
  let step = steps.next();
  while (!step.done) {
    await sleep(step.value);
    step = steps.next();
  }
  const lock = step.value;
  if (!lock) return { waited: true };
  const release = makeRelease(lock.fd, lock.lockFile, lock.staleMs);
  try {
    if (done()) return { waited: true };
    return { waited: false, value: await fn() };
  } finally {
    release();
  }
}

function withLockSync(cacheDir, name, done, fn, opts = {}) {
  const steps = acquire(cacheDir, name, done, opts);
  let step = steps.next();
  while (!step.done) {
    sleepSync(step.value);
    step = steps.next();
  }
  const lock = step.value;
  if (!lock) return { waited: true };
  try {
    if (done()) return { waited: true };
    return { waited: false, value: fn() };
  } finally {
    unlock(lock.fd, lock.lockFile);
  }
}

module.exports = {
  dirs,
  ensureDirs,
  insecurity,
  checkSecure,
  blobPath,
  tmpPath,
  sweepTmp,
  TMP_STALE_MS,
  publish,
  writeAtomic,
  syncDir,
  mkdirDurable,
  sha256File,
  withLock,
  withLockSync,
  fileId,
  sameId,
  sleepSync,
};
