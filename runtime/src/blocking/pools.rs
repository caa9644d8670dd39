//! [`Pools`]: a runtime's blocking pool and CPU pool, and [`PoolsConfig`], their settings
//! as the runtime's `Builder` collects them.
//!
//! The runtime's `Handle` holds one `Pools` in an `Arc`; every `spawn_blocking` and
//! `spawn_cpu` of the runtime ends here, and so does the runtime's drop (`shutdown`).

use std::future::Future;
use std::time::{Duration, Instant};

use tempo_executor::{JoinHandle, Spawner};

use super::admission::{Gated, QueueSlot};
use super::pool::{Kind, Pool, RunInRuntime};
use super::stats::BlockingStats;

/// The pools' configuration, as the [`Builder`](crate::Builder) collects it.
#[derive(Clone, Debug)]
pub(crate) struct PoolsConfig {
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

impl Default for PoolsConfig {
    fn default() -> PoolsConfig {
        PoolsConfig {
            max_blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            blocking_queue_limit: None,
            cpu_threads: None,
            cpu_queue_limit: None,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// A runtime's two pools. Held by its `Handle` (`runtime/handle.rs`) in an `Arc`, so every
/// clone of the handle reaches the same pools.
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
    pub(crate) fn new(config: &PoolsConfig) -> Pools {
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

    /// How pool threads enter the runtime (see [`RunInRuntime`]); `None` at shutdown.
    pub(crate) fn set_run_in_runtime(&self, run_in_runtime: Option<RunInRuntime>) {
        self.blocking
            .pool()
            .set_run_in_runtime(run_in_runtime.clone());
        self.cpu.pool().set_run_in_runtime(run_in_runtime);
    }

    /// Shut both pools down, steps 1–3 of the module doc. Returns true if every running job
    /// finished within the timeout, false if some threads were detached. Called by the
    /// runtime's drop, after its tasks are gone; calling it again is harmless.
    pub(crate) fn shutdown(&self) -> bool {
        // 0. Threads started from now on run outside the runtime; this also drops the
        //    callback's handle, breaking the Handle → pools → Handle cycle.
        self.set_run_in_runtime(None);
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
