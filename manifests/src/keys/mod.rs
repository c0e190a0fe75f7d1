//! TUF keys, key ids and signatures, in TUF 1.0 / securesystemslib form, for every supported key type
//! ([`Algorithm`]: ed25519, ECDSA P-256 and P-384, RSASSA-PSS-SHA256; the table is in [`public`]).
//!
//! A public key is the dict `{"keytype", "scheme", "keyval": {"public"}}` (ed25519: 64 hex; ecdsa and rsa: a PEM
//! SubjectPublicKeyInfo); its key id is the lower-case hex SHA-256 of that dict's canonical JSON, exactly as
//! securesystemslib's `compute_default_keyid` (and so python-tuf) computes it. Unknown fields of a key dict are
//! preserved.
//!
//! Key files (written by `x0x-dist keygen` and `init`):
//! - public (`FILE.pub`), every type: JSON, the key dict plus its `"keyid"`;
//! - secret (`FILE`, mode 0600): ed25519 keys in JSON, the public file plus `"keyval": {"private": <64 hex: the
//!   32-byte seed>}`; ecdsa and rsa keys (and ed25519 keys made elsewhere) as unencrypted PKCS#8 PEM
//!   ([`signer`]);
//! - or, a key on a hardware token: a file holding one PKCS#11 URI (`pkcs11:token=…;object=…`, RFC 7512), with
//!   the feature `pkcs11` (`pkcs11`; without it such a file is refused with `key.file_invalid`).

mod der;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod public;
pub mod signer;

pub use public::{Algorithm, VerifyingKey};
pub use signer::{Signer, SigningKey};

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::cjson;
use crate::error::{Error, Result};

/// A key id: 64 lower-case hex characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// Validates a key id string.
    pub fn parse(s: &str) -> Result<Self> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(KeyId(s.to_owned()))
        } else {
            Err(Error::KeyInvalid(format!(
                "key id {s:?} is not 64 lower-case hex characters"
            )))
        }
    }
    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KeyId::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `keyval` of a public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    /// The public key: 64 hex characters (ed25519) or a PEM SubjectPublicKeyInfo (ecdsa, rsa).
    pub public: String,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A public key as it appears in root and delegations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// `ed25519`, `ecdsa`, `rsa`, ... (other values are carried, never verify).
    pub keytype: String,
    /// `ed25519`, `ecdsa-sha2-nistp256`, `ecdsa-sha2-nistp384`, `rsassa-pss-sha256`, ...
    pub scheme: String,
    /// The key material.
    pub keyval: KeyVal,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl PublicKey {
    /// The TUF dict of a raw ed25519 public key.
    pub fn from_ed25519(key: &ed25519_dalek::VerifyingKey) -> Self {
        PublicKey {
            keytype: "ed25519".to_owned(),
            scheme: "ed25519".to_owned(),
            keyval: KeyVal {
                public: hex::encode(key.as_bytes()),
                extra: BTreeMap::new(),
            },
            extra: BTreeMap::new(),
        }
    }

    /// The key id: SHA-256 of the canonical JSON of this key dict.
    pub fn key_id(&self) -> Result<KeyId> {
        let bytes = cjson::canonical(self)?;
        Ok(KeyId(hex::encode(Sha256::digest(bytes))))
    }

    /// The TUF dict of a key of `alg` given as a DER SubjectPublicKeyInfo (ecdsa, rsa: PEM-encoded as
    /// pyca/cryptography writes it, so the key id equals securesystemslib's `SSlibKey.from_crypto`'s).
    pub fn from_spki(alg: Algorithm, spki: &[u8]) -> Self {
        let public = if alg == Algorithm::Ed25519 {
            hex::encode(der::parse_spki(spki).map(|i| i.key).unwrap_or_default())
        } else {
            der::pem_encode(spki, "PUBLIC KEY")
        };
        PublicKey {
            keytype: alg.keytype().to_owned(),
            scheme: alg.scheme().to_owned(),
            keyval: KeyVal {
                public,
                extra: BTreeMap::new(),
            },
            extra: BTreeMap::new(),
        }
    }

    /// The algorithm of this key's `(keytype, scheme)`, `None` when unsupported.
    pub fn algorithm(&self) -> Option<Algorithm> {
        Algorithm::from_pair(&self.keytype, &self.scheme)
    }

    /// The parsed key (`metadata.key_invalid` for an unsupported type or scheme, or bad material).
    pub fn verifying_key(&self) -> Result<VerifyingKey> {
        let alg = self.algorithm().ok_or_else(|| {
            Error::KeyInvalid(format!(
                "unsupported key type {:?} / scheme {:?} (supported: ed25519, ecdsa-sha2-nistp256, \
                 ecdsa-sha2-nistp384, rsassa-pss-sha256)",
                self.keytype.chars().take(40).collect::<String>(),
                self.scheme.chars().take(40).collect::<String>()
            ))
        })?;
        VerifyingKey::parse(alg, &self.keyval.public)
            .map_err(|why| Error::KeyInvalid(why.to_owned()))
    }

    /// Parse-time check of a key listed in metadata: an unsupported type is carried (it never verifies), a
    /// supported one must parse (`metadata.key_invalid`).
    pub fn check(&self) -> Result<()> {
        match self.algorithm() {
            None => Ok(()),
            Some(_) => self.verifying_key().map(|_| ()),
        }
    }

    /// Verifies `sig_hex` over `msg`. `false` for an unsupported or malformed key or signature.
    pub fn verify(&self, msg: &[u8], sig_hex: &str) -> bool {
        let Ok(vk) = self.verifying_key() else {
            return false;
        };
        hex::decode(sig_hex).is_ok_and(|sig| vk.verify(msg, &sig))
    }
}

/// One signature of a metadata envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key's id.
    pub keyid: KeyId,
    /// Hex-encoded signature.
    pub sig: String,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Whether `s` is a PKCS#11 URI (`pkcs11:…`, RFC 7512) rather than a key file path or key material.
pub fn is_pkcs11_uri(s: &str) -> bool {
    s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("pkcs11:"))
}

impl SigningKey {
    /// Parses a secret key file: the ed25519 JSON format or a PKCS#8 PEM of any supported type ([`signer`]), or
    /// a file holding one PKCS#11 URI: a key on a token (feature `pkcs11`: [`pkcs11`]).
    pub fn from_secret_file(bytes: &[u8]) -> Result<Self> {
        let uri = std::str::from_utf8(bytes)
            .ok()
            .map(str::trim)
            .filter(|t| is_pkcs11_uri(t));
        match uri {
            #[cfg(feature = "pkcs11")]
            Some(uri) => SigningKey::from_pkcs11_uri(uri),
            #[cfg(not(feature = "pkcs11"))]
            Some(uri) => Err(Error::KeyFileInvalid(format!(
                "{} names a PKCS#11 key: this build has no PKCS#11 support (feature pkcs11)",
                uri.split('?').next().unwrap_or_default()
            ))),
            None => SigningKey::from_key_material(bytes),
        }
    }
}

/// Parses the ed25519 JSON secret key file (see the module docs).
fn ed25519_from_json_secret(bytes: &[u8]) -> Result<SigningKey> {
    let v = cjson::parse_strict(bytes, 64 * 1024, "key file")
        .map_err(|e| Error::KeyFileInvalid(e.to_string()))?;
    let private = v
        .pointer("/keyval/private")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Error::KeyFileInvalid("no keyval.private: this is not a secret key file".to_owned())
        })?;
    let seed = hex::decode(private)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            Error::KeyFileInvalid("keyval.private is not 32 hex-encoded bytes".to_owned())
        })?;
    let key = SigningKey::from_seed(&seed);
    let (public, _) = parse_public_file_value(v)?;
    if &public != key.public() {
        return Err(Error::KeyFileInvalid(
            "keyval.public does not match keyval.private".to_owned(),
        ));
    }
    Ok(key)
}

/// The public key file of `key` (see the module docs).
pub fn public_key_file(key: &PublicKey) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(&key_file_value(key, &key.key_id()?))
        .expect("JSON value serializes");
    out.push(b'\n');
    Ok(out)
}

/// Parses a public key file (a secret key file is refused: public keys are what gets shared).
pub fn parse_public_key_file(bytes: &[u8]) -> Result<PublicKey> {
    if std::str::from_utf8(bytes)
        .ok()
        .and_then(der::pem_label)
        .is_some()
    {
        return Err(Error::KeyFileInvalid(
            "this is a PEM file (a secret key?); pass the JSON public key file (FILE.pub)"
                .to_owned(),
        ));
    }
    let v = cjson::parse_strict(bytes, 64 * 1024, "key file")
        .map_err(|e| Error::KeyFileInvalid(e.to_string()))?;
    if v.pointer("/keyval/private").is_some() {
        return Err(Error::KeyFileInvalid(
            "this is a secret key file; pass the public key (FILE.pub)".to_owned(),
        ));
    }
    Ok(parse_public_file_value(v)?.0)
}

pub(crate) fn key_file_value(public: &PublicKey, keyid: &KeyId) -> Value {
    let mut v = serde_json::to_value(public).expect("key serializes");
    v["keyid"] = Value::String(keyid.0.clone());
    v
}

fn parse_public_file_value(mut v: Value) -> Result<(PublicKey, KeyId)> {
    let obj = v
        .as_object_mut()
        .ok_or_else(|| Error::KeyFileInvalid("not a JSON object".to_owned()))?;
    let keyid = obj.remove("keyid");
    if let Some(kv) = obj.get_mut("keyval").and_then(Value::as_object_mut) {
        kv.remove("private");
    }
    let key: PublicKey =
        serde_json::from_value(v).map_err(|e| Error::KeyFileInvalid(e.to_string()))?;
    key.verifying_key()
        .map_err(|e| Error::KeyFileInvalid(e.to_string()))?;
    let computed = key.key_id()?;
    if let Some(k) = keyid {
        if k.as_str() != Some(computed.as_str()) {
            return Err(Error::KeyFileInvalid(format!(
                "keyid {k} does not match the key (expected {computed})"
            )));
        }
    }
    Ok((key, computed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Coded as _;

    #[test]
    fn key_id_is_sha256_of_canonical_key_dict() {
        let k = SigningKey::from_seed(&[7; 32]);
        let dict = format!(
            r#"{{"keytype":"ed25519","keyval":{{"public":"{}"}},"scheme":"ed25519"}}"#,
            k.public().keyval.public
        );
        assert_eq!(
            k.key_id().as_str(),
            hex::encode(Sha256::digest(dict.as_bytes()))
        );
    }

    #[test]
    fn key_files_roundtrip_and_refuse_mixups() {
        let k = SigningKey::from_seed(&[9; 32]);
        let secret = k.to_secret_file().unwrap();
        let public = public_key_file(k.public()).unwrap();
        assert_eq!(
            SigningKey::from_secret_file(&secret).unwrap().key_id(),
            k.key_id()
        );
        assert_eq!(&parse_public_key_file(&public).unwrap(), k.public());
        assert_eq!(
            parse_public_key_file(&secret).unwrap_err().code(),
            "key.file_invalid"
        );
        assert_eq!(
            SigningKey::from_secret_file(&public).unwrap_err().code(),
            "key.file_invalid"
        );
        let tampered = String::from_utf8(public)
            .unwrap()
            .replace(k.key_id().as_str(), &"0".repeat(64));
        assert_eq!(
            parse_public_key_file(tampered.as_bytes())
                .unwrap_err()
                .code(),
            "key.file_invalid"
        );
    }

    #[test]
    fn signatures_verify_only_for_the_signed_bytes() {
        let k = SigningKey::from_seed(&[1; 32]);
        let s = k.sign(b"hello").unwrap();
        assert!(k.public().verify(b"hello", &s.sig));
        assert!(!k.public().verify(b"hellO", &s.sig));
        assert!(!k.public().verify(b"hello", "zz"));
        assert!(!SigningKey::from_seed(&[2; 32])
            .public()
            .verify(b"hello", &s.sig));
    }
}
