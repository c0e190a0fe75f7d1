//! Strict JSON parsing and canonical JSON encoding.
//!
//! Invariants:
//! - Input larger than the caller's limit is rejected before any parsing ([`Error::TooLarge`]).
//! - Parsing rejects non-UTF-8, trailing data, duplicate object keys, and nesting deeper than 128 levels
//!   (serde_json's recursion limit) with [`Error::Malformed`]; it never panics.
//! - Canonical bytes are OLPC canonical JSON exactly as securesystemslib's `encode_canonical` (and so python-tuf)
//!   produce them: keys sorted, no insignificant whitespace, only `"` and `\` escaped, integers only.
//!   Signatures are always made and checked over the canonical bytes of the *parsed* `signed` value, never over
//!   a re-serialized typed struct, so unknown fields stay covered.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Parses `bytes` as one JSON value, rejecting duplicate keys and input over `limit` bytes.
pub fn parse_strict(bytes: &[u8], limit: usize, what: &str) -> Result<Value> {
    if bytes.len() > limit {
        return Err(Error::TooLarge {
            what: what.to_owned(),
            len: bytes.len(),
            limit,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictValue::deserialize(&mut de).map_err(|e| Error::malformed(what, e))?;
    de.end().map_err(|e| Error::malformed(what, e))?;
    Ok(v.0)
}

/// The canonical JSON bytes of `value` (errors on floats, which TUF metadata never contains).
pub fn canonical<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut buf, olpc_cjson::CanonicalFormatter::new());
    value
        .serialize(&mut ser)
        .map_err(|e| Error::malformed("canonical JSON", e))?;
    Ok(buf)
}

/// A `serde_json::Value` whose deserialization rejects duplicate object keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> std::result::Result<Value, E> {
        Err(E::custom(
            "floating-point numbers (or integers beyond 64 bits) are not allowed",
        ))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key {key:?}")));
            }
            let StrictValue(v) = map.next_value_seed(StrictSeed)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = StrictValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<StrictValue, D::Error> {
        StrictValue::deserialize(d)
    }
}

/// `expires` timestamps: exactly `YYYY-MM-DDTHH:MM:SSZ` in UTC, as python-tuf writes and parses them.
pub mod datetime {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime};

    const FORMAT: &[BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

    /// Parses a TUF `expires` string.
    pub fn parse(s: &str) -> Option<OffsetDateTime> {
        if s.len() != 20 {
            return None;
        }
        PrimitiveDateTime::parse(s, FORMAT)
            .ok()
            .map(PrimitiveDateTime::assume_utc)
    }

    /// Formats a TUF `expires` string (sub-second precision is dropped).
    pub fn format(t: OffsetDateTime) -> String {
        let t = t.to_offset(time::UtcOffset::UTC);
        t.format(FORMAT)
            .unwrap_or_else(|_| "invalid-date".to_owned())
    }

    /// serde `serialize_with`.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*t))
    }

    /// serde `deserialize_with`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom(format_args!("invalid expires {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Coded as _;

    #[test]
    fn canonical_matches_securesystemslib() {
        // Expected bytes from securesystemslib.formats.encode_canonical on the same dict.
        let v: Value =
            serde_json::from_str(r#"{"b":1,"a":"x\"y\\z\n","c":[true,null,{"é":-3}]}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical(&v).unwrap()).unwrap(),
            "{\"a\":\"x\\\"y\\\\z\n\",\"b\":1,\"c\":[true,null,{\"é\":-3}]}"
        );
    }

    #[test]
    fn rejects_duplicates_floats_size_depth_and_garbage() {
        let code = |b: &[u8]| parse_strict(b, 1000, "t").unwrap_err().code();
        assert_eq!(code(br#"{"a":1,"a":2}"#), "metadata.malformed");
        assert_eq!(code(br#"{"a":{"b":1,"b":1}}"#), "metadata.malformed");
        assert_eq!(code(br#"{"a":1.5}"#), "metadata.malformed");
        assert_eq!(
            code(br#"{"a":123456789012345678901234567890}"#),
            "metadata.malformed"
        );
        assert_eq!(code(b"{\"a\":\"\xff\"}"), "metadata.malformed");
        assert_eq!(code(br#"{"a":1} x"#), "metadata.malformed");
        assert_eq!(code(&[b'['; 1001]), "metadata.too_large");
        let deep = "[".repeat(900);
        assert_eq!(code(deep.as_bytes()), "metadata.malformed");
        assert!(parse_strict(br#"{"a":[1,-2,{"b":null}]}"#, 1000, "t").is_ok());
    }

    #[test]
    fn expires_format_roundtrips_strictly() {
        let t = datetime::parse("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(datetime::format(t), "2030-01-02T03:04:05Z");
        for bad in [
            "2030-01-02T03:04:05.1Z",
            "2030-01-02T03:04:05+00:00",
            "2030-01-02 03:04:05Z",
            "2030-13-02T03:04:05Z",
        ] {
            assert!(datetime::parse(bad).is_none(), "{bad}");
        }
    }
}
