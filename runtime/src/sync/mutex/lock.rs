//! Waiting for a [`Mutex`]: `lock` and `lock_owned`, and their futures, [`Lock`] and
//! [`OwnedLock`] — asyncio's `await lock.acquire()`.
//!
//! A future polls through `Mutex::poll_lock` (`state.rs`): the first poll takes a free lock
//! or joins the queue; later polls check whether the lock has been handed to it. Its
//! destructor calls `Mutex::cancel_lock`, which is what makes dropping it safe (the
//! "Cancellation" section of `mutex/mod.rs`). Once the lock is its, it resolves to a guard
//! (`guard.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::guard::{MutexGuard, OwnedMutexGuard};
use super::state::Mutex;
use crate::sync::waitlist::Progress;

impl<T> Mutex<T> {
    /// Wait for the lock, then hold it until the returned guard is dropped — asyncio's
    /// `await lock.acquire()`, or `async with lock:`.
    ///
    /// Waiters are served strictly in the order they first polled this future.
    ///
    /// **Cancellation safe:** dropping the future before it completes gives up its place in
    /// the queue; if the lock had already been handed to it, it is handed on.
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            progress: Progress::Idle,
        }
    }

    /// Like [`lock`](Mutex::lock), for a mutex in an `Arc`: the guard keeps the `Arc`, so it
    /// has no lifetime and can move into a spawned task.
    pub fn lock_owned(self: Arc<Self>) -> OwnedLock<T> {
        OwnedLock {
            mutex: Some(self),
            progress: Progress::Idle,
        }
    }
}

/// The future returned by [`Mutex::lock`]; resolves to a [`MutexGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T> {
    /// The mutex being locked.
    mutex: &'a Mutex<T>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a, T> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = &mut *self;
        let value = ready!(this.mutex.poll_lock(&mut this.progress, cx));
        Poll::Ready(MutexGuard {
            mutex: this.mutex,
            value: Some(value),
        })
    }
}

impl<T> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        self.mutex.cancel_lock(self.progress);
    }
}

impl<T> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("progress", &self.progress)
            .finish()
    }
}

/// The future returned by [`Mutex::lock_owned`]; resolves to an [`OwnedMutexGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedLock<T> {
    /// The mutex being locked; moved into the guard on completion.
    mutex: Option<Arc<Mutex<T>>>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<T> Future for OwnedLock<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedMutexGuard<T>> {
        let this = &mut *self;
        let mutex = this
            .mutex
            .as_ref()
            .expect("a lock_owned() future was polled after it completed");
        let value = ready!(mutex.poll_lock(&mut this.progress, cx));
        Poll::Ready(OwnedMutexGuard {
            mutex: this.mutex.take().expect("checked above"),
            value: Some(value),
        })
    }
}

impl<T> Drop for OwnedLock<T> {
    fn drop(&mut self) {
        if let Some(mutex) = &self.mutex {
            mutex.cancel_lock(self.progress);
        }
    }
}

impl<T> fmt::Debug for OwnedLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLock")
            .field("progress", &self.progress)
            .finish()
    }
}
