//! The x0x core, exposed to Node.js through napi-rs: the payload x0x-dist builds for every platform and for WASI.
//!
//! - [`identity`]: ML-DSA-65 (FIPS 204) agent key pairs, agent ids (SHA-256 of the public key), signatures with
//!   an x0x domain-separation context.
//! - [`tasklist`]: `TaskList`, a state-based CRDT whose merge is commutative, associative and idempotent, with a
//!   canonical byte encoding that is identical on every platform.
//! - [`threads`]: parallel work (`signMany`) on native or WASI threads, and the `threading()` probe.
//!
//! Pure Rust, no C dependencies, so one source builds natively for every napi platform and for wasm32-wasip1.
//! Every error has a stable machine code ([`error::CoreError::code`]) that JavaScript sees as `err.code`.
// napi-derive expands `#[napi]` into the FFI glue, which is necessarily `unsafe`; this crate writes none itself.
#![allow(unsafe_code)]
// `#[napi]` functions receive their arguments by value (converted from JavaScript values).
#![allow(clippy::needless_pass_by_value)]

pub mod error;
pub mod identity;
pub mod tasklist;
pub mod threads;

use napi_derive::napi;

/// The version of the core (the crate version), the cheapest call into the addon.
#[napi(js_name = "coreVersion")]
pub fn core_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The cross-platform scenario of `test/scenario.js`, replayed in Rust against `test/vectors.json`: the Rust
/// core, every native build and the WASM build must produce the same digests.
#[cfg(test)]
mod vectors {
    use sha2::{Digest, Sha256};

    use crate::identity::{verify_bytes, AgentId, AgentKeypair};
    use crate::tasklist::TaskListState;

    #[test]
    fn scenario_matches_checked_in_vectors() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../test/vectors.json")).unwrap();
        let kp = AgentKeypair::from_seed_bytes(&[7u8; 32]).unwrap();
        let other = AgentKeypair::from_seed_bytes(&[9u8; 32]).unwrap();
        let message = b"x0x cross-platform vector";
        let sig = kp.sign_bytes(message).unwrap();
        assert!(verify_bytes(kp.public_key_bytes(), message, &sig).unwrap());
        let me = AgentId::of_public_key(kp.public_key_bytes());
        let them = AgentId::of_public_key(other.public_key_bytes());
        let mut list = TaskListState::default();
        list.add("t1", "build every platform").unwrap();
        list.add("t2", "sign the release").unwrap();
        list.add("t3", "publish").unwrap();
        list.claim("t1", me).unwrap();
        list.complete("t1", me).unwrap();
        let mut replica = TaskListState::default();
        replica.add("t2", "sign the release").unwrap();
        replica.claim("t2", them).unwrap();
        list.merge(&replica);
        let hex = |b: &[u8]| hex::encode(Sha256::digest(b));
        assert_eq!(v["publicKeySha256"], hex(kp.public_key_bytes()));
        assert_eq!(v["agentId"], me.to_hex());
        assert_eq!(v["signatureSha256"], hex(&sig));
        assert_eq!(v["taskListSha256"], hex(&list.encode()));
    }
}
