//! Why taking permits from a `Semaphore` failed: [`AcquireError`] (it was
//! closed) and [`TryAcquireError`] (closed, or no permits free now).
//!
//! asyncio's `Semaphore` has neither: its `acquire` only waits, and it cannot be closed.
//! The first file of the semaphore's reading order (`semaphore/mod.rs`): it uses nothing
//! else in it.

use std::error::Error;
use std::fmt;

/// `Semaphore::acquire` failed: the semaphore was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcquireError(pub(super) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the semaphore is closed")
    }
}

impl Error for AcquireError {}

/// Why `Semaphore::try_acquire` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Too few permits are free, or others are queued ahead.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "the semaphore is closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}

impl Error for TryAcquireError {}
