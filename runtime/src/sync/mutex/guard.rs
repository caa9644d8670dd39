//! Holding a [`Mutex`]: [`MutexGuard`] and [`OwnedMutexGuard`], the way to the value while
//! the lock is held, which unlock when dropped — the end of asyncio's `async with lock:`
//! block — and `try_lock`, which returns one without waiting or fails with
//! [`TryLockError`].
//!
//! A guard holds the value's `Box` itself (`mutex/mod.rs` says why). Dropping it calls
//! `Mutex::unlock`, which hands the box to the next waiter or puts it back.

use std::error::Error;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::state::Mutex;

/// The error of [`Mutex::try_lock`] and of `RwLock`'s `try_read`/`try_write`: the lock is
/// held, or others are already queued for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryLockError(());

impl TryLockError {
    /// The error; crate-private so only the locks make it.
    pub(crate) fn new() -> TryLockError {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held or has waiters")
    }
}

impl Error for TryLockError {}

impl<T> Mutex<T> {
    /// Take the lock if it is free now.
    ///
    /// Fails if it is held, which includes the moment between a release and the next
    /// waiter's poll: the lock already belongs to that waiter.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.state().value.take() {
            Some(value) => Ok(MutexGuard {
                mutex: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }

    /// Like [`try_lock`](Mutex::try_lock), for a mutex in an `Arc`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let value = self.state().value.take();
        match value {
            Some(value) => Ok(OwnedMutexGuard {
                mutex: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Proof of holding a [`Mutex`], and the way to its value; unlocks when dropped.
///
/// It may be held across `.await`, and is `Send` when `T` is, so a task holding it can move
/// between threads. Unlocking hands the lock to the next waiter, if any (see
/// `mutex/mod.rs`).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    /// The mutex this guard holds.
    pub(super) mutex: &'a Mutex<T>,
    /// The value; always `Some` until the guard's destructor takes it to unlock.
    pub(super) value: Option<Box<T>>,
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard holds. An associated function (`MutexGuard::mutex(&guard)`) so
    /// it cannot shadow a method of `T`. `Condition` (`sync/condition.rs`) uses it to
    /// re-lock after it has released the guard.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_deref_mut()
            .expect("a live guard holds the value")
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.mutex.unlock(value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] that owns an `Arc` of its mutex instead of borrowing it, so it can be
/// stored or sent anywhere; from [`Mutex::lock_owned`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub(super) mutex: Arc<Mutex<T>>,
    /// The value; always `Some` until the guard's destructor takes it to unlock.
    pub(super) value: Option<Box<T>>,
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_deref_mut()
            .expect("a live guard holds the value")
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.mutex.unlock(value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
