//! Required provenance (`X0X_DIST_REQUIRE_PROVENANCE`): a release is used only if each of its targets carries
//! signed provenance (`custom.provenance`, written by the server when it signs a trusted-publishing release
//! with its online key: the verified OIDC claims of the CI run that published it) from the required issuer and,
//! when given, the required repository.
//!
//! The setting is `ISSUER` or `ISSUER|REPOSITORY`: `ISSUER` must equal the provenance's `issuer` exactly
//! (`https://token.actions.githubusercontent.com`, `https://gitlab.com`), `REPOSITORY` its `repository` claim
//! (GitHub Actions: `owner/name`) or its `project_path` claim (GitLab CI: `group/project`). The same value and
//! the same rule in the JavaScript loader (`loader/js/lib/provenance.js`).
use serde_json::{Map, Value};
use x0x_dist_manifests::TargetFile;

/// What `X0X_DIST_REQUIRE_PROVENANCE` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequireProvenance {
    /// The issuer the provenance must name (`issuer`), exactly.
    pub issuer: String,
    /// The repository (`repository` or `project_path` claim), exactly; `None`: any.
    pub repository: Option<String>,
}

impl std::fmt::Display for RequireProvenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.repository {
            Some(r) => write!(f, "{}|{r}", self.issuer),
            None => f.write_str(&self.issuer),
        }
    }
}

impl RequireProvenance {
    /// Parses `ISSUER` or `ISSUER|REPOSITORY` (`None` for an empty value: off).
    pub fn parse(value: &str) -> Result<Option<Self>, crate::Error> {
        let v = value.trim();
        if v.is_empty() {
            return Ok(None);
        }
        let bad = || crate::Error::Config {
            what: crate::env::REQUIRE_PROVENANCE,
            value: value.to_owned(),
        };
        let (issuer, repository) = match v.split_once('|') {
            Some((i, r)) => (i.trim(), Some(r.trim())),
            None => (v, None),
        };
        let url_like = issuer.starts_with("https://") || issuer.starts_with("http://");
        if !url_like
            || issuer.chars().any(char::is_whitespace)
            || repository.is_some_and(|r| r.is_empty() || r.contains('|'))
        {
            return Err(bad());
        }
        Ok(Some(Self {
            issuer: issuer.to_owned(),
            repository: repository.map(str::to_owned),
        }))
    }

    /// `X0X_DIST_REQUIRE_PROVENANCE` (unset or empty: off).
    pub fn from_env() -> Result<Option<Self>, crate::Error> {
        match std::env::var(crate::env::REQUIRE_PROVENANCE) {
            Ok(v) => Self::parse(&v),
            Err(_) => Ok(None),
        }
    }

    /// Why `prov` (a target's `custom.provenance`, or `None`) does not satisfy this requirement; `Ok` if it does.
    pub fn check(&self, prov: Option<&Map<String, Value>>) -> Result<(), String> {
        let Some(prov) = prov else {
            return Err("has no signed provenance (it was not published through trusted publishing signed by the server)".into());
        };
        let s = |k: &str| prov.get(k).and_then(Value::as_str);
        if s("issuer") != Some(self.issuer.as_str()) {
            return Err(format!(
                "has provenance from issuer {}, not {}",
                s("issuer").unwrap_or("(none)"),
                self.issuer
            ));
        }
        if let Some(want) = &self.repository {
            let got = s("repository").or_else(|| s("project_path"));
            if got != Some(want.as_str()) {
                return Err(format!(
                    "has provenance from repository {}, not {want}",
                    got.unwrap_or("(none)")
                ));
            }
        }
        Ok(())
    }
}

/// A target's signed provenance (`custom.provenance`), if any.
pub fn of(file: &TargetFile) -> Option<&Map<String, Value>> {
    file.custom.as_ref()?.get("provenance")?.as_object()
}

/// One line of `key=value` pairs (sorted), as `x0x-dist verify` and `doctor` print provenance.
pub fn summary(prov: &Map<String, Value>) -> String {
    let mut keys: Vec<_> = prov.keys().collect();
    keys.sort();
    keys.iter()
        .map(|k| match &prov[*k] {
            Value::String(s) => format!("{k}={s}"),
            v => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_check() {
        assert_eq!(RequireProvenance::parse(" ").unwrap(), None);
        let r = RequireProvenance::parse("https://token.actions.githubusercontent.com|x0x-org/x0x")
            .unwrap()
            .unwrap();
        assert_eq!(r.repository.as_deref(), Some("x0x-org/x0x"));
        for bad in [
            "x0x-org/x0x",
            "https://i|",
            "https://i|a|b",
            "ftp://i",
            "https://a b",
        ] {
            assert!(RequireProvenance::parse(bad).is_err(), "{bad}");
        }
        let prov = |v: Value| v.as_object().unwrap().clone();
        let gh = prov(
            serde_json::json!({"issuer": "https://token.actions.githubusercontent.com", "repository": "x0x-org/x0x"}),
        );
        assert!(r.check(Some(&gh)).is_ok());
        assert!(r.check(None).unwrap_err().contains("no signed provenance"));
        let other = prov(
            serde_json::json!({"issuer": "https://token.actions.githubusercontent.com", "repository": "evil/x0x"}),
        );
        assert!(r.check(Some(&other)).unwrap_err().contains("evil/x0x"));
        let gl = RequireProvenance::parse("https://gitlab.com|group/x0x")
            .unwrap()
            .unwrap();
        let p =
            prov(serde_json::json!({"issuer": "https://gitlab.com", "project_path": "group/x0x"}));
        assert!(gl.check(Some(&p)).is_ok());
        assert!(gl.check(Some(&gh)).unwrap_err().contains("issuer"));
        let any = RequireProvenance::parse("https://gitlab.com")
            .unwrap()
            .unwrap();
        assert!(any.check(Some(&p)).is_ok());
    }
}
