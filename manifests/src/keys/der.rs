//! The little DER and PEM the key formats need: reading a SubjectPublicKeyInfo (public keys in metadata) and a
//! PKCS#8 PrivateKeyInfo (secret key files), writing a SubjectPublicKeyInfo. Strict: single-byte tags, definite
//! minimal lengths, nothing trailing; PEM is one block with exactly the expected label and canonical base64.
//! `loader/js/lib/keys.js` implements the same rules, so both clients refuse the same encodings.

use base64::Engine as _;

/// OID 1.2.840.10045.2.1 (id-ecPublicKey), DER content bytes.
pub(super) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// OID 1.2.840.10045.3.1.7 (prime256v1 / P-256).
pub(super) const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// OID 1.3.132.0.34 (secp384r1 / P-384).
pub(super) const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
/// OID 1.2.840.113549.1.1.1 (rsaEncryption).
pub(super) const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// OID 1.3.101.112 (id-Ed25519).
pub(super) const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

pub(super) const SEQUENCE: u8 = 0x30;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;
pub(super) const OCTET_STRING: u8 = 0x04;
pub(super) const NULL: u8 = 0x05;
pub(super) const OID: u8 = 0x06;

/// A cursor over DER bytes.
pub(super) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn new(b: &'a [u8]) -> Self {
        Reader(b)
    }
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The next element's tag and content.
    pub(super) fn any(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        if tag & 0x1f == 0x1f {
            return None; // multi-byte tags: never in these structures
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n || rest[0] == 0 {
                return None; // indefinite, too long, or not minimal
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |a, &b| (a << 8) | usize::from(b));
            if len < 0x80 {
                return None; // long form for a short length: not DER
            }
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let (content, rest) = rest.split_at(len);
        self.0 = rest;
        Some((tag, content))
    }
    /// The next element, which must have `tag`.
    pub(super) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.any()? {
            (t, c) if t == tag => Some(c),
            _ => None,
        }
    }
    /// The next element, a positive minimally encoded INTEGER: its magnitude without leading zeros (never
    /// empty: zero, negative or non-minimal encodings are refused).
    pub(super) fn unsigned(&mut self) -> Option<&'a [u8]> {
        let c = self.expect(INTEGER)?;
        match c {
            [] | [0] => None,
            [b, ..] if b & 0x80 != 0 => None,    // negative
            [0, b, ..] if b & 0x80 == 0 => None, // not minimal
            [0, rest @ ..] => Some(rest),
            _ => Some(c),
        }
    }
}

/// Reads exactly one element with `tag` spanning all of `b`.
pub(super) fn only(b: &[u8], tag: u8) -> Option<&[u8]> {
    let mut r = Reader::new(b);
    let c = r.expect(tag)?;
    r.is_empty().then_some(c)
}

/// One DER element.
pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A SubjectPublicKeyInfo: `SEQUENCE { SEQUENCE { alg, params }, BIT STRING key }`.
pub(super) fn spki(alg: &[u8], params: &[u8], key: &[u8]) -> Vec<u8> {
    let mut a = tlv(OID, alg);
    a.extend_from_slice(params);
    let mut bits = vec![0u8];
    bits.extend_from_slice(key);
    let mut body = tlv(SEQUENCE, &a);
    body.extend_from_slice(&tlv(BIT_STRING, &bits));
    tlv(SEQUENCE, &body)
}

/// A parsed AlgorithmIdentifier + key bytes (SubjectPublicKeyInfo or PrivateKeyInfo).
pub(super) struct KeyInfo<'a> {
    /// The algorithm OID's content bytes.
    pub alg: &'a [u8],
    /// The raw parameters element (tag + length + content), empty when absent.
    pub params: &'a [u8],
    /// The key: the BIT STRING's bits (SPKI) or the OCTET STRING's content (PKCS#8).
    pub key: &'a [u8],
}

fn algorithm<'a>(r: &mut Reader<'a>) -> Option<(&'a [u8], &'a [u8])> {
    let a = r.expect(SEQUENCE)?;
    let mut ar = Reader::new(a);
    let alg = ar.expect(OID)?;
    let params = ar.0;
    if !params.is_empty() {
        ar.any()?;
        if !ar.is_empty() {
            return None;
        }
    }
    Some((alg, params))
}

/// Parses a SubjectPublicKeyInfo.
pub(super) fn parse_spki(der: &[u8]) -> Option<KeyInfo<'_>> {
    let mut r = Reader::new(only(der, SEQUENCE)?);
    let (alg, params) = algorithm(&mut r)?;
    let bits = r.expect(BIT_STRING)?;
    if !r.is_empty() {
        return None;
    }
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then_some(KeyInfo { alg, params, key })
}

/// Parses a PKCS#8 PrivateKeyInfo (version 0 or 1; trailing attributes / public key are tolerated).
pub(super) fn parse_pkcs8(der: &[u8]) -> Option<KeyInfo<'_>> {
    let mut r = Reader::new(only(der, SEQUENCE)?);
    let version = r.expect(INTEGER)?;
    if version != [0] && version != [1] {
        return None;
    }
    let (alg, params) = algorithm(&mut r)?;
    let key = r.expect(OCTET_STRING)?;
    Some(KeyInfo { alg, params, key })
}

/// The DER inside a PEM block labelled `label` (e.g. `PUBLIC KEY`); surrounding whitespace is allowed, any other
/// text is not; the base64 body may be wrapped at any width and must be canonical.
pub(super) fn pem_decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let body = text
        .trim()
        .strip_prefix(&format!("-----BEGIN {label}-----"))?
        .strip_suffix(&format!("-----END {label}-----"))?;
    let b64: String = body
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r' | ' ' | '\t'))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// The label of the first PEM block in `text`, if it starts with one.
pub(super) fn pem_label(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix("-----BEGIN ")?;
    rest.split_once("-----").map(|(l, _)| l)
}

/// A PEM block as pyca/cryptography writes it (64-character lines, trailing newline): the `keyval.public` of
/// an ecdsa or rsa key, so a key id computed here equals securesystemslib's for the same key.
pub(super) fn pem_encode(der: &[u8], label: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_minimal_der() {
        assert_eq!(
            Reader::new(&[0x04, 0x01, 0xaa]).any(),
            Some((4, &[0xaa][..]))
        );
        assert!(Reader::new(&[0x04, 0x81, 0x01, 0xaa]).any().is_none()); // long form for 1
        assert!(Reader::new(&[0x04, 0x80, 0xaa]).any().is_none()); // indefinite
        assert!(Reader::new(&[0x04, 0x02, 0xaa]).any().is_none()); // truncated
        let long = tlv(OCTET_STRING, &[7; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader::new(&long).any().unwrap().1.len(), 300);
    }

    #[test]
    fn integers_are_unsigned_and_minimal() {
        assert_eq!(Reader::new(&[2, 2, 0, 0x80]).unsigned(), Some(&[0x80][..]));
        assert!(Reader::new(&[2, 2, 0, 0x7f]).unsigned().is_none());
        assert!(Reader::new(&[2, 1, 0x80]).unsigned().is_none());
        assert!(Reader::new(&[2, 1, 0]).unsigned().is_none()); // zero: never a modulus or exponent
    }

    #[test]
    fn pem_is_one_canonical_block() {
        let pem = pem_encode(&[1, 2, 3, 4], "PUBLIC KEY");
        assert_eq!(
            pem,
            "-----BEGIN PUBLIC KEY-----\nAQIDBA==\n-----END PUBLIC KEY-----\n"
        );
        assert_eq!(pem_decode(&pem, "PUBLIC KEY"), Some(vec![1, 2, 3, 4]));
        assert!(pem_decode(&pem, "PRIVATE KEY").is_none());
        assert!(pem_decode(&format!("x{pem}"), "PUBLIC KEY").is_none());
        assert!(pem_decode(&pem.replace("BA==", "BB=="), "PUBLIC KEY").is_none()); // non-canonical bits
        assert_eq!(pem_label(&pem), Some("PUBLIC KEY"));
    }
}
