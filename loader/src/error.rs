//! The loader's one error type. Every variant has a stable machine code ([`Error::code`]) shared with the CLI,
//! the HTTP API (`{"code","detail"}`) and the JavaScript loader's `err.code`.
//!
//! Messages name the subject; causes stay in `#[source]` so a chain reporter prints each once.

/// Everything the loader can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not an ELF file.
    #[error("not an ELF file")]
    NotElf,
    /// The bytes start like an ELF file but its headers or version sections are invalid.
    #[error("malformed ELF file: {reason}")]
    MalformedElf {
        /// What the parser rejected.
        reason: String,
    },
    /// A glibc version string could not be parsed.
    #[error("invalid glibc version {value:?}")]
    InvalidGlibcVersion {
        /// The rejected text.
        value: String,
    },
}

impl Error {
    /// The stable machine code of this failure (`elf.malformed`, `metadata.expired`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotElf => "elf.not_elf",
            Self::MalformedElf { .. } => "elf.malformed",
            Self::InvalidGlibcVersion { .. } => "host.invalid_glibc_version",
        }
    }
}
