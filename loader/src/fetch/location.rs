//! Where a repository is: an HTTP(S) base URL or a directory; URLs redacted for messages.

use std::path::{Path, PathBuf};

use reqwest::Url;

use crate::error::Error;

/// Where a repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An HTTP(S) server; the URL is the base (metadata at `tuf/metadata/` under it).
    Http(Url),
    /// A local directory holding `tuf/metadata` and `tuf/targets` (or bare `metadata`, `targets`).
    Dir(PathBuf),
}

impl Location {
    /// Parses `http(s)://...`, `file:///dir` or a plain directory path.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::Config {
            what: "repository location",
            value: redact(s),
        };
        if s.starts_with("http://") || s.starts_with("https://") {
            let mut url = Url::parse(s).map_err(|_| bad())?;
            if !url.path().ends_with('/') {
                let p = format!("{}/", url.path());
                url.set_path(&p);
            }
            Ok(Self::Http(url))
        } else if s.starts_with("file:") {
            let url = Url::parse(s).map_err(|_| bad())?;
            Ok(Self::Dir(url.to_file_path().map_err(|()| bad())?))
        } else if s.contains("://") || s.is_empty() {
            Err(bad())
        } else {
            Ok(Self::Dir(PathBuf::from(s)))
        }
    }

    pub(super) fn dir_root(dir: &Path) -> PathBuf {
        let tuf = dir.join("tuf");
        if tuf.is_dir() {
            tuf
        } else {
            dir.to_path_buf()
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(u) => f.write_str(&redact(u.as_str())),
            Self::Dir(d) => write!(f, "{}", d.display()),
        }
    }
}

/// Removes `user:password@` from a URL for messages and logs.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("***");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            Location::parse("http://127.0.0.1:8080").unwrap(),
            Location::Http(Url::parse("http://127.0.0.1:8080/").unwrap())
        );
        assert_eq!(
            Location::parse("file:///srv/repo").unwrap(),
            Location::Dir("/srv/repo".into())
        );
        assert_eq!(
            Location::parse("./repo").unwrap(),
            Location::Dir("./repo".into())
        );
        assert!(Location::parse("ftp://x").is_err());
        assert!(Location::parse("").is_err());
        let base = Location::parse("https://u:secret@mirror.example/x0x").unwrap();
        assert!(!base.to_string().contains("secret"), "{base}");
    }
}
