//! The `x0x-dist` subcommands, one module each, and the shared error reporting.
//!
//! Offline commands (no server, no network): [`init`], [`keygen`], [`package`] (`add`, `release`), [`verify`].

pub mod bundle;
pub mod doctor;
pub mod fetch;
pub mod init;
pub mod keygen;
pub mod mirror;
pub mod package;
pub mod publish;
pub mod serve;
pub mod token;
pub mod verify;

use std::process::ExitCode;

use x0x_dist::repo::RepoError;
use x0x_dist_manifests::codes;

/// The stable code of an error: the first error in the chain that carries one.
pub fn code_of(err: &anyhow::Error) -> &'static str {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<x0x_dist_manifests::Error>() {
            return e.code();
        }
        if let Some(e) = cause.downcast_ref::<x0x_dist_loader::Error>() {
            return e.code();
        }
        if let Some(e) = cause.downcast_ref::<x0x_dist::mirror::MirrorError>() {
            return e.code();
        }
        if let Some(e) = cause.downcast_ref::<RepoError>() {
            return e.code();
        }
        if let Some(e) = cause.downcast_ref::<x0x_dist::error::ApiError>() {
            return e.code();
        }
        if let Some(e) = cause.downcast_ref::<x0x_dist::client::RemoteError>() {
            if let Some(i) = codes::info(&e.code) {
                return i.code;
            }
        }
        if let Some(e) = cause.downcast_ref::<x0x_dist::client::CliError>() {
            return e.code;
        }
        if let Some(e) = cause.downcast_ref::<clap::Error>() {
            let _ = e;
            return codes::USAGE_INVALID;
        }
    }
    codes::INTERNAL
}

/// Prints an error as `error[<code>]: <message>: <cause>...` on stderr and maps it to its exit status.
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = code_of(&e);
            eprintln!("error[{code}]: {e:#}");
            ExitCode::from(codes::exit_status(code))
        }
    }
}

/// Parses `--at` style times (RFC 3339), defaulting to now.
pub fn time_arg(at: Option<&str>) -> anyhow::Result<time::OffsetDateTime> {
    use anyhow::Context as _;
    match at {
        None => Ok(time::OffsetDateTime::now_utc()),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                anyhow::Error::new(clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    e.to_string(),
                ))
            })
            .with_context(|| {
                format!("--at {s:?} is not an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)")
            }),
    }
}
