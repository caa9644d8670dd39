//! The unbounded channel: [`unbounded_channel`] makes an [`UnboundedSender`], whose `send`
//! never waits, and an [`UnboundedReceiver`] — what asyncio code does with a plain
//! `asyncio.Queue()` and one consumer.
//!
//! The handles are thin: each holds an `Arc` of the shared `Chan` (`chan.rs`) and calls its
//! methods. With no bound, no sender ever waits for a slot, so rules 1 and 2 of
//! `mpsc/mod.rs` never come into play.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::chan::{Chan, Closed};
use super::error::{SendError, TryRecvError};
use super::methods::{debug_handle, receiver_methods, receiver_stream};

/// A channel with no bound: [`UnboundedSender::send`] never waits, and is not even async.
///
/// What asyncio code writes `asyncio.Queue()` for, when one task consumes. Nothing slows a
/// producer down, so a consumer that falls behind lets the buffer grow without limit.
/// The buffer grows on demand and keeps its capacity, so once it has reached its
/// high-water mark sending allocates nothing.
#[doc(alias = "asyncio.Queue")]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(None, VecDeque::new()));
    (
        UnboundedSender {
            chan: Arc::clone(&chan),
        },
        UnboundedReceiver { chan },
    )
}

/// The sending half of an [`unbounded_channel`]. Clone it for each producer.
///
/// Mirrors `queue.put_nowait(item)` on an unbounded `asyncio.Queue`, which never waits;
/// differs in that `send` fails, returning the value, once the receiver is gone.
#[doc(alias = "Queue.put_nowait")]
pub struct UnboundedSender<T> {
    /// The channel, shared with the other handles.
    chan: Arc<Chan<T>>,
}

/// The receiving half of an [`unbounded_channel`]. Also a [`Stream`] of the values (and a
/// `FusedStream`), which ends where [`recv`](Self::recv) returns `None`.
///
/// Mirrors a consumer's `await queue.get()`; differs in that `recv` returns `None` once
/// every sender is gone and the buffer is drained.
#[doc(alias = "Queue.get")]
pub struct UnboundedReceiver<T> {
    /// The channel, shared with the senders.
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Send `value` at once; it never waits.
    ///
    /// Fails with [`SendError`], giving the value back, if the receiver has closed or been
    /// dropped. It is not async, so it spends no budget: the receiver's `recv` does.
    #[doc(alias = "put_nowait")]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let state = self.chan.lock();
        if state.closed {
            return Err(SendError(value));
        }
        self.chan.push(state, value);
        Ok(())
    }

    /// True once the receiver has closed the channel or been dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Wait until the receiver closes the channel or is dropped.
    pub fn closed(&self) -> impl Future<Output = ()> + '_ {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }
}

impl<T> UnboundedReceiver<T> {
    receiver_methods!();
}

receiver_stream!(UnboundedReceiver);

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        drop(self.chan.receiver_dropped());
    }
}

debug_handle!(UnboundedSender, UnboundedReceiver);

#[cfg(test)]
mod tests {
    //! The `Stream` implementation, polled by hand, with its size hint and its end; the
    //! integration tests (`tests/streams.rs`) drive it with futures-util's combinators.

    use super::*;
    use std::task::Waker;

    use crate::sync::mpsc::channel;

    fn poll_next<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn receivers_are_streams_that_end_when_every_sender_is_gone() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).unwrap();
        assert_eq!(rx.size_hint(), (1, None), "a sender may send more");
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(1)));
        assert_eq!(poll_next(&mut rx), Poll::Pending);
        assert!(!rx.is_terminated(), "empty, but a sender is alive");
        tx.try_send(2).unwrap();
        drop(tx);
        assert_eq!(
            rx.size_hint(),
            (1, Some(1)),
            "exact once every sender is gone"
        );
        assert!(!rx.is_terminated(), "a value is still buffered");
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(2)));
        assert!(rx.is_terminated());
        assert_eq!(rx.size_hint(), (0, Some(0)));
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));
        assert_eq!(poll_next(&mut rx), Poll::Ready(None), "and stays ended");

        let (tx, mut rx) = unbounded_channel();
        tx.send("a").unwrap();
        let tx2 = tx.clone();
        drop(tx);
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some("a")));
        assert_eq!(poll_next(&mut rx), Poll::Pending);
        drop(tx2);
        assert!(rx.is_terminated());
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));
    }

    #[test]
    fn a_closed_receiver_yields_what_is_buffered_then_ends() {
        let (tx, mut rx) = unbounded_channel();
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        rx.close();
        assert_eq!(
            rx.size_hint(),
            (2, Some(2)),
            "closed: nothing more can enter"
        );
        assert!(!rx.is_terminated());
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(1)));
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(2)));
        assert!(
            rx.is_terminated(),
            "closed and drained, though a sender lives"
        );
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));
        drop(tx);
    }
}
