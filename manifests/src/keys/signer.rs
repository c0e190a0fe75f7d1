//! Signing: the [`Signer`] trait (bytes in, signature out, plus the public key dict) and the key-file signer
//! behind [`SigningKey`]. Every place that signs metadata takes a [`SigningKey`]; one built with
//! [`SigningKey::from_signer`] wraps any other [`Signer`] (a PKCS#11 token, a KMS), so such a key slots in
//! wherever a key file is accepted today.
//!
//! Secret key files (the module docs of [`super`] for the public side):
//! - ed25519: the JSON key file (`keyval.private`: the 32-byte seed, hex), as `x0x-dist keygen` always wrote;
//! - every type, ed25519 included: an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as
//!   `openssl genpkey` and pyca/cryptography (`PrivateFormat.PKCS8`) write it.
//!
//! ECDSA and RSA-PSS signatures are randomized (ring draws the nonce or salt from the operating system's
//! randomness): the one thing in this crate that is not a pure function of its inputs.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::Signer as _;
use ring::rand::SystemRandom;
use ring::signature::{self as rs, KeyPair as _};

use super::der;
use super::public::Algorithm;
use super::{KeyId, PublicKey};
use crate::error::{Error, Result};

/// Something that signs: the private key may live anywhere (a file, a token, a service).
pub trait Signer: Send + Sync {
    /// The public key dict of the signing key (what root or a delegation lists).
    fn public_key(&self) -> &PublicKey;
    /// Signs `msg`, returning the raw signature bytes in the encoding of the key's scheme.
    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>>;
}

/// A private key read from a key file.
enum FileKey {
    Ed25519(ed25519_dalek::SigningKey),
    Ecdsa(rs::EcdsaKeyPair),
    Rsa(rs::RsaKeyPair),
}

struct FileSigner {
    key: FileKey,
    public: PublicKey,
    /// The PKCS#8 document the key was read from (ecdsa, rsa: what [`SigningKey::to_secret_file`] writes).
    pkcs8: Vec<u8>,
}

impl Signer for FileSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &self.key {
            FileKey::Ed25519(k) => Ok(k.sign(msg).to_bytes().to_vec()),
            FileKey::Ecdsa(k) => k
                .sign(&rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::KeyInvalid("ecdsa signing failed".to_owned())),
            FileKey::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&rs::RSA_PSS_SHA256, &rng, msg, &mut sig)
                    .map_err(|_| Error::KeyInvalid("rsa signing failed".to_owned()))?;
                Ok(sig)
            }
        }
    }
}

/// A signing key with its TUF public key and key id. Cheap to clone.
#[derive(Clone)]
pub struct SigningKey {
    signer: Arc<dyn Signer>,
    keyid: KeyId,
    /// Set for key-file keys: how to write the key back out.
    file: Option<Arc<FileSigner>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("keyid", &self.keyid)
            .field("scheme", &self.signer.public_key().scheme)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    fn from_file_signer(s: FileSigner) -> Result<Self> {
        let keyid = s.public.key_id()?;
        let s = Arc::new(s);
        Ok(SigningKey {
            signer: s.clone(),
            keyid,
            file: Some(s),
        })
    }

    /// Wraps any [`Signer`] (its public key must be of a supported type).
    pub fn from_signer(signer: Arc<dyn Signer>) -> Result<Self> {
        signer.public_key().verifying_key()?;
        let keyid = signer.public_key().key_id()?;
        Ok(SigningKey {
            signer,
            keyid,
            file: None,
        })
    }

    /// An ed25519 key from its 32-byte seed (the caller supplies randomness).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let inner = ed25519_dalek::SigningKey::from_bytes(seed);
        let public = PublicKey::from_ed25519(&inner.verifying_key());
        SigningKey::from_file_signer(FileSigner {
            key: FileKey::Ed25519(inner),
            public,
            pkcs8: Vec::new(),
        })
        .expect("an ed25519 key dict is always canonicalizable")
    }

    /// A key from an unencrypted PKCS#8 DER document: ed25519, ECDSA P-256 or P-384, or RSA (2048 to 4096
    /// bits; signs `rsassa-pss-sha256`).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::KeyFileInvalid(format!("PKCS#8 private key: {why}"));
        let info = der::parse_pkcs8(der).ok_or_else(|| bad("not a DER PrivateKeyInfo"))?;
        let rng = SystemRandom::new();
        let ecdsa = |alg: Algorithm, signing: &'static rs::EcdsaSigningAlgorithm| {
            let kp = rs::EcdsaKeyPair::from_pkcs8(signing, der, &rng)
                .map_err(|e| bad(&format!("not a valid {} key ({e})", alg.scheme())))?;
            let public = PublicKey::from_spki(alg, &spki_for(alg, kp.public_key().as_ref()));
            Ok::<_, Error>(FileSigner {
                key: FileKey::Ecdsa(kp),
                public,
                pkcs8: der.to_vec(),
            })
        };
        let signer = if info.alg == der::OID_ED25519 {
            let seed = der::only(info.key, der::OCTET_STRING)
                .and_then(|s| <[u8; 32]>::try_from(s).ok())
                .ok_or_else(|| bad("ed25519 key is not a 32-byte seed"))?;
            let k = SigningKey::from_seed(&seed);
            return Ok(k);
        } else if info.alg == der::OID_EC_PUBLIC_KEY {
            match der::only(info.params, der::OID) {
                Some(c) if c == der::OID_P256 => {
                    ecdsa(Algorithm::EcdsaP256, &rs::ECDSA_P256_SHA256_ASN1_SIGNING)?
                }
                Some(c) if c == der::OID_P384 => {
                    ecdsa(Algorithm::EcdsaP384, &rs::ECDSA_P384_SHA384_ASN1_SIGNING)?
                }
                _ => {
                    return Err(bad(
                        "ecdsa key on an unsupported curve (P-256 and P-384 are)",
                    ))
                }
            }
        } else if info.alg == der::OID_RSA {
            let kp = rs::RsaKeyPair::from_pkcs8(der)
                .map_err(|e| bad(&format!("not a usable rsa key ({e}; 2048 to 4096 bits)")))?;
            let public = PublicKey::from_spki(
                Algorithm::RsaPssSha256,
                &spki_for(Algorithm::RsaPssSha256, kp.public().as_ref()),
            );
            FileSigner {
                key: FileKey::Rsa(kp),
                public,
                pkcs8: der.to_vec(),
            }
        } else {
            return Err(bad(
                "unsupported algorithm (ed25519, ecdsa P-256/P-384 and rsa are)",
            ));
        };
        SigningKey::from_file_signer(signer)
    }

    /// The public key dict.
    pub fn public(&self) -> &PublicKey {
        self.signer.public_key()
    }

    /// The key id.
    pub fn key_id(&self) -> &KeyId {
        &self.keyid
    }

    /// The algorithm (`None` only for a [`Self::from_signer`] key whose type this crate cannot verify, which
    /// `from_signer` refuses, so in practice always `Some`).
    pub fn algorithm(&self) -> Option<Algorithm> {
        Algorithm::from_pair(&self.public().keytype, &self.public().scheme)
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<super::Signature> {
        Ok(super::Signature {
            keyid: self.keyid.clone(),
            sig: hex::encode(self.signer.sign_bytes(msg)?),
            extra: std::collections::BTreeMap::new(),
        })
    }

    /// The secret key file: JSON for ed25519 (the historical format), PKCS#8 PEM for the other types. `None`
    /// for a key that is not held in a file ([`Self::from_signer`]).
    pub fn to_secret_file(&self) -> Option<Vec<u8>> {
        let f = self.file.as_ref()?;
        match &f.key {
            FileKey::Ed25519(k) => {
                let mut v = super::key_file_value(&f.public, &self.keyid);
                v["keyval"]["private"] = serde_json::Value::String(hex::encode(k.to_bytes()));
                let mut out = serde_json::to_vec_pretty(&v).expect("JSON value serializes");
                out.push(b'\n');
                Some(out)
            }
            FileKey::Ecdsa(_) | FileKey::Rsa(_) => {
                Some(der::pem_encode(&f.pkcs8, "PRIVATE KEY").into_bytes())
            }
        }
    }

    /// Parses a key file's key material: the ed25519 JSON format or a PKCS#8 PEM of any supported type (the
    /// public entry point, which also takes a PKCS#11 reference, is `SigningKey::from_secret_file` in [`super`]).
    pub(super) fn from_key_material(bytes: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(bytes).ok();
        match text.and_then(der::pem_label) {
            Some("PRIVATE KEY") => {
                let der = der::pem_decode(text.unwrap_or_default(), "PRIVATE KEY").ok_or_else(|| {
                    Error::KeyFileInvalid("not one canonical PEM PRIVATE KEY block".to_owned())
                })?;
                SigningKey::from_pkcs8_der(&der)
            }
            Some(label) => Err(Error::KeyFileInvalid(format!(
                "a PEM {label:?} block: secret keys are unencrypted PKCS#8 (\"PRIVATE KEY\"); convert with \
                 `openssl pkcs8 -topk8 -nocrypt -in FILE`"
            ))),
            None => super::ed25519_from_json_secret(bytes),
        }
    }
}

/// The SubjectPublicKeyInfo of a raw ring public key.
pub(super) fn spki_for(alg: Algorithm, raw: &[u8]) -> Vec<u8> {
    match alg {
        Algorithm::Ed25519 => der::spki(der::OID_ED25519, &[], raw),
        Algorithm::EcdsaP256 => der::spki(
            der::OID_EC_PUBLIC_KEY,
            &der::tlv(der::OID, der::OID_P256),
            raw,
        ),
        Algorithm::EcdsaP384 => der::spki(
            der::OID_EC_PUBLIC_KEY,
            &der::tlv(der::OID, der::OID_P384),
            raw,
        ),
        Algorithm::RsaPssSha256 => der::spki(der::OID_RSA, &[der::NULL, 0], raw),
    }
}
