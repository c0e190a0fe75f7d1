//! Staged releases and releases the server signs itself.
//!
//! **Staged.** `publish --stage` (`POST /api/v1/packages/{name}/releases` with `"stage": true`) checks a release
//! exactly as a publish would — paths under the package's delegation and one version, `custom` fields, every
//! blob present with its length, the bytes a build for their platform — but adds it to no signed role: it is
//! recorded in `staging/<package>.json` (a private object of the store, [`ObjectKey::Staging`]) with who staged
//! it. Nothing under `/tuf/` changes (no role, snapshot or timestamp is written, no target linked), so no loader
//! can see or fetch it; the JSON API lists it (`GET /api/v1/packages/{name}/staged`, and `staged` in
//! `GET /api/v1/packages/{name}`).
//!
//! `release approve` by **another identity** than the stager (`release.self_approval` otherwise; a file token is
//! `token:<id>`, an OIDC one `oidc:<iss>#<sub>`) signs it in: either with a role the approver signed with a
//! publisher key (it must add exactly the staged targets), or, when the package's policy says `sign_online`, with
//! the server's online packages key. `release reject` (also by another identity) drops it.
//!
//! **Signed online.** For a package whose verified trusted-publishing policy says `sign_online`, the server
//! builds the next role itself (current role + the new targets, version + 1) and signs it with
//! `<keys>/packages.key`, which `x0x-dist package trust --sign-online` added to the package's delegation; each new
//! target's `custom.provenance` records the verified OIDC claims of the publisher (and `approved_by` for an
//! approved staged release). The result goes through the same checks and commit as any publish
//! ([`crate::publish`]), so python-tuf verifies it like any other role.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{PackageName, Signed, SigningKey, TargetFile, TargetName, Targets};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::published::blocking;
use crate::state::AppState;
use crate::storage::ObjectKey;
use crate::wire::PublishReport;

/// Lifetime of a role the server signs (as `package release` gives a delegated role).
const ROLE_EXPIRY_DAYS: i64 = 365;

/// One staged release.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StagedRelease {
    /// The release's version.
    pub version: String,
    /// Its targets, as they will be signed (the server adds `custom.provenance` when it signs online).
    pub targets: BTreeMap<TargetName, TargetFile>,
    /// Who staged it (`token:<id>` or `oidc:<iss>#<sub>`).
    pub staged_by: String,
    /// When (RFC 3339).
    pub staged_at: String,
    /// The stager's verified OIDC claims (empty for a file token).
    #[serde(default)]
    pub provenance: Map<String, Value>,
}

/// `staging/<package>.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StagingFile {
    /// Staged releases, oldest first.
    pub staged: Vec<StagedRelease>,
}

/// A release submitted without a signature: `POST /api/v1/packages/{name}/releases`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ReleaseRequest {
    /// The version (every target path is `<package>/<version>/<file>`).
    pub version: String,
    /// The targets to add.
    pub targets: BTreeMap<TargetName, TargetFile>,
    /// Stage it instead of publishing it.
    #[serde(default)]
    pub stage: bool,
}

fn refuse(code: Code, detail: String) -> ApiError {
    ApiError::Refused { code, detail }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The package's staged releases.
pub async fn load(st: &AppState, pkg: &PackageName) -> Result<StagingFile, ApiError> {
    match st
        .store
        .get_object(&ObjectKey::Staging(pkg.clone()))
        .await?
    {
        None => Ok(StagingFile::default()),
        Some(o) => serde_json::from_slice(&o.bytes)
            .map_err(|e| ApiError::Internal(format!("staging/{pkg}.json is invalid: {e}"))),
    }
}

async fn save(st: &AppState, pkg: &PackageName, f: &StagingFile) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec_pretty(f).map_err(|e| ApiError::Internal(e.to_string()))?;
    st.store
        .put_object(&ObjectKey::Staging(pkg.clone()), bytes.into())
        .await?;
    Ok(())
}

/// The package's trusted-publishing policy, verified against the root the store holds (`oidc.no_policy` if it
/// has none or it does not verify).
pub async fn policy(
    st: &AppState,
    pkg: &PackageName,
) -> Result<x0x_dist_repository::trust::TrustPolicy, ApiError> {
    let obj = st
        .store
        .get_object(&ObjectKey::Trust(pkg.clone()))
        .await?
        .ok_or_else(|| {
            refuse(
                Code::OidcNoPolicy,
                format!(
                    "package {pkg} has no trusted-publishing policy (`x0x-dist package trust`)"
                ),
            )
        })?;
    let cur = st.current_published().await?;
    let pkg_s = pkg.to_string();
    blocking(move || {
        x0x_dist_repository::trust::verify_policy(
            &obj.bytes,
            cur.root.signed(),
            &pkg_s,
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| {
            refuse(
                Code::OidcNoPolicy,
                format!("the trusted-publishing policy of {pkg_s} does not verify: {e}"),
            )
        })
    })
    .await
}

/// Checks `targets` as a release `version` of `pkg` on top of the current state (no signature involved).
async fn check_release(
    st: &AppState,
    pkg: &PackageName,
    version: &str,
    targets: &BTreeMap<TargetName, TargetFile>,
) -> Result<(), ApiError> {
    if targets.is_empty() {
        return Err(ApiError::BadRequest(
            "a release needs at least one target".into(),
        ));
    }
    for path in targets.keys() {
        let p = path.package_target()?;
        if p.version().to_string() != version {
            return Err(ApiError::TargetInvalid {
                path: path.to_string(),
                reason: format!("not under version {version}"),
            });
        }
    }
    let cur = st.current_published().await?;
    let old_role = cur.load_role_bytes(&*st.store, pkg.as_str()).await?;
    let (pkg2, targets) = (pkg.clone(), targets.clone());
    let added = blocking(move || {
        let (delegation, _) = cur.delegation(pkg2.as_str())?;
        let old = match old_role {
            Some(b) => Signed::<Targets>::from_slice(&b)?.signed().targets.clone(),
            None => BTreeMap::new(),
        };
        let mut merged = old.clone();
        merged.extend(targets);
        crate::publish::check_new_targets(
            delegation,
            &old,
            &merged,
            &pkg2,
            false,
            OffsetDateTime::now_utc(),
        )
    })
    .await?;
    crate::publish::check_blobs(st, &added).await
}

/// Stages a release (see the module docs).
pub async fn stage(
    st: &AppState,
    pkg: &PackageName,
    req: ReleaseRequest,
    who: &Identity,
) -> Result<StagedRelease, ApiError> {
    let _slot = st.claim(pkg.as_str())?;
    let _lock = st.repo_lock.lock().await;
    let mut file = load(st, pkg).await?;
    if file.staged.iter().any(|s| s.version == req.version) {
        return Err(ApiError::VersionExists(format!("{} (staged)", req.version)));
    }
    check_release(st, pkg, &req.version, &req.targets).await?;
    let rec = StagedRelease {
        version: req.version,
        targets: req.targets,
        staged_by: who.principal.clone(),
        staged_at: now_rfc3339(),
        provenance: who.provenance.clone(),
    };
    file.staged.push(rec.clone());
    save(st, pkg, &file).await?;
    Ok(rec)
}

fn find(file: &StagingFile, pkg: &PackageName, version: &str) -> Result<usize, ApiError> {
    file.staged
        .iter()
        .position(|s| s.version == version)
        .ok_or_else(|| {
            refuse(
                Code::ReleaseNotStaged,
                format!("no staged release {pkg} {}", crate::wire::quote(version)),
            )
        })
}

fn not_self(rec: &StagedRelease, who: &Identity, what: &str) -> Result<(), ApiError> {
    if rec.staged_by == who.principal {
        return Err(refuse(
            Code::ReleaseSelfApproval,
            format!(
                "{} was staged by {}; another identity must {what} it",
                rec.version, rec.staged_by
            ),
        ));
    }
    Ok(())
}

/// The provenance recorded in each target of a release signed online.
fn provenance(published_by: &str, claims: &Map<String, Value>, approved_by: Option<&str>) -> Value {
    let mut m = claims.clone();
    m.insert("published_by".into(), Value::String(published_by.into()));
    if let Some(a) = approved_by {
        m.insert("approved_by".into(), Value::String(a.into()));
    }
    Value::Object(m)
}

/// Builds and signs with the online packages key the next role of `pkg`: the current one plus `targets`, each
/// with `custom.provenance`. `release.needs_key` unless the package's policy says `sign_online` and the key is
/// in its delegation.
async fn sign_online(
    st: &AppState,
    pkg: &PackageName,
    targets: &BTreeMap<TargetName, TargetFile>,
    prov: Value,
) -> Result<Vec<u8>, ApiError> {
    let needs_key = |why: String| refuse(Code::ReleaseNeedsKey, why);
    let pol = match policy(st, pkg).await {
        Ok(p) => p,
        Err(e) => return Err(needs_key(format!("{e}; sign the release with --key"))),
    };
    if !pol.sign_online {
        return Err(needs_key(format!(
            "the policy of {pkg} does not say sign_online; sign the release with --key"
        )));
    }
    let key_path = st
        .keys_dir
        .join(x0x_dist_repository::trust::PACKAGES_KEY_FILE);
    let key_bytes = std::fs::read(&key_path)
        .map_err(|e| ApiError::io(format!("reading {}", key_path.display()), e))?;
    let key = SigningKey::from_secret_file(&key_bytes)?;
    let cur = st.current_published().await?;
    let (delegation, _) = cur.delegation(pkg.as_str())?;
    if !delegation.keys.keyids.contains(key.key_id()) {
        return Err(needs_key(format!(
            "the online packages key {} is not in the delegation of {pkg} (re-run `x0x-dist package trust --sign-online`)",
            key.key_id()
        )));
    }
    let old = cur.load_role_bytes(&*st.store, pkg.as_str()).await?;
    let version = cur.role_version(pkg.as_str()) + 1;
    let targets = targets.clone();
    blocking(move || {
        let now = OffsetDateTime::now_utc();
        let mut role = match old {
            Some(b) => Signed::<Targets>::from_slice(&b)?.signed().clone(),
            None => Targets::empty(version, now),
        };
        role.version = version;
        role.expires = (now + time::Duration::days(ROLE_EXPIRY_DAYS))
            .replace_nanosecond(0)
            .unwrap_or(now);
        for (path, mut t) in targets {
            if let Some(Value::Object(c)) = t.custom.as_mut() {
                c.insert("provenance".into(), prov.clone());
            }
            // The server's clock is the signed publish time of what it signs (cooldowns read it).
            t.set_published(now);
            role.targets.insert(path, t);
        }
        Ok(Signed::new(role, &[&key])?.to_bytes())
    })
    .await
}

/// Publishes `req` (not staged) with the server's online key.
pub async fn publish_online(
    st: &AppState,
    pkg: &PackageName,
    req: &ReleaseRequest,
    who: &Identity,
) -> Result<PublishReport, ApiError> {
    for path in req.targets.keys() {
        if path.package_target()?.version().to_string() != req.version {
            return Err(ApiError::TargetInvalid {
                path: path.to_string(),
                reason: format!("not under version {}", req.version),
            });
        }
    }
    let bytes = sign_online(
        st,
        pkg,
        &req.targets,
        provenance(&who.principal, &who.provenance, None),
    )
    .await?;
    crate::publish::publish_role(st, pkg, bytes, &who.principal, true).await
}

/// Approves a staged release (see the module docs): `role` is a role the approver signed, or `None` to have the
/// server sign online.
pub async fn approve(
    st: &AppState,
    pkg: &PackageName,
    version: &str,
    who: &Identity,
    role: Option<Vec<u8>>,
) -> Result<PublishReport, ApiError> {
    let file = load(st, pkg).await?;
    let rec = file.staged[find(&file, pkg, version)?].clone();
    not_self(&rec, who, "approve")?;
    let report = if let Some(bytes) = role {
        {
            let cur = st.current_published().await?;
            let old = cur.load_role_bytes(&*st.store, pkg.as_str()).await?;
            let (staged, b2) = (rec.targets.clone(), bytes.clone());
            blocking(move || {
                let new = Signed::<Targets>::from_slice(&b2)?;
                let old = match old {
                    Some(b) => Signed::<Targets>::from_slice(&b)?.signed().targets.clone(),
                    None => BTreeMap::new(),
                };
                let added: BTreeMap<_, _> = new
                    .signed()
                    .targets
                    .iter()
                    .filter(|(p, _)| !old.contains_key(*p))
                    .map(|(p, t)| (p.clone(), t.clone()))
                    .collect();
                if added != staged {
                    return Err(ApiError::TargetInvalid {
                        path: staged
                            .keys()
                            .next()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        reason: "an approving role must add exactly the staged targets".into(),
                    });
                }
                Ok(())
            })
            .await?;
            crate::publish::publish_role(st, pkg, bytes, &who.principal, false).await?
        }
    } else {
        let bytes = sign_online(
            st,
            pkg,
            &rec.targets,
            provenance(&rec.staged_by, &rec.provenance, Some(&who.principal)),
        )
        .await?;
        crate::publish::publish_role(st, pkg, bytes, &who.principal, true).await?
    };
    drop_staged(st, pkg, version).await?;
    Ok(report)
}

/// Rejects (drops) a staged release; another identity than the stager's must do it.
pub async fn reject(
    st: &AppState,
    pkg: &PackageName,
    version: &str,
    who: &Identity,
) -> Result<StagedRelease, ApiError> {
    let file = load(st, pkg).await?;
    let rec = file.staged[find(&file, pkg, version)?].clone();
    not_self(&rec, who, "reject")?;
    drop_staged(st, pkg, version).await?;
    Ok(rec)
}

async fn drop_staged(st: &AppState, pkg: &PackageName, version: &str) -> Result<(), ApiError> {
    let _lock = st.repo_lock.lock().await;
    let mut file = load(st, pkg).await?;
    file.staged.retain(|s| s.version != version);
    save(st, pkg, &file).await
}
