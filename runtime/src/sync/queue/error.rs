//! Why a `Queue` operation failed — asyncio's `QueueFull`, `QueueEmpty` and
//! `QueueShutDown`, as values: [`PutError`] and [`TryPutError`] hand the item back.
//!
//! The first file of the queue's reading order (`queue/mod.rs`): it uses nothing else in it.

use std::fmt;

/// `Queue::put` failed because the queue is closed; the item is given back —
/// asyncio's `QueueShutDown` from `put`.
#[doc(alias = "QueueShutDown")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PutError<T>(pub T);

/// `Queue::get` failed because the queue is closed and empty — asyncio's
/// `QueueShutDown` from `get`.
#[doc(alias = "QueueShutDown")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetError;

/// Why `Queue::try_put` failed; either way the item is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is full — asyncio's `QueueFull`.
    #[doc(alias = "QueueFull")]
    Full(T),
    /// The queue is closed — asyncio's `QueueShutDown`.
    #[doc(alias = "QueueShutDown")]
    Closed(T),
}

/// Why `Queue::try_get` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is available now — asyncio's `QueueEmpty`.
    #[doc(alias = "QueueEmpty")]
    Empty,
    /// The queue is closed and empty — asyncio's `QueueShutDown`.
    #[doc(alias = "QueueShutDown")]
    Closed,
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::Closed(item) => item,
        }
    }
}

// Debug without `T: Debug`, so that `.unwrap()` works on any item type.
impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("put on a closed queue")
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("get on a closed and empty queue")
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("the queue is full"),
            TryPutError::Closed(_) => f.write_str("put on a closed queue"),
        }
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("the queue is empty"),
            TryGetError::Closed => f.write_str("get on a closed and empty queue"),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}
impl std::error::Error for GetError {}
impl<T> std::error::Error for TryPutError<T> {}
impl std::error::Error for TryGetError {}
