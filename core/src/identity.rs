//! Agent identities: ML-DSA-65 (FIPS 204) key pairs, agent ids and signatures.
//!
//! Invariants:
//! - An agent id is SHA-256 of the encoded ML-DSA-65 public key (1952 bytes); its text form is 64 lowercase hex
//!   digits, and `AgentId.fromString` accepts exactly that (any case) and nothing else.
//! - Every signature is over the message with the FIPS 204 context string [`SIGNATURE_CONTEXT`], so an x0x agent
//!   signature can never be replayed as a signature of another protocol using the same key, and vice versa.
//! - Signing is FIPS 204's deterministic variant: the same key and message give the same 3309 bytes on every
//!   platform (the native and WASM builds are tested to agree byte for byte).

use std::sync::Arc;

use ml_dsa::{
    EncodedSignature, EncodedVerifyingKey, ExpandedSigningKey, MlDsa65, Seed, Signature,
    VerifyingKey,
};
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, Task};
use napi_derive::napi;
use sha2::{Digest, Sha256};

use crate::error::CoreError;

/// FIPS 204 context string bound into every x0x agent signature (domain separation).
pub const SIGNATURE_CONTEXT: &[u8] = b"x0x/agent-signature/v1";
/// Length of an encoded ML-DSA-65 public key.
pub const PUBLIC_KEY_LEN: usize = 1952;
/// Length of an encoded ML-DSA-65 signature.
pub const SIGNATURE_LEN: usize = 3309;
/// Length of a key seed (FIPS 204 ξ).
pub const SEED_LEN: usize = 32;

/// Length in bytes of an ML-DSA-65 public key.
#[napi]
pub const PUBLIC_KEY_LENGTH: u32 = 1952;
/// Length in bytes of an ML-DSA-65 signature.
#[napi]
pub const SIGNATURE_LENGTH: u32 = 3309;

/// The identity of an agent: SHA-256 of its ML-DSA-65 public key.
#[napi]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct AgentId([u8; 32]);

impl AgentId {
    /// The id of a public key.
    pub fn of_public_key(public_key: &[u8]) -> Self {
        Self(Sha256::digest(public_key).into())
    }

    /// Parses 64 hex digits.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let mut out = [0u8; 32];
        if s.len() != 64 || hex::decode_to_slice(s, &mut out).is_err() {
            return Err(CoreError::InvalidAgentId(s.chars().take(80).collect()));
        }
        Ok(Self(out))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[napi]
impl AgentId {
    /// Parses the 64-hex-digit text form; throws `agent_id.invalid` otherwise.
    #[napi(factory, js_name = "fromString")]
    pub fn from_string(s: String) -> napi::Result<Self, String> {
        Ok(Self::parse(&s)?)
    }

    /// The 64 lowercase hex digits.
    #[napi(js_name = "toString")]
    pub fn to_js_string(&self) -> String {
        self.to_hex()
    }

    /// The raw 32 bytes.
    #[napi(js_name = "toBytes")]
    pub fn to_js_bytes(&self) -> Buffer {
        self.0.to_vec().into()
    }

    /// Whether both ids are the same.
    #[napi]
    pub fn equals(&self, other: &AgentId) -> bool {
        self == other
    }
}

/// An ML-DSA-65 key pair: the secret signing key and its public key.
#[napi]
pub struct AgentKeypair {
    seed: [u8; SEED_LEN],
    key: Arc<ExpandedSigningKey<MlDsa65>>,
    public_key: Vec<u8>,
}

impl AgentKeypair {
    /// Deterministic key generation from a 32-byte seed (FIPS 204 ML-DSA.KeyGen_internal).
    pub fn from_seed_bytes(seed: &[u8]) -> Result<Self, CoreError> {
        let seed: [u8; SEED_LEN] = seed
            .try_into()
            .map_err(|_| CoreError::InvalidSeed(seed.len()))?;
        let key = ExpandedSigningKey::<MlDsa65>::from_seed(&Seed::from(seed));
        let public_key = key.verifying_key().encode().to_vec();
        Ok(Self {
            seed,
            key: Arc::new(key),
            public_key,
        })
    }

    /// A new key pair from the platform's random number generator.
    pub fn random() -> Result<Self, CoreError> {
        let mut seed = [0u8; SEED_LEN];
        getrandom::fill(&mut seed).map_err(|e| CoreError::Random(e.to_string()))?;
        Self::from_seed_bytes(&seed)
    }

    /// The encoded public key.
    pub fn public_key_bytes(&self) -> &[u8] {
        &self.public_key
    }

    /// Signs `message` under [`SIGNATURE_CONTEXT`].
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, CoreError> {
        sign_with(&self.key, message)
    }
}

fn sign_with(key: &ExpandedSigningKey<MlDsa65>, message: &[u8]) -> Result<Vec<u8>, CoreError> {
    let sig = key
        .sign_deterministic(message, SIGNATURE_CONTEXT)
        .map_err(|_| CoreError::Sign)?;
    Ok(sig.encode().to_vec())
}

/// Verifies an x0x agent signature; a malformed signature is simply not valid.
pub fn verify_bytes(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<bool, CoreError> {
    let pk = EncodedVerifyingKey::<MlDsa65>::try_from(public_key).map_err(|_| {
        CoreError::InvalidPublicKey {
            expected: PUBLIC_KEY_LEN,
            actual: public_key.len(),
        }
    })?;
    let vk = VerifyingKey::<MlDsa65>::decode(&pk);
    let Ok(sig) = EncodedSignature::<MlDsa65>::try_from(signature) else {
        return Ok(false);
    };
    let Some(sig) = Signature::<MlDsa65>::decode(&sig) else {
        return Ok(false);
    };
    Ok(vk.verify_with_context(message, SIGNATURE_CONTEXT, &sig))
}

#[napi]
impl AgentKeypair {
    /// A new random key pair.
    #[napi(factory)]
    pub fn generate() -> napi::Result<Self, String> {
        Ok(Self::random()?)
    }

    /// The key pair derived from a 32-byte secret seed (deterministic); throws `key.invalid_seed`.
    #[napi(factory, js_name = "fromSeed")]
    pub fn from_seed(seed: Buffer) -> napi::Result<Self, String> {
        Ok(Self::from_seed_bytes(&seed)?)
    }

    /// The 32-byte secret seed this key pair derives from. Secret: store it like a private key.
    #[napi(js_name = "exportSeed")]
    pub fn export_seed(&self) -> Buffer {
        self.seed.to_vec().into()
    }

    /// The encoded ML-DSA-65 public key (1952 bytes).
    #[napi(getter, js_name = "publicKey")]
    pub fn public_key(&self) -> Buffer {
        self.public_key.clone().into()
    }

    /// The agent id: SHA-256 of the public key.
    #[napi(getter, js_name = "agentId")]
    pub fn agent_id(&self) -> AgentId {
        AgentId::of_public_key(&self.public_key)
    }

    /// Signs `message` (3309-byte ML-DSA-65 signature, x0x context string).
    #[napi]
    pub fn sign(&self, message: Buffer) -> napi::Result<Buffer, String> {
        Ok(self.sign_bytes(&message)?.into())
    }

    /// Signs `message` off the JavaScript thread (libuv pool natively, a WASI thread in the wasm32-wasip1-threads
    /// build; deferred on the main thread in wasm32-wasip1).
    #[napi(js_name = "signAsync", ts_return_type = "Promise<Buffer>")]
    pub fn sign_async(&self, message: Buffer) -> AsyncTask<SignTask> {
        AsyncTask::new(SignTask {
            key: Arc::clone(&self.key),
            message: message.to_vec(),
        })
    }
}

#[napi]
impl AgentKeypair {
    /// Signs every message, in parallel on up to `threads` threads (default: the CPUs, 4 under WASI threads;
    /// the calling thread under wasm32-wasip1). Same signatures, in the same order, as `sign` on each.
    #[napi(js_name = "signMany")]
    pub fn sign_many(
        &self,
        messages: Vec<Buffer>,
        threads: Option<u32>,
    ) -> napi::Result<Vec<Buffer>, String> {
        let messages: Arc<Vec<Vec<u8>>> = Arc::new(messages.iter().map(|m| m.to_vec()).collect());
        let key = Arc::clone(&self.key);
        let n = messages.len();
        let sigs = crate::threads::map_parallel(n, threads.map(|t| t as usize), move |i| {
            sign_with(&key, &messages[i])
        })?;
        Ok(sigs
            .into_iter()
            .map(|s| s.map(Buffer::from))
            .collect::<Result<_, _>>()?)
    }
}

/// The work behind `signAsync`.
pub struct SignTask {
    key: Arc<ExpandedSigningKey<MlDsa65>>,
    message: Vec<u8>,
}

impl Task for SignTask {
    type Output = Vec<u8>;
    type JsValue = Buffer;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        Ok(sign_with(&self.key, &self.message)?)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> napi::Result<Self::JsValue> {
        Ok(output.into())
    }
}

/// Verifies `signature` over `message` by `publicKey`; throws `key.invalid_public_key` for a malformed key,
/// returns false for a malformed or wrong signature.
#[napi]
pub fn verify(
    public_key: Buffer,
    message: Buffer,
    signature: Buffer,
) -> napi::Result<bool, String> {
    Ok(verify_bytes(&public_key, &message, &signature)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_roundtrip_and_context_binding() {
        let kp = AgentKeypair::from_seed_bytes(&[7u8; 32]).unwrap();
        assert_eq!(kp.public_key_bytes().len(), PUBLIC_KEY_LEN);
        let sig = kp.sign_bytes(b"hello").unwrap();
        assert_eq!(sig.len(), SIGNATURE_LEN);
        assert!(verify_bytes(kp.public_key_bytes(), b"hello", &sig).unwrap());
        assert!(!verify_bytes(kp.public_key_bytes(), b"hellp", &sig).unwrap());
        // Signed without our context string: must not verify as an x0x signature.
        let foreign = kp.key.sign_deterministic(b"hello", b"").unwrap().encode();
        assert!(!verify_bytes(kp.public_key_bytes(), b"hello", &foreign).unwrap());
        // Truncated signature: invalid, not an error.
        assert!(!verify_bytes(kp.public_key_bytes(), b"hello", &sig[1..]).unwrap());
        let err = verify_bytes(&[0u8; 10], b"hello", &sig).unwrap_err();
        assert_eq!(err.code(), "key.invalid_public_key");
    }

    #[test]
    fn deterministic_keys_and_signatures() {
        let a = AgentKeypair::from_seed_bytes(&[1u8; 32]).unwrap();
        let b = AgentKeypair::from_seed_bytes(&[1u8; 32]).unwrap();
        assert_eq!(a.public_key_bytes(), b.public_key_bytes());
        assert_eq!(a.sign_bytes(b"m").unwrap(), b.sign_bytes(b"m").unwrap());
        let c = AgentKeypair::random().unwrap();
        assert_ne!(a.public_key_bytes(), c.public_key_bytes());
        assert_eq!(
            AgentKeypair::from_seed_bytes(&[0u8; 31])
                .err()
                .unwrap()
                .code(),
            "key.invalid_seed"
        );
    }

    #[test]
    fn agent_id_text_form() {
        let kp = AgentKeypair::from_seed_bytes(&[2u8; 32]).unwrap();
        let id = AgentId::of_public_key(kp.public_key_bytes());
        let hex = id.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex, hex::encode(Sha256::digest(kp.public_key_bytes())));
        assert_eq!(AgentId::parse(&hex).unwrap(), id);
        assert_eq!(AgentId::parse(&hex.to_uppercase()).unwrap(), id);
        for bad in [
            "",
            "zz",
            &hex[1..],
            &format!("{hex}0"),
            &format!("g{}", &hex[1..]),
        ] {
            assert_eq!(
                AgentId::parse(bad).unwrap_err().code(),
                "agent_id.invalid",
                "{bad}"
            );
        }
    }
}
