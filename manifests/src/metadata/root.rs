//! The root role: the keys and thresholds of the top-level roles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{
    check_common, check_keys, check_role_keys, NewRole, Role, RoleChecks, RoleKeys, RoleType,
    SPEC_VERSION,
};
use crate::cjson::datetime;
use crate::error::{Error, Result};
use crate::keys::{KeyId, PublicKey};

common_fields! {
    /// The root role: the keys and thresholds of the top-level roles.
    pub struct Root {
        /// Always `true` for repositories this crate writes.
        pub consistent_snapshot: bool,
        /// Keys by id.
        pub keys: BTreeMap<KeyId, PublicKey>,
        /// `root`, `targets`, `snapshot`, `timestamp`.
        pub roles: BTreeMap<String, RoleKeys>,
    }
}

role!(Root, RoleType::Root, 512 * 1024);

impl RoleChecks for Root {
    fn check_fields(&self) -> Result<()> {
        for name in RoleType::ALL.map(RoleType::as_str) {
            let r = self
                .roles
                .get(name)
                .ok_or_else(|| Error::MissingRole(name.to_owned()))?;
            check_role_keys(name, r, &self.keys)?;
        }
        check_keys(&self.keys)
    }
}

new_role!(Root, { consistent_snapshot: true, keys: BTreeMap::new(), roles: BTreeMap::new() });

impl Root {
    /// Adds `key` to `keys` and to `role`'s key ids (creating the role with threshold 1).
    pub fn add_key(&mut self, role: &str, key: &PublicKey) -> Result<()> {
        let id = key.key_id()?;
        self.keys.insert(id.clone(), key.clone());
        let r = self
            .roles
            .entry(role.to_owned())
            .or_insert_with(|| RoleKeys {
                keyids: Vec::new(),
                threshold: 1,
                extra: BTreeMap::new(),
            });
        if !r.keyids.contains(&id) {
            r.keyids.push(id);
        }
        Ok(())
    }
}
