//! [`spawn_blocking`], [`spawn_cpu`], [`blocking_slot`], [`cpu_slot`]: the pools, from a
//! task, through the current runtime's [`Handle`].
//!
//! Each is the `Handle` method of the same name on [`Handle::current`]. This file sits above
//! the runtime's handle in the crate's reading order; the rest of `blocking/` sits below it.

use std::future::Future;

use tempo_executor::JoinHandle;

use super::admission::QueueSlot;
use crate::runtime::Handle;

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
/// [module doc](super) for the policy and for what happens when the queue is bounded.
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
