//! `npm audit`'s bulk advisories answer (`POST /npm/-/npm/v1/security/advisories/bulk`): the revoked releases
//! (the signed `revocations` role, [`super::registry::Withdrawn`]) of the hosted packages the request names,
//! one advisory per revoked version the request lists, severity `high`, `url` the revocation's advisory (else
//! the version document). Yanked releases are not advisories (npm shows their `deprecated` message instead).
//! Names this registry does not host get no entry.
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use sha2::Digest as _;

use super::registry::{Registry, Source};
use super::NpmName;
use crate::error::ApiError;

/// Most package names one request may name (npm sends one per installed package).
const MAX_NAMES: usize = 100_000;

/// A stable numeric advisory id for `name`@`version` (npm reports ids as numbers): 48 bits of its SHA-256.
fn advisory_id(name: &str, version: &str) -> u64 {
    let d = sha2::Sha256::digest(format!("{name}@{version}").as_bytes());
    d[..6].iter().fold(0u64, |a, b| (a << 8) | u64::from(*b))
}

/// The bulk answer to `body` (`{"<name>": ["<version>", …], …}`).
pub async fn bulk(
    reg: &Registry,
    st: &impl Source,
    body: &[u8],
    base: &str,
) -> Result<Value, ApiError> {
    let req: BTreeMap<String, Vec<String>> = if body.iter().all(u8::is_ascii_whitespace) {
        BTreeMap::new()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("not an npm bulk advisories request: {e}")))?
    };
    if req.len() > MAX_NAMES {
        return Err(ApiError::BadRequest(format!(
            "{} package names in one audit request (at most {MAX_NAMES})",
            req.len()
        )));
    }
    let withdrawn = reg.withdrawn(st).await?;
    let mut out = Map::new();
    for (raw, versions) in &req {
        let Ok(name) = NpmName::parse(raw) else {
            continue;
        };
        let Some((package, _, hosted)) = reg.hosted(st, &name).await? else {
            continue;
        };
        let list: Vec<Value> = withdrawn
            .revoked(&package)
            .into_iter()
            .filter(|(v, _)| hosted.contains(v) && versions.contains(v))
            .map(|(v, r)| {
                let url = r
                    .advisory
                    .clone()
                    .unwrap_or_else(|| format!("{base}/npm/{}/{v}", name.url_path()));
                json!({
                    "id": advisory_id(raw, &v),
                    "url": url,
                    "title": format!("{name} {v} is revoked: {}", r.reason),
                    "severity": "high",
                    "vulnerable_versions": v,
                    "cwe": [],
                    "cvss": {"score": 0, "vectorString": null},
                })
            })
            .collect();
        if !list.is_empty() {
            out.insert(raw.clone(), Value::Array(list));
        }
    }
    Ok(Value::Object(out))
}
