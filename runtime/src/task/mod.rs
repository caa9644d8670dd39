//! Tasks: spawning, joining, cancelling, yielding, and the context they carry.
//!
//! A task is a future the runtime polls on its own — asyncio's `Task`. [`spawn`] hands a
//! future to the current worker and returns a [`JoinHandle`] to await its output or
//! [`abort`](JoinHandle::abort) it. The machinery is in `tempo-executor`; this module is the
//! part of it users call, plus three things built on it:
//!
//! - [`JoinSet`]: a set of spawned tasks, joined in completion order.
//! - [`TaskGroup`]: asyncio's `TaskGroup` — structured concurrency, where the first failure
//!   cancels the siblings.
//! - [`ContextVar`]: asyncio's `contextvars`, inherited by spawned tasks.
//!
//! Work that would block the loop runs on a thread pool instead, awaited through the same
//! [`JoinHandle`]: [`spawn_blocking`] (asyncio's `to_thread`) and [`spawn_cpu`], from
//! [`crate::blocking`].

mod builder;
mod context;
mod group;
mod join_set;

use std::future::Future;

pub use crate::blocking::{blocking_slot, cpu_slot, spawn_blocking, spawn_cpu};
pub use crate::runtime::current_worker;
pub use builder::Builder;
pub use context::{Context, ContextVar};
pub use group::{GroupTask, TaskGroup, TaskGroupError};
pub use join_set::JoinSet;
pub use tempo_executor::coop::{has_budget_remaining, poll_proceed};
pub use tempo_executor::{
    AbortHandle, AbortOnDrop, JoinError, JoinHandle, TaskId, YieldNow, yield_now,
};

/// Spawn a task — asyncio's `asyncio.create_task`.
///
/// **Placement.** On a worker thread the task stays on that worker: tempo is
/// thread-per-core, and a task that runs where it was spawned shares that worker's cache
/// and never pays a cross-thread wake (~20 µs on these machines). On the `block_on` thread
/// of a multi-worker runtime, tasks are dealt round-robin over the workers. To choose, use
/// [`Handle::spawn`](crate::Handle::spawn) (round-robin) or
/// [`Handle::spawn_on`](crate::Handle::spawn_on).
///
/// The task starts with a copy of the spawner's [context](ContextVar), as asyncio's tasks
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
    // On the block_on thread of a multi-worker runtime, tasks belong on the workers.
    if let Some(handle) = crate::runtime::placing_handle() {
        return handle.spawn(future);
    }
    match context::inherited() {
        None => tempo_executor::spawn(future),
        Some(cx) => tempo_executor::spawn(context::run_in(cx, future)),
    }
}

/// Spawn a task that need not be `Send` (it may hold an `Rc`) on the current worker; it is
/// polled and dropped only on this thread. It inherits the spawner's context like
/// [`spawn`].
///
/// # Panics
/// Outside a tempo runtime.
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

/// Spawn through `spawner` (another thread's worker), inheriting this thread's context.
#[track_caller]
pub(crate) fn spawn_via<F>(spawner: &tempo_executor::Spawner, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_via_with(spawner, future, tempo_executor::SpawnMeta::here())
}

/// [`spawn_via`] with the name and location to record.
pub(crate) fn spawn_via_with<F>(
    spawner: &tempo_executor::Spawner,
    future: F,
    meta: tempo_executor::SpawnMeta,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::inherited() {
        None => spawner.spawn_with(future, meta),
        Some(cx) => spawner.spawn_with(context::run_in(cx, future), meta),
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
