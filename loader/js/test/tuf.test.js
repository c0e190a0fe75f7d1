'use strict';
// The TUF client rules, one test per threat (python-tuf semantics; codes from manifests/src/codes.rs).
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const fs = require('fs');
const h = require('./helpers/repo');
const crypto = require('crypto');
const { TrustedSet, pathMatches, checkTargetPath, checkTargetName, checkTarget, parse } = require('../lib/tuf');

function fresh() {
  const repo = new h.Repo(path.join(h.tmpdir(), 'repo'));
  repo.publish({ 'x0x/0.3.1/x0x.linux-x64-gnu.node': { data: Buffer.from('abc') } });
  return repo;
}

function fullUpdate(repo, ts = new TrustedSet(repo.anchor)) {
  ts.updateTimestamp(repo.timestampBytes);
  ts.updateSnapshot(repo.snapshotBytes);
  ts.updateTargets(repo.targetsBytes);
  ts.updateTargets(repo.x0xBytes, 'x0x', 'targets');
  return ts;
}

const code = (c) => (e) => {
  assert.equal(e.code, c, `${e.code}: ${e.message}`);
  return true;
};

test('a valid repository verifies and the delegated target is found', () => {
  const repo = fresh();
  const ts = fullUpdate(repo);
  const gen = ts.walk('x0x/0.3.1/x0x.linux-x64-gnu.node');
  const r = gen.next();
  assert.equal(r.done, true);
  assert.equal(r.value.hashes.sha256, h.sha(Buffer.from('abc')));
  assert.equal(r.value.role, 'x0x');
});

test('walk yields the delegated role it needs before finding the target', () => {
  const repo = fresh();
  const ts = new TrustedSet(repo.anchor);
  ts.updateTimestamp(repo.timestampBytes);
  ts.updateSnapshot(repo.snapshotBytes);
  ts.updateTargets(repo.targetsBytes);
  const gen = ts.walk('x0x/0.3.1/x0x.linux-x64-gnu.node');
  assert.deepEqual(gen.next().value, { role: 'x0x', parent: 'targets' });
  ts.updateTargets(repo.x0xBytes, 'x0x', 'targets');
  assert.equal(gen.next().value.length, 3);
  // Outside the delegated pattern: not found, no role requested.
  assert.equal(new TrustedSet(repo.anchor).walk('other/1/x').next().value.role, 'targets');
});

test('expired timestamp → metadata.expired', () => {
  const repo = fresh();
  repo.expires.timestamp = '2001-01-01T00:00:00Z';
  repo.writeTimestamp();
  assert.throws(() => new TrustedSet(repo.anchor).updateTimestamp(repo.timestampBytes), code('metadata.expired'));
});

test('expired root → metadata.expired before timestamp is accepted', () => {
  const repo = fresh();
  const ts = new TrustedSet(repo.anchor, { now: new Date(Date.now() + 400 * 86400000) });
  assert.throws(() => ts.updateTimestamp(repo.timestampBytes), code('metadata.expired'));
});

test('timestamp signed by the wrong key → metadata.signature_invalid / threshold_not_met', () => {
  const repo = fresh();
  const good = repo.keys.timestamp;
  repo.keys.timestamp = [h.keypair()];
  repo.writeTimestamp();
  repo.keys.timestamp = good;
  // Signed by an unknown key: no authorised signature at all.
  assert.throws(() => new TrustedSet(repo.anchor).updateTimestamp(repo.timestampBytes), code('metadata.threshold_not_met'));
  // Authorised key id, wrong signature bytes.
  const md = JSON.parse(repo.timestampBytes);
  md.signatures = [{ keyid: good[0].keyid, sig: md.signatures[0].sig }];
  assert.throws(() => new TrustedSet(repo.anchor).updateTimestamp(Buffer.from(JSON.stringify(md))), code('metadata.signature_invalid'));
});

test('a duplicated signature never counts twice: the list is refused as malformed (tuf-conformance test_duplicate_sig_keyids)', () => {
  const repo = fresh();
  const md = JSON.parse(repo.rootBytes);
  md.signed.roles.timestamp.threshold = 2;
  // Re-sign root v1 with threshold 2 for timestamp; then a timestamp with the same signature twice.
  const root = h.sign(md.signed, repo.keys.root);
  const ts = JSON.parse(repo.timestampBytes);
  ts.signatures = [ts.signatures[0], ts.signatures[0]];
  const set = new TrustedSet(h.bytes(root));
  assert.throws(() => set.updateTimestamp(Buffer.from(JSON.stringify(ts))), code('metadata.malformed'));
});

test('two key ids for one public key count once', () => {
  const repo = fresh();
  const md = JSON.parse(repo.rootBytes).signed;
  const k = repo.keys.timestamp[0];
  md.keys.aliasid = k.key;
  md.roles.timestamp = { keyids: [k.keyid, 'aliasid'], threshold: 2 };
  const set = new TrustedSet(h.bytes(h.sign(md, repo.keys.root)));
  const ts = JSON.parse(repo.timestampBytes);
  ts.signatures.push({ keyid: 'aliasid', sig: ts.signatures[0].sig });
  assert.throws(() => set.updateTimestamp(Buffer.from(JSON.stringify(ts))), code('metadata.threshold_not_met'));
});

test('timestamp rollback → metadata.rollback; equal version keeps the trusted one', () => {
  const repo = fresh();
  const oldTs = repo.timestampBytes;
  repo.writeTimestamp();
  const newer = parse(repo.timestampBytes, 'timestamp');
  assert.throws(() => new TrustedSet(repo.anchor).updateTimestamp(oldTs, newer), code('metadata.rollback'));
  assert.equal(new TrustedSet(repo.anchor).updateTimestamp(repo.timestampBytes, newer).unchanged, true);
});

test('snapshot rollback of a listed role → metadata.rollback', () => {
  const repo = fresh();
  const oldSnap = parse(repo.snapshotBytes, 'snapshot');
  // New snapshot lists x0x at a lower version than the trusted one.
  repo.writeSnapshot();
  const ts = new TrustedSet(repo.anchor);
  ts.updateTimestamp(repo.timestampBytes);
  const fake = { signed: { ...oldSnap.signed, meta: { ...oldSnap.signed.meta, 'x0x.json': { version: 5 } } } };
  assert.throws(() => ts.updateSnapshot(repo.snapshotBytes, fake), code('metadata.rollback'));
});

test('snapshot bytes differing from the hash timestamp pins → metadata.digest_mismatch / length_mismatch', () => {
  const repo = fresh();
  const ts = new TrustedSet(repo.anchor);
  ts.updateTimestamp(repo.timestampBytes);
  const tampered = Buffer.concat([repo.snapshotBytes, Buffer.from(' ')]);
  assert.throws(() => ts.updateSnapshot(tampered), code('metadata.length_mismatch'));
  const same = Buffer.from(repo.snapshotBytes);
  same[same.length - 2] = 0x20;
  assert.throws(() => ts.updateSnapshot(same), code('metadata.digest_mismatch'));
});

test('targets version differing from snapshot → metadata.version_mismatch', () => {
  const repo = fresh();
  const ts = new TrustedSet(repo.anchor);
  ts.updateTimestamp(repo.timestampBytes);
  ts.updateSnapshot(repo.snapshotBytes);
  repo.versions.targets = 2;
  repo.writeTargets();
  assert.throws(() => ts.updateTargets(repo.targetsBytes), code('metadata.version_mismatch'));
});

test('delegated role signed by the top-level targets key instead of the publisher → rejected', () => {
  const repo = fresh();
  const ts = new TrustedSet(repo.anchor);
  ts.updateTimestamp(repo.timestampBytes);
  ts.updateSnapshot(repo.snapshotBytes);
  ts.updateTargets(repo.targetsBytes);
  const md = JSON.parse(repo.x0xBytes);
  const forged = h.bytes(h.sign(md.signed, repo.keys.targets));
  // Length differs from nothing (snapshot pins only the version), so the signature check decides.
  assert.throws(() => ts.updateTargets(forged, 'x0x', 'targets'), code('metadata.threshold_not_met'));
});

test('root rotation: N+1 must be signed by old and new keys, with exactly version N+1', () => {
  const repo = fresh();
  const anchor = repo.anchor;
  repo.rotateRoot();
  const v2 = repo.rootBytes;
  const ts = new TrustedSet(anchor);
  ts.updateRoot(v2);
  assert.equal(ts.root.signed.version, 2);
  // Signed only by the new key: the old root's threshold is not met.
  const onlyNew = h.bytes(h.sign(JSON.parse(v2).signed, repo.keys.root));
  assert.throws(() => new TrustedSet(anchor).updateRoot(onlyNew), code('metadata.threshold_not_met'));
  // Skipping a version.
  repo.rotateRoot();
  assert.throws(() => new TrustedSet(anchor).updateRoot(repo.rootBytes), (e) => ['metadata.version_mismatch', 'metadata.threshold_not_met'].includes(e.code));
});

test('wrong _type, spec_version, floats, duplicate keys, bad dates are rejected with their codes', () => {
  const repo = fresh();
  assert.throws(() => parse(repo.timestampBytes, 'snapshot'), code('metadata.wrong_type'));
  const md = JSON.parse(repo.timestampBytes);
  md.signed.spec_version = '2.0.0';
  assert.throws(() => parse(JSON.stringify(md), 'timestamp'), code('metadata.spec_version'));
  assert.throws(() => parse(repo.timestampBytes.toString().replace('"version": 1', '"version": 1.5'), 'timestamp'), code('metadata.malformed'));
  assert.throws(() => parse(repo.timestampBytes.toString().replace('"_type"', '"version": 1, "_type"'), 'timestamp'), code('metadata.malformed'));
  md.signed.spec_version = '1.0.31';
  md.signed.expires = '2030-01-01 00:00:00';
  assert.throws(() => parse(JSON.stringify(md), 'timestamp'), code('metadata.malformed'));
});

test('path patterns: * does not cross /', () => {
  assert.equal(pathMatches('x0x/*/*', 'x0x/0.3.1/x0x.linux-x64-gnu.node'), true);
  assert.equal(pathMatches('x0x/*', 'x0x/0.3.1/x0x.linux-x64-gnu.node'), false);
  assert.equal(pathMatches('x0x/0.?.1/*.node', 'x0x/0.3.1/a.node'), true);
  assert.equal(pathMatches('x0x/[0-9]*/*', 'x0x/0.3.1/a'), true);
  assert.equal(pathMatches('x0x/[!0-9]*/*', 'x0x/0.3.1/a'), false);
});

test('target paths: traversal and absolute paths are refused', () => {
  for (const p of ['../x', '/etc/passwd', 'x0x/../../a', 'x0x//a', 'a\\b', 'x0x/./a']) {
    assert.throws(() => checkTargetPath(p), code('target.path_invalid'));
  }
  assert.equal(checkTargetPath('x0x/0.3.1/x0x.linux-x64-gnu.node'), 'x0x/0.3.1/x0x.linux-x64-gnu.node');
});

test('target names: a role may list any safe path (TUF sets no shape); the package shape is checked at use', () => {
  for (const p of ['README.md', 'path/to/a/target_file.txt', 'x0x/not-semver/f.node', 'nonexistent target', '?#%/é', 'a'.repeat(1024)]) {
    assert.equal(checkTargetName(p), p);
    if (p !== 'a'.repeat(1024)) assert.throws(() => checkTargetPath(p), code('target.path_invalid'));
  }
  for (const p of ['', '../x', '/abs', 'a/../b', 'a/./b', '.', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'a\nb', 'a\u007f', 'a'.repeat(1025)]) {
    assert.throws(() => checkTargetName(p), code('target.path_invalid'), JSON.stringify(p));
  }
});

test('a targets role listing a safe non-package path loads; one listing an unsafe path is refused', () => {
  const repo = fresh();
  const ts = fullUpdate(repo);
  // Object keys of parsed metadata are own properties only: a name such as `constructor` is not "listed".
  assert.equal(ts.walk('constructor').next().value, null);
  assert.equal(ts.walk('__proto__').next().value, null);
  const signed = (targets) => {
    const doc = JSON.parse(repo.x0xBytes.toString());
    doc.signed.targets = targets;
    return Buffer.from(JSON.stringify(doc));
  };
  const entry = JSON.parse(repo.x0xBytes.toString()).signed.targets['x0x/0.3.1/x0x.linux-x64-gnu.node'];
  assert.equal(parse(signed({ 'x0x/docs/README.md': entry }), 'targets').signed.targets['x0x/docs/README.md'].length, 3);
  assert.throws(() => parse(signed({ 'x0x/0.3.1/../../etc/passwd': entry }), 'targets'), code('target.path_invalid'));
  assert.throws(() => parse(signed({ 'README.md': { length: 3, hashes: {} } }), 'targets'), code('metadata.malformed'));
  assert.throws(() => parse(signed({ 'README.md': { length: 3, hashes: { sha512: 'AB' } } }), 'targets'), code('metadata.malformed'));
});

test('target hashes: every listed hash is checked; sha512 alone verifies; an unknown algorithm never does', () => {
  const data = Buffer.from('target file contents');
  const sha256 = crypto.createHash('sha256').update(data).digest('hex');
  const sha512 = crypto.createHash('sha512').update(data).digest('hex');
  const info = (hashes) => ({ length: data.length, hashes });
  checkTarget(data, info({ sha512 }), 't');
  checkTarget(data, info({ sha256, sha512 }), 't');
  const flipped = `${sha512[0] === '0' ? '1' : '0'}${sha512.slice(1)}`;
  assert.throws(() => checkTarget(data, info({ sha256, sha512: flipped }), 't'), code('target.digest_mismatch'));
  assert.throws(() => checkTarget(data, info({ sha256, md5: '0'.repeat(32) }), 't'), code('target.digest_mismatch'));
  assert.throws(() => checkTarget(data, info({ 'unknown-hash': sha512 }), 't'), code('target.digest_mismatch'));
  assert.throws(() => checkTarget(data, info({}), 't'), code('target.digest_mismatch'));
  assert.throws(() => checkTarget(Buffer.concat([data, Buffer.from('x')]), info({ sha256 }), 't'), code('target.length_mismatch'));
});

test('terminating delegation stops the search', () => {
  const repo = fresh();
  const ts = fullUpdate(repo);
  const gen = ts.walk('x0x/9.9.9/missing.node');
  const r = gen.next();
  assert.equal(r.done, true);
  assert.equal(r.value, null);
  assert.ok(fs.existsSync(repo.dir));
});
