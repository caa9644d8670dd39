//! Holding an [`RwLock`]: [`RwLockReadGuard`] (shared) and [`RwLockWriteGuard`] (exclusive),
//! which give their access back when dropped, and `try_read`/`try_write`, which return one
//! without waiting or fail with [`TryLockError`].
//!
//! A read guard holds a clone of the value's `Arc`; a write guard holds the `Arc` itself,
//! unique while it is held (`rwlock/mod.rs` says why). Dropping either calls
//! `RwLock::unlock` (`state.rs`), which admits whoever is next.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::state::{Access, RwLock, try_take};
use crate::sync::mutex::TryLockError;

impl<T> RwLock<T> {
    /// Take shared access if it is available now: no writer holds the lock and nobody is
    /// queued (a queued writer comes first).
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match try_take(&mut self.state(), Access::Read) {
            Some(value) => Ok(RwLockReadGuard {
                lock: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }

    /// Take exclusive access if the lock is free now and nobody is queued.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match try_take(&mut self.state(), Access::Write) {
            Some(value) => Ok(RwLockWriteGuard {
                lock: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }
}

/// Shared access to an [`RwLock`]'s value; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T> {
    /// The lock this guard reads.
    pub(super) lock: &'a RwLock<T>,
    /// This reader's clone of the value; `Some` until the destructor gives it back.
    pub(super) value: Option<Arc<T>>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.lock.unlock(Access::Read, value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T> {
    /// The lock this guard writes.
    pub(super) lock: &'a RwLock<T>,
    /// The value, unique while we hold it; `Some` until the destructor gives it back.
    pub(super) value: Option<Arc<T>>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // Unique by the invariant on `State`: a writer is admitted only when `readers == 0`,
        // and every reader drops its clone before it is uncounted.
        self.value
            .as_mut()
            .and_then(Arc::get_mut)
            .expect("a writer's Arc is unique")
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.lock.unlock(Access::Write, value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
