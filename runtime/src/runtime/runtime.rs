//! [`Runtime`] and [`run`]: building a runtime's loops, running a future on it, and
//! shutting it down.
//!
//! asyncio's `asyncio.run(main())` creates a loop, runs `main` on it until it completes,
//! then cancels what is left and closes the loop; [`run`] does the same with a `Runtime`.
//! The loops themselves are `Worker`s (`worker.rs`); with several workers, all but the
//! `block_on` one run on threads of their own (`threads.rs`).

use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::task::Context;

use tempo_executor::{JoinHandle, coop};

use super::config::{RuntimeConfig, TraceTarget};
use super::current::{Role, RuntimeGuard, enter, run_in_runtime};
use super::handle::Handle;
use super::threads::{self, WorkerConfig};
use crate::blocking::Pools;
use crate::diagnostics::service::{Service, ServiceOptions};
use crate::diagnostics::{DEFAULT_TRACE_MAX_EVENTS, RuntimeDiag, TraceFile, WorkerDiag};
use crate::worker::Worker;

/// Run a future to completion on a new runtime, then shut the runtime down — asyncio's
/// `asyncio.run(main())`.
///
/// ```
/// # use tempo_runtime as tempo;
/// let answer = tempo::run(async {
///     let task = tempo::spawn(async { 6 * 7 });
///     tempo::time::sleep(std::time::Duration::from_millis(1)).await;
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// Tasks still running when the future finishes are cancelled: their futures are dropped.
/// Blocking jobs still running get up to
/// [`Builder::shutdown_timeout`](crate::Builder::shutdown_timeout) (10 s) to finish.
///
/// # Panics
/// If the runtime cannot be created (the process is out of file descriptors), or if called
/// from inside a runtime.
#[doc(alias = "asyncio.run")]
pub fn run<F: Future>(future: F) -> F::Output {
    Runtime::new()
        .expect("tempo::run: could not create the runtime")
        .block_on(future)
}

/// An event loop: one worker by default, or several
/// ([`Builder::workers`](crate::Builder::workers)).
///
/// With one worker, the worker *is* the thread that calls [`block_on`](Runtime::block_on):
/// tasks run while `block_on` runs, as with tokio's `current_thread` runtime. One loop in
/// all.
///
/// With `n > 1`, each worker is a thread of its own running a complete loop — executor,
/// reactor, timers — from the moment the runtime is built. `block_on` then runs the given
/// future on the calling thread, on one more loop: the *block_on worker*, which is not one
/// of the `n` (it has no worker number, [`current_worker`](crate::task::current_worker) is
/// `None` there, and [`Handle::spawn`] never picks it). It polls only the `block_on` future
/// and its [`spawn_local`](crate::spawn_local) tasks, and waits on the sockets and timers
/// they create, which register with its reactor. [`spawn`](crate::spawn) from it places
/// tasks on the workers, round-robin. So `n + 1` loops run, each with its own `epoll`:
/// the extra one because the `block_on` future is `!Send` in general and must be polled on
/// the thread that called `block_on`, which therefore needs a loop of its own to wait on.
///
/// A `Runtime` stays on the thread that built it (it is not `Send`), because the tasks on
/// that thread's loop may be `!Send` ([`spawn_local`](crate::spawn_local)). Give other
/// threads a [`Handle`] instead. Dropping the runtime cancels every task that is still
/// running — each future is dropped on its own worker's thread, so its destructors run
/// there — joins the worker threads and closes the reactors. Then it shuts the blocking and
/// CPU pools: queued jobs are cancelled, and running ones get up to
/// [`Builder::shutdown_timeout`](crate::Builder::shutdown_timeout) to finish before their
/// threads are detached.
pub struct Runtime {
    /// The loop `block_on` runs on this thread: with one worker, worker 0 itself; with
    /// several, the block_on worker, an extra loop that is none of them.
    block_on_worker: Worker,
    /// With `n > 1` workers, the worker threads.
    threads: Vec<threads::WorkerThread>,
    /// What other threads use.
    handle: Handle,
    /// The diagnostics thread (watchdog, monitor, SIGUSR1), if diagnostics asked for it.
    service: Option<Service>,
    /// Live-task counters of every worker, for `live_tasks`.
    live: Vec<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// The trace of the loops, if asked for: written when the runtime is dropped.
    trace: Option<Arc<TraceFile>>,
    /// Holds the runtime on its thread.
    _not_send: PhantomData<*const ()>,
}

impl Runtime {
    /// A runtime with the default configuration (one worker): the same as
    /// [`Builder::new`](crate::Builder::new)`().build()`.
    pub fn new() -> io::Result<Runtime> {
        Runtime::with_config(&RuntimeConfig::default())
    }

    /// Build a runtime as `config` says: its loops, its pools, its diagnostics. What
    /// [`Builder::build`](crate::Builder::build) does.
    pub(crate) fn with_config(config: &RuntimeConfig) -> io::Result<Runtime> {
        let diag = config.effective_diag();
        let trace = open_trace(config)?;
        let worker_config = WorkerConfig {
            event_interval: config.event_interval,
            diagnostics: diag.enabled.then_some(diag.slow_poll),
            timer_resolution: diag.timer_resolution,
            park_spin: config.park_spin,
            trace: trace.clone(),
            runs_block_on: config.workers == 1,
        };
        // 1. The loop `block_on` runs on this thread, and the workers' loops.
        let mut block_on_worker = Worker::new(config.event_interval)?;
        let mut reports = Vec::with_capacity(config.workers);
        let mut started = Vec::new();
        if config.workers == 1 {
            reports.push(threads::configure(&mut block_on_worker, 0, &worker_config)?);
        } else {
            // The block_on worker runs only the block_on future (and its spawn_local
            // tasks), with the timer mode asked for but no diagnostics of its own.
            let block_on_config = WorkerConfig {
                diagnostics: None,
                runs_block_on: true,
                ..worker_config.clone()
            };
            threads::configure(&mut block_on_worker, usize::MAX, &block_on_config)?;
            for number in 0..config.workers {
                // A failure drops the threads started so far: they exit, never given a Handle.
                let (thread, report, handle_tx) = threads::start(number, worker_config.clone())?;
                started.push((thread, handle_tx));
                reports.push(report);
            }
        }
        // 2. The pools, and the diagnostics the workers reported (with the service thread,
        //    if asked for).
        let blocking = Arc::new(Pools::new(&config.blocking));
        let live = reports.iter().map(|r| r.live.clone()).collect();
        let spawners = reports.iter().map(|r| r.spawner.clone()).collect();
        let workers: Vec<WorkerDiag> = reports.into_iter().filter_map(|r| r.diag).collect();
        let mut service = None;
        let runtime_diag = if diag.enabled {
            let pools = blocking.clone();
            let shared = Arc::new(RuntimeDiag {
                workers,
                extra_stats: Box::new(move || {
                    let s = pools.stats();
                    format!("blocking pool: {:?}\ncpu pool: {:?}\n", s.blocking, s.cpu)
                }),
            });
            if diag.slow_poll.is_some() || diag.monitor.is_some() || diag.dump_on_sigusr1 {
                let options = ServiceOptions {
                    watchdog: diag.slow_poll,
                    monitor: diag.monitor,
                    dump_on_sigusr1: diag.dump_on_sigusr1,
                };
                service = Some(Service::start(shared.clone(), options, service_runtime)?);
            }
            Some(shared)
        } else {
            None
        };
        // 3. The handle, given to the pools' threads and then to each worker thread, which
        //    has been waiting for it to enter the runtime and start its loop.
        let handle = Handle {
            spawners,
            next: Arc::new(AtomicUsize::new(0)),
            blocking,
            diag: runtime_diag,
        };
        handle
            .blocking
            .set_run_in_runtime(Some(run_in_runtime(handle.clone())));
        let threads = started
            .into_iter()
            .map(|(thread, handle_tx)| {
                // A worker that has died cannot take the handle; its loop is gone, and its
                // tasks will be reported Cancelled.
                let _ = handle_tx.send(handle.clone());
                thread
            })
            .collect();
        Ok(Runtime {
            block_on_worker,
            threads,
            handle,
            service,
            live,
            trace,
            _not_send: PhantomData,
        })
    }

    /// Run `future` to completion on this thread, running the runtime's tasks, I/O and
    /// timers meanwhile — asyncio's `loop.run_until_complete`.
    ///
    /// # Panics
    /// If this thread is already running a runtime's `block_on`: a loop cannot wait on
    /// itself.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = self.enter();
        let mut future = pin!(future);
        let waker = self.block_on_worker.executor.main_waker();
        let mut cx = Context::from_waker(&waker);
        self.block_on_worker
            .block_on(|| coop::with_budget(|| future.as_mut().poll(&mut cx)))
    }

    /// Spawn a task. With one worker it goes on worker 0 and runs while some `block_on` runs
    /// the loop; with several, it is placed on a worker round-robin, as by
    /// [`Handle::spawn`], and runs at once.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.threads.is_empty() {
            self.block_on_worker.executor.spawn(future)
        } else {
            self.handle.spawn(future)
        }
    }

    /// Spawn a task that need not be `Send`, on this thread's loop — worker 0, or the block_on
    /// worker of a runtime with several: it runs while `block_on` runs.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.block_on_worker.executor.spawn(future)
    }

    /// A handle for spawning onto this runtime from other threads.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Where the monitor console listens, if [`Builder::monitor`](crate::Builder::monitor)
    /// asked for one.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.service.as_ref().and_then(Service::monitor_addr)
    }

    /// How many tasks are alive on all workers: spawned and not finished.
    pub fn live_tasks(&self) -> usize {
        self.live
            .iter()
            .map(|n| n.load(std::sync::atomic::Ordering::Acquire))
            .sum()
    }

    /// Make this runtime current on this thread, for `block_on` and for shutdown.
    fn enter(&self) -> RuntimeGuard<'_> {
        let role = if self.threads.is_empty() {
            Role::Worker(0)
        } else {
            Role::BlockOn
        };
        enter(&self.block_on_worker, &self.handle, role)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // 1. This thread's tasks, with the runtime current, so that their destructors can
        //    still deregister sockets and timers (and may even spawn: such tasks are
        //    cancelled at once).
        let enter = Handle::try_current().is_none().then(|| self.enter());
        self.block_on_worker.executor.shutdown();
        drop(enter);
        // 2. The worker threads: each drops its own tasks on its own thread, then exits.
        for thread in &mut self.threads {
            thread.stop();
        }
        self.threads.clear();
        // 3. The diagnostics thread: it reads the tables the workers have just emptied.
        self.service.take();
        // 4. The pools: queued jobs are cancelled, running ones get `shutdown_timeout` to
        //    finish before their threads are detached (see `blocking`).
        self.handle.blocking.shutdown();
        // 5. The trace, now that every loop has stopped: written to its file.
        if let Some(trace) = &self.trace {
            trace.finish();
        }
        // Then the fields drop: this thread's executor, then its reactor.
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.workers())
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

/// The trace file `config` asks for, created now. One the Builder named must be created, or
/// the build fails; one `TEMPO_TRACE` named is only reported if it cannot be, and the
/// program runs untraced, as it would have without the variable.
fn open_trace(config: &RuntimeConfig) -> io::Result<Option<Arc<TraceFile>>> {
    let max_events = config
        .diag
        .trace_max_events
        .unwrap_or(DEFAULT_TRACE_MAX_EVENTS);
    match config.trace_target() {
        None => Ok(None),
        Some(TraceTarget::Builder(path)) => TraceFile::create(&path, max_events).map(Some),
        Some(TraceTarget::Env(path)) => match TraceFile::create(&path, max_events) {
            Ok(trace) => Ok(Some(trace)),
            Err(e) => {
                tempo_executor::diag::warn(format_args!("{e} (from TEMPO_TRACE); not tracing"));
                Ok(None)
            }
        },
    }
}

/// The diagnostics service's own runtime ([`OwnRuntime`](crate::diagnostics::service::OwnRuntime)):
/// a plain one-worker runtime on the service thread, running `services` to completion.
fn service_runtime(services: Pin<Box<dyn Future<Output = ()>>>) -> io::Result<()> {
    Runtime::with_config(&RuntimeConfig::plain())?.block_on(services);
    Ok(())
}
