//! `x0x-dist migrate --from SRC --to DST`: copy a repository between stores, then verify the copy.
use x0x_dist_manifests::codes::Code;
use x0x_dist_server::config::{env, S3Settings};
use x0x_dist_server::migrate;

use crate::progress::MigrateBar;

/// The long description of `migrate` (its `--help`).
pub const LONG_ABOUT: &str = concat!(
    "Copy a repository from one store to another — a directory or an S3-compatible bucket ",
    "(s3://BUCKET/PREFIX) — then verify the copy. Copied: blobs (re-hashed on the way in), published ",
    "targets, every metadata file, tokens.json, and timestamp.json last, so a server already reading the ",
    "destination never sees a timestamp naming something missing. Resumable: what the destination already ",
    "holds identically is skipped, so an interrupted run, or a run after new publishes on the source, ",
    "copies only the rest. Then every source object is checked in the destination (metadata byte for byte, ",
    "blob and target lengths, every blob's SHA-256 recomputed from the destination). A destination that ",
    "holds a different repository is refused (repo.different) before anything is copied, and one that holds a ",
    "newer state of the same repository (a higher timestamp or role version, tokens changed there) or that a ",
    "live writer claims is refused too (repo.newer, repo.concurrent_writer): migrate never rolls a repository ",
    "back (docs/server.md, \"Restore from backup\"). ",
    "The online keys (DIR/online/) are NOT copied: they never belong in a store; copy them yourself to the ",
    "machine of the publish leader (`serve --keys DIR`). For an exact copy, stop publishing on the source ",
    "for the last run (docs/server.md, \"Scale-out\").",
);

/// Arguments of `migrate`: see [`LONG_ABOUT`].
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist migrate --from /srv/x0x-dist --to s3://x0x-dist/prod --s3-endpoint http://127.0.0.1:3900\n",
    "  x0x-dist migrate --from ./repo --to /mnt/new-disk/repo          # directory to directory\n",
    "  x0x-dist migrate --from ./repo --to /mnt/new-disk/repo --verify-only\n",
    "  cp -a /srv/x0x-dist/online /etc/x0x-dist/keys                # the online keys: by hand, to the leader\n",
))]
pub struct MigrateArgs {
    /// Source store: a repository directory or s3://BUCKET/PREFIX.
    #[arg(long)]
    pub from: String,
    /// Destination store: a directory (created if missing) or s3://BUCKET/PREFIX; empty or holding an earlier
    /// copy of the same repository.
    #[arg(long)]
    pub to: String,
    /// Only verify that DST is a faithful copy of SRC; copy nothing.
    #[arg(long)]
    pub verify_only: bool,
    /// Transfers (and checks) at a time.
    #[arg(long, default_value_t = migrate::DEFAULT_PARALLEL)]
    pub parallel: usize,
    /// Endpoint of the object store, e.g. http://127.0.0.1:3900 [default: AWS].
    #[arg(long, env = env::S3_ENDPOINT, hide_env_values = true)]
    pub s3_endpoint: Option<String>,
    /// Region of the object store [default: us-east-1].
    #[arg(long, env = env::S3_REGION, hide_env_values = true)]
    pub s3_region: Option<String>,
}

/// The object-store settings of a one-shot command: `endpoint` and `region` from its flags, credentials from
/// the environment.
pub fn s3_settings(endpoint: Option<&String>, region: Option<&String>) -> S3Settings {
    S3Settings {
        endpoint: endpoint.cloned(),
        region: region.cloned(),
        access_key_id: std::env::var(env::S3_ACCESS_KEY_ID).ok(),
        secret_access_key: std::env::var(env::S3_SECRET_ACCESS_KEY).ok(),
        reuse_connections: None,
        memo_bytes: None,
    }
}

/// Runs `migrate`.
pub fn run(a: &MigrateArgs) -> anyhow::Result<()> {
    let s3 = s3_settings(a.s3_endpoint.as_ref(), a.s3_region.as_ref());
    // A source directory that does not exist is a typo, not an empty repository (opening creates it).
    if !a.from.starts_with("s3://")
        && !x0x_dist_repository::repo::Layout::new(&a.from)
            .metadata()
            .is_dir()
    {
        return Err(x0x_dist_repository::Error::new(
            Code::RepoNotFound,
            format!("{} holds no repository (no metadata/ directory)", a.from),
        )
        .into());
    }
    let src = x0x_dist_server::storage::open(&a.from, &s3)?;
    let dst = x0x_dist_server::storage::open(&a.to, &s3)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let progress = MigrateBar::stderr();
    let start = std::time::Instant::now();
    let result = rt.block_on(async {
        let copied = if a.verify_only {
            None
        } else {
            Some(migrate::copy(src.as_ref(), dst.as_ref(), a.parallel, &progress).await?)
        };
        let verified = migrate::verify(src.as_ref(), dst.as_ref(), a.parallel, &progress).await?;
        anyhow::Ok((copied, verified))
    });
    progress.finish();
    let (copied, verified) = result?;
    let secs = start.elapsed().as_secs_f64();
    if let Some(r) = &copied {
        println!(
            "copied {} to {}: {} blobs ({} bytes) copied, {} already there; {} targets linked, {} already there; \
             {} metadata objects written, {} already there",
            src.describe(),
            dst.describe(),
            r.blobs_copied,
            r.bytes_copied,
            r.blobs_present,
            r.targets_linked,
            r.targets_present,
            r.objects_written,
            r.objects_present,
        );
    }
    let unlisted = copied
        .as_ref()
        .map_or(0, |r| r.unlisted)
        .max(verified.unlisted);
    if unlisted > 0 {
        // An engine whose listing misses objects: what the signed metadata names was read by name all the same.
        eprintln!(
            "warning: {} did not list {unlisted} object(s) its signed metadata references; they were copied and \
             checked by name. Its listing lags or is inconsistent: check the engine's health (replication, a node \
             that came back) before relying on listings, e.g. for `x0x-dist gc`",
            src.describe()
        );
    }
    println!(
        "verified {}: {} metadata objects identical, {} blobs ({} bytes) re-hashed, {} targets present ({secs:.1} s)",
        dst.describe(),
        verified.objects,
        verified.blobs,
        verified.blob_bytes,
        verified.targets,
    );
    if !a.verify_only {
        println!(
            "the online keys were not copied: copy {}/online to the publish leader's machine yourself \
             (serve --keys DIR)",
            if a.from.starts_with("s3://") {
                "the original repository directory"
            } else {
                a.from.trim_end_matches('/')
            }
        );
    }
    Ok(())
}
