//! The one error type of this crate. Every variant maps to a stable code from [`crate::codes`].

use crate::codes::{self, Code};

/// Everything that can go wrong while parsing, validating or verifying metadata and targets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not acceptable JSON or does not match the schema.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed (e.g. `timestamp metadata`).
        what: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The input exceeds its size limit; it was not parsed.
    #[error("{what} is {len} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// What was being parsed.
        what: String,
        /// The input length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// `_type` is not the expected role type.
    #[error("expected {expected} metadata, found `_type` {found:?}")]
    WrongType {
        /// The expected type.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// `spec_version` is not 1.x.
    #[error("unsupported spec_version {0:?} (need 1.x)")]
    SpecVersion(String),
    /// A signature by an authorized key failed to verify and the threshold was not met.
    #[error("{role} metadata has an invalid signature by key {keyid} and only {valid} of {threshold} required valid signatures")]
    SignatureInvalid {
        /// The role.
        role: String,
        /// The key whose signature failed.
        keyid: String,
        /// Valid signatures by distinct authorized keys.
        valid: usize,
        /// The threshold.
        threshold: u64,
    },
    /// Not enough distinct authorized keys signed.
    #[error(
        "{role} metadata is signed by {valid} distinct authorized keys, threshold is {threshold}"
    )]
    ThresholdNotMet {
        /// The role.
        role: String,
        /// Valid signatures by distinct authorized keys.
        valid: usize,
        /// The threshold.
        threshold: u64,
    },
    /// The metadata expired.
    #[error("{role} metadata expired at {expires}")]
    Expired {
        /// The role.
        role: String,
        /// Its `expires`, as written.
        expires: String,
    },
    /// A version went backwards.
    #[error("{role} version {new} is lower than the trusted version {trusted}")]
    Rollback {
        /// The role.
        role: String,
        /// The trusted version.
        trusted: u64,
        /// The offered version.
        new: u64,
    },
    /// A version differs from the version its referrer pins.
    #[error("{role} has version {found}, expected {expected}")]
    VersionMismatch {
        /// The role.
        role: String,
        /// The expected version.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// Metadata file hash mismatch against its referrer.
    #[error("{role} metadata SHA-256 is {found}, expected {expected}")]
    MetadataDigestMismatch {
        /// The role.
        role: String,
        /// Expected hex digest.
        expected: String,
        /// Actual hex digest.
        found: String,
    },
    /// Metadata file length mismatch against its referrer.
    #[error("{role} metadata is {found} bytes, expected {expected}")]
    MetadataLengthMismatch {
        /// The role.
        role: String,
        /// Expected length.
        expected: u64,
        /// Actual length.
        found: u64,
    },
    /// A required role is missing.
    #[error("role {0} is missing")]
    MissingRole(String),
    /// A delegation is malformed.
    #[error("invalid delegation: {0}")]
    DelegationInvalid(String),
    /// A key is malformed or unsupported.
    #[error("invalid key: {0}")]
    KeyInvalid(String),
    /// A target's SHA-256 does not match.
    #[error("target {path} has {algorithm} {found}, expected {expected}")]
    DigestMismatch {
        /// The target path.
        path: String,
        /// The hash algorithm (`sha256`, `sha512`).
        algorithm: &'static str,
        /// Expected hex digest.
        expected: String,
        /// Actual hex digest.
        found: String,
    },
    /// A target's metadata lists a hash algorithm we cannot compute: it never verifies.
    #[error("target {path} lists hash algorithm {algorithm:?}, not supported (sha256, sha512): it cannot be verified")]
    HashUnsupported {
        /// The target path.
        path: String,
        /// The algorithm as listed.
        algorithm: String,
    },
    /// A target's length does not match.
    #[error("target {path} is {found} bytes, expected {expected}")]
    LengthMismatch {
        /// The target path.
        path: String,
        /// Expected length.
        expected: u64,
        /// Actual length.
        found: u64,
    },
    /// A target path is invalid or unsafe.
    #[error("invalid target path {path:?}: {reason}")]
    TargetPathInvalid {
        /// The path as given.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// No verified metadata lists the target.
    #[error("target {0} is not listed in verified metadata")]
    TargetNotFound(String),
    /// Unknown platform name, triple or artifact file name.
    #[error("unknown platform {0:?}")]
    PlatformUnknown(String),
    /// Invalid package name.
    #[error("invalid package name {name:?}: {reason}")]
    PackageNameInvalid {
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Invalid semantic version.
    #[error("invalid version {0:?}")]
    VersionInvalid(String, #[source] semver::Error),
    /// Invalid key file.
    #[error("invalid key file: {0}")]
    KeyFileInvalid(String),
    /// A PKCS#11 URI, module, token or key failure (`keys::pkcs11`).
    #[error("PKCS#11: {detail}")]
    Pkcs11 {
        /// What failed.
        failure: Pkcs11Failure,
        /// The details (the URI without its PIN source, the token's return value).
        detail: String,
    },
}

/// What kind of PKCS#11 failure an [`Error::Pkcs11`] is (each has its own code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs11Failure {
    /// The URI is malformed, unsupported or ambiguous.
    UriInvalid,
    /// The URI carries `pin-value`.
    PinValue,
    /// The module cannot be loaded or initialized.
    Module,
    /// No token or key matches.
    NotFound,
    /// The PIN is wrong, locked or missing.
    Pin,
    /// Unsupported key type or mechanism.
    Mechanism,
    /// Any other token failure.
    Failed,
}

impl Error {
    pub(crate) fn malformed(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Error::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

impl codes::Coded for Error {
    /// The stable machine code of this failure (see [`crate::codes`]).
    fn code(&self) -> Code {
        match self {
            Error::Malformed { .. } => Code::MetadataMalformed,
            Error::TooLarge { .. } => Code::MetadataTooLarge,
            Error::WrongType { .. } => Code::MetadataWrongType,
            Error::SpecVersion(_) => Code::MetadataSpecVersion,
            Error::SignatureInvalid { .. } => Code::MetadataSignatureInvalid,
            Error::ThresholdNotMet { .. } => Code::MetadataThresholdNotMet,
            Error::Expired { .. } => Code::MetadataExpired,
            Error::Rollback { .. } => Code::MetadataRollback,
            Error::VersionMismatch { .. } => Code::MetadataVersionMismatch,
            Error::MetadataDigestMismatch { .. } => Code::MetadataDigestMismatch,
            Error::MetadataLengthMismatch { .. } => Code::MetadataLengthMismatch,
            Error::MissingRole(_) => Code::MetadataMissingRole,
            Error::DelegationInvalid(_) => Code::MetadataDelegationInvalid,
            Error::KeyInvalid(_) => Code::MetadataKeyInvalid,
            Error::DigestMismatch { .. } | Error::HashUnsupported { .. } => {
                Code::TargetDigestMismatch
            }
            Error::LengthMismatch { .. } => Code::TargetLengthMismatch,
            Error::TargetPathInvalid { .. } => Code::TargetPathInvalid,
            Error::TargetNotFound(_) => Code::TargetNotFound,
            Error::PlatformUnknown(_) => Code::PlatformUnknown,
            Error::PackageNameInvalid { .. } => Code::PackageNameInvalid,
            Error::VersionInvalid(..) => Code::PackageVersionInvalid,
            Error::KeyFileInvalid(_) => Code::KeyFileInvalid,
            Error::Pkcs11 { failure, .. } => match failure {
                Pkcs11Failure::UriInvalid => Code::KeyHsmUriInvalid,
                Pkcs11Failure::PinValue => Code::KeyHsmPinValue,
                Pkcs11Failure::Module => Code::KeyHsmModule,
                Pkcs11Failure::NotFound => Code::KeyHsmNotFound,
                Pkcs11Failure::Pin => Code::KeyHsmPin,
                Pkcs11Failure::Mechanism => Code::KeyHsmMechanism,
                Pkcs11Failure::Failed => Code::KeyHsmFailed,
            },
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
