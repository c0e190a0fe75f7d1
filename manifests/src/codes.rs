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

/// The table entry of one stable failure code ([`Code::info`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code itself, e.g. [`Code::MetadataExpired`] (`metadata.expired`).
    pub code: Code,
    /// The process exit status of the `x0x-dist` CLI for this failure.
    pub exit: u8,
    /// The HTTP status the server answers with for this failure.
    pub http: u16,
    /// One line: what it means.
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($name:ident = $code:literal, $exit:literal, $http:literal, $meaning:literal;)*) => {
        /// One stable failure code of the table below: what the CLI prints (`error[metadata.expired]`), the
        /// HTTP API answers (`{"code": "metadata.expired", ...}`) and the JS loader sets as `err.code`.
        ///
        /// Written and read as its string ([`Code::as_str`], `Display`, `FromStr`, serde); its exit status, HTTP
        /// status and meaning are in [`Code::info`]. New codes may be added, so matches need a wildcard arm.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $(
                #[doc = concat!("`", $code, "`: ", $meaning)]
                $name,
            )*
        }

        /// Every stable code, in documentation order (the order of [`Code`]'s variants).
        pub const CODES: &[CodeInfo] = &[
            $(CodeInfo { code: Code::$name, exit: $exit, http: $http, meaning: $meaning },)*
        ];

        impl Code {
            /// The code as written on the wire, e.g. `metadata.expired`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $code,)*
                }
            }
        }
    };
}

codes! {
    // Metadata (TUF roles).
    MetadataMalformed = "metadata.malformed", 3, 400, "Metadata is not valid JSON or does not match the TUF 1.0 schema (including duplicate keys, floats, bad dates, a key id listed twice in signatures).";
    MetadataTooLarge = "metadata.too_large", 3, 413, "Metadata is larger than the size limit for its role; it was rejected before parsing.";
    MetadataWrongType = "metadata.wrong_type", 3, 400, "The `_type` of the metadata is not the role that was expected.";
    MetadataSpecVersion = "metadata.spec_version", 3, 400, "The metadata's `spec_version` is not a supported TUF 1.x version.";
    MetadataSignatureInvalid = "metadata.signature_invalid", 3, 400, "A signature by an authorized key does not verify, and the threshold is not met without it.";
    MetadataThresholdNotMet = "metadata.threshold_not_met", 3, 400, "Fewer distinct authorized keys than the role's threshold signed the metadata.";
    MetadataExpired = "metadata.expired", 3, 400, "The metadata's `expires` is at or before the verification time.";
    MetadataRollback = "metadata.rollback", 3, 409, "The metadata's version is lower than the trusted one (or a listed role's version went down).";
    MetadataVersionMismatch = "metadata.version_mismatch", 3, 400, "The metadata's version differs from the version its referrer (timestamp, snapshot or file name) pins.";
    MetadataDigestMismatch = "metadata.digest_mismatch", 4, 400, "The metadata file's SHA-256 differs from the hash its referrer pins.";
    MetadataLengthMismatch = "metadata.length_mismatch", 4, 400, "The metadata file's length differs from the length its referrer pins.";
    MetadataMissingRole = "metadata.missing_role", 3, 400, "A role that must be listed (in root, snapshot or a delegation) is missing.";
    MetadataDelegationInvalid = "metadata.delegation_invalid", 3, 400, "A delegation is malformed: unknown key, zero threshold, bad pattern or duplicate role name.";
    MetadataKeyInvalid = "metadata.key_invalid", 3, 400, "A key in metadata or a key file is malformed or of an unsupported type or scheme.";
    // Targets.
    TargetDigestMismatch = "target.digest_mismatch", 4, 400, "A target's SHA-256 or SHA-512 differs from the hash in verified metadata, or the metadata lists a hash algorithm other than sha256 and sha512 (such a target never verifies).";
    TargetLengthMismatch = "target.length_mismatch", 4, 400, "A target's length differs from the length in verified metadata.";
    TargetPathInvalid = "target.path_invalid", 2, 400, "A target path is unsafe (empty, `.` or `..` segment, absolute, backslash, control character, empty segment, too long), or is not `<package>/<version>/<file>` where a package artifact is required.";
    TargetNotFound = "target.not_found", 5, 404, "No verified metadata lists this target.";
    TargetChanged = "target.changed", 6, 409, "A release tried to change a target that was already published (versions are immutable).";
    TargetBlobMissing = "target.blob_missing", 5, 400, "A target listed in submitted metadata has no uploaded blob.";
    TargetCustomInvalid = "target.custom_invalid", 2, 400, "A submitted target's `custom` fields are missing or disagree with its path and the platform table.";
    TargetPlatformMismatch = "target.platform_mismatch", 4, 400, "A release file's bytes are not a build for the platform its napi file name claims (ELF class, machine, OS ABI and libc; Mach-O CPU type; PE machine; WASM magic and the imports of its flavour); nothing was published.";
    // Platforms and packages.
    PlatformUnknown = "platform.unknown", 2, 400, "A platform name, triple or artifact file name is not in the platform table.";
    PackageNameInvalid = "package.name_invalid", 2, 400, "A package name is not lower-case `[a-z0-9][a-z0-9-_.]*` of at most 64 characters.";
    PackageVersionInvalid = "package.version_invalid", 2, 400, "A package version is not a semantic version (or a version range is not a valid range).";
    PackageNotFound = "package.not_found", 5, 404, "The package is not delegated in this repository.";
    PackageExists = "package.exists", 6, 409, "The package is already delegated in this repository.";
    VersionNotFound = "version.not_found", 5, 404, "No published version of the package matches the requested version or range.";
    VersionExists = "version.exists", 6, 409, "This version of the package is already published (versions are immutable).";
    // Local repository and key files.
    RepoNotFound = "repo.not_found", 5, 404, "The repository directory does not exist or has no metadata.";
    RepoExists = "repo.exists", 6, 409, "`init` refused: the directory already holds a repository.";
    RepoCorrupt = "repo.corrupt", 3, 500, "The repository on disk is inconsistent (a file its metadata requires is missing or wrong).";
    RepoDifferent = "repo.different", 6, 409, "`migrate` refused: the destination already holds a different repository (another `1.root.json`, or versioned metadata that differs from the source's); nothing was copied. Migrate into an empty destination.";
    RepoNewer = "repo.newer", 6, 409, "`migrate` refused: the destination holds a newer state of the same repository than the source (a higher or different timestamp, a role version above the source's, tokens changed there) or a live server writes it; copying would roll it back, so nothing was copied. Keep the destination if it is the live repository; to restore an older backup, re-sign past the versions clients trust (docs/server.md, \"Restore from backup\").";
    KeyFileInvalid = "key.file_invalid", 2, 400, "A key file is not the documented JSON key format, or a secret key was given where a public one was expected.";
    KeyNotAuthorized = "key.not_authorized", 3, 403, "The key is not one of the keys the role delegates to.";
    KeyHsmUriInvalid = "key.hsm_uri_invalid", 2, 400, "A PKCS#11 URI (RFC 7512, `pkcs11:token=…;object=…`) is malformed, has an attribute x0x-dist does not support, or matches more than one token or key.";
    KeyHsmPinValue = "key.hsm_pin_value", 2, 400, "A PKCS#11 URI carries `pin-value`: refused, a command line is visible to every user of the machine. Use `?pin-source=file:PATH` or `X0X_DIST_PKCS11_PIN`.";
    KeyHsmModule = "key.hsm_module", 8, 500, "The PKCS#11 module (`module-path=` or `X0X_DIST_PKCS11_MODULE`, default SoftHSM2's) cannot be loaded or initialized.";
    KeyHsmNotFound = "key.hsm_not_found", 5, 500, "No token, private key or public key matches the PKCS#11 URI.";
    KeyHsmPin = "key.hsm_pin", 9, 500, "The token refused the PIN (wrong, locked or missing: `pin-source=file:PATH` or `X0X_DIST_PKCS11_PIN`).";
    KeyHsmMechanism = "key.hsm_mechanism", 2, 500, "The token key is of a type x0x-dist cannot sign with through PKCS#11 (ECDSA P-256/P-384 and ed25519 are), or the token lacks the mechanism (CKM_ECDSA, CKM_EDDSA).";
    KeyHsmFailed = "key.hsm_failed", 1, 500, "The token failed an operation (C_Sign, a session) or returned a signature that does not verify under its public key.";
    IoError = "io.error", 8, 500, "A local file operation failed (the message names the path).";
    // Usage and transport.
    UsageInvalid = "usage.invalid", 2, 400, "Invalid command-line arguments or request parameters.";
    RequestTooLarge = "request.too_large", 2, 413, "The request body is larger than the server allows.";
    AuthMissing = "auth.missing", 9, 401, "The request has no bearer token.";
    AuthInvalid = "auth.invalid", 9, 401, "The bearer token is unknown or revoked.";
    AuthForbidden = "auth.forbidden", 9, 403, "The token is valid but not scoped to this package.";
    // Server: uploads, publishing, serving.
    RequestNotFound = "request.not_found", 5, 404, "Nothing is served at this URL (no such route, metadata file or target).";
    RequestTimeout = "request.timeout", 7, 408, "The request body stalled (no bytes for the idle timeout) or was cut off; nothing was stored.";
    RequestRangeNotSatisfiable = "request.range_not_satisfiable", 2, 416, "The `Range` header asks for bytes outside the file.";
    BlobDigestMismatch = "blob.digest_mismatch", 4, 400, "An uploaded blob does not hash to the SHA-256 in its URL; nothing was stored.";
    BlobLengthMismatch = "blob.length_mismatch", 4, 400, "An uploaded blob's length differs from its `Content-Length`; nothing was stored.";
    PublishConflict = "publish.conflict", 6, 409, "Another publish of the same package is in progress; fetch the current role and retry.";
    PublishLeaderUnavailable = "publish.leader_unavailable", 7, 503, "This replica forwards publishes to its publish leader (`serve --publish-via URL`), which could not be reached or did not answer in time. Check that the leader at that URL is running (`curl URL/readyz`) and reachable from the replica, then retry; if the leader was only slow, the release may already be published (`GET /api/v1/packages/NAME`).";
    RepoConcurrentWriter = "repo.concurrent_writer", 6, 409, "Another writer is changing this object-storage repository: a second server started without a database on a store another live writer claimed (the message names its id and when it last renewed the claim), or `timestamp.json` changed under this writer. Run one writer per bucket, or give every replica the same `--database`; to take over from a writer that is gone, wait until its claim expires or start with `--take-over` (docs/server.md, \"Scale-out\").";
    DatabaseUnavailable = "database.unavailable", 7, 503, "The commit coordinator's database (`--database`, `[database] url`) could not be reached or failed mid-commit; nothing was committed. Retry: the publish either committed completely or not at all (`GET /api/v1/packages/NAME` tells which). Check the database (`pg_isready`).";
    StorageFull = "storage.full", 8, 507, "The server's storage is full; the publish or upload failed cleanly and nothing was changed.";
    ServerOverloaded = "server.overloaded", 7, 503, "The server has its maximum number of connections open (`[limits] max_connections`); the connection was answered at once and closed. Retry shortly; an operator raises the cap (and `LimitNOFILE`) in docs/server.md, \"Deployment\".";
    NetworkUnreachable = "network.unreachable", 7, 502, "The repository, mirror upstream or proxy could not be reached.";
    NetworkHttpStatus = "network.http_status", 7, 502, "The remote answered with an unexpected HTTP status.";
    NetworkTimeout = "network.timeout", 7, 504, "A download did not complete within its total deadline (`X0X_DIST_DEADLINE_MS` in the JavaScript loader: a server sending too slowly, not only one that stopped); the message names the URL.";
    NpmInvalidName = "npm.invalid_name", 2, 400, "An npm registry request names a package, version or tarball that is not valid (a malformed `@scope/name`, a percent-encoded `/` or `..` in a name, a name over 214 bytes, an unknown endpoint under `/npm/`).";
    NpmNotHosted = "npm.not_hosted", 5, 404, "The npm registry view does not host this package or version (it serves the packages of the repository's signed releases; `[npm] upstream` proxies the others).";
    NpmTarballUnverified = "npm.tarball_unverified", 4, 500, "An npm tarball was not served: the stored bytes of the signed target it would embed do not match the verified metadata (a tampered or damaged blob). Nothing was cached; restore the blob (`x0x-dist verify`).";
    BundleInvalid = "bundle.invalid", 3, 400, "A bundle file is malformed or its contents do not match its metadata.";
    // Trusted publishing (OIDC) and staged releases.
    OidcMalformed = "oidc.malformed", 9, 401, "The presented CI ID token is not a compact JWS (three base64url parts, JSON header and claims), or a claim has the wrong type; nothing was changed.";
    OidcTooLarge = "oidc.too_large", 9, 413, "The presented CI ID token is larger than the server accepts (16 KiB); it was refused before parsing.";
    OidcAlgorithm = "oidc.algorithm", 9, 401, "The ID token's `alg` is `none`, symmetric (`HS*`) or not one the issuer may use (RS*, PS*, ES256, ES384, EdDSA).";
    OidcKid = "oidc.kid", 9, 401, "The ID token's `kid` names no key of the issuer's JWKS, even after re-reading it (a forged or rotated-out key).";
    OidcSignature = "oidc.signature", 9, 401, "The ID token's signature does not verify with the issuer's key its `kid` names.";
    OidcIss = "oidc.iss", 9, 401, "The ID token's `iss` is not the issuer of the package's trusted-publishing policy.";
    OidcAud = "oidc.aud", 9, 401, "The ID token's `aud` does not contain the audience of the package's trusted-publishing policy.";
    OidcExp = "oidc.exp", 9, 401, "The ID token is expired (`exp` past, beyond the allowed clock skew) or has no `exp`.";
    OidcNbf = "oidc.nbf", 9, 401, "The ID token is not valid yet (`nbf` in the future beyond the allowed clock skew).";
    OidcIat = "oidc.iat", 9, 401, "The ID token's `iat` is missing, in the future beyond the allowed clock skew, or too far in the past.";
    OidcJti = "oidc.jti", 9, 401, "The ID token has no `jti`, or was already exchanged (a replay).";
    OidcClaim = "oidc.claim", 9, 403, "A claim the package's trusted-publishing policy requires (`repository`, `workflow_ref`, ...) is missing or has another value; the detail names the claim.";
    OidcNoPolicy = "oidc.no_policy", 9, 403, "The package has no trusted-publishing policy (`x0x-dist package trust`), or its policy does not verify against the top-level targets keys.";
    OidcIssuerUnavailable = "oidc.issuer_unavailable", 7, 502, "The issuer's discovery document (`/.well-known/openid-configuration`) or JWKS could not be fetched or is invalid.";
    ReleaseNotStaged = "release.not_staged", 5, 404, "No staged release of this package has that version (`GET /api/v1/packages/NAME/staged` lists them).";
    ReleaseSelfApproval = "release.self_approval", 9, 403, "A staged release must be approved or rejected by another identity (token or OIDC subject) than the one that staged it.";
    ReleaseRevoked = "release.revoked", 6, 409, "The release is revoked: it cannot be yanked or revoked again (a revocation is final).";
    ReleaseNeedsKey = "release.needs_key", 2, 400, "The package's policy does not let the server sign with its online key: the release must be signed with a publisher key (`--key`).";
    // Loader.
    LoaderNoCandidate = "loader.no_candidate", 10, 500, "No native binary or WASM build could be resolved, verified and loaded for this host.";
    LoaderLoadFailed = "loader.load_failed", 10, 500, "A verified binary failed to load (e.g. glibc too old); the next candidate is tried.";
    LoaderRevoked = "loader.revoked", 6, 500, "The release is revoked (the signed `revocations` role): the loader refuses to load it, even from a warm cache; the message names the reason, the advisory and the version to move to (`npx x0x doctor`).";
    ReleaseYanked = "release.yanked", 6, 409, "The release is yanked (the signed `revocations` role): never picked for a new install; where a lockfile or cache pins it, it still loads, with a one-line warning carrying this code, the reason and the version to move to.";
    LoaderTooYoung = "loader.too_young", 6, 500, "The release is younger than the configured minimum release age (`X0X_DIST_MIN_RELEASE_AGE`, from its signed `custom.published` time): a range skips it, a pinned version is refused until the time the message names.";
    LoaderProvenance = "loader.provenance", 3, 500, "The release lacks signed provenance matching `X0X_DIST_REQUIRE_PROVENANCE` (`ISSUER` or `ISSUER|REPOSITORY`: the `custom.provenance` the server records when it signs a trusted-publishing release online): a range skips it, a pinned version is refused and not loaded, even from a warm cache.";
    LoaderOffline = "loader.offline", 7, 500, "A fetch was needed but network access is disabled (`X0X_DIST_OFFLINE=1`).";
    CacheCorrupt = "cache.corrupt", 4, 500, "A cached file no longer matches its verified hash; it is discarded and fetched again.";
    CacheInsecure = "cache.insecure", 3, 500, "The cache directory (or a parent) is writable by another user or not owned by this one: nothing is loaded from it; `chmod go-w` it or set `X0X_DIST_CACHE` to a directory only this user can write.";
    CacheForeignSymlink = "cache.foreign_symlink", 3, 500, "A component of the cache directory's path is a symbolic link owned by another user (neither this one nor root), who could point it at a directory of their own between a check and a load: nothing is loaded through it; set `X0X_DIST_CACHE` to a directory of your own, not through that link.";
    LoaderPermissionDenied = "loader.permission_denied", 10, 500, "Node's permission model (`--permission`) forbids a step the loader needs; the message names the flag that allows it (`--allow-addons`, `--allow-wasi`, `--allow-child-process`).";
    ConfigInvalid = "config.invalid", 2, 400, "A configuration value (environment variable or `.npmrc` key) is invalid.";
    ElfNotElf = "elf.not_elf", 2, 400, "A file inspected as an ELF binary (glibc floor, machine) is not an ELF file.";
    ElfMalformed = "elf.malformed", 4, 400, "An ELF binary's headers or symbol-version sections are invalid.";
    HostInvalidGlibcVersion = "host.invalid_glibc_version", 2, 400, "A glibc version (`2.17`, `GLIBC_2.2.5`) could not be parsed.";
    Internal = "internal", 1, 500, "An unexpected internal error (a bug: please report it).";
}

impl Code {
    /// This code's table entry: exit status, HTTP status, meaning.
    pub const fn info(self) -> &'static CodeInfo {
        // The variants are declared in table order, so a variant's discriminant is its row.
        &CODES[self as usize]
    }

    /// The CLI exit status of this code.
    pub const fn exit(self) -> u8 {
        self.info().exit
    }

    /// The HTTP status of this code.
    pub const fn http(self) -> u16 {
        self.info().http
    }

    /// The code written `s` (`metadata.expired`), if it is in the table.
    pub fn parse(s: &str) -> Option<Code> {
        CODES.iter().map(|c| c.code).find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Code({:?})", self.as_str())
    }
}

/// A string that is not a code of the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code {0:?}")]
pub struct UnknownCode(pub String);

impl std::str::FromStr for Code {
    type Err = UnknownCode;
    fn from_str(s: &str) -> Result<Self, UnknownCode> {
        Code::parse(s).ok_or_else(|| UnknownCode(s.to_owned()))
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Compares with the code's string, so that `assert_eq!(err.code(), "metadata.expired")` reads as the wire.
impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Code> for str {
    fn eq(&self, other: &Code) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.as_str()
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An error that carries one of the stable codes of [`CODES`]: implemented by every coded error type of the
/// project, so that code can be read from an error without knowing which crate raised it.
pub trait Coded {
    /// The stable machine code of this failure.
    fn code(&self) -> Code;
}

/// Looks up the table entry of a code given as a string (as read from the wire or a test); `None` if it is not
/// in the table. Typed code has [`Code::info`].
pub fn info(code: &str) -> Option<&'static CodeInfo> {
    Code::parse(code).map(Code::info)
}

/// The CLI exit status for a code given as a string (1 for an unknown code).
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
            c.code.as_str(),
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
        for (row, c) in CODES.iter().enumerate() {
            assert!(seen.insert(c.code.as_str()), "duplicate code {}", c.code);
            assert_eq!(c.code.info(), c, "{} is not row {row}", c.code);
            assert_eq!(Code::parse(c.code.as_str()), Some(c.code));
            assert!(
                c.code
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "bad code {}",
                c.code
            );
            assert!(c.exit != 0, "{} has exit status 0", c.code);
            assert!(c.http >= 400, "{} has a non-error HTTP status", c.code);
        }
        assert_eq!(exit_status("metadata.expired"), 3);
        assert_eq!(Code::MetadataExpired.exit(), 3);
        assert_eq!(Code::MetadataRollback.http(), 409);
        assert_eq!(exit_status("no.such_code"), 1);
        assert!("no.such_code".parse::<Code>().is_err());
    }

    #[test]
    fn a_code_is_written_and_read_as_its_string() {
        let c = Code::TargetNotFound;
        assert_eq!(c.to_string(), "target.not_found");
        assert_eq!(c, "target.not_found");
        assert_eq!(serde_json::to_string(&c).unwrap(), r#""target.not_found""#);
        assert_eq!(
            serde_json::from_str::<Code>(r#""target.not_found""#).unwrap(),
            c
        );
        assert!(serde_json::from_str::<Code>(r#""target.nope""#).is_err());
    }
}
