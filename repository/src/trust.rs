//! Trusted publishing policies: which CI identity may publish a package without a long-lived secret.
//!
//! A policy says: ID tokens from `issuer` (an OpenID provider, e.g. `https://token.actions.githubusercontent.com`)
//! whose `aud` contains `audience` and whose claims equal every entry of `claims` (`repository`,
//! `workflow_ref`, `ref`, `environment`, ...) may be exchanged (`POST /api/v1/oidc/token`) for a short-lived
//! upload token scoped to `package`. With `sign_online`, the server also signs that package's role with its
//! online packages key (`<keys>/packages.key`, [`PACKAGES_KEY_FILE`]) and records the verified claims as
//! provenance in each new target's `custom` (PEP 458 style); without it, releases are still signed by the
//! publisher's own key (PEP 480 style) and the token only replaces the upload secret.
//!
//! **Signed, not merely stored.** A policy grants publishing rights, as a delegation does, so it is signed like
//! one: by a threshold of the top-level `targets` keys that root names (the offline key under `DIR/keys/`). It
//! is `DIR/trust/<package>.json` (the same key in an object store), a TUF-style envelope whose `signed` is a
//! [`TrustPolicy`] (`_type` `x0x-trust`, `version`, `expires`). The server verifies it against the root it
//! trusts on every exchange, so a writer of the bucket or directory who lacks the offline targets key cannot
//! grant a workflow publishing rights; a policy that does not verify counts as no policy (`oidc.no_policy`). It
//! is not in the TUF snapshot (clients never need it), so an attacker with store write access could at most
//! swap in an older signed policy of the same package (documented in docs/trusted-publishing.md).
//!
//! The short-lived upload tokens are MACed (HMAC-SHA256) with `<keys>/upload-token.key`
//! ([`UPLOAD_TOKEN_KEY_FILE`], 32 random bytes, hex), kept beside the online keys and never in the store: every
//! replica holding the keys verifies them without a shared token file or database.
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x0x_dist_manifests::cjson::datetime;
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::metadata::Role;
use x0x_dist_manifests::{PackageName, Root, Signed};

use crate::error::{Error, Result};
use crate::repo::{self, Expiry, Layout};

/// `_type` of a policy's `signed`.
pub const TRUST_TYPE: &str = "x0x-trust";
pub use crate::repo::{PACKAGES_KEY_FILE, UPLOAD_TOKEN_KEY_FILE};
/// Claims a policy may not pin: they are checked on their own (`iss`, `aud`, times, `jti`) or change every run.
pub const RESERVED_CLAIMS: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "jti"];

/// The `signed` part of `trust/<package>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustPolicy {
    /// Always [`TRUST_TYPE`].
    #[serde(rename = "_type")]
    pub type_: String,
    /// Raised by each change.
    pub version: u64,
    /// After this the policy no longer verifies (re-run `x0x-dist package trust`).
    #[serde(with = "datetime")]
    pub expires: OffsetDateTime,
    /// The package it governs.
    pub package: PackageName,
    /// The OpenID issuer (`iss`), exactly; its discovery document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The audience the token must carry in `aud`.
    pub audience: String,
    /// Claims that must be present with exactly these string values.
    pub claims: BTreeMap<String, String>,
    /// Whether the server signs the package's releases with its online key.
    pub sign_online: bool,
}

impl Role for TrustPolicy {
    const TYPE: &'static str = TRUST_TYPE;
    const MAX_SIZE: usize = 64 * 1024;
    fn expires(&self) -> OffsetDateTime {
        self.expires
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn check(&self) -> x0x_dist_manifests::Result<()> {
        let bad = |reason: String| malformed("x0x-trust metadata", reason);
        if self.type_ != TRUST_TYPE {
            return Err(bad(format!("_type is {:?}", self.type_)));
        }
        if self.version == 0 {
            return Err(bad("version 0".into()));
        }
        check_issuer(&self.issuer).map_err(bad)?;
        if self.audience.is_empty() {
            return Err(bad("empty audience".into()));
        }
        for k in self.claims.keys() {
            if k.is_empty() || RESERVED_CLAIMS.contains(&k.as_str()) {
                return Err(bad(format!("claim {k:?} cannot be pinned by a policy")));
            }
        }
        Ok(())
    }
}

fn malformed(what: &str, reason: String) -> x0x_dist_manifests::Error {
    x0x_dist_manifests::Error::Malformed {
        what: what.into(),
        reason,
    }
}

/// An issuer is an `https://` URL, or `http://` on a loopback host (a local test issuer); no query or fragment.
pub fn check_issuer(issuer: &str) -> std::result::Result<(), String> {
    let rest = if let Some(r) = issuer.strip_prefix("https://") {
        r
    } else if let Some(r) = issuer.strip_prefix("http://") {
        let host = r.split(['/', ':']).next().unwrap_or("");
        let v6 = r == "[::1]" || r.starts_with("[::1]:") || r.starts_with("[::1]/");
        if !matches!(host, "127.0.0.1" | "localhost") && !v6 {
            return Err(format!(
                "issuer {issuer:?} is plain http on a non-loopback host (only https issuers are trusted)"
            ));
        }
        r
    } else {
        return Err(format!("issuer {issuer:?} is not an https:// URL"));
    };
    if rest.is_empty() || rest.contains(['?', '#', ' ']) || rest.chars().any(char::is_control) {
        return Err(format!("issuer {issuer:?} is not a plain URL"));
    }
    Ok(())
}

/// Verifies the bytes of `trust/<package>.json` against the top-level `targets` keys of `root` at `now`.
pub fn verify_policy(
    bytes: &[u8],
    root: &Root,
    package: &str,
    now: OffsetDateTime,
) -> x0x_dist_manifests::Result<TrustPolicy> {
    let signed = Signed::<TrustPolicy>::from_slice(bytes)?;
    let role = root
        .roles
        .get("targets")
        .ok_or_else(|| malformed("root metadata", "no targets role".into()))?;
    signed.verify("targets (trust policy)", &root.keys, role)?;
    signed.check_not_expired(&format!("trust policy of {package}"), now)?;
    if signed.signed().package.as_str() != package {
        return Err(malformed(
            "x0x-trust metadata",
            format!(
                "policy is for package {}, stored as {package}",
                signed.signed().package
            ),
        ));
    }
    Ok(signed.signed().clone())
}

/// What `x0x-dist package trust` sets.
#[derive(Clone, Debug)]
pub struct PolicySpec {
    /// The issuer.
    pub issuer: String,
    /// The audience.
    pub audience: String,
    /// Required claims.
    pub claims: BTreeMap<String, String>,
    /// Sign releases with the server's online key.
    pub sign_online: bool,
}

/// What [`set_policy`] did.
#[derive(Clone, Debug)]
pub struct SetReport {
    /// The policy written.
    pub policy: TrustPolicy,
    /// The top-level targets version written when the online packages key was added to the delegation.
    pub targets_version: Option<u64>,
    /// Whether the upload-token MAC key was created now.
    pub created_mac_key: bool,
}

/// Writes the package's policy (version + 1), signed with the offline targets key of the repository in `dir`;
/// makes sure the upload-token MAC key exists; with `sign_online`, creates the online packages key if needed and
/// adds it to the package's delegation. The caller holds the repository's writer lock.
pub fn set_policy(
    dir: &Path,
    package: &PackageName,
    spec: PolicySpec,
    now: OffsetDateTime,
    expiry: &Expiry,
) -> Result<SetReport> {
    let l = Layout::new(dir);
    let set = repo::load_trusted(dir, None, now)?;
    let root = set.root().signed().clone();
    let delegated = set
        .targets("targets")
        .and_then(|t| t.signed().delegations.as_ref())
        .is_some_and(|d| d.roles.iter().any(|r| r.name == package.as_str()));
    if !delegated {
        return Err(Error::PackageNotFound(package.to_string()));
    }
    let targets_key = repo::read_secret_key(&l.key_file("targets"))?;
    if !root
        .roles
        .get("targets")
        .is_some_and(|r| r.keyids.contains(targets_key.key_id()))
    {
        return Err(Error::KeyNotAuthorized {
            keyid: targets_key.key_id().to_string(),
            role: "targets".into(),
        });
    }
    let path = l.trust_file(package.as_str());
    let previous = match std::fs::read(&path) {
        Ok(b) => Signed::<TrustPolicy>::from_slice(&b).map_or(0, |s| s.signed().version),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(Error::io("reading", &path)(e)),
    };
    let policy = TrustPolicy {
        type_: TRUST_TYPE.into(),
        version: previous + 1,
        expires: (now + expiry.targets)
            .replace_nanosecond(0)
            .unwrap_or(now + expiry.targets),
        package: package.clone(),
        issuer: spec.issuer.trim_end_matches('/').to_owned(),
        audience: spec.audience,
        claims: spec.claims,
        sign_online: spec.sign_online,
    };
    let signed = Signed::new(policy.clone(), &[&targets_key])?;
    let created_mac_key = ensure_secret(&l.upload_token_key(), || {
        use rand::RngCore as _;
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        hex::encode(k).into_bytes()
    })?;
    let mut targets_version = None;
    if policy.sign_online {
        let key_path = l.online_packages_key();
        ensure_secret(&key_path, || {
            repo::generate_key()
                .to_secret_file()
                .expect("a generated key is a file key")
        })?;
        let key = repo::read_secret_key(&key_path)?;
        targets_version = repo::add_delegation_key(dir, package, key.public(), now, expiry)?;
    }
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(|e| Error::new(Code::IoError, e.to_string()))?;
    }
    repo::write_atomic(&path, &signed.to_bytes(), false)?;
    Ok(SetReport {
        policy,
        targets_version,
        created_mac_key,
    })
}

/// Creates the secret file `path` (mode 0600) with `make()` unless it exists; returns whether it created it.
fn ensure_secret(path: &Path, make: impl FnOnce() -> Vec<u8>) -> Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(|e| Error::new(Code::IoError, e.to_string()))?;
    }
    repo::write_atomic(path, &make(), true)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::check_issuer;

    #[test]
    fn issuers() {
        assert!(check_issuer("https://token.actions.githubusercontent.com").is_ok());
        assert!(check_issuer("https://gitlab.com").is_ok());
        assert!(check_issuer("http://127.0.0.1:4000").is_ok());
        assert!(check_issuer("http://localhost:4000/x").is_ok());
        assert!(check_issuer("http://example.com").is_err());
        assert!(check_issuer("http://127.0.0.1.evil.com").is_err());
        assert!(check_issuer("ftp://x").is_err());
        assert!(check_issuer("https://x?y").is_err());
        assert!(check_issuer("https://").is_err());
    }
}
