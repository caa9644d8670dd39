//! Tasks: spawning, joining, cancelling, yielding.
//!
//! A task is a future the runtime polls on its own — asyncio's `Task`. [`spawn`] hands a
//! future to the current worker and returns a [`JoinHandle`] to await its output or
//! [`abort`](JoinHandle::abort) it. The machinery is in `tempo-executor`; this module is the
//! part of it users call.

pub use tempo_executor::coop::{has_budget_remaining, poll_proceed};
pub use tempo_executor::{JoinError, JoinHandle, TaskId, YieldNow, spawn, spawn_local, yield_now};

/// The id of the task being polled on this thread.
///
/// # Panics
/// If called outside a task (for example from the `block_on` future itself, which is not a
/// task).
pub fn id() -> TaskId {
    try_id().expect("tempo::task::id called outside a task")
}

/// The id of the task being polled on this thread, if any.
pub fn try_id() -> Option<TaskId> {
    tempo_executor::executor::current_task_id()
}
