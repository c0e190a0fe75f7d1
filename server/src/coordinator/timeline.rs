//! Which timestamp a replica with a database serves, without asking the database per request, such that a client
//! moving between replicas never sees `timestamp.json` go backwards (docs/coordinator.md, "Reads").
//!
//! A timestamp is *ripe* once [`RIPE`] has passed since it was committed (the database's clock: each commit
//! records `clock_timestamp()` as its last step, `x0x_dist_ts_history`). A replica serves only timestamps it is
//! **sure** are ripe, and serves every timestamp that **may** be ripe by the answer time, from a check of the
//! database that started at most [`FRESH`] before the request arrived:
//! - A served `v` at `t_s`, so `v` was committed by `t_s - RIPE + LAG` (`LAG`: from the recorded time to the
//!   commit being visible).
//! - B answers a request that arrived after `t_s` from a check that started after `t_s - FRESH`, i.e. after
//!   `v` became visible, since `RIPE >= FRESH + LAG`: the check saw `v` (or a newer ripe one).
//! - By B's answer `v` is ripe (it was at `t_s`), so B's upper bound of its age says it may be: B serves it,
//!   waiting first until it is sure (at most the check's own duration).
//!
//! Heads learnt without an age (this replica's own commit, a notice, a poll) become sure [`RIPE`] after they
//! were learnt (they were committed before). Bounds use the database's age at the query and this process's
//! monotonic clock: the check's start bounds the age from above, its end from below.
use std::time::{Duration, Instant};

use super::Head;

/// How fresh the check a request is answered from must be (started at most this long before the request).
pub const FRESH: Duration = Duration::from_millis(10);
/// Bound on the time from a commit's recorded time to the commit being visible to other sessions.
pub const LAG: Duration = Duration::from_millis(10);
/// How old a commit is before any replica serves it.
pub const RIPE: Duration = Duration::from_millis(20);
/// How often a replica that is being asked for `timestamp.json` checks the database in the background, so that
/// requests find a fresh check (requests arriving when none is fresh start one).
pub const POLL: Duration = Duration::from_millis(4);

const _: () = assert!(RIPE.as_millis() >= FRESH.as_millis() + LAG.as_millis());
const _: () = assert!(POLL.as_millis() < FRESH.as_millis());

/// A timestamp newer than the one served.
#[derive(Clone, Debug)]
struct Pending {
    head: Head,
    /// From then on it is surely ripe.
    sure: Instant,
    /// Before then it is surely not ripe (known from a check only).
    maybe: Option<Instant>,
}

/// What a request should do now.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve this (`None`: nothing known yet, and no check is needed: cannot happen after a first check).
    Serve(Head),
    /// A timestamp may be ripe but is not surely yet: wait until then, and decide again.
    Wait(Instant),
    /// No fresh check: check the database (one at a time), then decide again.
    Check,
}

/// The served timestamp and the newer ones known (see the module docs).
#[derive(Debug, Default)]
pub struct Timeline {
    served: Option<Head>,
    pending: Vec<Pending>,
    /// Start and end of the last check that answered.
    checked: Option<(Instant, Instant)>,
}

impl Timeline {
    /// The timestamp served now (surely ripe), after promoting what became ripe by `now`.
    pub fn served(&mut self, now: Instant) -> Option<&Head> {
        self.promote(now);
        self.served.as_ref()
    }

    /// The newest head known, served or not.
    pub fn newest(&self) -> Option<&Head> {
        self.pending
            .iter()
            .map(|p| &p.head)
            .chain(self.served.as_ref())
            .max_by_key(|h| h.version)
    }

    /// The newest version known, served or not.
    pub fn newest_version(&self) -> Option<u64> {
        self.pending
            .iter()
            .map(|p| p.head.version)
            .chain(self.served.as_ref().map(|h| h.version))
            .max()
    }

    /// A head learnt at `at` without its age (a commit of ours, a notice, a poll): surely ripe `RIPE` later.
    /// Returns whether it is newer than every head known.
    pub fn learn(&mut self, head: &Head, at: Instant) -> bool {
        let newer = self.newest_version().is_none_or(|v| head.version > v);
        self.add(head, at + RIPE, None);
        newer
    }

    /// A head taken as served at once (the first one at startup, when nothing was served yet).
    pub fn seed(&mut self, head: &Head) {
        if self.served.is_none() {
            self.served = Some(head.clone());
        }
    }

    /// The answer of a check that started at `start` and ended at `end`: heads newer than the served one, each
    /// with its age (ms) at the database when the query ran.
    pub fn checked(&mut self, rows: &[(Head, i64)], start: Instant, end: Instant) {
        for (head, age_ms) in rows {
            let age = Duration::from_millis(u64::try_from(*age_ms).unwrap_or(0));
            let left = RIPE.saturating_sub(age);
            self.add(head, end + left, Some(start + left));
        }
        self.checked = Some((start, end));
    }

    /// When the last check that answered started.
    pub fn last_check(&self) -> Option<Instant> {
        self.checked.map(|(s, _)| s)
    }

    /// What a request that arrived at `arrived` does at `now`.
    pub fn decide(&mut self, arrived: Instant, now: Instant) -> Decision {
        self.promote(now);
        let fresh = self
            .checked
            .is_some_and(|(start, _)| start + FRESH >= arrived);
        if !fresh {
            return Decision::Check;
        }
        // A timestamp that may be ripe must be served; every pending one is not surely ripe yet.
        if let Some(p) = self
            .pending
            .iter()
            .filter(|p| p.maybe.is_some_and(|m| m <= now))
            .max_by_key(|p| p.head.version)
        {
            return Decision::Wait(p.sure);
        }
        match &self.served {
            Some(h) => Decision::Serve(h.clone()),
            None => Decision::Check,
        }
    }

    fn add(&mut self, head: &Head, sure: Instant, maybe: Option<Instant>) {
        if self
            .served
            .as_ref()
            .is_some_and(|s| s.version >= head.version)
        {
            return;
        }
        match self
            .pending
            .iter_mut()
            .find(|p| p.head.version == head.version)
        {
            Some(p) => {
                p.sure = p.sure.min(sure);
                p.maybe = match (p.maybe, maybe) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            None => self.pending.push(Pending {
                head: head.clone(),
                sure,
                maybe,
            }),
        }
    }

    /// Serves the newest pending head that is surely ripe by `now`; forgets the older ones.
    fn promote(&mut self, now: Instant) {
        let Some(best) = self
            .pending
            .iter()
            .filter(|p| p.sure <= now)
            .max_by_key(|p| p.head.version)
            .map(|p| p.head.clone())
        else {
            return;
        };
        self.pending.retain(|p| p.head.version > best.version);
        self.served = Some(best);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(v: u64) -> Head {
        Head {
            bytes: bytes::Bytes::new(),
            version: v,
            sha256: format!("{v}"),
            snapshot_version: v,
            expires: 0,
        }
    }
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_commit_is_served_once_surely_ripe_and_never_replaced_by_an_older_one() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        tl.seed(&head(1));
        assert_eq!(tl.decide(t0, t0), Decision::Check, "no check yet");
        tl.checked(&[], t0, t0 + ms(1));
        assert_eq!(tl.decide(t0, t0 + ms(1)), Decision::Serve(head(1)));
        // Our own commit of 2: served only RIPE after it was learnt.
        assert!(tl.learn(&head(2), t0 + ms(2)));
        assert_eq!(tl.decide(t0 + ms(3), t0 + ms(3)), Decision::Serve(head(1)));
        assert_eq!(tl.served(t0 + ms(2) + RIPE), Some(&head(2)));
        // An older head learnt late changes nothing.
        assert!(!tl.learn(&head(1), t0 + ms(30)));
        assert_eq!(tl.served(t0 + ms(60)), Some(&head(2)));
    }

    #[test]
    fn a_check_older_than_fresh_is_not_enough() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        tl.seed(&head(1));
        tl.checked(&[], t0, t0 + ms(1));
        let later = t0 + FRESH + ms(1);
        assert_eq!(tl.decide(later, later), Decision::Check);
    }

    /// The scenario of the module docs: replica A served `v` (surely ripe); replica B, whose fresh check saw `v`
    /// just under RIPE old (its end bound not ripe yet), serves `v` too, after waiting at most the check's
    /// duration — never the older one.
    #[test]
    fn a_head_another_replica_may_serve_is_served_after_a_short_wait() {
        let t0 = Instant::now();
        let mut b = Timeline::default();
        b.seed(&head(1));
        // B's check ran from t0 to t0+3ms; the database said v=2 was RIPE-1ms old then.
        let age = i64::try_from(RIPE.as_millis()).unwrap() - 1;
        b.checked(&[(head(2), age)], t0, t0 + ms(3));
        // A request at t0+2ms: 2 may be ripe (start + 1ms), not surely (end + 1ms): wait until then.
        assert_eq!(b.decide(t0 + ms(2), t0 + ms(2)), Decision::Wait(t0 + ms(4)));
        assert_eq!(b.decide(t0 + ms(2), t0 + ms(4)), Decision::Serve(head(2)));
        // Before it may be ripe, the older one is served without waiting.
        let mut c = Timeline::default();
        c.seed(&head(1));
        c.checked(&[(head(2), 5)], t0, t0 + ms(1));
        assert_eq!(c.decide(t0, t0 + ms(1)), Decision::Serve(head(1)));
    }

    #[test]
    fn a_ripe_head_from_a_check_is_served_at_once() {
        let t0 = Instant::now();
        let mut tl = Timeline::default();
        tl.checked(&[(head(7), 5000), (head(8), 1)], t0, t0 + ms(1));
        assert_eq!(tl.decide(t0, t0 + ms(1)), Decision::Serve(head(7)));
        assert_eq!(tl.newest_version(), Some(8));
    }
}
