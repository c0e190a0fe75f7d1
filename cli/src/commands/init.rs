//! `x0x-dist init --repo DIR [--storage s3://BUCKET/PREFIX]`.
use std::path::PathBuf;

use anyhow::Context as _;
use x0x_dist_repository::repo::{self, Expiry};

/// Arguments of `init`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist init --repo ./repo    # then keep ./repo/keys/ offline\n",
    "  x0x-dist init --repo ./repo \\\n",
    "      --root-key 'pkcs11:token=offline;object=root?pin-source=file:/secure/pin'\n",
    "\n",
    "A role key given as a PKCS#11 URI stays on its token: DIR/keys/ROLE.key (or DIR/online/ROLE.key) then holds\n",
    "the URI instead of key material, and every later command (package add, the server's online keys) signs\n",
    "through the token. The PIN comes from pin-source=file:PATH or X0X_DIST_PKCS11_PIN, never from the command\n",
    "line (docs/hardware-keys.md).\n",
    "\n",
    "Straight into object storage: --storage s3://BUCKET/PREFIX (with --s3-endpoint) makes the repository in\n",
    "DIR, which keeps its keys, then copies and verifies it into the store, which must hold no repository:\n",
    "  x0x-dist init --repo ./repo --storage s3://x0x-dist/prod --s3-endpoint http://127.0.0.1:3900\n",
    "  x0x-dist serve --storage s3://x0x-dist/prod --s3-endpoint http://127.0.0.1:3900 --keys ./repo/online\n",
))]
pub struct InitArgs {
    /// Directory of the new repository (created if missing; must not already hold one).
    #[arg(long)]
    pub repo: PathBuf,
    /// Lifetime of the root metadata, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=36500))]
    pub root_expires_days: i64,
    /// Lifetime of the top-level targets metadata, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=36500))]
    pub targets_expires_days: i64,
    /// Type of the four keys init generates (root, targets, snapshot, timestamp); see `keygen --help`.
    #[arg(long, value_enum, default_value_t = super::keygen::KeyType::Ed25519)]
    pub key_type: super::keygen::KeyType,
    /// Use this root key instead of generating one: a secret key file or a PKCS#11 URI.
    #[arg(long, value_name = "FILE|PKCS11-URI")]
    pub root_key: Option<String>,
    /// Use this targets key instead of generating one: a secret key file or a PKCS#11 URI.
    #[arg(long, value_name = "FILE|PKCS11-URI")]
    pub targets_key: Option<String>,
    /// Use this snapshot key (online) instead of generating one: a secret key file or a PKCS#11 URI.
    #[arg(long, value_name = "FILE|PKCS11-URI")]
    pub snapshot_key: Option<String>,
    /// Use this timestamp key (online) instead of generating one: a secret key file or a PKCS#11 URI.
    #[arg(long, value_name = "FILE|PKCS11-URI")]
    pub timestamp_key: Option<String>,
    /// Also put the new repository into this object store (s3://BUCKET/PREFIX), which must hold none: DIR keeps
    /// the keys (and a copy), the store gets metadata and tokens, copied and verified as `migrate` does.
    #[arg(long, env = x0x_dist_server::config::env::STORAGE, hide_env_values = true, value_name = "s3://BUCKET/PREFIX")]
    pub storage: Option<String>,
    /// Endpoint of the object store, e.g. http://127.0.0.1:3900 [default: AWS].
    #[arg(long, env = x0x_dist_server::config::env::S3_ENDPOINT, hide_env_values = true)]
    pub s3_endpoint: Option<String>,
    /// Region of the object store [default: us-east-1].
    #[arg(long, env = x0x_dist_server::config::env::S3_REGION, hide_env_values = true)]
    pub s3_region: Option<String>,
}

/// Runs `init`.
pub fn run(a: &InitArgs) -> anyhow::Result<()> {
    // The store is checked before anything is made: one that already holds a repository is refused.
    let store = match &a.storage {
        None => None,
        Some(url) if !url.starts_with("s3://") => {
            return Err(x0x_dist_repository::Error::new(
                x0x_dist_manifests::codes::Code::UsageInvalid,
                format!(
                    "--storage {url}: expected s3://BUCKET/PREFIX (a directory repository is made with --repo \
                     alone)"
                ),
            )
            .into())
        }
        Some(url) => {
            let s3 = super::migrate::s3_settings(a.s3_endpoint.as_ref(), a.s3_region.as_ref());
            let store = x0x_dist_server::storage::open(url, &s3)?;
            let rt = runtime()?;
            let held = rt.block_on(store.list(x0x_dist_server::storage::Area::Metadata))?;
            if !held.is_empty() {
                return Err(x0x_dist_repository::Error::new(
                    x0x_dist_manifests::codes::Code::RepoExists,
                    format!(
                        "{} already holds a repository ({} metadata files): nothing was made. Serve it, or \
                         pick an empty prefix",
                        store.describe(),
                        held.len()
                    ),
                )
                .into());
            }
            Some((store, rt))
        }
    };
    let expiry = Expiry {
        root: time::Duration::days(a.root_expires_days),
        targets: time::Duration::days(a.targets_expires_days),
        ..Expiry::default()
    };
    let given: std::collections::BTreeMap<&str, String> = [
        ("root", &a.root_key),
        ("targets", &a.targets_key),
        ("snapshot", &a.snapshot_key),
        ("timestamp", &a.timestamp_key),
    ]
    .into_iter()
    .filter_map(|(r, k)| Some((r, k.clone()?)))
    .collect();
    let report = repo::init_with_keys(
        &a.repo,
        time::OffsetDateTime::now_utc(),
        &expiry,
        a.key_type.into(),
        &given,
    )
    .with_context(|| format!("creating a repository in {}", a.repo.display()))?;
    println!("created repository {}", a.repo.display());
    for (role, id) in &report.keys {
        let place = if matches!(*role, "root" | "targets") {
            "offline, keys/"
        } else {
            "online, online/"
        };
        println!("  {role:<9} key {id} ({place}{role}.key)");
    }
    println!(
        "keep keys/ (root, targets) offline; the server needs only online/ (snapshot, timestamp)"
    );
    if let Some((dst, rt)) = store {
        let src = x0x_dist_server::storage::local::LocalStore::open(&a.repo)?;
        let progress = x0x_dist_server::migrate::NoProgress;
        rt.block_on(async {
            x0x_dist_server::migrate::copy(&src, dst.as_ref(), 4, &progress).await?;
            x0x_dist_server::migrate::verify(&src, dst.as_ref(), 4, &progress).await?;
            anyhow::Ok(())
        })
        .with_context(|| {
            format!(
                "copying the new repository into {} (it is complete in {}: re-run `x0x-dist migrate --from {} \
                 --to {}`)",
                dst.describe(),
                a.repo.display(),
                a.repo.display(),
                a.storage.as_deref().unwrap_or_default()
            )
        })?;
        println!(
            "copied into {} and verified; serve it with: x0x-dist serve --storage {}{} --keys {}",
            dst.describe(),
            a.storage.as_deref().unwrap_or_default(),
            a.s3_endpoint
                .as_ref()
                .map(|e| format!(" --s3-endpoint {e}"))
                .unwrap_or_default(),
            a.repo.join("online").display()
        );
    }
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
