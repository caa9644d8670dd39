//! [`BlockingStats`] and [`PoolStats`]: the pools' gauges, as plain numbers.

/// A snapshot of both pools, from [`Handle::blocking_stats`](crate::Handle::blocking_stats).
///
/// Each number was read under its pool's lock, but the two pools are read one after the
/// other: a snapshot, not an instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockingStats {
    /// The elastic pool behind [`spawn_blocking`](crate::task::spawn_blocking).
    pub blocking: PoolStats,
    /// The fixed pool behind [`spawn_cpu`](crate::task::spawn_cpu).
    pub cpu: PoolStats,
}

/// The gauges of one pool. See the [module doc](super) for the policy they follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Threads alive: running a job, or idle.
    pub threads: usize,
    /// Threads waiting for a job with none on its way to them. `threads - idle_threads`
    /// threads are running a job (or about to).
    pub idle_threads: usize,
    /// Jobs waiting for a thread to finish: the queue's depth. Never more than
    /// [`queue_limit`](PoolStats::queue_limit).
    pub queued: usize,
    /// Jobs handed to `spawn_blocking`/`spawn_cpu` that wait for a place in a full bounded
    /// queue, each in a small task of its own — where memory still grows when a producer
    /// does not await [`blocking_slot`](crate::task::blocking_slot). Always 0 for an
    /// unbounded queue.
    pub waiting: usize,
    /// Jobs a pool thread has finished (run, or found cancelled) since the runtime started.
    /// A job is counted just after its JoinHandle is woken, so the count may trail an
    /// awaited result by a moment.
    pub completed: u64,
    /// The most threads the pool runs: `max_blocking_threads` or `cpu_threads`.
    pub max_threads: usize,
    /// The bound on [`queued`](PoolStats::queued), if any.
    pub queue_limit: Option<usize>,
    /// True once the runtime has shut the pool down; running jobs may still be finishing
    /// (`threads > 0`).
    pub shut_down: bool,
}
