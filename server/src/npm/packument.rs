//! The registry's JSON documents, built from release records: the packument (full, or abbreviated as npm's
//! `application/vnd.npm.install-v1+json`), a version document and the dist-tags.
use serde_json::{json, Map, Value};

use super::registry::{self, Hosted, Lifecycle, Registry, Source, Withdrawn};
use super::NpmName;
use crate::error::ApiError;

/// The fields an abbreviated packument keeps of a version document (npm's registry does the same).
const ABBREVIATED_FIELDS: &[&str] = &[
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "engines",
    "os",
    "cpu",
    "libc",
    "dist",
    "_hasShrinkwrap",
];

/// Everything about one hosted name.
#[derive(Debug)]
pub struct Docs {
    /// version → full version document.
    pub versions: Vec<(semver::Version, Value)>,
    /// version → record time.
    pub times: Vec<(String, String)>,
    /// `dist-tags`.
    pub tags: Map<String, Value>,
}

/// `latest`: the highest active release (pre-releases only when there is nothing else; a yanked one only when
/// every release is withdrawn; a revoked one never); `next`: the highest active pre-release above it.
pub fn dist_tags(
    package: &str,
    versions: &[semver::Version],
    withdrawn: &Withdrawn,
) -> Map<String, Value> {
    let state = |v: &semver::Version| withdrawn.lifecycle(package, &v.to_string());
    let active: Vec<&semver::Version> = versions
        .iter()
        .filter(|v| state(v) == Lifecycle::Active)
        .collect();
    let stable = active.iter().filter(|v| v.pre.is_empty()).max().copied();
    let pre = active.iter().filter(|v| !v.pre.is_empty()).max().copied();
    let yanked = versions
        .iter()
        .filter(|v| matches!(state(v), Lifecycle::Yanked(_)))
        .max();
    let mut tags = Map::new();
    let latest = stable.or(pre).or(yanked);
    if let Some(l) = latest {
        tags.insert("latest".into(), Value::String(l.to_string()));
    }
    if let (Some(p), Some(l)) = (pre, latest) {
        if p > l {
            tags.insert("next".into(), Value::String(p.to_string()));
        }
    }
    tags
}

/// Builds the version documents of `name` (one record per version; records are made on first use).
pub async fn docs(
    reg: &Registry,
    st: &impl Source,
    name: &NpmName,
    package: &str,
    hosted: Hosted,
    versions: &[String],
    base: &str,
) -> Result<Docs, ApiError> {
    let withdrawn = reg.withdrawn(st).await?;
    let mut out = Vec::new();
    let mut times = Vec::new();
    for v in versions {
        let loaded = reg.record(st, package, v).await?;
        let Some(dist) = loaded.record.dist.get(&name.to_string()) else {
            continue;
        };
        let mut m = registry::manifest(package, v, hosted, &loaded.verified)?;
        if let Some(o) = m.as_object_mut() {
            o.insert("_id".into(), Value::String(format!("{name}@{v}")));
            o.insert("_hasShrinkwrap".into(), Value::Bool(false));
            if let Some(msg) = withdrawn.lifecycle(package, v).deprecated() {
                o.insert("deprecated".into(), Value::String(msg));
            }
            o.insert(
                "dist".into(),
                json!({
                    "tarball": format!("{base}/npm/{name}/-/{}-{v}.tgz", name.bare()),
                    "integrity": dist.integrity,
                    "shasum": dist.shasum,
                    "fileCount": dist.file_count,
                    "unpackedSize": dist.unpacked_size,
                }),
            );
        }
        let sv = semver::Version::parse(v)
            .map_err(|e| ApiError::Internal(format!("version {v}: {e}")))?;
        out.push((sv, m));
        times.push((v.clone(), loaded.record.created.clone()));
    }
    let svs: Vec<semver::Version> = out.iter().map(|(v, _)| v.clone()).collect();
    Ok(Docs {
        tags: dist_tags(package, &svs, &withdrawn),
        versions: out,
        times,
    })
}

/// The packument: full, or abbreviated.
pub fn packument(name: &NpmName, d: &Docs, abbreviated: bool) -> Value {
    let modified = d
        .times
        .iter()
        .map(|(_, t)| t.as_str())
        .max()
        .unwrap_or("1970-01-01T00:00:00Z");
    let versions: Map<String, Value> = d
        .versions
        .iter()
        .map(|(v, doc)| {
            let doc = if abbreviated {
                Value::Object(
                    doc.as_object()
                        .map(|o| {
                            o.iter()
                                .filter(|(k, _)| ABBREVIATED_FIELDS.contains(&k.as_str()))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            } else {
                doc.clone()
            };
            (v.to_string(), doc)
        })
        .collect();
    if abbreviated {
        return json!({
            "name": name.to_string(),
            "modified": modified,
            "dist-tags": d.tags,
            "versions": versions,
        });
    }
    let latest_doc = d
        .tags
        .get("latest")
        .and_then(Value::as_str)
        .and_then(|l| d.versions.iter().find(|(v, _)| v.to_string() == l))
        .map(|(_, doc)| doc.clone())
        .unwrap_or_default();
    let mut time = Map::new();
    let created = d
        .times
        .iter()
        .map(|(_, t)| t.as_str())
        .min()
        .unwrap_or(modified);
    time.insert("created".into(), Value::String(created.to_owned()));
    time.insert("modified".into(), Value::String(modified.to_owned()));
    for (v, t) in &d.times {
        time.insert(v.clone(), Value::String(t.clone()));
    }
    json!({
        "_id": name.to_string(),
        "name": name.to_string(),
        "description": latest_doc.get("description").cloned().unwrap_or(Value::Null),
        "license": latest_doc.get("license").cloned().unwrap_or(Value::Null),
        "dist-tags": d.tags,
        "versions": versions,
        "time": time,
        "readme": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use x0x_dist_manifests::metadata::{NewRole as _, Revocation, RevocationState, Revocations};

    fn withdrawn(list: &[(&str, RevocationState)]) -> Withdrawn {
        let mut r = Revocations::empty(1, time::OffsetDateTime::now_utc());
        for (v, state) in list {
            r.releases.entry("x0x".into()).or_default().insert(
                (*v).to_owned(),
                Revocation {
                    state: *state,
                    reason: "why".into(),
                    advisory: None,
                    at: "2026-12-07T00:00:00Z".into(),
                },
            );
        }
        Some(r).into()
    }

    #[test]
    fn latest_skips_withdrawn_releases() {
        use RevocationState::{Revoked, Yanked};
        let vs: Vec<semver::Version> = ["1.0.0", "1.1.0", "2.0.0-rc.1"]
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let tags = |w: &[(&str, RevocationState)]| {
            let t = dist_tags("x0x", &vs, &withdrawn(w));
            (
                t.get("latest").and_then(Value::as_str).map(str::to_owned),
                t.get("next").and_then(Value::as_str).map(str::to_owned),
            )
        };
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(tags(&[]), (s("1.1.0"), s("2.0.0-rc.1")));
        assert_eq!(tags(&[("1.1.0", Yanked)]), (s("1.0.0"), s("2.0.0-rc.1")));
        assert_eq!(
            tags(&[("1.1.0", Revoked), ("1.0.0", Revoked)]),
            (s("2.0.0-rc.1"), None),
            "a pre-release before any withdrawn release"
        );
        assert_eq!(
            tags(&[
                ("1.1.0", Revoked),
                ("1.0.0", Yanked),
                ("2.0.0-rc.1", Revoked)
            ]),
            (s("1.0.0"), None),
            "a yanked release only as the last resort"
        );
        assert_eq!(
            tags(&[
                ("1.1.0", Revoked),
                ("1.0.0", Revoked),
                ("2.0.0-rc.1", Revoked)
            ]),
            (None, None),
            "a revoked release never"
        );
    }
}
