//! ed25519 keys, key ids and signatures, in TUF 1.0 / securesystemslib form.
//!
//! A public key is the dict `{"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": <64 hex>}}`;
//! its key id is the lower-case hex SHA-256 of that dict's canonical JSON, exactly as securesystemslib's
//! `compute_default_keyid` (and so python-tuf) computes it. Unknown fields of a key dict are preserved.
//!
//! Key files (written by `x0x-dist keygen` and `init`) are JSON:
//! - public (`FILE.pub`): `{"keyid": ..., "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": <hex>}}`
//! - secret (`FILE`, mode 0600): the same plus `"keyval": {"private": <64 hex: the 32-byte ed25519 seed>}`.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::Signer as _;
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
    /// Hex-encoded 32-byte ed25519 public key.
    pub public: String,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A public key as it appears in root and delegations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKey {
    /// Must be `ed25519`.
    pub keytype: String,
    /// Must be `ed25519`.
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

    /// The ed25519 verifying key (errors on unsupported types/schemes or bad material).
    pub fn ed25519(&self) -> Result<ed25519_dalek::VerifyingKey> {
        if self.keytype != "ed25519" || self.scheme != "ed25519" {
            return Err(Error::KeyInvalid(format!(
                "unsupported key type {:?} / scheme {:?} (only ed25519)",
                self.keytype, self.scheme
            )));
        }
        let raw = hex::decode(&self.keyval.public)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| {
                Error::KeyInvalid("ed25519 public key is not 32 hex-encoded bytes".to_owned())
            })?;
        ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| {
            Error::KeyInvalid("ed25519 public key is not a valid curve point".to_owned())
        })
    }

    /// Verifies `sig_hex` over `msg`. `false` for any malformed signature.
    pub fn verify(&self, msg: &[u8], sig_hex: &str) -> bool {
        let Ok(vk) = self.ed25519() else { return false };
        let Some(sig) = hex::decode(sig_hex)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b).ok())
        else {
            return false;
        };
        vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
            .is_ok()
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

/// An ed25519 signing key with its TUF public key and key id.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
    public: PublicKey,
    keyid: KeyId,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("keyid", &self.keyid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key from its 32-byte seed (the caller supplies randomness: this crate does no I/O).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let inner = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = PublicKey::from_ed25519(&inner.verifying_key());
        let keyid = public
            .key_id()
            .expect("an ed25519 key dict is always canonicalizable");
        SigningKey {
            inner,
            public,
            keyid,
        }
    }

    /// The public key dict.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// The key id.
    pub fn key_id(&self) -> &KeyId {
        &self.keyid
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature {
            keyid: self.keyid.clone(),
            sig: hex::encode(self.inner.sign(msg).to_bytes()),
            extra: BTreeMap::new(),
        }
    }

    /// The secret key file (see the module docs).
    pub fn to_secret_file(&self) -> Vec<u8> {
        let mut v = key_file_value(&self.public, &self.keyid);
        v["keyval"]["private"] = Value::String(hex::encode(self.inner.to_bytes()));
        let mut out = serde_json::to_vec_pretty(&v).expect("JSON value serializes");
        out.push(b'\n');
        out
    }

    /// Parses a secret key file.
    pub fn from_secret_file(bytes: &[u8]) -> Result<Self> {
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
        if public != key.public {
            return Err(Error::KeyFileInvalid(
                "keyval.public does not match keyval.private".to_owned(),
            ));
        }
        Ok(key)
    }
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
    let v = cjson::parse_strict(bytes, 64 * 1024, "key file")
        .map_err(|e| Error::KeyFileInvalid(e.to_string()))?;
    if v.pointer("/keyval/private").is_some() {
        return Err(Error::KeyFileInvalid(
            "this is a secret key file; pass the public key (FILE.pub)".to_owned(),
        ));
    }
    Ok(parse_public_file_value(v)?.0)
}

fn key_file_value(public: &PublicKey, keyid: &KeyId) -> Value {
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
    key.ed25519()
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
        let secret = k.to_secret_file();
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
        let s = k.sign(b"hello");
        assert!(k.public().verify(b"hello", &s.sig));
        assert!(!k.public().verify(b"hellO", &s.sig));
        assert!(!k.public().verify(b"hello", "zz"));
        assert!(!SigningKey::from_seed(&[2; 32])
            .public()
            .verify(b"hello", &s.sig));
    }
}
