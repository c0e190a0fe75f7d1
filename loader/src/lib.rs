//! The x0x-dist loader library: resolve → fetch → verify → cache.
//!
//! - [`elf`]: what an ELF binary needs (machine, class, glibc floor) and what the running host offers (libc from
//!   the process's own interpreter, host glibc version) — pure functions over bytes plus one I/O entry point.
#![deny(missing_docs)]

pub mod elf;
mod error;

pub use error::Error;
