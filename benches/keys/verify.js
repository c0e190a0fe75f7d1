'use strict';
// Signature verifications per second of every key type in the JS loader (lib/keys.js: parseKey, cached as the
// TUF walk caches it, then verify with Node's crypto), over the securesystemslib fixture keys and a 1 KiB
// message signed by Node with the same private key. Output: TSV `name  verify_per_s`, one line per type.
// Run: benches/run.sh keys (BENCHMARKS.md, "Signature verification by key type").
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const keys = require('../../loader/js/lib/keys');

const secs = Number(process.argv[2] || 2);
const DIR = path.join(__dirname, '..', '..', 'manifests', 'tests', 'data', 'keys');
const doc = JSON.parse(fs.readFileSync(path.join(DIR, 'sslib.json'), 'utf8'));
const msg = Buffer.alloc(1024, 0x5a);
for (const name of ['ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-3072']) {
  const dict = doc.keys[name].public;
  const priv = crypto.createPrivateKey(fs.readFileSync(path.join(DIR, `${name}.pem`)));
  const pk = keys.parseKey(dict);
  const sig = (
    pk.alg === 'ed25519'
      ? crypto.sign(null, msg, priv)
      : pk.alg === 'rsa-pss-sha256'
        ? crypto.sign('sha256', msg, { key: priv, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : crypto.sign(pk.alg === 'ecdsa-p256' ? 'sha256' : 'sha384', msg, priv)
  ).toString('hex');
  if (!keys.verify(keys.parseKey(dict), msg, sig)) throw new Error(`${name}: does not verify`);
  const start = process.hrtime.bigint();
  let n = 0;
  for (;;) {
    for (let i = 0; i < 16; i++) if (!keys.verify(keys.parseKey(dict), msg, sig)) throw new Error('verify');
    n += 16;
    const el = Number(process.hrtime.bigint() - start) / 1e9;
    if (el >= secs) {
      console.log(`${name}\t${(n / el).toFixed(0)}`);
      break;
    }
  }
}
