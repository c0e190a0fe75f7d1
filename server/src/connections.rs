//! Connection hygiene: what keeps idle or slow clients from holding the server's file descriptors.
//!
//! Invariants (issue 25, finding 2):
//! - **A cap on open connections** ([`ConnLimit`], `[limits] max_connections`, `--max-connections`). Its default
//!   is derived from the soft `RLIMIT_NOFILE`: half of what is left after [`RESERVED_FDS`] descriptors, because
//!   a connection may hold a file open while it streams a response. A connection over the cap is answered at
//!   once with `503` and `{"code": "server.overloaded", ...}` and closed ([`ConnLimit::reject`]), so the process
//!   does not run out of descriptors and `/healthz` keeps answering.
//! - **A deadline for the first request** on every connection, HTTP/1 and h2c alike ([`ConnWatch`]): a
//!   connection that sends nothing, only part of a request head, or only the HTTP/2 preface, is closed
//!   `[limits] header_read_timeout_secs` after it was accepted. hyper's own HTTP/1 header timeout (which starts
//!   at the first byte of a head) still bounds later heads on a keep-alive connection.
//! - **An idle deadline**: a connection with no request in flight (an idle keep-alive connection, an h2c
//!   connection with no open stream) is closed `[limits] idle_timeout_secs` after its last response finished.
//!   A request is in flight from the moment hyper hands it to the router until its response body is sent or
//!   dropped, so a slow publish or a long download is never cut by this deadline.
//! - **The accept loop never spins** ([`AcceptBackoff`]): when `accept` fails for lack of descriptors or
//!   memory it sleeps (10 ms doubling to 1 s) and logs at most once per 10 s with the number of failures since.
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::Instant as TokioInstant;

use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Descriptors set aside for everything that is not a connection (the listener, the runtime, logs, the store,
/// the connections being turned away) before the default cap is computed.
pub const RESERVED_FDS: u64 = 64;

/// Connections being answered `503` at the same time (each holds a descriptor for up to [`REJECT_LINGER`]); more
/// are closed without an answer.
const MAX_REJECTING: usize = 32;
/// How long a turned-away connection is kept to read what the client sent, so that closing it does not reset
/// the connection before the client has read the `503`.
const REJECT_LINGER: Duration = Duration::from_millis(250);

/// The default connection cap for a soft descriptor limit: `(limit - RESERVED_FDS) / 2`, between 16 and 2^20;
/// 65 536 when the limit is unknown or unlimited.
pub fn default_max_connections(nofile_soft: Option<u64>) -> usize {
    let n = nofile_soft.map_or(1 << 16, |l| l.saturating_sub(RESERVED_FDS) / 2);
    usize::try_from(n.clamp(16, 1 << 20)).unwrap_or(1 << 20)
}

/// The soft `RLIMIT_NOFILE` of this process (`None`: unlimited or unknown).
pub fn nofile_soft_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap: one permit per open connection.
#[derive(Debug, Clone)]
pub struct ConnLimit {
    permits: Arc<Semaphore>,
    max: usize,
    rejecting: Arc<Semaphore>,
}

impl ConnLimit {
    /// A cap of `max` connections.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
            rejecting: Arc::new(Semaphore::new(MAX_REJECTING)),
        }
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A permit for one more connection, or `None` at the cap.
    pub fn try_admit(&self) -> Option<OwnedSemaphorePermit> {
        self.permits.clone().try_acquire_owned().ok()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.max - self.permits.available_permits()
    }

    /// Waits until every connection is closed (all permits returned).
    pub async fn all_closed(&self) {
        let n = u32::try_from(self.max).unwrap_or(u32::MAX);
        if let Ok(p) = self.permits.acquire_many(n).await {
            drop(p);
        }
    }

    /// Answers a connection over the cap with `503 server.overloaded` and closes it: the answer is written at
    /// once (a fresh socket's send buffer takes it) and what the client already sent is read, so closing does
    /// not reset the connection before the client read the answer; while fewer than [`MAX_REJECTING`] are being
    /// turned away, the connection is also kept up to [`REJECT_LINGER`] for a request still on its way.
    pub fn reject(&self, stream: TcpStream) {
        let _ = stream.try_write(&overloaded_response(self.max));
        drain_ready(&stream);
        let Ok(slot) = self.rejecting.clone().try_acquire_owned() else {
            return;
        };
        tokio::spawn(async move {
            linger(stream).await;
            drop(slot);
        });
    }
}

/// Reads (and discards) what is already in the socket's receive queue, up to 64 KiB, without waiting.
fn drain_ready(stream: &TcpStream) {
    let mut buf = [0u8; 4096];
    for _ in 0..16 {
        match stream.try_read(&mut buf) {
            Ok(1..) => {}
            _ => break,
        }
    }
}

/// The raw HTTP/1.1 `503` sent to a connection over the cap (written before anything is read).
pub fn overloaded_response(max: usize) -> Vec<u8> {
    let body = serde_json::to_vec(&crate::wire::ErrorBody {
        code: x0x_dist_manifests::codes::Code::ServerOverloaded.as_str().to_owned(),
        detail: format!(
            "the server has its maximum of {max} connections open ([limits] max_connections); retry shortly"
        ),
    })
    .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Stops sending and reads what the client sends for at most [`REJECT_LINGER`] or until it closes.
async fn linger(stream: TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = stream;
    let _ = stream.shutdown().await;
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while let Ok(n @ 1..) = stream.read(&mut buf).await {
            total += n;
            if total > 64 * 1024 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(REJECT_LINGER, drain).await;
}

/// Backs off the accept loop when `accept` fails for lack of resources, and rate-limits its log lines.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    delay: Option<Duration>,
    failures_since_log: u64,
    last_log: Option<Instant>,
}

/// At most one `accept failed` log line per this period.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

impl AcceptBackoff {
    /// A successful accept: back to no delay.
    pub fn succeeded(&mut self) {
        self.delay = None;
    }

    /// A failed accept: logs (rate-limited) and returns how long to sleep before the next one.
    pub fn failed(&mut self, e: &std::io::Error) -> Duration {
        let exhausted = is_resource_exhaustion(e);
        self.failures_since_log += 1;
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|t| now.duration_since(t) >= ACCEPT_LOG_EVERY)
        {
            if exhausted {
                tracing::error!(error = %e, failures = self.failures_since_log,
                    "accept failed: out of descriptors or memory; backing off (raise LimitNOFILE or lower [limits] max_connections, see docs/server.md)");
            } else {
                tracing::warn!(error = %e, failures = self.failures_since_log, "accept failed");
            }
            self.failures_since_log = 0;
            self.last_log = Some(now);
        }
        if exhausted {
            let d = self.delay.map_or(Duration::from_millis(10), |d| {
                (d * 2).min(Duration::from_secs(1))
            });
            self.delay = Some(d);
            d
        } else {
            // A connection the peer aborted before it was accepted: nothing to wait for.
            Duration::from_millis(1)
        }
    }
}

/// `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`: accepting again at once would fail the same way.
fn is_resource_exhaustion(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        Errno::from_io_error(e)
            .is_some_and(|n| [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM].contains(&n))
    }
    #[cfg(not(unix))]
    {
        e.kind() == std::io::ErrorKind::OutOfMemory
    }
}

/// One connection's requests in flight and idle deadline.
#[derive(Debug)]
pub struct ConnWatch {
    start: TokioInstant,
    in_flight: AtomicUsize,
    served: AtomicBool,
    /// Milliseconds after `start` when the connection last became idle.
    idle_since_ms: AtomicU64,
    changed: Notify,
    first_request: Duration,
    idle: Duration,
}

/// Marks one request in flight on a [`ConnWatch`] until dropped (with the response body).
#[derive(Debug)]
pub struct InFlight(Arc<ConnWatch>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let w = &self.0;
        if w.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            w.idle_since_ms.store(w.elapsed_ms(), Ordering::Release);
            w.changed.notify_one();
        }
    }
}

impl ConnWatch {
    /// A watch for a connection accepted now: its first request must start within `first_request`, and it may
    /// then stay idle for `idle` between requests.
    pub fn new(first_request: Duration, idle: Duration) -> Arc<Self> {
        Arc::new(Self {
            start: TokioInstant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(0),
            changed: Notify::new(),
            first_request,
            idle,
        })
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A request starts; it is in flight until the returned guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.served.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
        InFlight(self.clone())
    }

    /// Resolves when the connection has had no request in flight for its deadline (the first-request deadline
    /// until a request started, the idle deadline after).
    pub async fn expired(&self) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                notified.await;
                continue;
            }
            let limit = if self.served.load(Ordering::Acquire) {
                self.idle
            } else {
                self.first_request
            };
            let idle_since = Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire));
            let deadline = self.start + idle_since + limit;
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    if self.in_flight.load(Ordering::Acquire) == 0
                        && Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire)) == idle_since
                    {
                        return;
                    }
                }
                () = &mut notified => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cap_leaves_room_for_files() {
        assert_eq!(default_max_connections(Some(300)), 118);
        assert_eq!(default_max_connections(Some(1024)), 480);
        assert_eq!(default_max_connections(Some(10)), 16);
        assert_eq!(default_max_connections(None), 1 << 16);
    }

    #[test]
    fn overloaded_answer_is_a_coded_json_503() {
        let r = String::from_utf8(overloaded_response(7)).unwrap();
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let b: crate::wire::ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(b.code, "server.overloaded");
        assert!(b.detail.contains("max_connections"), "{}", b.detail);
        let info = x0x_dist_manifests::codes::info(&b.code).unwrap();
        assert_eq!(info.http, 503);
    }

    #[test]
    fn accept_backoff_grows_and_resets() {
        let mut b = AcceptBackoff::default();
        let emfile = std::io::Error::from_raw_os_error(rustix::io::Errno::MFILE.raw_os_error());
        let d1 = b.failed(&emfile);
        let d2 = b.failed(&emfile);
        assert!(d2 > d1, "{d1:?} {d2:?}");
        for _ in 0..20 {
            b.failed(&emfile);
        }
        assert_eq!(b.failed(&emfile), Duration::from_secs(1));
        b.succeeded();
        assert_eq!(b.failed(&emfile), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn idle_deadline_waits_for_requests_in_flight() {
        let ms = Duration::from_millis;
        // No request: expires after the first-request deadline.
        let w = ConnWatch::new(ms(200), ms(300));
        let t = Instant::now();
        w.expired().await;
        assert!(
            t.elapsed() >= ms(200) && t.elapsed() < ms(1000),
            "{:?}",
            t.elapsed()
        );
        // A request in flight: never expires; once it ends, the idle deadline runs from then.
        let w = ConnWatch::new(ms(200), ms(300));
        let g = w.begin();
        let w2 = w.clone();
        let h = tokio::spawn(async move { w2.expired().await });
        tokio::time::sleep(ms(800)).await;
        assert!(!h.is_finished(), "expired with a request in flight");
        let t = Instant::now();
        drop(g);
        h.await.unwrap();
        assert!(
            t.elapsed() >= ms(300) && t.elapsed() < ms(1100),
            "{:?}",
            t.elapsed()
        );
    }
}
