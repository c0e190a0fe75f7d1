//! Key files: generating, writing and reading key pairs of every supported type (the formats:
//! `x0x_dist_manifests::keys`).

use super::{
    parse_public_key_file, public_key_file, read, write_atomic, Error, Path, PathBuf, PublicKey,
    Result, SigningKey,
};
use x0x_dist_manifests::keys::pkcs11::is_uri;
use x0x_dist_manifests::Algorithm;

/// RSA keys `keygen --type rsa` makes: 3072 bits (NIST SP 800-57: 128-bit security, as P-256).
pub const RSA_BITS: usize = 3072;

/// A fresh ed25519 key from the operating system's randomness.
pub fn generate_key() -> SigningKey {
    use rand::RngCore as _;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_seed(&seed)
}

/// A fresh key of `alg` from the operating system's randomness. ECDSA keys come from ring, RSA keys
/// ([`RSA_BITS`]) from the `rsa` crate (ring cannot generate them); all are then held and used by ring.
pub fn generate_key_of(alg: Algorithm) -> Result<SigningKey> {
    let pkcs8 = match alg {
        Algorithm::Ed25519 => return Ok(generate_key()),
        Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
            let signing = if alg == Algorithm::EcdsaP256 {
                &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING
            } else {
                &ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING
            };
            ring::signature::EcdsaKeyPair::generate_pkcs8(signing, &ring::rand::SystemRandom::new())
                .map_err(|e| Error::Usage(format!("generating an ecdsa key failed: {e}")))?
                .as_ref()
                .to_vec()
        }
        Algorithm::RsaPssSha256 => {
            use rsa::pkcs8::EncodePrivateKey as _;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, RSA_BITS)
                .map_err(|e| Error::Usage(format!("generating an rsa key failed: {e}")))?;
            key.to_pkcs8_der()
                .map_err(|e| Error::Usage(format!("encoding the rsa key failed: {e}")))?
                .as_bytes()
                .to_vec()
        }
    };
    Ok(SigningKey::from_pkcs8_der(&pkcs8)?)
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
    let secret = key.to_secret_file().ok_or_else(|| {
        Error::Usage(
            "this key is not held in a file; there is no secret key file to write".to_owned(),
        )
    })?;
    write_atomic(path, &secret, true)?;
    write_atomic(&public, &public_key_file(key.public())?, false)?;
    Ok(public)
}

/// Reads a secret key file (any supported type: `x0x_dist_manifests::keys::signer`), or opens the key on a
/// hardware token that `path` names when it is a PKCS#11 URI (`pkcs11:token=…;object=…`), or that the file holds.
pub fn read_secret_key(path: &Path) -> Result<SigningKey> {
    if let Some(uri) = path.to_str().filter(|p| is_uri(p)) {
        return Ok(SigningKey::from_pkcs11_uri(uri)?);
    }
    Ok(SigningKey::from_secret_file(&read(path)?)?)
}

/// How to name a key file or PKCS#11 URI in a message: a URI's `pin-value` (refused, but maybe given) is
/// replaced by `***`, so a PIN typed on a command line is never echoed into logs.
pub fn describe_key(path: &Path) -> String {
    let s = path.display().to_string();
    if !is_uri(&s) {
        return s;
    }
    let Some((head, query)) = s.split_once('?') else {
        return s;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|a| match a.split_once('=') {
            Some(("pin-value", _)) => "pin-value=***".to_owned(),
            _ => a.to_owned(),
        })
        .collect();
    format!("{head}?{}", query.join("&"))
}

/// Writes the reference to a key on a token: `path` (0600) holds the URI, `path.pub` the public key. `init` does
/// this for a role key given as a PKCS#11 URI, so every later command finds the key where a key file would be.
pub fn write_key_reference(path: &Path, uri: &str, key: &SigningKey) -> Result<PathBuf> {
    let public = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, &public] {
        if p.exists() {
            return Err(Error::Usage(format!(
                "{} exists; refusing to overwrite a key",
                p.display()
            )));
        }
    }
    write_atomic(path, format!("{}\n", uri.trim()).as_bytes(), true)?;
    write_atomic(&public, &public_key_file(key.public())?, false)?;
    Ok(public)
}

/// Reads a public key file; for a PKCS#11 URI, the public key of that key on its token.
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    if path.to_str().is_some_and(is_uri) {
        return Ok(read_secret_key(path)?.public().clone());
    }
    Ok(parse_public_key_file(&read(path)?)?)
}
