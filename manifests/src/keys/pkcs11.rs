//! Keys in hardware: a [`Signer`] over a PKCS#11 token (feature `pkcs11`), named by an RFC 7512 URI. The private
//! key never leaves the token: every signature is one `C_Sign` (`CKM_ECDSA` over the SHA-256 / SHA-384 digest,
//! its raw `r || s` re-encoded as the DER `ECDSA-Sig-Value` TUF and securesystemslib expect; `CKM_EDDSA` over the
//! message for ed25519), and each signature is checked against the token's public key before it is used.
//!
//! The URI (`docs/hardware-keys.md`): `pkcs11:` then `;`-separated path attributes, then `?` and `&`-separated
//! query attributes, values percent-encoded.
//! - path: `token`, `manufacturer`, `model`, `serial`, `slot-id` (which token), `object` (the key's
//!   `CKA_LABEL`), `id` (its `CKA_ID`, percent-encoded bytes), `type` (`private`, or absent);
//! - query: `module-path` (the module; else `X0X_DIST_PKCS11_MODULE`, else [`DEFAULT_MODULE`]), `pin-source`
//!   (`file:PATH`: the user PIN is that file's first line; else `X0X_DIST_PKCS11_PIN`). `pin-value` is refused
//!   (`key.hsm_pin_value`): a PIN on a command line is visible to every user of the machine.
//!
//! Supported keys: ECDSA P-256 (`ecdsa-sha2-nistp256`), P-384 (`ecdsa-sha2-nistp384`) and ed25519 (`CKK_EC_EDWARDS`
//! on curve 25519). The public key is read from the token's public key object with the same `id` / label, or
//! from the private key's `CKA_PUBLIC_KEY_INFO`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use sha2::Digest as _;

use super::der;
use super::public::Algorithm;
use super::signer::{spki_for, Signer, SigningKey};
use super::PublicKey;
use crate::error::{Error, Pkcs11Failure, Result};

/// The module loaded when neither `module-path=` nor `X0X_DIST_PKCS11_MODULE` names one: SoftHSM2 on Debian.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The environment variable naming the module.
pub const ENV_MODULE: &str = "X0X_DIST_PKCS11_MODULE";
/// The environment variable holding the user PIN (when the URI has no `pin-source`).
pub const ENV_PIN: &str = "X0X_DIST_PKCS11_PIN";

fn fail(failure: Pkcs11Failure, detail: impl Into<String>) -> Error {
    Error::Pkcs11 {
        failure,
        detail: detail.into(),
    }
}

/// Whether `s` is a PKCS#11 URI (rather than a key file path or key file contents).
pub fn is_uri(s: &str) -> bool {
    s.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("pkcs11:"))
}

/// A parsed RFC 7512 URI (the attributes x0x-dist uses).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer id.
    pub manufacturer: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label.
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID` bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`.
    pub module_path: Option<PathBuf>,
    /// `pin-source` (a file path).
    pub pin_source: Option<PathBuf>,
}

fn pct_decode(v: &str) -> Result<Vec<u8>> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    fail(
                        Pkcs11Failure::UriInvalid,
                        format!("bad percent-encoding in {v:?}"),
                    )
                })?;
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn pct_text(v: &str) -> Result<String> {
    String::from_utf8(pct_decode(v)?).map_err(|_| {
        fail(
            Pkcs11Failure::UriInvalid,
            format!("{v:?} is not UTF-8 once decoded"),
        )
    })
}

impl Pkcs11Uri {
    /// Parses a URI. Unknown attributes are refused (a typo must not select another key).
    #[allow(clippy::many_single_char_names)] // k, v: attribute names and values, as the RFC writes them
    pub fn parse(uri: &str) -> Result<Self> {
        let uri = uri.trim();
        if !is_uri(uri) {
            return Err(fail(
                Pkcs11Failure::UriInvalid,
                "a PKCS#11 URI starts with `pkcs11:`",
            ));
        }
        let rest = &uri[7..];
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut u = Pkcs11Uri::default();
        let dup = |k: &str| {
            fail(
                Pkcs11Failure::UriInvalid,
                format!("attribute {k:?} given twice"),
            )
        };
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr.split_once('=').ok_or_else(|| {
                fail(
                    Pkcs11Failure::UriInvalid,
                    format!("path attribute {attr:?} has no `=`"),
                )
            })?;
            let set = |slot: &mut Option<String>| -> Result<()> {
                if slot.replace(pct_text(v)?).is_some() {
                    return Err(dup(k));
                }
                Ok(())
            };
            match k {
                "token" => set(&mut u.token)?,
                "manufacturer" => set(&mut u.manufacturer)?,
                "model" => set(&mut u.model)?,
                "serial" => set(&mut u.serial)?,
                "object" => set(&mut u.object)?,
                "slot-id" => {
                    let n = pct_text(v)?.parse().map_err(|_| {
                        fail(Pkcs11Failure::UriInvalid, format!("slot-id {v:?} is not a number"))
                    })?;
                    if u.slot_id.replace(n).is_some() {
                        return Err(dup(k));
                    }
                }
                "id" => {
                    if u.id.replace(pct_decode(v)?).is_some() {
                        return Err(dup(k));
                    }
                }
                "type" => {
                    if v != "private" {
                        return Err(fail(
                            Pkcs11Failure::UriInvalid,
                            format!("type={v}: a signing key is type=private (or leave type out)"),
                        ));
                    }
                }
                "library-manufacturer" | "library-description" | "library-version"
                | "slot-manufacturer" | "slot-description" => {}
                _ => {
                    return Err(fail(
                        Pkcs11Failure::UriInvalid,
                        format!(
                            "unsupported path attribute {k:?} (token, manufacturer, model, serial, slot-id, \
                             object, id, type)"
                        ),
                    ))
                }
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (k, v) = attr.split_once('=').unwrap_or((attr, ""));
            match k {
                "pin-value" => {
                    return Err(fail(
                        Pkcs11Failure::PinValue,
                        format!(
                            "pin-value in a PKCS#11 URI is refused (a command line is visible to every user); \
                             use ?pin-source=file:PATH or {ENV_PIN}"
                        ),
                    ))
                }
                "pin-source" => {
                    let s = pct_text(v)?;
                    let p = s
                        .strip_prefix("file://")
                        .or_else(|| s.strip_prefix("file:"))
                        .unwrap_or(&s);
                    if p.is_empty() || s.contains("://") && !s.starts_with("file://") {
                        return Err(fail(
                            Pkcs11Failure::UriInvalid,
                            format!("pin-source {s:?}: only file:PATH is supported"),
                        ));
                    }
                    if u.pin_source.replace(PathBuf::from(p)).is_some() {
                        return Err(dup(k));
                    }
                }
                "module-path" => {
                    if u.module_path.replace(PathBuf::from(pct_text(v)?)).is_some() {
                        return Err(dup(k));
                    }
                }
                _ => {
                    return Err(fail(
                        Pkcs11Failure::UriInvalid,
                        format!(
                            "unsupported query attribute {k:?} (module-path, pin-source; module-name: give \
                             module-path)"
                        ),
                    ))
                }
            }
        }
        if u.object.is_none() && u.id.is_none() {
            return Err(fail(
                Pkcs11Failure::UriInvalid,
                "name the key: object=LABEL and/or id=%XX..",
            ));
        }
        Ok(u)
    }

    /// The module to load: `module-path`, else `X0X_DIST_PKCS11_MODULE`, else [`DEFAULT_MODULE`].
    pub fn module(&self) -> PathBuf {
        self.module_path
            .clone()
            .or_else(|| std::env::var_os(ENV_MODULE).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_MODULE))
    }

    /// What to print for this key (the attributes that select it, never a PIN).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token={t}"));
        }
        if let Some(o) = &self.object {
            parts.push(format!("object={o}"));
        }
        if let Some(i) = &self.id {
            parts.push(format!("id={}", hex::encode(i)));
        }
        format!("pkcs11:{}", parts.join(";"))
    }

    fn pin(&self) -> Result<Option<AuthPin>> {
        if let Some(p) = &self.pin_source {
            let text = std::fs::read_to_string(p).map_err(|e| {
                fail(
                    Pkcs11Failure::Pin,
                    format!("reading pin-source {}: {e}", p.display()),
                )
            })?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            return Ok(Some(AuthPin::from(line)));
        }
        Ok(std::env::var(ENV_PIN).ok().map(AuthPin::from))
    }
}

/// One initialized context per module per process (a second `C_Initialize` of a module fails).
fn context(module: &Path) -> Result<Pkcs11> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(c) = map.get(module) {
        return Ok(c.clone());
    }
    let hint = format!(
        "PKCS#11 module {} (module-path= in the URI or {ENV_MODULE})",
        module.display()
    );
    let ctx = Pkcs11::new(module)
        .map_err(|e| fail(Pkcs11Failure::Module, format!("loading {hint}: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(fail(
                Pkcs11Failure::Module,
                format!("initializing {hint}: {e}"),
            ))
        }
    }
    map.insert(module.to_owned(), ctx.clone());
    Ok(ctx)
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(|e| token_failed(.., e))`
fn token_failed(what: &str, e: CkError) -> Error {
    fail(Pkcs11Failure::Failed, format!("{what}: {e}"))
}

fn find_slot(ctx: &Pkcs11, u: &Pkcs11Uri) -> Result<Slot> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| token_failed("listing slots", e))?;
    let mut found = Vec::new();
    for slot in slots {
        if u.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let Ok(info) = ctx.get_token_info(slot) else {
            continue;
        };
        let ok =
            |want: &Option<String>, have: &str| want.as_ref().is_none_or(|w| w == have.trim_end());
        if ok(&u.token, info.label())
            && ok(&u.manufacturer, info.manufacturer_id())
            && ok(&u.model, info.model())
            && ok(&u.serial, info.serial_number())
        {
            found.push(slot);
        }
    }
    match found.len() {
        0 => Err(fail(
            Pkcs11Failure::NotFound,
            format!(
                "no token matches {} in {}",
                u.describe(),
                u.module().display()
            ),
        )),
        1 => Ok(found[0]),
        n => Err(fail(
            Pkcs11Failure::UriInvalid,
            format!(
                "{n} tokens match {}: add token=, serial= or slot-id=",
                u.describe()
            ),
        )),
    }
}

fn find_one(session: &Session, u: &Pkcs11Uri, class: ObjectClass) -> Result<Option<ObjectHandle>> {
    let mut template = vec![Attribute::Class(class)];
    if let Some(o) = &u.object {
        template.push(Attribute::Label(o.as_bytes().to_vec()));
    }
    if let Some(i) = &u.id {
        template.push(Attribute::Id(i.clone()));
    }
    let found = session
        .find_objects(&template)
        .map_err(|e| token_failed("searching the token", e))?;
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        n => Err(fail(
            Pkcs11Failure::UriInvalid,
            format!("{n} keys match {}: add id= or object=", u.describe()),
        )),
    }
}

fn attr(session: &Session, h: ObjectHandle, t: AttributeType) -> Option<Attribute> {
    session.get_attributes(h, &[t]).ok()?.into_iter().next()
}

/// The algorithm of a key from its `CKA_KEY_TYPE` and `CKA_EC_PARAMS`.
fn algorithm(kt: KeyType, params: &[u8]) -> Option<Algorithm> {
    let oid = der::only(params, der::OID);
    if kt == KeyType::EC {
        return match oid {
            Some(o) if o == der::OID_P256 => Some(Algorithm::EcdsaP256),
            Some(o) if o == der::OID_P384 => Some(Algorithm::EcdsaP384),
            _ => None,
        };
    }
    if kt == KeyType::EC_EDWARDS {
        // RFC 8410's OID, or the PrintableString "edwards25519" (PKCS#11 3.0, as SoftHSM and OpenSC write it)
        let named = der::only(params, 0x13) == Some(b"edwards25519".as_slice());
        return (oid == Some(der::OID_ED25519) || named).then_some(Algorithm::Ed25519);
    }
    None
}

/// The public key of `alg` from a `CKA_EC_POINT` (DER OCTET STRING as the standard says, or raw).
fn point_spki(alg: Algorithm, point: &[u8]) -> Vec<u8> {
    let raw = der::only(point, der::OCTET_STRING)
        .filter(|inner| {
            let want = match alg {
                Algorithm::Ed25519 => 32,
                Algorithm::EcdsaP256 => 65,
                Algorithm::EcdsaP384 => 97,
                Algorithm::RsaPssSha256 => 0,
            };
            inner.len() == want
        })
        .unwrap_or(point);
    spki_for(alg, raw)
}

/// A key on a PKCS#11 token.
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    alg: Algorithm,
    public: PublicKey,
    verifying: super::VerifyingKey,
    label: String,
}

impl Pkcs11Signer {
    /// Opens the key `uri` names: loads the module, finds the token, logs in with the PIN, finds the private key
    /// and its public key, and checks the token has the mechanism.
    pub fn open(uri: &str) -> Result<Self> {
        let u = Pkcs11Uri::parse(uri)?;
        let ctx = context(&u.module())?;
        let slot = find_slot(&ctx, &u)?;
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| token_failed("opening a session", e))?;
        let needs_login = ctx
            .get_token_info(slot)
            .map_or(true, |i| i.login_required());
        if needs_login {
            let pin = u.pin()?.ok_or_else(|| {
                fail(
                    Pkcs11Failure::Pin,
                    format!(
                        "the token of {} needs a PIN: add ?pin-source=file:PATH to the URI or set {ENV_PIN}",
                        u.describe()
                    ),
                )
            })?;
            match session.login(UserType::User, Some(&pin)) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(CkError::Pkcs11(
                    rv @ (RvError::PinIncorrect
                    | RvError::PinInvalid
                    | RvError::PinLenRange
                    | RvError::PinLocked
                    | RvError::PinExpired
                    | RvError::UserPinNotInitialized),
                    _,
                )) => {
                    return Err(fail(
                        Pkcs11Failure::Pin,
                        format!("the token of {} refused the PIN: {rv:?}", u.describe()),
                    ))
                }
                Err(e) => return Err(token_failed("logging in", e)),
            }
        }
        let key = find_one(&session, &u, ObjectClass::PRIVATE_KEY)?.ok_or_else(|| {
            fail(
                Pkcs11Failure::NotFound,
                format!("no private key matches {} on the token", u.describe()),
            )
        })?;
        let Some(Attribute::KeyType(kt)) = attr(&session, key, AttributeType::KeyType) else {
            return Err(fail(Pkcs11Failure::Failed, "the key has no CKA_KEY_TYPE"));
        };
        let params = match attr(&session, key, AttributeType::EcParams) {
            Some(Attribute::EcParams(p)) => p,
            _ => Vec::new(),
        };
        let alg = algorithm(kt, &params).ok_or_else(|| {
            fail(
                Pkcs11Failure::Mechanism,
                format!(
                    "{} is a {kt} key{}: x0x-dist signs through PKCS#11 with ECDSA P-256/P-384 and ed25519 keys",
                    u.describe(),
                    if params.is_empty() { String::new() } else { format!(" (curve {})", hex::encode(&params)) }
                ),
            )
        })?;
        let mech = if alg == Algorithm::Ed25519 {
            MechanismType::EDDSA
        } else {
            MechanismType::ECDSA
        };
        let mechs = ctx
            .get_mechanism_list(slot)
            .map_err(|e| token_failed("listing mechanisms", e))?;
        if !mechs.contains(&mech) {
            return Err(fail(
                Pkcs11Failure::Mechanism,
                format!("the token of {} has no {mech}", u.describe()),
            ));
        }
        let spki = match find_one(&session, &u, ObjectClass::PUBLIC_KEY)?
            .and_then(|h| attr(&session, h, AttributeType::EcPoint))
        {
            Some(Attribute::EcPoint(p)) => point_spki(alg, &p),
            _ => match attr(&session, key, AttributeType::PublicKeyInfo) {
                Some(Attribute::PublicKeyInfo(i)) if !i.is_empty() => i,
                _ => {
                    return Err(fail(
                        Pkcs11Failure::NotFound,
                        format!(
                            "no public key of {} on the token (a public key object with the same id/label)",
                            u.describe()
                        ),
                    ))
                }
            },
        };
        let public = PublicKey::from_spki(alg, &spki);
        let verifying = public.verifying_key().map_err(|e| {
            fail(
                Pkcs11Failure::Failed,
                format!("the token's public key of {}: {e}", u.describe()),
            )
        })?;
        Ok(Pkcs11Signer {
            session: Mutex::new(session),
            key,
            alg,
            public,
            verifying,
            label: u.describe(),
        })
    }
}

/// DER `ECDSA-Sig-Value` from the raw `r || s` PKCS#11 returns.
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let mut b = b;
        while b.len() > 1 && b[0] == 0 {
            b = &b[1..];
        }
        let mut c = Vec::with_capacity(b.len() + 1);
        if b[0] & 0x80 != 0 {
            c.push(0);
        }
        c.extend_from_slice(b);
        der::tlv(der::INTEGER, &c)
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = int(r);
    body.extend(int(s));
    der::tlv(der::SEQUENCE, &body)
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_bytes(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let session = self
            .session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sig = match self.alg {
            Algorithm::Ed25519 => session.sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                self.key,
                msg,
            ),
            Algorithm::EcdsaP256 => {
                session.sign(&Mechanism::Ecdsa, self.key, &sha2::Sha256::digest(msg))
            }
            Algorithm::EcdsaP384 => {
                session.sign(&Mechanism::Ecdsa, self.key, &sha2::Sha384::digest(msg))
            }
            Algorithm::RsaPssSha256 => unreachable!("open refuses rsa keys"),
        }
        .map_err(|e| token_failed(&format!("C_Sign with {}", self.label), e))?;
        let sig = match self.alg {
            Algorithm::Ed25519 => sig,
            _ if sig.is_empty() || sig.len() % 2 != 0 => {
                return Err(fail(
                    Pkcs11Failure::Failed,
                    format!(
                        "{} returned a {}-byte ECDSA signature",
                        self.label,
                        sig.len()
                    ),
                ))
            }
            _ => ecdsa_der(&sig),
        };
        if !self.verifying.verify(msg, &sig) {
            return Err(fail(
                Pkcs11Failure::Failed,
                format!(
                    "the signature {} made does not verify under its public key",
                    self.label
                ),
            ));
        }
        Ok(sig)
    }
}

impl SigningKey {
    /// A key held on a PKCS#11 token, named by an RFC 7512 URI (the module docs of [`self`]).
    pub fn from_pkcs11_uri(uri: &str) -> Result<Self> {
        SigningKey::from_signer(Arc::new(Pkcs11Signer::open(uri)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Coded as _;

    #[test]
    fn uris_parse_and_refuse() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=My%20Token;object=root;id=%01%AB?module-path=/x/y.so&pin-source=file:/p",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("My Token"));
        assert_eq!(u.object.as_deref(), Some("root"));
        assert_eq!(u.id.as_deref(), Some([1u8, 0xab].as_slice()));
        assert_eq!(u.module(), PathBuf::from("/x/y.so"));
        assert_eq!(u.pin_source, Some(PathBuf::from("/p")));
        let code = |s: &str| Pkcs11Uri::parse(s).unwrap_err().code().as_str();
        assert_eq!(code("pkcs11:object=a?pin-value=1234"), "key.hsm_pin_value");
        assert_eq!(code("pkcs11:token=t"), "key.hsm_uri_invalid");
        assert_eq!(code("pkcs11:object=a;bogus=1"), "key.hsm_uri_invalid");
        assert_eq!(code("pkcs11:object=a;object=b"), "key.hsm_uri_invalid");
        assert_eq!(code("pkcs11:object=%zz"), "key.hsm_uri_invalid");
        assert_eq!(
            code("pkcs11:object=a?pin-source=https://x"),
            "key.hsm_uri_invalid"
        );
        assert!(is_uri("PKCS11:object=a") && !is_uri("keys/root.key"));
    }

    #[test]
    fn ecdsa_raw_to_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero
        raw[63] = 1; // s is 1
        let d = ecdsa_der(&raw);
        assert_eq!(&d[..4], &[0x30, 0x26, 0x02, 0x21]);
        assert_eq!(&d[d.len() - 3..], &[0x02, 0x01, 0x01]);
    }

    #[test]
    fn a_missing_module_is_its_own_code() {
        let e = SigningKey::from_pkcs11_uri("pkcs11:object=a?module-path=/nonexistent/x.so")
            .unwrap_err();
        assert_eq!(e.code().as_str(), "key.hsm_module");
    }
}
