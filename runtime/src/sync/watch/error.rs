//! Why a `watch` operation failed: [`SendError`], which gives the value back, and
//! [`RecvError`]. The first file of the channel's reading order (`watch/mod.rs`).

use std::fmt;

/// `Sender::send` failed because every receiver is gone; the value is given back.
///
/// ```
/// # use tempo_runtime as tempo;
/// let (tx, rx) = tempo::sync::watch::channel(0);
/// drop(rx);
/// assert_eq!(tx.send(1).unwrap_err().0, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// `Receiver::changed` (or `has_changed`, `wait_for`) failed because every sender is gone.
///
/// ```
/// # use tempo_runtime as tempo;
/// let (tx, mut rx) = tempo::sync::watch::channel(0);
/// drop(tx);
/// assert!(tempo::run(rx.changed()).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError(pub(super) ());

// Debug without `T: Debug`, so that `.unwrap()` works on any value type.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on a watch channel with no receivers")
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the watch channel's senders are gone")
    }
}

impl<T> std::error::Error for SendError<T> {}
impl std::error::Error for RecvError {}
