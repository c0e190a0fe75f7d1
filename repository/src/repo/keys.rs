//! Key files: generating, writing and reading ed25519 key pairs.

use super::{
    parse_public_key_file, public_key_file, read, write_atomic, Error, Path, PathBuf, PublicKey,
    Result, SigningKey,
};

/// A fresh ed25519 key from the operating system's randomness.
pub fn generate_key() -> SigningKey {
    use rand::RngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_seed(&seed)
}

/// Writes a key pair: `path` (secret, 0600) and `path.pub` (public, 0644). Refuses to overwrite.
pub fn write_key_pair(path: &Path, key: &SigningKey) -> Result<PathBuf> {
    let public = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, &public] {
        if p.exists() {
            return Err(Error::Usage(format!(
                "{} exists; refusing to overwrite a key",
                p.display()
            )));
        }
    }
    write_atomic(path, &key.to_secret_file(), true)?;
    write_atomic(&public, &public_key_file(key.public())?, false)?;
    Ok(public)
}

/// Reads a secret key file.
pub fn read_secret_key(path: &Path) -> Result<SigningKey> {
    Ok(SigningKey::from_secret_file(&read(path)?)?)
}

/// Reads a public key file.
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    Ok(parse_public_key_file(&read(path)?)?)
}
