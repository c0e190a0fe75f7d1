//! `x0x-dist publish`: publish a release to a server.
use std::path::PathBuf;
use x0x_dist_manifests::codes::Code;

use anyhow::Context as _;
use x0x_dist_server::config::env;

/// The long description of `publish` (its `--help`).
pub const LONG_ABOUT: &str = concat!(
    "Publish a release: infer each file's target from its napi name (`x0x.linux-x64-gnu.node`, ",
    "`x0x.wasm32-wasip1.wasm`) and its glibc floor from the ELF, upload the files, read the package's ",
    "current role (verified through TUF), add the release, sign it with the publisher key and submit ",
    "it. Retries transient errors; rebuilds and resubmits if another publish won a race.",
);

/// Arguments of `publish`: see [`LONG_ABOUT`].
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist publish --server http://127.0.0.1:8080 --token-file token --key ci.key \\\n",
    "      --package x0x --version 0.1.0 dist/x0x.linux-x64-gnu.node dist/x0x.wasm32-wasip1.wasm\n",
    "\n",
    "The token: --token-file FILE or X0X_DIST_TOKEN (in CI, a secret variable); --token TOKEN puts it in\n",
    "the process list, where other local users can read it.\n",
    "Environment: X0X_DIST_TOKEN, X0X_DIST_CA_CERTS, HTTPS_PROXY/NO_PROXY\n",
))]
pub struct PublishArgs {
    /// Server base URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub server: String,
    /// Upload token (from `x0x-dist token create`). Prefer --token-file or X0X_DIST_TOKEN: a command-line
    /// argument is visible to other local users in the process list.
    #[arg(long, env = env::TOKEN, hide_env_values = true)]
    pub token: Option<String>,
    /// Read the upload token from FILE (its first line; the output of `x0x-dist token create`); wins over
    /// --token and X0X_DIST_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Publisher secret key file (from `x0x-dist keygen`), or a PKCS#11 URI of a key on a hardware token
    /// (`pkcs11:token=…;object=…`, PIN from `?pin-source=file:PATH` or X0X_DIST_PKCS11_PIN; docs/hardware-keys.md).
    /// Not needed with --stage, nor for a package whose
    /// trusted-publishing policy lets the server sign online (`package trust --sign-online`).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Upload and verify the release but do not sign it in: it stays staged (listed by the API, never served
    /// to loaders) until another identity runs `x0x-dist release approve`.
    #[arg(long)]
    pub stage: bool,
    /// Trusted publishing: read a CI provider's OIDC ID token from FILE and exchange it for a short-lived upload
    /// token (instead of --token); docs/trusted-publishing.md shows how GitHub Actions and GitLab obtain one.
    #[arg(long, value_name = "FILE", env = env::OIDC_TOKEN_FILE, hide_env_values = true)]
    pub oidc_token_file: Option<PathBuf>,
    /// Package name.
    #[arg(long)]
    pub package: String,
    /// Release version (semver).
    #[arg(long)]
    pub version: String,
    /// Trusted root.json to verify the server's metadata against [default: the server's 1.root.json].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Lifetime of the signed package role, in days.
    #[arg(long, default_value_t = 365)]
    pub expires_days: i64,
    /// Release files, named by the napi convention.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `publish`.
pub fn run(a: &PublishArgs) -> anyhow::Result<()> {
    if !(a.server.starts_with("http://") || a.server.starts_with("https://")) {
        // Without a scheme the HTTP client fails with a bare "builder error", retried as if transient.
        return Err(x0x_dist_repository::Error::new(
            Code::UsageInvalid,
            format!(
                "--server {:?} is not an http(s) URL; did you mean http://{}?",
                a.server, a.server
            ),
        )
        .into());
    }
    let token = match (&a.token, &a.token_file) {
        (_, Some(f)) => fs_err::read_to_string(f)?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        (Some(t), None) => t.clone(),
        (None, None) => String::new(),
    };
    let token = match &a.oidc_token_file {
        Some(f) => exchange(a, f)?,
        None => token,
    };
    if a.stage || a.key.is_none() {
        return run_lifecycle(a, &token);
    }
    if token.is_empty() {
        return Err(x0x_dist_repository::Error::new(
            x0x_dist_manifests::codes::Code::AuthMissing,
            format!(
                "no upload token: pass --token-file FILE or set {} (from `x0x-dist token create`)",
                env::TOKEN
            ),
        )
        .into());
    }
    let key_path = a.key.as_ref().expect("checked above");
    let key = x0x_dist_repository::repo::read_secret_key(key_path).with_context(|| {
        format!(
            "reading key {}",
            x0x_dist_repository::repo::describe_key(key_path)
        )
    })?;
    let package = a.package.parse()?;
    let version = a.version.parse()?;
    let root = a.root.as_ref().map(fs_err::read).transpose()?;
    let req = x0x_dist::client::PublishRequest {
        server: &a.server,
        token: &token,
        key: &key,
        package: &package,
        version: &version,
        files: &a.files,
        root: root.as_deref(),
        expires_in: time::Duration::days(a.expires_days),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (report, files) = rt.block_on(x0x_dist::client::publish(&req))?;
    println!(
        "published {} {} (role version {}, snapshot {})",
        report.package, version, report.version, report.snapshot_version
    );
    for f in &files {
        let floor = f
            .glibc_floor
            .as_ref()
            .map(|g| format!(" glibc>={g}"))
            .unwrap_or_default();
        println!(
            "  {}/{}/{}  {} bytes  sha256:{}  {}{floor}",
            package,
            version,
            f.file_name,
            f.length,
            f.sha256.to_hex(),
            f.platform.triple()
        );
    }
    Ok(())
}

/// Trusted publishing: exchanges the CI ID token in `file` for an upload token of the package.
pub fn exchange(a: &PublishArgs, file: &std::path::Path) -> anyhow::Result<String> {
    exchange_for(&a.server, &a.package, file)
}

/// Exchanges the CI ID token in `file` at `server` for an upload token of `package` (also `release`'s).
pub fn exchange_for(server: &str, package: &str, file: &std::path::Path) -> anyhow::Result<String> {
    let package: x0x_dist_manifests::PackageName = package.parse()?;
    let id_token = fs_err::read_to_string(file)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut client = x0x_dist::client::Client::new(server, "")?;
        let v = client.exchange_oidc(&package, id_token.trim()).await?;
        eprintln!(
            "exchanged the CI ID token for an upload token of {package} ({})",
            v.get("principal")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
        );
        Ok(v.get("token")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned())
    })
}

/// `publish --stage`, `publish` through trusted publishing (`--oidc-token-file`), or without `--key` (the server
/// signs online): upload the files, then `POST /api/v1/packages/NAME/releases`.
fn run_lifecycle(a: &PublishArgs, token: &str) -> anyhow::Result<()> {
    let package: x0x_dist_manifests::PackageName = a.package.parse()?;
    let version: x0x_dist_manifests::Version = a.version.parse()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = x0x_dist::client::Client::new(&a.server, token)?;
        if token.is_empty() {
            return Err(x0x_dist_repository::Error::new(
                Code::AuthMissing,
                format!(
                    "no upload token: pass --token-file FILE, set {}, or --oidc-token-file FILE",
                    env::TOKEN
                ),
            )
            .into());
        }
        let files = a
            .files
            .iter()
            .map(|p| x0x_dist::client::inspect_file(&package, p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let targets = x0x_dist::client::lifecycle::release_targets(&package, &version, &files)?;
        for f in &files {
            client.upload(&package, f).await?;
        }
        let v = client.release(&package, &version, &targets, a.stage).await?;
        if a.stage {
            println!(
                "staged {package} {version} ({} file(s)); another identity approves it with \
                 `x0x-dist release approve {package} {version}`",
                files.len()
            );
        } else {
            println!(
                "published {package} {version} signed by the server's online key (role version {}, snapshot {})",
                v.get("version").and_then(serde_json::Value::as_u64).unwrap_or(0),
                v.get("snapshot_version").and_then(serde_json::Value::as_u64).unwrap_or(0)
            );
        }
        Ok(())
    })
}
