'use strict';
// Test fixtures: a real TUF repository (ed25519 keys from node:crypto, canonical JSON, consistent snapshots)
// written to disk the way `x0x-dist serve` lays it out (metadata/N.role.json, targets/<dir>/<sha256>.<file>),
// and an `x0x` package directory around the loader (root.json, metadata/, release.json).

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { canonicalize } = require('../../lib/canonical');

function keypair() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x;
  const key = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: Buffer.from(raw, 'base64url').toString('hex') } };
  const keyid = crypto.createHash('sha256').update(canonicalize(key)).digest('hex');
  return { key, keyid, privateKey };
}

function sign(signed, keys) {
  const data = canonicalize(signed);
  return {
    signatures: keys.map((k) => ({ keyid: k.keyid, sig: crypto.sign(null, data, k.privateKey).toString('hex') })),
    signed,
  };
}

const bytes = (md) => Buffer.from(JSON.stringify(md, null, 1));
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const inDays = (d) => new Date(Date.now() + d * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');

class Repo {
  constructor(dir, opts = {}) {
    this.dir = dir;
    this.keys = { root: [keypair()], targets: [keypair()], snapshot: [keypair()], timestamp: [keypair()], x0x: [keypair()] };
    this.expires = { root: inDays(365), targets: inDays(365), snapshot: inDays(7), timestamp: inDays(1), x0x: inDays(365) };
    this.versions = { root: 1, targets: 1, snapshot: 0, timestamp: 0, x0x: 0 };
    this.targetsX0x = {};
    this.consistent = opts.consistent !== false;
    fs.mkdirSync(path.join(dir, 'metadata'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'targets'), { recursive: true });
    this.writeRoot();
    this.writeTargets();
  }

  rootSigned() {
    const keys = {};
    const roles = {};
    for (const r of ['root', 'targets', 'snapshot', 'timestamp']) {
      for (const k of this.keys[r]) keys[k.keyid] = k.key;
      roles[r] = { keyids: this.keys[r].map((k) => k.keyid), threshold: 1 };
    }
    return {
      _type: 'root',
      spec_version: '1.0.31',
      version: this.versions.root,
      expires: this.expires.root,
      consistent_snapshot: this.consistent,
      keys,
      roles,
    };
  }

  writeRoot(signers = this.keys.root) {
    this.rootBytes = bytes(sign(this.rootSigned(), signers));
    fs.writeFileSync(path.join(this.dir, 'metadata', `${this.versions.root}.root.json`), this.rootBytes);
    if (this.versions.root === 1) this.anchor = this.rootBytes;
  }

  /** Rotate the root: new root keys, signed by old and new. */
  rotateRoot() {
    const old = this.keys.root;
    this.keys.root = [keypair()];
    this.versions.root += 1;
    this.writeRoot([...old, ...this.keys.root]);
  }

  writeTargets() {
    const k = this.keys.x0x[0];
    const signed = {
      _type: 'targets',
      spec_version: '1.0.31',
      version: this.versions.targets,
      expires: this.expires.targets,
      targets: {},
      delegations: {
        keys: { [k.keyid]: k.key },
        roles: [{ name: 'x0x', keyids: [k.keyid], threshold: 1, terminating: true, paths: ['x0x/*/*'] }],
      },
    };
    this.targetsBytes = bytes(sign(signed, this.keys.targets));
    this.write(`${this.versions.targets}.targets.json`, this.targetsBytes);
  }

  write(name, b) {
    fs.writeFileSync(path.join(this.dir, 'metadata', this.consistent ? name : name.replace(/^\d+\./, '')), b);
  }

  /** Add target files (path → Buffer, custom) to the x0x role and publish new x0x/snapshot/timestamp. */
  publish(files) {
    for (const [p, { data, custom }] of Object.entries(files)) {
      const h = sha(data);
      this.targetsX0x[p] = { length: data.length, hashes: { sha256: h }, custom: custom || {} };
      const dir = path.join(this.dir, 'targets', path.dirname(p));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, this.consistent ? `${h}.${path.basename(p)}` : path.basename(p)), data);
    }
    this.versions.x0x += 1;
    const x0x = sign(
      { _type: 'targets', spec_version: '1.0.31', version: this.versions.x0x, expires: this.expires.x0x, targets: this.targetsX0x },
      this.keys.x0x,
    );
    this.x0xBytes = bytes(x0x);
    this.write(`${this.versions.x0x}.x0x.json`, this.x0xBytes);
    this.writeSnapshot();
  }

  writeSnapshot() {
    this.versions.snapshot += 1;
    const snap = sign(
      {
        _type: 'snapshot',
        spec_version: '1.0.31',
        version: this.versions.snapshot,
        expires: this.expires.snapshot,
        meta: { 'targets.json': { version: this.versions.targets }, 'x0x.json': { version: this.versions.x0x } },
      },
      this.keys.snapshot,
    );
    this.snapshotBytes = bytes(snap);
    this.write(`${this.versions.snapshot}.snapshot.json`, this.snapshotBytes);
    this.writeTimestamp();
  }

  writeTimestamp() {
    this.versions.timestamp += 1;
    const ts = sign(
      {
        _type: 'timestamp',
        spec_version: '1.0.31',
        version: this.versions.timestamp,
        expires: this.expires.timestamp,
        meta: {
          'snapshot.json': {
            version: this.versions.snapshot,
            length: this.snapshotBytes.length,
            hashes: { sha256: sha(this.snapshotBytes) },
          },
        },
      },
      this.keys.timestamp,
    );
    this.timestampBytes = bytes(ts);
    fs.writeFileSync(path.join(this.dir, 'metadata', 'timestamp.json'), this.timestampBytes);
  }

  /** Copy the current metadata (all roots, timestamp, current snapshot/targets/x0x) into `dir`. */
  exportMetadata(dir) {
    fs.mkdirSync(dir, { recursive: true });
    const md = path.join(this.dir, 'metadata');
    for (const f of fs.readdirSync(md)) fs.copyFileSync(path.join(md, f), path.join(dir, f));
  }
}

const LOADER = path.join(__dirname, '..', '..');

/**
 * A package directory like the one pack.js assembles, using the loader sources in place (lib/ symlink).
 * @returns {string} the package dir
 */
function makePackage(dir, repo, { version = '0.3.1', embed = true } = {}) {
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(path.join(LOADER, 'lib'), path.join(dir, 'lib'), 'dir');
  fs.copyFileSync(path.join(LOADER, 'index.js'), path.join(dir, 'index.js'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x0x', version, main: 'index.js' }));
  fs.writeFileSync(path.join(dir, 'root.json'), repo.anchor);
  if (embed) repo.exportMetadata(path.join(dir, 'metadata'));
  return dir;
}

// Every directory handed out is removed when the test file's process exits (node --test runs each file in its
// own process); without this each run of the suite left about 90 MB of x0x-js-* in /tmp.
const made = [];
process.on('exit', () => {
  for (const d of made) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort: a directory a test made unreadable stays
    }
  }
});

// A test file stopped from outside (CI's deadline sends SIGTERM to the whole run) cleans up too: exit runs the
// handler above. A process stuck in synchronous code cannot run this; SIGKILL follows for it.
process.once('SIGTERM', () => process.exit(143));

function tmpdir(prefix = 'x0x-js-') {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

module.exports = { keypair, sign, Repo, makePackage, tmpdir, sha, inDays, bytes, LOADER };
