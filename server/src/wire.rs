//! The JSON (and the headers) the server and its clients exchange, in one place: the server renders it, `client` (the
//! `x0x-dist publish` side) and the mirror read it. Both sides import it from here, not from each other.

/// Header carrying the request id (set if the client did not send one, echoed in the response, passed on by a
/// follower replica to its publish leader).
pub const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// The JSON body of every error response.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: String,
    /// Human-readable detail.
    pub detail: String,
}

impl ErrorBody {
    /// The body of an error with code `code`. (`code` stays a string when read: a newer server may answer a
    /// code this client does not know.)
    pub fn new(code: x0x_dist_manifests::codes::Code, detail: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            detail: detail.into(),
        }
    }
}

/// What a successful publish did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PublishReport {
    /// The package.
    pub package: String,
    /// The new role version.
    pub version: u64,
    /// The new snapshot version.
    pub snapshot_version: u64,
    /// The new timestamp version.
    pub timestamp_version: u64,
    /// Target paths added by this publish.
    pub added: Vec<String>,
}

/// How many characters of untrusted input an error detail quotes ([`quote`]).
pub const QUOTE_CHARS: usize = 200;

/// Untrusted input (a request path, a file name) as an error detail quotes it: the first [`QUOTE_CHARS`]
/// characters, in double quotes with control characters and quotes escaped (Rust's `{:?}`), then `…` and the
/// full length when it was cut.
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &s[..cut], s.len()),
    }
}
