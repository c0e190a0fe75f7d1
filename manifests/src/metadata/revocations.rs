//! The `revocations` role: yanked and revoked releases, signed by the online snapshot key and listed in the
//! snapshot as `revocations.json` (so the timestamp → snapshot chain pins its version and it is as fresh as the
//! timestamp), `N.revocations.json` under consistent snapshots. Small and cacheable: one entry per withdrawn
//! release, nothing per published one.
//!
//! - `yanked`: a loader never picks the version for a new install, still loads one a lockfile or cache pins
//!   (with a warning naming `reason`).
//! - `revoked`: a loader refuses to load it at all, even from a warm cache; `advisory` says why and where to go.
//!
//! A revoked release stays revoked (a yank of it is refused, `release.revoked`). The role is extra to TUF: TUF
//! clients that do not know it ignore the snapshot entry (python-tuf does), clients that do verify it with the
//! root's `snapshot` keys and threshold.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{check_common, NewRole, Role, RoleChecks, SPEC_VERSION};
use crate::cjson::datetime;
use crate::error::{Error, Result};

/// The role's name (`revocations.json` in the snapshot; no package may take it).
pub const REVOCATIONS_ROLE: &str = "revocations";

/// Whether a release is yanked or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationState {
    /// Not picked for new installs; still loaded where pinned, with a warning.
    Yanked,
    /// Never loaded.
    Revoked,
}

/// One withdrawn release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Yanked or revoked.
    pub state: RevocationState,
    /// Why (one line, shown by loaders).
    pub reason: String,
    /// An advisory URL (revocations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
    /// When it was withdrawn (`YYYY-MM-DDTHH:MM:SSZ`).
    pub at: String,
}

common_fields! {
    /// The `revocations` role (see the module docs).
    pub struct Revocations {
        /// package → version → its revocation.
        pub releases: BTreeMap<String, BTreeMap<String, Revocation>>,
    }
}

impl Role for Revocations {
    const TYPE: &'static str = "revocations";
    const MAX_SIZE: usize = 4 * 1024 * 1024;
    fn expires(&self) -> OffsetDateTime {
        self.expires
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn check(&self) -> Result<()> {
        check_common(&self.type_, &self.spec_version, self.version)?;
        self.check_fields()
    }
}

impl RoleChecks for Revocations {
    fn check_fields(&self) -> Result<()> {
        for (pkg, versions) in &self.releases {
            pkg.parse::<crate::PackageName>()?;
            for (v, r) in versions {
                v.parse::<crate::Version>()?;
                if r.reason.chars().any(char::is_control) || r.reason.len() > 1024 {
                    return Err(Error::malformed(
                        "revocations metadata",
                        format_args!("reason of {pkg} {v} is not one short line"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl NewRole for Revocations {
    fn empty(version: u64, expires: OffsetDateTime) -> Self {
        Revocations {
            type_: Self::TYPE.to_owned(),
            spec_version: SPEC_VERSION.to_owned(),
            version,
            expires: expires
                .replace_nanosecond(0)
                .expect("0 is a valid nanosecond"),
            releases: BTreeMap::new(),
            extra: BTreeMap::<String, Value>::new(),
        }
    }
}

impl Revocations {
    /// The revocation of `package` `version`, if any.
    pub fn get(&self, package: &str, version: &str) -> Option<&Revocation> {
        self.releases.get(package).and_then(|v| v.get(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Signed;

    #[test]
    fn round_trip_and_checks() {
        let key = crate::SigningKey::from_seed(&[3; 32]);
        let mut r = Revocations::empty(1, OffsetDateTime::now_utc() + time::Duration::days(1));
        r.releases.entry("x0x".into()).or_default().insert(
            "1.0.0".into(),
            Revocation {
                state: RevocationState::Revoked,
                reason: "CVE-2026-1".into(),
                advisory: Some("https://example.com/a".into()),
                at: "2026-12-07T00:00:00Z".into(),
            },
        );
        let s = Signed::new(r, &[&key]).unwrap();
        let back = Signed::<Revocations>::from_slice(&s.to_bytes()).unwrap();
        assert_eq!(
            back.signed().get("x0x", "1.0.0").unwrap().state,
            RevocationState::Revoked
        );
        let bad = String::from_utf8(s.to_bytes())
            .unwrap()
            .replace("1.0.0", "one");
        assert!(Signed::<Revocations>::from_slice(bad.as_bytes()).is_err());
    }
}
