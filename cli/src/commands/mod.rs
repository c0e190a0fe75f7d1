//! The `x0x-dist` subcommands, one module each, and the shared error reporting.
//!
//! Offline commands (no server, no network): [`init`], [`keygen`], [`package`] (`add`, `release`), [`verify`].

pub mod bundle;
pub mod doctor;
pub mod fetch;
pub mod gc;
pub mod init;
pub mod keygen;
pub mod log;
pub mod migrate;
pub mod mirror;
pub mod package;
pub mod publish;
pub mod release;
pub mod root;
pub mod serve;
pub mod storage;
pub mod token;
pub mod token_db;
pub mod verify;

use std::process::ExitCode;

use x0x_dist_manifests::codes::{Code, Coded};

/// The stable code of an error: the first error in the chain that carries one.
pub fn code_of(err: &anyhow::Error) -> Code {
    if let Some(code) = err.chain().find_map(coded) {
        return code;
    }
    // A plain I/O error (a missing --root file, an unreadable bundle) is the user's path, not a bug.
    if err
        .chain()
        .any(|c| c.downcast_ref::<std::io::Error>().is_some())
    {
        return Code::IoError;
    }
    Code::Internal
}

/// The code `cause` carries, if it is one of the project's coded errors ([`Coded`]) or a server's answer with a
/// code of the table.
fn coded(cause: &(dyn std::error::Error + 'static)) -> Option<Code> {
    fn as_coded<E: Coded + std::error::Error + 'static>(
        cause: &(dyn std::error::Error + 'static),
    ) -> Option<Code> {
        cause.downcast_ref::<E>().map(Coded::code)
    }
    as_coded::<x0x_dist_manifests::Error>(cause)
        .or_else(|| as_coded::<x0x_dist_loader::Error>(cause))
        .or_else(|| as_coded::<x0x_dist_repository::Error>(cause))
        .or_else(|| as_coded::<x0x_dist_server::error::ApiError>(cause))
        .or_else(|| {
            let e = cause.downcast_ref::<x0x_dist::client::RemoteError>()?;
            Code::parse(&e.code)
        })
}

/// What to do next after an error with this code: one line printed under `error[...]` (`help: ...`).
/// Codes whose messages already say what to do (e.g. `repo.not_found` names `x0x-dist init`) have none.
pub fn next_step(code: Code) -> Option<&'static str> {
    Some(match code {
        Code::NetworkUnreachable => {
            "check the URL (the server's base URL, e.g. http://127.0.0.1:8080) and that the server is \
             running: `curl URL/healthz` answers `ok`"
        }
        Code::NetworkHttpStatus | Code::RequestNotFound => {
            "pass the server's base URL (e.g. http://127.0.0.1:8080), not a path under /tuf or /api"
        }
        Code::AuthMissing | Code::AuthInvalid => {
            "pass a token printed by `x0x-dist token create --repo DIR --package NAME` (run against the \
             server's repository) with --token-file FILE, X0X_DIST_TOKEN or --token"
        }
        Code::AuthForbidden => {
            "this token may publish other packages only: create one for this package with \
             `x0x-dist token create --repo DIR --package NAME`"
        }
        Code::KeyNotAuthorized => {
            "sign with a publisher key of the package (the secret half of a FILE.pub given to \
             `x0x-dist package add --repo DIR NAME --publisher-key FILE.pub`)"
        }
        Code::KeyHsmPinValue | Code::KeyHsmPin => {
            "put the user PIN in a file readable only by you and add ?pin-source=file:PATH to the URI, or set \
             X0X_DIST_PKCS11_PIN (docs/hardware-keys.md)"
        }
        Code::KeyHsmModule => {
            "name the token's PKCS#11 module: ?module-path=/path/to/module.so in the URI or X0X_DIST_PKCS11_MODULE \
             (SoftHSM2: apt install softhsm2; YubiKey: libykcs11.so)"
        }
        Code::KeyHsmNotFound => {
            "list what the token holds: `pkcs11-tool --module MODULE --list-token-slots` and \
             `pkcs11-tool --module MODULE --login --list-objects`; token= is the token label, object= the key label"
        }
        Code::KeyFileInvalid => {
            "publisher keys come from `x0x-dist keygen --out FILE`: FILE is the secret key (--key), \
             FILE.pub the public key (--publisher-key)"
        }
        Code::PackageNotFound => {
            "check the package name; a repository's owner delegates a new package with \
             `x0x-dist package add --repo DIR NAME --publisher-key FILE.pub`"
        }
        Code::VersionExists | Code::TargetChanged => {
            "published versions are immutable: publish the change as a new version"
        }
        Code::VersionNotFound | Code::TargetNotFound => {
            "see what is published: `x0x-dist doctor --server URL --root ROOT.json` or \
             GET URL/api/v1/packages/NAME"
        }
        Code::PlatformUnknown => {
            "use napi platform names (linux-x64-gnu, darwin-arm64, win32-x64-msvc, wasm32-wasip1, ...) \
             and napi file names (x0x.linux-x64-gnu.node, x0x.wasm32-wasip1.wasm)"
        }
        Code::MetadataExpired => {
            "a server re-signs its timestamp itself (is it running? a mirror: is its upstream \
             reachable?); for air-gapped installs from an old bundle the operator may set \
             X0X_DIST_ALLOW_EXPIRED_AFTER (docs/air-gapped.md)"
        }
        Code::MetadataRollback => {
            "the repository serves older metadata than this client already trusts (a stale mirror, \
             or a replay): point it at an up-to-date repository"
        }
        Code::MetadataMalformed => {
            "check the file is TUF metadata; --root wants a root.json (DIR/metadata/1.root.json of the \
             repository, or the root.json shipped in the x0x package)"
        }
        Code::MetadataSignatureInvalid
        | Code::MetadataThresholdNotMet
        | Code::MetadataDigestMismatch
        | Code::MetadataLengthMismatch
        | Code::TargetDigestMismatch
        | Code::TargetLengthMismatch => {
            "nothing was stored or loaded; check --root is this repository's root.json, then report \
             it to the repository's operator (the bytes served do not match what was signed)"
        }
        Code::BundleInvalid => {
            "the file is not an x0x-dist bundle or is damaged (`tar tvf FILE` lists bundle.json first); \
             export a new one with `x0x-dist bundle export`"
        }
        Code::TargetPlatformMismatch => {
            "the file's bytes are a build for another platform (`file FILE` shows its machine): name it for \
             the platform it was built for, or rebuild it for the named one (`cargo xtask build`)"
        }
        Code::PublishConflict => "another publish of this package is in progress: retry",
        Code::StorageFull => "free space on the server's disk and retry: nothing was changed",
        Code::LoaderOffline => {
            "unset X0X_DIST_OFFLINE / drop --offline, or fill the cache first (`x0x-dist bundle import \
             FILE --cache DIR --root ROOT.json`)"
        }
        Code::LoaderNoCandidate | Code::LoaderLoadFailed => {
            "`x0x-dist doctor --server URL --root ROOT.json` shows every candidate and why it was rejected"
        }
        Code::Internal => "this is a bug: please report it with the command and this output",
        _ => return None,
    })
}

/// Prints an error as `error[<code>]: <message>: <cause>...` on stderr and maps it to its exit status.
pub fn finish(result: anyhow::Result<()>) -> ExitCode {
    finish_with(result, |_, _| None)
}

/// [`finish`] with a command's own `help:` lines: `hint` (given the error and its code) answers first,
/// [`next_step`] for what it leaves.
pub fn finish_with(
    result: anyhow::Result<()>,
    hint: impl Fn(&anyhow::Error, Code) -> Option<String>,
) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = code_of(&e);
            // The message may quote a file name or a server's detail: escaped, it stays one line.
            eprintln!(
                "error[{code}]: {}",
                x0x_dist::terminal::escape(&format!("{e:#}"))
            );
            if let Some(help) = hint(&e, code).or_else(|| next_step(code).map(str::to_owned)) {
                eprintln!("  help: {help}");
            }
            ExitCode::from(code.exit())
        }
    }
}

/// Parses `--at` style times (RFC 3339), defaulting to now.
pub fn time_arg(at: Option<&str>) -> anyhow::Result<time::OffsetDateTime> {
    match at {
        None => Ok(time::OffsetDateTime::now_utc()),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
                x0x_dist_repository::Error::new(
                    Code::UsageInvalid,
                    format!("--at {s:?} is not an RFC 3339 time (e.g. 2030-01-01T00:00:00Z): {e}"),
                )
                .into()
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every coded error type answers, through [`Coded`], a code of the project's table, and [`code_of`]
    /// finds it behind context.
    #[test]
    fn coded_errors_use_codes_of_the_table() {
        let samples: Vec<(Code, anyhow::Error)> = vec![
            (
                Coded::code(&x0x_dist_manifests::Error::SpecVersion("2.0".into())),
                x0x_dist_manifests::Error::SpecVersion("2.0".into()).into(),
            ),
            (
                Coded::code(&"nope".parse::<x0x_dist_manifests::Sha256>().unwrap_err()),
                "nope"
                    .parse::<x0x_dist_manifests::Sha256>()
                    .unwrap_err()
                    .into(),
            ),
            (
                Coded::code(&x0x_dist_loader::Error::NotElf),
                x0x_dist_loader::Error::NotElf.into(),
            ),
            (
                Coded::code(&x0x_dist_repository::Error::Exists("/r".into())),
                x0x_dist_repository::Error::Exists("/r".into()).into(),
            ),
            (
                Coded::code(&x0x_dist_repository::Error::Usage("u".into())),
                x0x_dist_repository::Error::Usage("u".into()).into(),
            ),
            (
                Coded::code(&x0x_dist_repository::Error::NotMirror("/m".into())),
                x0x_dist_repository::Error::NotMirror("/m".into()).into(),
            ),
            (
                Coded::code(&x0x_dist_repository::Error::Corrupt("c".into())),
                x0x_dist_repository::Error::Corrupt("c".into()).into(),
            ),
            (
                Coded::code(&x0x_dist_server::error::ApiError::MissingToken),
                x0x_dist_server::error::ApiError::MissingToken.into(),
            ),
            (
                Coded::code(&x0x_dist_server::error::ApiError::NotFound("n".into())),
                x0x_dist_server::error::ApiError::NotFound("n".into()).into(),
            ),
            (
                Coded::code(&x0x_dist_repository::Error::new(Code::BundleInvalid, "b")),
                x0x_dist_repository::Error::new(Code::BundleInvalid, "b").into(),
            ),
        ];
        for (code, err) in samples {
            assert!(
                x0x_dist_manifests::codes::info(code.as_str()).is_some(),
                "{code} is not in codes::CODES"
            );
            assert_ne!(code, Code::Internal, "{err}");
            let err = err.context("while testing");
            assert_eq!(code_of(&err), code, "{err:#}");
        }
    }
}
