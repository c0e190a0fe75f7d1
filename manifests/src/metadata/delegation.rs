//! Delegations of a targets role to other targets roles, and TUF path pattern matching.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RoleKeys;
use crate::error::Result;
use crate::keys::{KeyId, PublicKey};
use crate::names::{PackageName, Sha256};

/// Delegations of a targets role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    /// Keys by id.
    pub keys: BTreeMap<KeyId, PublicKey>,
    /// Delegated roles, in priority order.
    pub roles: Vec<DelegatedRole>,
    /// Unknown fields, preserved.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One delegated role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    /// Role name (for x0x: the package name).
    pub name: String,
    /// Keys and threshold.
    #[serde(flatten)]
    pub keys: RoleKeys,
    /// Whether the search stops at this role when it matches.
    pub terminating: bool,
    /// Path patterns (`*` and `?` match within one segment, as python-tuf's fnmatch per segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Hex prefixes of the SHA-256 of target paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
}

impl DelegatedRole {
    /// The delegation of a package: role named after it, covering `<package>/*/*`, terminating.
    pub fn for_package(package: &PackageName, keys: &[&PublicKey], threshold: u64) -> Result<Self> {
        Ok(DelegatedRole {
            name: package.to_string(),
            keys: RoleKeys::new(keys, threshold)?,
            terminating: true,
            paths: Some(vec![format!("{package}/*/*")]),
            path_hash_prefixes: None,
        })
    }

    /// Whether this role is trusted for `path`.
    pub fn matches(&self, path: &str) -> bool {
        if let Some(paths) = &self.paths {
            return paths.iter().any(|p| path_matches(p, path));
        }
        if let Some(prefixes) = &self.path_hash_prefixes {
            let h = Sha256::digest(path.as_bytes()).to_hex();
            return prefixes.iter().any(|p| h.starts_with(p.as_str()));
        }
        false
    }
}

/// TUF path pattern matching: same number of `/`-separated segments, each matched as a glob where `*` matches
/// any run of characters and `?` one character (never crossing `/`). `[...]` classes are not supported and
/// match literally (a departure from python's fnmatch; x0x's patterns never use them).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let ps: Vec<&str> = pattern.split('/').collect();
    let ts: Vec<&str> = path.split('/').collect();
    ps.len() == ts.len()
        && ps
            .iter()
            .zip(&ts)
            .all(|(p, t)| glob(p.as_bytes(), t.as_bytes()))
}

fn glob(p: &[u8], t: &[u8]) -> bool {
    // Iterative wildcard matching with single backtrack point: O(len(p) * len(t)) worst case.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) && p[pi] != b'*' {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns_do_not_cross_slashes() {
        assert!(path_matches("x0x/*/*", "x0x/0.3.1/x0x.linux-x64-gnu.node"));
        assert!(!path_matches("x0x/*", "x0x/0.3.1/x0x.linux-x64-gnu.node"));
        assert!(!path_matches("x0x/*/*", "x0y/0.3.1/f"));
        assert!(!path_matches("x0x/*/*", "x0x/0.3.1/a/b"));
        assert!(path_matches("x0x/0.?.*/*.node", "x0x/0.3.1/a.node"));
        assert!(!path_matches("x0x/0.?.*/*.node", "x0x/0.3.1/a.wasm"));
        assert!(path_matches("*", "anything"));
        assert!(glob(b"a*b*c", b"aXXbYYc") && !glob(b"a*b*c", b"aXXbYY"));
    }
}
