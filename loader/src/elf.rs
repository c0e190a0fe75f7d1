//! ELF inspection: what a binary needs from the host, and what the running host offers.
//!
//! Two halves with one rule each:
//!
//! - [`inspect`] is a **pure function over bytes** (no I/O): for an ELF file (shared object or executable) it
//!   returns the class (32/64-bit), byte order, machine, the `PT_INTERP` interpreter if any, and the highest
//!   `GLIBC_x.y[.z]` version it needs, read from the `SHT_GNU_VERNEED` (`.gnu.version_r`) entries of every
//!   library it depends on (`libc.so.6`, `libm.so.6`, `libpthread.so.0`, ... all version their symbols
//!   `GLIBC_*`). That maximum is the binary's *glibc floor*: the oldest glibc whose dynamic loader accepts it.
//! - [`detect_host_libc`] does I/O on the running process: the interpreter of `/proc/self/exe`
//!   (`ld-linux-*` → glibc, `ld-musl-*` → musl, none → static) and, for glibc, the host version.
//!
//! # Why the host glibc version is read from files
//! `gnu_get_libc_version()` is C FFI and the workspace denies `unsafe_code`; `ldd --version` breaks inside
//! AppImages (napi-rs#3223) and lies under Nix on Alpine (rolldown#9133) because it describes *a* libc on `PATH`,
//! not the one this process runs on. Instead we take the `libc.so.6` this very process has mapped (from
//! `/proc/self/maps`; falling back to the interpreter, `ld.so`, which is always mapped) and read, from that ELF:
//! 1. the glibc banner `"... stable release version 2.36."` (the same string `ldd --version` and `ld.so --version`
//!    print) → the *release* version;
//! 2. its `SHT_GNU_VERDEF` version nodes, whose highest `GLIBC_*` is the newest symbol version it *defines*
//!    → the *ABI ceiling*: a binary loads iff its floor ≤ that ceiling (glibc releases that add no symbols add no
//!    node, so the ceiling can be lower than the release, never higher).
//!
//! Both come from the bytes of the libc the process actually uses, so AppImages, Nix and containers are right.
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use object::elf;
use object::read::elf::{Dyn as _, FileHeader, ProgramHeader, SectionTable};
use object::{Endianness, FileKind};

use crate::error::Error;

/// A glibc version such as `2.17` or `2.2.5` (the `x.y[.z]` of a `GLIBC_x.y[.z]` symbol version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GlibcVersion {
    /// Major (always 2 in practice).
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch (0 when absent, e.g. `2.17` → `2.17.0`).
    pub patch: u16,
}

impl GlibcVersion {
    /// A version from its parts.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses the version of a symbol-version name (`GLIBC_2.34` → `2.34`); `None` for other names
    /// (`GLIBC_PRIVATE`, `GLIBCXX_3.4`, `GCC_3.0`).
    pub fn from_symbol_version(name: &str) -> Option<Self> {
        name.strip_prefix("GLIBC_")?.parse().ok()
    }
}

impl FromStr for GlibcVersion {
    type Err = Error;

    /// Parses `2.17`, `2.2.5` (and tolerates a `GLIBC_` prefix).
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidGlibcVersion {
            value: s.to_owned(),
        };
        let t = s.strip_prefix("GLIBC_").unwrap_or(s);
        let mut parts = t.split('.');
        let mut next = |required: bool| -> Result<u16, Error> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                    p.parse().map_err(|_| bad())
                }
                None if !required => Ok(0),
                _ => Err(bad()),
            }
        };
        let v = Self::new(next(true)?, next(true)?, next(false)?);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(v)
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.patch == 0 {
            write!(f, "{}.{}", self.major, self.minor)
        } else {
            write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
        }
    }
}

impl serde::Serialize for GlibcVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// ELF class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

/// The `e_machine` of an ELF file, named as Rust target architectures are (`x86_64`, `aarch64`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// `EM_X86_64`.
    X86_64,
    /// `EM_AARCH64`.
    Aarch64,
    /// `EM_ARM` (32-bit).
    Arm,
    /// `EM_386`.
    X86,
    /// `EM_RISCV`.
    Riscv,
    /// Any other `e_machine` value.
    Other(u16),
}

impl Machine {
    fn from_e_machine(m: u16) -> Self {
        match m {
            elf::EM_X86_64 => Self::X86_64,
            elf::EM_AARCH64 => Self::Aarch64,
            elf::EM_ARM => Self::Arm,
            elf::EM_386 => Self::X86,
            elf::EM_RISCV => Self::Riscv,
            other => Self::Other(other),
        }
    }

    /// The architecture name as in a Rust target triple (`x86_64`, `aarch64`, `arm`, `i686`, `riscv`).
    pub fn arch_name(self) -> String {
        match self {
            Self::X86_64 => "x86_64".into(),
            Self::Aarch64 => "aarch64".into(),
            Self::Arm => "arm".into(),
            Self::X86 => "i686".into(),
            Self::Riscv => "riscv".into(),
            Self::Other(m) => format!("e_machine-{m}"),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arch_name())
    }
}

impl serde::Serialize for Machine {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The C library an interpreter path or a process belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    /// GNU libc (`ld-linux-*.so.*`, `ld64.so.*`).
    Glibc,
    /// musl (`ld-musl-*.so.1`).
    Musl,
    /// No interpreter: a statically linked program.
    Static,
    /// An interpreter we do not recognise.
    Unknown,
}

impl Libc {
    /// Classifies an ELF interpreter path by its file name: `ld-linux-x86-64.so.2`, `ld-linux-aarch64.so.1`,
    /// `ld-linux.so.2`, `ld-linux-armhf.so.3`, `ld64.so.2` (ppc64) → glibc; `ld-musl-x86_64.so.1` → musl.
    pub fn from_interpreter(path: &str) -> Self {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with("ld-musl-") {
            Self::Musl
        } else if name.starts_with("ld-linux")
            || name.starts_with("ld64.so")
            || name.starts_with("ld.so")
        {
            Self::Glibc
        } else {
            Self::Unknown
        }
    }
}

/// What [`inspect`] learns from an ELF file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ElfInfo {
    /// 32- or 64-bit.
    pub class: ElfClass,
    /// True for little-endian.
    pub little_endian: bool,
    /// The `e_machine`.
    pub machine: Machine,
    /// True for `ET_DYN` (shared objects and PIE executables).
    pub dynamic: bool,
    /// The `PT_INTERP` path, if the file has one (executables; not shared objects).
    pub interpreter: Option<String>,
    /// The highest `GLIBC_*` version needed (`.gnu.version_r`), `None` if it needs none (musl, static, no libc).
    pub glibc_floor: Option<GlibcVersion>,
    /// The highest `GLIBC_*` version *defined* (`.gnu.version_d`): set only for glibc's own libraries.
    pub glibc_defined: Option<GlibcVersion>,
    /// `e_ident[EI_OSABI]`: 0 (System V) or 3 (GNU/Linux) for Linux builds, 9 for FreeBSD, ...
    pub os_abi: u8,
    /// The libraries it links (`DT_NEEDED`: `libc.so.6`, `libc.musl-x86_64.so.1`, ...), in file order.
    pub needed: Vec<String>,
}

/// Inspects an ELF file given as bytes. Pure: no I/O.
///
/// Errors: [`Error::NotElf`] if `bytes` is not an ELF file, [`Error::MalformedElf`] if its headers or
/// version sections are invalid.
pub fn inspect(bytes: &[u8]) -> Result<ElfInfo, Error> {
    match FileKind::parse(bytes) {
        Ok(FileKind::Elf32) => inspect_as::<elf::FileHeader32<Endianness>>(bytes, ElfClass::Elf32),
        Ok(FileKind::Elf64) => inspect_as::<elf::FileHeader64<Endianness>>(bytes, ElfClass::Elf64),
        _ => Err(Error::NotElf),
    }
}

/// The glibc floor of an ELF file: shorthand for `inspect(bytes)?.glibc_floor`.
pub fn glibc_floor(bytes: &[u8]) -> Result<Option<GlibcVersion>, Error> {
    Ok(inspect(bytes)?.glibc_floor)
}

fn malformed(e: object::Error) -> Error {
    Error::MalformedElf {
        reason: e.to_string(),
    }
}

fn inspect_as<H: FileHeader<Endian = Endianness>>(
    bytes: &[u8],
    class: ElfClass,
) -> Result<ElfInfo, Error> {
    let header = H::parse(bytes).map_err(malformed)?;
    let endian = header.endian().map_err(malformed)?;
    let mut interpreter = None;
    for ph in header.program_headers(endian, bytes).map_err(malformed)? {
        if ph.p_type(endian) == elf::PT_INTERP {
            if let Some(raw) = ph.interpreter(endian, bytes).map_err(malformed)? {
                interpreter = Some(String::from_utf8_lossy(raw).into_owned());
            }
        }
    }
    let sections = header.sections(endian, bytes).map_err(malformed)?;
    let (glibc_floor, glibc_defined) = max_glibc_needed_defined(&sections, endian, bytes)?;
    let mut needed = Vec::new();
    if let Some((entries, link)) = sections.dynamic(endian, bytes).map_err(malformed)? {
        let strings = sections.strings(endian, bytes, link).map_err(malformed)?;
        for d in entries {
            if d.tag32(endian) == Some(elf::DT_NEEDED) {
                let name = d.string(endian, strings).map_err(malformed)?;
                needed.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Ok(ElfInfo {
        class,
        little_endian: endian == Endianness::Little,
        machine: Machine::from_e_machine(header.e_machine(endian)),
        dynamic: header.e_type(endian) == elf::ET_DYN,
        interpreter,
        glibc_floor,
        glibc_defined,
        os_abi: header.e_ident().os_abi,
        needed,
    })
}

/// The highest `GLIBC_*` version the object needs (every `Vernaux` of `SHT_GNU_VERNEED`, one list per library
/// it depends on) and the highest it defines (the first `Verdaux` of each `SHT_GNU_VERDEF` entry: it names the
/// node itself; later ones name its parents). `None` where the section is absent or names no glibc version.
fn max_glibc_needed_defined<H: FileHeader<Endian = Endianness>>(
    sections: &SectionTable<'_, H>,
    endian: Endianness,
    bytes: &[u8],
) -> Result<(Option<GlibcVersion>, Option<GlibcVersion>), Error> {
    let glibc = |name: &[u8]| {
        std::str::from_utf8(name)
            .ok()
            .and_then(GlibcVersion::from_symbol_version)
    };
    let mut needed = None;
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, bytes).map_err(malformed)? {
        let strings = sections.strings(endian, bytes, link).map_err(malformed)?;
        while let Some((_need, mut auxes)) = needs.next().map_err(malformed)? {
            while let Some(aux) = auxes.next().map_err(malformed)? {
                needed = needed.max(glibc(aux.name(endian, strings).map_err(malformed)?));
            }
        }
    }
    let mut defined = None;
    if let Some((mut defs, link)) = sections.gnu_verdef(endian, bytes).map_err(malformed)? {
        let strings = sections.strings(endian, bytes, link).map_err(malformed)?;
        while let Some((_def, mut auxes)) = defs.next().map_err(malformed)? {
            if let Some(aux) = auxes.next().map_err(malformed)? {
                defined = defined.max(glibc(aux.name(endian, strings).map_err(malformed)?));
            }
        }
    }
    Ok((needed, defined))
}

/// Finds glibc's banner (`"stable release version 2.36."`, also `"release version 2.39.9000"` on development
/// snapshots) in the bytes of `libc.so.6` or `ld.so` and returns that version. Pure.
pub fn glibc_release_from_banner(bytes: &[u8]) -> Option<GlibcVersion> {
    const NEEDLE: &[u8] = b"release version ";
    let mut from = 0;
    while let Some(pos) = find(&bytes[from..], NEEDLE) {
        let start = from + pos + NEEDLE.len();
        let end = bytes[start..]
            .iter()
            .position(|b| !(b.is_ascii_digit() || *b == b'.'))
            .map_or(bytes.len(), |n| start + n);
        let text = std::str::from_utf8(&bytes[start..end])
            .unwrap_or("")
            .trim_end_matches('.');
        if let Ok(v) = text.parse() {
            return Some(v);
        }
        from = start;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The C library of the running process and how it was determined.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostLibc {
    /// glibc, musl, static or unknown.
    pub libc: Libc,
    /// The `PT_INTERP` of `/proc/self/exe`.
    pub interpreter: Option<String>,
    /// The mapped C library file the version was read from.
    pub libc_path: Option<PathBuf>,
    /// glibc release version (from its banner), if glibc.
    pub glibc_release: Option<GlibcVersion>,
    /// The newest `GLIBC_*` symbol version the host's libc defines: the ABI ceiling binaries are checked against.
    pub glibc_abi: Option<GlibcVersion>,
    /// Human-readable evidence, one line per fact, in the order it was gathered (for `doctor`).
    pub evidence: Vec<String>,
}

impl HostLibc {
    /// The glibc version to compare a binary's floor with: the ABI ceiling, else the release version.
    pub fn glibc(&self) -> Option<GlibcVersion> {
        self.glibc_abi.or(self.glibc_release)
    }
}

/// Detects the running process's C library from `/proc/self/exe` and `/proc/self/maps` (Linux only).
///
/// On other systems returns `Libc::Unknown` with an evidence line saying so.
pub fn detect_host_libc() -> HostLibc {
    detect_libc_of(Path::new("/proc/self/exe"), Path::new("/proc/self/maps"))
}

/// [`detect_host_libc`] over explicit paths (an executable and a `maps` file), for tests and for inspecting
/// another process (`/proc/<pid>/exe`).
pub fn detect_libc_of(exe: &Path, maps: &Path) -> HostLibc {
    let mut host = HostLibc {
        libc: Libc::Unknown,
        interpreter: None,
        libc_path: None,
        glibc_release: None,
        glibc_abi: None,
        evidence: Vec::new(),
    };
    let info = match std::fs::read(exe)
        .map_err(|e| e.to_string())
        .and_then(|b| inspect(&b).map_err(|e| e.to_string()))
    {
        Ok(info) => info,
        Err(e) => {
            host.evidence
                .push(format!("cannot read {}: {e}", exe.display()));
            return host;
        }
    };
    if let Some(interp) = &info.interpreter {
        host.libc = Libc::from_interpreter(interp);
        host.evidence.push(format!(
            "PT_INTERP of {} is {interp} → {:?}",
            exe.display(),
            host.libc
        ));
    } else {
        host.libc = Libc::Static;
        host.evidence.push(format!(
            "{} has no PT_INTERP: statically linked",
            exe.display()
        ));
    }
    host.interpreter.clone_from(&info.interpreter);
    if host.libc != Libc::Glibc {
        return host;
    }
    // Prefer the libc.so.6 the process has mapped; fall back to the interpreter (ld.so carries the banner too).
    let mapped = std::fs::read_to_string(maps)
        .ok()
        .and_then(|m| mapped_libc(&m));
    let candidates = mapped
        .into_iter()
        .chain(info.interpreter.clone().map(PathBuf::from));
    for path in candidates {
        let Ok(bytes) = std::fs::read(&path) else {
            host.evidence
                .push(format!("cannot read {}", path.display()));
            continue;
        };
        let release = glibc_release_from_banner(&bytes);
        let abi = inspect(&bytes).ok().and_then(|i| i.glibc_defined);
        host.evidence.push(format!(
            "{}: banner release {}, newest GLIBC_ version node {}",
            path.display(),
            release.map_or_else(|| "not found".into(), |v| v.to_string()),
            abi.map_or_else(|| "none".into(), |v| v.to_string()),
        ));
        if release.is_some() || abi.is_some() {
            host.libc_path = Some(path);
            host.glibc_release = release;
            host.glibc_abi = abi;
            break;
        }
    }
    host
}

/// The path of the C library in a `/proc/<pid>/maps` listing (`libc.so.6`, or `libc-2.31.so` before 2.34).
pub fn mapped_libc(maps: &str) -> Option<PathBuf> {
    maps.lines().find_map(|line| {
        let path = line.split_whitespace().nth(5)?;
        let name = path.rsplit('/').next()?;
        let is_libc = name == "libc.so.6"
            || (name.starts_with("libc-")
                && Path::new(name).extension().is_some_and(|e| e == "so"));
        is_libc.then(|| PathBuf::from(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    #[test]
    fn parses_versions() {
        assert_eq!(
            "2.17".parse::<GlibcVersion>().unwrap(),
            GlibcVersion::new(2, 17, 0)
        );
        assert_eq!(
            "GLIBC_2.2.5".parse::<GlibcVersion>().unwrap(),
            GlibcVersion::new(2, 2, 5)
        );
        assert!(GlibcVersion::new(2, 2, 5) < GlibcVersion::new(2, 17, 0));
        assert!(GlibcVersion::new(2, 17, 0) < GlibcVersion::new(2, 17, 1));
        for bad in ["", "2", "2.", "x.1", "2.17.1.1", "GLIBC_PRIVATE", "2.-1"] {
            assert!(bad.parse::<GlibcVersion>().is_err(), "{bad}");
        }
        assert_eq!(GlibcVersion::from_symbol_version("GLIBCXX_3.4"), None);
        assert_eq!(GlibcVersion::new(2, 2, 5).to_string(), "2.2.5");
        assert_eq!(GlibcVersion::new(2, 34, 0).to_string(), "2.34");
    }

    #[test]
    fn real_executable_bin_ls() {
        let info = inspect(&std::fs::read("/bin/ls").unwrap()).unwrap();
        assert_eq!(info.class, ElfClass::Elf64);
        let interp = info.interpreter.as_deref().unwrap();
        assert_eq!(Libc::from_interpreter(interp), Libc::Glibc);
        // Debian 12's coreutils needs at least GLIBC_2.3 and at most the host's glibc.
        let floor = info.glibc_floor.unwrap();
        assert!(floor >= GlibcVersion::new(2, 3, 0), "{floor}");
        assert!(floor <= detect_host_libc().glibc().unwrap());
        if cfg!(target_arch = "x86_64") {
            assert_eq!(info.machine, Machine::X86_64);
        }
    }

    #[test]
    fn crafted_shared_object_needing_glibc_2_99() {
        let info = inspect(&fixture("glibc-2.99.so")).unwrap();
        assert_eq!(info.glibc_floor, Some(GlibcVersion::new(2, 99, 0)));
        assert_eq!(info.interpreter, None);
        assert!(info.dynamic);
        assert_eq!(info.machine, Machine::X86_64);
        assert_eq!(
            glibc_floor(&fixture("plain.so")).unwrap(),
            Some(GlibcVersion::new(2, 2, 5))
        );
    }

    #[test]
    fn musl_interpreter_is_recognised() {
        let info = inspect(&fixture("musl-interp.bin")).unwrap();
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib/ld-musl-x86_64.so.1")
        );
        assert_eq!(
            Libc::from_interpreter(info.interpreter.as_deref().unwrap()),
            Libc::Musl
        );
        assert_eq!(
            Libc::from_interpreter("/lib/ld-linux-aarch64.so.1"),
            Libc::Glibc
        );
        assert_eq!(
            Libc::from_interpreter("/lib64/ld-linux-x86-64.so.2"),
            Libc::Glibc
        );
        assert_eq!(
            Libc::from_interpreter("/nix/store/x/lib/ld-musl-aarch64.so.1"),
            Libc::Musl
        );
        assert_eq!(Libc::from_interpreter("/opt/weird/loader"), Libc::Unknown);
    }

    #[test]
    fn rejects_non_elf_and_truncated() {
        assert!(matches!(
            inspect(b"MZ\x90\x00 not an elf"),
            Err(Error::NotElf)
        ));
        assert!(matches!(inspect(b""), Err(Error::NotElf)));
        let ls = std::fs::read("/bin/ls").unwrap();
        assert!(matches!(
            inspect(&ls[..80]),
            Err(Error::MalformedElf { .. })
        ));
        // A truncated file with a valid header but its section table cut off.
        assert!(inspect(&ls[..ls.len() / 2]).is_err());
    }

    #[test]
    fn never_panics_on_truncated_or_corrupted_input() {
        // The parser sees downloaded bytes before anything trusts them: errors, never panics.
        for file in [
            std::fs::read("/bin/ls").unwrap(),
            fixture("glibc-2.99.so"),
            fixture("musl-interp.bin"),
        ] {
            for len in (0..file.len()).step_by(127) {
                let _ = inspect(&file[..len]);
            }
            let mut x: u32 = 0x1234_5678;
            for _ in 0..200 {
                let mut bad = file.clone();
                for _ in 0..8 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    let i = (x as usize) % bad.len().min(8192);
                    bad[i] = (x >> 24) as u8;
                }
                let _ = inspect(&bad);
                let _ = glibc_release_from_banner(&bad);
            }
        }
    }

    #[test]
    fn banner_and_maps_parsing() {
        let b = b"\0GNU C Library (Debian GLIBC 2.36-9+deb12u14) stable release version 2.36.\nCopyright";
        assert_eq!(
            glibc_release_from_banner(b),
            Some(GlibcVersion::new(2, 36, 0))
        );
        assert_eq!(
            glibc_release_from_banner(b"release version x release version 2.17\n"),
            Some(GlibcVersion::new(2, 17, 0))
        );
        assert_eq!(glibc_release_from_banner(b"nothing here"), None);
        let maps =
            "7f21-7f22 r--p 00000000 fe:00 326279    /usr/lib/x86_64-linux-gnu/libcap.so.2\n\
                    7f21-7f22 r--p 00000000 fe:00 326279    /usr/lib/x86_64-linux-gnu/libc.so.6\n";
        assert_eq!(
            mapped_libc(maps),
            Some(PathBuf::from("/usr/lib/x86_64-linux-gnu/libc.so.6"))
        );
        assert_eq!(
            mapped_libc("7f-7f r-xp 0 08:01 1 /lib/libc-2.31.so\n"),
            Some(PathBuf::from("/lib/libc-2.31.so"))
        );
        assert_eq!(mapped_libc("7f-7f r-xp 0 00:00 0 [vdso]\n"), None);
    }

    #[test]
    fn host_detection_on_this_machine() {
        let host = detect_host_libc();
        assert!(!host.evidence.is_empty());
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(host.libc, Libc::Glibc, "{:?}", host.evidence);
            let release = host.glibc_release.expect("banner");
            let abi = host.glibc_abi.expect("verdef");
            assert!(abi <= release, "{abi} vs {release}");
            assert!(release >= GlibcVersion::new(2, 17, 0));
            // Cross-check against an independent source: the libc.so.6 banner as `ldd --version` prints it.
            if let Ok(out) = std::process::Command::new("ldd").arg("--version").output() {
                let text = String::from_utf8_lossy(&out.stdout);
                let first = text.lines().next().unwrap_or("");
                assert!(
                    first.ends_with(&format!(" {release}")),
                    "{first} vs {release}"
                );
            }
        }
    }

    #[test]
    fn host_detection_of_a_static_and_a_missing_exe() {
        let dir = std::env::temp_dir();
        let h = detect_libc_of(
            &dir.join("definitely-missing-x0x"),
            Path::new("/proc/self/maps"),
        );
        assert_eq!(h.libc, Libc::Unknown);
        let musl = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/musl-interp.bin");
        let h = detect_libc_of(&musl, Path::new("/proc/self/maps"));
        assert_eq!(h.libc, Libc::Musl);
        assert_eq!(h.glibc(), None);
    }
}
