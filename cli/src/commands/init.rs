//! `x0x-dist init --repo DIR`.
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
}

/// Runs `init`.
pub fn run(a: &InitArgs) -> anyhow::Result<()> {
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
    Ok(())
}
