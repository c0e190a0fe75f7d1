//! `x0x-dist keygen --out FILE [--type TYPE]`.
use std::path::PathBuf;

use x0x_dist_manifests::Algorithm;
use x0x_dist_repository::repo;

/// A key type, as `keygen --type` and `init --key-type` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyType {
    /// ed25519 (scheme `ed25519`): small, fast, deterministic signatures. The default.
    Ed25519,
    /// ECDSA on NIST P-256 (keytype `ecdsa`, scheme `ecdsa-sha2-nistp256`): what YubiKey PIV, cloud KMSs and
    /// most HSMs hold.
    EcdsaP256,
    /// ECDSA on NIST P-384 (keytype `ecdsa`, scheme `ecdsa-sha2-nistp384`).
    EcdsaP384,
    /// RSA, 3072 bits (keytype `rsa`, scheme `rsassa-pss-sha256`: PSS, SHA-256, salt length 32).
    Rsa,
}

impl From<KeyType> for Algorithm {
    fn from(t: KeyType) -> Self {
        match t {
            KeyType::Ed25519 => Algorithm::Ed25519,
            KeyType::EcdsaP256 => Algorithm::EcdsaP256,
            KeyType::EcdsaP384 => Algorithm::EcdsaP384,
            KeyType::Rsa => Algorithm::RsaPssSha256,
        }
    }
}

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
#[command(after_help = concat!(
    "Examples:\n",
    "  x0x-dist keygen --out ci.key                   # ci.key (secret, for publish --key) + ci.key.pub (for package add)\n",
    "  x0x-dist keygen --out ci.key --type ecdsa-p256\n",
    "\n",
    "Key files:\n",
    "  FILE.pub  JSON: {\"keyid\", \"keytype\", \"scheme\", \"keyval\": {\"public\"}}, the TUF key dict; keyval.public is 64 hex\n",
    "            (ed25519) or a PEM SubjectPublicKeyInfo (ecdsa, rsa), the key id is securesystemslib's.\n",
    "  FILE      ed25519: the same JSON plus keyval.private (the 32-byte seed, hex).\n",
    "            ecdsa, rsa: an unencrypted PKCS#8 PEM (-----BEGIN PRIVATE KEY-----), as openssl genpkey writes it.\n",
    "  Every command that takes a secret key file (init's keys/, package add/release --key, publish --key, the\n",
    "  server's online keys) also accepts a PKCS#8 PEM of any of these types made elsewhere, e.g.\n",
    "  `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem`.\n",
))]
pub struct KeygenArgs {
    /// Secret key file to write (mode 0600); the public key goes to FILE.pub. Existing files are never
    /// overwritten.
    #[arg(long)]
    pub out: PathBuf,
    /// Key type.
    #[arg(long = "type", value_enum, default_value_t = KeyType::Ed25519)]
    pub key_type: KeyType,
}

/// Runs `keygen`.
pub fn run(a: &KeygenArgs) -> anyhow::Result<()> {
    let key = repo::generate_key_of(a.key_type.into())?;
    let public = repo::write_key_pair(&a.out, &key)?;
    println!("{}", key.key_id());
    eprintln!(
        "wrote {} (secret, 0600) and {}",
        a.out.display(),
        public.display()
    );
    Ok(())
}
