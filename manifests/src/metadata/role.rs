//! What every role has: the [`Role`] trait, the checks common to all roles, the keys and threshold of a role
//! ([`RoleKeys`], used by root and by delegations), and the names of the four top-level roles ([`RoleType`]).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::keys::{KeyId, PublicKey};

pub use crate::names::RoleType;

/// A TUF role's signed part.
pub trait Role: Serialize + DeserializeOwned + Clone {
    /// The `_type` string.
    const TYPE: &'static str;
    /// Size limit in bytes for a metadata file of this role, checked before parsing.
    const MAX_SIZE: usize;
    /// When it expires.
    fn expires(&self) -> OffsetDateTime;
    /// Its version.
    fn version(&self) -> u64;
    /// Checks on the raw `signed` value before typed deserialization (error codes more precise than
    /// `metadata.malformed`).
    fn check_raw(_signed: &Value) -> Result<()> {
        Ok(())
    }
    /// Semantic checks after deserialization.
    fn check(&self) -> Result<()> {
        Ok(())
    }
}

/// The keys and threshold of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    /// Authorized key ids.
    pub keyids: Vec<KeyId>,
    /// How many distinct authorized keys must sign.
    pub threshold: u64,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl RoleKeys {
    /// Role keys for `keys` with `threshold`.
    pub fn new(keys: &[&PublicKey], threshold: u64) -> Result<Self> {
        Ok(RoleKeys {
            keyids: keys.iter().map(|k| k.key_id()).collect::<Result<_>>()?,
            threshold,
            extra: BTreeMap::new(),
        })
    }
}

/// What a role checks beyond the fields every role has, which [`Role::check`] checks first.
pub(super) trait RoleChecks {
    /// [`Role::check_raw`] for this role.
    fn check_raw_fields(_signed: &Value) -> Result<()> {
        Ok(())
    }
    /// [`Role::check`] for this role, after [`check_common`].
    fn check_fields(&self) -> Result<()>;
}

pub(super) fn check_common(type_: &str, spec_version: &str, version: u64) -> Result<()> {
    let _ = type_;
    let major = spec_version.split('.').next().unwrap_or_default();
    if major != "1" || spec_version.split('.').count() < 2 {
        return Err(Error::SpecVersion(spec_version.chars().take(40).collect()));
    }
    if version == 0 {
        return Err(Error::malformed("metadata", "version must be >= 1"));
    }
    Ok(())
}

pub(super) fn check_keys(keys: &BTreeMap<KeyId, PublicKey>) -> Result<()> {
    // Unsupported key types are tolerated (they can never verify); malformed keys of a supported type are not.
    for k in keys.values() {
        k.check()?;
    }
    Ok(())
}

pub(super) fn check_role_keys(
    name: &str,
    r: &RoleKeys,
    keys: &BTreeMap<KeyId, PublicKey>,
) -> Result<()> {
    if r.threshold == 0 {
        return Err(Error::DelegationInvalid(format!(
            "role {name:?} has threshold 0"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &r.keyids {
        if !seen.insert(id) {
            return Err(Error::DelegationInvalid(format!(
                "role {name:?} lists key {id} twice"
            )));
        }
        if !keys.contains_key(id) {
            return Err(Error::DelegationInvalid(format!(
                "role {name:?} uses unknown key {id}"
            )));
        }
    }
    Ok(())
}

/// A fresh role struct with the common fields filled in.
pub trait NewRole: Sized {
    /// `version` and `expires`, empty body.
    fn empty(version: u64, expires: OffsetDateTime) -> Self;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Coded as _;

    #[test]
    fn role_types_are_the_tuf_names() {
        for (r, s) in RoleType::ALL
            .into_iter()
            .zip(["root", "targets", "snapshot", "timestamp"])
        {
            assert_eq!(r.as_str(), s);
            assert_eq!(r.to_string(), s);
            assert_eq!(s.parse::<RoleType>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), Value::from(s));
            assert_eq!(
                serde_json::from_value::<RoleType>(Value::from(s)).unwrap(),
                r
            );
        }
        for bad in ["Root", "x0x", "", "root.json", "targets "] {
            assert_eq!(
                bad.parse::<RoleType>().unwrap_err().code(),
                "metadata.malformed"
            );
        }
    }
}
