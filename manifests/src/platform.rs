//! The platform table: the single source of truth mapping napi-rs platform names to Rust target triples
//! (as `target-lexicon` parses them), Node's `process.platform` / `process.arch` / libc, and artifact file names.
//!
//! Artifact file names: `<package>.<napi name>.node` for native builds (`x0x.linux-x64-gnu.node`) and
//! `<package>.<triple>.wasm` for WASM builds (`x0x.wasm32-wasip1.wasm`, `x0x.wasm32-wasip1-threads.wasm`).
//! The table is exported as `manifests/vectors/platforms.json` ([`table_json`]), which the JavaScript loader
//! reads; a test fails if the checked-in file drifts from this module.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::PackageName;

/// A C library flavour of a native build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    /// GNU libc (Linux `-gnu` builds).
    Glibc,
    /// musl libc (Linux `-musl` builds).
    Musl,
    /// No libc distinction (macOS, Windows, WASM).
    None,
}

/// Native binary or WebAssembly fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A napi `.node` shared library.
    Native,
    /// A WASI `.wasm` module.
    Wasm,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlatformInfo {
    /// napi-rs platform name (the WASM rows use the triple).
    pub name: &'static str,
    /// Rust target triple.
    pub triple: &'static str,
    /// Node `process.platform` (`wasi` for WASM rows, which run on any host).
    pub platform: &'static str,
    /// Node `process.arch` (`wasm32` for WASM rows).
    pub arch: &'static str,
    /// libc flavour.
    pub libc: Libc,
    /// Native or WASM.
    pub kind: Kind,
    /// ABI suffix of the napi name (`gnu`, `musl`, `msvc`, `gnueabihf`), if any.
    pub abi: Option<&'static str>,
    /// Whether the WASM build needs threads (`wasm32-wasip1-threads`).
    pub threads: bool,
}

macro_rules! platforms {
    ($($variant:ident => $name:literal, $triple:literal, $plat:literal, $arch:literal, $libc:ident, $kind:ident, $abi:expr, $threads:literal;)*) => {
        /// A platform x0x ships a build for.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Platform {
            $(
                #[doc = $name]
                $variant,
            )*
        }

        impl Platform {
            /// Every platform, in table order (native first, then WASM with the preferred flavour first).
            pub const ALL: &'static [Platform] = &[$(Platform::$variant,)*];

            /// Its row of the table.
            pub fn info(self) -> &'static PlatformInfo {
                match self {
                    $(Platform::$variant => &PlatformInfo {
                        name: $name, triple: $triple, platform: $plat, arch: $arch, libc: Libc::$libc,
                        kind: Kind::$kind, abi: $abi, threads: $threads,
                    },)*
                }
            }
        }
    };
}

platforms! {
    DarwinArm64 => "darwin-arm64", "aarch64-apple-darwin", "darwin", "arm64", None, Native, None, false;
    DarwinX64 => "darwin-x64", "x86_64-apple-darwin", "darwin", "x64", None, Native, None, false;
    LinuxX64Gnu => "linux-x64-gnu", "x86_64-unknown-linux-gnu", "linux", "x64", Glibc, Native, Some("gnu"), false;
    LinuxArm64Gnu => "linux-arm64-gnu", "aarch64-unknown-linux-gnu", "linux", "arm64", Glibc, Native, Some("gnu"), false;
    LinuxX64Musl => "linux-x64-musl", "x86_64-unknown-linux-musl", "linux", "x64", Musl, Native, Some("musl"), false;
    LinuxArm64Musl => "linux-arm64-musl", "aarch64-unknown-linux-musl", "linux", "arm64", Musl, Native, Some("musl"), false;
    Win32X64Msvc => "win32-x64-msvc", "x86_64-pc-windows-msvc", "win32", "x64", None, Native, Some("msvc"), false;
    LinuxArmGnueabihf => "linux-arm-gnueabihf", "armv7-unknown-linux-gnueabihf", "linux", "arm", Glibc, Native, Some("gnueabihf"), false;
    Win32X64Gnu => "win32-x64-gnu", "x86_64-pc-windows-gnu", "win32", "x64", None, Native, Some("gnu"), false;
    Wasm32Wasip1Threads => "wasm32-wasip1-threads", "wasm32-wasip1-threads", "wasi", "wasm32", None, Wasm, None, true;
    Wasm32Wasip1 => "wasm32-wasip1", "wasm32-wasip1", "wasi", "wasm32", None, Wasm, None, false;
}

impl Platform {
    /// The napi-rs platform name (the triple for WASM).
    pub fn name(self) -> &'static str {
        self.info().name
    }
    /// The Rust target triple.
    pub fn triple(self) -> &'static str {
        self.info().triple
    }
    /// The triple parsed by target-lexicon.
    pub fn lexicon_triple(self) -> target_lexicon::Triple {
        self.triple()
            .parse()
            .expect("every triple in the table parses (tested)")
    }
    /// Native or WASM.
    pub fn kind(self) -> Kind {
        self.info().kind
    }
    /// By napi name (or triple for WASM).
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.name() == name)
            .ok_or_else(|| Error::PlatformUnknown(name.chars().take(80).collect()))
    }
    /// By Rust target triple.
    pub fn from_triple(triple: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|p| p.triple() == triple)
            .ok_or_else(|| Error::PlatformUnknown(triple.chars().take(80).collect()))
    }
    /// The native platforms matching a Node host (`process.platform`, `process.arch`, libc), best first.
    pub fn for_node_host(platform: &str, arch: &str, libc: Libc) -> Vec<Platform> {
        let mut v: Vec<Platform> = Self::ALL
            .iter()
            .copied()
            .filter(|p| {
                let i = p.info();
                i.kind == Kind::Native
                    && i.platform == platform
                    && i.arch == arch
                    && (platform != "linux" || i.libc == libc)
            })
            .collect();
        v.sort_by_key(|p| usize::from(p.info().abi == Some("gnu") && p.info().platform == "win32"));
        v
    }
    /// The artifact file name for `package`: `x0x.linux-x64-gnu.node`, `x0x.wasm32-wasip1.wasm`.
    pub fn file_name(self, package: &PackageName) -> String {
        match self.kind() {
            Kind::Native => format!("{package}.{}.node", self.name()),
            Kind::Wasm => format!("{package}.{}.wasm", self.triple()),
        }
    }
    /// Parses an artifact file name back into its package and platform.
    pub fn parse_file_name(file: &str) -> Result<(PackageName, Platform)> {
        let unknown = || Error::PlatformUnknown(file.chars().take(128).collect());
        let (stem, ext) = file.rsplit_once('.').ok_or_else(unknown)?;
        let kind = match ext {
            "node" => Kind::Native,
            "wasm" => Kind::Wasm,
            _ => return Err(unknown()),
        };
        let (package, name) = stem.split_once('.').ok_or_else(unknown)?;
        let platform = Self::ALL
            .iter()
            .copied()
            .find(|p| p.kind() == kind && p.name() == name)
            .ok_or_else(unknown)?;
        Ok((package.parse()?, platform))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Platform {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s).or_else(|_| Self::from_triple(s))
    }
}

/// The table as pretty JSON: `{"platforms": [row...], "file_name": {...}}`, the content of
/// `manifests/vectors/platforms.json`.
pub fn table_json() -> String {
    let rows: Vec<serde_json::Value> = Platform::ALL
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p.info()).expect("row serializes");
            v["file_name"] =
                serde_json::Value::String(p.file_name(&"x0x".parse().expect("valid name")));
            v
        })
        .collect();
    let doc = serde_json::json!({
        "comment": "Generated from manifests/src/platform.rs by `cargo run -p x0x-dist-manifests --example gen-vectors`; do not edit.",
        "file_name_patterns": { "native": "<package>.<name>.node", "wasm": "<package>.<triple>.wasm" },
        "platforms": rows,
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Coded as _;

    #[test]
    fn every_triple_parses_with_target_lexicon() {
        for p in Platform::ALL {
            let t = p.lexicon_triple();
            assert_eq!(t.to_string(), p.triple(), "{p}");
            assert_eq!(Platform::from_triple(p.triple()).unwrap(), *p);
            assert_eq!(Platform::from_name(p.name()).unwrap(), *p);
        }
    }

    #[test]
    fn file_names_roundtrip() {
        let x0x: PackageName = "x0x".parse().unwrap();
        assert_eq!(
            Platform::LinuxX64Gnu.file_name(&x0x),
            "x0x.linux-x64-gnu.node"
        );
        assert_eq!(
            Platform::Wasm32Wasip1.file_name(&x0x),
            "x0x.wasm32-wasip1.wasm"
        );
        assert_eq!(
            Platform::Wasm32Wasip1Threads.file_name(&x0x),
            "x0x.wasm32-wasip1-threads.wasm"
        );
        for p in Platform::ALL {
            assert_eq!(
                Platform::parse_file_name(&p.file_name(&x0x)).unwrap(),
                (x0x.clone(), *p)
            );
        }
        for bad in [
            "x0x.linux-x64-gnu.wasm",
            "x0x.wasm32-wasip1.node",
            "x0x.freebsd-x64.node",
            "x0x.node",
            "x0x",
        ] {
            assert_eq!(
                Platform::parse_file_name(bad).unwrap_err().code(),
                "platform.unknown",
                "{bad}"
            );
        }
    }

    #[test]
    fn node_host_mapping() {
        assert_eq!(
            Platform::for_node_host("linux", "x64", Libc::Glibc),
            vec![Platform::LinuxX64Gnu]
        );
        assert_eq!(
            Platform::for_node_host("linux", "arm64", Libc::Musl),
            vec![Platform::LinuxArm64Musl]
        );
        assert_eq!(
            Platform::for_node_host("win32", "x64", Libc::None),
            vec![Platform::Win32X64Msvc, Platform::Win32X64Gnu]
        );
        assert!(Platform::for_node_host("freebsd", "x64", Libc::None).is_empty());
    }
}
