//! [`Runtime`], [`Builder`], [`Handle`] and [`run`]: creating a loop and running a future
//! on it.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use tempo_executor::{JoinHandle, Spawner, coop};

use crate::blocking::{BlockingStats, Pools, QueueSlot};
use crate::diagnostics::service::ServiceOptions;
use crate::diagnostics::{Dump, LoopStats, RuntimeDiag, Service, WorkerDiag};
use crate::worker::Worker;

/// Task polls between two looks at the reactor when tasks are always ready. tokio uses the
/// same default (61: a prime, so it does not fall into step with the application's cycles).
const DEFAULT_EVENT_INTERVAL: usize = 61;

thread_local! {
    /// True while this thread runs a runtime's `block_on`.
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
    /// The handle of that runtime.
    static CURRENT: std::cell::RefCell<Option<Handle>> = const { std::cell::RefCell::new(None) };
}

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
/// Blocking jobs still running get up to [`Builder::shutdown_timeout`] (10 s) to finish.
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

/// Configures and builds a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    /// See [`Builder::event_interval`].
    event_interval: usize,
    /// The blocking and CPU pools' settings: see [`Builder::max_blocking_threads`] and the
    /// methods after it.
    blocking: crate::blocking::Config,
    /// Diagnostics settings: see [`Builder::diagnostics`] and the methods after it.
    diag: DiagConfig,
}

/// What the Builder's diagnostics methods set.
#[derive(Clone, Debug, Default)]
struct DiagConfig {
    /// Keep task tables and loop statistics.
    enabled: bool,
    /// Warn about polls (and whole run phases) longer than this; run the watchdog.
    slow_poll: Option<Duration>,
    /// Serve the monitor console here (loopback only).
    monitor: Option<SocketAddr>,
    /// Print a task dump to stderr on SIGUSR1.
    dump_on_sigusr1: bool,
    /// Use the high-resolution timer mode at this resolution.
    timer_resolution: Option<Duration>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default configuration: one worker.
    pub fn new() -> Builder {
        Builder {
            event_interval: DEFAULT_EVENT_INTERVAL,
            blocking: crate::blocking::Config::default(),
            diag: DiagConfig::default(),
        }
    }

    /// Keep diagnostics: per-worker task tables (names, spawn locations, states, poll
    /// counts, busy time), the ring of recently finished tasks, loop statistics and the
    /// timer-lateness histogram — what [`Handle::dump`] and the monitor console show. Off by
    /// default; then they cost nothing measurable. `TEMPO_DEBUG=1` in the environment turns
    /// them on with a 100 ms slow-poll threshold, without recompiling.
    pub fn diagnostics(&mut self, on: bool) -> &mut Builder {
        self.diag.enabled = on;
        self
    }

    /// asyncio debug mode's `slow_callback_duration`: log a warning for every task poll
    /// longer than `threshold`, naming the task; log a warning for a run phase that takes
    /// longer as a whole (many short polls adding up); and start a watchdog that reports a
    /// worker stuck in one poll *while* it is stuck. Turns diagnostics on.
    #[doc(alias = "slow_callback_duration")]
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.diag.enabled = true;
        self.diag.slow_poll = Some(threshold);
        self
    }

    /// Serve a monitor console on `addr`, which must be a loopback address (port 0 picks a
    /// free one; see [`Runtime::monitor_addr`]) — aiomonitor for tempo. Connect with
    /// `nc 127.0.0.1 PORT` and type `ps`, `ps-finished` or `stats`. It runs on its own
    /// thread, so it answers even while the workers are blocked. Turns diagnostics on. An
    /// address that does not resolve makes [`build`](Builder::build) fail.
    pub fn monitor(&mut self, addr: impl std::net::ToSocketAddrs) -> &mut Builder {
        self.diag.enabled = true;
        self.diag.monitor = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
        if self.diag.monitor.is_none() {
            // Remembered as an unspecified address: `build` reports it.
            self.diag.monitor = Some(SocketAddr::from(([0, 0, 0, 0], 0)));
        }
        self
    }

    /// Print a task dump to stderr when the process receives SIGUSR1 (`kill -USR1 PID`) —
    /// `py-spy dump` for tempo tasks. Turns diagnostics on. Unix only.
    pub fn dump_on_sigusr1(&mut self, on: bool) -> &mut Builder {
        self.diag.enabled |= on;
        self.diag.dump_on_sigusr1 = on;
        self
    }

    /// Sleep with finer than millisecond precision: below 1 ms, the reactor arms a Linux
    /// `timerfd` for the nearest deadline instead of relying on `epoll_wait`'s millisecond
    /// timeout, so a 200 µs sleep wakes tens of microseconds late rather than a millisecond
    /// (tokio#5021). On other systems kqueue's nanosecond timeout is used as is. Costs a
    /// `timerfd_settime` when the nearest deadline changes.
    pub fn timer_resolution(&mut self, resolution: Duration) -> &mut Builder {
        self.diag.timer_resolution = Some(resolution);
        self
    }

    /// How many task polls the worker runs before it looks at the reactor again, when tasks
    /// are always ready. Lower is fairer to I/O and timers; higher spends fewer syscalls.
    /// Default 61.
    pub fn event_interval(&mut self, polls: usize) -> &mut Builder {
        self.event_interval = polls.max(1);
        self
    }

    /// The most threads the blocking pool ([`spawn_blocking`](crate::task::spawn_blocking))
    /// runs at once; more jobs than that wait in its queue. Default 512, as tokio's. At
    /// least 1.
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Builder {
        self.blocking.max_blocking_threads = threads.max(1);
        self
    }

    /// How long a blocking-pool thread with no work waits for some before it exits.
    /// Default 10 s, as tokio's.
    pub fn blocking_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.blocking.blocking_keep_alive = keep_alive;
        self
    }

    /// Bound the blocking pool's queue to `jobs` jobs (at least 1): a job that finds it
    /// full waits, asynchronously, for a place — see [`blocking_slot`] for the producer
    /// side and the [`blocking`](crate::blocking) module for where memory can still grow.
    /// Default: unbounded.
    ///
    /// [`blocking_slot`]: crate::task::blocking_slot
    pub fn blocking_queue_limit(&mut self, jobs: usize) -> &mut Builder {
        self.blocking.blocking_queue_limit = Some(jobs.max(1));
        self
    }

    /// How many threads the CPU pool ([`spawn_cpu`](crate::task::spawn_cpu)) runs, started
    /// as jobs arrive and kept until shutdown. Default: the number of cores
    /// (`std::thread::available_parallelism`). At least 1.
    pub fn cpu_threads(&mut self, threads: usize) -> &mut Builder {
        self.blocking.cpu_threads = Some(threads.max(1));
        self
    }

    /// Bound the CPU pool's queue to `jobs` jobs (at least 1), as
    /// [`blocking_queue_limit`](Builder::blocking_queue_limit) does for the blocking pool;
    /// producers wait with [`cpu_slot`](crate::task::cpu_slot). Default: unbounded.
    pub fn cpu_queue_limit(&mut self, jobs: usize) -> &mut Builder {
        self.blocking.cpu_queue_limit = Some(jobs.max(1));
        self
    }

    /// How long dropping the runtime waits for blocking and CPU jobs that are still
    /// running; after that their threads are detached and finish on their own. Queued jobs
    /// do not wait: they are cancelled. Default 10 s.
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Builder {
        self.blocking.shutdown_timeout = timeout;
        self
    }

    /// Build the runtime.
    pub fn build(&self) -> io::Result<Runtime> {
        let mut diag = self.diag.clone();
        if let Some(threshold) = crate::diagnostics::env_slow_poll() {
            diag.enabled = true;
            diag.slow_poll.get_or_insert(threshold);
        }
        let mut worker = Worker::new(self.event_interval)?;
        if let Some(resolution) = diag.timer_resolution {
            worker
                .reactor
                .get_mut()
                .set_timer_resolution(Some(resolution))?;
        }
        let blocking = Arc::new(Pools::new(&self.blocking));
        let mut runtime_diag = None;
        let mut service = None;
        if diag.enabled {
            let reactor = worker.reactor.get_mut().handle();
            reactor.set_diagnostics(true);
            let loop_stats = Arc::new(LoopStats::default());
            worker.stats = Some((loop_stats.clone(), diag.slow_poll));
            let pools = blocking.clone();
            let shared = Arc::new(RuntimeDiag {
                workers: vec![WorkerDiag {
                    index: worker.executor.worker_index(),
                    tasks: worker.executor.enable_diagnostics(0, diag.slow_poll),
                    loop_stats,
                    reactor,
                }],
                extra_stats: Box::new(move || {
                    let s = pools.stats();
                    format!("blocking pool: {:?}\ncpu pool: {:?}\n", s.blocking, s.cpu)
                }),
            });
            let wants_service =
                diag.slow_poll.is_some() || diag.monitor.is_some() || diag.dump_on_sigusr1;
            if wants_service {
                service = Some(Service::start(
                    shared.clone(),
                    ServiceOptions {
                        watchdog: diag.slow_poll,
                        monitor: diag.monitor,
                        dump_on_sigusr1: diag.dump_on_sigusr1,
                    },
                )?);
            }
            runtime_diag = Some(shared);
        }
        let handle = Handle {
            spawner: worker.executor.spawner(),
            blocking,
            diag: runtime_diag,
        };
        Ok(Runtime {
            worker,
            handle,
            service,
            _not_send: PhantomData,
        })
    }
}

/// An event loop: one worker, which is the thread that calls [`block_on`](Runtime::block_on).
///
/// A `Runtime` stays on the thread that built it (it is not `Send`), because the tasks it
/// holds may be `!Send` ([`spawn_local`](crate::spawn_local)). Give other threads a
/// [`Handle`] instead. Dropping the runtime cancels every task that is still running — each
/// future is dropped here, so its destructors run — and closes the reactor. Then it shuts
/// the blocking and CPU pools: queued jobs are cancelled, and running ones get up to
/// [`Builder::shutdown_timeout`] to finish before their threads are detached.
pub struct Runtime {
    /// The one worker.
    worker: Worker,
    /// What other threads use.
    handle: Handle,
    /// The diagnostics thread (watchdog, monitor, SIGUSR1), if diagnostics asked for it.
    service: Option<Service>,
    /// Holds the runtime on its thread.
    _not_send: PhantomData<*const ()>,
}

impl Runtime {
    /// A runtime with the default configuration.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
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
        let waker = self.worker.executor.main_waker();
        let mut cx = Context::from_waker(&waker);
        self.worker
            .block_on(|| coop::with_budget(|| future.as_mut().poll(&mut cx)))
    }

    /// Spawn a task; it runs while some `block_on` runs the loop.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.worker.executor.spawn(future)
    }

    /// Spawn a task that need not be `Send`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.worker.executor.spawn(future)
    }

    /// A handle for spawning onto this runtime from other threads.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Where the monitor console listens, if [`Builder::monitor`] asked for one.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.service.as_ref().and_then(Service::monitor_addr)
    }

    /// How many tasks are alive: spawned and not finished.
    pub fn live_tasks(&self) -> usize {
        self.worker.executor.live_tasks()
    }

    /// Make this runtime current on this thread, for `block_on` and for shutdown.
    fn enter(&self) -> Entered<'_> {
        assert!(
            !IN_RUNTIME.replace(true),
            "tempo: cannot block_on inside a runtime: the thread is already running an event \
             loop, which would wait on itself. Await the future instead, or spawn it."
        );
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.handle.clone()));
        Entered {
            _executor: self.worker.executor.enter(),
            _reactor: self.worker.reactor.borrow().enter(),
            previous,
        }
    }
}

/// The runtime's context on this thread; restored when dropped.
struct Entered<'a> {
    _executor: tempo_executor::executor::Enter<'a>,
    _reactor: tempo_reactor::driver::Enter,
    previous: Option<Handle>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        IN_RUNTIME.set(false);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Drop every task's future here, with the runtime current, so that their destructors
        // can still deregister sockets and timers (and may even spawn: such tasks are
        // cancelled at once). Then the fields drop: the executor, then the reactor.
        let in_runtime = IN_RUNTIME.get();
        let _enter = (!in_runtime).then(|| self.enter());
        self.worker.executor.shutdown();
        drop(_enter);
        // The diagnostics thread next: it reads the tables the workers are about to drop.
        self.service.take();
        // Then the pools: queued jobs are cancelled, running ones get `shutdown_timeout`
        // to finish before their threads are detached (see `blocking`).
        self.handle.blocking.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

/// A handle to a runtime: `Send + Sync`, cheap to clone. Spawns `Send` futures onto the
/// runtime from any thread.
#[derive(Clone, Debug)]
pub struct Handle {
    /// Spawns onto the worker.
    spawner: Spawner,
    /// The blocking and CPU pools, shared by every clone of the handle.
    blocking: Arc<Pools>,
    /// The runtime's diagnostics, if they are on.
    diag: Option<Arc<RuntimeDiag>>,
}

impl Handle {
    /// A task dump: every live task — id, name, spawn location, state, polls, busy time,
    /// age, and what it waits on where the reactor knows — and the recently finished ones
    /// with how they ended. Its `Display` is a table. Callable from any thread, including
    /// while the workers are blocked. Empty (`enabled == false`) unless diagnostics are on.
    #[doc(alias = "py-spy dump")]
    pub fn dump(&self) -> Dump {
        match &self.diag {
            Some(diag) => diag.dump(),
            None => Dump::disabled(),
        }
    }

    /// What the monitor's `stats` prints: per worker, loop turns, time in `epoll_wait`,
    /// polls, wakes, queue depth and timer lateness; then the blocking pools' gauges.
    /// `None` unless diagnostics are on.
    pub fn stats_report(&self) -> Option<String> {
        self.diag.as_ref().map(|d| d.stats())
    }

    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn current() -> Handle {
        Handle::try_current().expect("tempo::Handle::current called outside a tempo runtime")
    }

    /// The handle of the runtime running on this thread, if any.
    pub fn try_current() -> Option<Handle> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Spawn a task onto the runtime, from any thread. If the runtime has shut down, the
    /// task is dropped and its handle reports it cancelled. Called from inside a task, the
    /// new task inherits that task's [context](crate::task::ContextVar).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::task::spawn_via(&self.spawner, future)
    }
}

/// The blocking and CPU pools, from any thread: see [`blocking`](crate::blocking).
impl Handle {
    /// Run `f` on the blocking pool — [`task::spawn_blocking`](crate::task::spawn_blocking)
    /// from any thread, a blocking job included. If the queue is bounded and full, the job
    /// waits for a place on the runtime's worker, so it is admitted only while the runtime
    /// runs. After shutdown the handle reports `Cancelled`.
    #[doc(alias = "to_thread")]
    #[doc(alias = "run_in_executor")]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking.spawn_blocking(&self.spawner, f)
    }

    /// Run `f` on the CPU pool — [`task::spawn_cpu`](crate::task::spawn_cpu) from any
    /// thread.
    pub fn spawn_cpu<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking.spawn_cpu(&self.spawner, f)
    }

    /// Wait for a place in the blocking pool's queue —
    /// [`task::blocking_slot`](crate::task::blocking_slot) from any thread. The future may
    /// be awaited on any executor.
    pub fn blocking_slot(&self) -> impl Future<Output = QueueSlot> + Send + use<> {
        self.blocking.blocking_slot()
    }

    /// Wait for a place in the CPU pool's queue — [`task::cpu_slot`](crate::task::cpu_slot)
    /// from any thread.
    pub fn cpu_slot(&self) -> impl Future<Output = QueueSlot> + Send + use<> {
        self.blocking.cpu_slot()
    }

    /// Threads, idle threads, queue depth and more, for both pools.
    pub fn blocking_stats(&self) -> BlockingStats {
        self.blocking.stats()
    }
}
