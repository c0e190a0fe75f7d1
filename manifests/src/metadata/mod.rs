//! TUF 1.0 metadata: the four top-level roles, delegated targets roles, and the signed envelope.
//!
//! Invariants:
//! - A [`Signed<T>`] keeps the parsed `signed` value it was read from and its canonical bytes; signatures are
//!   verified over those bytes, never over a re-serialization of `T`. Unknown fields are preserved (each struct
//!   has a flattened `extra` map) so metadata written by another implementation round-trips.
//! - Parsing checks size (per-role limit), strict JSON (no duplicate keys, no floats), `_type`, `spec_version`
//!   1.x, `version >= 1`, the `expires` format, and for targets roles that every target path is a safe
//!   [`TargetName`](crate::TargetName) (else `target.path_invalid`; the package shape [`crate::TargetPath`] is
//!   checked where a path is used as a package artifact, not here) and every target has a non-empty `hashes`
//!   whose `sha256` / `sha512` values, if present, are lower-case hex of the right length.
//! - Target bytes verify only when the length and every listed hash match; a target listing a hash algorithm
//!   other than sha256 and sha512 never verifies ([`TargetFile::verify`], as python-tuf and go-tuf).
//! - Dates are written `YYYY-MM-DDTHH:MM:SSZ`; `consistent_snapshot` is always written `true` by this crate.
//!
//! Layout, one noun per file: [`Role`] and the keys-and-threshold of a role (`role.rs`); the signed envelope
//! and signature counting (`signed.rs`); each top-level role (`root.rs`, `targets.rs`, `snapshot.rs`,
//! `timestamp.rs`); the snapshot/timestamp entry [`MetaFile`] (`meta_file.rs`); a target entry with its
//! hashing and x0x `custom` fields (`target_file.rs`); delegations and path patterns (`delegation.rs`).

/// The TUF specification version this crate writes.
pub const SPEC_VERSION: &str = "1.0.31";

// The macros come first: a `macro_rules!` is visible only in the modules declared after it.

macro_rules! common_fields {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            /// The role type (`_type`).
            #[serde(rename = "_type")]
            pub type_: String,
            /// The TUF spec version.
            pub spec_version: String,
            /// The metadata version (>= 1).
            pub version: u64,
            /// Expiry (UTC, second precision).
            #[serde(with = "datetime")]
            pub expires: OffsetDateTime,
            $($(#[$fm])* pub $f: $t,)*
            /// Unknown fields, preserved.
            #[serde(flatten)]
            pub extra: BTreeMap<String, Value>,
        }
    };
}

/// `impl Role` for a struct made by `common_fields!`, given its [`RoleType`] (its `_type`) and size limit: the
/// common fields are checked here, then the role's own [`RoleChecks`].
macro_rules! role {
    ($name:ident, $type_:expr, $max_size:expr) => {
        impl Role for $name {
            const TYPE: &'static str = $crate::metadata::RoleType::as_str($type_);
            const MAX_SIZE: usize = $max_size;
            fn expires(&self) -> OffsetDateTime {
                self.expires
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn check_raw(signed: &Value) -> Result<()> {
                <Self as RoleChecks>::check_raw_fields(signed)
            }
            fn check(&self) -> Result<()> {
                check_common(&self.type_, &self.spec_version, self.version)?;
                self.check_fields()
            }
        }
    };
}

macro_rules! new_role {
    ($t:ident, { $($f:ident : $v:expr),* }) => {
        impl NewRole for $t {
            fn empty(version: u64, expires: OffsetDateTime) -> Self {
                $t {
                    type_: <$t as Role>::TYPE.to_owned(),
                    spec_version: SPEC_VERSION.to_owned(),
                    version,
                    expires: expires.replace_nanosecond(0).expect("0 is a valid nanosecond"),
                    $($f: $v,)*
                    extra: BTreeMap::new(),
                }
            }
        }
    };
}

mod commit;
mod delegation;
mod meta_file;
mod revocations;
mod role;
mod root;
mod signed;
mod snapshot;
mod target_file;
mod targets;
mod timestamp;

pub use commit::{sign_snapshot_and_timestamp, SnapshotCommit};
pub use delegation::{path_matches, DelegatedRole, Delegations};
pub use meta_file::MetaFile;
pub use revocations::{Revocation, RevocationState, Revocations, REVOCATIONS_ROLE};
use role::{check_common, check_keys, check_role_keys, RoleChecks};
pub use role::{NewRole, Role, RoleKeys, RoleType};
pub use root::Root;
pub use signed::{verify_signatures, Signed};
pub use snapshot::Snapshot;
pub use target_file::{TargetCustom, TargetFile, TargetHasher, PUBLISHED, TARGET_HASH_ALGORITHMS};
pub use targets::Targets;
pub use timestamp::Timestamp;
