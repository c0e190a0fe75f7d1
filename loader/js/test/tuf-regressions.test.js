'use strict';
// Regressions found by the official TUF client conformance suite (theupdateframework/tuf-conformance), one
// test per defect; each failed on the code before the fix:
// - test_cached_role_is_verified_against_current_delegator: a role cached under one delegator was trusted
//   when reached through another (diamond delegations);
// - test_unusual_role_name: a role named `../../../escaped-role` was persisted outside the cache's metadata
//   folder (path.join on the raw name) and requested unquoted;
// - consistent_snapshot false: the second refresh reused the saved snapshot.json and failed for good with
//   metadata.version_mismatch;
// - test_duplicate_sig_keyids: a signature list naming one key id twice was accepted;
// - test_targets_rollback: an online refresh took the snapshot rollback reference from the timestamp it had
//   just saved, found no such snapshot and checked nothing (a targets role going down was accepted).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const h = require('./helpers/repo');
const { TrustedSet, parse, encodeRoleName } = require('../lib/tuf');
const trust = require('../lib/trust');
const { FileRepo } = require('../lib/fetch');

const code = (c) => (e) => {
  assert.equal(e.code, c, `${e.code}: ${e.message}`);
  return true;
};
const far = h.inDays(365);
const targetsMd = (version, targets, delegations) => ({
  _type: 'targets',
  spec_version: '1.0.31',
  version,
  expires: far,
  targets,
  ...(delegations ? { delegations } : {}),
});
const target = (data) => ({ length: data.length, hashes: { sha256: h.sha(Buffer.from(data)) } });
const delegation = (roles) => {
  const keys = {};
  for (const r of roles) keys[r.key.keyid] = r.key.key;
  return {
    keys,
    roles: roles.map((r) => ({ name: r.name, keyids: [r.key.keyid], threshold: 1, terminating: false, paths: r.paths })),
  };
};

/**
 * A consistent-snapshot repository in memory: top-level keys, `targets` built by `build(keys)` into role
 * metadata `{name: {signed, signers}}`, then snapshot and timestamp. Returns the files by repository name and
 * the trust anchor.
 */
function memoryRepo(build) {
  const k = { root: h.keypair(), targets: h.keypair(), snapshot: h.keypair(), timestamp: h.keypair() };
  const keys = {};
  const roles = {};
  for (const r of ['root', 'targets', 'snapshot', 'timestamp']) {
    keys[k[r].keyid] = k[r].key;
    roles[r] = { keyids: [k[r].keyid], threshold: 1 };
  }
  const root = h.bytes(
    h.sign({ _type: 'root', spec_version: '1.0.31', version: 1, expires: far, consistent_snapshot: true, keys, roles }, [k.root]),
  );
  const files = new Map([['1.root.json', root]]);
  const meta = {};
  for (const [name, { signed, signers }] of Object.entries(build(k))) {
    files.set(`1.${encodeRoleName(name)}.json`, h.bytes(h.sign(signed, signers)));
    meta[`${name}.json`] = { version: 1 };
  }
  const snap = h.bytes(h.sign({ _type: 'snapshot', spec_version: '1.0.31', version: 1, expires: far, meta }, [k.snapshot]));
  files.set('1.snapshot.json', snap);
  const ts = {
    _type: 'timestamp',
    spec_version: '1.0.31',
    version: 1,
    expires: far,
    meta: { 'snapshot.json': { version: 1, length: snap.length, hashes: { sha256: h.sha(snap) } } },
  };
  files.set('timestamp.json', h.bytes(h.sign(ts, [k.timestamp])));
  const requested = [];
  const repo = {
    describe: 'memory',
    async getMetadata(name) {
      requested.push(name);
      return files.get(name) || null;
    },
  };
  return { anchor: root, files, repo, requested };
}

/**
 * Diamond: targets → parent-a (a/*) and parent-b (b/*) → both delegate `release`, each to its own key, and
 * `release` is signed by parent-a's release key only; with `oneKey`, both delegate to the same key.
 */
function diamond({ oneKey = false } = {}) {
  const [pa, pb, ra] = [h.keypair(), h.keypair(), h.keypair()];
  const rb = oneKey ? ra : h.keypair();
  return memoryRepo((k) => ({
    targets: {
      signed: targetsMd(1, {}, delegation([
        { name: 'parent-a', key: pa, paths: ['a/*/*'] },
        { name: 'parent-b', key: pb, paths: ['b/*/*'] },
      ])),
      signers: [k.targets],
    },
    'parent-a': { signed: targetsMd(1, {}, delegation([{ name: 'release', key: ra, paths: ['a/*/*'] }])), signers: [pa] },
    'parent-b': { signed: targetsMd(1, {}, delegation([{ name: 'release', key: rb, paths: ['b/*/*'] }])), signers: [pb] },
    // Signed by parent-a's release key only: parent-b's key never signed it.
    release: {
      signed: targetsMd(1, { 'a/1.0.0/good.wasm': target('good'), 'b/1.0.0/evil.wasm': target('evil') }),
      signers: [ra],
    },
  }));
}

async function refreshed(m, dir) {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const persistDir = path.join(dir, 'tuf');
  const ts = await trust.refresh({ repo: m.repo, anchorBytes: m.anchor, persistDir, embeddedDir: null, cacheDir: dir });
  return { ts, persistDir };
}

test('diamond delegation: a role verified under parent-a is verified again when reached through parent-b', async () => {
  const m = diamond();
  const dir = h.tmpdir();
  const { ts, persistDir } = await refreshed(m, dir);
  const find = (p) => trust.findTargetOnline(ts, m.repo, persistDir, null, dir, p);
  assert.equal((await find('a/1.0.0/good.wasm')).role, 'release');
  await assert.rejects(find('b/1.0.0/evil.wasm'), code('metadata.threshold_not_met'));
  // The other order, in a fresh set: through parent-b first fails at once; parent-a still works after.
  const again = await refreshed(m, h.tmpdir());
  await assert.rejects(
    trust.findTargetOnline(again.ts, m.repo, again.persistDir, null, dir, 'b/1.0.0/evil.wasm'),
    code('metadata.threshold_not_met'),
  );
  // And offline, from what was persisted: the same rule.
  const stores = [new trust.DirStore(persistDir)];
  const local = trust.loadLocal(m.anchor, stores, stores[0]);
  assert.equal(local.error, undefined);
  assert.equal(trust.findTargetSync(local.ts, stores, 'a/1.0.0/good.wasm').role, 'release');
  assert.throws(() => trust.findTargetSync(local.ts, stores, 'b/1.0.0/evil.wasm'), code('metadata.threshold_not_met'));
});

test('a role signed for both delegators of a diamond is found through either', () => {
  const m = diamond({ oneKey: true });
  const ts = new TrustedSet(m.anchor);
  ts.updateTimestamp(m.files.get('timestamp.json'));
  ts.updateSnapshot(m.files.get('1.snapshot.json'));
  ts.updateTargets(m.files.get('1.targets.json'));
  const stores = [{ get: (n) => m.files.get(n) || null }];
  for (const p of ['a/1.0.0/good.wasm', 'b/1.0.0/evil.wasm']) assert.equal(trust.findTargetSync(ts, stores, p).role, 'release');
});

test('unusual role names are requested quoted once and persisted inside the metadata folder', async () => {
  for (const name of ['../../../escaped-role', '/delegatedrole', '?', '#', 'caf\u00e9 %2F']) {
    const key = h.keypair();
    const m = memoryRepo((k) => ({
      targets: { signed: targetsMd(1, {}, delegation([{ name, key, paths: ['x0x/*/*'] }])), signers: [k.targets] },
      [name]: { signed: targetsMd(1, { 'x0x/1.0.0/a.wasm': target('a') }), signers: [key] },
    }));
    const dir = h.tmpdir();
    const { ts, persistDir } = await refreshed(m, path.join(dir, 'cache'));
    const found = await trust.findTargetOnline(ts, m.repo, persistDir, null, path.join(dir, 'cache'), 'x0x/1.0.0/a.wasm');
    assert.equal(found.role, name);
    const file = `1.${encodeRoleName(name)}.json`;
    assert.ok(!file.includes('/'), file);
    assert.ok(m.requested.includes(file), `${name}: requested ${m.requested}`);
    assert.ok(fs.existsSync(path.join(persistDir, file)), `${name}: ${file} persisted in ${persistDir}`);
    // Nothing was written anywhere else under the test directory.
    const all = [];
    const walk = (d) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else all.push(p);
      }
    };
    walk(dir);
    for (const p of all) assert.ok(p.startsWith(persistDir + path.sep) || !p.endsWith('.json'), `${name}: stray ${p}`);
  }
  assert.equal(encodeRoleName('../../../escaped-role'), '..%2F..%2F..%2Fescaped-role');
  assert.equal(encodeRoleName('?'), '%3F');
  assert.equal(encodeRoleName('caf\u00e9'), 'caf%C3%A9');
  assert.equal(encodeRoleName('x0x'), 'x0x');
});

test('consistent_snapshot false: every refresh downloads the snapshot and roles that timestamp names', async () => {
  const repo = new h.Repo(path.join(h.tmpdir(), 'repo'), { consistent: false });
  repo.publish({ 'x0x/0.3.1/x0x.wasm32-wasip1.wasm': { data: Buffer.from('one') } });
  const dir = h.tmpdir();
  fs.mkdirSync(path.join(dir, 'tmp'));
  const persistDir = path.join(dir, 'tuf');
  const fileRepo = new FileRepo(repo.dir);
  const run = async (p) => {
    const ts = await trust.refresh({ repo: fileRepo, anchorBytes: repo.anchor, persistDir, embeddedDir: null, cacheDir: dir });
    return trust.findTargetOnline(ts, fileRepo, persistDir, null, dir, p);
  };
  assert.equal((await run('x0x/0.3.1/x0x.wasm32-wasip1.wasm')).length, 3);
  for (let i = 2; i <= 3; i += 1) {
    repo.publish({ [`x0x/0.3.${i}/x0x.wasm32-wasip1.wasm`]: { data: Buffer.from(`v${i}`) } });
    const found = await run(`x0x/0.3.${i}/x0x.wasm32-wasip1.wasm`);
    assert.equal(found.hashes.sha256, h.sha(Buffer.from(`v${i}`)));
    const saved = parse(fs.readFileSync(path.join(persistDir, 'snapshot.json')), 'snapshot');
    assert.equal(saved.signed.version, i);
  }
});

test('a signature list naming one key id twice is metadata.malformed, in every role', () => {
  const repo = new h.Repo(path.join(h.tmpdir(), 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('abc') } });
  const dup = (b) => {
    const doc = JSON.parse(b);
    doc.signatures.push(doc.signatures[0]);
    return Buffer.from(JSON.stringify(doc));
  };
  assert.throws(() => new TrustedSet(dup(repo.anchor)), code('metadata.malformed'));
  const ts = new TrustedSet(repo.anchor);
  assert.throws(() => ts.updateTimestamp(dup(repo.timestampBytes)), code('metadata.malformed'));
  ts.updateTimestamp(repo.timestampBytes);
  // snapshot: hashes are pinned by timestamp, so the parse is reached only with trusted (local) bytes.
  assert.throws(() => ts.updateSnapshot(dup(repo.snapshotBytes), null, { trusted: true }), code('metadata.malformed'));
  assert.throws(() => parse(dup(repo.x0xBytes), 'targets'), (e) => /more than once/.test(e.message) && e.code === 'metadata.malformed');
});

test('test_targets_rollback: the snapshot the local timestamp names is the rollback reference of the next one', async () => {
  const repo = new h.Repo(path.join(h.tmpdir(), 'repo'));
  const file = { 'x0x/0.3.1/x0x.wasm32-wasip1.wasm': { data: Buffer.from('one') } };
  const dir = h.tmpdir();
  fs.mkdirSync(path.join(dir, 'tmp'));
  const persistDir = path.join(dir, 'tuf');
  const fileRepo = new FileRepo(repo.dir);
  const run = () => trust.refresh({ repo: fileRepo, anchorBytes: repo.anchor, persistDir, embeddedDir: null, cacheDir: dir });
  repo.publish(file);
  repo.publish(file); // x0x v2, snapshot v2, timestamp v2
  await run();
  // The repository rolls the x0x role back to version 1 in a new snapshot (v3) under a new timestamp (v3).
  repo.versions.x0x = 0;
  repo.publish(file);
  await assert.rejects(run(), code('metadata.rollback'));
  // Still trusted: timestamp v3 passed, but snapshot v2 stays the reference and v3 was never saved.
  assert.ok(fs.existsSync(path.join(persistDir, '2.snapshot.json')));
  assert.ok(!fs.existsSync(path.join(persistDir, '3.snapshot.json')));
});
