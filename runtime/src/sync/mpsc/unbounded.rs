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

use futures_core::Stream;

use super::chan::{Chan, Closed};
use super::error::{SendError, TryRecvError};
use super::methods::{debug_handle, receiver_methods};

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

/// The receiving half of an [`unbounded_channel`]. Also a [`Stream`] of the values.
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

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

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
    //! The `Stream` implementation, polled by hand: the integration tests in the `tempo`
    //! package cannot name `futures_core::Stream`, which is not one of its dependencies.

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
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(1)));
        assert_eq!(poll_next(&mut rx), Poll::Pending);
        tx.try_send(2).unwrap();
        drop(tx);
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(2)));
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));

        let (tx, mut rx) = unbounded_channel();
        tx.send("a").unwrap();
        let tx2 = tx.clone();
        drop(tx);
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some("a")));
        assert_eq!(poll_next(&mut rx), Poll::Pending);
        drop(tx2);
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));
    }
}
