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
//! | asyncio                         | tempo                                              |
//! |---------------------------------|----------------------------------------------------|
//! | `asyncio.run(main())`           | [`run`]`(main())`                                  |
//! | `asyncio.new_event_loop()`      | [`Runtime::new`], [`Builder`]                      |
//! | `loop.run_until_complete(f)`    | [`Runtime::block_on`]                              |
//! | `asyncio.create_task(coro)`     | [`spawn`], [`spawn_local`]                         |
//! | `Task`, `task.cancel()`         | [`task::JoinHandle`], [`task::JoinHandle::abort`]  |
//! | `CancelledError`                | [`task::JoinError::is_cancelled`]                  |
//! | `await asyncio.sleep(0)`        | [`task::yield_now`]                                |
//! | `asyncio.sleep`, `wait_for`     | [`time::sleep`], [`time::timeout`]                 |
//! | `asyncio.gather`                | [`join!`], [`future::join_all`], [`future::try_join_all`] |
//! | `wait(FIRST_COMPLETED)`         | [`select!`], [`future::race`], [`future::race_all`] |
//! | `asyncio.as_completed`          | [`future::as_completed`], [`task::JoinSet`]        |
//! | `asyncio.TaskGroup`             | [`task::TaskGroup`]                                |
//! | `contextvars.ContextVar`        | [`task::ContextVar`]                               |
//! | `Lock`, `Semaphore`, `Event`, `Condition`, `Barrier` | [`sync`]                      |
//! | `asyncio.Queue`                 | [`sync::Queue`]; also [`sync::mpsc`], [`sync::oneshot`] |
//! | `loop.add_signal_handler`       | `signal::signal`, `signal::ctrl_c` (Unix)          |
//! | `asyncio.to_thread`, `run_in_executor` | [`task::spawn_blocking`], [`task::spawn_cpu`] |
//! | `aiofiles`                      | [`fs`]                                             |
//! | debug mode, `py-spy dump`, aiomonitor | [`diagnostics`], [`Handle::dump`], [`Builder::monitor`] |
//! | `asyncio.start_server`          | [`net::TcpListener`]                               |
//! | `open_connection`, streams      | [`net::TcpStream`]                                 |
//! | `create_datagram_endpoint`      | [`net::UdpSocket`]                                 |
//! | `_run_once`                     | `worker::Worker::block_on`                         |

#![forbid(unsafe_code)]

pub mod blocking;
pub mod diagnostics;
pub mod fs;
pub mod future;
pub mod net;
pub(crate) mod runtime;
#[cfg(unix)]
pub mod signal;
pub mod sync;
pub mod task;
pub mod time;
mod worker;

pub use runtime::{Builder, Handle, Runtime, run};
pub use task::{spawn, spawn_local};
