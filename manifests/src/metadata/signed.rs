//! The signed envelope ([`Signed<T>`]) and the signature threshold check ([`verify_signatures`]).

use std::collections::BTreeMap;

use serde_json::Value;
use time::OffsetDateTime;

use super::{Role, RoleKeys};
use crate::cjson::{self, datetime};
use crate::error::{Error, Result};
use crate::keys::{KeyId, PublicKey, Signature, SigningKey};

/// A signed metadata envelope: `{"signatures": [...], "signed": {...}}`.
#[derive(Debug, Clone)]
#[allow(clippy::struct_field_names)] // `signed` is the TUF field name.
pub struct Signed<T> {
    signed: T,
    signatures: Vec<Signature>,
    raw_signed: Value,
    canonical: Vec<u8>,
    extra: serde_json::Map<String, Value>,
}

impl<T: Role> Signed<T> {
    /// Parses an envelope (size limit, strict JSON, `_type`, schema and semantic checks). Does not verify
    /// signatures: see [`Signed::verify`] and [`crate::verify::TrustedSet`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let what = format!("{} metadata", T::TYPE);
        let value = cjson::parse_strict(bytes, T::MAX_SIZE, &what)?;
        let Value::Object(mut obj) = value else {
            return Err(Error::malformed(what, "not a JSON object"));
        };
        let raw_signed = obj
            .remove("signed")
            .ok_or_else(|| Error::malformed(&what, "no `signed`"))?;
        let sigs = obj
            .remove("signatures")
            .ok_or_else(|| Error::malformed(&what, "no `signatures`"))?;
        let found = raw_signed
            .get("_type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed(&what, "no `_type`"))?;
        if found != T::TYPE {
            return Err(Error::WrongType {
                expected: T::TYPE,
                found: found.chars().take(40).collect(),
            });
        }
        T::check_raw(&raw_signed)?;
        let signed: T =
            serde_json::from_value(raw_signed.clone()).map_err(|e| Error::malformed(&what, e))?;
        signed.check()?;
        let signatures: Vec<Signature> =
            serde_json::from_value(sigs).map_err(|e| Error::malformed(&what, e))?;
        check_unique_keyids(&what, &signatures)?;
        let canonical = cjson::canonical(&raw_signed)?;
        Ok(Signed {
            signed,
            signatures,
            raw_signed,
            canonical,
            extra: obj,
        })
    }

    /// Wraps `signed` and signs it with every key in `keys`.
    pub fn new(signed: T, keys: &[&SigningKey]) -> Result<Self> {
        signed.check()?;
        let raw_signed = serde_json::to_value(&signed).map_err(|e| Error::malformed(T::TYPE, e))?;
        let canonical = cjson::canonical(&raw_signed)?;
        let signatures = keys
            .iter()
            .map(|k| k.sign(&canonical))
            .collect::<Result<_>>()?;
        Ok(Signed {
            signed,
            signatures,
            raw_signed,
            canonical,
            extra: serde_json::Map::new(),
        })
    }

    /// Adds a signature by `key` (replacing an earlier one by the same key).
    pub fn add_signature(&mut self, key: &SigningKey) -> Result<()> {
        let sig = key.sign(&self.canonical)?;
        self.signatures.retain(|s| &s.keyid != key.key_id());
        self.signatures.push(sig);
        Ok(())
    }

    /// The typed signed part.
    pub fn signed(&self) -> &T {
        &self.signed
    }
    /// The signatures.
    pub fn signatures(&self) -> &[Signature] {
        &self.signatures
    }
    /// Mutable access to the signatures (for tests and re-signing tools).
    pub fn signatures_mut(&mut self) -> &mut Vec<Signature> {
        &mut self.signatures
    }
    /// The exact canonical bytes that signatures cover.
    pub fn canonical_signed(&self) -> &[u8] {
        &self.canonical
    }
    /// The parsed `signed` value (with any unknown fields).
    pub fn raw_signed(&self) -> &Value {
        &self.raw_signed
    }

    /// The file bytes: pretty-printed JSON, keys sorted, trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut obj = self.extra.clone();
        obj.insert(
            "signatures".to_owned(),
            serde_json::to_value(&self.signatures).expect("signatures serialize"),
        );
        obj.insert("signed".to_owned(), self.raw_signed.clone());
        let mut out = serde_json::to_vec_pretty(&Value::Object(obj)).expect("value serializes");
        out.push(b'\n');
        out
    }

    /// The file bytes as compact JSON (keys sorted, no whitespace, strings escaped as JSON requires, unlike
    /// OLPC canonical JSON which writes control characters raw): what the CLI submits when publishing. About half the size of [`Self::to_bytes`] for a role with many targets (issue 25: a
    /// pretty-printed role hit the server's 4 MiB metadata limit at ~7k targets).
    pub fn to_compact_bytes(&self) -> Vec<u8> {
        let mut obj = self.extra.clone();
        obj.insert(
            "signatures".to_owned(),
            serde_json::to_value(&self.signatures).expect("signatures serialize"),
        );
        obj.insert("signed".to_owned(), self.raw_signed.clone());
        serde_json::to_vec(&Value::Object(obj)).expect("value serializes")
    }

    /// Verifies that at least `role.threshold` distinct authorized keys signed (see [`verify_signatures`]).
    pub fn verify(
        &self,
        role_name: &str,
        keys: &BTreeMap<KeyId, PublicKey>,
        role: &RoleKeys,
    ) -> Result<()> {
        verify_signatures(role_name, &self.canonical, &self.signatures, keys, role)
    }

    /// Fails with `metadata.expired` if `now >= expires`.
    pub fn check_not_expired(&self, role_name: &str, now: OffsetDateTime) -> Result<()> {
        if now >= self.signed.expires() {
            return Err(Error::Expired {
                role: role_name.to_owned(),
                expires: datetime::format(self.signed.expires()),
            });
        }
        Ok(())
    }
}

/// TUF §4.2: "the keyid MUST be unique in the signatures array". An envelope listing one key id twice is
/// refused as malformed (as python-tuf does when it deserializes), whatever the signatures' validity.
fn check_unique_keyids(what: &str, signatures: &[Signature]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for s in signatures {
        if !seen.insert(&s.keyid) {
            return Err(Error::malformed(
                what,
                format_args!("the signatures list key id {} more than once", s.keyid),
            ));
        }
    }
    Ok(())
}

/// Counts valid signatures over `canonical` by distinct authorized keys: each key id may sign once (a list
/// naming it twice is refused), two key ids for the same key material count once, keys not listed in `role` or
/// missing from `keys` never count. Fails with `metadata.signature_invalid` if the threshold is not met and
/// an authorized key's signature was invalid, else `metadata.threshold_not_met`; with `metadata.malformed` if a
/// key id appears twice in `signatures` (see [`Signed::from_slice`]; checked here too for envelopes built in
/// memory).
pub fn verify_signatures(
    role_name: &str,
    canonical: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<KeyId, PublicKey>,
    role: &RoleKeys,
) -> Result<()> {
    if role.threshold == 0 {
        return Err(Error::DelegationInvalid(format!(
            "role {role_name:?} has threshold 0"
        )));
    }
    check_unique_keyids(&format!("{role_name} metadata"), signatures)?;
    let mut counted_ids = std::collections::BTreeSet::new();
    let mut counted_material = std::collections::BTreeSet::new();
    let mut invalid: Option<&KeyId> = None;
    for sig in signatures {
        if !role.keyids.contains(&sig.keyid) || counted_ids.contains(&sig.keyid) {
            continue;
        }
        // An unsupported or malformed key never counts (nor makes a signature "invalid").
        let Some(key) = keys.get(&sig.keyid).and_then(|k| k.verifying_key().ok()) else {
            continue;
        };
        if hex::decode(&sig.sig).is_ok_and(|s| key.verify(canonical, &s)) {
            counted_ids.insert(&sig.keyid);
            let (alg, raw) = key.material();
            counted_material.insert((alg.scheme(), raw.to_vec()));
        } else {
            invalid.get_or_insert(&sig.keyid);
        }
    }
    let valid = counted_material.len();
    if valid as u64 >= role.threshold {
        return Ok(());
    }
    Err(match invalid {
        Some(keyid) => Error::SignatureInvalid {
            role: role_name.to_owned(),
            keyid: keyid.to_string(),
            valid,
            threshold: role.threshold,
        },
        None => Error::ThresholdNotMet {
            role: role_name.to_owned(),
            valid,
            threshold: role.threshold,
        },
    })
}
