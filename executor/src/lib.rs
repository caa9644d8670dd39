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
//! What lives where:
//! - [`task`]: the task allocation, its atomic state word and the numbered rules that make
//!   the unsafe code sound. Read its module doc first.
//! - [`executor`]: [`Executor`], one worker's slab and run queue; `spawn`, `spawn_local`,
//!   and the `run_ready` step of the loop.
//! - [`waker`]: how a task id becomes a `Waker` and back.
//! - [`registry`]: the process-wide table that lets a waker on any thread find its worker.
//! - [`join`]: [`JoinHandle`] and [`JoinError`] — asyncio's `Task` object as seen by the
//!   code that awaits it.
//! - [`blocking`]: [`BlockingTask`] — a closure run on a thread pool, awaited through a
//!   JoinHandle.
//! - [`diag`]: [`Diagnostics`](diag::Diagnostics) — the per-worker task table behind
//!   slow-poll warnings, task dumps and the watchdog; off unless the runtime turns it on.
//! - [`coop`]: the cooperative budget and [`yield_now`] — how a task that is always ready
//!   still lets sockets and timers through.
//!
//! The loop that calls [`Executor::run_ready`] between reactor turns lives in
//! `tempo-runtime`.

#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod blocking;
pub mod coop;
pub mod diag;
pub mod executor;
pub mod join;
pub mod registry;
pub mod task;
pub mod waker;

pub use blocking::BlockingTask;
pub use coop::{YieldNow, yield_now};
pub use executor::{Executor, Spawner, spawn, spawn_local, try_current_worker};
pub use join::{AbortHandle, AbortOnDrop, JoinError, JoinHandle};
pub use task::TaskId;
