//! Diagnostics: debug mode, task dumps, the watchdog and the monitor console — asyncio's
//! debug mode, `py-spy dump` and aiomonitor, built into the runtime.
//!
//! The module's items, for asyncio's debugging tools (every asyncio idea is mapped in the
//! project's one table, `docs/ASYNCIO.md`):
//!
//! | asyncio / Python tool                          | tempo                                      |
//! |------------------------------------------------|--------------------------------------------|
//! | `PYTHONASYNCIODEBUG=1`, `slow_callback_duration` | `TEMPO_DEBUG=1`, [`Builder::slow_poll_threshold`](crate::Builder::slow_poll_threshold) |
//! | "Executing `<Task>` took 2.0 seconds"          | `slow poll` warning naming the task, after the poll (through `log`, or on stderr with no logger installed) |
//! | —                                              | the watchdog: a warning *while* a poll is still stuck |
//! | "Task exception was never retrieved"           | an error report (log, else stderr) for a panic nobody read |
//! | `py-spy dump`, aiomonitor `ps`                 | [`Handle::dump`](crate::Handle::dump), SIGUSR1, the monitor's `ps` |
//! | aiomonitor console                             | [`Builder::monitor`](crate::Builder::monitor): `ps`, `ps-finished`, `stats` |
//! | a timeline (asyncio has none built in)         | `TEMPO_TRACE=FILE`, [`Builder::trace`](crate::Builder::trace): Chrome trace JSON for Perfetto |
//!
//! Everything is off by default and then costs nothing measurable: the executor checks one
//! `Option` per spawn, poll and wake, and the loop one per `block_on` poll and two per
//! reactor turn. Turned on, each worker
//! keeps a `Diagnostics` table (`tempo_executor::diag`) of its tasks and
//! [`LoopStats`], and the runtime starts a *service thread*: a small tempo runtime of its
//! own that runs the watchdog, the monitor console and the SIGUSR1 listener as tasks. Being
//! on another thread, it answers while the workers are blocked — which is when it matters.
//!
//! The trace (`TEMPO_TRACE=FILE`) watches through the same seams, is independent of the
//! rest — it turns none of it on, and runs beside it — and costs the same when off.
//!
//! The files, in reading order:
//!
//! 1. `observe.rs` — the loop's seam: what a worker's loop announces, to whom.
//! 2. `stats.rs` — [`LoopStats`], a worker loop's counters, and the loop observer that
//!    keeps them; `dump.rs` — [`Dump`], a task dump and its table.
//! 3. `trace/` — the trace: each worker's recorder, and the file. See `trace/mod.rs`.
//! 4. `runtime_diag.rs` — every worker's tables as one runtime's; `TEMPO_DEBUG` and
//!    `TEMPO_TRACE`.
//! 5. `service.rs` — the service thread. It uses the runtime's own sockets and tasks, so it
//!    comes late in the crate's reading order: after `net/` and `task/`, before the
//!    `Runtime` that owns it.

// 1. The loop's seam.
mod observe;

// 2. A loop's counters; a task dump.
mod dump;
mod stats;

// 3. The trace.
mod trace;

// 4. One runtime's diagnostics.
mod runtime_diag;

// 5. The service thread.
pub(crate) mod service;

pub use dump::{CancelCause, Dump, FinishedTask, Outcome, TaskDump, TaskInfo, TaskState};
pub(crate) use observe::{LoopEvent, LoopFanout, LoopObserver};
pub use runtime_diag::DEFAULT_SLOW_POLL;
pub(crate) use runtime_diag::{RuntimeDiag, WorkerDiag, env_slow_poll, env_trace};
pub(crate) use stats::LoopWatch;
pub use stats::{LoopSnapshot, LoopStats};
pub use trace::DEFAULT_TRACE_MAX_EVENTS;
pub(crate) use trace::{TraceFile, Track};
