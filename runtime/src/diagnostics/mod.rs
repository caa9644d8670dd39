//! Diagnostics: debug mode, task dumps, the watchdog and the monitor console — asyncio's
//! debug mode, `py-spy dump` and aiomonitor, built into the runtime.
//!
//! | asyncio / Python tool                          | tempo                                      |
//! |------------------------------------------------|--------------------------------------------|
//! | `PYTHONASYNCIODEBUG=1`, `slow_callback_duration` | `TEMPO_DEBUG=1`, [`Builder::slow_poll_threshold`](crate::Builder::slow_poll_threshold) |
//! | "Executing `<Task>` took 2.0 seconds"          | `slow poll` warning naming the task, after the poll |
//! | —                                              | the watchdog: a warning *while* a poll is still stuck |
//! | "Task exception was never retrieved"           | an error report (log, else stderr) for a panic nobody read |
//! | `py-spy dump`, aiomonitor `ps`                 | [`Handle::dump`](crate::Handle::dump), SIGUSR1, the monitor's `ps` |
//! | aiomonitor console                             | [`Builder::monitor`](crate::Builder::monitor): `ps`, `ps-finished`, `stats` |
//!
//! Everything is off by default and then costs nothing measurable: the executor checks one
//! `Option` per spawn, poll and wake, and the loop one per turn. Turned on, each worker
//! keeps a `Diagnostics` table (`tempo_executor::diag`) of its tasks and
//! [`LoopStats`], and the runtime starts a *service thread*: a small tempo runtime of its
//! own that runs the watchdog, the monitor console and the SIGUSR1 listener as tasks. Being
//! on another thread, it answers while the workers are blocked — which is when it matters.
//!
//! The files, in reading order:
//!
//! 1. `stats.rs` — [`LoopStats`], a worker loop's counters; `dump.rs` — [`Dump`], a task
//!    dump and its table.
//! 2. `runtime_diag.rs` — every worker's tables as one runtime's, and `TEMPO_DEBUG`.
//! 3. `service.rs` — the service thread. It uses the runtime's own sockets and tasks, so it
//!    comes late in the crate's reading order: after `net/` and `task/`, before the
//!    `Runtime` that owns it.

// 1. A loop's counters; a task dump.
mod dump;
mod stats;

// 2. One runtime's diagnostics.
mod runtime_diag;

// 3. The service thread.
pub(crate) mod service;

pub use dump::{CancelCause, Dump, FinishedTask, Outcome, TaskDump, TaskInfo, TaskState};
pub use runtime_diag::DEFAULT_SLOW_POLL;
pub(crate) use runtime_diag::{RuntimeDiag, WorkerDiag, env_slow_poll};
pub use stats::{LoopSnapshot, LoopStats};
