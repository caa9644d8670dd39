//! Waiting for permits: `acquire` and its kin, and their futures, [`Acquire`] and
//! [`AcquireOwned`] — asyncio's `await sem.acquire()`.
//!
//! A future polls through `Semaphore::poll_acquire` (`state.rs`): the first poll takes the
//! permits at once or joins the queue; later polls check whether `grant` has served it.
//! Its destructor calls `Semaphore::cancel_acquire`, which is what makes dropping it safe
//! (the "Cancellation" section of `semaphore/mod.rs`). Once served, it resolves to a permit
//! (`permit.rs`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::error::AcquireError;
use super::permit::{OwnedSemaphorePermit, SemaphorePermit};
use super::state::Semaphore;
use crate::sync::waitlist::Progress;

impl Semaphore {
    /// Wait for one permit — asyncio's `await sem.acquire()`, or `async with sem:`. Released
    /// when the returned permit is dropped.
    ///
    /// Fails only if the semaphore is closed before the permit is granted.
    ///
    /// **Cancellation safe:** dropping the future gives up its place in the queue, and gives
    /// back permits it had been granted.
    #[doc(alias = "async with")]
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Wait for `n` permits at once. Waits behind earlier waiters, and blocks later ones
    /// while it waits (see `semaphore/mod.rs`). Asking for more permits than will ever exist
    /// waits for ever (or until `close`).
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            permits: n,
            progress: Progress::Idle,
        }
    }

    /// Like [`acquire`](Semaphore::acquire), for a semaphore in an `Arc`: the permit keeps
    /// the `Arc`, so it can move into a spawned task.
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Like [`acquire_many`](Semaphore::acquire_many), for a semaphore in an `Arc`.
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            semaphore: Some(self),
            permits: n,
            progress: Progress::Idle,
        }
    }
}

/// The future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Acquire<'a> {
    /// The semaphore to take permits from.
    semaphore: &'a Semaphore,
    /// How many.
    permits: u32,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let result = ready!(
            this.semaphore
                .poll_acquire(this.permits, &mut this.progress, cx)
        );
        Poll::Ready(result.map(|()| SemaphorePermit {
            semaphore: this.semaphore,
            permits: this.permits,
        }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.semaphore.cancel_acquire(self.progress);
    }
}

/// The future returned by [`Semaphore::acquire_owned`] and
/// [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct AcquireOwned {
    /// The semaphore to take permits from; moved into the permit on success.
    semaphore: Option<Arc<Semaphore>>,
    /// How many.
    permits: u32,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let semaphore = this
            .semaphore
            .as_ref()
            .expect("an acquire_owned() future was polled after it completed");
        let result = ready!(semaphore.poll_acquire(this.permits, &mut this.progress, cx));
        let semaphore = this.semaphore.take().expect("checked above");
        Poll::Ready(result.map(|()| OwnedSemaphorePermit {
            semaphore,
            permits: this.permits,
        }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(semaphore) = &self.semaphore {
            semaphore.cancel_acquire(self.progress);
        }
    }
}
