//! [`RwLock`]: many readers or one writer, fair between them.
//!
//! asyncio has no reader-writer lock; this is tokio's `RwLock`, built the way tempo's
//! [`Mutex`](super::Mutex) is.
//!
//! ## Fairness
//!
//! Requests are served in arrival order from one `WaitList` (`sync/waitlist.rs`). A reader may join readers
//! already inside only if nobody is queued: once a writer waits, later readers queue behind
//! it, so a steady stream of readers cannot starve writers. When the lock comes free,
//! `grant` admits the queue's front: a writer alone, or every reader up to the next writer.
//!
//! ```text
//!   held by R1 R2    queue: [W1] [R3] [R4] [W2] [R5]
//!   R1, R2 release → W1 writes          queue: [R3] [R4] [W2] [R5]
//!   W1 releases    → R3 and R4 read     queue: [W2] [R5]
//! ```
//!
//! ## Where the value lives — a labelled shortcut
//!
//! As in `Mutex`, `tempo-runtime` forbids `unsafe`, so the value cannot be lent out of an
//! `UnsafeCell`. It lives in one `Arc` made by [`RwLock::new`]: each read guard holds a
//! clone (an atomic increment, no allocation), and a writer holds the `Arc` itself, which is
//! unique then because a writer is admitted only when no reader holds a clone. A
//! production lock keeps the value inline and counts readers in one atomic word.
//!
//! ## Cancellation
//!
//! A dropped `read()`/`write()` future leaves the queue; if access had been granted to it,
//! it gives the access back, and `grant` runs again. `grant` also runs when a waiter that
//! was *not* granted leaves: a cancelled writer at the front may have been the only thing
//! keeping the readers behind it out.
//!
//! ## Reading order
//!
//! Each file uses only the files before it. [`RwLock`]'s methods are spread over the files
//! in `impl RwLock` blocks, each beside what it returns:
//!
//! 1. `state.rs` — the [`RwLock`] type: the shared value, the count of readers and the
//!    queue of waiters behind a lock, `grant`, which admits the queue's front as described
//!    above, and the polling and cancelling that both lock futures share.
//! 2. `guard.rs` — [`RwLockReadGuard`] and [`RwLockWriteGuard`], which hold access and give
//!    it back when dropped, and `try_read`/`try_write`, which return one without waiting.
//! 3. `lock.rs` — `read` and `write`, and their futures, [`ReadLock`] and [`WriteLock`],
//!    which wait for access and resolve to a guard.

// 1. The lock: value, readers, queue, granting.
mod state;

// 2. Holding access, and taking it without waiting.
mod guard;

// 3. Waiting for access.
mod lock;

pub use guard::{RwLockReadGuard, RwLockWriteGuard};
pub use lock::{ReadLock, WriteLock};
pub use state::RwLock;
