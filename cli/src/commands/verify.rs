//! `x0x-dist verify --repo DIR`.
use std::path::PathBuf;

use anyhow::Context as _;
use x0x_dist_repository::repo;

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist verify --repo ./repo\n",
    "  x0x-dist verify --repo /srv/x0x-mirror --root /srv/x0x-mirror/mirror/root.json --at 2030-01-01T00:00:00Z\n",
    "  x0x-dist verify --storage s3://x0x-dist/prod --s3-endpoint http://garage:3900 --database postgres://x0x@db/x0x\n",
))]
pub struct VerifyArgs {
    /// Where the repository is: a directory (with metadata/ and targets/), or a live store (with --database, the
    /// current timestamp is the database's).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// Trusted root to start from [default: DIR/metadata/1.root.json]. Every later N.root.json must chain
    /// from it.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Verify as of this time (RFC 3339) instead of now, e.g. to check what expires before a date.
    #[arg(long)]
    pub at: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `verify`'s `help:` line where the general one ([`super::next_step`]) speaks of a server or a download:
/// here the bytes that do not match are files in DIR, and only `--repo`, `--root` and `--at` exist.
pub fn next_step(code: x0x_dist_manifests::codes::Code) -> Option<&'static str> {
    use x0x_dist_manifests::codes::Code;
    Some(match code {
        Code::MetadataDigestMismatch
        | Code::MetadataLengthMismatch
        | Code::TargetDigestMismatch
        | Code::TargetLengthMismatch => {
            "the file the error names (under DIR/metadata or DIR/targets) differs from what the signed \
             metadata pins: the disk was damaged or the file was changed; restore it from a backup, \
             then run `x0x-dist verify --repo DIR` again"
        }
        Code::MetadataSignatureInvalid | Code::MetadataThresholdNotMet => {
            "the metadata is not signed by the keys the trusted root names: check --root (default \
             DIR/metadata/1.root.json) is this repository's root, or restore the file from a backup"
        }
        _ => return None,
    })
}

/// Runs `verify`.
pub fn run(a: &VerifyArgs) -> anyhow::Result<()> {
    let now = super::time_arg(a.at.as_deref())?;
    let (r, provenance) = if a.store.is_live() {
        let root = a.root.as_ref().map(fs_err::read).transpose()?;
        a.store.with_admin(false, async |admin| {
            let (r, set) = admin
                .verify(root, now)
                .await
                .with_context(|| format!("verifying {}", admin.describe()))?;
            Ok((r, provenance(&set)))
        })?
    } else {
        verify_dir(a, a.store.dir()?, now)?
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "ok": true,
                "root_version": r.root_version,
                "metadata_files": r.metadata_files,
                "targets": r.targets,
                "target_bytes": r.target_bytes,
                "provenance": provenance.iter().map(|(p, v)| serde_json::json!({"target": p, "provenance": v})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "ok: root v{}, {} metadata files, {} targets ({} bytes) verified",
            r.root_version, r.metadata_files, r.targets, r.target_bytes
        );
        for (path, v) in &provenance {
            let fields: Vec<String> = v
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            format!(
                                "{k}={}",
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "provenance {path} (signed by the server's online key): {}",
                x0x_dist::terminal::escape(&fields.join(" "))
            );
        }
    }
    Ok(())
}

/// `verify` of a directory without a database.
fn verify_dir(
    a: &VerifyArgs,
    repo: &std::path::Path,
    now: time::OffsetDateTime,
) -> anyhow::Result<(repo::VerifyReport, Vec<(String, serde_json::Value)>)> {
    // `--repo ./repo/metadata` is a repository's metadata folder, not a place to run `init`.
    if repo.join("1.root.json").is_file() && !repo.join("metadata").is_dir() {
        let parent = repo.parent().unwrap_or(repo);
        return Err(x0x_dist_repository::Error::new(
            x0x_dist_manifests::codes::Code::UsageInvalid,
            format!(
                "{} is the metadata folder of a repository: pass the repository directory, --repo {}",
                repo.display(),
                if parent.as_os_str().is_empty() {
                    ".".to_owned()
                } else {
                    parent.display().to_string()
                }
            ),
        )
        .into());
    }
    let r = repo::verify(repo, a.root.as_deref(), now)
        .with_context(|| format!("verifying {}", repo.display()))?;
    let provenance = provenance(&repo::load_trusted(repo, a.root.as_deref(), now)?);
    Ok((r, provenance))
}

/// The `custom.provenance` of every verified target (trusted publishing with `sign_online`: the CI claims the
/// server checked, signed with its online packages key), by target path.
fn provenance(set: &x0x_dist_manifests::verify::TrustedSet) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for role in set.all_targets().values() {
        for (path, t) in &role.signed().targets {
            if let Some(p) = t.custom.as_ref().and_then(|c| c.get("provenance")) {
                out.push((path.to_string(), p.clone()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
