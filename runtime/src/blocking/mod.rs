//! Thread pools for work that must not run on the loop: blocking calls and heavy
//! computation — asyncio's `to_thread` and `run_in_executor`.
//!
//! A worker runs one task at a time; a task that calls `std::thread::sleep`, reads a file
//! with `std::fs`, or hashes a gigabyte stops every other task on that worker, and its
//! sockets and timers, until it returns. Such work goes to a pool thread instead, and the
//! task awaits it:
//!
//! ```text
//!  task ── spawn_blocking(f) ──▶ [queue: crossbeam channel] ──▶ pool thread runs f()
//!   ▲                                                                  │
//!   └──── JoinHandle ready ◀── remote wake (worker's channel) ◀────────┘
//! ```
//!
//! The job is a [`BlockingTask`](tempo_executor::BlockingTask): a task like any other,
//! whose "future" is the closure, run (polled once) by a pool thread instead of a worker.
//! Its JoinHandle is the ordinary one: awaiting it gives the closure's output, a panic in
//! the closure comes back as [`JoinError::is_panic`](crate::task::JoinError::is_panic), and
//! completing it wakes the awaiting task through its worker's channel, like any wake from a
//! foreign thread.
//!
//! ## Which pool
//!
//! | the work                                  | use              | pool                       |
//! |-------------------------------------------|------------------|----------------------------|
//! | blocking I/O, waiting: files, DNS, a sync client, `sleep` | [`spawn_blocking`] | elastic: up to [`max_blocking_threads`] (512) |
//! | computing: hashing, compressing, parsing, image work | [`spawn_cpu`] | fixed: [`cpu_threads`] (one per core) |
//!
//! A blocking job mostly *waits*, so many can share a core: the pool grows to meet them.
//! A CPU job *computes*: more threads than cores only adds switching, and a burst of them
//! would starve the workers of CPU. asyncio's docs send CPU-bound work to a
//! `ProcessPoolExecutor` (to escape the GIL); Rust has no GIL, so tempo's CPU pool is
//! threads, one per core.
//!
//! ## How the blocking pool grows and shrinks
//!
//! (As smol-rs/blocking does, the policy is written here; `pool.rs` is its bookkeeping.)
//!
//! - No threads at first.
//! - A job arrives. If a thread is idle, it takes the job. Else, if fewer than
//!   `max_blocking_threads` threads exist, a new thread starts for it — at once, so N jobs
//!   that block on each other all run. Else the job waits in the queue.
//! - A thread that finishes a job takes the next queued one. With none queued, it is idle.
//!   (It counts as idle only once it has handed its job's output over, so a job spawned in
//!   that instant — the next call of a caller that awaits one call at a time — may start a
//!   second thread rather than wait for this one. The pool prefers a spare thread to a
//!   wait; the spare exits after the keep-alive.)
//! - A thread idle for [`blocking_keep_alive`] (10 s) exits. A burst leaves threads behind
//!   for a while, so the next burst finds them; a quiet runtime has none.
//! - A panic in a job is caught (and returned through the JoinHandle); the thread goes on.
//!
//! The CPU pool is the same with `cpu_threads` as the maximum and no keep-alive: its
//! threads start on demand, one per job until there are `cpu_threads`, and stay until
//! shutdown.
//!
//! ## A bounded queue, and where memory still grows
//!
//! By default the queue is unbounded: a loop that spawns a million blocking jobs queues a
//! million closures (tokio#7261). [`blocking_queue_limit`]`(n)` bounds it: the queue never
//! holds more than `n` jobs. There are then two ways in:
//!
//! - [`blocking_slot`]`().await` waits for a place in the queue, and the [`QueueSlot`]'s
//!   `spawn(f)` fills it at once. A producer loop written this way is slowed to the pool's
//!   pace and nothing accumulates. This is the API for backpressure.
//! - [`spawn_blocking`] never waits: it returns the JoinHandle at once. A job that finds
//!   the queue full waits for a place in a small *admission task* on the current worker.
//!   That task — the closure plus one task allocation — is where memory still grows if a
//!   producer spawns faster than the pool drains; [`PoolStats::waiting`] counts them.
//!
//! Either way the jobs are admitted first come, first served. Memory also grows, as it
//! always does, with JoinHandles kept and outputs nobody has awaited yet.
//!
//! ## Cancelling a job
//!
//! [`abort`](crate::task::JoinHandle::abort) on a job that has not started flags it; the
//! closure will never run. The flag is read when the job reaches a thread (or is admitted
//! to a bounded queue), and it is then that the JoinHandle reports `Cancelled`. **Shortcut,
//! labelled:** until then the aborted job keeps its place in the queue, since a channel
//! cannot take a message out of its middle; behind busy threads, awaiting its handle waits
//! for one of them to free up. A pool with a queue of its own (a linked list under the
//! pool's lock) could unlink the job and report at once. A job already running cannot be
//! stopped: it runs to the end and its output is kept.
//!
//! ## Shutdown
//!
//! Dropping the [`Runtime`](crate::Runtime) drops its tasks first, then shuts the pools:
//!
//! 1. Admission stops: jobs waiting for a queue place, and jobs spawned from now on, are
//!    cancelled.
//! 2. Every job still queued is cancelled: its JoinHandle reports `Cancelled`, and its
//!    closure is dropped without running. A queued job never vanishes silently.
//! 3. Running jobs get up to [`shutdown_timeout`] (10 s) to finish; the drop waits for
//!    them. Threads still running then are detached: they finish the job on their own —
//!    its JoinHandle still gets the output — and exit. Nothing can stop a thread in Rust,
//!    which is why the bound is on the wait, not on the job.
//!
//! [`max_blocking_threads`]: crate::Builder::max_blocking_threads
//! [`blocking_keep_alive`]: crate::Builder::blocking_keep_alive
//! [`blocking_queue_limit`]: crate::Builder::blocking_queue_limit
//! [`cpu_threads`]: crate::Builder::cpu_threads
//! [`shutdown_timeout`]: crate::Builder::shutdown_timeout

mod admission;
mod pool;
mod stats;

use std::future::Future;
use std::time::{Duration, Instant};

use tempo_executor::{JoinHandle, Spawner};

pub use admission::QueueSlot;
pub use stats::{BlockingStats, PoolStats};

use admission::Gated;
use pool::{Kind, Pool};

use crate::Handle;

/// The pools' configuration, as the [`Builder`](crate::Builder) collects it.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The elastic pool's most threads. Default 512.
    pub(crate) max_blocking_threads: usize,
    /// How long an idle blocking thread waits for work before it exits. Default 10 s.
    pub(crate) blocking_keep_alive: Duration,
    /// The blocking pool's queue bound; `None` (the default) for unbounded.
    pub(crate) blocking_queue_limit: Option<usize>,
    /// The CPU pool's threads; `None` (the default) for one per core.
    pub(crate) cpu_threads: Option<usize>,
    /// The CPU pool's queue bound; `None` (the default) for unbounded.
    pub(crate) cpu_queue_limit: Option<usize>,
    /// How long the runtime's drop waits for running jobs. Default 10 s.
    pub(crate) shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            blocking_queue_limit: None,
            cpu_threads: None,
            cpu_queue_limit: None,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// A runtime's two pools. Held by its [`Handle`] in an `Arc`, so every clone of the handle
/// reaches the same pools.
#[derive(Debug)]
pub(crate) struct Pools {
    /// The elastic pool, for `spawn_blocking`.
    blocking: Gated,
    /// The fixed pool, for `spawn_cpu`.
    cpu: Gated,
    /// How long `shutdown` waits for running jobs.
    shutdown_timeout: Duration,
}

impl Pools {
    /// Both pools, with no threads yet.
    pub(crate) fn new(config: &Config) -> Pools {
        let cpu_threads = config.cpu_threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        let blocking = Pool::new(
            Kind::Blocking,
            config.max_blocking_threads,
            Some(config.blocking_keep_alive),
            config.blocking_queue_limit,
        );
        let cpu = Pool::new(Kind::Cpu, cpu_threads, None, config.cpu_queue_limit);
        Pools {
            blocking: Gated::new(blocking, config.blocking_queue_limit),
            cpu: Gated::new(cpu, config.cpu_queue_limit),
            shutdown_timeout: config.shutdown_timeout,
        }
    }

    /// `spawn_blocking` for a handle: admission tasks, if any, go to `spawner`'s worker.
    pub(crate) fn spawn_blocking<F, R>(&self, spawner: &Spawner, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking.spawn(spawner, f)
    }

    /// `spawn_cpu` for a handle.
    pub(crate) fn spawn_cpu<F, R>(&self, spawner: &Spawner, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.cpu.spawn(spawner, f)
    }

    /// A place in the blocking pool's queue.
    pub(crate) fn blocking_slot(&self) -> impl Future<Output = QueueSlot> + Send + use<> {
        self.blocking.slot()
    }

    /// A place in the CPU pool's queue.
    pub(crate) fn cpu_slot(&self) -> impl Future<Output = QueueSlot> + Send + use<> {
        self.cpu.slot()
    }

    /// Both pools' gauges.
    pub(crate) fn stats(&self) -> BlockingStats {
        BlockingStats {
            blocking: self.blocking.pool().stats(),
            cpu: self.cpu.pool().stats(),
        }
    }

    /// Shut both pools down, steps 1–3 of the module doc. Returns true if every running job
    /// finished within the timeout, false if some threads were detached. Called by the
    /// runtime's drop, after its tasks are gone; calling it again is harmless.
    /// Let pool threads enter the runtime's context (see `pool::Shared::context`).
    pub(crate) fn set_context(&self, handle: Option<crate::Handle>) {
        self.blocking.pool().set_context(handle.clone());
        self.cpu.pool().set_context(handle);
    }

    pub(crate) fn shutdown(&self) -> bool {
        // 0. Threads started from now on run without the runtime's context.
        self.set_context(None);
        // 1. No more admissions.
        self.blocking.close();
        self.cpu.close();
        // 2. Cancel what is queued; threads exit once idle.
        self.blocking.pool().begin_shutdown();
        self.cpu.pool().begin_shutdown();
        // 3. One deadline for both pools: the drop waits `shutdown_timeout` at most.
        let deadline = Instant::now() + self.shutdown_timeout;
        let blocking_done = self.blocking.pool().wait_for_threads(deadline);
        let cpu_done = self.cpu.pool().wait_for_threads(deadline);
        blocking_done && cpu_done
    }
}

/// The current runtime's handle, or a panic naming `what` was called outside one.
#[track_caller]
fn current(what: &str) -> Handle {
    Handle::try_current().unwrap_or_else(|| {
        panic!(
            "tempo::task::{what} called outside a tempo runtime: call it from a task, or use \
             `Handle::{what}` from other threads (including from inside a blocking job)"
        )
    })
}

/// Run the blocking closure `f` on the elastic blocking pool and return a handle to await
/// its output — asyncio's `await asyncio.to_thread(f)`.
///
/// Use it for calls that block: `std::fs`, a synchronous database client, DNS lookups,
/// `std::thread::sleep`, waiting on a std channel. For computation, use [`spawn_cpu`].
/// The pool starts a thread for the job if none is idle (up to
/// [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)); see the
/// [module doc](self) for the policy and for what happens when the queue is bounded.
///
/// Mirrors asyncio's `to_thread` and `loop.run_in_executor(None, f)`; differs in that the
/// pool is elastic (asyncio's default executor is a fixed `min(32, cores + 4)` threads),
/// in that the closure does not see the caller's [`ContextVar`](crate::task::ContextVar)s
/// (`to_thread` copies them), and in that a panic comes back as a `JoinError`. Like
/// asyncio, [`abort`](JoinHandle::abort) stops a job only if it has not started: a
/// running closure always runs to the end, and its output is kept.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let len = tempo::task::spawn_blocking(|| {
///         std::fs::read("/etc/hostname").map(|bytes| bytes.len()).unwrap_or(0)
///     });
///     let panicked = tempo::task::spawn_blocking(|| -> u32 { panic!("oops") });
///     let _ = len.await.unwrap();
///     assert_eq!(panicked.await.unwrap_err().panic_message(), Some("oops"));
/// });
/// ```
///
/// # Panics
/// Outside a tempo runtime; from other threads (a blocking job included) use
/// [`Handle::spawn_blocking`].
#[track_caller]
#[doc(alias = "to_thread")]
#[doc(alias = "run_in_executor")]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    current("spawn_blocking").spawn_blocking(f)
}

/// Run the CPU-bound closure `f` on the fixed CPU pool — one thread per core, by default —
/// and return a handle to await its output.
///
/// Use it for computation: hashing, compressing, parsing, rendering. A fixed pool keeps a
/// burst of such jobs from oversubscribing the machine: they queue instead of adding
/// threads, and the workers keep their cores. For blocking calls, which mostly wait, use
/// [`spawn_blocking`]: a blocking call here would hold one of only a few threads.
///
/// Mirrors asyncio's advice to run CPU-bound work with `loop.run_in_executor` on a
/// `ProcessPoolExecutor`; differs in using threads, since Rust has no GIL to escape.
///
/// ```
/// # use tempo_runtime as tempo;
/// let rt = tempo::Builder::new().cpu_threads(2).build().unwrap();
/// let sum = rt.block_on(async {
///     let halves = [
///         tempo::task::spawn_cpu(|| (0..500_000u64).sum::<u64>()),
///         tempo::task::spawn_cpu(|| (500_000..1_000_000u64).sum::<u64>()),
///     ];
///     let mut sum = 0;
///     for half in halves {
///         sum += half.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, (0..1_000_000u64).sum::<u64>());
/// ```
///
/// # Panics
/// Outside a tempo runtime; from other threads use [`Handle::spawn_cpu`].
#[track_caller]
#[doc(alias = "run_in_executor")]
#[doc(alias = "ProcessPoolExecutor")]
pub fn spawn_cpu<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    current("spawn_cpu").spawn_cpu(f)
}

/// Wait for a place in the blocking pool's queue; the [`QueueSlot`]'s `spawn(f)` then
/// submits a job without waiting. The way for a producer loop to be held to the pool's
/// pace when [`Builder::blocking_queue_limit`](crate::Builder::blocking_queue_limit) is
/// set; resolves at once when the queue is unbounded.
///
/// **Cancellation safe:** dropping the future gives up its turn, and never a place.
///
/// # Panics
/// Outside a tempo runtime; from other threads use [`Handle::blocking_slot`].
#[track_caller]
pub fn blocking_slot() -> impl Future<Output = QueueSlot> + Send + use<> {
    current("blocking_slot").blocking_slot()
}

/// [`blocking_slot`] for the CPU pool, bounded by
/// [`Builder::cpu_queue_limit`](crate::Builder::cpu_queue_limit).
///
/// # Panics
/// Outside a tempo runtime; from other threads use [`Handle::cpu_slot`].
#[track_caller]
pub fn cpu_slot() -> impl Future<Output = QueueSlot> + Send + use<> {
    current("cpu_slot").cpu_slot()
}
