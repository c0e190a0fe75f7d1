//! Every environment variable the Rust loader (and the `fetch`/`doctor` commands) reads, in one place. The
//! names match the JavaScript loader's (`loader/js`), so one configuration drives both.

/// Repository location: `http(s)://` base URL, `file://` directory or a plain directory path.
pub const URL: &str = "X0X_DIST_URL";
/// A trusted `root.json` (path) replacing the shipped one, for private repositories.
pub const ROOT: &str = "X0X_DIST_ROOT";
/// Cache directory (default: the per-user cache dir + `/x0x-dist`).
pub const CACHE: &str = "X0X_DIST_CACHE";
/// `1`: never use the network; only verified, persisted metadata and cached targets.
pub const OFFLINE: &str = "X0X_DIST_OFFLINE";
/// Operator policy for installs after the metadata expired (air-gapped networks): an RFC 3339 time; metadata
/// that was unexpired at that time is accepted (with a warning), anything that expired before it is not
/// (see [`crate::tuf::freshness_clock`]).
pub const ALLOW_EXPIRED_AFTER: &str = "X0X_DIST_ALLOW_EXPIRED_AFTER";
/// Extra PEM CA certificates (path) for HTTPS repositories.
pub const CA_CERTS: &str = "X0X_DIST_CA_CERTS";
/// Node's extra CA certificates variable (path), honoured too.
pub const NODE_EXTRA_CA_CERTS: &str = "NODE_EXTRA_CA_CERTS";
/// Proxies (read by the HTTP client itself): `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`.
pub const PROXIES: &[&str] = &["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"];

/// Whether `X0X_DIST_OFFLINE` is set to a true value (`1`, `true`, `yes`).
pub fn offline() -> bool {
    std::env::var(OFFLINE)
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}
