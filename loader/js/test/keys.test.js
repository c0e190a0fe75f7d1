'use strict';
// Every key type against securesystemslib (manifests/tests/data/keys, written by interop/sslib_key_fixtures.py;
// the Rust crate checks the same fixtures in manifests/tests/keys.rs): securesystemslib's signatures verify and
// only over the signed bytes; malformed keys of a supported type are refused (metadata.key_invalid); unsupported
// ones are carried and never verify; the legacy keytype ecdsa-sha2-nistp256 verifies like ecdsa.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const keys = require('../lib/keys');

const DIR = path.join(__dirname, '..', '..', '..', 'manifests', 'tests', 'data', 'keys');
const doc = JSON.parse(fs.readFileSync(path.join(DIR, 'sslib.json'), 'utf8'));
const msg = Buffer.from(doc.message);

test('securesystemslib signatures of every key type verify, over the signed bytes only', () => {
  assert.equal(Object.keys(doc.keys).length, 4);
  for (const [name, k] of Object.entries(doc.keys)) {
    const pk = keys.parseKey(k.public);
    assert.ok(pk, name);
    assert.equal(keys.verify(pk, msg, k.sig), true, `${name}: their signature`);
    assert.equal(keys.verify(pk, Buffer.from('other bytes'), k.sig), false, `${name}: other bytes`);
    assert.equal(keys.verify(pk, msg, k.sig.slice(0, -2)), false, `${name}: truncated`);
    // Node signs with the same PKCS#8 key; we verify it (the encodings of the table in lib/keys.js).
    const priv = crypto.createPrivateKey(fs.readFileSync(path.join(DIR, `${name}.pem`)));
    let sig;
    if (pk.alg === 'ed25519') sig = crypto.sign(null, msg, priv);
    else if (pk.alg === 'rsa-pss-sha256') sig = crypto.sign('sha256', msg, { key: priv, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    else sig = crypto.sign(pk.alg === 'ecdsa-p256' ? 'sha256' : 'sha384', msg, priv);
    assert.equal(keys.verify(pk, msg, sig.toString('hex')), true, `${name}: node's signature`);
    if (pk.alg === 'rsa-pss-sha256') {
      // Any other salt length is refused (python-tuf would accept it: the documented departure).
      const max = crypto.sign('sha256', msg, { key: priv, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_MAX_SIGN });
      assert.equal(keys.verify(pk, msg, max.toString('hex')), false, 'rsa: salt length other than 32');
    }
    if (pk.alg.startsWith('ecdsa')) {
      const raw = crypto.sign(pk.alg === 'ecdsa-p256' ? 'sha256' : 'sha384', msg, { key: priv, dsaEncoding: 'ieee-p1363' });
      assert.equal(keys.verify(pk, msg, raw.toString('hex')), false, `${name}: raw r||s is not DER`);
    }
  }
});

test('the legacy ecdsa keytype verifies; a curve other than the scheme names is malformed', () => {
  const k = doc.keys['ecdsa-p256'];
  const legacy = { ...k.public, keytype: 'ecdsa-sha2-nistp256' };
  assert.equal(keys.verify(keys.parseKey(legacy), msg, k.sig), true);
  assert.throws(() => keys.checkKey({ ...k.public, scheme: 'ecdsa-sha2-nistp384' }), { code: 'metadata.key_invalid' });
});

test('malformed keys are refused, unsupported ones carried', () => {
  const rsa = doc.keys['rsa-3072'].public;
  const pem = rsa.keyval.public;
  for (const bad of [
    pem.replace(/PUBLIC KEY/g, 'RSA PUBLIC KEY'),
    `junk\n${pem}`,
    pem.replace('MII', 'MIJ'),
    pem.replace('\n-----END', 'A\n-----END'),
  ]) {
    assert.throws(() => keys.checkKey({ ...rsa, keyval: { public: bad } }), { code: 'metadata.key_invalid' }, bad.slice(0, 40));
  }
  assert.throws(() => keys.checkKey({ ...rsa, keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256' }), { code: 'metadata.key_invalid' });
  assert.throws(() => keys.checkKey({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'abcd' } }), { code: 'metadata.key_invalid' });
  assert.equal(keys.parseKey({ ...rsa, scheme: 'rsa-pkcs1v15-sha256' }), null);
  keys.checkKey({ ...rsa, scheme: 'rsa-pkcs1v15-sha256' });
  // Line wrapping does not change the key: the same material (two key ids for one key count once).
  const rewrapped = pem.replace(/\n(?!-----)/g, '\r\n');
  assert.equal(keys.parseKey({ ...rsa, keyval: { public: rewrapped } }).material, keys.parseKey(rsa).material);
});

test('every single-byte corruption of a key fails closed: a key, or metadata.key_invalid; never another error', () => {
  for (const [name, k] of Object.entries(doc.keys)) {
    if (k.public.keytype === 'ed25519') continue;
    const der = Buffer.from(k.public.keyval.public.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
    const orig = keys.parseKey(k.public).material;
    for (let i = 0; i < der.length; i++) {
      for (const v of [0x00, 0x80, 0xff, der[i] ^ 1]) {
        const d = Buffer.from(der);
        d[i] = v;
        const dict = { ...k.public, keyval: { public: `-----BEGIN PUBLIC KEY-----\n${d.toString('base64')}\n-----END PUBLIC KEY-----\n` } };
        let pk;
        try {
          pk = keys.parseKey(dict);
        } catch (e) {
          assert.equal(e.code, 'metadata.key_invalid', `${name} byte ${i}=${v}: ${e.message}`);
          continue;
        }
        if (pk.material !== orig) assert.equal(keys.verify(pk, msg, k.sig), false, `${name} byte ${i}=${v} still verifies`);
      }
    }
  }
});
