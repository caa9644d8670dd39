//! # tempo-executor: tasks, wakers and the run queue
//!
//! This crate is the half of tempo's event loop that knows nothing about I/O. In asyncio
//! terms it is the part of `BaseEventLoop` that keeps the `_ready` deque of callbacks and
//! calls them one by one; in Rust the "callbacks" are futures, and calling one is `poll`.
//!
//! ```text
//!   spawn(future) ──► one allocation: Header | future | output      (task::raw)
//!                        │
//!                        ▼ slab slot + generation  = TaskId          (executor)
//!   Waker (worker, slot, generation) ──wake──► run queue ──► poll ──► Ready: store output,
//!        │                                         ▲                   wake the JoinHandle
//!        └── from another thread: crossbeam channel┘ + unpark          (registry)
//! ```
//!
//! To spawn a future we allocate it once, together with a small [`task`] header and room
//! for its output, and put the pointer in a [`slab`](https://docs.rs/slab) — a vector with a
//! free list. The slot index plus a generation counter is the task's identity, and it is
//! all a [`Waker`](std::task::Waker) carries: waking packs no pointer, bumps no reference
//! count and allocates nothing. A wake on the worker's own thread pushes the task onto the
//! run queue; a wake from any other thread travels through the worker's channel and
//! interrupts its sleep through an *unpark* callback that the runtime supplies (tempo's
//! runtime passes a `mio::Waker`, but this crate does not know that).
//!
//! # A reading order
//!
//! Each file uses only files before it in this list, so the crate reads from the bottom
//! up — from what a task *is*, through the executor that runs tasks, to the handles users
//! hold:
//!
//! 1. `task/mod.rs` — [`TaskId`], and the numbered rules that make the unsafe code sound:
//!    read its module doc first. `task/state.rs`, the task's atomic state word;
//!    `task/outcome.rs`, how a task ends ([`JoinError`], [`Outcome`], [`CancelCause`]).
//! 2. `wake_ref.rs` — a task's address (worker, slot, generation) packed into the one word
//!    a waker carries.
//! 3. `task/raw.rs` — the task's single allocation and the type-erased functions that
//!    poll, cancel and free it. Every cast of a task pointer is in this file.
//! 4. `observe.rs` — [`TaskObserver`], the one seam through which diagnostics (or a trace)
//!    watch tasks, and [`SpawnMeta`].
//! 5. `coop.rs` — the cooperative budget and [`yield_now`]: how a task that is always
//!    ready still lets sockets and timers through.
//! 6. `registry.rs` — the process-wide table that lets a waker or spawner on any thread
//!    reach a worker: its channel, its unpark, its observer.
//! 7. `executor.rs` — the [`Executor`]: the slab, the run queue, `run_ready`, the waker's
//!    function table and the wake path.
//! 8. `owner.rs` — [`OwnedExecutor`], which creates, enters and shuts down the executor
//!    and installs its observer; the thread's current executor.
//! 9. `join.rs` — [`JoinHandle`], [`AbortHandle`]: asyncio's `Task` as seen by the code
//!    that awaits it, and how an abort reaches the task.
//! 10. `spawn.rs` — [`spawn()`], [`spawn_local`], [`Spawner`]: where a new task goes.
//! 11. `blocking.rs` — [`BlockingTask`]: a closure run on a thread pool, awaited through a
//!     JoinHandle.
//! 12. `diag.rs` — [`Diagnostics`](diag::Diagnostics): the per-worker task table behind
//!     slow-poll warnings, task dumps and the watchdog; an observer, off unless the runtime
//!     installs it. And [`decode`]: which task a waker parked in the reactor belongs to.
//!
//! The loop that calls [`Executor::run_ready`] between reactor turns lives in
//! `tempo-runtime`.

#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

// 1. What a task is.
pub mod task;

// 2. A task's address, as a waker carries it.
mod wake_ref;

// 4. The seam diagnostics watch through.
pub mod observe;

// 5. The cooperative budget.
pub mod coop;

// 6. Reaching a worker from any thread.
mod registry;

// 7. The executor.
pub mod executor;

// 8. The executor's owner; the thread's current executor.
pub mod owner;

// 9. Awaiting a task.
pub mod join;

// 10. Spawning.
mod spawn;

// 11. Blocking jobs.
pub mod blocking;

// 12. Diagnostics, one observer.
pub mod diag;

pub use blocking::BlockingTask;
pub use coop::{YieldNow, yield_now};
pub use diag::decode;
pub use executor::Executor;
pub use join::{AbortHandle, AbortOnDrop, JoinHandle};
pub use observe::{SpawnMeta, TaskEvent, TaskObserver};
pub use owner::{ExecutorGuard, OwnedExecutor, current_task_id, try_current_worker};
pub use spawn::{Spawner, spawn, spawn_local, spawn_with};
pub use task::TaskId;
pub use task::outcome::{CancelCause, JoinError, Outcome};
pub use wake_ref::{MAX_TASKS, MAX_WORKERS};
