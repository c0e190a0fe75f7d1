'use strict';
// TUF public keys of every supported type, verified with Node's crypto only. The same table, encodings and
// refusals as the Rust crate (manifests/src/keys/public.rs, which documents them; der.rs for the DER/PEM rules):
//
//   keytype                         scheme               keyval.public                      signature (hex)
//   ed25519                         ed25519              64 hex (raw key)                   64 bytes, RFC 8032
//   ecdsa | ecdsa-sha2-nistp256     ecdsa-sha2-nistp256  PEM SubjectPublicKeyInfo, P-256    DER ECDSA-Sig-Value, SHA-256
//   ecdsa | ecdsa-sha2-nistp384     ecdsa-sha2-nistp384  PEM SubjectPublicKeyInfo, P-384    DER ECDSA-Sig-Value, SHA-384
//   rsa                             rsassa-pss-sha256    PEM SPKI, 2048-8192 bits, odd e    PSS, SHA-256, MGF1, salt 32
//
// Any other (keytype, scheme) is unsupported: carried, never counted. A supported key whose keyval does not parse
// is malformed: `parse` of the metadata refuses it (metadata.key_invalid), as the Rust crate does.

const crypto = require('crypto');
const { err } = require('./errors');

const OID = {
  ec: '2a8648ce3d0201',
  p256: '2a8648ce3d030107',
  p384: '2b81040022',
  rsa: '2a864886f70d010101',
};

/** The algorithm of a (keytype, scheme) pair, or null when unsupported. */
function algorithmOf(key) {
  if (!key || typeof key !== 'object') return null;
  const { keytype: t, scheme: s } = key;
  if (t === 'ed25519' && s === 'ed25519') return 'ed25519';
  if ((t === 'ecdsa' || t === 'ecdsa-sha2-nistp256') && s === 'ecdsa-sha2-nistp256') return 'ecdsa-p256';
  if ((t === 'ecdsa' || t === 'ecdsa-sha2-nistp384') && s === 'ecdsa-sha2-nistp384') return 'ecdsa-p384';
  if (t === 'rsa' && s === 'rsassa-pss-sha256') return 'rsa-pss-sha256';
  return null;
}

// --- DER: single-byte tags, definite minimal lengths (der.rs Reader).
function reader(buf) {
  let pos = 0;
  const r = {
    empty: () => pos === buf.length,
    rest: () => buf.subarray(pos),
    any() {
      if (buf.length - pos < 2) return null;
      const tag = buf[pos];
      if ((tag & 0x1f) === 0x1f) return null;
      const first = buf[pos + 1];
      let p = pos + 2;
      let len;
      if (first < 0x80) len = first;
      else {
        const n = first & 0x7f;
        if (n === 0 || n > 4 || buf.length - p < n || buf[p] === 0) return null;
        len = 0;
        for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
        if (len < 0x80) return null;
        p += n;
      }
      if (buf.length - p < len) return null;
      pos = p + len;
      return { tag, content: buf.subarray(p, p + len) };
    },
    expect(tag) {
      const e = r.any();
      return e && e.tag === tag ? e.content : null;
    },
    unsigned() {
      const c = r.expect(0x02);
      if (!c || c.length === 0 || c[0] & 0x80) return null;
      if (c[0] === 0) return c.length > 1 && c[1] & 0x80 ? c.subarray(1) : null;
      return c;
    },
  };
  return r;
}
function only(buf, tag) {
  const r = reader(buf);
  const c = r.expect(tag);
  return c && r.empty() ? c : null;
}
function parseSpki(der) {
  const seq = only(der, 0x30);
  if (!seq) return null;
  const r = reader(seq);
  const a = r.expect(0x30);
  if (!a) return null;
  const ar = reader(a);
  const alg = ar.expect(0x06);
  if (!alg) return null;
  const params = ar.rest();
  if (params.length && (!ar.any() || !ar.empty())) return null;
  const bits = r.expect(0x03);
  if (!bits || !r.empty() || bits.length < 1 || bits[0] !== 0) return null;
  return { alg: alg.toString('hex'), params, key: bits.subarray(1) };
}

/** The DER of one PEM block labelled `label`, surrounded by whitespace only, canonical base64 (der.rs pem_decode). */
function pemDecode(text, label) {
  if (typeof text !== 'string') return null;
  const t = text.trim();
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  if (!t.startsWith(begin) || !t.endsWith(end) || t.length < begin.length + end.length) return null;
  const b64 = t.slice(begin.length, t.length - end.length).replace(/[\n\r \t]/g, '');
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  const der = Buffer.from(b64, 'base64');
  return der.toString('base64') === b64 ? der : null;
}

const parsedCache = new Map();
/**
 * Parse a key dict: `null` when its (keytype, scheme) is unsupported; throws metadata.key_invalid when it is
 * supported but malformed; else `{alg, material, key, modulusLen}` (`material` identifies the key whatever the
 * hex case or PEM wrapping: two key ids for one key count once).
 */
function parseKey(key) {
  const alg = algorithmOf(key);
  if (!alg) return null;
  const pub = key.keyval && key.keyval.public;
  const cacheKey = `${alg}\n${pub}`;
  const hit = parsedCache.get(cacheKey);
  if (hit) return hit;
  const bad = (why) => err('metadata.key_invalid', `${key.keytype}/${key.scheme} key: ${why}`);
  let out;
  if (alg === 'ed25519') {
    if (typeof pub !== 'string' || !/^[0-9a-fA-F]{64}$/.test(pub)) throw bad('ed25519 public key is not 32 hex-encoded bytes');
    let k;
    try {
      k = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pub, 'hex').toString('base64url') }, format: 'jwk' });
    } catch (e) {
      throw bad('ed25519 public key is not a valid curve point');
    }
    out = { alg, material: `${alg}:${pub.toLowerCase()}`, key: k, modulusLen: 0 };
  } else {
    const der = pemDecode(pub, 'PUBLIC KEY');
    if (!der) throw bad('public key is not one PEM "PUBLIC KEY" block (SubjectPublicKeyInfo)');
    const info = parseSpki(der);
    if (!info) throw bad('public key is not a DER SubjectPublicKeyInfo');
    let modulusLen = 0;
    let raw = info.key;
    if (alg === 'ecdsa-p256' || alg === 'ecdsa-p384') {
      const [curve, len] = alg === 'ecdsa-p256' ? [OID.p256, 65] : [OID.p384, 97];
      const c = only(info.params, 0x06);
      if (info.alg !== OID.ec || !c || c.toString('hex') !== curve) throw bad('ecdsa public key is not on the curve its scheme names');
      if (raw.length !== len || raw[0] !== 0x04) throw bad('ecdsa public key is not an uncompressed point');
    } else {
      if (info.alg !== OID.rsa || info.params.toString('hex') !== '0500') throw bad('rsa public key is not an rsaEncryption SubjectPublicKeyInfo');
      const seq = only(raw, 0x30);
      const r = seq && reader(seq);
      const n = r && r.unsigned();
      const e = n && r.unsigned();
      if (!e || !r.empty()) throw bad('rsa public key is not a DER RSAPublicKey');
      const bits = n.length * 8 - (Math.clz32(n[0]) - 24);
      if (bits < 2048 || bits > 8192) throw bad('rsa modulus must be 2048 to 8192 bits');
      let ev = 0;
      for (const b of e) ev = ev * 256 + b;
      if (e.length > 5 || !(e[e.length - 1] & 1) || ev < 3 || ev >= 2 ** 33) throw bad('rsa public exponent must be odd, at least 3, below 2^33');
      modulusLen = n.length;
      raw = info.key;
    }
    // A point off the curve parses here but is refused by OpenSSL: it then never verifies (as in Rust, where
    // ring checks the point when verifying).
    let k = null;
    try {
      k = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      k = null;
    }
    out = { alg, material: `${alg}:${Buffer.from(raw).toString('hex')}`, key: k, modulusLen };
  }
  if (parsedCache.size > 1024) parsedCache.clear();
  parsedCache.set(cacheKey, out);
  return out;
}

/** Parse-time check of a key listed in metadata (unsupported: fine, carried; supported and malformed: throws). */
function checkKey(key) {
  parseKey(key);
}

/** Verify a hex signature over `data` with a parsed key. Never throws. */
function verify(parsed, data, sigHex) {
  if (!parsed || !parsed.key || typeof sigHex !== 'string' || sigHex.length % 2 || !/^[0-9a-fA-F]*$/.test(sigHex)) return false;
  const sig = Buffer.from(sigHex, 'hex');
  try {
    switch (parsed.alg) {
      case 'ed25519':
        return sig.length === 64 && crypto.verify(null, data, parsed.key, sig);
      case 'ecdsa-p256':
        return crypto.verify('sha256', data, { key: parsed.key, dsaEncoding: 'der' }, sig);
      case 'ecdsa-p384':
        return crypto.verify('sha384', data, { key: parsed.key, dsaEncoding: 'der' }, sig);
      case 'rsa-pss-sha256':
        return (
          sig.length === parsed.modulusLen &&
          crypto.verify(
            'sha256',
            data,
            { key: parsed.key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
            sig,
          )
        );
      default:
        return false;
    }
  } catch {
    return false;
  }
}

module.exports = { algorithmOf, parseKey, checkKey, verify, pemDecode };
