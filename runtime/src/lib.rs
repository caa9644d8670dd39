//! # tempo-runtime: the loop that drives the executor and the reactor
//!
//! This crate joins tempo's two halves into an event loop you can run, and gives the loop
//! its user-facing API: [`run`], [`spawn`], [`time`], [`net`]. The `tempo` crate re-exports
//! all of it; users write `tempo::run(async { ... })`.
//!
//! One turn of a worker's loop, as in `docs/DESIGN.md`, "The loop (one worker)":
//!
//! ```text
//!  loop {
//!    1. poll the block_on future, if it was woken (it counts against the batch)
//!    2. run ready tasks from the run queue (a bounded batch, each poll budgeted)
//!    3. drain wakes and spawns sent from other threads into the run queue
//!    4. still ready and the batch not used up? go round again: no syscall
//!    5. reactor.turn(0 if tasks are ready, else until the nearest timer — after an
//!       optional short spin of zero-timeout turns, `Builder::park_spin`):
//!         epoll_wait → set readiness, take the wakers it concerns;
//!         expire due timers → take their wakers; wake everything taken, outside every lock
//!  }
//! ```
//!
//! The numbered steps are in `worker.rs`, in `Worker::block_on`. asyncio's
//! `BaseEventLoop._run_once` is the same procedure: compute the timeout from the nearest
//! scheduled callback, `select`, turn events and due timers into ready callbacks, run them.
//!
//! Every asyncio idea — `asyncio.run` is [`run`], `create_task` is [`spawn`], `gather` is
//! [`join!`], `wait_for` is [`time::timeout`], and so on through tasks, groups, queues,
//! locks, threads, cancellation, debug mode and streams — is mapped to its tempo item, the
//! example that shows it and what differs, in one table: `docs/ASYNCIO.md` in the
//! repository. `docs/TOUR.md` follows one byte through this loop, file by file.
//!
//! # tokio-only libraries
//!
//! A library built on tokio's own sockets and timers (`tokio::net`, `tokio::time`, …) panics
//! in a tempo task with "there is no reactor running, must be called from the context of a
//! Tokio 1.x runtime": it looks for a tokio runtime in a thread-local only tokio fills. Wrap
//! the call in `async_compat::Compat::new(..)`, or run it on a tokio runtime beside tempo
//! with `handle.spawn(..)` and await its JoinHandle. The README's "Living beside tokio" shows
//! both and what each costs.
//!
//! # A reading order
//!
//! Each file uses only files before it in this list (a `mod.rs` hub, or this file, only
//! names where things are), so the crate can be read from the bottom up: from the tables
//! diagnostics keep and the loop, through the pools, the handle and the thread's current
//! runtime, to the tasks, sockets and services built on them, and last the [`Runtime`]
//! that starts it all and the [`Builder`] that configures it:
//!
//! 1. `time.rs`, `signal.rs` — the reactor's timers and signals, as users see them. They
//!    use no other file.
//! 2. `diagnostics/observe.rs`, `diagnostics/stats.rs`, `diagnostics/dump.rs`,
//!    `diagnostics/trace/`, `diagnostics/runtime_diag.rs` — the loop's observer seam, and
//!    what diagnostics and the trace record, per loop and per runtime. They know no runtime.
//! 3. `worker.rs` — one event loop: one executor, one reactor, and the numbered loop above.
//! 4. `sync/` and `future/` — primitives and combinators, which know no runtime; see their
//!    `mod.rs`. `io/` — tokio's reading and writing methods on any stream, which know no
//!    runtime either, and (Unix) `io/unix/`, `AsyncFd`: any descriptor's readiness through
//!    the reactor; see `io/mod.rs`.
//! 5. `blocking/stats.rs`, `counts.rs`, `pool.rs`, `admission.rs`, `pools.rs` — the
//!    blocking and CPU pools, which know no runtime: a pool thread enters its runtime
//!    through a callback the runtime gives it. See `blocking/mod.rs`.
//! 6. `task/context.rs` — [`task::ContextVar`], the context a task carries.
//! 7. `runtime/handle.rs` — [`Handle`], what reaches a runtime from any thread;
//!    `runtime/current.rs` — what this thread is to a runtime: `CURRENT_RUNTIME`, the
//!    thread's role, `RuntimeGuard`.
//! 8. `task/spawn.rs` — [`spawn`], [`spawn_local`] and where they place a task;
//!    `task/builder.rs`, `task/join_set.rs`, `task/group.rs`; `blocking/spawn.rs` —
//!    [`task::spawn_blocking`] and friends; `fs/` on top of it.
//! 9. `net/` — sockets: `addr.rs` (names resolved on the blocking pool), `stream.rs` (the one
//!    runtime file a read crosses between `worker.rs` and the task), `udp.rs`, `tcp.rs`,
//!    `listener.rs`, and `unix/` (Unix-domain streams, listeners and datagrams); see
//!    `net/mod.rs`. `process/` — child processes (Unix): their pipes, their exit by
//!    `SIGCHLD`, the reaper; see `process/mod.rs`. With the `hyper` feature, `hyper/` —
//!    hyper's I/O, executor and timer traits on tempo's streams, tasks and sleeps; see
//!    `hyper/mod.rs`.
//! 10. `diagnostics/service.rs` — the service thread: watchdog, monitor console, SIGUSR1.
//! 11. `runtime/config.rs`, `runtime/threads.rs`, `runtime/runtime.rs`,
//!     `runtime/builder.rs` — what a runtime is built from, its worker threads, the
//!     [`Runtime`] and [`run`], and the [`Builder`].
//!
//! `runtime/mod.rs`, `task/mod.rs`, `blocking/mod.rs`, `diagnostics/mod.rs`, `net/mod.rs`
//! and `process/mod.rs` list their files in the same order.

#![forbid(unsafe_code)]

// 1. Timers and signals, from the reactor.
#[cfg(unix)]
pub mod signal;
pub mod time;

// 2, 10. Diagnostics: what is recorded (2); the service thread (10).
pub mod diagnostics;

// 3. One event loop.
mod worker;

// 4. Primitives and combinators; reading and writing streams.
pub mod future;
pub mod io;
pub mod sync;

// 5, 8. The pools (5); the free functions that reach them (8).
pub mod blocking;

// 6, 8. A task's context (6); spawning, sets and groups of tasks (8).
pub mod task;

// 8. Files, on the blocking pool.
pub mod fs;

// 9. Sockets; child processes.
pub mod net;
#[cfg(unix)]
pub mod process;

// 9. hyper's runtime traits, on tempo (the `hyper` feature).
#[cfg(feature = "hyper")]
pub mod hyper;

// 7, 11. The handle and the thread's current runtime (7); the runtime and its builder (11).
pub(crate) mod runtime;

pub use runtime::{Builder, Handle, Runtime, run};
pub use task::{spawn, spawn_local};
