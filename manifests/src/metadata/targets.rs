//! A targets role: the top-level `targets` role or a delegated one (for x0x, one per package).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{
    check_common, check_keys, check_role_keys, Delegations, NewRole, Role, RoleChecks, RoleType,
    TargetFile, SPEC_VERSION,
};
use crate::cjson::datetime;
use crate::error::{Error, Result};
use crate::names::TargetName;

common_fields! {
    /// A targets role (top-level `targets` or a delegated package role).
    pub struct Targets {
        /// Targets by path (any safe TUF target path; package artifacts are `<package>/<version>/<file>`).
        pub targets: BTreeMap<TargetName, TargetFile>,
        /// Delegations to other targets roles.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub delegations: Option<Delegations>,
    }
}

role!(Targets, RoleType::Targets, 16 * 1024 * 1024);

impl RoleChecks for Targets {
    fn check_raw_fields(signed: &Value) -> Result<()> {
        if let Some(t) = signed.get("targets").and_then(Value::as_object) {
            for path in t.keys() {
                path.parse::<TargetName>()?;
            }
        }
        Ok(())
    }
    fn check_fields(&self) -> Result<()> {
        for (path, t) in &self.targets {
            t.check_hashes()
                .map_err(|e| Error::malformed(format!("target {path}"), e))?;
        }
        if let Some(d) = &self.delegations {
            check_keys(&d.keys)?;
            let mut names = std::collections::BTreeSet::new();
            for r in &d.roles {
                if !names.insert(r.name.as_str()) {
                    return Err(Error::DelegationInvalid(format!(
                        "duplicate role name {:?}",
                        r.name
                    )));
                }
                // Any other name is a valid role name (TUF sets no rule; `../x` and `?` included): it
                // becomes a file name or URL only through `verify::encode_role_name`.
                if r.name.parse::<RoleType>().is_ok() || r.name.is_empty() || r.name.len() > 128 {
                    return Err(Error::DelegationInvalid(format!(
                        "invalid role name {:?}",
                        r.name
                    )));
                }
                if r.paths.is_some() == r.path_hash_prefixes.is_some() {
                    return Err(Error::DelegationInvalid(format!(
                        "role {:?} must have exactly one of paths and path_hash_prefixes",
                        r.name
                    )));
                }
                check_role_keys(&r.name, &r.keys, &d.keys)?;
            }
        }
        Ok(())
    }
}

new_role!(Targets, { targets: BTreeMap::new(), delegations: None });
