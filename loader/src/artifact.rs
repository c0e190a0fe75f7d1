//! What a release file's bytes say it is, checked against the platform its napi file name claims
//! (`x0x.linux-arm64-gnu.node` must be a 64-bit little-endian AArch64 ELF that does not link musl).
//!
//! Pure functions over bytes, used by `x0x-dist publish` before anything is uploaded, by the offline
//! `package release`, and by the server for every submitted release (a client that skips the check is refused
//! with `target.platform_mismatch`). The rules:
//!
//! - Linux builds: ELF of the platform's class (32-bit for `arm-gnueabihf`, else 64-bit), little-endian,
//!   `e_machine` of the arch, `EI_OSABI` System V (0) or GNU/Linux (3). A glibc build must not name a musl
//!   interpreter (`ld-musl-*`) or link `libc.musl-*`; a musl build must not name a glibc interpreter, link
//!   `libc.so.6` or need `GLIBC_*` symbol versions. A file without such evidence (a static or libc-free
//!   build) passes: the check refuses contradictions, it cannot prove a libc.
//! - macOS builds: a 64-bit Mach-O of the arch's CPU type (`CPU_TYPE_X86_64`, `CPU_TYPE_ARM64`), or a fat
//!   (universal) Mach-O with a slice of that CPU type.
//! - Windows builds: a PE image (`MZ`, `PE\0\0`) whose COFF machine is `IMAGE_FILE_MACHINE_AMD64`.
//! - WASM builds: a WebAssembly module (version 1) whose imports follow the rule of its flavour
//!   ([`crate::wasm_imports::check`]: `wasi_snapshot_preview1.*`, plus `wasi.thread-spawn` and an imported
//!   memory in the threads flavour).
use std::fmt;

use object::elf;
use x0x_dist_manifests::{Kind, Libc, Platform};

use crate::elf::{inspect, ElfClass, Libc as InterpLibc, Machine};

/// The bytes of a file are not a build for the platform its name claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformMismatch {
    /// The platform the name claims.
    pub platform: Platform,
    /// What the bytes are instead, or which rule they break.
    pub reason: String,
}

impl fmt::Display for PlatformMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, triple) = (self.platform.name(), self.platform.triple());
        if name == triple {
            write!(f, "is not a {name} build: {}", self.reason)
        } else {
            write!(f, "is not a {name} build ({triple}): {}", self.reason)
        }
    }
}

impl std::error::Error for PlatformMismatch {}

const CPU_TYPE_X86_64: u32 = 0x0100_0007;
const CPU_TYPE_ARM64: u32 = 0x0100_000c;
const IMAGE_FILE_MACHINE_AMD64: u16 = 0x8664;
const IMAGE_FILE_MACHINE_ARM64: u16 = 0xaa64;
const IMAGE_FILE_MACHINE_I386: u16 = 0x014c;

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn cpu_name(cpu: u32) -> String {
    match cpu {
        CPU_TYPE_X86_64 => "x86_64".into(),
        CPU_TYPE_ARM64 => "arm64".into(),
        7 => "i386".into(),
        12 => "arm".into(),
        other => format!("cputype {other:#x}"),
    }
}

fn pe_machine_name(m: u16) -> String {
    match m {
        IMAGE_FILE_MACHINE_AMD64 => "x86-64".into(),
        IMAGE_FILE_MACHINE_ARM64 => "ARM64".into(),
        IMAGE_FILE_MACHINE_I386 => "i386".into(),
        other => format!("machine {other:#06x}"),
    }
}

/// The CPU types of a Mach-O file (one for a thin file, one per slice for a fat one); `None` if not Mach-O.
fn macho_cpus(b: &[u8]) -> Option<Result<Vec<u32>, String>> {
    match b.get(..4)? {
        // MH_MAGIC_64 / MH_MAGIC, little-endian.
        [0xcf, 0xfa, 0xed, 0xfe] => Some(u32_le(b, 4).map(|c| vec![c]).ok_or("truncated".into())),
        [0xce, 0xfa, 0xed, 0xfe] => Some(Err("a 32-bit Mach-O file".into())),
        // FAT_MAGIC / FAT_MAGIC_64 (big-endian): nfat_arch entries of 20 / 32 bytes, cputype first.
        [0xca, 0xfe, 0xba, magic @ (0xbe | 0xbf)] => {
            let entry = if *magic == 0xbe { 20 } else { 32 };
            let n = u32_be(b, 4)? as usize;
            if n == 0 || n > 64 {
                return Some(Err(format!("a fat Mach-O header with {n} slices")));
            }
            Some(
                (0..n)
                    .map(|i| u32_be(b, 8 + i * entry))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| "a truncated fat Mach-O header".to_owned()),
            )
        }
        _ => None,
    }
}

/// The COFF machine of a PE image; `None` if not PE.
fn pe_machine(b: &[u8]) -> Option<Result<u16, String>> {
    if b.get(..2)? != b"MZ" {
        return None;
    }
    let at = u32_le(b, 0x3c).map(|v| v as usize);
    Some(
        at.filter(|&at| b.get(at..at + 4) == Some(b"PE\0\0".as_slice()))
            .and_then(|at| u16_le(b, at + 4))
            .ok_or_else(|| "an MZ file without a PE header".to_owned()),
    )
}

/// One line saying what `bytes` are, for a mismatch message.
pub fn describe(bytes: &[u8]) -> String {
    if let Ok(i) = inspect(bytes) {
        let class = match i.class {
            ElfClass::Elf32 => "32-bit",
            ElfClass::Elf64 => "64-bit",
        };
        return format!(
            "a {class} {} ELF file{}",
            i.machine,
            if i.little_endian { "" } else { " (big-endian)" }
        );
    }
    if let Some(cpus) = macho_cpus(bytes) {
        return match cpus {
            Ok(c) if c.len() == 1 => format!("a Mach-O {} file", cpu_name(c[0])),
            Ok(c) => format!(
                "a fat Mach-O file ({})",
                c.iter()
                    .map(|c| cpu_name(*c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => e,
        };
    }
    if let Some(m) = pe_machine(bytes) {
        return match m {
            Ok(m) => format!("a PE {} image", pe_machine_name(m)),
            Err(e) => e,
        };
    }
    if bytes.starts_with(b"\0asm") {
        return "a WebAssembly module".into();
    }
    if bytes.starts_with(b"\x7fELF") {
        return "a malformed ELF file".into();
    }
    let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!(
        "not a binary this platform loads (first bytes: {})",
        if head.is_empty() {
            "none, the file is empty".to_owned()
        } else {
            head.join(" ")
        }
    )
}

/// Checks that `bytes` are a build for `platform` (see the module docs).
pub fn check(platform: Platform, bytes: &[u8]) -> Result<(), PlatformMismatch> {
    let info = platform.info();
    let fail = |reason: String| Err(PlatformMismatch { platform, reason });
    match (info.kind, info.platform) {
        (Kind::Wasm, _) => {
            if !bytes.starts_with(b"\0asm") {
                return fail(format!("found {}", describe(bytes)));
            }
            crate::wasm_imports::check(bytes, info.threads)
                .map(drop)
                .or_else(|e| fail(format!("its imports: {e}")))
        }
        (Kind::Native, "linux") => check_linux(platform, bytes),
        (Kind::Native, "darwin") => {
            let want = if info.arch == "arm64" {
                CPU_TYPE_ARM64
            } else {
                CPU_TYPE_X86_64
            };
            match macho_cpus(bytes) {
                Some(Ok(cpus)) if cpus.contains(&want) => Ok(()),
                _ => fail(format!(
                    "found {}, expected a Mach-O {}",
                    describe(bytes),
                    cpu_name(want)
                )),
            }
        }
        (Kind::Native, "win32") => match pe_machine(bytes) {
            Some(Ok(IMAGE_FILE_MACHINE_AMD64)) => Ok(()),
            _ => fail(format!(
                "found {}, expected a PE x86-64 image",
                describe(bytes)
            )),
        },
        (Kind::Native, other) => fail(format!("no content rule for platform {other}")),
    }
}

fn check_linux(platform: Platform, bytes: &[u8]) -> Result<(), PlatformMismatch> {
    let info = platform.info();
    let fail = |reason: String| Err(PlatformMismatch { platform, reason });
    let (class, machine) = match info.arch {
        "x64" => (ElfClass::Elf64, Machine::X86_64),
        "arm64" => (ElfClass::Elf64, Machine::Aarch64),
        "arm" => (ElfClass::Elf32, Machine::Arm),
        other => return fail(format!("no content rule for arch {other}")),
    };
    let expected = format!(
        "a {} little-endian {machine} ELF file",
        if class == ElfClass::Elf32 {
            "32-bit"
        } else {
            "64-bit"
        }
    );
    let Ok(elf) = inspect(bytes) else {
        return fail(format!("found {}, expected {expected}", describe(bytes)));
    };
    if elf.class != class || elf.machine != machine || !elf.little_endian {
        return fail(format!("found {}, expected {expected}", describe(bytes)));
    }
    if elf.os_abi != elf::ELFOSABI_SYSV && elf.os_abi != elf::ELFOSABI_GNU {
        return fail(format!(
            "its ELF OS ABI is {} (System V 0 or GNU/Linux 3 expected)",
            elf.os_abi
        ));
    }
    let interp = elf.interpreter.as_deref().map(InterpLibc::from_interpreter);
    let links_musl = elf
        .needed
        .iter()
        .find(|n| n.starts_with("libc.musl-") || n.starts_with("ld-musl-"));
    let links_glibc = elf
        .needed
        .iter()
        .find(|n| *n == "libc.so.6" || n.starts_with("ld-linux"));
    match info.libc {
        Libc::Glibc => {
            if interp == Some(InterpLibc::Musl) {
                return fail(format!(
                    "its interpreter {} is musl's",
                    elf.interpreter.unwrap_or_default()
                ));
            }
            if let Some(n) = links_musl {
                return fail(format!("it links {n}, a musl library"));
            }
        }
        Libc::Musl => {
            if interp == Some(InterpLibc::Glibc) {
                return fail(format!(
                    "its interpreter {} is glibc's",
                    elf.interpreter.unwrap_or_default()
                ));
            }
            if let Some(n) = links_glibc {
                return fail(format!("it links {n}, a glibc library"));
            }
            if let Some(v) = elf.glibc_floor {
                return fail(format!("it needs GLIBC_{v} symbol versions"));
            }
        }
        Libc::None => {}
    }
    Ok(())
}

/// Minimal files that pass [`check`], for tests of code that handles release files (a real header, then
/// `payload`): an ELF shared-object header of the platform's class and machine, a thin Mach-O header, a PE
/// header, or a WASM module with no imports (wasm32-wasip1) or with the threads flavour's imports, the payload
/// in a custom section. Each is only a header: nothing can load it.
pub fn minimal_build(platform: Platform, payload: &[u8]) -> Vec<u8> {
    let info = platform.info();
    let mut out = Vec::new();
    match (info.kind, info.platform) {
        (Kind::Wasm, _) => {
            out.extend_from_slice(b"\0asm\x01\0\0\0");
            if info.threads {
                // type section: one () -> ()
                out.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
                let mut sec = vec![2u8];
                let name = |s: &str, o: &mut Vec<u8>| {
                    o.push(s.len() as u8);
                    o.extend_from_slice(s.as_bytes());
                };
                name("wasi", &mut sec);
                name("thread-spawn", &mut sec);
                sec.extend_from_slice(&[0, 0]);
                name("env", &mut sec);
                name("memory", &mut sec);
                sec.extend_from_slice(&[2, 3, 1, 1]);
                out.push(2);
                leb(sec.len() as u64, &mut out);
                out.extend_from_slice(&sec);
            }
            // custom section "x0x" holding the payload
            let mut sec = vec![3u8];
            sec.extend_from_slice(b"x0x");
            sec.extend_from_slice(payload);
            out.push(0);
            leb(sec.len() as u64, &mut out);
            out.extend_from_slice(&sec);
            return out;
        }
        (_, "linux") => {
            let (is64, machine) = match info.arch {
                "x64" => (true, elf::EM_X86_64),
                "arm64" => (true, elf::EM_AARCH64),
                _ => (false, elf::EM_ARM),
            };
            out.extend_from_slice(b"\x7fELF");
            out.extend_from_slice(&[if is64 { 2 } else { 1 }, 1, 1, 0]);
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&elf::ET_DYN.to_le_bytes());
            out.extend_from_slice(&machine.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            let ehsize: u16 = if is64 { 64 } else { 52 };
            // e_entry, e_phoff, e_shoff (all 0), e_flags
            out.resize(out.len() + if is64 { 24 } else { 12 }, 0);
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&ehsize.to_le_bytes());
            let phentsize: u16 = if is64 { 56 } else { 32 };
            let shentsize: u16 = if is64 { 64 } else { 40 };
            out.extend_from_slice(&phentsize.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&shentsize.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
        }
        (_, "darwin") => {
            let cpu = if info.arch == "arm64" {
                CPU_TYPE_ARM64
            } else {
                CPU_TYPE_X86_64
            };
            out.extend_from_slice(&[0xcf, 0xfa, 0xed, 0xfe]);
            out.extend_from_slice(&cpu.to_le_bytes());
            // cpusubtype, filetype MH_DYLIB, ncmds, sizeofcmds, flags, reserved
            for v in [0u32, 6, 0, 0, 0, 0] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        _ => {
            out.extend_from_slice(b"MZ");
            out.resize(0x3c, 0);
            out.extend_from_slice(&0x40u32.to_le_bytes());
            out.extend_from_slice(b"PE\0\0");
            out.extend_from_slice(&IMAGE_FILE_MACHINE_AMD64.to_le_bytes());
            out.resize(0x40 + 24, 0);
        }
    }
    out.extend_from_slice(payload);
    out
}

fn leb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str) -> Platform {
        Platform::from_name(name).unwrap()
    }

    #[test]
    fn every_minimal_build_passes_its_own_platform_only() {
        for &a in Platform::ALL {
            let bytes = minimal_build(a, b"payload");
            check(a, &bytes).unwrap_or_else(|e| panic!("{}: {e}", a.name()));
            for &b in Platform::ALL {
                let passes = if a.kind() == Kind::Wasm || b.kind() == Kind::Wasm {
                    a == b
                } else {
                    a.info().platform == b.info().platform && a.info().arch == b.info().arch
                };
                assert_eq!(
                    check(b, &bytes).is_ok(),
                    passes,
                    "a minimal {} build checked as {}",
                    a.name(),
                    b.name()
                );
            }
        }
    }

    #[test]
    fn the_issue_cases_are_refused() {
        let x64 = minimal_build(p("linux-x64-gnu"), b"");
        let e = check(p("linux-arm64-gnu"), &x64).unwrap_err().to_string();
        assert!(
            e.contains("64-bit x86_64 ELF") && e.contains("aarch64"),
            "{e}"
        );
        let random: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let e = check(p("wasm32-wasip1"), &random).unwrap_err().to_string();
        assert!(e.contains("first bytes"), "{e}");
        assert!(check(p("linux-x64-gnu"), &[])
            .unwrap_err()
            .to_string()
            .contains("empty"));
    }

    #[test]
    fn fat_mach_o_with_the_slice_passes() {
        let mut fat = vec![0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2];
        for cpu in [CPU_TYPE_X86_64, CPU_TYPE_ARM64] {
            fat.extend_from_slice(&cpu.to_be_bytes());
            fat.extend_from_slice(&[0; 16]);
        }
        assert!(check(p("darwin-arm64"), &fat).is_ok());
        assert!(check(p("darwin-x64"), &fat).is_ok());
        fat[8..12].copy_from_slice(&CPU_TYPE_ARM64.to_be_bytes());
        assert!(check(p("darwin-x64"), &fat).is_err());
    }

    #[test]
    fn libc_evidence_decides_gnu_versus_musl() {
        // The ELF fixtures of elf.rs (loader/tests/data/make-fixtures.sh): an x86-64 shared object needing
        // GLIBC_ versions, and an executable whose interpreter is musl's.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
        let glibc = read("plain.so");
        check(p("linux-x64-gnu"), &glibc).unwrap();
        let e = check(p("linux-x64-musl"), &glibc).unwrap_err().to_string();
        assert!(e.contains("libc.so.6") || e.contains("GLIBC_"), "{e}");
        // (built with glibc and only its interpreter set to musl's, so neither libc accepts it)
        let musl = read("musl-interp.bin");
        let e = check(p("linux-x64-gnu"), &musl).unwrap_err().to_string();
        assert!(e.contains("musl"), "{e}");
    }

    #[test]
    fn wasm_flavours_are_checked_by_imports() {
        let threads = minimal_build(p("wasm32-wasip1-threads"), b"x");
        let e = check(p("wasm32-wasip1"), &threads).unwrap_err().to_string();
        assert!(e.contains("thread-spawn"), "{e}");
        let plain = minimal_build(p("wasm32-wasip1"), b"x");
        assert!(check(p("wasm32-wasip1-threads"), &plain).is_err());
    }
}
