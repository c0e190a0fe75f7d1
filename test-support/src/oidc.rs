//! A real OpenID provider as the CI issuer of the trusted-publishing tests: `test-support/oidc-issuer.mjs` run by
//! `node` with the pinned `oidc-provider` (scripts/setup.d/66-oidc-provider.sh installs it under `.toolchains/`).
//! Two issuers, `ci` and `other`, each with its own key; [`Issuer::id_token`] asks one for an ID token with custom
//! claims through its token endpoint, [`Issuer::forged`] for one signed with a key it never published.
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The running issuers (killed on drop).
#[derive(Debug)]
pub struct Issuer {
    child: Child,
    /// The trusted issuer's URL (its `iss`).
    pub ci: String,
    /// Another issuer's URL.
    pub other: String,
}

/// Where the pinned oidc-provider is installed: `$X0X_TOOLCHAINS/oidc-provider` or the workspace's
/// `.toolchains/oidc-provider`.
pub fn provider_dir() -> PathBuf {
    let root = std::env::var_os("X0X_TOOLCHAINS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.toolchains"),
        PathBuf::from,
    );
    root.join("oidc-provider")
}

/// `POST path` with a form or JSON body to `base` (loopback, HTTP/1.0-style, `Connection: close`); the body.
fn post(base: &str, path: &str, content_type: &str, body: &str) -> String {
    let hostport = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).expect("connect to the issuer");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, rest) = out.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "issuer answered {head}: {rest}"
    );
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // Decode chunked framing.
        let mut body = String::new();
        let mut r = rest;
        while let Some((size, after)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            body.push_str(&after[..n]);
            r = &after[n + 2..];
        }
        body
    } else {
        rest.to_owned()
    }
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Issuer {
    /// Starts both issuers; panics naming the setup script if oidc-provider is not installed.
    pub fn start() -> Self {
        let dir = provider_dir();
        assert!(
            dir.join("node_modules/oidc-provider/package.json")
                .is_file(),
            "oidc-provider is not installed under {}: run scripts/setup.d/66-oidc-provider.sh",
            dir.display()
        );
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-issuer.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("OIDC_PROVIDER_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the issuer script printed {line:?}: {e}"));
        Self {
            child,
            ci: v["ci"].as_str().unwrap().to_owned(),
            other: v["other"].as_str().unwrap().to_owned(),
        }
    }

    /// An ID token from the issuer at `base` with `claims` (its `aud` is the client id `x0x-ci`); `expires_at`
    /// (epoch seconds) overrides the 300 s lifetime.
    pub fn id_token(base: &str, claims: &serde_json::Value, expires_at: Option<i64>) -> String {
        Self::id_token_for(base, "x0x-ci", claims, expires_at)
    }

    /// [`Issuer::id_token`] for the client `client` (its id is the token's `aud`: `x0x-ci` or `other-audience`).
    pub fn id_token_for(
        base: &str,
        client: &str,
        claims: &serde_json::Value,
        expires_at: Option<i64>,
    ) -> String {
        let mut body = format!(
            "grant_type=urn%3Ax0x%3Aci-id-token&client_id={client}&client_secret=ci-secret&claims={}",
            form_escape(&claims.to_string())
        );
        if let Some(e) = expires_at {
            body = format!("{body}&expires_at={e}");
        }
        let v: serde_json::Value = serde_json::from_str(&post(
            base,
            "/token",
            "application/x-www-form-urlencoded",
            &body,
        ))
        .unwrap();
        v["id_token"].as_str().unwrap().to_owned()
    }

    /// A token claiming to be from the issuer at `base` but signed with a fresh key: `kind` `real_kid` (under
    /// the issuer's real `kid`) or anything else (under an unknown `kid`).
    pub fn forged(base: &str, kind: &str, claims: &serde_json::Value) -> String {
        let body = serde_json::json!({"kind": kind, "claims": claims}).to_string();
        let v: serde_json::Value =
            serde_json::from_str(&post(base, "/forge", "application/json", &body)).unwrap();
        v["id_token"].as_str().unwrap().to_owned()
    }
}

impl Issuer {
    /// Rotates the signing key of the issuer at `base`: tokens are signed under a new `kid` (returned) from now
    /// on, and its JWKS lists the new and the old keys.
    pub fn rotate(base: &str) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&post(base, "/rotate", "application/json", "{}")).unwrap();
        v["kid"].as_str().unwrap().to_owned()
    }

    /// How many times the JWKS of the issuer at `base` was fetched.
    pub fn jwks_fetches(base: &str) -> u64 {
        let hostport = base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(hostport).expect("connect to the issuer");
        write!(
            s,
            "GET /stats HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        v["jwks"].as_u64().unwrap()
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
