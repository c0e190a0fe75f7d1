//! Every key type against securesystemslib (the fixtures of `tests/data/keys/`, written by
//! `interop/sslib_key_fixtures.py`): from the same PKCS#8 PEM we derive the same public key dict and key id,
//! we verify securesystemslib's signature and refuse it over other bytes, and what we sign verifies.
//! Malformed and unsupported keys fail closed with stable codes.

use std::path::Path;

use serde_json::Value;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::keys::{parse_public_key_file, public_key_file};
use x0x_dist_manifests::{Algorithm, PublicKey, SigningKey};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/keys")
            .join(name),
    )
    .unwrap()
}

fn fixtures() -> (String, Vec<(String, Value)>) {
    let doc: Value = serde_json::from_slice(&data("sslib.json")).unwrap();
    let msg = doc["message"].as_str().unwrap().to_owned();
    let keys = doc["keys"].as_object().unwrap();
    (
        msg,
        keys.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    )
}

#[test]
fn same_dict_key_id_and_signatures_as_securesystemslib() {
    let (msg, keys) = fixtures();
    assert_eq!(keys.len(), 4);
    for (name, want) in keys {
        let key = SigningKey::from_secret_file(&data(&format!("{name}.pem"))).unwrap();
        let dict = serde_json::to_value(key.public()).unwrap();
        assert_eq!(dict, want["public"], "{name}: public key dict");
        assert_eq!(key.key_id().as_str(), want["keyid"], "{name}: key id");
        let public: PublicKey = serde_json::from_value(want["public"].clone()).unwrap();
        let theirs = want["sig"].as_str().unwrap();
        assert!(
            public.verify(msg.as_bytes(), theirs),
            "{name}: securesystemslib's signature"
        );
        assert!(
            !public.verify(b"other bytes", theirs),
            "{name}: signature over other bytes"
        );
        let ours = key.sign(msg.as_bytes()).unwrap();
        assert!(
            public.verify(msg.as_bytes(), &ours.sig),
            "{name}: our signature"
        );
        // Our public key file round-trips; the secret file re-reads as the same key.
        let pubfile = public_key_file(key.public()).unwrap();
        assert_eq!(&parse_public_key_file(&pubfile).unwrap(), key.public());
        let again = SigningKey::from_secret_file(&key.to_secret_file().unwrap()).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        // A secret key file is never accepted as a public one.
        assert_eq!(
            parse_public_key_file(&data(&format!("{name}.pem")))
                .unwrap_err()
                .code(),
            "key.file_invalid"
        );
    }
}

#[test]
fn legacy_ecdsa_keytype_verifies_like_ecdsa() {
    let (msg, keys) = fixtures();
    let p256 = &keys.iter().find(|(n, _)| n == "ecdsa-p256").unwrap().1;
    let mut legacy: PublicKey = serde_json::from_value(p256["public"].clone()).unwrap();
    legacy.keytype = "ecdsa-sha2-nistp256".to_owned();
    assert_eq!(legacy.algorithm(), Some(Algorithm::EcdsaP256));
    assert!(legacy.verify(msg.as_bytes(), p256["sig"].as_str().unwrap()));
    // The curve must match the scheme: a P-256 key under the P-384 scheme is malformed.
    legacy.scheme = "ecdsa-sha2-nistp384".to_owned();
    legacy.keytype = "ecdsa".to_owned();
    assert_eq!(legacy.check().unwrap_err().code(), "metadata.key_invalid");
    assert!(!legacy.verify(msg.as_bytes(), p256["sig"].as_str().unwrap()));
}

#[test]
fn malformed_keys_are_refused_and_unsupported_ones_carried() {
    let (_, keys) = fixtures();
    let rsa: PublicKey = serde_json::from_value(
        keys.iter().find(|(n, _)| n == "rsa-3072").unwrap().1["public"].clone(),
    )
    .unwrap();
    assert!(rsa.check().is_ok());
    let mut bad = rsa.clone();
    bad.keyval.public = bad.keyval.public.replace(
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN RSA PUBLIC KEY-----",
    );
    assert_eq!(bad.check().unwrap_err().code(), "metadata.key_invalid");
    let mut bad = rsa.clone();
    bad.keyval.public = format!("junk\n{}", bad.keyval.public);
    assert_eq!(bad.check().unwrap_err().code(), "metadata.key_invalid");
    // An RSA key under an ecdsa scheme, and a PKCS#1 v1.5 scheme (not supported: carried, never verifies).
    let mut bad = rsa.clone();
    bad.keytype = "ecdsa".to_owned();
    bad.scheme = "ecdsa-sha2-nistp256".to_owned();
    assert_eq!(bad.check().unwrap_err().code(), "metadata.key_invalid");
    let mut unsupported = rsa.clone();
    unsupported.scheme = "rsa-pkcs1v15-sha256".to_owned();
    assert!(unsupported.check().is_ok());
    assert_eq!(
        unsupported.verifying_key().unwrap_err().code(),
        "metadata.key_invalid"
    );
    // Secret files: an encrypted or PKCS#1 PEM is refused with the conversion hint.
    let e = SigningKey::from_secret_file(
        b"-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n",
    )
    .unwrap_err();
    assert_eq!(e.code(), "key.file_invalid");
    assert!(e.to_string().contains("openssl pkcs8"), "{e}");
    let e = SigningKey::from_secret_file(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap_err();
    assert_eq!(e.code(), "key.file_invalid");
}

#[test]
fn ecdsa_signature_encoding_is_der_and_rsa_signature_length_is_the_modulus() {
    let (msg, keys) = fixtures();
    for (name, want) in &keys {
        let public: PublicKey = serde_json::from_value(want["public"].clone()).unwrap();
        let sig = hex::decode(want["sig"].as_str().unwrap()).unwrap();
        match public.algorithm().unwrap() {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                assert_eq!(sig[0], 0x30, "{name}: DER SEQUENCE");
                // The raw r||s form (as JWS writes it) is not accepted.
                assert!(!public.verify(msg.as_bytes(), &hex::encode(raw_r_s(&sig))));
            }
            Algorithm::RsaPssSha256 => {
                assert_eq!(sig.len(), 384, "{name}: 3072-bit modulus");
                let mut padded = vec![0];
                padded.extend_from_slice(&sig);
                assert!(!public.verify(msg.as_bytes(), &hex::encode(&padded)));
            }
            Algorithm::Ed25519 => assert_eq!(sig.len(), 64),
        }
    }
}

/// `r || s` from a DER ECDSA-Sig-Value with short lengths (P-256, P-384), each padded to the largest.
fn raw_r_s(der: &[u8]) -> Vec<u8> {
    let r_len = usize::from(der[3]);
    let r = &der[4..4 + r_len];
    let s = &der[4 + r_len + 2..];
    let strip = |x: &[u8]| {
        x.iter()
            .skip_while(|&&b| b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    let (r, s) = (strip(r), strip(s));
    let n = r.len().max(s.len());
    let mut out = vec![0; n - r.len()];
    out.extend(r);
    out.extend(vec![0; n - s.len()]);
    out.extend(s);
    out
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use x0x_dist_manifests::metadata::RoleKeys;
use x0x_dist_manifests::{Signed, Signer, Timestamp};

/// Stands in for a hardware token: signs through a key it holds, counting calls.
struct Token {
    inner: SigningKey,
    calls: AtomicUsize,
}
impl Signer for Token {
    fn public_key(&self) -> &PublicKey {
        self.inner.public()
    }
    fn sign_bytes(&self, msg: &[u8]) -> x0x_dist_manifests::Result<Vec<u8>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(hex::decode(self.inner.sign(msg)?.sig).unwrap())
    }
}

/// A signer holding a key of a type we cannot verify.
struct Odd(PublicKey);
impl Signer for Odd {
    fn public_key(&self) -> &PublicKey {
        &self.0
    }
    fn sign_bytes(&self, _: &[u8]) -> x0x_dist_manifests::Result<Vec<u8>> {
        Ok(vec![])
    }
}

/// A signer that is not a key file (what a PKCS#11 token or a KMS will be): it slots in wherever a
/// [`SigningKey`] signs, and what it signs verifies under its public key.
#[test]
fn any_signer_slots_in_where_a_key_file_signs() {
    let token = Arc::new(Token {
        inner: SigningKey::from_secret_file(&data("ecdsa-p256.pem")).unwrap(),
        calls: AtomicUsize::new(0),
    });
    let key = SigningKey::from_signer(token.clone()).unwrap();
    assert!(
        key.to_secret_file().is_none(),
        "no secret file for a key held elsewhere"
    );
    let ts: Timestamp = serde_json::from_value(serde_json::json!({
        "_type": "timestamp", "spec_version": "1.0.31", "version": 1, "expires": "2100-01-01T00:00:00Z",
        "meta": {"snapshot.json": {"version": 1}}
    }))
    .unwrap();
    let signed = Signed::new(ts, &[&key]).unwrap();
    assert_eq!(token.calls.load(Ordering::SeqCst), 1);
    let keys = std::iter::once((key.key_id().clone(), key.public().clone())).collect();
    let role = RoleKeys {
        keyids: vec![key.key_id().clone()],
        threshold: 1,
        extra: std::collections::BTreeMap::new(),
    };
    signed.verify("timestamp", &keys, &role).unwrap();
    // A signer whose key type we cannot verify is refused up front.
    let mut odd = key.public().clone();
    odd.scheme = "rsa-pkcs1v15-sha256".to_owned();
    assert_eq!(
        SigningKey::from_signer(Arc::new(Odd(odd)))
            .unwrap_err()
            .code(),
        "metadata.key_invalid"
    );
}

/// Every single-byte corruption of every fixture's SubjectPublicKeyInfo parses to a key or to
/// `metadata.key_invalid`, never a panic (keys come from untrusted metadata), and never verifies the
/// original signature unless the corruption left the key material as it was.
#[test]
fn corrupted_public_keys_fail_closed_without_panicking() {
    use base64::Engine as _;
    let (msg, keys) = fixtures();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (name, want) in keys {
        let public: PublicKey = serde_json::from_value(want["public"].clone()).unwrap();
        if public.algorithm() == Some(Algorithm::Ed25519) {
            continue;
        }
        let body: String = public
            .keyval
            .public
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = b64.decode(body).unwrap();
        let material = public.verifying_key().unwrap();
        for i in 0..der.len() {
            for v in [0x00, 0x80, 0xff, der[i] ^ 0x01] {
                let mut d = der.clone();
                d[i] = v;
                let mut k = public.clone();
                k.keyval.public = format!(
                    "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
                    b64.encode(&d)
                );
                match k.verifying_key() {
                    Ok(vk) => {
                        if vk.material() != material.material() {
                            assert!(
                                !k.verify(msg.as_bytes(), want["sig"].as_str().unwrap()),
                                "{name}: byte {i} = {v:#x} changed the key and still verified"
                            );
                        }
                    }
                    Err(e) => assert_eq!(e.code(), "metadata.key_invalid"),
                }
            }
        }
    }
}
