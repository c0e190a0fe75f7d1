//! Transport settings: timeouts, retries, backoff, extra CA certificates.

use std::path::PathBuf;
use std::time::Duration;

use x0x_dist_manifests::retry;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// TCP+TLS connect timeout.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response.
    pub read_timeout: Duration,
    /// Retries after the first attempt (transient failures only).
    pub retries: u32,
    /// First backoff; doubles per retry, capped at [`retry::MAX_DELAY`], with jitter ([`retry::delay`]).
    pub backoff: Duration,
    /// PEM files whose certificates are trusted in addition to the built-in roots.
    pub extra_ca_certs: Vec<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            retries: retry::RETRIES,
            backoff: retry::FIRST_DELAY,
            extra_ca_certs: Vec::new(),
        }
    }
}

impl FetchOptions {
    /// Defaults plus extra CA files from `X0X_DIST_CA_CERTS` and `NODE_EXTRA_CA_CERTS`.
    pub fn from_env() -> Self {
        let mut o = Self::default();
        for var in [crate::env::CA_CERTS, crate::env::NODE_EXTRA_CA_CERTS] {
            if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                o.extra_ca_certs.push(PathBuf::from(v));
            }
        }
        o
    }
}
