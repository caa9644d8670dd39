//! [`RuntimeDiag`]: a runtime's diagnostics — every worker's task table, loop counters and
//! reactor — readable from any thread; `TEMPO_DEBUG`, which turns them on; and
//! `TEMPO_TRACE`, which turns on the trace.
//!
//! Each worker writes its own tables as it runs; this is the reader's side: what
//! [`Handle::dump`](crate::Handle::dump), the monitor console and the watchdog see.

use std::fmt::Write as _;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tempo_executor::diag::Diagnostics;

use super::dump::{Dump, TaskDump};
use super::stats::LoopStats;

/// asyncio's default `slow_callback_duration`, used when `TEMPO_DEBUG` turns debug mode on.
pub const DEFAULT_SLOW_POLL: Duration = Duration::from_millis(100);

/// The slow-poll threshold `TEMPO_DEBUG` asks for: unset, empty or `0` — none; otherwise
/// debug mode with [`DEFAULT_SLOW_POLL`], or the number of milliseconds it gives
/// (`TEMPO_DEBUG=250`).
pub(crate) fn env_slow_poll() -> Option<Duration> {
    let value = std::env::var("TEMPO_DEBUG").ok()?;
    match value.trim() {
        "" | "0" => None,
        v => Some(
            v.parse::<u64>()
                .ok()
                .filter(|&ms| ms > 1)
                .map_or(DEFAULT_SLOW_POLL, Duration::from_millis),
        ),
    }
}

/// The file `TEMPO_TRACE` asks the loop's trace to be written to: unset or empty — none.
/// Read, as `TEMPO_DEBUG` is, by every runtime built without a `Builder::trace` of its own
/// (except the diagnostics service's).
pub(crate) fn env_trace() -> Option<std::path::PathBuf> {
    let value = std::env::var_os("TEMPO_TRACE")?;
    (!value.is_empty()).then(|| value.into())
}

/// One worker's diagnostics, as the runtime's readers see them.
pub(crate) struct WorkerDiag {
    /// The worker's registry index: the `worker` its wakers carry.
    pub(crate) index: usize,
    /// The executor's task table.
    pub(crate) tasks: Arc<Diagnostics>,
    /// The loop's counters.
    pub(crate) loop_stats: Arc<LoopStats>,
    /// The worker's reactor: what tasks wait on, and timer lateness.
    pub(crate) reactor: tempo_reactor::ReactorHandle,
}

/// A runtime's diagnostics: every worker's tables, readable from any thread.
pub(crate) struct RuntimeDiag {
    /// One per worker.
    pub(crate) workers: Vec<WorkerDiag>,
    /// Extra lines for `stats` (the blocking pools' gauges), supplied by the runtime.
    pub(crate) extra_stats: Box<dyn Fn() -> String + Send + Sync>,
}

impl std::fmt::Debug for RuntimeDiag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeDiag")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl RuntimeDiag {
    /// Every live task, what it waits on, and the recently finished ones.
    pub(crate) fn dump(&self) -> Dump {
        let mut dump = Dump::disabled();
        dump.enabled = true;
        for worker in &self.workers {
            let mut waiting: Vec<(tempo_executor::TaskId, String)> = Vec::new();
            worker.reactor.for_each_waiter(|waker: &Waker, on| {
                if let Some((w, id)) = tempo_executor::decode(waker) {
                    if w == worker.index {
                        waiting.push((id, on.to_string()));
                    }
                }
            });
            for info in worker.tasks.tasks() {
                let waiting_on = waiting
                    .iter()
                    .filter(|(id, _)| *id == info.id)
                    .map(|(_, on)| on.clone())
                    .collect();
                dump.tasks.push(TaskDump { info, waiting_on });
            }
            dump.finished.extend(worker.tasks.finished());
        }
        dump.finished.sort_by_key(|t| t.finished_at);
        dump
    }

    /// The `stats` text: per worker, the loop's and the executor's counters and timer
    /// lateness; then the blocking pools.
    pub(crate) fn stats(&self) -> String {
        let mut out = String::new();
        for worker in &self.workers {
            let c = worker.tasks.counters();
            let _ = writeln!(out, "worker {}:", worker.tasks.worker());
            let _ = writeln!(out, "  {}", worker.loop_stats.snapshot());
            let _ = writeln!(
                out,
                "  tasks: {} live, {} spawned, {} polls, {} wakes, {} completed, {} panicked, \
                 {} cancelled, {} slow polls",
                worker.tasks.tasks().len(),
                c.spawned,
                c.polls,
                c.wakes,
                c.completed,
                c.panicked,
                c.cancelled,
                c.slow_polls
            );
            let _ = writeln!(out, "  timer lateness: {}", worker.reactor.timer_lateness());
        }
        out.push_str(&(self.extra_stats)());
        out
    }
}
