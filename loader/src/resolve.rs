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
use x0x_dist_manifests::platform::{Kind, Libc};
use x0x_dist_manifests::{Platform, TargetFile};

use crate::elf::{self, GlibcVersion};
use crate::error::Error;
use crate::host::Host;

/// One target of the chosen release and what resolution decided about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Candidate {
    /// Target path (`x0x/0.3.1/x0x.linux-x64-gnu.node`).
    pub path: String,
    /// Rust triple from verified `custom.target`.
    pub triple: String,
    /// napi platform name from verified `custom.platform`.
    pub platform: String,
    /// `native` or `wasm`.
    pub kind: String,
    /// Verified length.
    pub length: u64,
    /// Verified SHA-256 (hex).
    pub sha256: String,
    /// Verified glibc floor, if a glibc build.
    pub glibc_floor: Option<String>,
    /// Preference rank if usable on this host (0 best), `None` if rejected.
    pub rank: Option<u8>,
    /// Why it was taken or rejected.
    pub reason: String,
    /// The stable code if it was rejected because its bytes did not match the signed hash or length
    /// (`target.digest_mismatch`, `target.length_mismatch`): a security event, even when another candidate is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_failure: Option<&'static str>,
}

/// The outcome of resolution.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Resolution {
    /// The chosen version.
    pub version: String,
    /// Every target of that version; usable ones first, best first.
    pub candidates: Vec<Candidate>,
}

impl Resolution {
    /// The usable candidates, best first.
    pub fn usable(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().filter(|c| c.rank.is_some())
    }
}

/// Picks the highest version of `package` matching `range` among `targets` (from verified metadata).
pub fn pick_version(
    package: &str,
    range: &VersionReq,
    targets: &[(String, TargetFile)],
) -> Result<Version, Error> {
    let mut published: Vec<Version> = targets
        .iter()
        .filter_map(|(p, _)| p.split('/').nth(1)?.parse().ok())
        .collect();
    published.sort();
    published.dedup();
    published
        .iter()
        .rev()
        .find(|v| range.matches(v))
        .cloned()
        .ok_or_else(|| Error::VersionNotFound {
            package: package.to_owned(),
            range: range.to_string(),
            published: published
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Ranks the targets of `version` for `host`. `want` restricts to one triple or napi name (`--target`).
pub fn rank(
    version: &Version,
    targets: &[(String, TargetFile)],
    host: &Host,
    want: Option<&str>,
) -> Resolution {
    let host_glibc = host.glibc();
    let mut candidates: Vec<Candidate> = targets
        .iter()
        .filter(|(p, _)| p.split('/').nth(1) == Some(&version.to_string()))
        .map(|(path, file)| {
            let custom = file.x0x_custom();
            let platform = custom.as_ref().and_then(|c| c.platform().ok());
            let mut c = Candidate {
                path: path.clone(),
                triple: custom
                    .as_ref()
                    .map(|c| c.target.clone())
                    .unwrap_or_default(),
                platform: custom
                    .as_ref()
                    .map(|c| c.platform.clone())
                    .unwrap_or_default(),
                kind: match custom.as_ref().map(|c| c.kind) {
                    Some(Kind::Native) => "native".into(),
                    Some(Kind::Wasm) => "wasm".into(),
                    None => "unknown".into(),
                },
                length: file.length,
                sha256: file.hashes.get("sha256").cloned().unwrap_or_default(),
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
    candidates.sort_by_key(|c| (c.rank.unwrap_or(u8::MAX), c.path.clone()));
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
