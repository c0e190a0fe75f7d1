//! Every environment variable the Rust loader (and the `fetch`/`doctor` commands) reads, in one place. The
//! names match the JavaScript loader's (`loader/js`), so one configuration drives both.

/// Repository location: `http(s)://` base URL, `file://` directory or a plain directory path.
pub const URL: &str = "X0X_DIST_URL";
/// A trusted `root.json` (path) replacing the shipped one, for private repositories.
pub const ROOT: &str = "X0X_DIST_ROOT";
/// Cache directory (default: the per-user cache dir + `/x0x-dist`).
pub const CACHE: &str = "X0X_DIST_CACHE";
/// `1`: never use the network; only verified, persisted metadata and cached targets.
pub const OFFLINE: &str = "X0X_DIST_OFFLINE";
/// Operator policy for installs after the metadata expired (air-gapped networks): an RFC 3339 time; metadata
/// that was unexpired at that time is accepted (with a warning), anything that expired before it is not
/// (see [`crate::tuf::freshness_clock`]).
pub const ALLOW_EXPIRED_AFTER: &str = "X0X_DIST_ALLOW_EXPIRED_AFTER";
/// Minimum release age: a version range never resolves to a release published (signed `custom.published`) less
/// than this long ago, and a pinned one is refused until then (`loader.too_young`). Seconds, or a number with
/// `s`, `m`, `h` or `d`; `0` or unset: off.
pub const MIN_RELEASE_AGE: &str = "X0X_DIST_MIN_RELEASE_AGE";
/// Required provenance: `ISSUER` or `ISSUER|REPOSITORY`; a release whose targets lack signed provenance
/// (`custom.provenance`) from that issuer (and repository) is skipped by a range and refused when pinned
/// (`loader.provenance`). Read by `provenance::RequireProvenance::from_env`.
pub const REQUIRE_PROVENANCE: &str = "X0X_DIST_REQUIRE_PROVENANCE";
/// Extra PEM CA certificates (path) for HTTPS repositories.
pub const CA_CERTS: &str = "X0X_DIST_CA_CERTS";
/// Node's extra CA certificates variable (path), honoured too.
pub const NODE_EXTRA_CA_CERTS: &str = "NODE_EXTRA_CA_CERTS";
/// Proxies (read by the HTTP client itself): `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`.
pub const PROXIES: &[&str] = &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"];

/// Whether `X0X_DIST_OFFLINE` is set to a true value (`1`, `true`, `yes`).
pub fn offline() -> bool {
    std::env::var(OFFLINE)
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Parses a minimum release age (`3600`, `90s`, `30m`, `12h`, `7d`); `Ok(None)` for `0`.
pub fn parse_age(value: &str) -> Result<Option<MinReleaseAge>, crate::Error> {
    let v = value.trim();
    let bad = || crate::Error::Config {
        what: MIN_RELEASE_AGE,
        value: value.to_owned(),
    };
    let (num, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c),
        _ => (v, 's'),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) || num.len() > 12 {
        return Err(bad());
    }
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        's' => n,
        'm' => n * 60,
        'h' => n * 3600,
        'd' => n * 86_400,
        _ => return Err(bad()),
    };
    Ok((secs > 0).then(|| MinReleaseAge {
        age: time::Duration::seconds(secs),
    }))
}

/// `X0X_DIST_MIN_RELEASE_AGE` (unset or empty: off).
pub fn min_release_age() -> Result<Option<MinReleaseAge>, crate::Error> {
    match std::env::var(MIN_RELEASE_AGE) {
        Ok(v) if !v.trim().is_empty() => parse_age(&v),
        _ => Ok(None),
    }
}

/// A minimum release age and how it was configured (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinReleaseAge {
    /// The age.
    pub age: time::Duration,
}

impl std::fmt::Display for MinReleaseAge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.age.whole_seconds();
        if s % 86_400 == 0 && s > 0 {
            write!(f, "{}d", s / 86_400)
        } else if s % 3600 == 0 && s > 0 {
            write!(f, "{}h", s / 3600)
        } else {
            write!(f, "{s}s")
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        let s = |v: &str| super::parse_age(v).map(|a| a.map(|a| a.age.whole_seconds()));
        assert_eq!(s("3600").unwrap(), Some(3600));
        assert_eq!(s("90s").unwrap(), Some(90));
        assert_eq!(s("30m").unwrap(), Some(1800));
        assert_eq!(s("12h").unwrap(), Some(43_200));
        assert_eq!(s("7d").unwrap(), Some(604_800));
        assert_eq!(s("0").unwrap(), None);
        for bad in ["", "d", "-1", "1w", "1.5h", "x", "9999999999999d"] {
            assert!(s(bad).is_err(), "{bad}");
        }
    }
}
