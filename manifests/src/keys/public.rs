//! Public keys of every supported type: which `(keytype, scheme)` pairs verify, how their `keyval.public` is
//! parsed, and the signature check. The same table and rules as `loader/js/lib/keys.js`.
//!
//! | keytype | scheme | `keyval.public` | signature (hex of) |
//! |---|---|---|---|
//! | `ed25519` | `ed25519` | 64 hex: the raw 32-byte key | 64 raw bytes (RFC 8032, strict) |
//! | `ecdsa` or `ecdsa-sha2-nistp256` | `ecdsa-sha2-nistp256` | PEM SubjectPublicKeyInfo, P-256, uncompressed point | DER `ECDSA-Sig-Value` over SHA-256 |
//! | `ecdsa` or `ecdsa-sha2-nistp384` | `ecdsa-sha2-nistp384` | PEM SubjectPublicKeyInfo, P-384, uncompressed point | DER `ECDSA-Sig-Value` over SHA-384 |
//! | `rsa` | `rsassa-pss-sha256` | PEM SubjectPublicKeyInfo (rsaEncryption), 2048 to 8192 bits, odd e in 3..2^33 | RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32; as long as the modulus |
//!
//! These are securesystemslib's encodings (`SSlibKey.from_crypto`; the legacy keytypes
//! `ecdsa-sha2-nistp256`/`-nistp384` are accepted as it accepts them). Any other pair is *unsupported*: carried
//! in metadata, never counted toward a threshold. A supported pair whose `keyval.public` does not parse is
//! *malformed*: refused where metadata is parsed (`metadata.key_invalid`).
//!
//! Departure from python-tuf: it verifies RSA-PSS with any salt length (`PSS.AUTO`); we require the digest
//! length, which is what securesystemslib's `CryptoSigner`, cloud KMSs and our own signer produce.

use ring::signature::{self as rs, UnparsedPublicKey};

use super::der;

/// A supported signature algorithm (a `(keytype, scheme)` pair of the table in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `ed25519` / `ed25519`.
    Ed25519,
    /// `ecdsa` / `ecdsa-sha2-nistp256`.
    EcdsaP256,
    /// `ecdsa` / `ecdsa-sha2-nistp384`.
    EcdsaP384,
    /// `rsa` / `rsassa-pss-sha256`.
    RsaPssSha256,
}

impl Algorithm {
    /// The algorithm of a `(keytype, scheme)` pair, `None` when unsupported.
    pub fn from_pair(keytype: &str, scheme: &str) -> Option<Self> {
        match (keytype, scheme) {
            ("ed25519", "ed25519") => Some(Algorithm::Ed25519),
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => Some(Algorithm::EcdsaP256),
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => Some(Algorithm::EcdsaP384),
            ("rsa", "rsassa-pss-sha256") => Some(Algorithm::RsaPssSha256),
            _ => None,
        }
    }
    /// The `keytype` this crate writes (securesystemslib's current one).
    pub fn keytype(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => "ecdsa",
            Algorithm::RsaPssSha256 => "rsa",
        }
    }
    /// The `scheme`.
    pub fn scheme(self) -> &'static str {
        match self {
            Algorithm::Ed25519 => "ed25519",
            Algorithm::EcdsaP256 => "ecdsa-sha2-nistp256",
            Algorithm::EcdsaP384 => "ecdsa-sha2-nistp384",
            Algorithm::RsaPssSha256 => "rsassa-pss-sha256",
        }
    }
}

/// A parsed, supported public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    alg: Algorithm,
    /// ed25519: the 32 raw bytes; ecdsa: the uncompressed point; rsa: the DER RSAPublicKey.
    raw: Vec<u8>,
    /// The modulus length in bytes (rsa), else 0.
    modulus_len: usize,
    /// ed25519: the decompressed key, so a verification does not decompress it again.
    ed25519: Option<ed25519_dalek::VerifyingKey>,
}

/// Why a supported key did not parse.
pub(super) type Malformed = &'static str;

impl VerifyingKey {
    /// Parses `keyval.public` for `alg`.
    pub(super) fn parse(alg: Algorithm, public: &str) -> Result<Self, Malformed> {
        if alg == Algorithm::Ed25519 {
            let raw = hex::decode(public)
                .ok()
                .filter(|b| b.len() == 32)
                .ok_or("ed25519 public key is not 32 hex-encoded bytes")?;
            let arr: [u8; 32] = raw.as_slice().try_into().expect("32 bytes");
            let vk = ed25519_dalek::VerifyingKey::from_bytes(&arr)
                .map_err(|_| "ed25519 public key is not a valid curve point")?;
            return Ok(VerifyingKey {
                alg,
                raw,
                modulus_len: 0,
                ed25519: Some(vk),
            });
        }
        let der = der::pem_decode(public, "PUBLIC KEY")
            .ok_or("public key is not one PEM \"PUBLIC KEY\" block (SubjectPublicKeyInfo)")?;
        let info = der::parse_spki(&der).ok_or("public key is not a DER SubjectPublicKeyInfo")?;
        match alg {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                let (curve, len) = if alg == Algorithm::EcdsaP256 {
                    (der::OID_P256, 65)
                } else {
                    (der::OID_P384, 97)
                };
                if info.alg != der::OID_EC_PUBLIC_KEY
                    || der::only(info.params, der::OID) != Some(curve)
                {
                    return Err("ecdsa public key is not on the curve its scheme names");
                }
                if info.key.len() != len || info.key[0] != 0x04 {
                    return Err("ecdsa public key is not an uncompressed point");
                }
                Ok(VerifyingKey {
                    alg,
                    raw: info.key.to_vec(),
                    modulus_len: 0,
                    ed25519: None,
                })
            }
            Algorithm::RsaPssSha256 => {
                if info.alg != der::OID_RSA || info.params != [der::NULL, 0] {
                    return Err("rsa public key is not an rsaEncryption SubjectPublicKeyInfo");
                }
                let seq = der::only(info.key, der::SEQUENCE).ok_or("rsa public key is not DER")?;
                let mut r = der::Reader::new(seq);
                let (n, e) = (r.unsigned(), r.unsigned());
                let (Some(n), Some(e), true) = (n, e, r.is_empty()) else {
                    return Err("rsa public key is not a DER RSAPublicKey");
                };
                let bits = (n.len() * 8)
                    .saturating_sub(n.first().map_or(8, |b| b.leading_zeros() as usize));
                if !(2048..=8192).contains(&bits) {
                    return Err("rsa modulus must be 2048 to 8192 bits");
                }
                let e_ok = e.len() <= 5
                    && e.last().is_some_and(|b| b & 1 == 1)
                    && e.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)) >= 3
                    && e.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b)) < (1 << 33);
                if !e_ok {
                    return Err("rsa public exponent must be odd, at least 3, below 2^33");
                }
                Ok(VerifyingKey {
                    alg,
                    raw: info.key.to_vec(),
                    modulus_len: n.len(),
                    ed25519: None,
                })
            }
            Algorithm::Ed25519 => unreachable!("handled above"),
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// What identifies the key material (two key ids for one key count once toward a threshold), independent
    /// of hex case or PEM line wrapping.
    pub fn material(&self) -> (Algorithm, &[u8]) {
        (self.alg, &self.raw)
    }

    /// Verifies a raw signature over `msg`.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self.alg {
            Algorithm::Ed25519 => {
                let (Some(vk), Ok(s)) = (self.ed25519.as_ref(), <[u8; 64]>::try_from(sig)) else {
                    return false;
                };
                vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&s))
                    .is_ok()
            }
            Algorithm::EcdsaP256 => UnparsedPublicKey::new(&rs::ECDSA_P256_SHA256_ASN1, &self.raw)
                .verify(msg, sig)
                .is_ok(),
            Algorithm::EcdsaP384 => UnparsedPublicKey::new(&rs::ECDSA_P384_SHA384_ASN1, &self.raw)
                .verify(msg, sig)
                .is_ok(),
            Algorithm::RsaPssSha256 => {
                sig.len() == self.modulus_len
                    && UnparsedPublicKey::new(&rs::RSA_PSS_2048_8192_SHA256, &self.raw)
                        .verify(msg, sig)
                        .is_ok()
            }
        }
    }
}
