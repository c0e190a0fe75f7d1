//! Prometheus metrics (text exposition format 0.0.4), kept in atomics on the request path.
//!
//! - `x0x_dist_http_requests_total{route,status}`: requests by route group and status class;
//! - `x0x_dist_http_response_bytes_total{route}`: response body bytes (from `Content-Length`);
//! - `x0x_dist_http_request_duration_seconds{route}`: latency histogram;
//! - `x0x_dist_upload_bytes_total`: blob bytes accepted;
//! - `x0x_dist_publishes_total{result}`: role submissions by outcome (`ok` / `rejected`);
//! - `x0x_dist_verification_failures_total{code}`: rejected submissions by stable code;
//! - `x0x_dist_timestamp_expires_seconds`: Unix time at which the served timestamp expires;
//! - `x0x_dist_timestamp_age_seconds`: seconds since this replica last saw a new timestamp (a commit or a
//!   re-sign by any replica); `x0x_dist_timestamp_expiring`: 1 when less than half the re-sign margin is left
//!   (an alarm: every replica keeps serving and any replica re-signs it);
//! - `x0x_dist_commit_conflicts_total`, `x0x_dist_commit_retries_total`: commits that lost the
//!   compare-and-swap, and the rebuilds on the winner's state that followed;
//! - `x0x_dist_notify_total`, `x0x_dist_notify_lag_seconds`: commit notices received (`LISTEN`) and the delay of
//!   the last one from its commit to here;
//! - `x0x_dist_db_calls_total`, `x0x_dist_db_errors_total`, `x0x_dist_db_seconds_total`: coordinator database
//!   calls, failures and time;
//! - `x0x_dist_store_probe_seconds`, `x0x_dist_store_errors_total`: latency of the last store probe
//!   (`/readyz`, the poller) and probes that failed.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// The group a route belongs to: the `route` label of the HTTP metrics. Each route of
/// [`crate::router::ROUTES`] names its group; a request no route matched counts as [`Group::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `/tuf/metadata/...`
    Metadata,
    /// `/tuf/targets/...`
    Targets,
    /// Blob uploads.
    Blobs,
    /// Role submissions.
    Publish,
    /// The rest of `/api/v1`.
    Api,
    /// Health, readiness, metrics, the OpenAPI document.
    Ops,
    /// The npm registry view (`/npm/...`).
    Npm,
    /// The web UI and unrouted requests.
    Other,
}

impl Group {
    /// Every group, in label order.
    pub const ALL: [Self; 8] = [
        Self::Metadata,
        Self::Targets,
        Self::Blobs,
        Self::Publish,
        Self::Api,
        Self::Ops,
        Self::Npm,
        Self::Other,
    ];

    /// The `route` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Metadata => "metadata",
            Self::Targets => "targets",
            Self::Blobs => "blobs",
            Self::Publish => "publish",
            Self::Api => "api",
            Self::Ops => "ops",
            Self::Npm => "npm",
            Self::Other => "other",
        }
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Histogram bucket upper bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

#[derive(Debug, Default)]
struct Hist {
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// All metrics of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; Group::ALL.len()],
    bytes: [AtomicU64; Group::ALL.len()],
    latency: [Hist; Group::ALL.len()],
    upload_bytes: AtomicU64,
    publishes_ok: AtomicU64,
    publishes_rejected: AtomicU64,
    failures: Mutex<BTreeMap<String, u64>>,
    /// Targets whose bytes failed verification (a pull-through mirror refusing tampered upstream bytes),
    /// by (target path, code).
    target_failures: Mutex<BTreeMap<(String, String), u64>>,
    timestamp_expires: AtomicU64,
    /// Unix seconds when this replica last saw a new timestamp.
    timestamp_seen: AtomicU64,
    timestamp_expiring: AtomicU64,
    commit_conflicts: AtomicU64,
    commit_retries: AtomicU64,
    notify_total: AtomicU64,
    notify_lag_micros: AtomicU64,
    store_probe_micros: AtomicU64,
    store_errors: AtomicU64,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, group: Group, status: u16, bytes: u64, elapsed: Duration) {
        let group = group as usize;
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        self.requests[group][class].fetch_add(1, Relaxed);
        self.bytes[group].fetch_add(bytes, Relaxed);
        let h = &self.latency[group];
        let secs = elapsed.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.buckets[i].fetch_add(1, Relaxed);
        }
        h.count.fetch_add(1, Relaxed);
        h.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Relaxed,
        );
    }

    /// Records accepted upload bytes.
    pub fn uploaded(&self, n: u64) {
        self.upload_bytes.fetch_add(n, Relaxed);
    }

    /// Records a role submission outcome (`Err(code)` for a rejection).
    pub fn publish(&self, outcome: Result<(), x0x_dist_manifests::codes::Code>) {
        match outcome {
            Ok(()) => {
                self.publishes_ok.fetch_add(1, Relaxed);
            }
            Err(code) => {
                self.publishes_rejected.fetch_add(1, Relaxed);
                if let Ok(mut m) = self.failures.lock() {
                    *m.entry(code.as_str().to_owned()).or_default() += 1;
                }
            }
        }
    }

    /// Records a target whose bytes failed verification (`target.digest_mismatch`, `target.length_mismatch`).
    pub fn target_verify_failed(&self, target: &str, code: &str) {
        if let Ok(mut m) = self.target_failures.lock() {
            *m.entry((target.to_owned(), code.to_owned())).or_default() += 1;
        }
    }

    /// Sets the expiry (Unix seconds) of the served timestamp.
    pub fn set_timestamp_expires(&self, unix: u64) {
        self.timestamp_expires.store(unix, Relaxed);
    }

    /// A commit lost the compare-and-swap.
    pub fn commit_conflict(&self) {
        self.commit_conflicts.fetch_add(1, Relaxed);
    }

    /// A commit was rebuilt on the winner's state and retried.
    pub fn commit_retry(&self) {
        self.commit_retries.fetch_add(1, Relaxed);
    }

    /// A commit notice arrived `lag` after its commit.
    pub fn notified(&self, lag: Duration) {
        self.notify_total.fetch_add(1, Relaxed);
        self.notify_lag_micros
            .store(u64::try_from(lag.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// This replica saw a new timestamp now.
    pub fn timestamp_seen(&self) {
        self.timestamp_seen.store(unix_now(), Relaxed);
    }

    /// Sets the expiring-timestamp alarm.
    pub fn set_timestamp_expiring(&self, on: bool) {
        self.timestamp_expiring.store(u64::from(on), Relaxed);
    }

    /// A store probe took `took` (`ok`: it answered).
    pub fn store_probe(&self, took: Duration, ok: bool) {
        self.store_probe_micros
            .store(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
        if !ok {
            self.store_errors.fetch_add(1, Relaxed);
        }
    }

    /// Renders the text exposition, with the coordinator database's counters when there is one.
    pub fn render_with(&self, db: Option<&crate::coordinator::postgres::DbStats>) -> String {
        let mut o = self.render();
        let seen = self.timestamp_seen.load(Relaxed);
        let age = if seen == 0 {
            0
        } else {
            unix_now().saturating_sub(seen)
        };
        let counters = [
            (
                "timestamp_age_seconds",
                "gauge",
                "Seconds since this replica last saw a new timestamp.",
                age as f64,
            ),
            (
                "timestamp_expiring",
                "gauge",
                "1 when the served timestamp is close to expiry (alarm; any replica re-signs it).",
                self.timestamp_expiring.load(Relaxed) as f64,
            ),
            (
                "commit_conflicts_total",
                "counter",
                "Commits that lost the compare-and-swap of the timestamp.",
                self.commit_conflicts.load(Relaxed) as f64,
            ),
            (
                "commit_retries_total",
                "counter",
                "Commits rebuilt on the winner's state and retried.",
                self.commit_retries.load(Relaxed) as f64,
            ),
            (
                "notify_total",
                "counter",
                "Commit notices received from the database (LISTEN).",
                self.notify_total.load(Relaxed) as f64,
            ),
            (
                "notify_lag_seconds",
                "gauge",
                "Delay of the last commit notice, from its commit to this replica.",
                self.notify_lag_micros.load(Relaxed) as f64 / 1e6,
            ),
            (
                "store_probe_seconds",
                "gauge",
                "Latency of the last store probe (readyz, poller).",
                self.store_probe_micros.load(Relaxed) as f64 / 1e6,
            ),
            (
                "store_errors_total",
                "counter",
                "Store probes that failed.",
                self.store_errors.load(Relaxed) as f64,
            ),
        ];
        for (name, kind, help, v) in counters {
            let _ = write!(o, "# HELP x0x_dist_{name} {help}\n# TYPE x0x_dist_{name} {kind}\nx0x_dist_{name} {v}\n");
        }
        if let Some(db) = db {
            let rows = [
                (
                    "db_calls_total",
                    "Coordinator database calls.",
                    db.calls.load(Relaxed) as f64,
                ),
                (
                    "db_errors_total",
                    "Coordinator database calls that failed.",
                    db.errors.load(Relaxed) as f64,
                ),
                (
                    "db_seconds_total",
                    "Time spent in coordinator database calls.",
                    db.micros.load(Relaxed) as f64 / 1e6,
                ),
            ];
            for (name, help, v) in rows {
                let _ = write!(o, "# HELP x0x_dist_{name} {help}\n# TYPE x0x_dist_{name} counter\nx0x_dist_{name} {v}\n");
            }
        }
        o
    }

    /// Renders the text exposition.
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(8192);
        o.push_str("# HELP x0x_dist_http_requests_total HTTP requests by route group and status class.\n# TYPE x0x_dist_http_requests_total counter\n");
        for (g, route) in Group::ALL.iter().map(|g| g.label()).enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let v = self.requests[g][c].load(Relaxed);
                if v > 0 {
                    let _ = writeln!(
                        o,
                        "x0x_dist_http_requests_total{{route=\"{route}\",status=\"{class}\"}} {v}"
                    );
                }
            }
        }
        o.push_str("# HELP x0x_dist_http_response_bytes_total Response body bytes by route group.\n# TYPE x0x_dist_http_response_bytes_total counter\n");
        for (g, route) in Group::ALL.iter().map(|g| g.label()).enumerate() {
            let _ = writeln!(
                o,
                "x0x_dist_http_response_bytes_total{{route=\"{route}\"}} {}",
                self.bytes[g].load(Relaxed)
            );
        }
        o.push_str("# HELP x0x_dist_http_request_duration_seconds Request latency by route group.\n# TYPE x0x_dist_http_request_duration_seconds histogram\n");
        for (g, route) in Group::ALL.iter().map(|g| g.label()).enumerate() {
            let h = &self.latency[g];
            let mut cum = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cum += h.buckets[i].load(Relaxed);
                let _ = writeln!(o, "x0x_dist_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {cum}");
            }
            let count = h.count.load(Relaxed);
            let _ = writeln!(o, "x0x_dist_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                o,
                "x0x_dist_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum_micros.load(Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                o,
                "x0x_dist_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        let _ = write!(
            o,
            "# HELP x0x_dist_upload_bytes_total Blob bytes accepted.\n# TYPE x0x_dist_upload_bytes_total counter\nx0x_dist_upload_bytes_total {}\n",
            self.upload_bytes.load(Relaxed)
        );
        let _ = write!(
            o,
            "# HELP x0x_dist_publishes_total Role submissions by outcome.\n# TYPE x0x_dist_publishes_total counter\nx0x_dist_publishes_total{{result=\"ok\"}} {}\nx0x_dist_publishes_total{{result=\"rejected\"}} {}\n",
            self.publishes_ok.load(Relaxed),
            self.publishes_rejected.load(Relaxed)
        );
        o.push_str("# HELP x0x_dist_verification_failures_total Rejected submissions by stable code.\n# TYPE x0x_dist_verification_failures_total counter\n");
        if let Ok(m) = self.failures.lock() {
            for (code, v) in m.iter() {
                let _ = writeln!(
                    o,
                    "x0x_dist_verification_failures_total{{code=\"{code}\"}} {v}"
                );
            }
        }
        o.push_str("# HELP x0x_dist_target_verify_failures_total Targets whose bytes did not match verified metadata (e.g. tampered upstream bytes a mirror refused), by target and code.\n# TYPE x0x_dist_target_verify_failures_total counter\n");
        if let Ok(m) = self.target_failures.lock() {
            for ((target, code), v) in m.iter() {
                let target = target.replace('\\', "\\\\").replace('"', "\\\"");
                let _ = writeln!(
                    o,
                    "x0x_dist_target_verify_failures_total{{target=\"{target}\",code=\"{code}\"}} {v}"
                );
            }
        }
        let _ = write!(
            o,
            "# HELP x0x_dist_timestamp_expires_seconds Unix time at which the served timestamp expires.\n# TYPE x0x_dist_timestamp_expires_seconds gauge\nx0x_dist_timestamp_expires_seconds {}\n",
            self.timestamp_expires.load(Relaxed)
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_listed_in_index_order() {
        // render() labels row i with Group::ALL[i]; record() writes row `group as usize`.
        for (i, g) in Group::ALL.iter().enumerate() {
            assert_eq!(*g as usize, i, "{}", g.label());
        }
    }

    #[test]
    fn renders_counts_and_histograms() {
        let m = Metrics::default();
        m.record(Group::Targets, 200, 1000, Duration::from_millis(2));
        m.record(Group::Targets, 404, 10, Duration::from_secs(100));
        m.publish(Err(x0x_dist_manifests::codes::Code::MetadataExpired));
        let t = m.render();
        assert!(
            t.contains("x0x_dist_http_requests_total{route=\"targets\",status=\"2xx\"} 1"),
            "{t}"
        );
        assert!(t.contains("x0x_dist_http_response_bytes_total{route=\"targets\"} 1010"));
        assert!(t.contains(
            "x0x_dist_http_request_duration_seconds_bucket{route=\"targets\",le=\"0.0025\"} 1"
        ));
        assert!(t.contains(
            "x0x_dist_http_request_duration_seconds_bucket{route=\"targets\",le=\"30\"} 1"
        ));
        assert!(t.contains("x0x_dist_http_request_duration_seconds_count{route=\"targets\"} 2"));
        assert!(t.contains("x0x_dist_verification_failures_total{code=\"metadata.expired\"} 1"));
    }
}
