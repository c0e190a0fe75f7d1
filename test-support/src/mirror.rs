//! Support for the mirror and bundle tests: origin repositories built with the repository library (optionally
//! signed in the past, so their metadata is really expired now), the real `x0x-dist` binary, servers on
//! loopback, and a Node package directory running the real JavaScript loader.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use time::OffsetDateTime;
use x0x_dist_manifests::{PackageName, Version};
use x0x_dist_repository::repo::{self, Artifact, Expiry};

use crate::cli;
pub use crate::cli::{await_stderr, bin, fails, free_port, run, run_ok};

/// A running `x0x-dist serve`, killed on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Server {
    // The child is owned by the returned Server, which kills and waits for it on drop.
    #[allow(clippy::zombie_processes)]
    pub fn start(repo: &Path, upstream: Option<&str>, log: &Path) -> Self {
        Self::start_with(repo, upstream, log, &[])
    }

    /// [`Server::start`] with more `serve` arguments (`--config FILE`, ...).
    #[allow(clippy::zombie_processes)]
    pub fn start_with(
        repo: &Path,
        upstream: Option<&str>,
        log: &Path,
        extra: &[&std::ffi::OsStr],
    ) -> Self {
        let port = free_port();
        let mut cmd = bin();
        cmd.args(["serve", "--repo"])
            .arg(repo)
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--log",
                "info,x0x_dist_server::router=warn",
            ])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap());
        if let Some(u) = upstream {
            cmd.args(["--upstream", u]);
        }
        cmd.args(extra);
        let mut child = cmd.spawn().unwrap();
        cli::wait_healthy(&mut child, port, || {
            std::fs::read_to_string(log).unwrap_or_default()
        });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A blocking GET on loopback: (status, body).
pub fn get(url: &str) -> (u16, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        let s = r.status().as_u16();
        (s, r.bytes().await.unwrap().to_vec())
    })
}

/// An origin repository with package `x0x` and releases, signed at `signed_at`.
pub struct Origin {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub key: x0x_dist_manifests::SigningKey,
    pub signed_at: OffsetDateTime,
}

/// An artifact named `name` holding `data`; data that is not a build for the platform the name claims gets a
/// real header in front ([`x0x_dist_loader::artifact::minimal_build`]), since a release checks each file's
/// content (issue 21).
pub fn artifact(name: &str, data: Vec<u8>) -> Artifact {
    let (_, platform) = x0x_dist_manifests::Platform::parse_file_name(name).unwrap();
    let data = if x0x_dist_loader::artifact::check(platform, &data).is_ok() {
        data
    } else {
        x0x_dist_loader::artifact::minimal_build(platform, &data)
    };
    Artifact {
        file_name: name.to_owned(),
        data,
        glibc_floor: None,
    }
}

/// Pseudo-random bytes (deterministic per seed).
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The four fake artifacts of a release (not loadable; for transport and verification tests).
pub fn fake_release(seed: u64) -> Vec<Artifact> {
    vec![
        artifact("x0x.linux-x64-gnu.node", bytes(seed, 200_000)),
        artifact("x0x.linux-arm64-gnu.node", bytes(seed + 1, 150_000)),
        artifact("x0x.darwin-arm64.node", bytes(seed + 2, 120_000)),
        artifact("x0x.wasm32-wasip1.wasm", bytes(seed + 3, 90_000)),
    ]
}

impl Origin {
    /// A new origin in `dir`, its metadata signed at `signed_at` with the default lifetimes (timestamp 1 day).
    pub fn new(dir: &Path, signed_at: OffsetDateTime) -> Self {
        let exp = Expiry::default();
        repo::init(dir, signed_at, &exp).unwrap();
        let key = repo::generate_key();
        repo::add_package(
            dir,
            &"x0x".parse::<PackageName>().unwrap(),
            &[key.public().clone()],
            1,
            signed_at,
            &exp,
        )
        .unwrap();
        Self {
            dir: dir.to_owned(),
            root: dir.join("metadata/1.root.json"),
            key,
            signed_at,
        }
    }

    pub fn release(&self, version: &str, artifacts: &[Artifact]) {
        repo::release(
            &self.dir,
            &"x0x".parse::<PackageName>().unwrap(),
            &version.parse::<Version>().unwrap(),
            artifacts,
            &self.key,
            self.signed_at,
            &Expiry::default(),
        )
        .unwrap();
    }

    /// `x0x-dist verify` of the repository `dir` (a mirror of this origin), trusting this origin's root.
    pub fn verify(&self, dir: &Path) {
        run_ok(
            bin()
                .args(["verify", "--repo"])
                .arg(dir)
                .arg("--root")
                .arg(&self.root),
        );
    }

    /// The stored file of a target.
    pub fn stored(&self, version: &str, file: &str) -> PathBuf {
        let dir = self.dir.join("targets/x0x").join(version);
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .ends_with(&format!(".{file}"))
            })
            .unwrap_or_else(|| panic!("{file} not in {}", dir.display()))
    }
}

/// `x0x-dist bundle import BUNDLE --repo DIR --root ROOT`.
pub fn import(bundle: &Path, dir: &Path, root: &Path) -> Command {
    let mut c = bin();
    c.args(["bundle", "import"])
        .arg(bundle)
        .arg("--repo")
        .arg(dir)
        .arg("--root")
        .arg(root);
    c
}

/// `x0x-dist fetch` of every target (or one) into `out`, with a fresh cache under `cache`.
pub fn fetch(
    source: &[&str],
    root: &Path,
    target: Option<&str>,
    out: &Path,
    cache: &Path,
) -> Command {
    let mut c = bin();
    c.arg("fetch")
        .args(source)
        .arg("--root")
        .arg(root)
        .args(["--package", "x0x", "--out"])
        .arg(out);
    c.arg("--cache").arg(cache);
    match target {
        Some(t) => c.args(["--target", t]),
        None => c.arg("--all-targets"),
    };
    c
}

/// Asserts that `out` holds every artifact of `arts` under its file name, byte for byte.
pub fn assert_files(out: &Path, arts: &[Artifact]) {
    for a in arts {
        assert_eq!(
            std::fs::read(out.join(&a.file_name)).unwrap(),
            a.data,
            "{}",
            a.file_name
        );
    }
}

/// Flips one byte in the middle of `path` (same length).
pub fn tamper(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0xff;
    std::fs::write(path, b).unwrap();
}

/// A Node package directory running the real JavaScript loader (loader/js) for `x0x` `version`, trusting
/// `root`. `None` when `node` is not installed.
pub fn node_package(dir: &Path, version: &str, root: &Path) -> Option<PathBuf> {
    Command::new("node").arg("--version").output().ok()?;
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("../loader/js");
    let pkg = dir.join("node_modules/x0x");
    std::fs::create_dir_all(pkg.join("lib")).unwrap();
    std::fs::copy(js.join("index.js"), pkg.join("index.js")).unwrap();
    for e in std::fs::read_dir(js.join("lib")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), pkg.join("lib").join(e.file_name())).unwrap();
    }
    std::fs::write(
        pkg.join("release.json"),
        format!(r#"{{"package":"x0x","version":"{version}"}}"#),
    )
    .unwrap();
    std::fs::copy(root, pkg.join("root.json")).unwrap();
    Some(pkg)
}

/// A loadable native addon for this host: the real core (`$X0X_CORE_DIR/x0x.linux-x64-gnu.node`, called with
/// `coreVersion()`) when CI built it, else the loader's test addon compiled with `cc` (called with `hello()`).
/// Returns (bytes, JavaScript expression calling it on `m`).
pub fn loadable_addon(dir: &Path) -> Option<(Vec<u8>, &'static str)> {
    if let Some(core) = std::env::var_os("X0X_CORE_DIR") {
        let p = Path::new(&core).join("x0x.linux-x64-gnu.node");
        if let Ok(b) = std::fs::read(&p) {
            return Some((b, "m.coreVersion()"));
        }
    }
    let include = ["/usr/include/node", "/usr/local/include/node"]
        .into_iter()
        .find(|p| Path::new(p).join("node_api.h").is_file())?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../loader/js/test/fixtures/addon.c");
    let out = dir.join("addon.node");
    let st = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", &format!("-I{include}"), "-o"])
        .arg(&out)
        .arg(src)
        .status()
        .ok()?;
    st.success()
        .then(|| (std::fs::read(&out).unwrap(), "m.hello()"))
}
