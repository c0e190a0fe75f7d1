//! The retry loop of every HTTP read, over the shared policy ([`x0x_dist_manifests::retry`]).

use std::time::Duration;

use reqwest::Url;
use x0x_dist_manifests::retry;

use super::{redact, Fetcher};
use crate::error::Error;

/// The outcome of one attempt.
pub(super) enum Attempt<T> {
    Done(T),
    /// Failed; worth another attempt, after at least this long if the server said so.
    Retry(Error, Option<Duration>),
}

impl Fetcher {
    /// Runs `once` until it is done or fails for good, retrying (after [`Self::backoff`]) at most
    /// `options.retries` times. A retried target download resumes from what the failed attempt kept.
    pub(super) async fn with_retries<T, F, Fut>(&self, url: &Url, mut once: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>, Error>>,
    {
        let mut attempt = 0;
        loop {
            match once().await? {
                Attempt::Done(v) => return Ok(v),
                Attempt::Retry(e, _) if attempt >= self.options.retries => return Err(e),
                Attempt::Retry(e, after) => {
                    tracing::debug!(url = %redact(url.as_str()), error = %e, attempt, "retrying");
                    self.backoff(attempt, after).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The shared policy's delay before retry `attempt` (0 for the first), from [`FetchOptions::backoff`].
    pub(super) async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        let d = retry::delay(self.options.backoff, attempt, retry::jitter(), retry_after);
        tokio::time::sleep(d).await;
    }
}
