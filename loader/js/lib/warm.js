'use strict';
// The warm path of require('x0x'): everything needed to load an already verified binary from the cache,
// and nothing more (fs and path; no crypto, no host probing, no metadata parsing, no hashing of the binary), so
// that a warm require costs about one dlopen. docs/loader.md ("Threat model of the warm path") explains why
// a record is trusted; lib/loader.js writes records and does everything else, and lib/entry.js chooses between
// the two (this file never requires lib/loader.js: no import cycle).

const fs = require('fs');
const path = require('path');
const { readConfig } = require('./constants');
const { recordLocation, validRecord, resolveCacheDir, fileId, sameId, statId, openChecked, fdPath } = require('./hot');

function sha256(buf) {
  return require('crypto').createHash('sha256').update(buf).digest('hex');
}

function fail(code, message, cause) {
  return require('./errors').err(code, message, cause ? { cause } : undefined);
}

/** The package's identity: release.json (written by pack.js) or package.json. */
function releaseOf(pkgDir) {
  for (const f of ['release.json', 'package.json']) {
    try {
      const j = JSON.parse(fs.readFileSync(path.join(pkgDir, f), 'utf8'));
      if (j.version) return { pkg: j.package || j.name, version: j.version, scope: j.scope || 'x0x' };
    } catch {
      /* next */
    }
  }
  throw fail('config.invalid', `cannot read the release version from ${pkgDir}/package.json`);
}

/**
 * Everything both paths need: settings, release identity, trust anchor, the warm-record location. The cache
 * directory is resolved here, once (lib/hot.js resolveCacheDir): every later path in it has no symlink.
 * `cacheError`: why the cache must not be used (a link owned by another user); the resolver throws it.
 */
function context(pkgDir, env = process.env, release = null) {
  const cfg = readConfig(env);
  let cacheError = null;
  try {
    cfg.cacheDir = resolveCacheDir(cfg.cacheDir);
  } catch (e) {
    cacheError = e;
  }
  const rel = release || releaseOf(pkgDir);
  const { anchorFile, recordPath } = recordLocation({ pkgDir, pkg: rel.pkg, version: rel.version, rootPath: cfg.rootPath, cacheDir: cfg.cacheDir, forceWasm: cfg.forceWasm });
  const ctx = { pkgDir, cfg, ...rel, anchorFile, recordPath, cacheError };
  // The anchor's bytes and id are needed only off the warm path.
  let bytes;
  Object.defineProperty(ctx, 'anchorBytes', {
    enumerable: true,
    get() {
      if (!bytes) {
        try {
          bytes = fs.readFileSync(anchorFile);
        } catch (e) {
          throw fail('config.invalid', `cannot read the trusted root ${anchorFile}${cfg.rootPath ? ' (X0X_DIST_ROOT)' : ''}`, e);
        }
      }
      return bytes;
    },
  });
  Object.defineProperty(ctx, 'anchorId', { enumerable: true, get: () => sha256(ctx.anchorBytes).slice(0, 32) });
  return ctx;
}

/** The cheap host identity the warm path re-checks: node's binary and its ELF interpreter. */
function hostIdentity(interpreter) {
  let interp = null;
  if (interpreter) {
    try {
      interp = fs.realpathSync(interpreter);
    } catch {
      interp = interpreter;
    }
  }
  return { exec: process.execPath, execId: statId(process.execPath), interp, interpId: interp ? statId(interp) : null };
}

/**
 * dlopen a verified native binary. `fd`: a descriptor of the very file that was checked (hashed, or matched
 * against a record's identity): on Linux it is loaded through /proc/self/fd/N, so a file swapped in at `file`
 * after the check is never the one loaded; without /proc mounted (some chroots), `file` itself.
 */
function loadNative(file, fd) {
  const m = { exports: {} };
  try {
    try {
      process.dlopen(m, fd === undefined || fd < 0 ? file : fdPath(fd, file));
    } catch (e) {
      if (fd === undefined || fd < 0 || process.platform !== 'linux' || fs.existsSync('/proc/self/fd')) throw e;
      process.dlopen(m, file); // no /proc: the path (the cache's directories are this user's alone, see cache.js)
    }
  } catch (e) {
    const { isDenied, FLAGS } = require('./permission');
    if (isDenied(e)) {
      throw fail('loader.permission_denied', `Node's permission model forbids loading the native addon ${file}: run node with ${FLAGS.addons} (or let the WASM build load: it needs ${FLAGS.wasi})`, e);
    }
    throw fail('loader.load_failed', `dlopen ${file} failed (${e.code || 'error'})`, e);
  }
  return m.exports;
}

/** The bytes behind a descriptor (the WASM build: read through the descriptor whose identity was checked). */
function readFd(fd) {
  const st = fs.fstatSync(fd);
  const buf = Buffer.allocUnsafe(st.size);
  let off = 0;
  while (off < st.size) {
    const n = fs.readSync(fd, buf, off, st.size - off, off);
    if (n === 0) break;
    off += n;
  }
  return off === st.size ? buf : buf.subarray(0, off);
}

/** A yanked release this install pins: one line, once per process (lib/revocations.js says the same cold). */
let yankWarned = false;
function warnYanked(ctx, rec) {
  if (yankWarned) return;
  yankWarned = true;
  const move = rec.moveTo ? `move to ${ctx.pkg}@${rec.moveTo}` : `no other release of ${ctx.pkg} is available yet`;
  process.emitWarning(`${ctx.pkg} ${ctx.version} is yanked (${rec.yanked}); it still loads because this install pins it: ${move}`, { type: 'X0xYankedWarning', code: 'release.yanked' });
}

/**
 * Load from a warm record, or return null (no record, stale record, load failure: the caller resolves).
 * @param {ReturnType<typeof context>} ctx
 */
function tryWarm(ctx, { loadNative: native = loadNative, loadWasm, log = () => {} } = {}) {
  if (ctx.cfg.verifyAlways || ctx.cfg.nativePath || ctx.cacheError) return null;
  // The trust anchor, node and its interpreter, and the blob are the files verified when the record was written.
  const rec = validRecord(ctx, ctx.version, ctx.cfg.cacheDir);
  if (!rec) return null;
  // The revocations check is due (lib/revocations.js): the resolver does it.
  const age = Date.now() - rec.checkedAt;
  if (!(age >= 0 && age < ctx.cfg.revocationIntervalS * 1000)) {
    log('warm: the revocations check is due; resolving');
    return null;
  }
  // X0X_DIST_REQUIRE_PROVENANCE: the provenance verified with the record must match, else the resolver decides.
  if (ctx.cfg.requireProvenance && require('./provenance').mismatch(ctx.cfg.requireProvenance, rec.provenance) !== null) {
    log('warm: the record lacks the provenance X0X_DIST_REQUIRE_PROVENANCE requires; resolving');
    return null;
  }
  if (rec.yanked !== undefined) warnYanked(ctx, rec);
  // The blob's identity (and that only this user can write it) is checked on the descriptor it is loaded through.
  const fd = openChecked(rec.blob, rec.blobId);
  if (fd < 0) {
    log(`warm: ${rec.blob} changed since it was verified (or another user can write it); resolving from scratch`);
    return null;
  }
  log(`warm: ${rec.platform} from ${rec.blob}`);
  try {
    const exports =
      rec.kind === 'wasm'
        ? (loadWasm || ((b, o) => require('./wasm').loadWasm(b, o)))(readFd(fd), {
            pkgDir: ctx.pkgDir,
            pkg: ctx.pkg,
            threads: rec.platform === 'wasm32-wasip1-threads',
          })
        : native(rec.blob, fd);
    return { exports, platform: rec.platform, kind: rec.kind, source: 'cache', file: rec.blob, warm: true };
  } catch (e) {
    log(`warm record failed to load (${e.message}); resolving from scratch`);
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

module.exports = { context, tryWarm, loadNative, readFd, hostIdentity, fileId, sameId, statId, sha256, releaseOf };
