'use strict';
// resolve → fetch → verify → cache → load, synchronously inside `require('x0x')`.
//
// Invariant: no bytes are loaded (dlopen or WebAssembly) unless their SHA-256 and length were checked against
// target metadata verified from the trusted root: either in this process just now, or when the cache record
// being used was written (the record names the content-addressed blob and pins its size/mtime/ctime/inode; see
// docs/loader.md for why that is enough and X0X_DIST_VERIFY=always for when it is not).
//
// Order per candidate (exact native → wasm32-wasip1-threads → wasm32-wasip1; X0X_FORCE_WASM reorders):
//   X0X_NATIVE_PATH (explicit, replaces the search) → the verified cache → an installed platform package
//   `@<scope>/core-<platform>` → the repository (X0X_DIST_URL) or bundle (X0X_DIST_BUNDLE), fetched by a child
//   process (require() is synchronous) that runs the TUF workflow and writes the cache under a lock.
// A candidate that is missing, does not fit the host (glibc floor) or fails to load is recorded with its
// reason and the next one is tried; when none loads, one Error with code `loader.no_candidate` lists them all.
//
// Heavy modules (tuf, fetch, child_process) are required lazily so the warm path stays well under 1 ms.

const fs = require('fs');
const path = require('path');
const { err } = require('./errors');
const { DEFAULTS } = require('./constants');
const cache = require('./cache');

const { context, tryWarm, loadNative, readFd, hostIdentity, statId, sha256 } = require('./warm');
const { openChecked, ownedSafe, fileId, sameId } = require('./hot');

class Resolver {
  constructor(opts = {}) {
    this.pkgDir = opts.pkgDir;
    this.env = opts.env || process.env;
    const ctx = opts.ctx || context(this.pkgDir, this.env);
    this.ctx = ctx;
    this.cfg = ctx.cfg;
    this.skipWarm = Boolean(opts.skipWarm);
    this.hostOverride = opts.host;
    this.loadNative = opts.loadNative || loadNative;
    /** Let the fetch worker print progress on our stderr (postinstall on a terminal). */
    this.progress = Boolean(opts.progress);
    this.loadWasm = opts.loadWasm || ((bytes, o) => require('./wasm').loadWasm(bytes, o));
    /** Test seam: replaces lib/permission.js's permissionState(). */
    this.permissionOverride = opts.permission;
    this.trace = [];
    this.pkg = ctx.pkg;
    this.version = ctx.version;
    this.scope = ctx.scope;
    this.anchorFile = ctx.anchorFile;
    this.anchorBytes = ctx.anchorBytes;
    this.anchorId = ctx.anchorId;
    // The repository `pack.js --repo URL` recorded in release.json: the default when neither X0X_DIST_URL
    // nor X0X_DIST_BUNDLE is set.
    if (!this.cfg.url && !this.cfg.bundle) {
      const dflt = defaultRepository(this.pkgDir);
      if (dflt) {
        this.cfg = { ...this.cfg, url: dflt };
        this.defaultRepository = dflt;
      }
    }
    this.persistDir = path.join(this.cfg.cacheDir, 'tuf', this.anchorId);
    this.embeddedDir = path.join(this.pkgDir, 'metadata');
  }

  log(msg) {
    this.trace.push(msg);
    if (this.cfg.debug) process.stderr.write(`x0x-loader: ${msg}\n`);
  }

  recordPath() {
    return this.ctx.recordPath;
  }

  /** Warm path: a record written after a verified load, still matching blob and host (lib/warm.js). */
  tryWarm() {
    if (this.skipWarm) return null;
    return tryWarm(this.ctx, { loadNative: this.loadNative, loadWasm: this.loadWasm, log: (m) => this.log(m) });
  }

  host() {
    if (!this._host) {
      const { detectHost } = require('./host');
      this._host = detectHost(this.hostOverride);
    }
    return this._host;
  }

  /** Verified local metadata sets: persisted (newer, from online updates) then embedded (the release's own). */
  localSets() {
    if (!this._local) {
      const { loadLocal, DirStore } = require('./trust');
      const persisted = new DirStore(this.persistDir);
      const embedded = new DirStore(this.embeddedDir);
      this._local = [
        { name: 'cache', store: persisted, ...loadLocal(this.anchorBytes, [persisted, embedded], persisted) },
        { name: 'package', store: embedded, ...loadLocal(this.anchorBytes, [persisted, embedded], embedded) },
      ];
      for (const s of this._local) if (s.error) this.log(`${s.name} metadata rejected: [${s.error.code}] ${s.error.message}`);
      // A root chain in the cache that does not verify from the anchor (corrupt, or planted) must not take the
      // package's own metadata down with it: that verifies from the anchor through the package's roots alone.
      if (this._local[1].error) this._local.push({ name: 'package', store: embedded, ...loadLocal(this.anchorBytes, [embedded], embedded) });
    }
    return this._local;
  }

  /** Signed info for `targetPath` from local verified metadata, or null. */
  lookup(targetPath) {
    const { findTargetSync } = require('./trust');
    const errors = [];
    for (const set of this.localSets()) {
      if (!set.ts.snapshot) continue;
      try {
        const info = findTargetSync(set.ts, [set.store], targetPath);
        if (info) return { ...info, from: set.name };
      } catch (e) {
        errors.push(e);
        this.log(`${set.name} metadata: [${e.code}] ${e.message}`);
      }
    }
    if (errors.length) throw errors[0];
    return null;
  }

  repoConfigured() {
    return Boolean(this.cfg.url || this.cfg.bundle);
  }

  /** A repository is configured and reaching it needs no network, or the network is allowed. */
  canFetch() {
    if (!this.repoConfigured()) return false;
    return !this.cfg.offline || Boolean(this.cfg.bundle) || /^file:/i.test(this.cfg.url || '');
  }

  /**
   * X0X_DIST_URL without a scheme (`127.0.0.1:8080`): refused here, naming the value and what is missing, before
   * a worker is started (the worker would only say "got <invalid url>").
   */
  checkUrl() {
    const u = this.cfg.url;
    if (!u || this.cfg.bundle || /^(https?|file):\/\//i.test(u)) return;
    const shown = u.replace(/^[^/@]*@/, '***@');
    const hint = /^[a-z][a-z0-9+.-]*:\/\//i.test(u) ? 'only http://, https:// and file:// are supported' : `it has no scheme: did you mean http://${shown}?`;
    throw err('config.invalid', `X0X_DIST_URL=${JSON.stringify(shown)} is not a repository URL: ${hint}`);
  }

  /**
   * Run the fetch worker (TUF refresh + download into the cache) synchronously in a child process, for at most
   * the sum of the deadlines of what it downloads (`length`: the target's signed length, in 'fetch' mode).
   */
  runWorker(targetPath, kind, mode = 'fetch', length = 0) {
    this.checkUrl();
    const { spawnSync } = require('child_process');
    const { targetDeadlineMs } = require('./constants');
    // The run's budget: the TUF update's metadata deadlines, plus the target's (issue 25: a server dripping a
    // byte a second held require() for 21 minutes). The worker cuts itself off there with network.timeout.
    const budget = DEFAULTS.METADATA_DEADLINES * this.cfg.deadlineMs + (mode === 'fetch' ? targetDeadlineMs(this.cfg.deadlineMs, length) : 0);
    const args = {
      cacheDir: this.cfg.cacheDir,
      url: this.cfg.url,
      bundle: this.cfg.bundle,
      offline: this.cfg.offline,
      anchorFile: this.anchorFile,
      embeddedDir: this.embeddedDir,
      targetPath,
      kind,
      mode,
      timeoutMs: this.cfg.timeoutMs,
      retries: this.cfg.retries,
      deadlineMs: this.cfg.deadlineMs,
      deadlineAt: Date.now() + budget,
    };
    // Killed outright shortly after its budget: a hung worker must not hang require().
    const timeout = budget + DEFAULTS.WORKER_GRACE_MS;
    // A child process, not a worker thread blocked on with Atomics.wait: the thread variant saved ~45 ms per cold require but
    // hung intermittently under load (CI, 2026-11-25: require() never returned while other tests ran), and a
    // child is bounded by `timeout` and killed outright.
    const perm = this.permission();
    if (perm.enabled && !perm.child) {
      const { FLAGS } = require('./permission');
      throw err('loader.permission_denied', `fetching ${targetPath} needs a child process, which Node's permission model forbids: run node with ${FLAGS.child}, or run \`npx x0x prefetch\` once without --permission`);
    }
    const [exe, pre] = nodeCommand();
    const r = spawnSync(exe, [...pre, path.join(__dirname, 'worker.js'), JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', this.progress ? 'inherit' : 'pipe'],
      env: this.env,
      maxBuffer: 1 << 20,
      windowsHide: true,
      timeout,
      killSignal: 'SIGKILL',
    });
    // The worker's stderr is captured (its failures travel in the answer), but its warnings are the user's:
    // the expiry policy's "X0X_DIST_ALLOW_EXPIRED_AFTER is set" must be seen on every use (docs/air-gapped.md).
    for (const line of String(r.stderr || '').split('\n')) {
      if (line.startsWith('x0x: warning:')) process.stderr.write(`${line}\n`);
    }
    let out = null;
    try {
      out = JSON.parse(String(r.stdout).trim().split('\n').pop());
    } catch {
      out = null;
    }
    return this.workerAnswer(out, r, { targetPath, budget, timeout });
  }

  /** The fetch worker's answer ({ok, ...} or {error}), or a failure naming what happened to it. */
  workerAnswer(out, r, { targetPath, budget, timeout } = {}) {
    if (out && out.ok) {
      // This resolution's metadata (revocations included) is fresh: the lifecycle check needs no other run.
      if (out.revocations === 'ok') this.revocationsFresh = true;
      return out;
    }
    if (!out && r.error && r.error.code === 'ETIMEDOUT') {
      const from = this.cfg.bundle ? `bundle ${this.cfg.bundle}` : require('./fetch').redact(this.cfg.url);
      const e = err('network.timeout', `fetching ${targetPath} from ${from} did not complete within ${timeout} ms (the sum of its deadlines, ${budget} ms, X0X_DIST_DEADLINE_MS): the fetch worker was killed`, {
        cause: new Error(String(r.stderr || '').slice(-2000)),
      });
      e.phase = 'metadata';
      throw e;
    }
    if (out && out.error) {
      const e = err(out.error.code in require('./errors').CODES ? out.error.code : 'internal', out.error.message);
      if (out.error.chain && out.error.chain.length) e.cause = new Error(out.error.chain.join('; '));
      if (out.error.phase === 'metadata') e.phase = 'metadata';
      throw e;
    }
    throw err('internal', `fetch worker failed (status ${r.status}, signal ${r.signal})`, {
      cause: new Error(String(r.stderr || r.error || '').slice(-2000)),
    });
  }

  /** Read, check and (if needed) place bytes in the cache. Returns the blob path. */
  admit(bytes, info, kind, label) {
    const want = info.hashes.sha256;
    if (bytes.length !== info.length) {
      throw err('target.length_mismatch', `${label} is ${bytes.length} bytes, signed length ${info.length}`);
    }
    const got = sha256(bytes);
    if (got !== want) throw err('target.digest_mismatch', `${label} has SHA-256 ${got}, signed ${want}`);
    const dest = cache.blobPath(this.cfg.cacheDir, want, kind);
    cache.ensureDirs(this.cfg.cacheDir);
    // Another process may be downloading the same blob: wait no longer than such a download may take (its
    // run's budget, runWorker); then io.error, and the caller loads the checked bytes in place.
    const { targetDeadlineMs } = require('./constants');
    const waitMs = DEFAULTS.METADATA_DEADLINES * this.cfg.deadlineMs + targetDeadlineMs(this.cfg.deadlineMs, info.length);
    cache.withLockSync(this.cfg.cacheDir, want, () => fs.existsSync(dest), () => cache.writeAtomic(this.cfg.cacheDir, dest, bytes), { waitMs });
    return dest;
  }

  /**
   * A cached blob, fully re-hashed (cold path), read through the descriptor it will be loaded through (`fd`:
   * the caller closes it); corrupt blobs are removed. A blob another user could write is not used.
   */
  fromCache(info, kind) {
    const blob = cache.blobPath(this.cfg.cacheDir, info.hashes.sha256, kind);
    let fd;
    try {
      fd = fs.openSync(blob, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW || 0));
    } catch {
      return null;
    }
    let bytes;
    let id;
    try {
      const st = fs.fstatSync(fd);
      if (!ownedSafe(st)) {
        // Another user could have written it: discarded (the directory is ours), fetched or admitted again.
        this.log(`${blob} is writable by another user or not ours; removed`);
        fs.closeSync(fd);
        fs.rmSync(blob, { force: true });
        return null;
      }
      bytes = readFd(fd);
      // The identity the warm record pins is the descriptor's, unchanged while it was read: the file hashed.
      id = fileId(fs.fstatSync(fd));
      if (!sameId(id, fileId(st))) bytes = null;
    } catch {
      fs.closeSync(fd);
      return null;
    }
    if (bytes && bytes.length === info.length && sha256(bytes) === info.hashes.sha256) return { blob, bytes, fd, blobId: id };
    fs.closeSync(fd);
    this.log(`cache.corrupt: ${blob} no longer matches its signed hash; removed`);
    // Named as the first cause if getting verified bytes again fails (tryCandidate).
    this.corruptBlob = blob;
    try {
      fs.chmodSync(blob, 0o644);
      fs.unlinkSync(blob);
    } catch {
      /* already gone */
    }
    return null;
  }

  /**
   * A native blob the fetch worker has just downloaded, verified (SHA-256 and length of the streamed bytes
   * against the same signed target as `info`) and published: used without re-reading and re-hashing it if it
   * still has the size/mtime/ctime/inode/device the worker read from its descriptor, the rule the warm path applies to a record
   * (docs/loader.md). Anything else (WASM, which needs the bytes anyway; a blob found already present) goes
   * through fromCache.
   */
  fromFetch(fetched, info, kind) {
    if (kind !== 'native' || !fetched || !fetched.downloaded || !fetched.blobId || !fetched.info) return null;
    const blob = cache.blobPath(this.cfg.cacheDir, info.hashes.sha256, kind);
    const same = fetched.blob === blob && fetched.info.length === info.length && fetched.info.hashes && fetched.info.hashes.sha256 === info.hashes.sha256;
    if (!same) return null;
    const fd = openChecked(blob, fetched.blobId);
    if (fd < 0) return null;
    this.log(`${blob}: verified by the fetch worker, identity unchanged`);
    return { blob, bytes: undefined, fd, blobId: fetched.blobId };
  }

  fromPlatformPackage(cand, file) {
    const name = `@${this.scope}/core-${cand.name}`;
    let dir;
    try {
      dir = path.dirname(require.resolve(`${name}/package.json`, { paths: [this.pkgDir] }));
    } catch {
      return null;
    }
    const p = path.join(dir, file);
    let bytes;
    let fd;
    try {
      fd = fs.openSync(p, 'r');
      bytes = readFd(fd);
    } catch {
      if (fd !== undefined) fs.closeSync(fd);
      return null;
    }
    // Name a version skew (an installed package of another release) in the digest error, so that it does
    // not read like tampering alone.
    let label = `${name}/${file}`;
    try {
      const v = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
      if (v !== this.version) label = `${name}/${file} (installed ${name}@${v}, but ${this.pkg} is ${this.version}: reinstall so that they match)`;
    } catch {
      /* no readable package.json: the hash check decides alone */
    }
    return { bytes, label, file: p, fd };
  }

  writeRecord(res, info) {
    // Under the permission model with addons denied, the WASM build loaded instead of a native one: no record,
    // or a later run allowed addons would still get WASM.
    const perm = this.permission();
    if (perm.enabled && !perm.addons) return;
    try {
      cache.ensureDirs(this.cfg.cacheDir);
      const rec = {
        v: 3,
        anchorFile: this.anchorFile,
        anchorFileId: statId(this.anchorFile),
        anchorId: this.anchorId,
        pkg: this.pkg,
        version: this.version,
        platform: res.platform,
        kind: res.kind,
        target: info.path,
        sha256: info.hashes.sha256,
        length: info.length,
        blob: res.file,
        blobId: res.blobId,
        host: hostIdentity(this.host().interpreter),
        // The revocations check (lib/revocations.js; lib/hot.js checkDue): when, and a yank's reason.
        checkedAt: this.lifecycle ? this.lifecycle.checkedAt : 0,
        ...(this.lifecycle && this.lifecycle.yanked !== undefined ? { yanked: this.lifecycle.yanked, moveTo: this.lifecycle.moveTo } : {}),
        // The signed provenance, so a warm require under X0X_DIST_REQUIRE_PROVENANCE checks it without metadata.
        ...(info.custom && info.custom.provenance ? { provenance: info.custom.provenance } : {}),
        verifiedAt: new Date().toISOString(),
      };
      cache.writeAtomic(this.cfg.cacheDir, this.recordPath(), Buffer.from(JSON.stringify(rec)), 0o644);
    } catch (e) {
      this.log(`could not write the warm-path record: ${e.message}`);
    }
  }

  /**
   * Yanked or revoked (lib/revocations.js), once per resolution, before anything is loaded: throws
   * loader.revoked (or metadata.expired: offline past the last verified revocations' expiry).
   */
  checkLifecycle() {
    if (this.lifecycleError) throw this.lifecycleError;
    if (this.lifecycle) return this.lifecycle;
    try {
      this.lifecycle = require('./revocations').check(this, Boolean(this.revocationsFresh));
    } catch (e) {
      this.lifecycleError = e;
      e.lifecycle = true;
      throw e;
    }
    return this.lifecycle;
  }

  /** The permission model's answer for this process (lib/permission.js), computed once. */
  permission() {
    if (!this._perm) this._perm = (this.permissionOverride || require('./permission').permissionState)();
    return this._perm;
  }

  /** Load checked bytes: WASM from `bytes` (or read through `fd`), native through `fd` (the checked file). */
  load(cand, blob, bytes, fd) {
    this.checkLifecycle();
    if (cand.kind === 'wasm') {
      const perm = this.permission();
      if (perm.enabled && !perm.wasi) {
        const { FLAGS } = require('./permission');
        throw err('loader.permission_denied', `the WASM build needs WASI, which Node's permission model forbids: run node with ${FLAGS.wasi}${perm.addons ? '' : ` (or ${FLAGS.addons} for the native build)`}`);
      }
      return this.loadWasm(bytes || (fd !== undefined ? readFd(fd) : fs.readFileSync(blob)), { pkgDir: this.pkgDir, pkg: this.pkg, threads: Boolean(cand.threads) });
    }
    return this.loadNative(blob, fd);
  }

  /**
   * One candidate through every source. Returns the result or throws the reason. A cached copy found corrupt
   * (and removed) on the way is the first cause of any later failure: "the server is down" alone would hide it.
   */
  tryCandidate(cand) {
    this.corruptBlob = null;
    try {
      return this.tryCandidateSources(cand);
    } catch (e) {
      if (!this.corruptBlob || e.code === 'cache.corrupt') throw e;
      throw err('cache.corrupt', `the cached ${this.corruptBlob} no longer matched its signed hash and was removed; getting verified bytes again failed`, { cause: e });
    } finally {
      this.corruptBlob = null;
    }
  }

  tryCandidateSources(cand) {
    const { fileName } = require('./platforms');
    const { glibcFloor, cmpVersion } = require('./host');
    const host = this.host();
    const file = fileName(this.pkg, cand);
    const targetPath = `${this.pkg}/${this.version}/${file}`;
    let info = this.lookup(targetPath);
    if (!info && this.canFetch() && !this.refreshed && !this.refreshError) {
      this.log(`${targetPath}: not in local metadata, asking ${this.cfg.bundle ? 'the bundle' : 'the repository'}`);
      // Metadata only: the ABI check below may skip this candidate without downloading it.
      // One online update per resolution: once fresh, a target missing from it is missing; once failed
      // (repository down, bad metadata), the same failure stands for every further candidate instead of
      // repeating the retries and backoff once per candidate.
      this.refreshed = true;
      try {
        this.runWorker(targetPath, cand.kind, 'refresh');
      } catch (e) {
        if (e.code !== 'target.not_found') this.refreshError = e;
        throw e;
      } finally {
        this._local = null; // the worker may have persisted newer metadata either way
      }
      info = this.lookup(targetPath);
    }
    if (!info && this.refreshError) throw this.refreshError;
    if (!info) throw err('target.not_found', `no verified metadata lists ${targetPath}`);
    if (!info.hashes || typeof info.hashes.sha256 !== 'string') {
      throw err('target.not_found', `${targetPath} has no sha256 in its signed metadata`);
    }
    // A release younger than X0X_DIST_MIN_RELEASE_AGE is the answer for every candidate (lib/cooldown.js).
    require('./cooldown').check(this, info);
    // So is a release without the provenance X0X_DIST_REQUIRE_PROVENANCE requires (lib/provenance.js).
    if (this.cfg.requireProvenance) require('./provenance').check(this, info);
    const floor = glibcFloor(info.custom);
    if (cand.libc === 'gnu' && floor && host.glibc && cmpVersion(floor, host.glibc) > 0) {
      throw err('loader.load_failed', `${file} needs glibc ${floor}, this host has ${host.glibc}`, { skipped: 'abi' });
    }
    // Every load goes through the descriptor the checked bytes were read from (or whose identity was checked):
    // what was verified is what is loaded, whatever happens to the path meanwhile.
    const result = (got, source) => {
      try {
        const exports = this.load(cand, got.blob, got.bytes, got.fd);
        const res = { exports, platform: cand.name, kind: cand.kind, source, file: got.blob, target: targetPath };
        this.writeRecord({ ...res, blobId: got.blobId }, info);
        return res;
      } finally {
        if (got.fd !== undefined) fs.closeSync(got.fd);
      }
    };
    const cached = this.fromCache(info, cand.kind);
    const fetchedFrom = this.cfg.bundle ? 'bundle' : 'repository';
    if (cached) return result(cached, 'cache');
    const pp = this.fromPlatformPackage(cand, file);
    if (pp) {
      try {
        this.admit(pp.bytes, info, cand.kind, pp.label);
      } catch (e) {
        if (e.code !== 'io.error') {
          fs.closeSync(pp.fd);
          throw e;
        }
        // Read-only cache (e.g. a read-only home directory): the bytes just matched the signed hash, so load
        // the package's own file, through the descriptor they were read from (same trust domain as this
        // loader's code); no warm record without a cache.
        this.log(`cache not writable (${e.message}); loading ${pp.label} in place`);
        try {
          const exports = this.load(cand, pp.file, pp.bytes, pp.fd);
          return { exports, platform: cand.name, kind: cand.kind, source: 'platform-package', file: pp.file, target: targetPath };
        } finally {
          fs.closeSync(pp.fd);
        }
      }
      fs.closeSync(pp.fd);
      // Loaded from the cache copy, re-read and re-hashed through the descriptor it is loaded through.
      const admitted = this.fromCache(info, cand.kind);
      if (!admitted) throw err('cache.corrupt', `${pp.label} was admitted to the cache but the cached copy does not verify`);
      return result(admitted, 'platform-package');
    }
    if (!this.repoConfigured()) {
      throw err('loader.offline', `${targetPath} is not cached and no repository is configured (X0X_DIST_URL or X0X_DIST_BUNDLE)`);
    }
    if (!this.canFetch()) {
      throw err('loader.offline', `${targetPath} is not cached and X0X_DIST_OFFLINE=1 forbids fetching it`);
    }
    if (this.refreshError) throw this.refreshError;
    let fetched;
    try {
      fetched = this.runWorker(targetPath, cand.kind, 'fetch', info.length);
    } catch (e) {
      // A repository that failed as a whole, or too slow to finish within the deadlines, stands for every
      // further candidate: require() waits for the deadlines once, not once per candidate.
      if (e.phase === 'metadata' || e.code === 'network.timeout') this.refreshError = e;
      throw e;
    }
    const after = this.fromFetch(fetched, info, cand.kind) || this.fromCache(info, cand.kind);
    if (!after) throw err('target.not_found', `the fetch of ${targetPath} left nothing verified in the cache`);
    return result(after, fetchedFrom);
  }

  /** X0X_NATIVE_PATH: the file must match some signed target of this release; it replaces the search. */
  explicit() {
    const { table, fileName } = require('./platforms');
    const p = path.resolve(this.cfg.nativePath);
    let bytes;
    try {
      bytes = fs.readFileSync(p);
    } catch (e) {
      throw err('config.invalid', `cannot read X0X_NATIVE_PATH ${p}`, { cause: e });
    }
    const digest = sha256(bytes);
    for (const cand of table()) {
      const targetPath = `${this.pkg}/${this.version}/${fileName(this.pkg, cand)}`;
      let info = null;
      try {
        info = this.lookup(targetPath);
      } catch {
        info = null;
      }
      if (info && info.hashes.sha256 === digest && info.length === bytes.length) {
        if (this.cfg.requireProvenance) require('./provenance').check(this, info);
        cache.checkSecure(this.cfg.cacheDir);
        this.admit(bytes, info, cand.kind, p);
        const got = this.fromCache(info, cand.kind);
        if (!got) throw err('cache.corrupt', `${p} was admitted to the cache but the cached copy does not verify`);
        try {
          const exports = this.load(cand, got.blob, got.bytes, got.fd);
          return { exports, platform: cand.name, kind: cand.kind, source: 'X0X_NATIVE_PATH', file: got.blob, target: targetPath };
        } finally {
          fs.closeSync(got.fd);
        }
      }
    }
    throw err(
      'target.digest_mismatch',
      `X0X_NATIVE_PATH ${p} (SHA-256 ${digest}) matches no signed target of ${this.pkg} ${this.version}`,
    );
  }

  /**
   * A candidate that failed verification (its bytes or its metadata do not match what was signed) while
   * another one was loaded: a security event, not a routine fallback. Said on stderr through
   * process.emitWarning (once per process per code and file) and appended to the cache's
   * verify-failures.jsonl, which `npx x0x doctor` shows. X0X_FORCE_WASM=error still fails closed (no WASM
   * candidate is tried, so there is no fallback to warn about).
   */
  securityEvent(attempt, res) {
    if (!isVerifyFailure(attempt.code)) return;
    const file = attempt.target || `${this.pkg}/${this.version} ${attempt.name}`;
    const key = `${attempt.code} ${file}`;
    if (!WARNED.has(key)) {
      WARNED.add(key);
      process.emitWarning(`${attempt.name} failed verification: ${attempt.reason}; loaded ${res.platform} instead. A verification failure is a security event: report it to the repository operator (npx x0x doctor lists these).`, {
        type: 'X0xSecurityWarning',
        code: attempt.code,
        detail: file,
      });
    }
    recordVerifyFailure(this.cfg.cacheDir, {
      at: new Date().toISOString(),
      package: this.pkg,
      version: this.version,
      candidate: attempt.name,
      code: attempt.code,
      file,
      reason: attempt.reason,
      loadedInstead: res.platform,
    });
  }

  resolve() {
    const warm = this.tryWarm();
    if (warm) return warm;
    // Fail closed: a cache reached through another user's symlink (cache.foreign_symlink), or that another user
    // can write (cache.insecure), is not used at all; both name the fix.
    if (this.ctx.cacheError) throw this.ctx.cacheError;
    cache.checkSecure(this.cfg.cacheDir);
    const swept = cache.sweepTmp(this.cfg.cacheDir);
    if (swept.length) this.log(`removed ${swept.length} temporary file(s) of killed processes from ${this.cfg.cacheDir}/tmp: ${swept.join(', ')}`);
    if (this.cfg.nativePath) return this.explicit();
    const { describeHost, describeWasm, rankCandidates } = require('./host');
    const { table } = require('./platforms');
    const host = this.host();
    const candidates = rankCandidates(host, table(path.join(this.pkgDir, 'platforms.json')), this.cfg.forceWasm);
    this.log(`host ${describeHost(host)}; WASM: ${describeWasm(host)}; mode ${this.cfg.forceWasm}`);
    this.log(`candidates ${candidates.map((c) => c.name).join(', ') || 'none'}`);
    const attempts = [];
    const perm = this.permission();
    if (perm.enabled) this.log(`permission model: addons ${perm.addons ? 'allowed' : 'denied'}, WASI ${perm.wasi ? 'allowed' : 'denied'}, child processes ${perm.child ? 'allowed' : 'denied'}`);
    for (const cand of candidates) {
      if (cand.kind === 'native' && perm.enabled && !perm.addons) {
        // The WASM build takes over with no flag; the native one would need --allow-addons.
        const reason = "[loader.permission_denied] Node's permission model forbids native addons (node --permission without --allow-addons)";
        this.log(`${cand.name}: ${reason}`);
        attempts.push({ name: cand.name, code: 'loader.permission_denied', reason, error: err('loader.permission_denied', reason) });
        continue;
      }
      try {
        const res = this.tryCandidate(cand);
        res.attempts = attempts;
        this.log(`loaded ${cand.name} from ${res.source}`);
        for (const a of attempts) this.securityEvent(a, res);
        return res;
      } catch (e) {
        // A revoked release (or revocations past their expiry) is the answer for every candidate.
        if (e.lifecycle) throw e;
        const reason = flatten(e);
        this.log(`${cand.name}: ${reason}`);
        const { fileName } = require('./platforms');
        attempts.push({ name: cand.name, code: e.code || 'loader.load_failed', reason, error: e, target: `${this.pkg}/${this.version}/${fileName(this.pkg, cand)}` });
      }
    }
    throw noCandidate(this, host, attempts, candidates);
  }
}

/** The http(s) repository recorded in the package's release.json by `pack.js --repo URL`, if any. */
function defaultRepository(pkgDir) {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(pkgDir, 'release.json'), 'utf8')).repository;
    return typeof r === 'string' && /^https?:\/\//i.test(r) ? r : null;
  } catch {
    return null;
  }
}

/** Warnings already emitted by this process (`code file`). */
const WARNED = new Set();

/** The file under the cache directory where verification failures are recorded for `x0x doctor`. */
const VERIFY_FAILURES = 'verify-failures.jsonl';

/** A code that means bytes or metadata did not match what was signed (not "missing" or "expired"). */
function isVerifyFailure(code) {
  return code === 'target.digest_mismatch' || code === 'target.length_mismatch' || (code.startsWith('metadata.') && code !== 'metadata.expired');
}

/** Appends one event to the cache's verify-failures.jsonl (best effort; the last 100 are kept). */
function recordVerifyFailure(cacheDir, event) {
  const f = path.join(cacheDir, VERIFY_FAILURES);
  try {
    let lines = [];
    try {
      lines = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
    } catch {
      /* first event */
    }
    lines.push(JSON.stringify(event));
    cache.ensureDirs(cacheDir);
    cache.writeAtomic(cacheDir, f, Buffer.from(`${lines.slice(-100).join('\n')}\n`), 0o600);
  } catch {
    /* a read-only cache: the warning on stderr still says it */
  }
}

/** The recorded verification failures (newest last), for `x0x doctor`. */
function readVerifyFailures(cacheDir) {
  try {
    return fs
      .readFileSync(path.join(cacheDir, VERIFY_FAILURES), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/**
 * How to start another node like this one. When node was started through an explicit dynamic loader
 * (`ld-musl-x86_64.so.1 /path/node ...`, as on hosts where node's own PT_INTERP is missing), process.execPath
 * is that loader and process.argv0 the node binary: the child must be started the same way.
 */

function nodeCommand() {
  const exe = process.execPath;
  const argv0 = process.argv0;
  // Under yarn's Plug'n'Play this package (and worker.js) lives inside a zip archive that only the PnP runtime
  // can read: the child loads it too (`yarn node` passes it in NODE_OPTIONS; a plain `node -r .pnp.cjs` does not).
  const pnp = [];
  if (process.versions.pnp) {
    try {
      pnp.push('--require', require.resolve('pnpapi'));
    } catch {
      /* no PnP API found: NODE_OPTIONS may still carry it */
    }
  }
  if (/^(ld-|libc\.so)/.test(path.basename(exe)) && argv0 && argv0 !== exe && path.isAbsolute(argv0)) return [exe, [argv0, ...pnp]];
  return [exe, pnp];
}

function flatten(e) {
  const parts = [];
  let cur = e;
  for (let i = 0; cur && i < 6; i += 1) {
    parts.push(cur.code && String(cur.code).includes('.') ? `[${cur.code}] ${cur.message}` : cur.message || String(cur));
    cur = cur.cause;
  }
  return parts.join(': ');
}

/** The platform packages of native candidates that this package lists as optionalDependencies but are not installed. */
function missingPlatformPackages(r, candidates) {
  let optional;
  try {
    optional = JSON.parse(fs.readFileSync(path.join(r.pkgDir, 'package.json'), 'utf8')).optionalDependencies || {};
  } catch {
    return [];
  }
  return candidates
    .filter((c) => c.kind === 'native')
    .map((c) => `@${r.scope}/core-${c.name}`)
    .filter((name) => {
      if (!Object.prototype.hasOwnProperty.call(optional, name)) return false;
      try {
        require.resolve(`${name}/package.json`, { paths: [r.pkgDir] });
        return false;
      } catch {
        return true;
      }
    });
}

function noCandidate(r, host, attempts, candidates) {
  const { describeHost } = require('./host');
  const hints = [];
  if (r.cfg.forceWasm === 'forbid' && !candidates.some((c) => c.kind === 'native')) {
    hints.push('X0X_FORCE_WASM=error forbids WASM and no native build exists for this host: unset it');
  }
  if (r.cfg.forceWasm === 'force-threads' && !host.wasmThreads) {
    const { describeWasm } = require('./host');
    hints.push(`the wasm32-wasip1-threads flavour was requested (X0X_WASM_FLAVOR / NAPI_RS_WASI_FLAVOR) but this Node cannot run it: ${describeWasm(host)}`);
  }
  if (!r.repoConfigured()) hints.push('set X0X_DIST_URL to a repository (http(s):// or file://DIR) or X0X_DIST_BUNDLE to a bundle');
  for (const name of missingPlatformPackages(r, candidates)) {
    // The real cause from the evidence on disk (lib/platform-cause.js): omitted optional dependencies, another libc,
    // node_modules from another OS, a release-age cooldown.
    const { platformPackageCause } = require('./platform-cause');
    const { table } = require('./platforms');
    const wanted = name.slice(`@${r.scope}/core-`.length);
    const c = platformPackageCause({ pkgDir: r.pkgDir, scope: r.scope, pkg: r.pkg, version: r.version, wanted, host, rows: table(path.join(r.pkgDir, 'platforms.json')), env: r.env });
    hints.push(`${name} (an optional dependency of ${r.pkg}) is not installed [${c.cause}: ${c.evidence.join('; ')}]: ${c.next}`);
  }
  if (r.cfg.offline) hints.push('X0X_DIST_OFFLINE=1 is set: import a bundle (X0X_DIST_BUNDLE) or pre-fill the cache (X0X_DIST_CACHE) on a connected machine');
  if (attempts.some((a) => a.code.startsWith('network.'))) {
    // The real cause first: nothing else helps while the repository is unreachable.
    const which = r.defaultRepository ? `the package's default repository ${r.cfg.url} (recorded by pack.js --repo; X0X_DIST_URL overrides it)` : r.cfg.url;
    hints.unshift(`check that ${which} is reachable (HTTPS_PROXY/NO_PROXY, NODE_EXTRA_CA_CERTS)`);
  }
  if (attempts.some((a) => a.code === 'bundle.invalid')) {
    hints.push(`X0X_DIST_BUNDLE=${r.cfg.bundle} is not a readable x0x-dist bundle: check the path, or export a new one with \`x0x-dist bundle export\``);
  }
  if (attempts.some((a) => a.code === 'metadata.expired')) {
    hints.push("metadata expired: a repository re-signs its timestamp itself (is the server, or a mirror's upstream, running?); for an old air-gapped bundle the operator may set X0X_DIST_ALLOW_EXPIRED_AFTER (docs/air-gapped.md)");
  }
  if (attempts.some((a) => a.code === 'cache.corrupt')) {
    hints.push(`a cached file no longer matched its signed hash and was removed (a failing disk, or something writing into ${r.cfg.cacheDir}): it is fetched again once the repository is reachable`);
  }
  if (attempts.some((a) => a.code === 'target.digest_mismatch' || (a.code.startsWith('metadata.') && a.code !== 'metadata.expired'))) {
    hints.push('a verification failure is a security event: do not bypass it; report it to the repository operator');
  }
  const perm = r.permission();
  if (perm.enabled) {
    const { FLAGS } = require('./permission');
    const need = [];
    if (!perm.addons && candidates.some((c) => c.kind === 'native')) need.push(`${FLAGS.addons} (native build)`);
    if (!perm.wasi && candidates.some((c) => c.kind === 'wasm')) need.push(`${FLAGS.wasi} (WASM build)`);
    if (!perm.child && r.repoConfigured()) need.push(`${FLAGS.child} (download)`);
    if (attempts.some((a) => require('./permission').isDenied(a.error))) need.push(`${FLAGS.fsRead} for the package and the cache directory ${r.cfg.cacheDir}`);
    if (need.length) hints.push(`node runs under the permission model (--permission): allow ${need.join(', ')}`);
  }
  hints.push('X0X_NATIVE_PATH loads an explicit (still verified) binary; X0X_DIST_DEBUG=1 prints the trace');
  // Candidates that failed for the same reason (a bad X0X_DIST_URL, an unreachable repository) share one line.
  const byReason = new Map();
  for (const a of attempts) byReason.set(a.reason, [...(byReason.get(a.reason) || []), a.name]);
  const lines = [...byReason].map(([reason, names]) => `  - ${names.join(', ')}: ${reason}`);
  const msg =
    `cannot load ${r.pkg} ${r.version} on ${describeHost(host)}: no candidate could be verified and loaded\n` +
    `${lines.join('\n') || '  (no candidate platform for this host)'}\nnext: ${hints.join('; ')}`;
  // Chain every attempt through `cause`: top → first candidate → second → ...; a corrupt cache file first (it is
  // the cause the user must act on; the network failure that followed only kept it from being repaired).
  let chain;
  const ordered = [...attempts.filter((a) => a.code === 'cache.corrupt'), ...attempts.filter((a) => a.code !== 'cache.corrupt')];
  for (let i = ordered.length - 1; i >= 0; i -= 1) {
    const a = ordered[i];
    const e = err(a.code in require('./errors').CODES ? a.code : 'loader.load_failed', `${a.name}: ${a.reason}`, { cause: chain });
    e.candidate = a.name;
    chain = e;
  }
  return err('loader.no_candidate', msg, {
    cause: chain,
    host,
    candidates: attempts.map(({ name, code, reason }) => ({ name, code, reason })),
    hints,
  });
}

/** Entry point used by index.js. */
function load(opts) {
  return new Resolver(opts).resolve();
}

module.exports = { Resolver, load, loadNative, readVerifyFailures, VERIFY_FAILURES };
