//! Permits: [`SemaphorePermit`] and [`OwnedSemaphorePermit`], which hold permits taken from a
//! [`Semaphore`] and give them back when dropped — the end of asyncio's `async with sem:`
//! block — and `try_acquire`, which takes them without waiting.
//!
//! A permit is a value, so permits cannot be released twice or forgotten by accident: where
//! asyncio code calls `sem.release()`, a tempo permit is dropped. Giving back is
//! `Semaphore::release` (`state.rs`), which serves the queue.

use std::sync::Arc;

use super::error::TryAcquireError;
use super::state::Semaphore;

impl Semaphore {
    /// Take one permit if one is free and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Take `n` permits if they are free and nobody is queued.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n).map(|()| SemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), for a semaphore in an `Arc`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Like [`try_acquire_many`](Semaphore::try_acquire_many), for a semaphore in an `Arc`.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }
}

/// Permits taken from a [`Semaphore`]; dropping it gives them back — the end of asyncio's
/// `async with sem:` block.
#[must_use = "the permits are released as soon as this is dropped"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    /// Where the permits go back to.
    pub(super) semaphore: &'a Semaphore,
    /// How many this holds; zero after `forget`.
    pub(super) permits: u32,
}

impl SemaphorePermit<'_> {
    /// Keep the permits out of the semaphore for good: its count shrinks by
    /// [`num_permits`](SemaphorePermit::num_permits).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> u32 {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits as usize);
        }
    }
}

/// Like [`SemaphorePermit`], but owning an `Arc` of its semaphore, so it has no lifetime.
#[must_use = "the permits are released as soon as this is dropped"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    /// Where the permits go back to.
    pub(super) semaphore: Arc<Semaphore>,
    /// How many this holds; zero after `forget`.
    pub(super) permits: u32,
}

impl OwnedSemaphorePermit {
    /// Keep the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> u32 {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits as usize);
        }
    }
}
