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
//!
//! The files, in reading order:
//!
//! 1. `context.rs` — [`ContextVar`] and [`ContextSnapshot`]: what a task carries and its children
//!    inherit. Knows no runtime.
//! 2. `spawn.rs` — [`spawn`] and [`spawn_local`]: where a new task is placed, by what the
//!    thread is to the runtime (`runtime/current.rs`); and [`id`].
//! 3. `builder.rs` — [`Builder`]: spawning with a name.
//! 4. `join_set.rs` — [`JoinSet`]; `group.rs` — [`TaskGroup`]. Both spawn through
//!    `spawn.rs`.
//!
//! `context.rs` comes early in the crate's reading order (the runtime's `Handle` uses it);
//! the others come after the runtime's handle and thread-locals (see the crate doc).

// 1. Task-local context.
pub(crate) mod context;

// 2. Spawning, and where a task goes.
mod spawn;

// 3. Spawning with a name.
mod builder;

// 4. Sets and groups of tasks.
mod group;
mod join_set;

pub use crate::blocking::{blocking_slot, cpu_slot, spawn_blocking, spawn_cpu};
pub use crate::runtime::current_worker;
pub use builder::Builder;
pub use context::{ContextSnapshot, ContextVar};
pub use group::{GroupTask, TaskGroup, TaskGroupError};
pub use join_set::JoinSet;
pub use spawn::{id, spawn, spawn_local, try_id};
pub use tempo_executor::coop::{has_budget_remaining, poll_proceed};
pub use tempo_executor::{
    AbortHandle, AbortOnDrop, JoinError, JoinHandle, TaskId, YieldNow, yield_now,
};
