//! HTTP(S) requests: the redirect policy, what a failed request or status means for a retry, and a metadata
//! read.

use reqwest::{StatusCode, Url};
use x0x_dist_manifests::retry;

use super::retry::Attempt;
use super::{redact, Fetcher};
use crate::error::Error;

/// At most this many redirects per request (a server offloading targets to a CDN needs one).
pub const MAX_REDIRECTS: usize = 5;

/// Redirects are followed up to [`MAX_REDIRECTS`] hops and never from https to http: the bytes are verified
/// against signed metadata either way, but a downgrade would expose what the client asks for. Same rule as
/// the JavaScript loader (`loader/js/lib/fetch.js`).
pub(super) fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let downgrade = attempt.url().scheme() == "http"
            && attempt.previous().iter().any(|u| u.scheme() == "https");
        if downgrade {
            let to = attempt.url().to_string();
            attempt.error(format!("redirect to {to} refused: https to http downgrade"))
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else {
            attempt.follow()
        }
    })
}

/// A request that got no response: retried, unless a redirect was refused (that answer will not change).
pub(super) fn send_failed<T>(url: String, source: reqwest::Error) -> Result<Attempt<T>, Error> {
    let e = Error::Network { url, source };
    match &e {
        Error::Network { source, .. } if source.is_redirect() => Err(e),
        _ => Ok(Attempt::Retry(e, None)),
    }
}

/// A response that is neither a success nor handled by the caller: retried if the shared policy
/// ([`retry::retryable_status`]) says so, after at least the server's `Retry-After`.
pub(super) fn status_failed<T>(url: String, resp: &reqwest::Response) -> Result<Attempt<T>, Error> {
    let status = resp.status().as_u16();
    let e = Error::HttpStatus { url, status };
    if retry::retryable_status(status) {
        let after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::retry_after);
        Ok(Attempt::Retry(e, after))
    } else {
        Err(e)
    }
}

impl Fetcher {
    pub(super) async fn metadata_once(
        &self,
        url: &Url,
        name: &str,
        limit: u64,
    ) -> Result<Attempt<Option<Vec<u8>>>, Error> {
        let shown = redact(url.as_str());
        let mut resp = match self.client.get(url.clone()).send().await {
            Ok(r) => r,
            Err(e) => return send_failed(shown, e),
        };
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(Attempt::Done(None));
        }
        if !status.is_success() {
            return status_failed(shown, &resp);
        }
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(Error::MetadataTooLarge {
                file: name.to_owned(),
                limit,
            });
        }
        let mut buf = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    buf.extend_from_slice(&chunk);
                    if buf.len() as u64 > limit {
                        return Err(Error::MetadataTooLarge {
                            file: name.to_owned(),
                            limit,
                        });
                    }
                }
                Ok(None) => return Ok(Attempt::Done(Some(buf))),
                Err(e) => {
                    return Ok(Attempt::Retry(
                        Error::Network {
                            url: shown,
                            source: e,
                        },
                        None,
                    ))
                }
            }
        }
    }
}
