//! Combinators: running several futures at once in one task — asyncio's `gather`, `wait`
//! and `as_completed`.
//!
//! A future does nothing until polled, and an `async fn` awaits one thing at a time. To wait
//! for several things at once there are two ways. One is to [`spawn`](crate::spawn) each as
//! a task and await the [`JoinHandle`](crate::task::JoinHandle)s: that is asyncio's
//! `create_task`, and the tasks run by themselves, on any worker. The other is this module:
//! one future that polls several futures *inside the task that awaits it*. Nothing is
//! spawned and nothing is allocated per poll; the futures progress only while the
//! combinator is polled, and dropping the combinator drops them all.
//!
//! | asyncio                                        | tempo                                   |
//! |------------------------------------------------|-----------------------------------------|
//! | `await gather(a, b, c)`                        | [`join!`](crate::join)`(a, b, c)`       |
//! | `await gather(*aws)`                           | [`join_all`]`(aws)`                     |
//! | `await gather(*aws, return_exceptions=True)`   | [`join_all`] over futures of `Result`   |
//! | `await gather(a, b)`, failing on an exception  | [`try_join!`](crate::try_join)`(a, b)`  |
//! | `await gather(*aws)`, failing on an exception  | [`try_join_all`]                        |
//! | `await wait(aws, return_when=FIRST_COMPLETED)` | [`wait_first`] (the rest handed back); [`select!`](crate::select), [`race`], [`race_all`] (the rest dropped) |
//! | `for c in as_completed(aws): await c`          | [`as_completed`]`(aws)`, then `.next().await` |
//!
//! (Every asyncio idea, not only these, is mapped in the project's one table,
//! `docs/ASYNCIO.md`; this one lists the module's items.) The differences a Python reader
//! should expect, each said again on its item:
//!
//! - **The futures run in the awaiting task.** asyncio's `gather`, `wait` and
//!   `as_completed` wrap coroutines in tasks, which run even while nobody awaits. Here they
//!   run only while the combinator is polled. Pass `JoinHandle`s to get asyncio's behaviour.
//! - **Drop is cancel.** When `try_join_all` or `try_join!` fails, or a `select!` or `race`
//!   has a winner, the other futures are dropped — cancelled — at once. asyncio leaves them
//!   running (a failed `gather`'s siblings, `wait`'s `pending` set) until someone cancels
//!   them.
//!
//! # Poll order and fairness
//!
//! [`join_all`], [`try_join_all`], [`race_all`] and [`as_completed`] give every future a
//! waker of its own and poll only the futures that woke, in the order they woke: a wake
//! costs one poll, not one per future in the set (see `set.rs` for how). [`join!`](crate::join) and
//! [`select!`](crate::select) poll every unfinished branch on each wake (a labelled shortcut, cheap for
//! the handful of branches a macro is written with), starting one branch further round
//! each time so none is starved of the cooperative budget. `select! { biased; ... }` polls
//! in the order written instead. [`race`] alternates which of its two goes first.
//!
//! # Cancellation safety
//!
//! When `select!`, `race`, `race_all` or a failing `try_join_all` drops a future that has
//! not finished, that future is cancelled at whatever `.await` it had reached. asyncio's
//! `wait` never does this — its pending tasks keep running — so this is the question to
//! ask of every branch: *if this future is dropped after being polled, is anything lost?*
//!
//! Nothing is lost when the future does its work in the poll that returns `Ready`, or
//! undoes what it did when dropped. In tempo that is:
//!
//! - [`time::sleep`](crate::time::sleep) and [`time::timeout`](crate::time::timeout):
//!   dropping one removes its timer; no wake comes later.
//! - a [`JoinHandle`](crate::task::JoinHandle): dropping it detaches the task, which keeps
//!   running; only your way to its output is lost. Select on `&mut handle` to keep it.
//! - receiving, before it has taken anything: the `recv` and `get` futures of the
//!   `sync` channels and queues take an item only in the poll that returns it; a
//!   [`TcpListener::accept`](crate::net::TcpListener::accept) or a
//!   [`TcpStream::read`](crate::net::TcpStream::read) returns what it got in the same poll.
//! - waiting for a lock or a permit (`Mutex::lock`, `Semaphore::acquire`): the waiter
//!   leaves the queue; no permit leaks, and a wake meant for it is passed on.
//! - [`AsCompleted::next`]: an output is taken only when it is returned.
//!
//! Something is lost when a future makes progress across several polls and keeps it only
//! in its own state:
//!
//! - [`TcpStream::read_exact`](crate::net::TcpStream::read_exact) that has filled part of
//!   its buffer: those bytes were read from the socket and are dropped with the future.
//! - [`TcpStream::write_all`](crate::net::TcpStream::write_all) part way: some bytes were
//!   sent, and you cannot tell how many.
//! - any `async` block of your own that did step one of two, and a `join!` or
//!   `join_all` that finished some of its futures: their outputs go with it.
//!
//! For those, keep the future alive across the `select!` (pin it outside a loop and
//! select on `&mut fut`), or spawn it as a task and select on its handle.
//!
//! # Examples
//!
//! ```
//! # use tempo_runtime as tempo;
//! use std::time::{Duration, Instant};
//! use tempo::future::join_all;
//!
//! async fn get_data(x: u32) -> String {
//!     tempo::time::sleep(Duration::from_millis(50)).await;
//!     format!("Result {x}")
//! }
//!
//! tempo::run(async {
//!     let start = Instant::now();
//!     let results = join_all([get_data(1), get_data(2), get_data(3)]).await;
//!     assert_eq!(results, ["Result 1", "Result 2", "Result 3"]);
//!     // The three sleeps overlapped: ~50 ms, not 150.
//!     assert!(start.elapsed() < Duration::from_millis(150));
//! });
//! ```
//!
//! # Reading order
//!
//! Each file uses only the files before it:
//!
//! 1. `set.rs` — `FutureSet`, many futures in one task, each with a waker of its own so a
//!    wake costs one poll: the engine under the functions below.
//! 2. `join.rs` — [`join!`](crate::join), [`join_all`] and [`try_join_all`]: waiting for
//!    all.
//! 3. `try_join.rs` — [`try_join!`](crate::try_join): waiting for all, stopping at the
//!    first error.
//! 4. `race.rs` — [`race`] and [`race_all`]: the first of futures of one output type.
//! 5. `as_completed.rs` — [`as_completed`]: outputs in the order the futures finish.
//! 6. `select/` — [`select!`](crate::select): the first of futures of any types, each with
//!    its own handler; its `mod.rs` lists its files.
//! 7. `wait_first.rs` — [`wait_first`]: the first to finish, with the others handed back
//!    unfinished (asyncio's `wait(FIRST_COMPLETED)` and its pending set); uses no other file.
//!
//! This file keeps, besides the re-exports, what the macros of `join.rs`, `try_join.rs`
//! and `select/` name through `$crate` paths: `__count_skips!`, `__none_for!`, and the
//! `__private` module with `Either`.

// 1. Many futures in one task, polled as they wake.
mod set;

// 2. Waiting for all.
mod join;

// 3. Waiting for all, stopping at the first error.
mod try_join;

// 4. The first of one type.
mod race;

// 5. In the order they finish.
mod as_completed;

// 6. The first of any types, with handlers.
mod select;

// 7. The first, with the others handed back.
mod wait_first;

pub use as_completed::{AsCompleted, as_completed};
pub use futures_core::{FusedStream, Stream};
pub use join::{JoinAll, TryJoinAll, join_all, try_join_all};
pub use race::{RaceAll, race, race_all};
pub use wait_first::{WaitFirst, wait_first};

/// Used by the macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::select::select_start;

    /// How a `select!` branch's value leaves the poll loop: branch `k` is `k` `Right`s
    /// around a `Left`.
    #[derive(Debug)]
    pub enum Either<L, R> {
        /// This branch.
        Left(L),
        /// A later branch (or "all disabled").
        Right(R),
    }
}

/// The length of a skip list (`_ _ _` is 3), as a `usize` constant expression. Used by
/// [`join!`](crate::join) and [`select!`](crate::select); not public API. Flat, not
/// recursive, to spend no macro recursion depth.
#[doc(hidden)]
#[macro_export]
macro_rules! __count_skips {
    ($($skip:tt)*) => {
        0usize $(+ { let _ = ::core::stringify!($skip); 1usize })*
    };
}

/// `None`, for each future of a [`join!`](crate::join); its argument only drives the
/// repetition. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __none_for {
    ($($skip:tt)*) => {
        ::core::option::Option::None
    };
}
