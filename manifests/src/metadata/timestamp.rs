//! The timestamp role: the current snapshot version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{check_common, MetaFile, NewRole, Role, RoleChecks, RoleType, SPEC_VERSION};
use crate::cjson::datetime;
use crate::error::{Error, Result};

common_fields! {
    /// The timestamp role: the current snapshot version.
    pub struct Timestamp {
        /// Exactly `snapshot.json`.
        pub meta: BTreeMap<String, MetaFile>,
    }
}

role!(Timestamp, RoleType::Timestamp, 64 * 1024);

impl RoleChecks for Timestamp {
    fn check_fields(&self) -> Result<()> {
        if self.meta.len() != 1 || !self.meta.contains_key("snapshot.json") {
            return Err(Error::malformed(
                "timestamp metadata",
                "meta must contain exactly snapshot.json",
            ));
        }
        self.meta.values().try_for_each(MetaFile::check)
    }
}

impl Timestamp {
    /// The pinned snapshot entry.
    pub fn snapshot_meta(&self) -> &MetaFile {
        &self.meta["snapshot.json"]
    }
}

new_role!(Timestamp, { meta: BTreeMap::new() });
