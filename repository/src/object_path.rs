//! Validated object paths: the names under `targets/` (and the segments of every name) that both the server's
//! storage (`x0x_dist_server::storage`, which re-exports these) and bundle import accept.

/// A path that is not a valid object path (its display matches the server's `ApiError::InvalidPath`, which it
/// converts into).
#[derive(Debug, thiserror::Error)]
#[error("invalid path parameter: {0}")]
pub struct InvalidPath(pub String);

/// A relative object path (e.g. a target path under `targets/`), validated: 1-16 segments, each 1-255 characters of
/// `[A-Za-z0-9._+-]`, not starting with `.` (so no `.`, `..`, hidden files), no empty segments, no backslashes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectPath(String);

impl ObjectPath {
    /// Validates a `/`-separated relative path.
    pub fn parse(s: &str) -> Result<Self, InvalidPath> {
        let bad = |why: &str| InvalidPath(format!("{why}: {:?}", truncate(s)));
        if s.is_empty() || s.len() > 1024 {
            return Err(bad("empty or too long path"));
        }
        let segs: Vec<&str> = s.split('/').collect();
        if segs.len() > 16 {
            return Err(bad("too many path segments"));
        }
        for seg in segs {
            check_segment(seg).map_err(&bad)?;
        }
        Ok(Self(s.to_owned()))
    }

    /// The path string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

/// Checks one path segment (also used for package names, versions and file names in URLs).
pub fn check_segment(seg: &str) -> Result<(), &'static str> {
    if seg.is_empty() {
        return Err("empty path segment");
    }
    if seg.len() > 255 {
        return Err("path segment too long");
    }
    if seg.starts_with('.') {
        return Err("path segment starts with '.'");
    }
    if !seg
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
    {
        return Err("path segment has characters outside [A-Za-z0-9._+-]");
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}
