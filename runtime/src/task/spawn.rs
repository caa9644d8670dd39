//! [`spawn`] and [`spawn_local`]: making a task, and where it goes.
//!
//! asyncio's `create_task` puts the task on the running loop. tempo runs one loop per
//! worker, so a spawn must choose one: the thread's own loop when it has one — a worker's
//! thread, or the `block_on` thread of a one-worker runtime — and otherwise the runtime's
//! workers, round-robin, through its [`Handle`](crate::Handle). What the thread is comes
//! from the runtime's thread-local (`runtime/current.rs`); the task itself is made by
//! `tempo-executor`.

use std::future::Future;

use super::context;
use crate::runtime::placing_handle;
use tempo_executor::{JoinHandle, TaskId};

/// Spawn a task — asyncio's `asyncio.create_task`.
///
/// **Placement.** On a worker thread the task stays on that worker: tempo is
/// thread-per-core, and a task that runs where it was spawned shares that worker's cache
/// and never pays a cross-thread wake (~20 µs on these machines). With one worker, the
/// `block_on` thread *is* worker 0. On the `block_on` thread of a multi-worker runtime, and
/// on a blocking-pool thread, there is no worker to stay on: tasks are dealt round-robin
/// over the workers, as [`Handle::spawn`](crate::Handle::spawn) deals them. To choose, use
/// [`Handle::spawn_on`](crate::Handle::spawn_on). `tests/placement.rs` pins all of this.
///
/// The task starts with a copy of the spawner's [context](super::ContextVar), as asyncio's tasks
/// do. Dropping the returned handle detaches the task; it keeps running.
///
/// # Panics
/// Outside a tempo runtime: use [`Handle::spawn`](crate::Handle::spawn) from other threads.
#[track_caller]
#[doc(alias = "create_task")]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // On a thread with no worker loop of its own (the block_on thread of a multi-worker
    // runtime, or a pool thread), tasks belong on the workers.
    if let Some(handle) = placing_handle() {
        return handle.spawn(future);
    }
    match context::inherited() {
        None => tempo_executor::spawn(future),
        Some(cx) => tempo_executor::spawn(context::run_in(cx, future)),
    }
}

/// Spawn a task that need not be `Send` (it may hold an `Rc`) on this thread's loop; it is
/// polled and dropped only on this thread. On a worker's thread that is the worker; on the
/// `block_on` thread of a multi-worker runtime it is the block_on worker, which runs the
/// task only while `block_on` runs (see [`Runtime`](crate::Runtime)). It inherits the
/// spawner's context like [`spawn`].
///
/// # Panics
/// Outside a tempo runtime, and on a blocking-pool thread (which has no loop).
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match context::inherited() {
        None => tempo_executor::spawn_local(future),
        Some(cx) => tempo_executor::spawn_local(context::run_in(cx, future)),
    }
}

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
    tempo_executor::current_task_id()
}
