//! Why a `broadcast` operation failed: [`SendError`], which gives the value back,
//! [`RecvError`] and [`TryRecvError`], which say how many values a lagging receiver missed.
//! The first file of the channel's reading order (`broadcast/mod.rs`).

use std::fmt;

/// `Sender::send` failed because there is no receiver; the value is given back.
///
/// ```
/// # use tempo_runtime as tempo;
/// let (tx, rx) = tempo::sync::broadcast::channel(4);
/// drop(rx);
/// assert_eq!(tx.send(1).unwrap_err().0, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why `Receiver::recv` returned no value.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::broadcast::{self, error::RecvError};
///
/// tempo::run(async {
///     let (tx, mut rx) = broadcast::channel(2);
///     for i in 0..5 {
///         tx.send(i).unwrap();
///     }
///     assert_eq!(rx.recv().await, Err(RecvError::Lagged(3))); // 0, 1 and 2 were dropped
///     assert_eq!(rx.recv().await, Ok(3));
///     assert_eq!(rx.recv().await, Ok(4));
///     drop(tx);
///     assert_eq!(rx.recv().await, Err(RecvError::Closed));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvError {
    /// Every sender is gone and every value this receiver was owed has been received.
    Closed,
    /// The receiver fell this many values behind, and they were dropped to make room; the
    /// next `recv` returns the oldest value still kept.
    Lagged(u64),
}

/// Why `Receiver::try_recv` returned no value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value is waiting now.
    Empty,
    /// Every sender is gone and every value this receiver was owed has been received.
    Closed,
    /// The receiver fell this many values behind (see [`RecvError::Lagged`]).
    Lagged(u64),
}

// Debug without `T: Debug`, so that `.unwrap()` works on any value type.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on a broadcast channel with no receivers")
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Closed => f.write_str("the broadcast channel is closed"),
            RecvError::Lagged(n) => write!(f, "the receiver lagged behind by {n} values"),
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value is waiting"),
            TryRecvError::Closed => f.write_str("the broadcast channel is closed"),
            TryRecvError::Lagged(n) => write!(f, "the receiver lagged behind by {n} values"),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}
impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
