//! Where files are under a repository location: `tuf/metadata/`, `tuf/targets/` (or bare), target paths as
//! URL paths, and the check that a repository-relative name stays inside.

use reqwest::Url;

use super::Fetcher;
use crate::error::Error;

impl Fetcher {
    /// Reads `metadata/` and `targets/` directly under an HTTP location instead of under `tuf/` (the layout
    /// of python-tuf repositories and of the tuf-conformance simulator, used by the conformance adapter
    /// `loader/examples/tuf-conformance.rs`). A directory location already accepts both layouts.
    #[must_use]
    pub fn bare_layout(mut self) -> Self {
        self.prefix = "";
        self
    }

    pub(super) fn url(&self, base: &Url, kind: &str, name: &str) -> Result<Url, Error> {
        base.join(&format!("{}{kind}/{name}", self.prefix))
            .map_err(|_| Error::Config {
                what: "repository path",
                value: name.to_owned(),
            })
    }
}

/// A target path as the path of a URL: each segment percent-encoded except for the characters a path segment
/// may hold literally (RFC 3986 unreserved, sub-delims, `:` and `@`), so `?`, `#`, `%`, spaces and non-ASCII
/// stay part of the name. Package artifact paths (`[A-Za-z0-9._+-]` segments) are unchanged.
pub(super) fn encode_target_path(path: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Rejects absolute paths, `..`, empty segments and backslashes in repository-relative names.
pub(super) fn check_relative(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            what: "repository path",
            value: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{FetchOptions, Location};

    #[test]
    fn urls_under_tuf_unless_bare_layout() {
        let loc = Location::parse("http://127.0.0.1:8080/test/").unwrap();
        let Location::Http(base) = loc.clone() else {
            unreachable!()
        };
        let ours = Fetcher::new(loc, FetchOptions::default()).unwrap();
        let url = |f: &Fetcher, kind, name| f.url(&base, kind, name).unwrap().to_string();
        assert_eq!(
            url(&ours, "metadata", "1.root.json"),
            "http://127.0.0.1:8080/test/tuf/metadata/1.root.json"
        );
        let suite = ours.bare_layout();
        assert_eq!(
            url(&suite, "metadata", "1.%3F.json"),
            "http://127.0.0.1:8080/test/metadata/1.%3F.json"
        );
        assert_eq!(
            url(&suite, "targets", "a/b.txt"),
            "http://127.0.0.1:8080/test/targets/a/b.txt"
        );
        assert_eq!(
            url(&suite, "targets", &encode_target_path("a b/?#%é.txt")),
            "http://127.0.0.1:8080/test/targets/a%20b/%3F%23%25%C3%A9.txt"
        );
        let ours_path = "x0x/1.0.0-rc.1+build.5/0a.x0x.linux-x64-gnu.node";
        assert_eq!(encode_target_path(ours_path), ours_path);
    }

    #[test]
    fn relative_paths_only() {
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        check_relative("x0x/0.3.1/abc.x0x.linux-x64-gnu.node").unwrap();
    }
}
