'use strict';
// TUF 1.0 metadata verification (theupdateframework.io, §5 "Detailed client workflow"), with the semantics of
// the Rust crate (manifests/src/verify.rs; the shared vectors in manifests/vectors pin every result and code)
// and of python-tuf's TrustedMetadataSet, so all three accept and reject the same repositories. As in the Rust
// crate, a newer timestamp/snapshot may follow a loaded one (the loaded one is the rollback reference).
//
// - root rotation: N+1.root.json must be signed by a threshold of the trusted root's root keys AND of its
//   own, and carry exactly version N+1; the final root must not be expired before timestamp is accepted.
// - timestamp: signed by root's timestamp role; versions never go down (equal: keep the trusted one);
//   the snapshot version it names never goes down.
// - snapshot: length/hashes as named by timestamp; signed by root's snapshot role; every targets file the
//   trusted snapshot lists stays listed with a version never lower; version equals what timestamp names.
// - targets and delegated roles: length/hashes/version as named by snapshot; signed by the delegating role
//   with its threshold; not expired.
// - thresholds count distinct key ids AND distinct public keys (two key ids for one key count once);
//   ed25519, ecdsa P-256/P-384 and rsassa-pss-sha256 keys verify (lib/keys.js); other key types never count, a
//   malformed key of a supported type makes the metadata listing it invalid (metadata.key_invalid). A signature list naming one key id twice
//   is malformed (TUF: "the keyid MUST be unique"; tuf-conformance test_duplicate_sig_keyids).
// - a delegated role is trusted only through the delegator the search reaches it by: one verified under
//   parent-a and reached again through parent-b ("diamond" delegations) is verified against parent-b's keys
//   and threshold before any of its targets is returned.
// - role names come from signed metadata but never name files or URLs as they are: encodeRoleName (python-
//   tuf's quote(name, safe='')) makes each one a single safe segment (`../x` → `..%2Fx`).
//
// No I/O here: bytes come in, verified objects come out. `now` is fixed per update (§5.1).

const crypto = require('crypto');
const { canonicalize, parseStrict } = require('./canonical');
const { err } = require('./errors');
const tufKeys = require('./keys');

const EXPIRES_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const TOP_ROLES = ['root', 'timestamp', 'snapshot', 'targets'];
/** Size limits per role type, checked before parsing (the same as `MAX_SIZE` in manifests/src/metadata/). */
const MAX_SIZE = { root: 512 * 1024, timestamp: 64 * 1024, snapshot: 4 * 1024 * 1024, targets: 16 * 1024 * 1024 };

function isObj(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
function isPosInt(v) {
  return Number.isSafeInteger(v) && v >= 1;
}

/**
 * Parse an envelope `{signatures, signed}` and check the shape of `signed` for the expected role type.
 * @returns {{signed: any, signatures: {keyid: string, sig: string}[], bytes: Buffer}}
 */
function parse(bytes, type, label = type) {
  const len = Buffer.byteLength(bytes);
  if (len > MAX_SIZE[type]) {
    throw err('metadata.too_large', `${label} metadata is ${len} bytes, over the limit of ${MAX_SIZE[type]} bytes`);
  }
  let doc;
  try {
    doc = parseStrict(Buffer.isBuffer(bytes) ? bytes.toString('utf8') : bytes);
  } catch (e) {
    throw err('metadata.malformed', `${label} metadata is not valid JSON`, { cause: e });
  }
  const bad = (what, code = 'metadata.malformed') => err(code, `${label} metadata: ${what}`);
  if (!isObj(doc) || !isObj(doc.signed) || !Array.isArray(doc.signatures)) throw bad('expected {signatures, signed}');
  const s = doc.signed;
  if (s._type !== type) {
    throw bad(`_type is ${JSON.stringify(s._type)}, expected ${JSON.stringify(type)}`, 'metadata.wrong_type');
  }
  if (!isPosInt(s.version)) throw bad('version must be a positive integer');
  if (typeof s.spec_version !== 'string' || !/^1\.\d+(\.\d+)?$/.test(s.spec_version)) {
    throw bad(`unsupported spec_version ${JSON.stringify(s.spec_version)}`, 'metadata.spec_version');
  }
  if (typeof s.expires !== 'string' || !EXPIRES_RE.test(s.expires) || Number.isNaN(Date.parse(s.expires))) {
    throw bad('expires must look like 2030-01-01T00:00:00Z');
  }
  const keyids = new Set();
  for (const sig of doc.signatures) {
    if (!isObj(sig) || typeof sig.keyid !== 'string' || typeof sig.sig !== 'string') throw bad('malformed signature');
    if (keyids.has(sig.keyid)) throw bad(`the signatures list key id ${sig.keyid} more than once`);
    keyids.add(sig.keyid);
  }
  if (type === 'root') {
    if (!isObj(s.keys) || !isObj(s.roles)) throw bad('root needs keys and roles');
    for (const k of Object.values(s.keys)) tufKeys.checkKey(k);
    for (const r of TOP_ROLES) checkRole(s.roles[r], `${label} role ${r}`);
  } else if (type === 'timestamp') {
    if (!isObj(s.meta) || !isObj(s.meta['snapshot.json'])) throw bad('timestamp needs meta["snapshot.json"]');
    checkMeta(s.meta['snapshot.json'], label);
  } else if (type === 'snapshot') {
    if (!isObj(s.meta)) throw bad('snapshot needs meta');
    for (const m of Object.values(s.meta)) checkMeta(m, label);
  } else if (type === 'targets') {
    if (!isObj(s.targets)) throw bad('targets needs targets');
    for (const [p, t] of Object.entries(s.targets)) {
      // Any safe path (TUF sets no shape); the package shape is checked where a path is used as a package
      // artifact (checkTargetPath: lib/worker.js, lib/loader.js).
      checkTargetName(p);
      if (!isObj(t) || !Number.isSafeInteger(t.length) || t.length < 0 || !isObj(t.hashes) || !Object.keys(t.hashes).length) {
        throw bad(`target ${p} needs length and hashes`);
      }
      for (const [alg, n] of [['sha256', 64], ['sha512', 128]]) {
        const h = t.hashes[alg];
        if (h !== undefined && (typeof h !== 'string' || h.length !== n || !/^[0-9a-f]*$/.test(h))) {
          throw bad(`target ${p}: ${alg} is not ${n} lower-case hex characters`);
        }
      }
    }
    if (s.delegations !== undefined) {
      const d = s.delegations;
      if (!isObj(d) || !isObj(d.keys) || !Array.isArray(d.roles)) throw bad('delegations needs keys and roles');
      for (const k of Object.values(d.keys)) tufKeys.checkKey(k);
      const names = new Set();
      for (const r of d.roles) {
        checkRole(r, `${label} delegation`, 'metadata.delegation_invalid');
        if (typeof r.name !== 'string' || !r.name || TOP_ROLES.includes(r.name) || names.has(r.name)) {
          throw bad(`invalid or duplicate delegated role name ${JSON.stringify(r.name)}`, 'metadata.delegation_invalid');
        }
        names.add(r.name);
        const hasPaths = Array.isArray(r.paths);
        const hasPrefixes = Array.isArray(r.path_hash_prefixes);
        if (hasPaths === hasPrefixes) {
          throw bad(`delegation ${r.name} needs exactly one of paths, path_hash_prefixes`, 'metadata.delegation_invalid');
        }
      }
    }
  }
  return { signed: s, signatures: doc.signatures, bytes: Buffer.from(bytes) };
}

function checkRole(r, label, code = 'metadata.malformed') {
  if (!isObj(r) || !Array.isArray(r.keyids) || !isPosInt(r.threshold)) {
    throw err(code, `${label}: needs keyids and a threshold >= 1`);
  }
}
function checkMeta(m, label) {
  if (!isObj(m) || !isPosInt(m.version)) throw err('metadata.malformed', `${label}: meta entry needs a version`);
  if (m.length !== undefined && (!Number.isSafeInteger(m.length) || m.length < 0)) {
    throw err('metadata.malformed', `${label}: meta length must be a non-negative integer`);
  }
}

/**
 * Check that `md` is signed by at least `role.threshold` distinct keys of `role.keyids` found in `keys`.
 * @returns {number} the number of distinct valid signers
 */
function verifySignatures(md, role, keyDict, label) {
  const data = canonicalize(md.signed);
  const counted = new Set();
  const countedKeys = new Set();
  let badSig = 0;
  for (const keyid of new Set(role.keyids)) {
    const key = keyDict[keyid];
    let pk = null;
    try {
      pk = key && tufKeys.parseKey(key);
    } catch {
      pk = null; // malformed (refused at parse for metadata; a key dict built in memory just never counts)
    }
    if (!pk) continue;
    const pub = pk.material;
    if (countedKeys.has(pub)) continue;
    for (const s of md.signatures) {
      if (s.keyid !== keyid) continue;
      const ok = tufKeys.verify(pk, data, s.sig);
      if (ok) {
        counted.add(keyid);
        countedKeys.add(pub);
        break;
      }
      badSig += 1;
    }
  }
  if (counted.size < role.threshold) {
    throw err(
      badSig ? 'metadata.signature_invalid' : 'metadata.threshold_not_met',
      `${label} metadata has ${counted.size} valid signature(s) from authorised keys, threshold is ${role.threshold}`,
    );
  }
  return counted.size;
}

function checkExpiry(signed, now, label) {
  if (Date.parse(signed.expires) <= now.getTime()) {
    throw err('metadata.expired', `${label} metadata version ${signed.version} expired at ${signed.expires}`);
  }
}

/** Check bytes against a meta entry's optional `length` and `hashes` (TUF 5.5.2 / 5.6.2). */
function checkMetaBytes(bytes, meta, label) {
  if (meta.length !== undefined && bytes.length !== meta.length) {
    throw err('metadata.length_mismatch', `${label} is ${bytes.length} bytes, its referrer says ${meta.length}`);
  }
  if (meta.hashes !== undefined) checkHashes(bytes, meta.hashes, 'metadata.digest_mismatch', label);
}

function checkHashes(bytes, hashes, code, label) {
  let checked = 0;
  for (const [alg, want] of Object.entries(hashes || {})) {
    if (alg !== 'sha256' && alg !== 'sha512') continue;
    const got = crypto.createHash(alg).update(bytes).digest('hex');
    if (got !== String(want).toLowerCase()) throw err(code, `${label}: ${alg} is ${got}, signed ${want}`);
    checked += 1;
  }
  if (!checked) throw err(code, `${label}: no supported hash (sha256/sha512) to check against`);
}

const TARGET_HASHES = ['sha256', 'sha512'];

/**
 * A streaming check of target bytes against signed `{length, hashes}`: every listed hash must be sha256 or
 * sha512 and match (as python-tuf: an algorithm we cannot compute fails, it is never skipped), else
 * target.digest_mismatch; a wrong length is target.length_mismatch. `update(buf)`, then `finish(label)`.
 */
class TargetHasher {
  constructor(info) {
    this.info = info;
    this.reset();
  }

  reset() {
    this.length = 0;
    this.hashes = new Map();
    for (const alg of Object.keys(this.info.hashes || {})) {
      if (TARGET_HASHES.includes(alg)) this.hashes.set(alg, crypto.createHash(alg));
    }
  }

  update(buf) {
    this.length += buf.length;
    for (const h of this.hashes.values()) h.update(buf);
  }

  finish(label) {
    const { info } = this;
    if (this.length !== info.length) throw err('target.length_mismatch', `${label} is ${this.length} bytes, signed length ${info.length}`);
    const listed = Object.keys(info.hashes || {});
    if (!listed.length) throw err('target.digest_mismatch', `${label}: no hashes in its signed metadata`);
    const unsupported = listed.find((alg) => !TARGET_HASHES.includes(alg));
    if (unsupported !== undefined) {
      throw err('target.digest_mismatch', `${label} lists hash algorithm ${JSON.stringify(unsupported.slice(0, 40))}, not supported (sha256, sha512): it cannot be verified`);
    }
    for (const [alg, h] of this.hashes) {
      const got = h.digest('hex');
      if (got !== info.hashes[alg]) throw err('target.digest_mismatch', `${label} has ${alg} ${got}, signed ${info.hashes[alg]}`);
    }
  }
}

/** Check whole target bytes against signed `{length, hashes}` (TargetHasher). */
function checkTarget(bytes, info, label) {
  const h = new TargetHasher(info);
  h.update(bytes);
  h.finish(label);
}

/** fnmatch-style match of one path segment (`*`, `?`, `[...]`, `[!...]`), as Python's fnmatch. */
function segmentRegex(pat) {
  let re = '';
  for (let i = 0; i < pat.length; i += 1) {
    const c = pat[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = pat.indexOf(']', i + 2);
      if (j === -1) re += '\\[';
      else {
        let body = pat.slice(i + 1, j);
        const neg = body.startsWith('!');
        if (neg) body = body.slice(1);
        re += `[${neg ? '^' : ''}${body.replace(/\\/g, '\\\\')}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** TUF path-pattern matching: same number of `/`-separated parts, each matched by fnmatch (`*` never crosses `/`). */
function pathMatches(pattern, targetPath) {
  const pp = pattern.split('/');
  const tp = targetPath.split('/');
  if (pp.length !== tp.length) return false;
  return pp.every((p, i) => segmentRegex(p).test(tp[i]));
}

function isDelegatedPath(role, targetPath) {
  if (Array.isArray(role.paths)) return role.paths.some((p) => typeof p === 'string' && pathMatches(p, targetPath));
  const h = crypto.createHash('sha256').update(targetPath).digest('hex');
  return role.path_hash_prefixes.some((p) => typeof p === 'string' && h.startsWith(p));
}

/**
 * The trusted metadata of one repository, updated in TUF order. Methods take raw bytes, verify, and only
 * then replace the trusted copy. Errors carry stable codes.
 */
class TrustedSet {
  /**
   * @param {Buffer|string} rootBytes the trust anchor (shipped root.json, X0X_DIST_ROOT, or the persisted one)
   * @param {{now?: Date}} [opts]
   */
  constructor(rootBytes, opts = {}) {
    this.now = opts.now || new Date();
    /** false: loading local, already-trusted metadata for a pinned release (docs/loader.md, "expiry"). */
    this.enforceExpiry = opts.enforceExpiry !== false;
    const root = parse(rootBytes, 'root');
    verifySignatures(root, root.signed.roles.root, root.signed.keys, 'root');
    this.root = root;
    this.timestamp = null;
    this.snapshot = null;
    this.targets = null;
    /** @type {Map<string, ReturnType<typeof parse>>} */
    this.delegated = new Map();
    /** For each loaded delegated role, the delegators whose keys and threshold it was verified against. */
    /** @type {Map<string, Set<string>>} */
    this.verifiedBy = new Map();
  }

  expiry(signed, now, label) {
    if (this.enforceExpiry) checkExpiry(signed, now, label);
  }

  rootRole(name) {
    return { role: this.root.signed.roles[name], keys: this.root.signed.keys };
  }

  /** §5.3: accept N+1.root.json. */
  updateRoot(bytes) {
    if (this.timestamp) throw err('internal', 'root cannot be updated after timestamp');
    const next = parse(bytes, 'root', `root v${this.root.signed.version + 1}`);
    const label = `root v${next.signed.version}`;
    verifySignatures(next, this.root.signed.roles.root, this.root.signed.keys, `${label} (by trusted root)`);
    if (next.signed.version !== this.root.signed.version + 1) {
      throw err(
        'metadata.version_mismatch',
        `${label}: expected version ${this.root.signed.version + 1}, got ${next.signed.version}`,
      );
    }
    verifySignatures(next, next.signed.roles.root, next.signed.keys, `${label} (self-signed)`);
    this.root = next;
    return next;
  }

  checkFinalRoot() {
    this.expiry(this.root.signed, this.now, 'root');
  }

  /** True when the timestamp or snapshot keys changed between two roots (§5.3.11: drop trusted copies). */
  static onlineKeysRotated(oldRoot, newRoot) {
    return ['timestamp', 'snapshot'].some(
      (r) =>
        JSON.stringify([...oldRoot.signed.roles[r].keyids].sort()) !==
        JSON.stringify([...newRoot.signed.roles[r].keyids].sort()),
    );
  }

  /**
   * §5.4. `trustedPrev` is the previously trusted timestamp (persisted), for rollback checks.
   * @returns {{unchanged: boolean}} unchanged: same version as trusted (kept, not replaced)
   */
  updateTimestamp(bytes, trustedPrev = this.timestamp) {
    this.checkFinalRoot();
    const ts = parse(bytes, 'timestamp');
    const { role, keys } = this.rootRole('timestamp');
    verifySignatures(ts, role, keys, 'timestamp');
    if (trustedPrev) {
      const old = trustedPrev.signed;
      if (ts.signed.version < old.version) {
        throw err('metadata.rollback', `timestamp version ${ts.signed.version} is lower than trusted ${old.version}`);
      }
      if (ts.signed.version === old.version) {
        this.timestamp = trustedPrev;
        this.expiry(trustedPrev.signed, this.now, 'timestamp');
        return { unchanged: true };
      }
      const oldSnap = old.meta['snapshot.json'].version;
      const newSnap = ts.signed.meta['snapshot.json'].version;
      if (newSnap < oldSnap) {
        throw err('metadata.rollback', `timestamp names snapshot version ${newSnap}, lower than trusted ${oldSnap}`);
      }
    }
    this.timestamp = ts;
    this.expiry(ts.signed, this.now, 'timestamp');
    return { unchanged: false };
  }

  /** §5.5. `trusted`: bytes come from the local trusted store (skip length/hash checks, as python-tuf). */
  updateSnapshot(bytes, trustedPrev = this.snapshot, { trusted = false } = {}) {
    if (!this.timestamp) throw err('internal', 'snapshot needs a trusted timestamp first');
    this.expiry(this.timestamp.signed, this.now, 'timestamp');
    const meta = this.timestamp.signed.meta['snapshot.json'];
    if (!trusted) checkMetaBytes(Buffer.from(bytes), meta, 'snapshot');
    const snap = parse(bytes, 'snapshot');
    const { role, keys } = this.rootRole('snapshot');
    verifySignatures(snap, role, keys, 'snapshot');
    if (trustedPrev) {
      for (const [name, info] of Object.entries(trustedPrev.signed.meta)) {
        const n = snap.signed.meta[name];
        if (!n) throw err('metadata.missing_role', `snapshot v${snap.signed.version} no longer lists ${name}`);
        if (n.version < info.version) {
          throw err('metadata.rollback', `snapshot lists ${name} version ${n.version}, lower than trusted ${info.version}`);
        }
      }
    }
    this.snapshot = snap;
    this.delegated.clear();
    this.verifiedBy.clear();
    this.checkFinalSnapshot();
    return snap;
  }

  checkFinalSnapshot() {
    this.expiry(this.snapshot.signed, this.now, 'snapshot');
    const want = this.timestamp.signed.meta['snapshot.json'].version;
    if (this.snapshot.signed.version !== want) {
      throw err(
        'metadata.version_mismatch',
        `snapshot version ${this.snapshot.signed.version}, timestamp names ${want}`,
      );
    }
  }

  /** §5.6 / §5.6.7: `name` is `targets` or a delegated role; `parent` the role delegating it. */
  updateTargets(bytes, name = 'targets', parent = 'root') {
    if (!this.snapshot) throw err('internal', `${name} needs a trusted snapshot first`);
    this.checkFinalSnapshot();
    const meta = this.snapshot.signed.meta[`${name}.json`];
    if (!meta) throw err('metadata.missing_role', `snapshot does not list ${name}.json`);
    checkMetaBytes(Buffer.from(bytes), meta, name);
    const md = parse(bytes, 'targets', name);
    this.verifyDelegated(md, name, parent);
    if (md.signed.version !== meta.version) {
      throw err('metadata.version_mismatch', `${name} version ${md.signed.version}, snapshot names ${meta.version}`);
    }
    this.expiry(md.signed, this.now, name);
    if (name === 'targets') this.targets = md;
    else {
      const old = this.delegated.get(name);
      let by = this.verifiedBy.get(name);
      if (!by || !old || !old.bytes.equals(md.bytes)) this.verifiedBy.set(name, (by = new Set()));
      by.add(parent);
      this.delegated.set(name, md);
    }
    return md;
  }

  /** Check `md` (role `name`) against the keys and threshold that `parent` assigns to it. */
  verifyDelegated(md, name, parent) {
    let role;
    let keys;
    if (parent === 'root') ({ role, keys } = this.rootRole('targets'));
    else {
      const p = parent === 'targets' ? this.targets : this.delegated.get(parent);
      const d = p && p.signed.delegations;
      role = d && d.roles.find((r) => r.name === name);
      if (!role) throw err('metadata.missing_role', `${parent} does not delegate to ${name}`);
      keys = d.keys;
    }
    verifySignatures(md, role, keys, name);
  }

  /**
   * Pre-order depth-first search for `targetPath` (§5.6.7). A generator: yields `{role, parent}` whenever a
   * delegated role must be loaded (the driver calls updateTargets, sync or async, and resumes it); returns
   * the target info `{path, length, hashes, custom, role}` or null.
   */
  *walk(targetPath, maxRoles = 32) {
    const stack = [{ role: 'targets', parent: 'root' }];
    const visited = new Set();
    let n = 0;
    while (stack.length && n < maxRoles) {
      const { role, parent } = stack.pop();
      if (visited.has(role)) continue;
      n += 1;
      let md = role === 'targets' ? this.targets : this.delegated.get(role);
      if (!md) {
        yield { role, parent };
        md = role === 'targets' ? this.targets : this.delegated.get(role);
        if (!md) return null;
      }
      const by = role === 'targets' ? null : this.verifiedBy.get(role) || new Set();
      if (by && !by.has(parent)) {
        // Loaded through another delegator: its authority does not carry over (diamond delegations).
        this.verifyDelegated(md, role, parent);
        by.add(parent);
        this.verifiedBy.set(role, by);
      }
      const t = Object.prototype.hasOwnProperty.call(md.signed.targets, targetPath) ? md.signed.targets[targetPath] : null;
      if (t) return { path: targetPath, length: t.length, hashes: t.hashes, custom: t.custom || {}, role };
      visited.add(role);
      const d = md.signed.delegations;
      if (!d) continue;
      const children = [];
      let terminated = false;
      for (const r of d.roles) {
        if (!isDelegatedPath(r, targetPath)) continue;
        children.push({ role: r.name, parent: role });
        if (r.terminating) {
          terminated = true;
          break;
        }
      }
      if (terminated) stack.length = 0;
      for (let i = children.length - 1; i >= 0; i -= 1) stack.push(children[i]);
    }
    return null;
  }
}

/**
 * A role name as one segment of a file name or URL: every byte but ASCII letters, digits and `_.-~`
 * percent-encoded, exactly as python-tuf's `urllib.parse.quote(name, safe='')` (and the Rust crate's
 * encode_role_name), so `../x` becomes `..%2Fx` and `?` becomes `%3F`.
 */
function encodeRoleName(name) {
  if (/^[A-Za-z0-9_.~-]*$/.test(name)) return name;
  let out = '';
  for (const b of Buffer.from(String(name), 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9_.~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/**
 * A target path as a targets role may list it (manifests' TargetName): any string that is safe to use as a
 * relative URL or file path: 1..1024 bytes (`max`), relative, no empty, `.` or `..` segment, no backslash, no
 * NUL or other control character. TUF sets no shape: `README.md` is valid. A role listing an unsafe path is
 * refused as a whole (target.path_invalid).
 */
function checkTargetName(p, max = 1024) {
  const bad = (why) => err('target.path_invalid', `unsafe target path ${JSON.stringify(String(p).slice(0, 300))}: ${why}`);
  if (typeof p !== 'string' || !p) throw bad('empty');
  if (Buffer.byteLength(p) > max) throw bad(`longer than ${max} bytes`);
  if (p.includes('\\')) throw bad('contains a backslash');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(p)) throw bad('contains a NUL or another control character');
  if (p.startsWith('/')) throw bad('absolute path');
  const segs = p.split('/');
  if (segs.some((x) => x === '')) throw bad('empty segment');
  if (segs.some((x) => x === '.' || x === '..')) throw bad("'.' or '..' segment");
  return p;
}

/**
 * A package artifact's target path (manifests' TargetPath), checked where a path is used as one (the path the
 * loader resolves and downloads): a safe target name (checkTargetName) of at most 256 bytes that is
 * `<package>/<version>/<file>`.
 */
function checkTargetPath(p) {
  checkTargetName(p, 256);
  const bad = (why) => err('target.path_invalid', `invalid package target path ${JSON.stringify(String(p).slice(0, 300))}: ${why}`);
  const segs = p.split('/');
  if (segs.length !== 3) throw bad('must be <package>/<version>/<file>');
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(segs[0])) throw bad('invalid package name segment');
  if (!SEMVER_RE.test(segs[1])) throw bad('invalid version segment');
  const file = segs[2];
  if (file.length > 128) throw bad('file name longer than 128 bytes');
  if (file.startsWith('.')) throw bad("file name starts with '.'");
  if (!/^[A-Za-z0-9._+-]+$/.test(file)) throw bad("file name has characters other than letters, digits, '.', '_', '-', '+'");
  return p;
}

module.exports = {
  TrustedSet,
  parse,
  verifySignatures,
  checkExpiry,
  checkMetaBytes,
  checkHashes,
  pathMatches,
  isDelegatedPath,
  checkTargetName,
  checkTargetPath,
  checkTarget,
  TargetHasher,
  TARGET_HASHES,
  encodeRoleName,
  MAX_SIZE,
};
