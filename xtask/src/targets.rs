//! Which toolchain builds which platform, on this kind of machine (Debian 12 x86_64, rustup with the host std
//! only) and on the release workflow's runners (`--rustup`: rustup installs each target's std).
//!
//! Platform names, triples and file names come from the manifests crate's platform table; this module only adds
//! how to build each one.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use x0x_dist_manifests::Platform;

/// The compiler and std behind a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Std {
    /// rustup's toolchain and its installed std for the target.
    Rustup,
    /// Debian's rustc-web 1.96 building std from rust-web-src (`-Zbuild-std`, `RUSTC_BOOTSTRAP=1`).
    DebianBuild,
    /// Debian's rustc-web with the prebuilt wasm32-wasip1 sysroot from scripts/toolchains.sh.
    DebianWasi,
    /// Debian's rustc-web with the wasm32-wasip1-threads sysroot (sid's wasix-libc + the wasi-threads shim) from
    /// scripts/wasi-threads/sysroot.sh.
    DebianWasiThreads,
}

/// How one platform is built.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub platform: Platform,
    pub std: Std,
    /// Link with zig through cargo-zigbuild.
    pub zig: bool,
    /// The `--target` given to cargo: the triple, plus `.2.17` for a glibc floor when zig links.
    pub cargo_target: String,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

/// What `--targets host` means on this machine.
pub fn host_platform() -> Result<Platform> {
    let name = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64-gnu",
        ("linux", "aarch64") => "linux-arm64-gnu",
        ("macos", "aarch64") => "darwin-arm64",
        ("macos", "x86_64") => "darwin-x64",
        ("windows", "x86_64") => "win32-x64-msvc",
        (os, arch) => bail!("no napi platform for host {os}/{arch}"),
    };
    Ok(Platform::from_name(name)?)
}

/// The cross matrix built on Debian with build-std (`--targets cross`).
pub const CROSS: &[&str] = &[
    "linux-arm64-gnu",
    "linux-x64-musl",
    "linux-arm64-musl",
    "linux-arm-gnueabihf",
    "win32-x64-gnu",
    "darwin-arm64",
    "darwin-x64",
];

/// The WASM flavours: `wasm` is wasm32-wasip1, `wasm-threads` wasm32-wasip1-threads (the preferred fallback).
pub const WASM: &str = "wasm32-wasip1";
/// See [`WASM`].
pub const WASM_THREADS: &str = "wasm32-wasip1-threads";

/// Expands `--targets` (comma-separated groups `host`, `wasm`, `wasm-threads`, `cross`, `all`, or platform
/// names/triples).
pub fn expand(spec: &str) -> Result<Vec<Platform>> {
    let mut out: Vec<Platform> = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let add: Vec<Platform> = match word {
            "host" => vec![host_platform()?],
            "wasm" => vec![Platform::from_name(WASM)?],
            "wasm-threads" => vec![Platform::from_name(WASM_THREADS)?],
            "cross" => CROSS.iter().map(|n| Platform::from_name(n)).collect::<Result<_, _>>()?,
            "all" => {
                let mut v = vec![
                    host_platform()?,
                    Platform::from_name(WASM)?,
                    Platform::from_name(WASM_THREADS)?,
                ];
                v.extend(CROSS.iter().map(|n| Platform::from_name(n)).collect::<Result<Vec<_>, _>>()?);
                v
            }
            other => vec![other
                .parse::<Platform>()
                .with_context(|| format!("unknown target {other:?} (want host, wasm, wasm-threads, cross, all or a napi platform name)"))?],
        };
        for p in add {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        bail!("--targets is empty");
    }
    Ok(out)
}

fn host_is(os: &str) -> bool {
    std::env::consts::OS == os
}

/// The recipe for `platform`. `rustup` selects the release-runner flavour (rustup's std for every target);
/// `zig_available` says whether cargo-zigbuild is installed (without it the host build has the build machine's
/// glibc floor instead of 2.17).
pub fn recipe(platform: Platform, rustup: bool, zig_available: bool, toolchains: &Path) -> Recipe {
    let triple = platform.triple();
    let name = platform.name();
    let host = host_platform().ok() == Some(platform);
    let mut env = Vec::new();
    let upper = triple.to_uppercase().replace('-', "_");
    // Linux glibc builds link against glibc 2.17's symbol versions (zig), the floor x0x ships.
    let glibc_floor =
        name.ends_with("-gnu") && name.starts_with("linux") || name == "linux-arm-gnueabihf";
    let (std, zig) = match name {
        "wasm32-wasip1" => (if rustup { Std::Rustup } else { Std::DebianWasi }, false),
        "wasm32-wasip1-threads" => (
            if rustup {
                Std::Rustup
            } else {
                Std::DebianWasiThreads
            },
            false,
        ),
        _ if host && !glibc_floor => (Std::Rustup, false),
        _ if host => (Std::Rustup, zig_available),
        _ if rustup
            && (name.starts_with("darwin") && host_is("macos")
                || name.starts_with("win32") && host_is("windows")) =>
        {
            (Std::Rustup, false)
        }
        "win32-x64-gnu" | "win32-x64-msvc" => (
            if rustup {
                Std::Rustup
            } else {
                Std::DebianBuild
            },
            false,
        ),
        _ => (
            if rustup {
                Std::Rustup
            } else {
                Std::DebianBuild
            },
            true,
        ),
    };
    if name.contains("musl") {
        // A cdylib cannot be built with musl's default static CRT.
        env.push((
            format!("CARGO_TARGET_{upper}_RUSTFLAGS"),
            "-C target-feature=-crt-static".to_owned(),
        ));
    }
    if name == "win32-x64-gnu" {
        env.push((
            format!("CARGO_TARGET_{upper}_LINKER"),
            "x86_64-w64-mingw32-gcc".to_owned(),
        ));
        // napi-build insists on a libnode.dll to link against; with dyn-symbols nothing is imported from it.
        env.push((
            "LIBNODE_PATH".to_owned(),
            toolchains.join("fake-libnode").display().to_string(),
        ));
    }
    if name.starts_with("darwin") {
        // Without it zig targets the newest macOS; 11.0 is the first arm64 macOS, 10.13 what Node 18+ requires.
        let min = if name == "darwin-arm64" {
            "11.0"
        } else {
            "10.13"
        };
        env.push(("MACOSX_DEPLOYMENT_TARGET".to_owned(), min.to_owned()));
        // Stripping after zig links breaks the ad-hoc code signature arm64 macOS requires.
        env.push(("CARGO_PROFILE_RELEASE_STRIP".to_owned(), "false".to_owned()));
    }
    let cargo_target = if zig && glibc_floor {
        format!("{triple}.2.17")
    } else {
        triple.to_owned()
    };
    Recipe {
        platform,
        std,
        zig,
        cargo_target,
        env,
    }
}

impl Recipe {
    /// One target directory per toolchain (switching compilers in one directory rebuilds everything).
    pub fn target_dir(&self, base: &Path) -> PathBuf {
        let name = match (self.std, self.zig) {
            (Std::Rustup, false) => "core-rustup",
            (Std::Rustup, true) => "core-rustup-zig",
            (Std::DebianBuild, false) => "core-deb",
            (Std::DebianBuild, true) => "core-deb-zig",
            (Std::DebianWasi, _) => "core-wasi",
            (Std::DebianWasiThreads, _) => "core-wasi-threads",
        };
        base.join(name)
    }

    /// Human-readable builder for the report.
    pub fn describe(&self) -> String {
        let std = match self.std {
            Std::Rustup => "rustup toolchain",
            Std::DebianBuild => "Debian rustc-web + -Zbuild-std",
            Std::DebianWasi => "Debian rustc-web + wasm32-wasip1 sysroot (sid wasi-libc)",
            Std::DebianWasiThreads => {
                "Debian rustc-web + wasm32-wasip1-threads sysroot (sid wasix-libc + wasi-threads shim)"
            }
        };
        let link = if self.zig { " + cargo-zigbuild" } else { "" };
        format!("{std}{link}, --target {}", self.cargo_target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_expand_without_duplicates() {
        let all = expand("all,host,wasm").unwrap();
        assert_eq!(all.len(), 3 + CROSS.len());
        assert!(all.contains(&Platform::from_name("wasm32-wasip1-threads").unwrap()));
        assert_eq!(
            expand("wasm-threads").unwrap(),
            vec![Platform::from_name("wasm32-wasip1-threads").unwrap()]
        );
        assert_eq!(
            expand("linux-arm64-gnu,aarch64-unknown-linux-gnu")
                .unwrap()
                .len(),
            1
        );
        assert!(expand("nonsense").is_err());
        assert!(expand("").is_err());
    }

    #[test]
    fn recipes_follow_the_proven_routes() {
        let t = Path::new("/t");
        let r = |n: &str, rustup: bool| recipe(Platform::from_name(n).unwrap(), rustup, true, t);
        assert_eq!(
            r("linux-arm64-gnu", false).cargo_target,
            "aarch64-unknown-linux-gnu.2.17"
        );
        assert_eq!(r("linux-arm64-gnu", false).std, Std::DebianBuild);
        assert_eq!(r("linux-arm64-gnu", true).std, Std::Rustup);
        assert_eq!(
            r("linux-x64-musl", false).cargo_target,
            "x86_64-unknown-linux-musl"
        );
        assert!(r("linux-x64-musl", false).zig);
        assert!(!r("win32-x64-gnu", false).zig);
        assert_eq!(r("wasm32-wasip1", false).std, Std::DebianWasi);
        assert_eq!(r("wasm32-wasip1-threads", true).std, Std::Rustup);
        assert_eq!(
            r("wasm32-wasip1-threads", false).std,
            Std::DebianWasiThreads
        );
        assert!(r("darwin-arm64", false)
            .env
            .iter()
            .any(|(k, v)| k == "MACOSX_DEPLOYMENT_TARGET" && v == "11.0"));
    }
}
