//! The snapshot role: the version of every targets role.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{check_common, MetaFile, NewRole, Role, RoleChecks, RoleType, SPEC_VERSION};
use crate::cjson::datetime;
use crate::error::{Error, Result};

common_fields! {
    /// The snapshot role: the versions of every targets role.
    pub struct Snapshot {
        /// `<role>.json` to its version (and optionally length and hashes).
        pub meta: BTreeMap<String, MetaFile>,
    }
}

role!(Snapshot, RoleType::Snapshot, 4 * 1024 * 1024);

impl RoleChecks for Snapshot {
    fn check_fields(&self) -> Result<()> {
        for (name, m) in &self.meta {
            // Role file names are case-sensitive by the spec. The role name before `.json` may hold any
            // character (see `verify::encode_role_name`).
            #[allow(clippy::case_sensitive_file_extension_comparisons)]
            let bad = !name.ends_with(".json");
            if bad {
                return Err(Error::malformed(
                    "snapshot metadata",
                    format_args!("bad meta name {name:?}"),
                ));
            }
            m.check()?;
        }
        Ok(())
    }
}

new_role!(Snapshot, { meta: BTreeMap::new() });
