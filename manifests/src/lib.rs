//! The signed-metadata model of x0x-dist: TUF 1.0 metadata, keys, canonical JSON, verification and the
//! platform table. No I/O and no async runtime: callers hand in bytes and the current time.
//!
//! - [`cjson`]: strict parsing (size limit first, duplicate keys rejected) and canonical JSON as
//!   securesystemslib/python-tuf sign it.
//! - [`keys`]: keys of every supported type (ed25519, ECDSA P-256/P-384, RSASSA-PSS-SHA256), key ids (SHA-256
//!   of the canonical key dict), signatures, the [`keys::Signer`] trait, the key file formats.
//! - [`metadata`]: root, targets (with delegations), snapshot, timestamp; [`metadata::Signed`] with the
//!   [`metadata::Role`] trait; [`RoleType`] names the four top-level roles; target `custom` fields.
//! - [`verify`]: the client workflow's trust decisions ([`verify::TrustedSet`]): thresholds over distinct keys,
//!   root rotation, version pinning, rollback and expiry checks, delegation search, target verification.
//! - [`names`]: validated newtypes: [`names::PackageName`], [`names::Version`], [`names::TargetName`] (any
//!   safe target path), [`names::TargetPath`] (a package artifact), [`names::Sha256`]. [`platform`]: the platform table.
//! - [`codes`]: every stable error code of the project; [`Error`] maps to them through [`codes::Coded`].
//!
//! Departures from the TUF specification: only the key types of [`keys::public`] verify (others are carried
//! but never count toward a threshold); RSA-PSS signatures must use a salt as long as the digest; target paths must be safe ([`TargetName`]: no `..`, absolute path, backslash...)
//! and a target verifies only if every hash it lists is sha256 or sha512 and matches; where a path is used as
//! a package artifact it must be `<package>/<version>/<file>` ([`TargetPath`]) with a `sha256` hash;
//! delegation path patterns support `*` and `?` but not `[...]` classes.
#![deny(missing_docs)]

pub mod cjson;
pub mod codes;
mod error;
pub mod keys;
pub mod metadata;
pub mod names;
pub mod platform;
pub mod retry;
pub mod verify;

pub use error::{Error, Result};
pub use keys::{Algorithm, KeyId, PublicKey, Signer, SigningKey};
pub use metadata::{
    Role, RoleType, Root, Signed, Snapshot, TargetCustom, TargetFile, Targets, Timestamp, PUBLISHED,
};
pub use names::{PackageName, Sha256, TargetName, TargetPath, Version};
pub use platform::{Kind, Libc, Platform};
