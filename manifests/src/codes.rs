//! The stable machine codes of every x0x-dist failure, for the whole project, in one table.
//!
//! A code is `area.failure` in lower snake case. The Rust CLI prints it and exits with [`CodeInfo::exit`], the
//! HTTP API answers `{"code": ..., "detail": ...}` with [`CodeInfo::http`], and the JavaScript loader sets it as
//! `err.code`. Codes are never renamed or reused; add new ones at the end of their area. `docs/error-codes.md`
//! is generated from [`CODES`] by [`render_markdown`] (a test fails when the checked-in file drifts).
//!
//! Exit statuses: 0 success, 1 internal error, 2 usage, 3 trust failure (signatures, threshold, expiry,
//! rollback), 4 integrity failure (hash or length), 5 not found, 6 conflict, 7 network, 8 local I/O,
//! 9 authentication or authorization, 10 no usable binary for this host.

use std::fmt::Write as _;

/// One stable failure code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code itself, e.g. `metadata.expired`.
    pub code: &'static str,
    /// The process exit status of the `x0x-dist` CLI for this failure.
    pub exit: u8,
    /// The HTTP status the server answers with for this failure.
    pub http: u16,
    /// One line: what it means.
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($name:ident = $code:literal, $exit:literal, $http:literal, $meaning:literal;)*) => {
        $(
            #[doc = $meaning]
            pub const $name: &str = $code;
        )*
        /// Every stable code, in documentation order.
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: $code, exit: $exit, http: $http, meaning: $meaning },)*
        ];
    };
}

codes! {
    // Metadata (TUF roles).
    METADATA_MALFORMED = "metadata.malformed", 3, 400, "Metadata is not valid JSON or does not match the TUF 1.0 schema (including duplicate keys, floats, bad dates, a key id listed twice in signatures).";
    METADATA_TOO_LARGE = "metadata.too_large", 3, 413, "Metadata is larger than the size limit for its role; it was rejected before parsing.";
    METADATA_WRONG_TYPE = "metadata.wrong_type", 3, 400, "The `_type` of the metadata is not the role that was expected.";
    METADATA_SPEC_VERSION = "metadata.spec_version", 3, 400, "The metadata's `spec_version` is not a supported TUF 1.x version.";
    METADATA_SIGNATURE_INVALID = "metadata.signature_invalid", 3, 400, "A signature by an authorized key does not verify, and the threshold is not met without it.";
    METADATA_THRESHOLD_NOT_MET = "metadata.threshold_not_met", 3, 400, "Fewer distinct authorized keys than the role's threshold signed the metadata.";
    METADATA_EXPIRED = "metadata.expired", 3, 400, "The metadata's `expires` is at or before the verification time.";
    METADATA_ROLLBACK = "metadata.rollback", 3, 409, "The metadata's version is lower than the trusted one (or a listed role's version went down).";
    METADATA_VERSION_MISMATCH = "metadata.version_mismatch", 3, 400, "The metadata's version differs from the version its referrer (timestamp, snapshot or file name) pins.";
    METADATA_DIGEST_MISMATCH = "metadata.digest_mismatch", 4, 400, "The metadata file's SHA-256 differs from the hash its referrer pins.";
    METADATA_LENGTH_MISMATCH = "metadata.length_mismatch", 4, 400, "The metadata file's length differs from the length its referrer pins.";
    METADATA_MISSING_ROLE = "metadata.missing_role", 3, 400, "A role that must be listed (in root, snapshot or a delegation) is missing.";
    METADATA_DELEGATION_INVALID = "metadata.delegation_invalid", 3, 400, "A delegation is malformed: unknown key, zero threshold, bad pattern or duplicate role name.";
    METADATA_KEY_INVALID = "metadata.key_invalid", 3, 400, "A key in metadata or a key file is malformed or of an unsupported type or scheme.";
    // Targets.
    TARGET_DIGEST_MISMATCH = "target.digest_mismatch", 4, 400, "A target's SHA-256 or SHA-512 differs from the hash in verified metadata, or the metadata lists a hash algorithm other than sha256 and sha512 (such a target never verifies).";
    TARGET_LENGTH_MISMATCH = "target.length_mismatch", 4, 400, "A target's length differs from the length in verified metadata.";
    TARGET_PATH_INVALID = "target.path_invalid", 2, 400, "A target path is unsafe (empty, `.` or `..` segment, absolute, backslash, control character, empty segment, too long), or is not `<package>/<version>/<file>` where a package artifact is required.";
    TARGET_NOT_FOUND = "target.not_found", 5, 404, "No verified metadata lists this target.";
    TARGET_CHANGED = "target.changed", 6, 409, "A release tried to change a target that was already published (versions are immutable).";
    TARGET_BLOB_MISSING = "target.blob_missing", 5, 400, "A target listed in submitted metadata has no uploaded blob.";
    TARGET_CUSTOM_INVALID = "target.custom_invalid", 2, 400, "A submitted target's `custom` fields are missing or disagree with its path and the platform table.";
    TARGET_PLATFORM_MISMATCH = "target.platform_mismatch", 4, 400, "A release file's bytes are not a build for the platform its napi file name claims (ELF class, machine, OS ABI and libc; Mach-O CPU type; PE machine; WASM magic and the imports of its flavour); nothing was published.";
    // Platforms and packages.
    PLATFORM_UNKNOWN = "platform.unknown", 2, 400, "A platform name, triple or artifact file name is not in the platform table.";
    PACKAGE_NAME_INVALID = "package.name_invalid", 2, 400, "A package name is not lower-case `[a-z0-9][a-z0-9-_.]*` of at most 64 characters.";
    PACKAGE_VERSION_INVALID = "package.version_invalid", 2, 400, "A package version is not a semantic version (or a version range is not a valid range).";
    PACKAGE_NOT_FOUND = "package.not_found", 5, 404, "The package is not delegated in this repository.";
    PACKAGE_EXISTS = "package.exists", 6, 409, "The package is already delegated in this repository.";
    VERSION_NOT_FOUND = "version.not_found", 5, 404, "No published version of the package matches the requested version or range.";
    VERSION_EXISTS = "version.exists", 6, 409, "This version of the package is already published (versions are immutable).";
    // Local repository and key files.
    REPO_NOT_FOUND = "repo.not_found", 5, 404, "The repository directory does not exist or has no metadata.";
    REPO_EXISTS = "repo.exists", 6, 409, "`init` refused: the directory already holds a repository.";
    REPO_CORRUPT = "repo.corrupt", 3, 500, "The repository on disk is inconsistent (a file its metadata requires is missing or wrong).";
    REPO_DIFFERENT = "repo.different", 6, 409, "`migrate` refused: the destination already holds a different repository (another `1.root.json`, or versioned metadata that differs from the source's); nothing was copied. Migrate into an empty destination.";
    KEY_FILE_INVALID = "key.file_invalid", 2, 400, "A key file is not the documented JSON key format, or a secret key was given where a public one was expected.";
    KEY_NOT_AUTHORIZED = "key.not_authorized", 3, 403, "The key is not one of the keys the role delegates to.";
    IO_ERROR = "io.error", 8, 500, "A local file operation failed (the message names the path).";
    // Usage and transport.
    USAGE_INVALID = "usage.invalid", 2, 400, "Invalid command-line arguments or request parameters.";
    REQUEST_TOO_LARGE = "request.too_large", 2, 413, "The request body is larger than the server allows.";
    AUTH_MISSING = "auth.missing", 9, 401, "The request has no bearer token.";
    AUTH_INVALID = "auth.invalid", 9, 401, "The bearer token is unknown or revoked.";
    AUTH_FORBIDDEN = "auth.forbidden", 9, 403, "The token is valid but not scoped to this package.";
    // Server: uploads, publishing, serving.
    REQUEST_NOT_FOUND = "request.not_found", 5, 404, "Nothing is served at this URL (no such route, metadata file or target).";
    REQUEST_TIMEOUT = "request.timeout", 7, 408, "The request body stalled (no bytes for the idle timeout) or was cut off; nothing was stored.";
    REQUEST_RANGE_NOT_SATISFIABLE = "request.range_not_satisfiable", 2, 416, "The `Range` header asks for bytes outside the file.";
    BLOB_DIGEST_MISMATCH = "blob.digest_mismatch", 4, 400, "An uploaded blob does not hash to the SHA-256 in its URL; nothing was stored.";
    BLOB_LENGTH_MISMATCH = "blob.length_mismatch", 4, 400, "An uploaded blob's length differs from its `Content-Length`; nothing was stored.";
    PUBLISH_CONFLICT = "publish.conflict", 6, 409, "Another publish of the same package is in progress; fetch the current role and retry.";
    PUBLISH_LEADER_UNAVAILABLE = "publish.leader_unavailable", 7, 503, "This replica forwards publishes to its publish leader (`serve --publish-via URL`), which could not be reached or did not answer in time. Check that the leader at that URL is running (`curl URL/readyz`) and reachable from the replica, then retry; if the leader was only slow, the release may already be published (`GET /api/v1/packages/NAME`).";
    STORAGE_FULL = "storage.full", 8, 507, "The server's storage is full; the publish or upload failed cleanly and nothing was changed.";
    SERVER_OVERLOADED = "server.overloaded", 7, 503, "The server has its maximum number of connections open (`[limits] max_connections`); the connection was answered at once and closed. Retry shortly; an operator raises the cap (and `LimitNOFILE`) in docs/server.md, \"Deployment\".";
    NETWORK_UNREACHABLE = "network.unreachable", 7, 502, "The repository, mirror upstream or proxy could not be reached.";
    NETWORK_HTTP_STATUS = "network.http_status", 7, 502, "The remote answered with an unexpected HTTP status.";
    NETWORK_TIMEOUT = "network.timeout", 7, 504, "A download did not complete within its total deadline (`X0X_DIST_DEADLINE_MS` in the JavaScript loader: a server sending too slowly, not only one that stopped); the message names the URL.";
    BUNDLE_INVALID = "bundle.invalid", 3, 400, "A bundle file is malformed or its contents do not match its metadata.";
    // Loader.
    LOADER_NO_CANDIDATE = "loader.no_candidate", 10, 500, "No native binary or WASM build could be resolved, verified and loaded for this host.";
    LOADER_LOAD_FAILED = "loader.load_failed", 10, 500, "A verified binary failed to load (e.g. glibc too old); the next candidate is tried.";
    LOADER_OFFLINE = "loader.offline", 7, 500, "A fetch was needed but network access is disabled (`X0X_DIST_OFFLINE=1`).";
    CACHE_CORRUPT = "cache.corrupt", 4, 500, "A cached file no longer matches its verified hash; it is discarded and fetched again.";
    CACHE_INSECURE = "cache.insecure", 3, 500, "The cache directory (or a parent) is writable by another user or not owned by this one: nothing is loaded from it; `chmod go-w` it or set `X0X_DIST_CACHE` to a directory only this user can write.";
    CACHE_FOREIGN_SYMLINK = "cache.foreign_symlink", 3, 500, "A component of the cache directory's path is a symbolic link owned by another user (neither this one nor root), who could point it at a directory of their own between a check and a load: nothing is loaded through it; set `X0X_DIST_CACHE` to a directory of your own, not through that link.";
    LOADER_PERMISSION_DENIED = "loader.permission_denied", 10, 500, "Node's permission model (`--permission`) forbids a step the loader needs; the message names the flag that allows it (`--allow-addons`, `--allow-wasi`, `--allow-child-process`).";
    CONFIG_INVALID = "config.invalid", 2, 400, "A configuration value (environment variable or `.npmrc` key) is invalid.";
    ELF_NOT_ELF = "elf.not_elf", 2, 400, "A file inspected as an ELF binary (glibc floor, machine) is not an ELF file.";
    ELF_MALFORMED = "elf.malformed", 4, 400, "An ELF binary's headers or symbol-version sections are invalid.";
    HOST_INVALID_GLIBC_VERSION = "host.invalid_glibc_version", 2, 400, "A glibc version (`2.17`, `GLIBC_2.2.5`) could not be parsed.";
    INTERNAL = "internal", 1, 500, "An unexpected internal error (a bug: please report it).";
}

/// An error that carries one of the stable codes of [`CODES`]: implemented by every coded error type of the
/// project, so that code can be read from an error without knowing which crate raised it.
pub trait Coded {
    /// The stable machine code of this failure.
    fn code(&self) -> &'static str;
}

/// Looks up a code's table entry.
pub fn info(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

/// The CLI exit status for a code (1 for an unknown code).
pub fn exit_status(code: &str) -> u8 {
    info(code).map_or(1, |c| c.exit)
}

/// Renders `docs/error-codes.md` from [`CODES`].
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         <!-- Generated from manifests/src/codes.rs by `cargo run -p x0x-dist-manifests --example gen-vectors`; do not edit. -->\n\n\
         Every failure of x0x-dist carries one stable machine code, shared by the `x0x-dist` CLI (printed, and the\n\
         process exit status below), the HTTP API (`{\"code\": ..., \"detail\": ...}` with the HTTP status below) and\n\
         the JavaScript loader (`err.code`). Codes are never renamed or reused.\n\n\
         Exit statuses: 0 success, 1 internal error, 2 usage, 3 trust failure, 4 integrity failure, 5 not found,\n\
         6 conflict, 7 network, 8 local I/O, 9 authentication, 10 no usable binary for this host.\n\n\
         | Code | Exit | HTTP | Meaning |\n|---|---|---|---|\n",
    );
    for c in CODES {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            c.code,
            c.exit,
            c.http,
            c.meaning.replace('|', "\\|")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert!(
                c.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "bad code {}",
                c.code
            );
            assert!(c.exit != 0, "{} has exit status 0", c.code);
            assert!(c.http >= 400, "{} has a non-error HTTP status", c.code);
        }
        assert_eq!(exit_status(METADATA_EXPIRED), 3);
        assert_eq!(exit_status("no.such_code"), 1);
    }
}
