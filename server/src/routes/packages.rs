//! `/api/v1/packages...`: unsigned convenience JSON (clients still verify the TUF metadata), and the role
//! submission that publishes a release.
//!
//! The JSON comes from the shared views of [`crate::views`] (rebuilt once per repository change).
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use x0x_dist_manifests::{PackageName, Platform};

use crate::error::ApiError;
use crate::publish;
use crate::published;
use crate::state::AppState;
use crate::views::TargetView;
use x0x_dist_manifests::codes::Coded as _;

fn check_name(name: &str) -> Result<PackageName, ApiError> {
    name.parse::<PackageName>()
        .map_err(|e| ApiError::InvalidPath(e.to_string()))
}

/// `GET /api/v1/packages`
pub async fn list(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let view = st.views.get(&*st).await?;
    let packages: Vec<_> = view
        .packages
        .values()
        .map(|p| serde_json::json!({"name": p.name, "role_version": p.role_version, "versions": p.versions.keys().collect::<Vec<_>>()}))
        .collect();
    Ok(axum::Json(serde_json::json!({ "packages": packages })).into_response())
}

/// `GET /api/v1/packages/{name}`
pub async fn show(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let view = st.views.get(&*st).await?;
    let p = view
        .packages
        .get(&name)
        .ok_or_else(|| ApiError::PackageNotFound(name.clone()))?;
    let mut v = serde_json::to_value(p).map_err(|e| ApiError::Internal(e.to_string()))?;
    // Staged releases (in no signed role; `crate::staging`), for the web UI and API clients.
    let staged = crate::staging::load(&st, &check_name(&name)?).await?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "staged".into(),
            serde_json::json!(staged.staged.iter().map(|s| serde_json::json!({"version": s.version, "staged_by": s.staged_by, "staged_at": s.staged_at, "targets": s.targets.keys().collect::<Vec<_>>()})).collect::<Vec<_>>()),
        );
    }
    Ok(axum::Json(v).into_response())
}

/// Query of `resolve`.
#[derive(Debug, Deserialize)]
pub struct ResolveQuery {
    /// semver range (default `*`).
    pub range: Option<String>,
    /// Rust triple or napi platform name; absent: any.
    pub target: Option<String>,
}

/// `GET /api/v1/packages/{name}/resolve?range=…&target=…`: the highest version matching the range that has a
/// target for the platform.
pub async fn resolve(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<ResolveQuery>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let range_s = q.range.as_deref().unwrap_or("*");
    let range = semver::VersionReq::parse(range_s).map_err(|e| ApiError::Metadata {
        code: x0x_dist_manifests::codes::Code::PackageVersionInvalid,
        detail: format!("invalid range {range_s:?}: {e}"),
    })?;
    let platform = q
        .target
        .as_deref()
        .map(str::parse::<Platform>)
        .transpose()?;
    let view = st.views.get(&*st).await?;
    let p = view
        .packages
        .get(&name)
        .ok_or_else(|| ApiError::PackageNotFound(name.clone()))?;
    // Start below the range's upper bound instead of scanning down from the newest version (a `^5` among
    // 1,000 versions otherwise tests hundreds of newer ones first).
    let candidates: Box<dyn Iterator<Item = (&semver::Version, &Vec<TargetView>)>> =
        match upper_bound(&range) {
            Some(b) => Box::new(p.by_semver.range(..b).rev()),
            None => Box::new(p.by_semver.iter().rev()),
        };
    // `[resolve] min_release_age`: a release younger than the age (its signed publish time) is never the answer.
    let published_before = st
        .config
        .resolve
        .min_release_age()
        .map_err(|e| ApiError::Internal(format!("{e:#}")))?
        .map(|age| time::OffsetDateTime::now_utc() - age);
    let mut too_young = Vec::new();
    for (v, targets) in candidates {
        if !range.matches(v) {
            continue;
        }
        if let (Some(cutoff), Some(at)) = (published_before, p.published.get(v)) {
            if *at > cutoff {
                too_young.push(v.to_string());
                continue;
            }
        }
        let matching: Vec<&TargetView> = targets
            .iter()
            .filter(|t| platform.is_none_or(|pl| t.platform == pl.name()))
            .collect();
        if !matching.is_empty() {
            return Ok(axum::Json(
                serde_json::json!({"package": name, "version": v.to_string(), "targets": matching}),
            )
            .into_response());
        }
    }
    Err(ApiError::VersionNotFound(format!(
        "{name}@{range_s}{}{}",
        q.target.map(|t| format!(" for {t}")).unwrap_or_default(),
        if too_young.is_empty() {
            String::new()
        } else {
            format!(
                " (younger than [resolve] min_release_age: {})",
                too_young.join(", ")
            )
        }
    )))
}

/// An exclusive upper bound on the versions `req` can match (`None`: unbounded). Conservative: every matching
/// version is below it (pre-releases of the bound itself may be too; `matches` still decides).
fn upper_bound(req: &semver::VersionReq) -> Option<semver::Version> {
    use semver::Op;
    let v = |major: u64, minor: u64, patch: u64| Some(semver::Version::new(major, minor, patch));
    let one = |c: &semver::Comparator| -> Option<semver::Version> {
        let (maj, min, pat) = (c.major, c.minor, c.patch);
        match (c.op, min, pat) {
            // `<1.2.3`, `<1.2` (= <1.2.0), `<1` (= <1.0.0).
            (Op::Less, _, _) => v(maj, min.unwrap_or(0), pat.unwrap_or(0)),
            // `=1.2.3`, `<=1.2.3`: anything up to 1.2.3 (and its pre-releases) is below 1.2.4.
            (Op::Exact | Op::LessEq, Some(m), Some(p)) => v(maj, m, p.checked_add(1)?),
            // `=1.2`, `<=1.2`, `~1.2`, `~1.2.3`, `1.2.*`: below 1.3.0.
            (Op::Exact | Op::LessEq | Op::Tilde | Op::Wildcard, Some(m), _) => {
                v(maj, m.checked_add(1)?, 0)
            }
            // `=1`, `<=1`, `~1`, `1.*`, `^1…` (major > 0): below 2.0.0.
            (Op::Exact | Op::LessEq | Op::Tilde | Op::Wildcard | Op::Caret, None, _) => {
                v(maj.checked_add(1)?, 0, 0)
            }
            (Op::Caret, Some(_), _) if maj > 0 => v(maj.checked_add(1)?, 0, 0),
            // `^0.2…`: below 0.3.0; `^0.0.3`: below 0.0.4; `^0.0`: below 0.1.0.
            (Op::Caret, Some(m), _) if m > 0 => v(0, m.checked_add(1)?, 0),
            (Op::Caret, Some(_), Some(p)) => v(0, 0, p.checked_add(1)?),
            (Op::Caret, Some(_), None) => v(0, 1, 0),
            // `>`, `>=` and any operator added later: no bound.
            _ => None,
        }
    };
    // Comparators are ANDed: the lowest bound applies.
    req.comparators.iter().filter_map(one).min()
}

/// `GET /api/v1/packages/{name}/role`: the current signed role, byte for byte.
pub async fn current_role(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let cur = st.current_published().await?;
    cur.delegation(&name)?;
    let role = match cur.load_role_bytes(&*st.store, &name).await? {
        // Parsed (checked) off the async workers: a big role takes a while.
        Some(b) => Some(
            published::blocking(move || {
                x0x_dist_manifests::Signed::<x0x_dist_manifests::Targets>::from_slice(&b)?;
                Ok(b)
            })
            .await?,
        ),
        None => None,
    };
    let bytes =
        role.ok_or_else(|| ApiError::NotFound(format!("nothing published for {name} yet")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `POST /api/v1/packages/{name}/role`: submit the next signed role (see [`crate::publish`]).
pub async fn submit_role(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let pkg = check_name(&name)?;
    if let Some(leader) = &st.config.replica.publish_via {
        return crate::forward::submit_role(&st, leader, &name, &headers, body).await;
    }
    let who = crate::auth::from_headers(&st, &headers, Some(&name)).await?;
    let token = who.id.clone();
    let body = publish::read_role(&st, &headers, body).await?;
    let result = publish::publish(&st, &pkg, body.to_vec(), &who.principal).await;
    match &result {
        Ok(r) => {
            AppState::refresh_views_in_background(&st);
            AppState::npm_records_in_background(&st, &name, &r.added);
            st.metrics.publish(Ok(()));
            tracing::info!(token, package = %name, version = r.version, snapshot = r.snapshot_version, added = r.added.len(), "published");
        }
        Err(e) => {
            st.metrics.publish(Err(e.code()));
            tracing::info!(token, package = %name, code = e.code().as_str(), error = %e, "publish rejected");
        }
    }
    Ok(axum::Json(result?).into_response())
}

#[cfg(test)]
mod tests {
    use super::upper_bound;

    /// The bound never excludes a matching version: for many ranges and versions, every match is below it.
    #[test]
    fn upper_bound_keeps_every_match() {
        let mut versions = Vec::new();
        for major in 0..4u64 {
            for minor in 0..4u64 {
                for patch in 0..6u64 {
                    versions.push(semver::Version::new(major, minor, patch));
                    let mut pre = semver::Version::new(major, minor, patch);
                    pre.pre = semver::Prerelease::new("rc.1").unwrap();
                    versions.push(pre);
                }
            }
        }
        let ranges = [
            "*",
            "^0",
            "^0.0",
            "^0.0.2",
            "^0.2",
            "^0.2.1",
            "^1",
            "^1.2",
            "^1.2.3",
            "~1",
            "~1.2",
            "~1.2.3",
            "=1",
            "=1.2",
            "=1.2.3",
            "1.*",
            "1.2.*",
            "<2",
            "<2.1",
            "<2.1.3",
            "<=2",
            "<=2.1",
            "<=2.1.3",
            ">1",
            ">=1.2.3",
            ">=1, <3",
            ">1.1, <=2.2",
            "^1.2.3-rc.1",
            "=2.1.0-rc.1",
            "~0.0.1",
            "<0.0.1",
            "1",
            "1.2",
        ];
        for r in ranges {
            let req = semver::VersionReq::parse(r).unwrap();
            let bound = upper_bound(&req);
            let mut matched = 0;
            for v in &versions {
                if req.matches(v) {
                    matched += 1;
                    if let Some(b) = &bound {
                        assert!(v < b, "{r}: {v} matches but the bound is {b}");
                    }
                }
            }
            assert!(
                matched > 0 || r == "<0.0.1",
                "{r} matched nothing: the test would prove nothing"
            );
        }
        // Bounded where it matters for resolve.
        let b =
            |r: &str| upper_bound(&semver::VersionReq::parse(r).unwrap()).map(|v| v.to_string());
        assert_eq!(b("^5").as_deref(), Some("6.0.0"));
        assert_eq!(b("~5.2").as_deref(), Some("5.3.0"));
        assert_eq!(b("^0.3.1").as_deref(), Some("0.4.0"));
        assert_eq!(b(">=1"), None);
    }
}
