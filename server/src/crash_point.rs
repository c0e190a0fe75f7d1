//! Fault injection for the crash tests (`cli/tests/crash_commit_points.rs`): with `X0X_DIST_TEST_CRASH_AT=POINT`
//! the server kills itself with `SIGKILL` — a real `kill -9`: no destructor, no flush, no answer — the first time
//! a commit reaches POINT. Unset (production), each point costs one load of a cached `None`.
//!
//! Points, in the order a publish reaches them: `reserved` (the role's version is reserved), `role_written`
//! (`V.<package>.json` is in the store), `snapshot_written` (`S.snapshot.json` is in the store, the
//! compare-and-swap not started), `committed` (the compare-and-swap won; the publisher has no answer yet).
use std::sync::OnceLock;

/// The environment variable naming the point.
pub const ENV: &str = "X0X_DIST_TEST_CRASH_AT";

/// Every point, in commit order.
pub const POINTS: [&str; 4] = ["reserved", "role_written", "snapshot_written", "committed"];

/// Kills this process with `SIGKILL` if `X0X_DIST_TEST_CRASH_AT` names `point`.
pub fn here(point: &str) {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    if AT.get_or_init(|| std::env::var(ENV).ok()).as_deref() == Some(point) {
        tracing::warn!("{ENV}={point}: killing this process with SIGKILL");
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}
