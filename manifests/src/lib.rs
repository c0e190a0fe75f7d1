//! The signed-metadata model of x0x-dist (no I/O, no async runtime).
//!
//! Will hold: TUF 1.0 roles (root, targets with delegations, snapshot, timestamp), `Signed<T>`, ed25519 keys and
//! key ids, canonical JSON, verification (signatures, thresholds over distinct key ids, versions, expiry), target
//! hashes and lengths, validated newtypes (package name, version, target path, SHA-256), and the platform table
//! shared with the JavaScript loader.
#![deny(missing_docs)]
