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
    /// Publisher secret key file (from `x0x-dist keygen`).
    #[arg(long)]
    pub key: PathBuf,
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
    let key = x0x_dist_manifests::SigningKey::from_secret_file(&fs_err::read(&a.key)?)
        .with_context(|| format!("reading key {}", a.key.display()))?;
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
