//! Choosing what to load from verified metadata: the version (highest published version matching a semver
//! range) and, for that version, the candidates in preference order:
//!
//! 1. the native build for the host's exact triple (libc from the running process, see [`crate::host`]);
//! 2. `wasm32-wasip1-threads`;
//! 3. `wasm32-wasip1`.
//!
//! Every other target of the release is reported as rejected with its reason, so `doctor` can show all of them.
//! A glibc build is rejected when its glibc floor (the verified `custom.glibc_floor`) exceeds the host's
//! glibc; after download the floor is read again from the ELF itself ([`check_native_binary`]), so a build
//! whose metadata understates it is still caught before it is loaded.
use semver::{Version, VersionReq};
use time::OffsetDateTime;
use x0x_dist_manifests::metadata::{RevocationState, Revocations};
pub use x0x_dist_manifests::platform::Kind;
use x0x_dist_manifests::platform::Libc;
use x0x_dist_manifests::{Platform, Sha256, TargetFile, TargetPath};

use crate::elf::{self, GlibcVersion};
use crate::error::Error;
use crate::host::Host;

/// One target of the chosen release and what resolution decided about it.
///
/// Serialized (`doctor --json`, `fetch --json`) with string fields: `path`, `triple` and `platform` (napi name),
/// `kind` (`native`, `wasm`), `sha256` (hex), each `""` (`kind`: `"unknown"`) where the verified metadata lacks
/// a valid value.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Target path (`x0x/0.3.1/x0x.linux-x64-gnu.node`).
    pub path: TargetPath,
    /// The platform from verified `custom.platform` (its triple is `custom.target`); `None` if the custom
    /// fields are missing or invalid (the candidate is then rejected).
    pub platform: Option<Platform>,
    /// Native binary or WASM (from verified `custom.kind`); `None` without valid custom fields.
    pub kind: Option<Kind>,
    /// Verified length.
    pub length: u64,
    /// Verified SHA-256; `None` if the metadata lists no valid one.
    pub sha256: Option<Sha256>,
    /// Verified glibc floor, if a glibc build.
    pub glibc_floor: Option<String>,
    /// Preference rank if usable on this host (0 best), `None` if rejected.
    pub rank: Option<u8>,
    /// Why it was taken or rejected.
    pub reason: String,
    /// The stable code if it was rejected because its bytes did not match the signed hash or length
    /// (`target.digest_mismatch`, `target.length_mismatch`): a security event, even when another candidate is used.
    pub verify_failure: Option<x0x_dist_manifests::codes::Code>,
}

/// The outcome of resolution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Resolution {
    /// The chosen version.
    pub version: String,
    /// Every target of that version; usable ones first, best first.
    pub candidates: Vec<Candidate>,
}

impl Candidate {
    /// The Rust triple, `""` without a valid platform.
    pub fn triple(&self) -> &'static str {
        self.platform.map_or("", Platform::triple)
    }

    /// The napi platform name, `""` without a valid platform.
    pub fn platform_name(&self) -> &'static str {
        self.platform.map_or("", Platform::name)
    }

    /// `native`, `wasm` or `unknown`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Some(Kind::Native) => "native",
            Some(Kind::Wasm) => "wasm",
            None => "unknown",
        }
    }

    /// The SHA-256 in hex, `""` if there is none.
    pub fn sha256_hex(&self) -> String {
        self.sha256.map(|s| s.to_hex()).unwrap_or_default()
    }
}

impl serde::Serialize for Candidate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Wire<'a> {
            path: &'a str,
            triple: &'a str,
            platform: &'a str,
            kind: &'a str,
            length: u64,
            sha256: String,
            glibc_floor: &'a Option<String>,
            rank: Option<u8>,
            reason: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            verify_failure: Option<&'static str>,
        }
        Wire {
            path: self.path.as_str(),
            triple: self.triple(),
            platform: self.platform_name(),
            kind: self.kind_name(),
            length: self.length,
            sha256: self.sha256_hex(),
            glibc_floor: &self.glibc_floor,
            rank: self.rank,
            reason: &self.reason,
            verify_failure: self
                .verify_failure
                .map(x0x_dist_manifests::codes::Code::as_str),
        }
        .serialize(s)
    }
}

impl Resolution {
    /// The usable candidates, best first.
    pub fn usable(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().filter(|c| c.rank.is_some())
    }
}

/// What keeps a published version from being picked, besides the range: the verified `revocations` role and
/// the minimum release age (`X0X_DIST_MIN_RELEASE_AGE`, against each release's signed `custom.published`).
#[derive(Debug, Clone, Copy)]
pub struct VersionPolicy<'a> {
    /// The verified revocations role, if the repository has one.
    pub revocations: Option<&'a Revocations>,
    /// Releases published less than this long before `now` are skipped by a range and refused when pinned.
    pub min_release_age: Option<MinReleaseAge>,
    /// The clock the age is measured at.
    pub now: OffsetDateTime,
    /// Every target of a release must carry matching signed provenance (`X0X_DIST_REQUIRE_PROVENANCE`): a
    /// range skips a release that does not, a pin is refused (`loader.provenance`).
    pub require_provenance: Option<&'a crate::provenance::RequireProvenance>,
}

pub use crate::env::MinReleaseAge;

impl VersionPolicy<'_> {
    /// Nothing but the range.
    pub fn none() -> Self {
        Self {
            revocations: None,
            min_release_age: None,
            now: OffsetDateTime::now_utc(),
            require_provenance: None,
        }
    }
}

/// Whether `range` pins exactly one version (`=1.2.3`, which `fetch --version 1.2.3` means).
pub fn is_exact(range: &VersionReq) -> bool {
    matches!(range.comparators.as_slice(), [c] if c.op == semver::Op::Exact && c.minor.is_some() && c.patch.is_some())
}

/// The signed publish time of `version`: the latest `custom.published` among its targets (a build added
/// later makes the release younger); `None` when none has one (treated as old).
pub fn published_at(
    version: &Version,
    targets: &[(TargetPath, TargetFile)],
) -> Option<OffsetDateTime> {
    targets
        .iter()
        .filter(|(p, _)| p.version().semver() == version)
        .filter_map(|(_, f)| f.published())
        .max()
}

/// The highest published version of `package` that is neither yanked nor revoked (what to move to).
pub fn move_to(
    package: &str,
    targets: &[(TargetPath, TargetFile)],
    revocations: Option<&Revocations>,
) -> Option<Version> {
    let mut published: Vec<Version> = targets
        .iter()
        .map(|(p, _)| p.version().semver().clone())
        .collect();
    published.sort();
    published
        .into_iter()
        .rev()
        .find(|v| revocations.is_none_or(|r| r.get(package, &v.to_string()).is_none()))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Picks the highest version of `package` matching `range` among `targets` (from verified metadata).
pub fn pick_version(
    package: &str,
    range: &VersionReq,
    targets: &[(TargetPath, TargetFile)],
) -> Result<Version, Error> {
    pick_version_with(package, range, targets, &VersionPolicy::none())
}

/// [`pick_version`] under `policy`:
/// - a range never picks a revoked or yanked version, nor one younger than the minimum release age;
/// - an exact pin (`=1.2.3`) of a revoked version is `loader.revoked` (reason, advisory, version to move to),
///   of a yanked one loads with a `release.yanked` warning, of a too-young one is `loader.too_young` naming
///   when it becomes eligible;
/// - a range whose only matches are revoked is `loader.revoked` for the highest of them.
pub fn pick_version_with(
    package: &str,
    range: &VersionReq,
    targets: &[(TargetPath, TargetFile)],
    policy: &VersionPolicy<'_>,
) -> Result<Version, Error> {
    let mut published: Vec<Version> = targets
        .iter()
        .map(|(p, _)| p.version().semver().clone())
        .collect();
    published.sort();
    published.dedup();
    let exact = is_exact(range);
    let revoked_err = |v: &Version, r: &x0x_dist_manifests::metadata::Revocation| {
        let advisory = r
            .advisory
            .as_ref()
            .map(|a| format!("; advisory {a}"))
            .unwrap_or_default();
        let to = move_to(package, targets, policy.revocations).map_or_else(
            || "nothing (no release is neither yanked nor revoked)".to_owned(),
            |m| format!("{package}@{m}"),
        );
        Error::Revoked {
            package: package.to_owned(),
            version: v.to_string(),
            detail: format!("{}{advisory}: move to {to}", r.reason),
        }
    };
    let mut first_revoked = None;
    let mut skipped = Vec::new();
    for v in published.iter().rev().filter(|v| range.matches(v)) {
        let withdrawn = policy
            .revocations
            .and_then(|r| r.get(package, &v.to_string()));
        match withdrawn.map(|w| w.state) {
            Some(RevocationState::Revoked) => {
                let e = revoked_err(v, withdrawn.expect("matched"));
                if exact {
                    return Err(e);
                }
                first_revoked.get_or_insert(e);
                skipped.push(format!("{v} revoked"));
                continue;
            }
            Some(RevocationState::Yanked) if !exact => {
                skipped.push(format!("{v} yanked"));
                continue;
            }
            Some(RevocationState::Yanked) => {
                let w = withdrawn.expect("matched");
                let to = move_to(package, targets, policy.revocations)
                    .map_or_else(String::new, |m| format!(": move to {package}@{m}"));
                tracing::warn!(
                    code = "release.yanked",
                    "{package} {v} is yanked ({}){to}",
                    w.reason
                );
            }
            None => {}
        }
        if let (Some(min), Some(at)) = (policy.min_release_age, published_at(v, targets)) {
            let eligible = at + min.age;
            if eligible > policy.now {
                if exact {
                    return Err(Error::TooYoung {
                        package: package.to_owned(),
                        version: v.to_string(),
                        detail: format!(
                            "was published at {}, less than {min} ago ({}): it becomes eligible at {}",
                            rfc3339(at),
                            crate::env::MIN_RELEASE_AGE,
                            rfc3339(eligible)
                        ),
                    });
                }
                skipped.push(format!("{v} too young until {}", rfc3339(eligible)));
                continue;
            }
        }
        if let Some(req) = policy.require_provenance {
            let missing = targets
                .iter()
                .filter(|(p, _)| p.version().semver() == v)
                .find_map(|(p, f)| {
                    req.check(crate::provenance::of(f))
                        .err()
                        .map(|why| (p, why))
                });
            if let Some((path, why)) = missing {
                if exact {
                    return Err(Error::NoProvenance {
                        package: package.to_owned(),
                        version: v.to_string(),
                        detail: format!(
                            "is refused: {path} {why} ({}={req})",
                            crate::env::REQUIRE_PROVENANCE
                        ),
                    });
                }
                skipped.push(format!("{v} without the required provenance"));
                continue;
            }
        }
        return Ok(v.clone());
    }
    if let Some(e) = first_revoked.filter(|_| skipped.iter().all(|s| s.ends_with(" revoked"))) {
        return Err(e);
    }
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("; skipped: {}", skipped.join(", "))
    };
    Err(Error::VersionNotFound {
        package: package.to_owned(),
        range: range.to_string(),
        published: published
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
            + &skipped,
    })
}

/// Ranks the targets of `version` for `host`. `want` restricts to one triple or napi name (`--target`).
pub fn rank(
    version: &Version,
    targets: &[(TargetPath, TargetFile)],
    host: &Host,
    want: Option<&str>,
) -> Resolution {
    let host_glibc = host.glibc();
    let mut candidates: Vec<Candidate> = targets
        .iter()
        .filter(|(p, _)| p.version().semver() == version)
        .map(|(path, file)| {
            let custom = file.x0x_custom();
            let platform = custom.as_ref().and_then(|c| c.platform().ok());
            let mut c = Candidate {
                path: path.clone(),
                platform,
                kind: custom.as_ref().map(|c| c.kind),
                length: file.length,
                sha256: file.sha256().ok(),
                glibc_floor: custom.as_ref().and_then(|c| c.glibc_floor.clone()),
                rank: None,
                reason: String::new(),
                verify_failure: None,
            };
            let Some(platform) = platform else {
                c.reason = "rejected: no valid x0x custom metadata (target, platform)".into();
                return c;
            };
            if let Some(w) = want {
                if platform.triple() == w || platform.name() == w {
                    c.rank = Some(0);
                    c.reason = format!("taken: requested with --target {w}");
                } else {
                    c.reason = format!("rejected: not the requested target {w}");
                }
                return c;
            }
            match platform.kind() {
                Kind::Native if platform.triple() == host.triple => {
                    let floor = c.glibc_floor.as_deref().map(str::parse::<GlibcVersion>);
                    match (platform.info().libc, floor, host_glibc) {
                        (Libc::Glibc, Some(Err(_)), _) => {
                            c.reason = "rejected: unparseable glibc_floor in metadata".into();
                        }
                        (Libc::Glibc, Some(Ok(f)), Some(h)) if f > h => {
                            c.reason = format!("rejected: needs glibc {f}, host has {h}");
                        }
                        (Libc::Glibc, _, None) => {
                            c.reason =
                                "rejected: glibc build but the host glibc version is unknown"
                                    .into();
                        }
                        _ => {
                            c.rank = Some(0);
                            c.reason = format!("taken: native build for {}", host.triple);
                        }
                    }
                }
                Kind::Native => {
                    c.reason = format!(
                        "rejected: built for {}, host is {}",
                        platform.triple(),
                        host.triple
                    );
                }
                Kind::Wasm if platform == Platform::Wasm32Wasip1Threads => {
                    c.rank = Some(1);
                    c.reason =
                        "fallback: WASM with threads (where shared WebAssembly.Memory works)"
                            .into();
                }
                Kind::Wasm => {
                    c.rank = Some(2);
                    c.reason = "fallback: WASM without threads".into();
                }
            }
            c
        })
        .collect();
    candidates.sort_by(|a, b| {
        (a.rank.unwrap_or(u8::MAX), a.path.as_str())
            .cmp(&(b.rank.unwrap_or(u8::MAX), b.path.as_str()))
    });
    Resolution {
        version: version.to_string(),
        candidates,
    }
}

/// Checks a downloaded native binary against the host before it is loaded: ELF machine and class match the host
/// architecture, and its glibc floor read from `.gnu.version_r` is not above the host's glibc. Non-ELF targets
/// (Mach-O, PE, WASM) pass through: there is nothing to check here.
pub fn check_native_binary(bytes: &[u8], host: &Host) -> Result<(), String> {
    let info = match elf::inspect(bytes) {
        Ok(i) => i,
        Err(Error::NotElf) => return Ok(()),
        Err(e) => return Err(format!("unreadable ELF: {e}")),
    };
    let host_arch = host.triple.split('-').next().unwrap_or("");
    let arch = info.machine.arch_name();
    let arch_ok = arch == host_arch || (arch == "arm" && host_arch.starts_with("arm"));
    if !arch_ok {
        return Err(format!("ELF is for {arch}, host is {host_arch}"));
    }
    if let (Some(floor), Some(h)) = (info.glibc_floor, host.glibc()) {
        if floor > h {
            return Err(format!("ELF needs GLIBC_{floor}, host glibc is {h}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(typed: bool) -> Candidate {
        Candidate {
            path: "x0x/0.3.1/x0x.linux-x64-gnu.node".parse().unwrap(),
            platform: typed.then(|| Platform::from_name("linux-x64-gnu").unwrap()),
            kind: typed.then_some(Kind::Native),
            length: 7,
            sha256: typed.then(|| "ab".repeat(32).parse().unwrap()),
            glibc_floor: Some("2.17".into()),
            rank: Some(0),
            reason: "taken".into(),
            verify_failure: None,
        }
    }

    /// One wasm target per version, published `ago` before `now` (`None`: no `custom.published`, old).
    fn releases(
        now: OffsetDateTime,
        list: &[(&str, Option<i64>)],
    ) -> Vec<(TargetPath, TargetFile)> {
        list.iter()
            .map(|(v, ago)| {
                let path: TargetPath = format!("x0x/{v}/x0x.wasm32-wasip1.wasm").parse().unwrap();
                let custom = x0x_dist_manifests::TargetCustom::new(
                    path.package(),
                    path.version(),
                    Platform::from_name("wasm32-wasip1").unwrap(),
                    None,
                );
                let mut f = TargetFile::for_bytes(v.as_bytes(), Some(&custom));
                if let Some(ago) = ago {
                    f.set_published(now - time::Duration::seconds(*ago));
                }
                (path, f)
            })
            .collect()
    }

    #[test]
    fn a_range_skips_young_releases_an_exact_pin_is_refused_until_eligible() {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        // 1.0.0 predates publish times (old), 1.1.0 is two days old, 1.2.0 one hour.
        let t = releases(
            now,
            &[
                ("1.0.0", None),
                ("1.1.0", Some(172_800)),
                ("1.2.0", Some(3600)),
            ],
        );
        let policy = |age: i64| VersionPolicy {
            revocations: None,
            min_release_age: Some(MinReleaseAge {
                age: time::Duration::seconds(age),
            }),
            now,
            require_provenance: None,
        };
        let pick = |range: &str, age: i64| {
            pick_version_with("x0x", &range.parse().unwrap(), &t, &policy(age))
                .map(|v| v.to_string())
        };
        assert_eq!(pick("*", 60).unwrap(), "1.2.0");
        assert_eq!(pick("*", 86_400).unwrap(), "1.1.0");
        assert_eq!(pick("*", 3 * 86_400).unwrap(), "1.0.0");
        let e = pick("=1.2.0", 86_400).unwrap_err();
        let eligible = rfc3339(now + time::Duration::seconds(86_400 - 3600));
        assert!(
            matches!(&e, Error::TooYoung { detail, .. } if detail.ends_with(&format!("eligible at {eligible}"))),
            "{e}"
        );
        assert_eq!(pick("=1.0.0", 365 * 86_400).unwrap(), "1.0.0");
        assert_eq!(
            pick_version("x0x", &"*".parse().unwrap(), &t)
                .unwrap()
                .to_string(),
            "1.2.0"
        );
    }

    #[test]
    fn required_provenance_skips_and_refuses() {
        let now = OffsetDateTime::now_utc();
        let mut t = releases(now, &[("1.0.0", None), ("1.1.0", None), ("1.2.0", None)]);
        let prov =
            |repo: &str| serde_json::json!({"issuer": "https://ci.example", "repository": repo});
        for (i, repo) in [(0, "org/x0x"), (2, "evil/x0x")] {
            if let Some(serde_json::Value::Object(c)) = t[i].1.custom.as_mut() {
                c.insert("provenance".into(), prov(repo));
            }
        }
        let req = crate::provenance::RequireProvenance::parse("https://ci.example|org/x0x")
            .unwrap()
            .unwrap();
        let policy = VersionPolicy {
            require_provenance: Some(&req),
            ..VersionPolicy::none()
        };
        let pick = |range: &str| {
            pick_version_with("x0x", &range.parse().unwrap(), &t, &policy).map(|v| v.to_string())
        };
        assert_eq!(pick("*").unwrap(), "1.0.0");
        for (pin, why) in [("=1.1.0", "no signed provenance"), ("=1.2.0", "evil/x0x")] {
            let e = pick(pin).unwrap_err();
            assert_eq!(
                x0x_dist_manifests::codes::Coded::code(&e).as_str(),
                "loader.provenance"
            );
            assert!(e.to_string().contains(why), "{e}");
        }
        assert!(pick(">=1.1")
            .unwrap_err()
            .to_string()
            .contains("without the required provenance"));
    }

    /// `doctor --json` prints candidates: the typed fields are written as the strings they replaced.
    #[test]
    fn a_candidate_is_written_with_string_fields() {
        assert_eq!(
            serde_json::to_value(candidate(true)).unwrap(),
            serde_json::json!({
                "path": "x0x/0.3.1/x0x.linux-x64-gnu.node", "triple": "x86_64-unknown-linux-gnu",
                "platform": "linux-x64-gnu", "kind": "native", "length": 7, "sha256": "ab".repeat(32),
                "glibc_floor": "2.17", "rank": 0, "reason": "taken",
            })
        );
        let v = serde_json::to_value(candidate(false)).unwrap();
        assert_eq!(
            (&v["triple"], &v["platform"], &v["kind"], &v["sha256"]),
            (
                &serde_json::json!(""),
                &serde_json::json!(""),
                &serde_json::json!("unknown"),
                &serde_json::json!("")
            )
        );
    }
}
