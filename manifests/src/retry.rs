//! The one retry policy of every x0x-dist client: the `x0x-dist` CLI (publish, fetch), the Rust loader, the
//! mirror (which fetches through the loader) and, mirrored line for line, the JS loader
//! (`loader/js/lib/retry.js`). Both are checked against `manifests/vectors/retry.json`, which
//! `gen-vectors` writes from this module.
//!
//! - **What is retried:** a failure to connect or a broken transfer, and the HTTP statuses of
//!   [`retryable_status`]: 408, 425 and 429, and every 5xx except those that state a condition the next
//!   attempt will find unchanged (501 Not Implemented, 505 HTTP Version Not Supported, 506 Variant Also
//!   Negotiates, 507 Insufficient Storage, 508 Loop Detected, 510 Not Extended, 511 Network Authentication
//!   Required). A full disk on the server is an operator's problem: retrying a 32 MiB upload into it only
//!   wastes time. Every other 4xx is the request's fault and is never retried.
//! - **How often:** [`RETRIES`] retries after the first attempt.
//! - **How long between:** [`FIRST_DELAY`] doubling per retry, capped at [`MAX_DELAY`], each scaled by a
//!   jitter factor in [0.5, 1.5) so that clients that failed together do not come back together. A
//!   `Retry-After` in seconds raises the delay (never above [`MAX_DELAY`]).
use std::time::Duration;

/// Retries after the first attempt.
pub const RETRIES: u32 = 3;

/// The delay before the first retry (before jitter).
pub const FIRST_DELAY: Duration = Duration::from_millis(250);

/// No delay is longer than this, `Retry-After` included.
pub const MAX_DELAY: Duration = Duration::from_secs(8);

/// Whether a failed response with this HTTP status is worth another attempt.
#[must_use]
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429)
        || ((500..=599).contains(&status)
            && !matches!(status, 501 | 505 | 506 | 507 | 508 | 510 | 511))
}

/// The delay before retry number `retry` (0 for the first retry) starting from `first`, doubled per retry,
/// capped at [`MAX_DELAY`], scaled by `jitter` (clamped to [0.5, 1.5]) and raised to `retry_after` if the
/// server asked for more (still capped).
#[must_use]
pub fn delay(first: Duration, retry: u32, jitter: f64, retry_after: Option<Duration>) -> Duration {
    let base = first.saturating_mul(1 << retry.min(16)).min(MAX_DELAY);
    let d = base.mul_f64(jitter.clamp(0.5, 1.5)).min(MAX_DELAY);
    match retry_after {
        Some(ra) => d.max(ra.min(MAX_DELAY)),
        None => d,
    }
}

/// A jitter factor in [0.5, 1.5): from the clock's nanoseconds and a per-process counter. Spreads retries;
/// not for anything secret.
#[must_use]
pub fn jitter() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    // splitmix64 of (time ^ counter).
    let mut z = (t ^ N.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    #[allow(clippy::cast_precision_loss)]
    let unit = (z >> 11) as f64 / (1u64 << 53) as f64;
    0.5 + unit
}

/// A `Retry-After` header value in delta-seconds (`"3"`); an HTTP date or anything else is ignored.
#[must_use]
pub fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Runs `attempt` (given the number of the attempt, 0 for the first) until it succeeds, fails with an error
/// that `transient` does not call worth another attempt, or `retries` retries are used up. `transient`
/// answers `Some(retry_after)` for a retryable failure (`retry_after`: what the server asked for, if
/// anything). Before retry `n` (1 for the first) it awaits `sleep(delay(first, n - 1, jitter(), retry_after))`:
/// the caller passes its runtime's sleep, so this crate stays free of one. The one retry loop of the Rust
/// clients: the loader's fetcher (every metadata and target read) and the publishing client's uploads and
/// submissions go through it.
pub async fn run<T, E, A, AF, S, SF>(
    retries: u32,
    first: Duration,
    mut attempt: A,
    transient: impl Fn(&E) -> Option<Option<Duration>>,
    mut sleep: S,
) -> Result<T, E>
where
    A: FnMut(u32) -> AF,
    AF: std::future::Future<Output = Result<T, E>>,
    S: FnMut(Duration) -> SF,
    SF: std::future::Future<Output = ()>,
{
    let mut n = 0;
    loop {
        let e = match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let Some(retry_after) = transient(&e) else {
            return Err(e);
        };
        if n >= retries {
            return Err(e);
        }
        n += 1;
        sleep(delay(first, n - 1, jitter(), retry_after)).await;
    }
}

/// The policy as JSON (`manifests/vectors/retry.json`): every status from 100 to 599 that is retried, and
/// the delays without jitter, for the JS loader's test.
#[must_use]
pub fn vector_json() -> String {
    let retryable: Vec<u16> = (100..=599).filter(|s| retryable_status(*s)).collect();
    let delays: Vec<u128> = (0..8)
        .map(|r| delay(FIRST_DELAY, r, 1.0, None).as_millis())
        .collect();
    let v = serde_json::json!({
        "retries": RETRIES,
        "first_delay_ms": FIRST_DELAY.as_millis(),
        "max_delay_ms": MAX_DELAY.as_millis(),
        "retryable": retryable,
        "delays_ms": delays,
        "delay_ms_with_retry_after_60": delay(FIRST_DELAY, 0, 1.0, Some(Duration::from_secs(60))).as_millis(),
    });
    let mut s = serde_json::to_string_pretty(&v).expect("plain JSON");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    /// Polls a future that never waits (its sleeps are recorded, not slept).
    fn ready<F: std::future::Future>(f: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match std::pin::pin!(f).poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn run_retries_transient_failures_only_and_at_most_retries_times() {
        use std::cell::RefCell;
        let slept = RefCell::new(Vec::new());
        let sleep = |d| {
            slept.borrow_mut().push(d);
            std::future::ready(())
        };
        // Always transient: 1 + RETRIES attempts, RETRIES sleeps, each at least half the policy's delay.
        let calls = RefCell::new(0);
        let r: Result<(), u16> = ready(run(
            RETRIES,
            FIRST_DELAY,
            |_| {
                *calls.borrow_mut() += 1;
                std::future::ready(Err(503))
            },
            |s| retryable_status(*s).then_some(None),
            sleep,
        ));
        assert_eq!(r, Err(503));
        assert_eq!(*calls.borrow(), RETRIES + 1);
        assert_eq!(slept.borrow().len(), RETRIES as usize);
        for (i, d) in slept.borrow().iter().enumerate() {
            assert!(*d >= delay(FIRST_DELAY, i as u32, 0.5, None), "{i}: {d:?}");
        }
        // A failure that is not transient ends at once; a success after a retry is returned; Retry-After
        // raises the delay.
        slept.borrow_mut().clear();
        let r: Result<u32, u16> = ready(run(
            RETRIES,
            FIRST_DELAY,
            |n| std::future::ready(if n == 0 { Err(429) } else { Ok(n) }),
            |s| retryable_status(*s).then_some(Some(Duration::from_secs(5))),
            sleep,
        ));
        assert_eq!(r, Ok(1));
        assert_eq!(*slept.borrow(), vec![Duration::from_secs(5)]);
        let r: Result<(), u16> = ready(run(
            RETRIES,
            FIRST_DELAY,
            |_| std::future::ready(Err(404)),
            |s| retryable_status(*s).then_some(None),
            sleep,
        ));
        assert_eq!(r, Err(404));
        assert_eq!(slept.borrow().len(), 1);
    }

    use super::*;

    #[test]
    fn every_status_from_100_to_599_is_classified() {
        // Written out, not derived from the function: the statuses a client retries.
        let mut expected: Vec<u16> = vec![408, 425, 429, 500, 502, 503, 504, 509];
        expected.extend(512..=599);
        for s in 100..=599u16 {
            assert_eq!(retryable_status(s), expected.contains(&s), "status {s}");
        }
        // Outside the HTTP range: nothing.
        for s in [0, 99, 600, 999, u16::MAX] {
            assert!(!retryable_status(s), "status {s}");
        }
    }

    #[test]
    fn delays_double_are_capped_and_jittered() {
        let ms = |r, j| delay(FIRST_DELAY, r, j, None).as_millis();
        assert_eq!(
            (0..7).map(|r| ms(r, 1.0)).collect::<Vec<_>>(),
            [250, 500, 1000, 2000, 4000, 8000, 8000]
        );
        assert_eq!(ms(0, 0.5), 125);
        assert_eq!(ms(0, 0.0), 125, "jitter is clamped");
        assert_eq!(ms(1, 1.5), 750);
        assert_eq!(ms(40, 1.0), 8000, "no overflow");
        assert_eq!(ms(5, 1.5), 8000, "the cap holds after jitter");
        let ra = |s| delay(FIRST_DELAY, 0, 1.0, Some(Duration::from_secs(s))).as_millis();
        assert_eq!(ra(2), 2000);
        assert_eq!(ra(60), 8000);
        assert_eq!(
            delay(FIRST_DELAY, 2, 1.0, Some(Duration::ZERO)).as_millis(),
            1000
        );
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let js: Vec<f64> = (0..1000).map(|_| jitter()).collect();
        assert!(js.iter().all(|j| (0.5..1.5).contains(j)));
        let lo = js.iter().filter(|j| **j < 1.0).count();
        assert!((300..700).contains(&lo), "{lo} of 1000 below 1.0");
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after("-1"), None);
    }
}
