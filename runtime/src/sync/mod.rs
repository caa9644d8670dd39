//! Coordination between tasks: locks, semaphores, events, conditions, barriers, and
//! channels — asyncio's `asyncio.Lock`, `Semaphore`, `Event`, `Condition`, `Barrier` and
//! `Queue`, plus Rust's usual `mpsc` and `oneshot` channels, and tokio's `Notify`,
//! `OnceCell`, `watch` and `broadcast`.
//!
//! Every primitive here is `Send + Sync`, works between tasks on different workers and
//! from `spawn_local` tasks, and allocates nothing on an uncontended operation. Each keeps
//! its waiting tasks in a `WaitList` (`sync/waitlist.rs`) — a FIFO, so whoever waited first is served
//! first — inside a short-lived `std::sync::Mutex`, and wakes them after releasing it.
//!
//! **Cancellation.** Dropping a pending `lock()`, `acquire()`, `get()`, `recv()`,
//! `notified()`, `changed()` or `get_or_init()` future is always safe: it never leaks the
//! lock or a permit, never loses an item, and never swallows a wake-up meant for the next
//! waiter. The rule that guarantees it is in
//! `waitlist.rs`'s docs.
//!
//! # Reading order
//!
//! Each file uses only the files before it (`oneshot.rs` uses none of them):
//!
//! 1. `waitlist.rs` — `WaitList`, the FIFO of waiting tasks every primitive here keeps, and
//!    the rule that makes cancelling a wait safe.
//! 2. `event.rs` — [`Event`], a flag that tasks wait on.
//! 3. `mutex/` — [`Mutex`]: a lock handed to the first waiter, never grabbed; its guards,
//!    and its lock futures.
//! 4. `condition.rs` — [`Condition`]: waiting, with a `Mutex` released, to be notified.
//! 5. `rwlock/` — [`RwLock`]: many readers or one writer, built the way `Mutex` is (and
//!    sharing its [`TryLockError`]).
//! 6. `semaphore/` — [`Semaphore`]: permits granted first come, first served.
//! 7. `barrier.rs` — [`Barrier`]: `n` tasks wait until all `n` have arrived.
//! 8. `queue/` — [`Queue`]: asyncio's `Queue`, many producers and many consumers.
//! 9. `mpsc/` — [`mpsc`]: a queue split into sending and receiving handles.
//! 10. `oneshot.rs` — [`oneshot`]: a channel for exactly one value.
//! 11. `notify.rs` — [`Notify`]: wake one waiter (or store a permit), or all of them.
//! 12. `once_cell.rs` — [`OnceCell`]: a value set once, by the first of many initialisers.
//! 13. `watch/` — [`watch`]: a channel that holds the latest value, and says when it
//!     changes.
//! 14. `broadcast/` — [`broadcast`]: every receiver gets every value, up to a bound.
//!
//! `mutex/`, `rwlock/`, `semaphore/`, `queue/`, `mpsc/`, `watch/` and `broadcast/` each have a `mod.rs` that lists
//! their own files in the same way.

// 1. The FIFO of waiters under every primitive.
pub(crate) mod waitlist;

// 2. A flag to wait on.
mod event;

// 3. The lock.
mod mutex;

// 4. Waiting for a change, with the lock released.
mod condition;

// 5. Readers and writers.
mod rwlock;

// 6. Permits.
mod semaphore;

// 7. Waiting for each other.
mod barrier;

// 8. asyncio's queue.
mod queue;

// 9. Channels: many senders, one receiver.
pub mod mpsc;

// 10. A channel for one value.
pub mod oneshot;

// 11. Notifications without data.
mod notify;

// 12. A value set once.
mod once_cell;

// 13. The latest value, watched.
pub mod watch;

// 14. Every value, to every receiver.
pub mod broadcast;

pub use barrier::*;
pub use condition::*;
pub use event::*;
pub use mutex::*;
pub use notify::*;
pub use once_cell::*;
pub use queue::*;
pub use rwlock::*;
pub use semaphore::*;
