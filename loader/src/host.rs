//! Host detection: the Rust target triple this process runs as, with the C library taken from the process's
//! own ELF interpreter at run time (see [`crate::elf`] for why not `ldd`).
use serde::Serialize;
use target_lexicon::{Environment, Triple, HOST};

use crate::elf::{self, GlibcVersion, HostLibc, Libc};

/// What the loader knows about the machine it runs on.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// The target triple to look for (`x86_64-unknown-linux-gnu`), libc corrected at run time.
    pub triple: String,
    /// The triple this program was compiled for.
    pub compiled_triple: String,
    /// Libc detection and its evidence (Linux; `Unknown` elsewhere).
    pub libc: HostLibc,
}

impl Host {
    /// Detects the running host.
    pub fn detect() -> Self {
        let mut triple: Triple = HOST;
        let mut libc = if cfg!(target_os = "linux") {
            elf::detect_host_libc()
        } else {
            HostLibc {
                libc: Libc::Unknown,
                interpreter: None,
                libc_path: None,
                glibc_release: None,
                glibc_abi: None,
                evidence: vec![format!("not Linux: no libc detection needed for {HOST}")],
            }
        };
        if libc.libc == Libc::Static && cfg!(target_os = "linux") {
            // A static program (e.g. a musl-static CLI) says nothing about the system: ask /bin/sh instead.
            let sh = elf::detect_libc_of(
                std::path::Path::new("/bin/sh"),
                std::path::Path::new("/nonexistent"),
            );
            libc.evidence
                .push(format!("process is static; /bin/sh says {:?}", sh.libc));
            libc.evidence.extend(sh.evidence);
            if matches!(sh.libc, Libc::Glibc | Libc::Musl) {
                libc.libc = sh.libc;
                libc.interpreter = sh.interpreter;
            }
        }
        if cfg!(target_os = "linux") {
            match libc.libc {
                Libc::Glibc => triple.environment = Environment::Gnu,
                Libc::Musl => triple.environment = Environment::Musl,
                Libc::Static | Libc::Unknown => {}
            }
        }
        Self {
            triple: triple.to_string(),
            compiled_triple: HOST.to_string(),
            libc,
        }
    }

    /// The glibc version binaries are checked against (`None` off glibc).
    pub fn glibc(&self) -> Option<GlibcVersion> {
        (self.libc.libc == Libc::Glibc)
            .then(|| self.libc.glibc())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_this_host() {
        let h = Host::detect();
        assert_eq!(h.compiled_triple, HOST.to_string());
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(h.triple, HOST.to_string());
            assert!(h.glibc().is_some());
        }
    }
}
