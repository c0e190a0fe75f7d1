//! `x0x-dist release approve|reject PACKAGE VERSION`: the second identity of a staged release.
use std::path::PathBuf;

use anyhow::Context as _;
use x0x_dist_manifests::codes::Code;
use x0x_dist_manifests::metadata::NewRole as _;
use x0x_dist_manifests::{PackageName, Signed, TargetFile, TargetName, Targets};
use x0x_dist_server::config::env;

/// Approve or reject a staged release (`publish --stage`).
#[derive(Debug, clap::Subcommand)]
pub enum ReleaseCommand {
    /// Sign a staged release in: with --key, this command signs the package's next role (current role plus the
    /// staged files) with that publisher key; without it, the server signs it with its online key (only for a
    /// package whose trusted-publishing policy says sign_online). Must be another identity (token or OIDC
    /// subject) than the one that staged it (`release.self_approval`).
    Approve(ReleaseArgs),
    /// Drop a staged release (another identity than the stager's).
    Reject(ReleaseArgs),
    /// Yank a published release: loaders never pick it for a new install but still load it where a lockfile
    /// or cache pins it, with a warning naming the reason. Written to the signed `revocations` role.
    Yank(WithdrawArgs),
    /// Revoke a published release: loaders refuse to load it, even from a warm cache. Final (a revoked release
    /// cannot be yanked or revoked again). Written to the signed `revocations` role.
    Revoke(WithdrawArgs),
}

/// Arguments of `release yank|revoke`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist release yank x0x 1.2.0 --reason \"crashes on musl\" --server https://dist.example --token-file t\n",
    "  x0x-dist release revoke x0x 1.2.0 --reason \"CVE-2026-1234\" --advisory https://example.com/adv \\\n",
    "      --server https://dist.example --token-file t\n",
))]
pub struct WithdrawArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Why (one line; loaders show it).
    #[arg(long)]
    pub reason: String,
    /// Advisory URL (what happened, which version to move to).
    #[arg(long)]
    pub advisory: Option<String>,
}

/// Arguments of `release approve|reject`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist release approve x0x 1.2.0 --server https://dist.example --token-file reviewer.token\n",
    "  x0x-dist release approve x0x 1.2.0 --server https://dist.example --token-file reviewer.token --key ci.key\n",
    "  x0x-dist release reject x0x 1.2.0 --server https://dist.example --token-file reviewer.token\n",
))]
pub struct ReleaseArgs {
    /// Package name.
    pub package: String,
    /// The staged version.
    pub version: String,
    /// Server base URL.
    #[arg(long)]
    pub server: String,
    /// Upload token (prefer --token-file or X0X_DIST_TOKEN).
    #[arg(long, env = env::TOKEN, hide_env_values = true)]
    pub token: Option<String>,
    /// Read the upload token from FILE (its first line).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Exchange this CI OIDC ID token for an upload token instead.
    #[arg(long, value_name = "FILE")]
    pub oidc_token_file: Option<PathBuf>,
    /// Publisher secret key file or PKCS#11 URI to sign the release with (approve only).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Trusted root.json to verify the server's metadata against [default: the server's 1.root.json].
    #[arg(long)]
    pub root: Option<PathBuf>,
}

fn token(a: &ReleaseArgs) -> anyhow::Result<String> {
    if let Some(f) = &a.oidc_token_file {
        return super::publish::exchange_for(&a.server, &a.package, f);
    }
    let t = match (&a.token, &a.token_file) {
        (_, Some(f)) => fs_err::read_to_string(f)?
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        (Some(t), None) => t.clone(),
        (None, None) => String::new(),
    };
    if t.is_empty() {
        return Err(x0x_dist_repository::Error::new(
            Code::AuthMissing,
            format!(
                "no upload token: pass --token-file FILE, set {}, or --oidc-token-file FILE",
                env::TOKEN
            ),
        )
        .into());
    }
    Ok(t)
}

/// Runs `release ...`.
pub fn run(cmd: &ReleaseCommand) -> anyhow::Result<()> {
    let (a, approve) = match cmd {
        ReleaseCommand::Approve(a) => (a, true),
        ReleaseCommand::Reject(a) => (a, false),
        ReleaseCommand::Yank(w) => return withdraw(w, "yanked"),
        ReleaseCommand::Revoke(w) => return withdraw(w, "revoked"),
    };
    let package: PackageName = a.package.parse()?;
    let token = token(a)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = x0x_dist::client::Client::new(&a.server, &token)?;
        if !approve {
            client.reject(&package, &a.version).await?;
            println!("rejected staged {package} {}", a.version);
            return Ok(());
        }
        let role = match &a.key {
            None => None,
            Some(k) => {
                let key = x0x_dist_repository::repo::read_secret_key(k).with_context(|| {
                    format!("reading key {}", x0x_dist_repository::repo::describe_key(k))
                })?;
                let staged = client.staged(&package).await?;
                let rec = staged
                    .get("staged")
                    .and_then(serde_json::Value::as_array)
                    .and_then(|l| {
                        l.iter().find(|s| {
                            s.get("version").and_then(serde_json::Value::as_str) == Some(&a.version)
                        })
                    })
                    .ok_or_else(|| {
                        x0x_dist_repository::Error::new(
                            Code::ReleaseNotStaged,
                            format!("no staged release {package} {}", a.version),
                        )
                    })?;
                let targets: std::collections::BTreeMap<TargetName, TargetFile> =
                    serde_json::from_value(rec.get("targets").cloned().unwrap_or_default())?;
                let root = a.root.as_ref().map(fs_err::read).transpose()?;
                let current = client.current_role(&package, root.as_deref(), &key).await?;
                let cur = current.as_ref().map(Signed::signed);
                let mut role = Targets::empty(
                    cur.map_or(1, |c| c.version + 1),
                    time::OffsetDateTime::now_utc() + time::Duration::days(365),
                );
                if let Some(c) = cur {
                    role.targets = c.targets.clone();
                }
                role.targets.extend(targets);
                Some(Signed::new(role, &[&key])?)
            }
        };
        let v = client.approve(&package, &a.version, role.as_ref()).await?;
        println!(
            "approved {package} {} (role version {}, signed by {})",
            a.version,
            v.get("version")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            if a.key.is_some() {
                "your key"
            } else {
                "the server's online key"
            }
        );
        Ok(())
    })
}

fn withdraw(w: &WithdrawArgs, state: &str) -> anyhow::Result<()> {
    let a = &w.release;
    let package: PackageName = a.package.parse()?;
    let token = token(a)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = x0x_dist::client::Client::new(&a.server, &token)?;
        let v = client
            .withdraw(
                &package,
                &a.version,
                state,
                &w.reason,
                w.advisory.as_deref(),
            )
            .await?;
        println!(
            "{state} {package} {} (revocations version {}, snapshot {})",
            a.version,
            v.get("revocations_version")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            v.get("snapshot_version")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        );
        Ok(())
    })
}
