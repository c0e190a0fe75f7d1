//! The one error type of the core. Every failure has a stable machine code (`CoreError::code`) which becomes the
//! JavaScript error's `code` property, so callers match on `err.code`, never on the message.

use thiserror::Error;

/// Everything the core can refuse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    /// `AgentId.fromString` got something other than 64 hex digits.
    #[error("agent id must be 64 hex digits (SHA-256 of the public key), got {0:?}")]
    InvalidAgentId(String),
    /// A public key of the wrong length was passed to `verify`.
    #[error("ML-DSA-65 public key must be {expected} bytes, got {actual}")]
    InvalidPublicKey {
        /// Required length.
        expected: usize,
        /// Length received.
        actual: usize,
    },
    /// `AgentKeypair.fromSeed` got a seed of the wrong length.
    #[error("ML-DSA-65 seed must be 32 bytes, got {0}")]
    InvalidSeed(usize),
    /// The platform's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// Signing failed (never expected with a fixed, short context string).
    #[error("ML-DSA-65 signing failed")]
    Sign,
    /// A task id or title is empty or too long.
    #[error("invalid task {field}: {reason}")]
    InvalidTask {
        /// `id` or `title`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `addTask` with an id that is already in the list.
    #[error("task {0:?} already exists")]
    TaskExists(String),
    /// The task id is not in the list.
    #[error("task {0:?} not found")]
    TaskNotFound(String),
    /// `claimTask` on a task another agent holds.
    #[error("task {id:?} is already claimed by agent {by}")]
    TaskAlreadyClaimed {
        /// Task id.
        id: String,
        /// Hex agent id of the holder.
        by: String,
    },
    /// `claimTask` on a completed task.
    #[error("task {0:?} is already done")]
    TaskDone(String),
    /// `completeTask` by an agent that does not hold the claim.
    #[error("task {0:?} is not claimed by this agent")]
    TaskNotClaimed(String),
    /// A thread of a parallel call panicked (`signMany`, `threading`); under WASI the thread is gone.
    #[error("a worker thread panicked: {0}")]
    ThreadPanicked(String),
    /// `TaskList.fromBytes` got bytes that are not a canonical encoding.
    #[error("malformed TaskList bytes: {0}")]
    MalformedTaskList(&'static str),
}

impl CoreError {
    /// The stable machine code (`err.code` in JavaScript).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidAgentId(_) => "agent_id.invalid",
            Self::InvalidPublicKey { .. } => "key.invalid_public_key",
            Self::InvalidSeed(_) => "key.invalid_seed",
            Self::Random(_) => "random.unavailable",
            Self::Sign => "signature.failed",
            Self::InvalidTask { .. } => "task.invalid",
            Self::TaskExists(_) => "task.exists",
            Self::TaskNotFound(_) => "task.not_found",
            Self::TaskAlreadyClaimed { .. } => "task.already_claimed",
            Self::TaskDone(_) => "task.done",
            Self::TaskNotClaimed(_) => "task.not_claimed",
            Self::MalformedTaskList(_) => "tasklist.malformed",
            Self::ThreadPanicked(_) => "thread.panicked",
        }
    }
}

impl From<CoreError> for napi::Error<String> {
    fn from(e: CoreError) -> Self {
        napi::Error::new(e.code().to_owned(), e.to_string())
    }
}

impl From<CoreError> for napi::Error {
    fn from(e: CoreError) -> Self {
        napi::Error::new(napi::Status::GenericFailure, format!("{}: {e}", e.code()))
    }
}
