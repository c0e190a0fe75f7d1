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
    /// Runs `once` until it is done or fails for good, retrying (after the shared policy's delay from
    /// [`FetchOptions::backoff`](super::FetchOptions)) at most `options.retries` times: the shared loop,
    /// [`retry::run`]. A retried target download resumes from what the failed attempt kept.
    pub(super) async fn with_retries<T, F, Fut>(&self, url: &Url, mut once: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Attempt<T>, Error>>,
    {
        retry::run(
            self.options.retries,
            self.options.backoff,
            |attempt| {
                let fut = once();
                async move {
                    match fut.await {
                        Ok(Attempt::Done(v)) => Ok(v),
                        Ok(Attempt::Retry(e, after)) => Err((e, Some(after), attempt)),
                        Err(e) => Err((e, None, attempt)),
                    }
                }
            },
            |(e, after, attempt)| {
                if after.is_some() {
                    tracing::debug!(url = %redact(url.as_str()), error = %e, attempt, "retrying");
                }
                *after
            },
            tokio::time::sleep,
        )
        .await
        .map_err(|(e, ..)| e)
    }
}
