'use strict';
// Where trusted metadata comes from, and the two ways of establishing it:
//
// - loadLocal (sync, no network): the trust anchor, then N+1.root.json files found locally, then timestamp →
//   snapshot → targets → delegated roles from a local directory (the package's embedded release metadata, or
//   what an earlier online update persisted in the cache). Signatures, thresholds, versions and hashes are
//   checked exactly as online; expiry is not (docs/loader.md "Expiry and pinned releases").
// - refresh (async, network): the full TUF client workflow against a repository, expiry enforced, with the
//   newest locally trusted timestamp/snapshot as the rollback reference; every accepted file is persisted.

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { TrustedSet, parse, verifySignatures, encodeRoleName } = require('./tuf');
const { err } = require('./errors');
const { DEFAULTS } = require('./constants');
const cache = require('./cache');

function anchorId(rootBytes) {
  return crypto.createHash('sha256').update(rootBytes).digest('hex').slice(0, 32);
}

/** A directory of metadata files named as the repository names them. */
class DirStore {
  constructor(dir) {
    this.dir = dir;
  }
  get(name) {
    if (!this.dir) return null;
    try {
      return fs.readFileSync(path.join(this.dir, path.basename(name)));
    } catch {
      return null;
    }
  }
}

/**
 * The file name (and URL segment) of `role`'s metadata at `version`: `VERSION.ROLE.json` with consistent
 * snapshots, `ROLE.json` without; the role name encoded (encodeRoleName), so a role named `../x` is stored as
 * `..%2Fx.json` inside the metadata folder, never outside it.
 */
function consistentName(ts, version, role) {
  const r = encodeRoleName(role);
  return ts.root.signed.consistent_snapshot ? `${version}.${r}.json` : `${r}.json`;
}

/** Drive TrustedSet#walk synchronously, loading delegated roles from `stores` (first hit wins). */
function findTargetSync(ts, stores, targetPath) {
  const gen = ts.walk(targetPath, DEFAULTS.MAX_DELEGATIONS);
  let step = gen.next();
  while (!step.done) {
    const { role, parent } = step.value;
    const meta = ts.snapshot && ts.snapshot.signed.meta[`${role}.json`];
    if (meta) {
      const name = consistentName(ts, meta.version, role);
      const bytes = stores.map((s) => s.get(name)).find(Boolean);
      if (bytes) ts.updateTargets(bytes, role, parent);
    }
    step = gen.next();
  }
  return step.value;
}

/**
 * Load local metadata without network. Returns `{ts, error}`: `ts` holds whatever verified (possibly only the
 * root), `error` the first verification failure (missing files are not errors).
 */
function loadLocal(anchorBytes, rootStores, store, opts = {}) {
  const ts = new TrustedSet(anchorBytes, { now: opts.now, enforceExpiry: false });
  try {
    for (;;) {
      const name = `${ts.root.signed.version + 1}.root.json`;
      const bytes = rootStores.map((s) => s.get(name)).find(Boolean);
      if (!bytes) break;
      ts.updateRoot(bytes);
    }
    const tsBytes = store.get('timestamp.json');
    if (!tsBytes) return { ts };
    ts.updateTimestamp(tsBytes, null);
    const snapV = ts.timestamp.signed.meta['snapshot.json'].version;
    const snapBytes = store.get(consistentName(ts, snapV, 'snapshot'));
    if (!snapBytes) return { ts };
    ts.updateSnapshot(snapBytes, null, { trusted: true });
    const tMeta = ts.snapshot.signed.meta['targets.json'];
    const tBytes = tMeta && store.get(consistentName(ts, tMeta.version, 'targets'));
    if (tBytes) ts.updateTargets(tBytes);
    return { ts };
  } catch (e) {
    return { ts, error: e };
  }
}

/** Parse and verify a locally stored role against `ts`'s root, for use as a rollback reference; null if unusable. */
function localReference(ts, bytes, type) {
  if (!bytes) return null;
  try {
    const md = parse(bytes, type);
    const { role, keys } = ts.rootRole(type);
    verifySignatures(md, role, keys, `trusted ${type}`);
    return md;
  } catch {
    return null;
  }
}

function newest(a, b) {
  if (!a) return b;
  if (!b) return a;
  return b.signed.version > a.signed.version ? b : a;
}

/**
 * The TUF client workflow (§5) against `repo`, persisting into `persistDir`. `embeddedDir` (the package's
 * release metadata) is a second source of roots and of rollback references. Returns the TrustedSet.
 */
async function refresh({ repo, anchorBytes, persistDir, embeddedDir, cacheDir, now = new Date() }) {
  cache.mkdirDurable(persistDir);
  const persisted = new DirStore(persistDir);
  const embedded = new DirStore(embeddedDir);
  const save = (name, bytes) => cache.writeAtomic(cacheDir, path.join(persistDir, name), bytes, 0o644);
  const ts = new TrustedSet(anchorBytes, { now });

  // §5.3 root rotation: local chain first (already verified once, verified again here), then remote.
  for (let i = 0; i < DEFAULTS.MAX_ROOT_ROTATIONS; i += 1) {
    const name = `${ts.root.signed.version + 1}.root.json`;
    let bytes = persisted.get(name) || embedded.get(name);
    let remote = false;
    if (!bytes) {
      bytes = await repo.getMetadata(name, DEFAULTS.MAX_ROOT_BYTES);
      remote = true;
    }
    if (!bytes) break;
    ts.updateRoot(bytes);
    if (remote) save(name, bytes);
  }
  ts.checkFinalRoot();

  // §5.4 timestamp, with the newest local timestamp as rollback reference (dropped if its keys rotated).
  const stores = [persisted, embedded];
  const localTs = stores.map((s) => localReference(ts, s.get('timestamp.json'), 'timestamp'));
  const prevTs = newest(localTs[0], localTs[1]);
  // The snapshot rollback reference (§5.5.5) is the snapshot that the *local* timestamp names: found before
  // the new timestamp replaces the persisted one, else the lookup below would name the new, not yet
  // downloaded snapshot and find no reference at all (tuf-conformance test_targets_rollback).
  let prevSnap = null;
  stores.forEach((store, i) => {
    if (!localTs[i]) return;
    const v = localTs[i].signed.meta['snapshot.json'].version;
    prevSnap = newest(prevSnap, localReference(ts, store.get(consistentName(ts, v, 'snapshot')), 'snapshot'));
  });
  const tsBytes = await repo.getMetadata('timestamp.json', DEFAULTS.MAX_TIMESTAMP_BYTES);
  if (!tsBytes) throw err('repo.not_found', `${repo.describe} has no timestamp.json`);
  const { unchanged } = ts.updateTimestamp(tsBytes, prevTs);
  if (!unchanged) save('timestamp.json', tsBytes);

  // §5.5 snapshot.
  const snapMeta = ts.timestamp.signed.meta['snapshot.json'];
  const snapName = consistentName(ts, snapMeta.version, 'snapshot');
  const snap = await storedOrFetched(ts, repo, stores, snapName, snapMeta.length);
  ts.updateSnapshot(snap.bytes, prevSnap);
  if (snap.remote) save(snapName, snap.bytes);

  // §5.6 targets (delegated roles are loaded on demand by findTarget).
  await loadRole(ts, repo, stores, save, 'targets', 'root');
  // The revocations role, when listed (lib/revocations.js). Its failure is kept, not thrown: a download goes on,
  // the revocations check (worker mode 'revocations') fails and the last verified revocations hold.
  const rm = ts.snapshot.signed.meta['revocations.json'];
  if (rm) {
    try {
      const name = consistentName(ts, rm.version, 'revocations');
      const r = await storedOrFetched(ts, repo, stores, name, rm.length);
      require('./revocations').verify(ts, r.bytes, { enforceExpiry: true, now });
      if (r.remote) save(name, r.bytes);
    } catch (e) {
      ts.revocationsError = e;
    }
  }
  return ts;
}

/**
 * The bytes of metadata file `name`: a local copy (first hit in `stores`) under consistent snapshots, whose
 * versioned names never change meaning; else (and when no copy is local) downloaded, `remote: true`. Without
 * consistent snapshots one unversioned name holds every version, so a saved copy may be older than the one
 * asked for: it is only a rollback reference, never the file itself.
 */
async function storedOrFetched(ts, repo, stores, name, length) {
  const local = ts.root.signed.consistent_snapshot ? stores.map((s) => s.get(name)).find(Boolean) : null;
  if (local) return { bytes: local, remote: false };
  const bytes = await repo.getMetadata(name, length || DEFAULTS.MAX_METADATA_BYTES);
  if (!bytes) throw err('repo.not_found', `${repo.describe} has no ${name}`);
  return { bytes, remote: true };
}

async function loadRole(ts, repo, stores, save, role, parent) {
  const meta = ts.snapshot.signed.meta[`${role}.json`];
  if (!meta) throw err('metadata.missing_role', `snapshot does not list ${role}.json`);
  const name = consistentName(ts, meta.version, role);
  const { bytes, remote } = await storedOrFetched(ts, repo, stores, name, meta.length);
  ts.updateTargets(bytes, role, parent);
  if (remote) save(name, bytes);
}

/** Async counterpart of findTargetSync: fetches delegated roles from `repo` as the walk needs them. */
async function findTargetOnline(ts, repo, persistDir, embeddedDir, cacheDir, targetPath) {
  const stores = [new DirStore(persistDir), new DirStore(embeddedDir)];
  const save = (name, bytes) => cache.writeAtomic(cacheDir, path.join(persistDir, name), bytes, 0o644);
  const gen = ts.walk(targetPath, DEFAULTS.MAX_DELEGATIONS);
  let step = gen.next();
  while (!step.done) {
    const { role, parent } = step.value;
    await loadRole(ts, repo, stores, save, role, parent);
    step = gen.next();
  }
  return step.value;
}

module.exports = { anchorId, DirStore, loadLocal, findTargetSync, refresh, findTargetOnline, consistentName };
