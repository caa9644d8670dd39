//! Waiting for an [`RwLock`]: `read` and `write`, and their futures, [`ReadLock`] and
//! [`WriteLock`].
//!
//! A future polls through `RwLock::poll_access` (`state.rs`): the first poll takes access
//! at once or joins the queue; later polls check whether `grant` has admitted it. Its
//! destructor calls `RwLock::cancel_access`, which is what makes dropping it safe (the
//! "Cancellation" section of `rwlock/mod.rs`). Once admitted, it resolves to a guard
//! (`guard.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use super::guard::{RwLockReadGuard, RwLockWriteGuard};
use super::state::{Access, RwLock};
use crate::sync::waitlist::Progress;

impl<T> RwLock<T> {
    /// Wait for shared access. Readers share the lock with each other, but queue behind any
    /// writer that arrived before them.
    ///
    /// **Cancellation safe:** dropping the future gives up its place, or the access it was
    /// granted.
    pub fn read(&self) -> ReadLock<'_, T> {
        ReadLock {
            lock: self,
            progress: Progress::Idle,
        }
    }

    /// Wait for exclusive access.
    ///
    /// **Cancellation safe**, as [`read`](RwLock::read).
    pub fn write(&self) -> WriteLock<'_, T> {
        WriteLock {
            lock: self,
            progress: Progress::Idle,
        }
    }
}

/// The future returned by [`RwLock::read`]; resolves to a [`RwLockReadGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReadLock<'a, T> {
    /// The lock being read.
    lock: &'a RwLock<T>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a, T> Future for ReadLock<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockReadGuard<'a, T>> {
        let this = &mut *self;
        let value = ready!(this.lock.poll_access(Access::Read, &mut this.progress, cx));
        Poll::Ready(RwLockReadGuard {
            lock: this.lock,
            value: Some(value),
        })
    }
}

impl<T> Drop for ReadLock<'_, T> {
    fn drop(&mut self) {
        self.lock.cancel_access(self.progress);
    }
}

/// The future returned by [`RwLock::write`]; resolves to a [`RwLockWriteGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct WriteLock<'a, T> {
    /// The lock being written.
    lock: &'a RwLock<T>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a, T> Future for WriteLock<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockWriteGuard<'a, T>> {
        let this = &mut *self;
        let value = ready!(this.lock.poll_access(Access::Write, &mut this.progress, cx));
        Poll::Ready(RwLockWriteGuard {
            lock: this.lock,
            value: Some(value),
        })
    }
}

impl<T> Drop for WriteLock<'_, T> {
    fn drop(&mut self) {
        self.lock.cancel_access(self.progress);
    }
}

impl<T> fmt::Debug for ReadLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadLock")
            .field("progress", &self.progress)
            .finish()
    }
}

impl<T> fmt::Debug for WriteLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteLock")
            .field("progress", &self.progress)
            .finish()
    }
}
