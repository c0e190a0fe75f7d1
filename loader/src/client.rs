//! The whole resolve → fetch → verify → cache pipeline behind one type, as the CLI and the mirror use it.
use std::path::PathBuf;

use semver::VersionReq;

use crate::cache::Cache;
use crate::error::Error;
use crate::fetch::{Fetcher, Progress};
use crate::host::Host;
use crate::resolve::{self, Candidate, Resolution};
use crate::tuf::{ClientOptions, Repository};
use x0x_dist_manifests::codes::Coded as _;

/// A configured loader: one repository, one trusted root, one cache.
#[derive(Debug)]
pub struct Client {
    fetcher: Fetcher,
    cache: Cache,
    root: Vec<u8>,
    options: ClientOptions,
}

/// A candidate that was downloaded, verified against TUF metadata, and checked against the host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Selected {
    /// The candidate.
    pub candidate: Candidate,
    /// The verified file in the cache.
    pub path: PathBuf,
}

impl Client {
    /// A client reading `fetcher`'s repository, trusting `root_bytes` (a `root.json`) initially.
    pub fn new(
        fetcher: Fetcher,
        cache: Cache,
        root_bytes: Vec<u8>,
        options: ClientOptions,
    ) -> Self {
        Self {
            fetcher,
            cache,
            root: root_bytes,
            options,
        }
    }

    /// The same client verifying at time `now` instead of the current time (for tests and `--now`-style audits).
    #[must_use]
    pub fn with_now(mut self, now: time::OffsetDateTime) -> Self {
        self.options.now = Some(now);
        self
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Refreshes and verifies the metadata of `package` (root rotation, timestamp, snapshot, targets, role).
    pub async fn repository(&self, package: &str) -> Result<Repository, Error> {
        Repository::refresh(
            &self.fetcher,
            &self.cache,
            &self.root,
            package,
            &self.options,
        )
        .await
    }

    /// Refreshes metadata and ranks the targets of the highest version matching `range` that is neither
    /// yanked nor revoked nor younger than the minimum release age ([`resolve::pick_version_with`]).
    pub async fn resolve(
        &self,
        package: &str,
        range: &VersionReq,
        host: &Host,
        want: Option<&str>,
    ) -> Result<(Repository, Resolution), Error> {
        let repo = self.repository(package).await?;
        let targets = repo.package_targets()?;
        let policy = resolve::VersionPolicy {
            revocations: repo
                .trusted()
                .revocations()
                .map(x0x_dist_manifests::Signed::signed),
            min_release_age: self.options.min_release_age,
            require_provenance: self.options.require_provenance.as_ref(),
            now: self
                .options
                .now
                .unwrap_or_else(time::OffsetDateTime::now_utc),
        };
        let version = resolve::pick_version_with(package, range, &targets, &policy)?;
        let resolution = resolve::rank(&version, &targets, host, want);
        Ok((repo, resolution))
    }

    /// Downloads (or finds in the cache) one candidate; returns the verified blob path. The metadata used is
    /// re-resolved through TUF's delegation search, not taken from the candidate.
    pub async fn download(
        &self,
        repo: &Repository,
        candidate: &Candidate,
        progress: &dyn Progress,
    ) -> Result<PathBuf, Error> {
        let file = repo.target(candidate.path.as_str())?;
        // The cache is content-addressed by SHA-256: a package artifact must list one.
        let sha = file
            .sha256()
            .map_err(|source| Error::Metadata {
                context: format!("target {}", candidate.path),
                source,
            })?
            .to_hex();
        if self.options.offline {
            return self
                .cache
                .get(
                    &sha,
                    crate::cache::blob_ext(candidate.path.as_str()),
                    file.length,
                    true,
                )?
                .ok_or_else(|| Error::Offline {
                    what: candidate.path.to_string(),
                });
        }
        let stored = repo.stored_path(candidate.path.as_str(), &sha);
        self.cache
            .get_or_fetch(
                &self.fetcher,
                &stored,
                candidate.path.as_str(),
                &file,
                progress,
            )
            .await
    }

    /// The best usable candidate for `host`: tries them in order, and rejects a native binary whose ELF does
    /// not fit the host (machine, glibc floor) in favour of the next one. Fails with `loader.no_candidate`
    /// listing every reason.
    pub async fn best(
        &self,
        package: &str,
        range: &VersionReq,
        host: &Host,
        progress: &dyn Progress,
    ) -> Result<(Repository, Resolution, Selected), Error> {
        let (repo, mut resolution) = self.resolve(package, range, host, None).await?;
        let mut chosen = None;
        let order: Vec<usize> = (0..resolution.candidates.len())
            .filter(|&i| resolution.candidates[i].rank.is_some())
            .collect();
        for i in order {
            let c = resolution.candidates[i].clone();
            match self.download(&repo, &c, progress).await {
                Ok(path) => {
                    if c.kind == Some(resolve::Kind::Native) {
                        let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
                        if let Err(why) = resolve::check_native_binary(&bytes, host) {
                            let cand = &mut resolution.candidates[i];
                            cand.rank = None;
                            cand.reason = format!("rejected after download: {why}");
                            continue;
                        }
                    }
                    chosen = Some(Selected { candidate: c, path });
                    break;
                }
                Err(e) => {
                    let cand = &mut resolution.candidates[i];
                    cand.rank = None;
                    cand.reason = format!("rejected: {} ({})", e.code(), with_causes(&e));
                    let code = e.code();
                    if matches!(
                        code,
                        x0x_dist_manifests::codes::Code::TargetDigestMismatch
                            | x0x_dist_manifests::codes::Code::TargetLengthMismatch
                    ) {
                        cand.verify_failure = Some(code);
                    }
                }
            }
        }
        match chosen {
            Some(s) => Ok((repo, resolution, s)),
            None => Err(Error::NoCandidate {
                package: package.to_owned(),
                host: host.triple.clone(),
                reasons: resolution
                    .candidates
                    .iter()
                    .map(|c| format!("{}: {}", c.path, c.reason))
                    .collect(),
            }),
        }
    }
}

/// An error and its causes on one line (`a: b: c`): a candidate's reason must say why, not only what failed.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
