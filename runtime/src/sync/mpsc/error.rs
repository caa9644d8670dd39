//! Why an `mpsc` operation failed: [`SendError`] and [`TrySendError`], which hand the value
//! back, and [`TryRecvError`].
//!
//! Where asyncio raises `QueueFull` or `QueueEmpty` from `put_nowait`/`get_nowait`, a Rust
//! channel returns one of these as the `Err` of a `Result`. The first file of the channel's
//! reading order (`mpsc/mod.rs`): it uses nothing else in it.

use std::fmt;

/// A send failed because the receiver is gone or closed; the value is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why `Sender::try_send` failed; either way the value is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// Every slot is taken — asyncio's `QueueFull`.
    #[doc(alias = "QueueFull")]
    Full(T),
    /// The receiver is gone or closed.
    Closed(T),
}

/// Why a `try_recv` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value is buffered now — asyncio's `QueueEmpty`.
    #[doc(alias = "QueueEmpty")]
    Empty,
    /// No value is buffered and none ever will be: every sender is gone, or the channel
    /// was closed.
    Disconnected,
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

// Debug without `T: Debug`, so that `.unwrap()` works on any value type.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on a closed channel")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => f.write_str("send on a closed channel"),
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Disconnected => f.write_str("the channel is empty and closed"),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}
impl<T> std::error::Error for TrySendError<T> {}
impl std::error::Error for TryRecvError {}
