//! Yanks and revocations, carried by the signed `revocations` role
//! ([`x0x_dist_manifests::metadata::Revocations`]): `POST /api/v1/packages/{name}/revocations`
//! (`x0x-dist release yank|revoke`).
//!
//! Under the same locks as a publish ([`crate::publish`]): the release must be published (`version.not_found`),
//! a revoked release stays revoked (`release.revoked`, nothing written); then the next `N.revocations.json`
//! (version + 1, signed with the online snapshot key, which root authorizes) is written, then the next snapshot
//! listing it as `revocations.json`, then the timestamp — the commit point, exactly as for a release. Loaders
//! reach it through the chain they already verify (timestamp → snapshot → `N.revocations.json`), so a mirror or
//! a cache holding an old one notices the new version with the next timestamp. TUF clients that do not know the
//! role ignore its snapshot entry (python-tuf does); `revocations` is reserved as a package name.
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::metadata::{
    NewRole as _, Revocation, RevocationState, Revocations, REVOCATIONS_ROLE,
};
use x0x_dist_manifests::{PackageName, Signed, Targets};

use crate::auth::Identity;
use crate::error::ApiError;
use crate::published::{fmt_time, Published};
use crate::state::AppState;
use crate::storage::ObjectKey;

/// Lifetime of each `N.revocations.json` (its freshness comes from the timestamp that pins it).
const EXPIRY_DAYS: i64 = 365;

/// `POST /api/v1/packages/{name}/revocations` body.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The published version.
    pub version: String,
    /// `yanked` or `revoked`.
    pub state: RevocationState,
    /// One line: why.
    pub reason: String,
    /// Advisory URL (for a revocation).
    #[serde(default)]
    pub advisory: Option<String>,
}

/// What was written.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RevokeReport {
    /// Package.
    pub package: String,
    /// Version withdrawn.
    pub version: String,
    /// Its state now.
    pub state: RevocationState,
    /// Version of the revocations role written.
    pub revocations_version: u64,
    /// Snapshot version written.
    pub snapshot_version: u64,
}

/// The current revocations role, if any.
pub async fn current(
    st: &AppState,
    cur: &Published,
) -> Result<Option<Signed<Revocations>>, ApiError> {
    let Some(m) = cur
        .snapshot
        .signed()
        .meta
        .get(&format!("{REVOCATIONS_ROLE}.json"))
    else {
        return Ok(None);
    };
    let key = ObjectKey::metadata(&format!("{}.{REVOCATIONS_ROLE}.json", m.version))?;
    let obj =
        st.store.get_object(&key).await?.ok_or_else(|| {
            ApiError::Internal(format!("the snapshot lists {key}, which is missing"))
        })?;
    Ok(Some(Signed::<Revocations>::from_slice(&obj.bytes)?))
}

/// Yanks or revokes a published release (see the module docs).
pub async fn set(
    st: &AppState,
    pkg: &PackageName,
    req: RevokeRequest,
    who: &Identity,
) -> Result<RevokeReport, ApiError> {
    let version: x0x_dist_manifests::Version = req.version.parse()?;
    if req.reason.trim().is_empty()
        || req.reason.chars().any(char::is_control)
        || req.reason.len() > 1024
    {
        return Err(ApiError::BadRequest(
            "--reason must be one non-empty line of at most 1024 bytes".into(),
        ));
    }
    if let Some(a) = &req.advisory {
        if !(a.starts_with("https://") || a.starts_with("http://"))
            || a.chars().any(char::is_control)
        {
            return Err(ApiError::BadRequest(format!(
                "--advisory {} is not an http(s) URL",
                crate::wire::quote(a)
            )));
        }
    }
    let _slot = st.claim(REVOCATIONS_ROLE)?;
    let _lock = st.repo_lock.lock().await;
    // The same commit protocol as a publish (crate::coordinator): any replica may do it.
    let coord = &*st.coordinator;
    let _writer = coord.lock().await?;
    let now = OffsetDateTime::now_utc();
    let head = coord.head(&*st.store).await?;
    let cur = Published::load_at(&*st.store, &head.bytes).await?;
    cur.delegation(pkg.as_str())?;
    let published = match cur.load_role_bytes(&*st.store, pkg.as_str()).await? {
        Some(b) => Signed::<Targets>::from_slice(&b)?
            .signed()
            .targets
            .keys()
            .any(|p| p.package_target().is_ok_and(|t| *t.version() == version)),
        None => false,
    };
    if !published {
        return Err(ApiError::VersionNotFound(format!("{pkg}@{version}")));
    }
    let old = current(st, &cur).await?;
    let mut role = match &old {
        Some(s) => s.signed().clone(),
        None => Revocations::empty(1, now),
    };
    let v = version.to_string();
    if let Some(prev) = role.get(pkg.as_str(), &v) {
        if prev.state == RevocationState::Revoked {
            return Err(ApiError::Refused {
                code: Code::ReleaseRevoked,
                detail: format!(
                    "{pkg} {v} is revoked ({}); a revocation is final",
                    prev.reason
                ),
            });
        }
    }
    role.releases.entry(pkg.to_string()).or_default().insert(
        v.clone(),
        Revocation {
            state: req.state,
            reason: req.reason.trim().to_owned(),
            advisory: req.advisory.clone(),
            at: fmt_time(now),
        },
    );
    role.version = old.as_ref().map_or(1, |s| s.signed().version + 1);
    role.expires = (now + time::Duration::days(EXPIRY_DAYS))
        .replace_nanosecond(0)
        .unwrap_or(now);
    let keys = crate::publish::load_online_keys(&st.keys_dir, cur.root.signed()).await?;
    let rv = role.version;
    let bytes = Signed::new(role, &[&keys.snapshot])?.to_bytes();
    // The number is ours before the versioned name is written: no `N.revocations.json` is ever written twice.
    coord
        .reserve_role(
            REVOCATIONS_ROLE,
            rv,
            &crate::coordinator::sha256_hex(&bytes),
        )
        .await?;
    st.store
        .put_object(
            &ObjectKey::metadata(&format!("{rv}.{REVOCATIONS_ROLE}.json"))?,
            bytes.into(),
        )
        .await?;
    let audit = crate::coordinator::Audit {
        actor: who.principal.clone(),
        action: format!("release.{:?}", req.state).to_lowercase(),
        detail: serde_json::json!({"package": pkg.as_str(), "version": v, "reason": req.reason, "advisory": req.advisory}),
    };
    let committed = crate::publish::commit_changes(
        &*st.store,
        coord,
        crate::publish::Committing {
            cur,
            head,
            changes: vec![(REVOCATIONS_ROLE.to_owned(), rv)],
            resign_only: false,
            above: 0,
            first_snapshot: None,
        },
        &keys,
        &st.config.timestamp,
        now,
        &audit,
        st.config.database.max_commit_retries.unwrap_or(8),
        &st.metrics,
    )
    .await;
    let sv = match committed {
        Ok(Some(c)) => {
            st.committed(&c.head).await;
            c.snapshot_version
        }
        Ok(None) => {
            return Err(ApiError::Internal(
                "a revocations commit was skipped".into(),
            ))
        }
        Err(e) => {
            st.timestamp_written().await;
            return Err(e);
        }
    };
    tracing::info!(package = %pkg, version = %v, state = ?req.state, by = %who.id, revocations = rv, "release withdrawn");
    Ok(RevokeReport {
        package: pkg.to_string(),
        version: v,
        state: req.state,
        revocations_version: rv,
        snapshot_version: sv,
    })
}
