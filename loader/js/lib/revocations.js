'use strict';
// Yanked and revoked releases: the signed `revocations` role (manifests/src/metadata/revocations.rs), written by
// `x0x-dist release yank|revoke`, signed by the root's `snapshot` keys and listed in the snapshot as
// `revocations.json`, so it is reached through the chain the loader already verifies (lib/trust.js refresh
// fetches it with the snapshot).
//
// - revoked: never loaded, even from a warm cache (loader.revoked, naming the reason, the advisory and the
//   version to move to).
// - yanked: the version this install pins still loads, with a one-line warning (release.yanked) naming the
//   reason; the JS loader never picks a version itself (npm did, from the lockfile), the npm view and the Rust
//   loader's `fetch --version RANGE` are where a new install picks one.
//
// When: a warm record carries `checkedAt`; once X0X_DIST_REVOCATION_INTERVAL has passed (lib/hot.js checkDue)
// the warm path steps aside and the resolver checks again: an online refresh of timestamp → snapshot →
// revocations (one small file, cached under its versioned name). If the repository cannot be reached (offline,
// down), the last verified revocations hold until they expire; past that the release is not loaded
// (metadata.expired). The attempt counts as the check either way: at most one per interval.

const fs = require('fs');
const { err } = require('./errors');

const ROLE = 'revocations';
const MAX_BYTES = 4 << 20;

/** Verify `bytes` as the revocations role the snapshot of `ts` lists. Returns the parsed role. */
function verify(ts, bytes, { enforceExpiry = false, now = new Date() } = {}) {
  const { parse, verifySignatures, checkMetaBytes, checkExpiry } = require('./tuf');
  const meta = ts.snapshot && ts.snapshot.signed.meta[`${ROLE}.json`];
  if (!meta) throw err('metadata.missing_role', 'the snapshot lists no revocations.json');
  if (bytes.length > MAX_BYTES) throw err('metadata.too_large', `revocations metadata is ${bytes.length} bytes, over ${MAX_BYTES}`);
  checkMetaBytes(bytes, meta, 'revocations');
  const md = parse(bytes, ROLE);
  const { role, keys } = ts.rootRole('snapshot');
  verifySignatures(md, role, keys, 'revocations');
  if (md.signed.version !== meta.version) {
    throw err('metadata.version_mismatch', `revocations metadata is version ${md.signed.version}, the snapshot pins ${meta.version}`);
  }
  const rel = md.signed.releases;
  if (rel === null || typeof rel !== 'object' || Array.isArray(rel)) throw err('metadata.malformed', 'revocations metadata needs releases');
  for (const [pkg, versions] of Object.entries(rel)) {
    for (const [v, r] of Object.entries(versions || {})) {
      if (!r || (r.state !== 'yanked' && r.state !== 'revoked') || typeof r.reason !== 'string') {
        throw err('metadata.malformed', `revocations metadata: ${pkg} ${v} needs state yanked|revoked and a reason`);
      }
    }
  }
  if (enforceExpiry) checkExpiry(md.signed, now, 'revocations');
  return md;
}

/** The newest revocations role that verifies in the resolver's local sets (cache, package), or null. */
function latest(sets, log = () => {}) {
  let best = null;
  for (const set of sets) {
    const meta = set.ts.snapshot && set.ts.snapshot.signed.meta[`${ROLE}.json`];
    if (!meta || (best && best.signed.version >= meta.version)) continue;
    // lib/trust.js consistentName (not required here: trust.js requires this file).
    const bytes = set.store.get(set.ts.root.signed.consistent_snapshot ? `${meta.version}.${ROLE}.json` : `${ROLE}.json`);
    if (!bytes) continue;
    try {
      best = { ...verify(set.ts, bytes), from: set.name };
    } catch (e) {
      log(`${set.name} revocations rejected: [${e.code}] ${e.message}`);
    }
  }
  return best;
}

function cmpSemver(a, b) {
  const pa = a.split(/[-+]/)[0].split('.').map(Number);
  const pb = b.split(/[-+]/)[0].split('.').map(Number);
  for (let i = 0; i < 3; i += 1) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return (a.includes('-') ? 0 : 1) - (b.includes('-') ? 0 : 1);
}

/** The highest published version of `pkg` in the verified package role(s) of `sets` that is not withdrawn. */
function moveTo(sets, pkg, rev) {
  const withdrawn = (rev && rev.signed.releases[pkg]) || {};
  const versions = new Set();
  for (const set of sets) {
    const role = set.ts.delegated && set.ts.delegated.get(pkg);
    for (const p of Object.keys((role && role.signed.targets) || {})) {
      const [name, v] = p.split('/');
      if (name === pkg && v && !withdrawn[v]) versions.add(v);
    }
  }
  return [...versions].sort(cmpSemver).pop() || null;
}

/** Process-wide: each yank warned about once. */
const WARNED = new Set();

/**
 * The lifecycle check of the resolver `r` before it loads its release (see the module docs). `online`: a
 * worker of this resolution already refreshed the metadata (revocations included). Throws loader.revoked or
 * metadata.expired; returns `{checkedAt, yanked}` for the warm record.
 */
function check(r, online) {
  const now = Date.now();
  let prev = null;
  try {
    prev = JSON.parse(fs.readFileSync(r.recordPath(), 'utf8'));
  } catch {
    prev = null;
  }
  const age = prev && typeof prev.checkedAt === 'number' ? now - prev.checkedAt : -1;
  const due = !(age >= 0 && age < r.cfg.revocationIntervalS * 1000);
  let fresh = online;
  if (online) r._local = null; // a worker of this resolution persisted newer metadata
  if (!fresh && due && r.canFetch()) {
    try {
      r.runWorker(`the revocations of ${r.pkg}`, null, 'revocations');
      fresh = true;
    } catch (e) {
      r.log(`revocations check failed ([${e.code}] ${e.message}); following the last verified revocations`);
    } finally {
      r._local = null;
    }
  }
  const checkedAt = due || fresh ? now : prev.checkedAt;
  const sets = r.localSets();
  const rev = latest(sets, (m) => r.log(m));
  r.log(`revocations: ${rev ? `version ${rev.signed.version} (${rev.from}, expires ${rev.signed.expires})` : 'none'}; ${fresh ? 'checked online now' : due ? 'repository not reached' : `last check ${Math.round(age / 1000)} s ago`}`);
  if (!rev) return { checkedAt };
  if (!fresh && Date.parse(rev.signed.expires) <= now) {
    throw err('metadata.expired', `the last verified revocations (version ${rev.signed.version}) expired at ${rev.signed.expires} and the repository could not be reached to check ${r.pkg} ${r.version}: connect to ${r.cfg.url || r.cfg.bundle || 'the repository'} once (X0X_DIST_URL), or import a newer bundle`);
  }
  const entry = rev.signed.releases[r.pkg] && rev.signed.releases[r.pkg][r.version];
  if (!entry) return { checkedAt };
  // The package's role in every local set (a path no release has: the walk visits them all), for moveTo.
  try {
    r.lookup(`${r.pkg}/${r.version}/${r.pkg}.none`);
  } catch {
    /* what verifies is used */
  }
  const next = moveTo(r.localSets(), r.pkg, rev);
  const move = next ? `move to ${r.pkg}@${next}` : `no other release of ${r.pkg} is available yet`;
  if (entry.state === 'revoked') {
    // The warm record must not outlive the verdict (it would load again until the next check is due).
    try {
      fs.unlinkSync(r.recordPath());
    } catch {
      /* none */
    }
    throw err('loader.revoked', `${r.pkg} ${r.version} is revoked (${entry.reason})${entry.advisory ? `, advisory ${entry.advisory}` : ''}: it is not loaded, even from the cache; ${move} (npm install ${r.pkg}@${next || 'latest'})`, {
      reason: entry.reason,
      advisory: entry.advisory,
      moveTo: next,
      revokedAt: entry.at,
    });
  }
  const key = `${r.pkg}@${r.version}`;
  if (!WARNED.has(key)) {
    WARNED.add(key);
    process.emitWarning(`${r.pkg} ${r.version} is yanked (${entry.reason}); it still loads because this install pins it: ${move}`, { type: 'X0xYankedWarning', code: 'release.yanked' });
  }
  return { checkedAt, yanked: entry.reason, moveTo: next };
}

module.exports = { ROLE, verify, latest, moveTo, check, cmpSemver };
