//! The release lifecycle over the API: exchanging a CI ID token (`POST /api/v1/oidc/token`), releases without a
//! client signature (staged, or signed by the server's online key), and approving or rejecting staged ones.
use std::collections::BTreeMap;

use serde_json::Value;
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::{
    PackageName, Signed, TargetCustom, TargetFile, TargetName, TargetPath, Targets, Version,
};

use super::{remote_error, transport, Client, ReleaseFile, RemoteError};

/// The targets a release adds, as the server expects them (unsigned).
pub fn release_targets(
    package: &PackageName,
    version: &Version,
    files: &[ReleaseFile],
) -> anyhow::Result<BTreeMap<TargetName, TargetFile>> {
    let mut out = BTreeMap::new();
    for f in files {
        let path = TargetPath::new(package, version, &f.file_name)?;
        let custom = TargetCustom::new(package, version, f.platform, f.glibc_floor.clone());
        let mut t = TargetFile::for_bytes(&[], Some(&custom));
        t.length = f.length;
        t.hashes.insert("sha256".into(), f.sha256.to_hex());
        t.set_published(time::OffsetDateTime::now_utc());
        out.insert(path.name(), t);
    }
    Ok(out)
}

impl Client {
    async fn post_json(&self, path: &str, body: Vec<u8>, auth: bool) -> Result<Value, RemoteError> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if auth {
            req = req.bearer_auth(&self.token);
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                let b = r.bytes().await.map_err(|e| transport(&e))?;
                serde_json::from_slice(&b).map_err(|e| RemoteError {
                    code: Code::NetworkHttpStatus.as_str().into(),
                    detail: format!("bad response from {url}: {e}"),
                    status: 200,
                    retry_after: None,
                })
            }
            Ok(r) => Err(remote_error(r).await),
            Err(e) => Err(transport(&e)),
        }
    }

    /// Exchanges a CI provider's ID token for an upload token scoped to `package`; the client uses it from then
    /// on. Returns the server's answer (`token`, `expires`, `principal`, `sign_online`).
    pub async fn exchange_oidc(
        &mut self,
        package: &PackageName,
        id_token: &str,
    ) -> Result<Value, RemoteError> {
        let body = serde_json::to_vec(&serde_json::json!({"package": package, "token": id_token}))
            .unwrap_or_default();
        let v = self.post_json("/api/v1/oidc/token", body, false).await?;
        if let Some(t) = v.get("token").and_then(Value::as_str) {
            t.clone_into(&mut self.token);
        }
        Ok(v)
    }

    /// `POST /api/v1/packages/{package}/releases`: stage the release, or have the server sign it online.
    pub async fn release(
        &self,
        package: &PackageName,
        version: &Version,
        targets: &BTreeMap<TargetName, TargetFile>,
        stage: bool,
    ) -> Result<Value, RemoteError> {
        let body = serde_json::to_vec(
            &serde_json::json!({"version": version.to_string(), "targets": targets, "stage": stage}),
        )
        .unwrap_or_default();
        self.post_json(&format!("/api/v1/packages/{package}/releases"), body, true)
            .await
    }

    /// `GET /api/v1/packages/{package}/staged`.
    pub async fn staged(&self, package: &PackageName) -> Result<Value, RemoteError> {
        let url = format!("{}/api/v1/packages/{package}/staged", self.base);
        match self.http.get(&url).send().await {
            Ok(r) if r.status().is_success() => {
                let b = r.bytes().await.map_err(|e| transport(&e))?;
                serde_json::from_slice(&b).map_err(|e| RemoteError {
                    code: Code::NetworkHttpStatus.as_str().into(),
                    detail: format!("bad response from {url}: {e}"),
                    status: 200,
                    retry_after: None,
                })
            }
            Ok(r) => Err(remote_error(r).await),
            Err(e) => Err(transport(&e)),
        }
    }

    /// Approves a staged release: with the approver's signed role, or (`None`) signed by the server online.
    pub async fn approve(
        &self,
        package: &PackageName,
        version: &str,
        role: Option<&Signed<Targets>>,
    ) -> Result<Value, RemoteError> {
        let body = role.map(Signed::to_compact_bytes).unwrap_or_default();
        self.post_json(
            &format!("/api/v1/packages/{package}/staged/{version}/approve"),
            body,
            true,
        )
        .await
    }

    /// Rejects a staged release.
    pub async fn reject(&self, package: &PackageName, version: &str) -> Result<Value, RemoteError> {
        self.post_json(
            &format!("/api/v1/packages/{package}/staged/{version}/reject"),
            Vec::new(),
            true,
        )
        .await
    }

    /// `POST /api/v1/packages/{package}/revocations`: yank or revoke a published release.
    pub async fn withdraw(
        &self,
        package: &PackageName,
        version: &str,
        state: &str,
        reason: &str,
        advisory: Option<&str>,
    ) -> Result<Value, RemoteError> {
        let body = serde_json::to_vec(&serde_json::json!({
            "version": version, "state": state, "reason": reason, "advisory": advisory,
        }))
        .unwrap_or_default();
        self.post_json(
            &format!("/api/v1/packages/{package}/revocations"),
            body,
            true,
        )
        .await
    }
}
