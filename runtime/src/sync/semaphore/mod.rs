//! [`Semaphore`]: a count of permits that tasks take and give back — asyncio's `Semaphore`,
//! the tool of the seeds' "cap the probes" and backpressure lessons
//! (`examples/backpressure.rs`).
//!
//! ## Strictly first come, first served
//!
//! Waiters are granted in arrival order, and a waiter at the front asking for more permits
//! than are free blocks everyone behind it — even a later request for one permit that
//! *could* be served now. Letting small requests overtake would starve the big one: with
//! tasks releasing and re-taking one permit at a time, the count might never climb to the
//! big request's `n`. So permits pile up for the head until it can go, then the next.
//!
//! ```text
//!   3 free   queue: [A wants 5] [B wants 1]       B waits, though 1 ≤ 3
//!   release 2 → 5 free: A granted, 0 free         queue: [B wants 1]
//! ```
//!
//! The fast path keeps the same rule: `acquire` and `try_acquire` take permits at once only
//! when nobody is queued.
//!
//! ## Cancellation
//!
//! A dropped `acquire()` future leaves the queue. If permits had been granted to it, it
//! gives them back, and they go to the next waiters. If it was at the front and not yet
//! granted, its leaving may let the waiters behind it through, so the queue is looked at
//! again either way.
//!
//! ## Reading order
//!
//! Each file uses only the files before it. [`Semaphore`]'s methods are spread over the
//! files in `impl Semaphore` blocks, each beside what it returns:
//!
//! 1. `error.rs` — [`AcquireError`] and [`TryAcquireError`]: why an acquire failed.
//! 2. `state.rs` — the [`Semaphore`] type: its count and queue of waiters behind a lock,
//!    the rule above that grants permits strictly in order, and the polling and
//!    cancelling that every acquire future shares.
//! 3. `permit.rs` — [`SemaphorePermit`] and [`OwnedSemaphorePermit`], which give their
//!    permits back when dropped, and `try_acquire`, which returns one without waiting.
//! 4. `acquire.rs` — `acquire` and its futures, [`Acquire`] and [`AcquireOwned`], which
//!    wait for permits and resolve to a permit.

// 1. Why an acquire failed.
mod error;

// 2. The semaphore: count, queue, granting.
mod state;

// 3. Permits, and taking them without waiting.
mod permit;

// 4. Waiting for permits.
mod acquire;

pub use acquire::{Acquire, AcquireOwned};
pub use error::{AcquireError, TryAcquireError};
pub use permit::{OwnedSemaphorePermit, SemaphorePermit};
pub use state::Semaphore;
