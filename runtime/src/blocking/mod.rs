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
//! (As smol-rs/blocking does, the policy is written here; `counts.rs` is its bookkeeping and
//! `pool.rs` its threads.)
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
//!   the queue full waits for a place in a small *admission task* on one of the runtime's
//!   workers (the next in its handle's round-robin order). That task — the closure plus
//!   one task allocation — is where memory still grows if a producer spawns faster than
//!   the pool drains; [`PoolStats::waiting`] counts them.
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
//! ## The files, in reading order
//!
//! 1. `stats.rs` — [`PoolStats`] and [`BlockingStats`], the gauges.
//! 2. `counts.rs` — the policy above as counters and transitions, tested without threads.
//! 3. `pool.rs` — one pool: its channel, its threads, its shutdown.
//! 4. `admission.rs` — the door of a bounded queue, and [`QueueSlot`].
//! 5. `pools.rs` — the runtime's two pools and their configuration, which the runtime's
//!    `Handle` holds.
//! 6. `spawn.rs` — [`spawn_blocking`], [`spawn_cpu`], [`blocking_slot`], [`cpu_slot`]: the
//!    free functions, through the current runtime's `Handle`. This one file comes after the
//!    runtime's handle in the crate's reading order (see the crate doc).
//!
//! [`max_blocking_threads`]: crate::Builder::max_blocking_threads
//! [`blocking_keep_alive`]: crate::Builder::blocking_keep_alive
//! [`blocking_queue_limit`]: crate::Builder::blocking_queue_limit
//! [`cpu_threads`]: crate::Builder::cpu_threads
//! [`shutdown_timeout`]: crate::Builder::shutdown_timeout

// 1. The gauges.
mod stats;

// 2. The policy's bookkeeping.
mod counts;

// 3. One pool of threads.
mod pool;

// 4. A bounded queue's door.
mod admission;

// 5. The runtime's two pools.
mod pools;

// 6. The free functions, through the current runtime.
mod spawn;

pub use admission::QueueSlot;
pub(crate) use pool::RunInRuntime;
pub(crate) use pools::{Pools, PoolsConfig};
pub use spawn::{blocking_slot, cpu_slot, spawn_blocking, spawn_cpu};
pub use stats::{BlockingStats, PoolStats};
