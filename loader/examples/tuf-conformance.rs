//! tuf-conformance client-under-test for the Rust TUF client (protocol: the suite's `CLIENT-CLI.md`; how to
//! run it: `docs/conformance.md`, `scripts/tuf-conformance.sh`). Built with
//! `cargo build -p x0x-dist-loader --example tuf-conformance`.
//!
//! What it exercises: every trust decision is [`TrustedSet`]'s (`manifests/src/verify.rs`), every request is
//! the loader's [`Fetcher`] (retries, size limits, redirects), in the order of the loader's
//! `tuf::Repository::refresh`: trusted root from METADATA_DIR, root rotation (each accepted root persisted at
//! once), the persisted timestamp and snapshot loaded first as rollback references, then the remote
//! timestamp → snapshot → targets, each persisted when accepted, a persisted copy reused when it verifies
//! at the pinned version.
//!
//! Why not `tuf::Repository` itself: its workflow is package-scoped (it refuses a repository whose `targets`
//! does not delegate to the package, and loads that one role), while the suite needs the generic TUF
//! delegation search over arbitrary graphs; that search is `TrustedSet::resolve_target`, driven here as the
//! loader's `Lookup::NeedRole` loop. METADATA_DIR uses the loader's persisted layout, which is already the
//! protocol's: `root.json`, `timestamp.json`, `snapshot.json`, `<encoded role>.json`. The `tuf/` folder of our
//! server's layout is the only departure: the suite serves `metadata/` and `targets/` directly
//! ([`Fetcher::bare_layout`]).
//!
//! Targets: any safe path a role lists is resolved (the package shape `<package>/<version>/<file>` is the
//! loader's rule for the artifacts it enumerates, `tuf::Repository::package_targets`, not TUF's), downloaded
//! with [`Fetcher::target_file`] (every listed hash checked: sha256 and/or sha512) and stored in TARGET_DIR
//! under the path encoded as one segment (as python-tuf).
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use time::OffsetDateTime;
use x0x_dist_loader::fetch::{Expected, FetchOptions, Fetcher, Location, NoProgress};
use x0x_dist_loader::Error;
use x0x_dist_manifests::codes::Coded as _;
use x0x_dist_manifests::metadata::{Root, Snapshot, Targets, Timestamp};
use x0x_dist_manifests::verify::{encode_role_name, Lookup, TrustedSet};
use x0x_dist_manifests::{Role, RoleType};

#[derive(Default)]
struct Args {
    metadata_dir: Option<PathBuf>,
    metadata_url: Option<String>,
    target_names: Vec<String>,
    target_base_url: Option<String>,
    target_dir: Option<PathBuf>,
    command: Option<String>,
    trusted_root: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{k} needs a value"));
        match k.as_str() {
            "--metadata-dir" => a.metadata_dir = Some(val()?.into()),
            "--metadata-url" => a.metadata_url = Some(val()?),
            "--target-name" => a.target_names.push(val()?),
            "--target-base-url" => a.target_base_url = Some(val()?),
            "--target-dir" => a.target_dir = Some(val()?.into()),
            "init" => {
                a.trusted_root = Some(val()?.into());
                a.command = Some(k);
            }
            "refresh" | "download" => a.command = Some(k),
            "-v" | "--verbose" => {}
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    Ok(a)
}

/// A fetcher for the suite's URLs: `…/metadata/` and `…/targets/` under one parent.
fn fetcher(url: &str) -> Result<Fetcher, Error> {
    let parent = url
        .trim_end_matches('/')
        .rsplit_once('/')
        .map_or(url, |(p, _)| p);
    Ok(Fetcher::new(
        Location::parse(&format!("{parent}/"))?,
        FetchOptions::default(),
    )?
    .bare_layout())
}

fn meta_err(context: String) -> impl FnOnce(x0x_dist_manifests::Error) -> Error {
    move |source| Error::Metadata { context, source }
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("read", path)(e)),
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    x0x_dist_durable::write_atomic(path, bytes, x0x_dist_durable::Mode::Public)
        .map_err(io("write", path))
}

fn not_found(name: &str, fetcher: &Fetcher) -> Error {
    Error::NotFound {
        what: format!("metadata {name}"),
        location: fetcher.location().to_string(),
    }
}

struct Client {
    dir: PathBuf,
    fetcher: Fetcher,
    trusted: TrustedSet,
}

impl Client {
    /// The client workflow for the top-level roles (TUF §5.3–5.6), as `tuf::Repository::refresh`.
    async fn refresh(dir: &Path, fetcher: Fetcher) -> Result<Self, Error> {
        let root_path = dir.join("root.json");
        let root = std::fs::read(&root_path).map_err(io("read", &root_path))?;
        let trusted = TrustedSet::new(&root, OffsetDateTime::now_utc())
            .map_err(meta_err("the trusted root.json".into()))?;
        let mut c = Client {
            dir: dir.to_path_buf(),
            fetcher,
            trusted,
        };
        let here = c.fetcher.location().to_string();
        // Root rotation.
        loop {
            let name = format!("{}.root.json", c.trusted.root().signed().version + 1);
            let Some(bytes) = c.fetcher.metadata(&name, Root::MAX_SIZE as u64).await? else {
                break;
            };
            c.trusted
                .update_root(&bytes)
                .map_err(meta_err(format!("{name} from {here}")))?;
            write(&root_path, &bytes)?;
        }
        // Persisted timestamp and snapshot: rollback references (an expired timestamp still is one).
        if let Some(b) = read_opt(&dir.join("timestamp.json"))? {
            if c.trusted.update_timestamp(&b).is_ok() {
                if let Some(snap) = read_opt(&dir.join("snapshot.json"))? {
                    let _ = c.trusted.update_snapshot(&snap);
                }
            }
        }
        let bytes = c
            .fetcher
            .metadata("timestamp.json", Timestamp::MAX_SIZE as u64)
            .await?
            .ok_or_else(|| not_found("timestamp.json", &c.fetcher))?;
        let before = c.trusted.timestamp().map(|t| t.signed().version);
        c.trusted
            .update_timestamp(&bytes)
            .map_err(meta_err(format!("timestamp.json from {here}")))?;
        if before != c.trusted.timestamp().map(|t| t.signed().version) {
            write(&dir.join("timestamp.json"), &bytes)?;
        }
        let pinned = c
            .trusted
            .timestamp()
            .expect("timestamp loaded")
            .signed()
            .snapshot_meta()
            .version;
        if c.trusted.snapshot().map(|s| s.signed().version) != Some(pinned) {
            let name = c
                .trusted
                .metadata_file_name(pinned, RoleType::Snapshot.as_str());
            let bytes = c
                .fetcher
                .metadata(&name, Snapshot::MAX_SIZE as u64)
                .await?
                .ok_or_else(|| not_found(&name, &c.fetcher))?;
            c.trusted
                .update_snapshot(&bytes)
                .map_err(meta_err(format!("{name} from {here}")))?;
            write(&dir.join("snapshot.json"), &bytes)?;
        }
        c.load_targets_role(RoleType::Targets.as_str(), RoleType::Root.as_str())
            .await?;
        Ok(c)
    }

    /// Loads a targets role that snapshot pins, reusing the persisted copy when it verifies at that version.
    async fn load_targets_role(&mut self, role: &str, delegator: &str) -> Result<(), Error> {
        let snapshot = self.trusted.snapshot().expect("snapshot loaded");
        let pinned = snapshot
            .signed()
            .meta
            .get(&format!("{role}.json"))
            .map(|m| m.version)
            .ok_or_else(|| Error::Metadata {
                context: format!("role {role} in snapshot"),
                source: x0x_dist_manifests::Error::MissingRole(role.to_owned()),
            })?;
        let local_path = self.dir.join(format!("{}.json", encode_role_name(role)));
        if let Some(local) = read_opt(&local_path)? {
            if self
                .trusted
                .update_delegated(&local, role, delegator)
                .is_ok()
            {
                return Ok(());
            }
        }
        let name = self.trusted.metadata_file_name(pinned, role);
        let bytes = self
            .fetcher
            .metadata(&name, Targets::MAX_SIZE as u64)
            .await?
            .ok_or_else(|| not_found(&name, &self.fetcher))?;
        self.trusted
            .update_delegated(&bytes, role, delegator)
            .map_err(meta_err(format!("{name} from {}", self.fetcher.location())))?;
        write(&local_path, &bytes)
    }

    /// The delegation search (TrustedSet::resolve_target), loading each role it asks for, then the download.
    async fn download(
        &mut self,
        path: &str,
        targets: &Fetcher,
        target_dir: &Path,
    ) -> Result<(), Error> {
        let target = loop {
            match self
                .trusted
                .resolve_target(path)
                .map_err(meta_err(format!("target {path}")))?
            {
                Lookup::Found { target, .. } => break target,
                Lookup::NeedRole { role, delegator } => {
                    self.load_targets_role(&role, &delegator).await?;
                }
            }
        };
        let dest = target_dir.join(encode_role_name(path));
        if dest.is_file() {
            let bytes = std::fs::read(&dest).map_err(io("read", &dest))?;
            if target.verify(path, &bytes).is_ok() {
                return Ok(());
            }
        }
        // Every listed hash is checked (sha256 and/or sha512; another algorithm refuses the target).
        let want = Expected::of(path, &target)?;
        // As the loader: with consistent snapshots the file is stored as DIR/HASH.NAME, HASH the sha256 if
        // listed, else the sha512 (parse checked both are lower-case hex).
        let stored = if self.trusted.root().signed().consistent_snapshot {
            let hash = want.sha256.or(want.sha512).expect("Expected::of: a hash");
            match path.rsplit_once('/') {
                Some((d, f)) => format!("{d}/{hash}.{f}"),
                None => format!("{hash}.{path}"),
            }
        } else {
            path.to_owned()
        };
        let tmp = self
            .dir
            .join(format!("download.{}.tmp", std::process::id()));
        let r = targets
            .target_file(&stored, path, &target, &tmp, &NoProgress)
            .await;
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r?;
        x0x_dist_durable::persist(&tmp, &dest).map_err(io("rename", &tmp))
    }
}

async fn run(a: Args) -> Result<(), Error> {
    let usage = |what: &str| Error::Config {
        what: "tuf-conformance arguments",
        value: what.to_owned(),
    };
    let dir = a
        .metadata_dir
        .ok_or_else(|| usage("--metadata-dir is required"))?;
    match a.command.as_deref() {
        Some("init") => {
            let root = a.trusted_root.expect("init has a root");
            let bytes = std::fs::read(&root).map_err(io("read", &root))?;
            write(&dir.join("root.json"), &bytes)
        }
        Some(cmd @ ("refresh" | "download")) => {
            let url = a
                .metadata_url
                .ok_or_else(|| usage("--metadata-url is required"))?;
            let mut client = Client::refresh(&dir, fetcher(&url)?).await?;
            if cmd == "download" {
                let base = a
                    .target_base_url
                    .ok_or_else(|| usage("--target-base-url is required"))?;
                let target_dir = a
                    .target_dir
                    .ok_or_else(|| usage("--target-dir is required"))?;
                let targets = fetcher(&base)?;
                for name in &a.target_names {
                    client.download(name, &targets, &target_dir).await?;
                }
            }
            Ok(())
        }
        _ => Err(usage("a command: init, refresh or download")),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("x0x rust conformance client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::fmt::Write as _;
            let mut msg = format!("{}: {e}", e.code());
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                let _ = write!(msg, "\n  caused by: {s}");
                src = s.source();
            }
            eprintln!("x0x rust conformance client: {msg}");
            ExitCode::FAILURE
        }
    }
}
