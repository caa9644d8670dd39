//! [`Handle`]: what other threads hold to reach a runtime — its workers' spawners, its
//! pools, its diagnostics.
//!
//! A `Handle` is to a tempo runtime what a reference to the loop is to asyncio code on
//! another thread: the way in (`asyncio.run_coroutine_threadsafe(coro, loop)` is
//! [`Handle::spawn`]). It knows no thread-local: [`Handle::current`] and
//! [`Handle::try_current`] are in `current.rs`, beside the thread-local they read, which
//! holds a `Handle` and so comes after this file.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tempo_executor::SpawnMeta;
use tempo_executor::{JoinHandle, Spawner};

use crate::blocking::{BlockingStats, Pools, QueueSlot};
use crate::diagnostics::{Dump, RuntimeDiag};
use crate::task::context;

/// A handle to a runtime: `Send + Sync`, cheap to clone. Spawns `Send` futures onto the
/// runtime's workers from any thread.
///
/// **Placement.** [`Handle::spawn`] deals tasks out round-robin over the workers, from
/// worker 0, with one cursor for the runtime that every clone of the handle shares (and
/// that `spawn_blocking` and `spawn_cpu` through a handle move too); from a worker's own
/// thread that can mean a local spawn or a hand-off through another worker's channel.
/// [`Handle::spawn_on`] names the worker. (`tempo::spawn` from a worker thread keeps the
/// task on that worker: see [`spawn`](crate::spawn) and `tests/placement.rs`.)
#[derive(Clone, Debug)]
pub struct Handle {
    /// Spawns onto each worker, in worker order.
    pub(crate) spawners: Arc<[Spawner]>,
    /// The round-robin cursor shared by every clone.
    pub(crate) next: Arc<AtomicUsize>,
    /// The blocking and CPU pools, shared by every clone of the handle.
    pub(crate) blocking: Arc<Pools>,
    /// The runtime's diagnostics, if they are on.
    pub(crate) diag: Option<Arc<RuntimeDiag>>,
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

    /// Spawn a task onto the runtime, from any thread. If the runtime has shut down, the
    /// task is dropped and its handle reports it cancelled. Called from inside a task, the
    /// new task inherits that task's [context](crate::task::ContextVar).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_via(self.pick(), future, SpawnMeta::here())
    }

    /// Spawn a task onto worker `worker` (0-based; see [`Handle::workers`]).
    ///
    /// # Panics
    /// If there is no such worker.
    #[track_caller]
    pub fn spawn_on<F>(&self, worker: usize, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let spawner = self.spawners.get(worker).unwrap_or_else(|| {
            panic!(
                "tempo: spawn_on({worker}) on a runtime with {} workers",
                self.spawners.len()
            )
        });
        spawn_via(spawner, future, SpawnMeta::here())
    }

    /// [`Handle::spawn`] with the name and location to record.
    pub(crate) fn spawn_meta<F>(&self, future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_via(self.pick(), future, meta)
    }

    /// How many workers the runtime has.
    pub fn workers(&self) -> usize {
        self.spawners.len()
    }

    /// The next worker in round-robin order. One cursor for the runtime, shared by every
    /// clone of the handle and advanced by every `spawn`, `spawn_blocking` and `spawn_cpu`
    /// through a handle (the pools use the worker for a job's admission task).
    fn pick(&self) -> &Spawner {
        let n = self.spawners.len();
        let i = if n == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % n
        };
        &self.spawners[i]
    }
}

/// The blocking and CPU pools, from any thread: see [`blocking`](crate::blocking).
impl Handle {
    /// Run `f` on the blocking pool — [`task::spawn_blocking`](crate::task::spawn_blocking)
    /// from any thread, a blocking job included. If the queue is bounded and full, the job
    /// waits for a place on one of the runtime's workers (the next in round-robin order),
    /// so it is admitted only while the runtime runs. After shutdown the handle reports
    /// `Cancelled`.
    #[doc(alias = "to_thread")]
    #[doc(alias = "run_in_executor")]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking.spawn_blocking(self.pick(), f)
    }

    /// Run `f` on the CPU pool — [`task::spawn_cpu`](crate::task::spawn_cpu) from any
    /// thread.
    pub fn spawn_cpu<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.blocking.spawn_cpu(self.pick(), f)
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

/// Spawn through `spawner` (a worker's, usually on another thread), recording `meta`. The
/// task inherits this thread's [context](crate::task::ContextVar), as a local spawn does.
fn spawn_via<F>(spawner: &Spawner, future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match context::inherited() {
        None => spawner.spawn_with(future, meta),
        Some(cx) => spawner.spawn_with(context::run_in(cx, future), meta),
    }
}
