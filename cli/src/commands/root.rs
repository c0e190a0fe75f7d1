//! `x0x-dist root rotate`: the next root version, with root keys added or removed.
use std::path::PathBuf;

use anyhow::Context as _;
use x0x_dist_manifests::KeyId;
use x0x_dist_repository::repo::{self, RootRotation};

/// Manage the root role of a local repository.
#[derive(Debug, clap::Subcommand)]
pub enum RootCommand {
    /// Write the next root version (`metadata/N+1.root.json` and `root.json`) with root keys added or removed
    /// and a new threshold.
    #[command(long_about = ROTATE_ABOUT)]
    Rotate(RotateArgs),
}

const ROTATE_ABOUT: &str = "\
Write the next root version (metadata/N+1.root.json and root.json) with root keys added
(--add-key) or removed (--remove-key) and a new threshold (--threshold).

Clients move from root N to N+1 only when N+1 is signed by a threshold of root N's root keys AND
a threshold of N+1's own root keys (TUF 1.0, client workflow 5.3.4). So --sign-with must name
enough OLD keys to meet the old threshold and enough NEW keys (added ones included) to meet the
new one; a key in both counts for both. The new root is checked with the clients' own rotation
check before anything is written; if it would not be trusted, nothing is written and the error
says which threshold is missing.

Every key (--add-key, --remove-key, --sign-with) is a key file or a PKCS#11 URI (RFC 7512) of a
key on a hardware token:
  pkcs11:token=LABEL;object=KEYLABEL?pin-source=file:/path/to/pin
The PIN comes from pin-source=file:PATH or X0X_DIST_PKCS11_PIN, never from the command line;
the module from module-path= or X0X_DIST_PKCS11_MODULE (default
/usr/lib/softhsm/libsofthsm2.so). See docs/hardware-keys.md.

Only the root role's keys change; the other roles' keys stay as they are. Clients that pin an
older root walk forward to the new one by themselves (the loader ships 1.root.json).";

/// Arguments of `root rotate`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  # add a token key and a second file key, threshold 2; signed by the old file key and the token key\n",
    "  x0x-dist root rotate --repo ./repo \\\n",
    "      --add-key 'pkcs11:token=offline;object=root2' --add-key ./root3.key.pub --threshold 2 \\\n",
    "      --sign-with ./repo/keys/root.key --sign-with 'pkcs11:token=offline;object=root2'\n",
    "  # retire the original key (by key id or public key file)\n",
    "  x0x-dist root rotate --repo ./repo --remove-key ./repo/keys/root.key.pub \\\n",
    "      --sign-with ./root3.key --sign-with 'pkcs11:token=offline;object=root2'\n",
))]
pub struct RotateArgs {
    /// Where the repository is: a directory, or a live store (commits as a replica does).
    #[command(flatten)]
    pub store: super::storage::StorageArgs,
    /// A key to add to the root role: a public key file (FILE.pub) or a PKCS#11 URI. Repeatable.
    #[arg(long = "add-key")]
    pub add: Vec<PathBuf>,
    /// A root key to remove: its key id, its public key file or a PKCS#11 URI. Repeatable.
    #[arg(long = "remove-key")]
    pub remove: Vec<String>,
    /// The new root threshold (default: unchanged).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub threshold: Option<u64>,
    /// A key that signs the new root: a secret key file or a PKCS#11 URI. Repeatable; see above for how many.
    #[arg(long = "sign-with", required = true)]
    pub sign_with: Vec<PathBuf>,
    /// Lifetime of the new root, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(i64).range(1..=36500))]
    pub expires_days: i64,
}

/// Runs `root`.
pub fn run(c: &RootCommand) -> anyhow::Result<()> {
    let RootCommand::Rotate(a) = c;
    let add = a
        .add
        .iter()
        .map(|p| {
            repo::read_public_key(p).with_context(|| {
                format!("reading key {}", x0x_dist_repository::repo::describe_key(p))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let remove = a
        .remove
        .iter()
        .map(|r| match KeyId::parse(r) {
            Ok(id) => Ok(id),
            Err(_) => repo::read_public_key(std::path::Path::new(r))
                .with_context(|| {
                    format!(
                        "reading key {}",
                        repo::describe_key(std::path::Path::new(r))
                    )
                })?
                .key_id()
                .map_err(anyhow::Error::from),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let sign_with = a
        .sign_with
        .iter()
        .map(|p| {
            repo::read_secret_key(p).with_context(|| {
                format!("reading key {}", x0x_dist_repository::repo::describe_key(p))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = time::OffsetDateTime::now_utc();
    let rotation = RootRotation {
        add: &add,
        remove: &remove,
        threshold: a.threshold,
        sign_with: &sign_with,
        expires: now + time::Duration::days(a.expires_days),
    };
    let report = if a.store.is_live() {
        a.store.with_admin(true, async |admin| {
            admin
                .rotate_root(&rotation, now)
                .await
                .with_context(|| format!("rotating the root of {}", admin.describe()))
        })?
    } else {
        let dir = a.store.dir()?;
        let _writer = super::package::writer_lock(dir)?;
        repo::rotate_root(dir, now, &rotation)
            .with_context(|| format!("rotating the root of {}", dir.display()))?
    };
    println!(
        "wrote root version {} ({} root key(s), threshold {})",
        report.version,
        report.keyids.len(),
        report.threshold
    );
    for id in &report.keyids {
        println!("  root key {id}");
    }
    Ok(())
}
