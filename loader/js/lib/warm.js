'use strict';
// The warm path of require('x0x'): everything needed to load an already verified binary from the cache,
// and nothing more (fs and path; no crypto, no host probing, no metadata parsing, no hashing of the binary), so
// that a warm require costs about one dlopen. docs/loader.md ("Threat model of the warm path") explains why
// a record is trusted; lib/loader.js writes records and does everything else.

const fs = require('fs');
const path = require('path');
const { readConfig } = require('./constants');
const { recordLocation, validRecord, fileId, sameId, statId } = require('./hot');

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

/** Everything both paths need: settings, release identity, trust anchor, the warm-record location. */
function context(pkgDir, env = process.env, release = null) {
  const cfg = readConfig(env);
  const rel = release || releaseOf(pkgDir);
  const { anchorFile, recordPath } = recordLocation({ pkgDir, pkg: rel.pkg, version: rel.version, rootPath: cfg.rootPath, cacheDir: cfg.cacheDir, forceWasm: cfg.forceWasm });
  const ctx = { pkgDir, cfg, ...rel, anchorFile, recordPath };
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

function loadNative(file) {
  const m = { exports: {} };
  try {
    process.dlopen(m, file);
  } catch (e) {
    throw fail('loader.load_failed', `dlopen ${file} failed (${e.code || 'error'})`, e);
  }
  return m.exports;
}

/**
 * Load from a warm record, or return null (no record, stale record, load failure: the caller resolves).
 * @param {ReturnType<typeof context>} ctx
 */
function tryWarm(ctx, { loadNative: native = loadNative, loadWasm, log = () => {} } = {}) {
  if (ctx.cfg.verifyAlways || ctx.cfg.nativePath) return null;
  // The trust anchor, node and its interpreter, and the blob are the files verified when the record was written.
  const rec = validRecord(ctx, ctx.version, ctx.cfg.cacheDir);
  if (!rec) return null;
  log(`warm: ${rec.platform} from ${rec.blob}`);
  try {
    const exports =
      rec.kind === 'wasm'
        ? (loadWasm || ((b, o) => require('./wasm').loadWasm(b, o)))(fs.readFileSync(rec.blob), {
            pkgDir: ctx.pkgDir,
            pkg: ctx.pkg,
            threads: rec.platform === 'wasm32-wasip1-threads',
          })
        : native(rec.blob);
    return { exports, platform: rec.platform, kind: rec.kind, source: 'cache', file: rec.blob, warm: true };
  } catch (e) {
    log(`warm record failed to load (${e.message}); resolving from scratch`);
    return null;
  }
}

/** require('x0x'): warm path inline, the full resolver only when needed. `release`: {pkg, version, scope} if known. */
function load(pkgDir, release = null) {
  const ctx = context(pkgDir, process.env, release);
  const log = ctx.cfg.debug ? (m) => process.stderr.write(`x0x-loader: ${m}\n`) : undefined;
  const warm = tryWarm(ctx, { log });
  if (warm) return warm.exports;
  const { Resolver } = require('./loader');
  return new Resolver({ pkgDir, ctx, skipWarm: true }).resolve().exports;
}

module.exports = { context, tryWarm, load, loadNative, hostIdentity, fileId, sameId, statId, sha256, releaseOf };
