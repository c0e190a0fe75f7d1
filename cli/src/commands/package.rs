//! `x0x-dist package add|release`.
use std::path::PathBuf;

use anyhow::Context as _;
use x0x_dist_manifests::{PackageName, Version};
use x0x_dist_repository::repo::{self, Artifact, Expiry};

/// Manage the packages of a local repository.
#[derive(Debug, clap::Subcommand)]
pub enum PackageCommand {
    /// Delegate a package to publisher keys: adds a role named after the package, trusted for
    /// `<NAME>/*/*`, to the top-level targets (signed with the offline targets key in DIR/keys/), then
    /// writes the next snapshot and timestamp.
    Add(AddArgs),
    /// Release a version into a local repository directory without a server (for air-gapped or static
    /// repositories; needs DIR/online/ keys). Target metadata is inferred from napi file names
    /// (`x0x.linux-x64-gnu.node`, `x0x.wasm32-wasip1.wasm`).
    Release(ReleaseArgs),
    /// Trust a CI identity to publish the package without long-lived secrets (trusted publishing, OIDC): writes
    /// DIR/trust/NAME.json signed with the offline targets key (docs/trusted-publishing.md). With
    /// --sign-online, also adds the server's online packages key (DIR/online/packages.key, created if needed)
    /// to the package's delegation, so the server signs releases itself and records the CI claims as provenance.
    Trust(TrustArgs),
    /// Re-sign the snapshot and timestamp with versions above --past (and above the current ones): after
    /// restoring a backup, sign past every version clients already trust, or they refuse the restored
    /// repository (docs/server.md, "Restore from backup"). Needs DIR/online/ keys.
    Resign(ResignArgs),
}

/// Arguments of `package resign`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist package resign --repo ./restored --past 5000   # above the highest version ever served\n",
    "  x0x-dist package resign --storage s3://x0x-dist/prod --s3-endpoint http://garage:3900 --keys /etc/x0x-dist/keys \\\n",
    "      --database postgres://x0x@db/x0x --past 5000\n",
))]
pub struct ResignArgs {
    /// Where the repository is: a directory, or a live store (commits as a replica does).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// The highest snapshot or timestamp version any client may have seen (from a log, a monitoring probe of
    /// timestamp.json, or a generous margin: gaps are allowed); the new versions are above it.
    #[arg(long, default_value_t = 0)]
    pub past: u64,
}

/// Arguments of `package trust`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist package trust --repo ./repo x0x --issuer https://token.actions.githubusercontent.com \\\n",
    "      --audience x0x-dist --claim repository=x0x-org/x0x \\\n",
    "      --claim workflow_ref=x0x-org/x0x/.github/workflows/release.yml@refs/heads/main --sign-online\n",
    "  x0x-dist package trust --repo ./repo x0x --issuer https://gitlab.com --audience x0x-dist \\\n",
    "      --claim project_path=x0x-org/x0x --claim ref_protected=true\n",
))]
pub struct TrustArgs {
    /// Repository directory.
    #[arg(long)]
    pub repo: PathBuf,
    /// Package name.
    pub name: String,
    /// OpenID issuer URL, exactly as in the tokens' `iss` (https; http only on loopback).
    #[arg(long)]
    pub issuer: String,
    /// Audience the tokens must carry in `aud`.
    #[arg(long)]
    pub audience: String,
    /// A claim the token must carry with exactly this value, as NAME=VALUE; repeat for several.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub claims: Vec<String>,
    /// Let the server sign this package's releases with its online key (PEP 458 style) and record the CI
    /// claims as signed provenance; without it releases stay signed by the publisher key (PEP 480 style).
    #[arg(long)]
    pub sign_online: bool,
}

/// Arguments of `package add`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist package add --repo ./repo x0x --publisher-key ci.key.pub\n",
    "  x0x-dist package add --repo ./repo x0x --publisher-key a.key.pub --publisher-key b.key.pub --threshold 2\n",
    "  x0x-dist package add --storage s3://x0x-dist/prod --s3-endpoint http://garage:3900 --keys /etc/x0x-dist/keys \\\n",
    "      --database postgres://x0x@db/x0x --targets-key /offline/targets.key x0x --publisher-key ci.key.pub\n",
))]
pub struct AddArgs {
    /// Where the repository is: a directory, or a live store (commits as a replica does).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// The offline targets key that signs the delegation [default: REPO/keys/targets.key; required with
    /// --storage].
    #[arg(long)]
    pub targets_key: Option<PathBuf>,
    /// Package name (lower-case letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Publisher public key file (FILE.pub from `x0x-dist keygen`) or a PKCS#11 URI of a key on a token
    /// (docs/hardware-keys.md); repeat for several keys.
    #[arg(long = "publisher-key", required = true)]
    pub publisher_keys: Vec<PathBuf>,
    /// How many distinct publisher keys must sign each release of the package.
    #[arg(long, default_value_t = 1)]
    pub threshold: u64,
}

/// Arguments of `package release`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist package release --repo ./repo x0x --version 0.1.0 --key ci.key \\\n",
    "      dist/x0x.linux-x64-gnu.node dist/x0x.wasm32-wasip1.wasm\n",
))]
pub struct ReleaseArgs {
    /// Repository directory.
    #[arg(long)]
    pub repo: PathBuf,
    /// Package name.
    pub name: String,
    /// Version to release (semver; versions are immutable).
    #[arg(long)]
    pub version: String,
    /// Publisher secret key file.
    #[arg(long)]
    pub key: PathBuf,
    /// glibc floor to record for glibc builds (e.g. 2.17).
    #[arg(long)]
    pub glibc_floor: Option<String>,
    /// Files named by the napi convention.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Runs `package ...`.
/// The repository's writer lock ([`x0x_dist_repository::lock`]): waits (and says so) while a running server commits.
pub(crate) fn writer_lock(
    repo: &std::path::Path,
) -> anyhow::Result<x0x_dist_repository::lock::WriterLock> {
    if !x0x_dist_repository::repo::Layout::new(repo)
        .metadata()
        .is_dir()
    {
        return Err(x0x_dist_repository::Error::NotFound(repo.to_owned()).into());
    }
    x0x_dist_repository::lock::lock(repo, || {
        eprintln!(
            "waiting for {} (a server is committing to this repository)",
            x0x_dist_repository::lock::lock_path(repo).display()
        );
    })
    .with_context(|| {
        format!(
            "locking {}",
            x0x_dist_repository::lock::lock_path(repo).display()
        )
    })
}

pub fn run(cmd: &PackageCommand) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        PackageCommand::Trust(a) => {
            let name: PackageName = a.name.parse()?;
            let mut claims = std::collections::BTreeMap::new();
            for c in &a.claims {
                let (k, v) = c.split_once('=').ok_or_else(|| {
                    x0x_dist_repository::Error::new(
                        x0x_dist_manifests::codes::Code::UsageInvalid,
                        format!("--claim {c:?} is not NAME=VALUE"),
                    )
                })?;
                claims.insert(k.to_owned(), v.to_owned());
            }
            x0x_dist_repository::trust::check_issuer(a.issuer.trim_end_matches('/')).map_err(
                |e| {
                    x0x_dist_repository::Error::new(
                        x0x_dist_manifests::codes::Code::UsageInvalid,
                        e,
                    )
                },
            )?;
            let _writer = writer_lock(&a.repo)?;
            let spec = x0x_dist_repository::trust::PolicySpec {
                issuer: a.issuer.clone(),
                audience: a.audience.clone(),
                claims,
                sign_online: a.sign_online,
            };
            let r = x0x_dist_repository::trust::set_policy(
                &a.repo,
                &name,
                spec,
                now,
                &Expiry::default(),
            )
            .with_context(|| format!("setting the trusted-publishing policy of {name}"))?;
            println!(
                "trusted {} (aud {}) to publish {name}{} (policy version {}, signed with the targets key)",
                r.policy.issuer,
                r.policy.audience,
                if r.policy.sign_online { ", signed online by the server" } else { "" },
                r.policy.version
            );
            for (k, v) in &r.policy.claims {
                println!("  requires {k} = {v}");
            }
            if let Some(v) = r.targets_version {
                println!("  added the online packages key to the delegation (targets version {v})");
            }
            if r.created_mac_key {
                println!("  created the upload-token key in the online keys directory (copy it to every replica)");
            }
            Ok(())
        }
        PackageCommand::Add(a) => {
            let name: PackageName = a.name.parse()?;
            let keys = a
                .publisher_keys
                .iter()
                .map(|p| {
                    repo::read_public_key(p).with_context(|| {
                        format!(
                            "reading publisher key {}",
                            x0x_dist_repository::repo::describe_key(p)
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let v = if a.store.is_live() {
                add_live(a, &name, &keys, now)?
            } else {
                let dir = a.store.dir()?;
                let _writer = writer_lock(dir)?;
                repo::add_package(dir, &name, &keys, a.threshold, now, &Expiry::default())
                    .with_context(|| format!("delegating package {name} in {}", dir.display()))?
            };
            println!(
                "delegated {name}/*/* to {} key(s), threshold {} (targets version {v})",
                keys.len(),
                a.threshold
            );
            Ok(())
        }
        PackageCommand::Resign(a) => {
            let (s, t) = if a.store.is_live() {
                a.store.with_admin(true, async |admin| {
                    let c = admin
                        .resign_past(a.past, now)
                        .await
                        .with_context(|| format!("re-signing {}", admin.describe()))?;
                    Ok((c.snapshot_version, c.head.version))
                })?
            } else {
                let dir = a.store.dir()?;
                let _writer = writer_lock(dir)?;
                repo::resign_past(dir, a.past, now, &Expiry::default())
                    .with_context(|| format!("re-signing {}", dir.display()))?
            };
            println!("re-signed snapshot version {s}, timestamp version {t}");
            Ok(())
        }
        PackageCommand::Release(a) => {
            let name: PackageName = a.name.parse()?;
            let version: Version = a.version.parse()?;
            let key = repo::read_secret_key(&a.key).with_context(|| {
                format!(
                    "reading key {}",
                    x0x_dist_repository::repo::describe_key(&a.key)
                )
            })?;
            let mut artifacts = Vec::new();
            for f in &a.files {
                let file_name = f
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("{} has no UTF-8 file name", f.display()))?
                    .to_owned();
                let data = fs_err::read(f)?;
                artifacts.push(Artifact {
                    file_name,
                    data,
                    glibc_floor: a.glibc_floor.clone(),
                });
            }
            let _writer = writer_lock(&a.repo)?;
            let v = repo::release(
                &a.repo,
                &name,
                &version,
                &artifacts,
                &key,
                now,
                &Expiry::default(),
            )
            .with_context(|| format!("releasing {name} {version} into {}", a.repo.display()))?;
            println!(
                "released {name} {version} ({} file(s), role version {v})",
                artifacts.len()
            );
            Ok(())
        }
    }
}

/// `package add` on a live store ([`x0x_dist_server::admin`]): the delegation committed as a replica commits.
fn add_live(
    a: &AddArgs,
    name: &PackageName,
    keys: &[x0x_dist_manifests::PublicKey],
    now: time::OffsetDateTime,
) -> anyhow::Result<u64> {
    let key_path = match (&a.targets_key, &a.store.repo) {
        (Some(k), _) => k.clone(),
        (None, Some(dir)) if a.store.storage.is_none() => {
            x0x_dist_repository::repo::Layout::new(dir).key_file("targets")
        }
        _ => {
            return Err(x0x_dist_repository::Error::new(
                x0x_dist_manifests::codes::Code::UsageInvalid,
                "--storage: pass the offline targets key with --targets-key FILE (REPO/keys/targets.key of the \
                 repository's owner)",
            )
            .into())
        }
    };
    let targets_key = repo::read_secret_key(&key_path).with_context(|| {
        format!(
            "reading the targets key {}",
            x0x_dist_repository::repo::describe_key(&key_path)
        )
    })?;
    let expiry = Expiry::default();
    let expires = (now + expiry.targets)
        .replace_nanosecond(0)
        .unwrap_or(now + expiry.targets);
    let audit = x0x_dist_server::coordinator::Audit {
        actor: x0x_dist_server::admin::cli_actor(),
        action: "package.add".into(),
        detail: serde_json::json!({ "package": name.as_str(), "threshold": a.threshold }),
    };
    a.store.with_admin(true, async |admin| {
        let r = admin
            .change_targets(&targets_key, &audit, now, expires, |t| {
                repo::delegate(t, name, keys, a.threshold).map_err(Into::into)
            })
            .await
            .with_context(|| format!("delegating package {name} in {}", admin.describe()))?;
        Ok(r.targets_version)
    })
}
