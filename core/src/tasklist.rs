//! `TaskList`: a state-based CRDT of tasks that agents claim and complete.
//!
//! The state is a product of join-semilattices, so `merge` is commutative, associative and idempotent
//! (property-tested below) and every replica that has seen the same operations holds the same state, down to the
//! bytes of `toBytes()`:
//! - `clock`: a Lamport clock, merged by `max`. Every local operation stamps itself with `clock + 1`.
//! - tasks: a map from id to task, merged key by key (a task present on one side only is kept).
//! - each task field is an optional stamped value merged by "present beats absent, then the smallest
//!   `(stamp, value)` wins": the title of the earliest `addTask` (ties by title), the earliest claim (ties by agent
//!   id), the earliest completion (ties by agent id). Concurrent claims therefore resolve the same way everywhere.
//!
//! Local operations check intent (`claimTask` on a task another agent holds fails with `task.already_claimed`);
//! merges never fail and never lose information: a task is `done` once any replica completed it.
//!
//! Canonical encoding (`toBytes`), all integers little-endian:
//! `"x0xT" 0x01 | clock u64 | count u32 | count × task`, tasks in strictly ascending byte order of id;
//! task = `id str | title stamp u64 | title str | claim opt | done opt`; str = `len u32 | UTF-8`;
//! opt = `0x00` | `0x01 stamp u64 | agent [32]`. `fromBytes` accepts exactly this form (and `clock` ≥ every stamp),
//! so decoding then encoding returns the same bytes.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use crate::error::CoreError;
use crate::identity::AgentId;

const MAGIC: &[u8; 4] = b"x0xT";
const FORMAT_VERSION: u8 = 1;
/// Longest task id, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Longest task title, in bytes.
pub const MAX_TITLE_LEN: usize = 4096;

/// An agent's stamped action (claim or completion).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    /// Lamport stamp.
    pub stamp: u64,
    /// The agent.
    pub agent: AgentId,
}

/// One task's replicated state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskState {
    /// Stamp of the `addTask` whose title is kept.
    pub title_stamp: u64,
    /// The title.
    pub title: String,
    /// The winning claim.
    pub claim: Option<Mark>,
    /// The winning completion.
    pub done: Option<Mark>,
}

fn join_mark(a: Option<Mark>, b: Option<Mark>) -> Option<Mark> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

impl TaskState {
    fn join(&mut self, other: &TaskState) {
        if (other.title_stamp, &other.title) < (self.title_stamp, &self.title) {
            self.title_stamp = other.title_stamp;
            self.title.clone_from(&other.title);
        }
        self.claim = join_mark(self.claim, other.claim);
        self.done = join_mark(self.done, other.done);
    }
}

/// The CRDT itself, without any JavaScript types (what the property tests exercise).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskListState {
    clock: u64,
    tasks: BTreeMap<String, TaskState>,
}

fn check_field(field: &'static str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.is_empty() {
        return Err(CoreError::InvalidTask {
            field,
            reason: "empty",
        });
    }
    if value.len() > max {
        return Err(CoreError::InvalidTask {
            field,
            reason: "too long",
        });
    }
    Ok(())
}

impl TaskListState {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Adds a new open task.
    pub fn add(&mut self, id: &str, title: &str) -> Result<(), CoreError> {
        check_field("id", id, MAX_ID_LEN)?;
        check_field("title", title, MAX_TITLE_LEN)?;
        if self.tasks.contains_key(id) {
            return Err(CoreError::TaskExists(id.to_owned()));
        }
        let stamp = self.tick();
        self.tasks.insert(
            id.to_owned(),
            TaskState {
                title_stamp: stamp,
                title: title.to_owned(),
                claim: None,
                done: None,
            },
        );
        Ok(())
    }

    /// `agent` claims an open task (claiming one's own claim again is a no-op).
    pub fn claim(&mut self, id: &str, agent: AgentId) -> Result<(), CoreError> {
        let task = self
            .tasks
            .get(id)
            .ok_or_else(|| CoreError::TaskNotFound(id.to_owned()))?;
        if task.done.is_some() {
            return Err(CoreError::TaskDone(id.to_owned()));
        }
        match task.claim {
            Some(m) if m.agent == agent => return Ok(()),
            Some(m) => {
                return Err(CoreError::TaskAlreadyClaimed {
                    id: id.to_owned(),
                    by: m.agent.to_hex(),
                })
            }
            None => {}
        }
        let stamp = self.tick();
        if let Some(task) = self.tasks.get_mut(id) {
            task.claim = Some(Mark { stamp, agent });
        }
        Ok(())
    }

    /// `agent`, holding the claim, completes the task (completing it again is a no-op).
    pub fn complete(&mut self, id: &str, agent: AgentId) -> Result<(), CoreError> {
        let task = self
            .tasks
            .get(id)
            .ok_or_else(|| CoreError::TaskNotFound(id.to_owned()))?;
        if task.claim.map(|m| m.agent) != Some(agent) {
            return Err(CoreError::TaskNotClaimed(id.to_owned()));
        }
        if task.done.is_some() {
            return Ok(());
        }
        let stamp = self.tick();
        if let Some(task) = self.tasks.get_mut(id) {
            task.done = Some(Mark { stamp, agent });
        }
        Ok(())
    }

    /// Joins `other` into `self`.
    pub fn merge(&mut self, other: &TaskListState) {
        self.clock = self.clock.max(other.clock);
        for (id, theirs) in &other.tasks {
            match self.tasks.get_mut(id) {
                Some(ours) => ours.join(theirs),
                None => {
                    self.tasks.insert(id.clone(), theirs.clone());
                }
            }
        }
    }

    /// Tasks in ascending id order.
    pub fn tasks(&self) -> impl Iterator<Item = (&String, &TaskState)> {
        self.tasks.iter()
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        fn put_str(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        fn put_mark(out: &mut Vec<u8>, m: Option<Mark>) {
            match m {
                None => out.push(0),
                Some(m) => {
                    out.push(1);
                    out.extend_from_slice(&m.stamp.to_le_bytes());
                    out.extend_from_slice(m.agent.as_bytes());
                }
            }
        }
        let mut out = Vec::with_capacity(17 + self.tasks.len() * 64);
        out.extend_from_slice(MAGIC);
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.clock.to_le_bytes());
        out.extend_from_slice(&(self.tasks.len() as u32).to_le_bytes());
        for (id, t) in &self.tasks {
            put_str(&mut out, id);
            out.extend_from_slice(&t.title_stamp.to_le_bytes());
            put_str(&mut out, &t.title);
            put_mark(&mut out, t.claim);
            put_mark(&mut out, t.done);
        }
        out
    }

    /// Decodes the canonical encoding, rejecting anything else.
    pub fn decode(bytes: &[u8]) -> Result<Self, CoreError> {
        let mut r = Reader { bytes };
        if r.take(4)? != MAGIC {
            return Err(CoreError::MalformedTaskList("bad magic"));
        }
        if r.take(1)?[0] != FORMAT_VERSION {
            return Err(CoreError::MalformedTaskList("unsupported format version"));
        }
        let clock = r.u64()?;
        let count = r.u32()?;
        let mut tasks = BTreeMap::new();
        let mut max_stamp = 0;
        let mut prev: Option<String> = None;
        for _ in 0..count {
            let id = r.string(MAX_ID_LEN, "id")?;
            if prev.as_deref().is_some_and(|p| p >= id.as_str()) {
                return Err(CoreError::MalformedTaskList(
                    "task ids not in strictly ascending order",
                ));
            }
            let title_stamp = r.u64()?;
            let title = r.string(MAX_TITLE_LEN, "title")?;
            let claim = r.mark()?;
            let done = r.mark()?;
            max_stamp = [
                Some(title_stamp),
                claim.map(|m| m.stamp),
                done.map(|m| m.stamp),
            ]
            .into_iter()
            .flatten()
            .fold(max_stamp, u64::max);
            prev = Some(id.clone());
            tasks.insert(
                id,
                TaskState {
                    title_stamp,
                    title,
                    claim,
                    done,
                },
            );
        }
        if !r.bytes.is_empty() {
            return Err(CoreError::MalformedTaskList("trailing bytes"));
        }
        if max_stamp > clock {
            return Err(CoreError::MalformedTaskList(
                "a stamp is ahead of the clock",
            ));
        }
        Ok(Self { clock, tasks })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CoreError> {
        if self.bytes.len() < n {
            return Err(CoreError::MalformedTaskList("truncated"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }
    fn u32(&mut self) -> Result<u32, CoreError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> Result<u64, CoreError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn string(&mut self, max: usize, what: &'static str) -> Result<String, CoreError> {
        let len = self.u32()? as usize;
        if len == 0 || len > max {
            return Err(CoreError::MalformedTaskList(if what == "id" {
                "task id empty or too long"
            } else {
                "task title empty or too long"
            }));
        }
        String::from_utf8(self.take(len)?.to_vec())
            .map_err(|_| CoreError::MalformedTaskList("invalid UTF-8"))
    }
    fn mark(&mut self) -> Result<Option<Mark>, CoreError> {
        match self.take(1)?[0] {
            0 => Ok(None),
            1 => {
                let stamp = self.u64()?;
                let agent: [u8; 32] = self.take(32)?.try_into().expect("32 bytes");
                Ok(Some(Mark {
                    stamp,
                    agent: AgentId::from_bytes(agent),
                }))
            }
            _ => Err(CoreError::MalformedTaskList("bad option tag")),
        }
    }
}

/// A task as `listTasks()` returns it.
#[napi(object)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The task id.
    pub id: String,
    /// The title.
    pub title: String,
    /// `"open"`, `"claimed"` or `"done"`.
    #[napi(ts_type = "'open' | 'claimed' | 'done'")]
    pub status: String,
    /// Hex agent id holding the claim.
    pub claimed_by: Option<String>,
    /// Hex agent id that completed it.
    pub completed_by: Option<String>,
}

/// A replicated task list (CRDT): add, claim and complete tasks locally, `merge` with any other replica.
#[napi]
pub struct TaskList {
    state: Mutex<TaskListState>,
}

impl TaskList {
    fn state(&self) -> MutexGuard<'_, TaskListState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for TaskList {
    fn default() -> Self {
        Self::new()
    }
}

#[napi]
impl TaskList {
    /// An empty list.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            state: Mutex::new(TaskListState::default()),
        }
    }

    /// Adds an open task; throws `task.exists` or `task.invalid`.
    #[napi(js_name = "addTask")]
    pub fn add_task(&self, id: String, title: String) -> napi::Result<(), String> {
        Ok(self.state().add(&id, &title)?)
    }

    /// `agent` claims the task; throws `task.not_found`, `task.already_claimed` or `task.done`.
    #[napi(js_name = "claimTask")]
    pub fn claim_task(&self, id: String, agent: &AgentId) -> napi::Result<(), String> {
        Ok(self.state().claim(&id, *agent)?)
    }

    /// `agent` completes the task it claimed; throws `task.not_found` or `task.not_claimed`.
    #[napi(js_name = "completeTask")]
    pub fn complete_task(&self, id: String, agent: &AgentId) -> napi::Result<(), String> {
        Ok(self.state().complete(&id, *agent)?)
    }

    /// Every task, in ascending id order.
    #[napi(js_name = "listTasks")]
    pub fn list_tasks(&self) -> Vec<Task> {
        self.state()
            .tasks()
            .map(|(id, t)| Task {
                id: id.clone(),
                title: t.title.clone(),
                status: if t.done.is_some() {
                    "done"
                } else if t.claim.is_some() {
                    "claimed"
                } else {
                    "open"
                }
                .to_owned(),
                claimed_by: t.claim.map(|m| m.agent.to_hex()),
                completed_by: t.done.map(|m| m.agent.to_hex()),
            })
            .collect()
    }

    /// Joins another replica's state into this one (commutative, associative, idempotent).
    #[napi]
    pub fn merge(&self, other: &TaskList) {
        if std::ptr::eq(self, other) {
            return; // merging with itself changes nothing, and would lock twice
        }
        // Two distinct objects, both owned by this JavaScript thread (napi objects never cross threads): holding
        // both locks cannot deadlock, and spares copying the other replica.
        let theirs = other.state();
        self.state().merge(&theirs);
    }

    /// The canonical encoding (identical bytes for identical states, on every platform).
    #[napi(js_name = "toBytes")]
    pub fn to_bytes(&self) -> Buffer {
        self.state().encode().into()
    }

    /// Decodes `toBytes()` output; throws `tasklist.malformed` for anything else.
    #[napi(factory, js_name = "fromBytes")]
    pub fn from_bytes(bytes: Buffer) -> napi::Result<Self, String> {
        Ok(Self {
            state: Mutex::new(TaskListState::decode(&bytes)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn agent(n: u8) -> AgentId {
        AgentId::from_bytes([n; 32])
    }

    #[test]
    fn local_intent_is_checked() {
        let mut s = TaskListState::default();
        s.add("t1", "write docs").unwrap();
        assert_eq!(s.add("t1", "again").unwrap_err().code(), "task.exists");
        assert_eq!(s.add("", "x").unwrap_err().code(), "task.invalid");
        assert_eq!(
            s.claim("nope", agent(1)).unwrap_err().code(),
            "task.not_found"
        );
        assert_eq!(
            s.complete("t1", agent(1)).unwrap_err().code(),
            "task.not_claimed"
        );
        s.claim("t1", agent(1)).unwrap();
        s.claim("t1", agent(1)).unwrap();
        assert_eq!(
            s.claim("t1", agent(2)).unwrap_err().code(),
            "task.already_claimed"
        );
        assert_eq!(
            s.complete("t1", agent(2)).unwrap_err().code(),
            "task.not_claimed"
        );
        s.complete("t1", agent(1)).unwrap();
        assert_eq!(s.claim("t1", agent(1)).unwrap_err().code(), "task.done");
    }

    #[test]
    fn concurrent_claims_resolve_to_the_earliest_everywhere() {
        let mut a = TaskListState::default();
        a.add("t", "title").unwrap();
        let mut b = a.clone();
        b.add("other", "x").unwrap(); // b's clock runs ahead
        b.claim("t", agent(9)).unwrap(); // stamp 3
        a.claim("t", agent(5)).unwrap(); // stamp 2: earliest, wins
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.tasks["t"].claim.unwrap().agent, agent(5));
        // The losing agent can no longer complete; the winner can.
        assert_eq!(
            ba.complete("t", agent(9)).unwrap_err().code(),
            "task.not_claimed"
        );
        ba.complete("t", agent(5)).unwrap();
    }

    #[test]
    fn decode_rejects_non_canonical_input() {
        let mut s = TaskListState::default();
        s.add("a", "x").unwrap();
        s.add("b", "y").unwrap();
        s.claim("a", agent(3)).unwrap();
        let bytes = s.encode();
        assert_eq!(TaskListState::decode(&bytes).unwrap(), s);
        let code = |b: &[u8]| TaskListState::decode(b).unwrap_err().code();
        assert_eq!(code(&bytes[..bytes.len() - 1]), "tasklist.malformed");
        assert_eq!(
            code(&[bytes.as_slice(), &[0]].concat()),
            "tasklist.malformed"
        );
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert_eq!(code(&bad), "tasklist.malformed");
        // swap the two ids so they are out of order ("a" and "b" have the same length)
        let mut swapped = bytes.clone();
        let ia = bytes
            .windows(5)
            .position(|w| w == [1, 0, 0, 0, b'a'])
            .unwrap()
            + 4;
        let ib = bytes
            .windows(5)
            .position(|w| w == [1, 0, 0, 0, b'b'])
            .unwrap()
            + 4;
        swapped.swap(ia, ib);
        assert_eq!(code(&swapped), "tasklist.malformed");
        // clock behind a stamp
        let mut behind = bytes.clone();
        behind[5..13].copy_from_slice(&1u64.to_le_bytes());
        assert_eq!(code(&behind), "tasklist.malformed");
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, u8),
        Claim(u8, u8),
        Complete(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..6u8, 0..3u8).prop_map(|(t, x)| Op::Add(t, x)),
            (0..6u8, 0..3u8).prop_map(|(t, a)| Op::Claim(t, a)),
            (0..6u8, 0..3u8).prop_map(|(t, a)| Op::Complete(t, a)),
        ]
    }

    /// A replica built from random local operations, with random merges from the replicas built before it.
    fn replica(ops: &[Op]) -> TaskListState {
        let mut s = TaskListState::default();
        for o in ops {
            // Rejected operations are part of the test: they must leave the state unchanged.
            let before = s.clone();
            let r = match *o {
                Op::Add(t, x) => s.add(&format!("task-{t}"), &format!("title-{x}")),
                Op::Claim(t, a) => s.claim(&format!("task-{t}"), agent(a)),
                Op::Complete(t, a) => s.complete(&format!("task-{t}"), agent(a)),
            };
            if r.is_err() {
                assert_eq!(s, before);
            }
        }
        s
    }

    fn merged(a: &TaskListState, b: &TaskListState) -> TaskListState {
        let mut m = a.clone();
        m.merge(b);
        m
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn merge_is_a_semilattice_join(
            oa in prop::collection::vec(op(), 0..24),
            ob in prop::collection::vec(op(), 0..24),
            oc in prop::collection::vec(op(), 0..24),
            mix in any::<bool>(),
        ) {
            let a = replica(&oa);
            let mut b = replica(&ob);
            if mix { b = merged(&b, &a); }
            let c = replica(&oc);
            prop_assert_eq!(merged(&a, &b), merged(&b, &a));
            prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
            prop_assert_eq!(merged(&a, &a), a.clone());
            // merging what one already contains changes nothing
            let ab = merged(&a, &b);
            prop_assert_eq!(merged(&ab, &b), ab.clone());
            // identical states encode identically and round-trip exactly
            prop_assert_eq!(merged(&a, &b).encode(), merged(&b, &a).encode());
            let bytes = ab.encode();
            let back = TaskListState::decode(&bytes).unwrap();
            prop_assert_eq!(back.encode(), bytes);
            prop_assert_eq!(back, ab);
        }

        #[test]
        fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = TaskListState::decode(&bytes);
        }
    }
}
