'use strict';
// The fetch worker: runs in a child process because require() is synchronous and the network is not.
// Input: one JSON argument (see Resolver#runWorker). It runs the TUF workflow against the repository, finds
// the target, and downloads it into the cache under the blob's lock (one download however many processes
// ask at once; the others wait and then find the blob). Output: one JSON line on stdout, {ok, info} or
// {error: {code, message, chain, phase}} (phase 'metadata': the TUF refresh itself failed). Progress goes to stderr only when stderr is a terminal.
// `deadlineAt` (absolute ms): no request, backoff or lock wait runs past it (network.timeout naming the URL);
// the parent kills the process only DEFAULTS.WORKER_GRACE_MS after it.

const fs = require('fs');
const { err } = require('./errors');
const cache = require('./cache');
const { openRepo } = require('./fetch');
const trust = require('./trust');
const { checkTargetPath } = require('./tuf');
const { fileId } = require('./hot');

async function fetchTarget(a, progress = () => {}) {
  if (a.offline && a.url && /^https?:/i.test(a.url) && !a.bundle) {
    throw err('loader.offline', `X0X_DIST_OFFLINE=1: not fetching ${a.targetPath} from ${a.url}`);
  }
  const deadlineAt = a.deadlineAt || Infinity;
  const repo = openRepo({ url: a.url, bundle: a.bundle, timeoutMs: a.timeoutMs, retries: a.retries, deadlineMs: a.deadlineMs, deadlineAt });
  if (!repo) throw err('config.invalid', 'no repository configured (X0X_DIST_URL or X0X_DIST_BUNDLE)');
  if (a.mode !== 'revocations') checkTargetPath(a.targetPath);
  const anchorBytes = fs.readFileSync(a.anchorFile);
  const persistDir = require('path').join(a.cacheDir, 'tuf', trust.anchorId(anchorBytes));
  cache.ensureDirs(a.cacheDir);
  // The operator's expiry policy (docs/air-gapped.md): same variable and meaning as the Rust loader.
  const { freshnessClock, POLICY_VAR } = require('./bundle');
  const clock = freshnessClock(require('./constants').setting(POLICY_VAR));
  if (clock.cutoff && clock.now < new Date()) {
    process.stderr.write(`x0x: warning: ${POLICY_VAR}=${clock.cutoff.toISOString()} is set: metadata that expired after that time is accepted\n`);
  }
  let ts;
  try {
    ts = await trust.refresh({
      repo,
      anchorBytes,
      persistDir,
      embeddedDir: a.embeddedDir,
      cacheDir: a.cacheDir,
      now: clock.now,
    });
  } catch (e) {
    // The repository as a whole failed (unreachable, bad metadata): the parent stops asking it for the
    // other candidates of this resolution.
    if (e && typeof e === 'object') e.phase = 'metadata';
    throw e;
  }
  // The revocations check (lib/revocations.js): the refresh above fetched and verified the role, or failed to.
  if (a.mode === 'revocations') {
    if (ts.revocationsError) throw ts.revocationsError;
    return { ok: true };
  }
  const info = await trust.findTargetOnline(ts, repo, persistDir, a.embeddedDir, a.cacheDir, a.targetPath);
  if (!info) throw err('target.not_found', `no verified metadata in ${repo.describe} lists ${a.targetPath}`);
  const sha = info.hashes && info.hashes.sha256;
  if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) {
    throw err('target.not_found', `${a.targetPath} has no sha256 in its signed metadata`);
  }
  const revocations = ts.revocationsError ? 'failed' : 'ok';
  if (a.mode === 'refresh') return { ok: true, info, revocations };
  const dest = cache.blobPath(a.cacheDir, sha, a.kind);
  const dir = a.targetPath.split('/').slice(0, -1).join('/');
  const base = a.targetPath.split('/').pop();
  const urlPath = ts.root.signed.consistent_snapshot ? `${dir}/${sha}.${base}` : a.targetPath;
  let blobId = null;
  // The lock is waited for at most until this run's deadline: the holder is downloading the same bytes.
  const lockWait = {
    waitMs: Math.max(1, deadlineAt - Date.now()),
    timeoutError: (ms) => err('network.timeout', `waited ${ms} ms for another process's download of ${a.targetPath} from ${repo.describe}, until this fetch's deadline (X0X_DIST_DEADLINE_MS)`),
  };
  const r = await cache.withLock(a.cacheDir, sha, () => fs.existsSync(dest), async () => {
    const tmp = cache.tmpPath(a.cacheDir);
    // Created here (O_EXCL: a new inode of ours) and held open: the identity reported to the parent is this
    // descriptor's after the rename, checked to be what is now at `dest`.
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      progress(`downloading ${a.targetPath} (${info.length} bytes)`);
      // Every listed hash is checked (a sha512 beside the sha256 too; an algorithm we cannot compute fails).
      await repo.getTarget(urlPath, { length: info.length, sha256: sha, hashes: info.hashes, onProgress: progress.bytes }, tmp);
      if (progress.bytes) progress.done();
      cache.publish(tmp, dest);
      const st = fs.fstatSync(fd);
      const at = fs.lstatSync(dest);
      if (st.size === info.length && at.ino === st.ino && at.dev === st.dev) blobId = fileId(st);
    } catch (e) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        /* not created */
      }
      throw e;
    } finally {
      fs.closeSync(fd);
    }
    return 'downloaded';
  }, lockWait);
  const downloaded = r.value === 'downloaded';
  // The identity of the blob this process just verified and published: the parent loads it without
  // re-hashing if it still has that identity (the warm path's rule, docs/loader.md).
  return { ok: true, info, blob: dest, downloaded, blobId: downloaded ? blobId : null, revocations };
}

function chainOf(e) {
  const out = [];
  let cur = e && e.cause;
  for (let i = 0; cur && i < 8; i += 1) {
    out.push(cur.code ? `[${cur.code}] ${cur.message}` : String(cur.message || cur));
    cur = cur.cause;
  }
  return out;
}

if (require.main === module) {
  const a = JSON.parse(process.argv[2]);
  const tty = process.stderr.isTTY;
  const progress = (m) => tty && process.stderr.write(`x0x: ${m}\n`);
  if (tty) {
    // A one-line bar on a terminal (postinstall with foreground scripts, or a cold require in a shell).
    let last = -1;
    progress.bytes = (got, total) => {
      const pct = total ? Math.floor((got * 100) / total) : 100;
      if (pct === last) return;
      last = pct;
      const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
      process.stderr.write(`\rx0x: [${bar}] ${String(pct).padStart(3)}% of ${(total / 1048576).toFixed(1)} MiB`);
    };
    progress.done = () => process.stderr.write('\n');
  }
  // Exit explicitly once the answer is written: a lingering socket must not keep require() waiting.
  fetchTarget(a, progress).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0)),
    (e) => {
      const code = e.code && String(e.code).includes('.') ? e.code : 'internal';
      process.stdout.write(`${JSON.stringify({ error: { code, message: e.message, chain: chainOf(e), phase: e.phase } })}\n`, () => process.exit(1));
    },
  );
}

module.exports = { fetchTarget };
