//! Worker threads: with `Builder::workers(n)` for `n > 1`, each worker is a thread running
//! a complete loop of its own — its own executor, reactor and timers, no work stealing
//! (`docs/DESIGN.md`, "Many cores").
//!
//! ```text
//!   build() ─┬─ spawn thread i ──► Worker::new() on that thread (an executor is !Send)
//!            │                        └─ report (Spawner, diagnostics) ──┐
//!            ├─ collect every report, assemble the Handle ◄──────────────┘
//!            └─ send the Handle to each thread ──► enter, then Worker::block_on(stop)
//!   drop ────── send stop ──► the loop returns; the worker drops its own tasks on its own
//!               thread (their destructors run where the tasks ran), then exits; join
//! ```

use std::io;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use tempo_executor::diag::Diagnostics;
use tempo_executor::observe::Fanout;
use tempo_executor::{Spawner, TaskObserver, coop};

use super::current::{Role, enter};
use super::handle::Handle;
use crate::diagnostics::{
    LoopFanout, LoopObserver, LoopStats, LoopWatch, TraceFile, Track, WorkerDiag,
};
use crate::sync::oneshot;
use crate::worker::Worker;

/// How each worker thread is to set itself up.
#[derive(Clone, Debug)]
pub(super) struct WorkerConfig {
    /// See `Builder::event_interval`.
    pub(super) event_interval: usize,
    /// Keep diagnostics, with this slow-poll threshold.
    pub(super) diagnostics: Option<Option<Duration>>,
    /// The high-resolution timer mode.
    pub(super) timer_resolution: Option<Duration>,
    /// See `Builder::park_spin`.
    pub(super) park_spin: Duration,
    /// Record the loop into this trace (`Builder::trace`, `TEMPO_TRACE`).
    pub(super) trace: Option<Arc<TraceFile>>,
    /// This loop runs the runtime's `block_on` future (not just a worker thread's signal to
    /// stop), so the trace shows its polls.
    pub(super) runs_block_on: bool,
}

/// What a worker thread sends back once its loop exists.
pub(super) struct Report {
    /// Spawns onto it.
    pub(super) spawner: Spawner,
    /// Its live-task counter.
    pub(super) live: Arc<AtomicUsize>,
    /// Its diagnostics, if on.
    pub(super) diag: Option<WorkerDiag>,
}

/// Set up a worker as `config` says: the timer mode and, if asked, diagnostics numbered
/// `number` and the trace (`number` is `usize::MAX` for the block_on worker of a runtime
/// with several). Used for worker threads and for the single worker alike.
pub(super) fn configure(
    worker: &mut Worker,
    number: usize,
    config: &WorkerConfig,
) -> io::Result<Report> {
    worker.park_spin = config.park_spin;
    if let Some(resolution) = config.timer_resolution {
        worker
            .reactor
            .get_mut()
            .set_timer_resolution(Some(resolution))?;
    }
    // Who watches this worker: debug mode, the trace, both or neither.
    let mut task_observers: Vec<Arc<dyn TaskObserver>> = Vec::new();
    let mut loop_observers: Vec<Box<dyn LoopObserver>> = Vec::new();
    let diag = config.diagnostics.map(|slow_poll| {
        let reactor = worker.reactor.get_mut().handle();
        reactor.set_diagnostics(true);
        let loop_stats = Arc::new(LoopStats::default());
        loop_observers.push(Box::new(LoopWatch::new(
            loop_stats.clone(),
            slow_poll,
            number,
        )));
        let tasks = Diagnostics::new(number, slow_poll);
        task_observers.push(tasks.clone());
        WorkerDiag {
            index: worker.executor.worker_index(),
            tasks,
            loop_stats,
            reactor,
        }
    });
    if let Some(trace) = &config.trace {
        let track = match number {
            usize::MAX => Track::BlockOn,
            n => Track::Worker(n),
        };
        let recorder = trace.recorder(track, config.runs_block_on);
        task_observers.push(recorder.clone());
        loop_observers.push(Box::new(recorder));
    }
    let task_observer: Option<Arc<dyn TaskObserver>> = match task_observers.len() {
        0 | 1 => task_observers.pop(),
        _ => Some(Arc::new(Fanout(task_observers))),
    };
    if let Some(observer) = task_observer {
        worker.executor.observe(observer);
    }
    worker.observer = match loop_observers.len() {
        0 | 1 => loop_observers.pop(),
        _ => Some(Box::new(LoopFanout(loop_observers))),
    };
    Ok(Report {
        spawner: worker.executor.spawner(),
        live: worker.executor.live_counter(),
        diag,
    })
}

/// A running worker thread; [`stop`](WorkerThread::stop) ends and joins it.
pub(super) struct WorkerThread {
    /// Ends the worker's loop.
    stop: Option<oneshot::Sender<()>>,
    /// The thread.
    thread: Option<ThreadHandle<()>>,
}

/// Start worker thread `number`; returns once its loop exists (or failed to), with what it
/// reported and where to send the runtime's Handle once every worker has reported.
pub(super) fn start(
    number: usize,
    config: WorkerConfig,
) -> io::Result<(WorkerThread, Report, mpsc::Sender<Handle>)> {
    let (report_tx, report_rx) = mpsc::channel::<io::Result<Report>>();
    let (handle_tx, handle_rx) = mpsc::channel::<Handle>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(format!("tempo-worker-{number}"))
        .spawn(move || {
            let worker = Worker::new(config.event_interval).and_then(|mut worker| {
                configure(&mut worker, number, &config).map(|report| (worker, report))
            });
            let worker = match worker {
                Ok((worker, report)) => {
                    let _ = report_tx.send(Ok(report));
                    worker
                }
                Err(e) => {
                    let _ = report_tx.send(Err(e));
                    return;
                }
            };
            // If the build failed elsewhere, the Handle never comes: just exit.
            let Ok(handle) = handle_rx.recv() else { return };
            let runtime_guard = enter(&worker, &handle, Role::Worker(number));
            let mut stop = std::pin::pin!(stop_rx);
            let waker = worker.executor.main_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            // The loop runs until the runtime says stop (or is dropped: the sender goes).
            let _ = worker.block_on(|| coop::with_budget(|| stop.as_mut().poll(&mut cx)));
            // Drop this worker's tasks here, where they ran, with the runtime current.
            worker.executor.shutdown();
            drop(runtime_guard);
        })?;
    let report = report_rx
        .recv()
        .map_err(|_| io::Error::other("tempo: a worker thread died while starting"))??;
    let thread = WorkerThread {
        stop: Some(stop_tx),
        thread: Some(thread),
    };
    Ok((thread, report, handle_tx))
}

impl WorkerThread {
    /// End the worker's loop and wait for its thread to finish its shutdown.
    pub(super) fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for WorkerThread {
    fn drop(&mut self) {
        self.stop();
    }
}
