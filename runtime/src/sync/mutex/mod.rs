//! [`Mutex`]: a lock whose guard may be held across `.await` — asyncio's `Lock`, with the
//! data inside it, the way Rust's `std::sync::Mutex` holds its data.
//!
//! ## The lock is handed over, never grabbed
//!
//! Unlocking while tasks wait does not make the lock free: the guard's destructor hands it
//! straight to the first waiter in the `WaitList` (`sync/waitlist.rs`), which becomes the
//! holder before it has even been polled. A task that calls `lock()` in between finds the lock taken and queues
//! behind everyone else. So the lock is granted in exactly the order `lock()` was first
//! polled — no barging, and no task can be starved by a stream of newcomers.
//!
//! The price is the "lock convoy": from the hand-off until the new holder is polled, nobody
//! runs in the critical section. `std::sync::Mutex` and parking_lot let a running thread
//! barge in for throughput; tokio's Mutex, like this one, chooses fairness. asyncio reaches
//! the same order differently: `release` marks the lock free and wakes the first waiter, and
//! `acquire` refuses to take a free lock while anyone is queued.
//!
//! ## Where the value lives — a labelled shortcut
//!
//! `tempo-runtime` is `#![forbid(unsafe_code)]`, so the value cannot sit in an `UnsafeCell`
//! lent out by raw pointer as tokio's does. Instead it lives in one `Box` made by
//! [`Mutex::new`], and *holding the lock means holding the box*: it sits in
//! `State::value` while the lock is free, in the guard while it is held, and in a waiter's
//! node while it is being handed over. Locking moves a pointer, never the value, and
//! allocates nothing. A production lock keeps the value inline in an `UnsafeCell` and saves
//! the allocation and the pointer hop.
//!
//! ## Cancellation
//!
//! A dropped [`Lock`] future removes itself from the queue. If the lock had already been
//! handed to it, it hands the lock on to the next waiter (or frees it): the rule in
//! [`waitlist`](super::waitlist)'s docs.
//!
//! ## Reading order
//!
//! Each file uses only the files before it. [`Mutex`]'s methods are spread over the files
//! in `impl Mutex` blocks, each beside what it returns:
//!
//! 1. `state.rs` — the [`Mutex`] type: the boxed value and the queue of waiters behind a
//!    lock, the hand-over above, and the polling and cancelling that both lock futures
//!    share.
//! 2. `guard.rs` — [`MutexGuard`] and [`OwnedMutexGuard`], which hold the lock and unlock it
//!    when dropped, and `try_lock`, which returns one without waiting or fails with
//!    [`TryLockError`].
//! 3. `lock.rs` — `lock` and its futures, [`Lock`] and [`OwnedLock`], which wait for the
//!    lock and resolve to a guard.

// 1. The mutex: value, queue, hand-over.
mod state;

// 2. Holding the lock, and taking it without waiting.
mod guard;

// 3. Waiting for the lock.
mod lock;

pub use guard::{MutexGuard, OwnedMutexGuard, TryLockError};
pub use lock::{Lock, OwnedLock};
pub use state::Mutex;
