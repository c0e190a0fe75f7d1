//! `x0x-dist keygen --out FILE`.
use std::path::PathBuf;

use x0x_dist_repository::repo;

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist keygen --out ci.key    # ci.key (secret, for publish --key) + ci.key.pub (for package add)\n",
))]
pub struct KeygenArgs {
    /// Secret key file to write (mode 0600); the public key goes to FILE.pub. Existing files are never
    /// overwritten. Format: JSON `{"keyid", "keytype": "ed25519", "scheme": "ed25519", "keyval": {"public",
    /// "private"}}` with hex values (the .pub file has no `private`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `keygen`.
pub fn run(a: &KeygenArgs) -> anyhow::Result<()> {
    let key = repo::generate_key();
    let public = repo::write_key_pair(&a.out, &key)?;
    println!("{}", key.key_id());
    eprintln!(
        "wrote {} (secret, 0600) and {}",
        a.out.display(),
        public.display()
    );
    Ok(())
}
