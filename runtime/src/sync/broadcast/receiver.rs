//! [`Receiver`]: receives every value sent on a broadcast channel after it subscribed, in
//! order — what asyncio code does with a subscriber's own `Queue`.
//!
//! A receiver is an `Arc` of the shared state plus one number, the position of the next
//! value it will receive. It is not `Clone`, as in tokio: a copy would have to decide which
//! values it owes; [`resubscribe`](Receiver::resubscribe) makes one that starts at the end.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tempo_executor::coop;

use super::error::{RecvError, TryRecvError};
use super::shared::Shared;
use crate::sync::waitlist::WaiterKey;

/// The receiving half of a [`broadcast::channel`](super::channel). Make more with
/// [`Sender::subscribe`](super::Sender::subscribe) or [`resubscribe`](Receiver::resubscribe).
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::broadcast;
///
/// tempo::run(async {
///     let (tx, mut rx1) = broadcast::channel(16);
///     let mut rx2 = tx.subscribe();
///     tx.send("hello").unwrap();
///     assert_eq!(rx1.recv().await, Ok("hello"));
///     assert_eq!(rx2.recv().await, Ok("hello")); // each receiver gets every value
/// });
/// ```
pub struct Receiver<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
    /// The position of the next value to receive.
    next: u64,
}

impl<T> Receiver<T> {
    /// A receiver starting at `next`. The caller has counted it in `receivers`.
    pub(super) fn new(shared: Arc<Shared<T>>, next: u64) -> Receiver<T> {
        Receiver { shared, next }
    }

    /// A new receiver of the same channel, starting at the end: it gets the values sent
    /// from now on, not those this one has still to receive.
    pub fn resubscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state();
        state.receivers += 1;
        let next = state.tail();
        drop(state);
        Receiver::new(Arc::clone(&self.shared), next)
    }

    /// How many values this receiver has still to receive (values it lagged past not
    /// counted).
    pub fn len(&self) -> usize {
        self.shared.state().unreceived(self.next)
    }

    /// True if no value is waiting for this receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once every sender is gone (values may still be waiting to be received).
    pub fn is_closed(&self) -> bool {
        self.shared.state().senders == 0
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T: Clone> Receiver<T> {
    /// Receive the next value, waiting until one is sent.
    ///
    /// Returns `Err(Lagged(n))` if this receiver fell `n` values behind and they were
    /// dropped to make room (the next call returns the oldest value kept), and
    /// `Err(Closed)` once every sender is gone and every value owed has been received.
    ///
    /// **Cancellation safe:** a value is taken only in the poll that returns it, so a
    /// dropped `recv()` loses nothing.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            key: None,
        }
    }

    /// Receive the next value if one is waiting. Fails with [`TryRecvError::Empty`] if
    /// none is, and as `recv` otherwise.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.shared.state().take(&mut self.next)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        let unowed = state.forget_receiver(self.next);
        if state.receivers == 0 {
            self.shared.wake_all(state, |state| &mut state.closed); // rule 4
        } else {
            drop(state);
        }
        drop(unowed); // users' destructors, after the lock is let go
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .field("unreceived", &self.len())
            .finish()
    }
}

/// The future returned by [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    /// The receiver; its position moves when we return.
    receiver: &'a mut Receiver<T>,
    /// Our place among the waiting receivers, while we wait.
    key: Option<WaiterKey>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.key.is_none() {
            // A receiver that always finds a value would otherwise never give the worker back.
            ready!(coop::poll_proceed(cx));
        }
        let receiver = &mut *this.receiver;
        let mut state = receiver.shared.state();
        let outcome = match state.take(&mut receiver.next) {
            Ok(value) => Ok(value),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                match this.key {
                    // Queued and not yet notified: keep waiting, with this poll's waker.
                    Some(key) if !state.waiting.is_notified(key) => {
                        state.waiting.set_waker(key, cx.waker());
                    }
                    // New, or notified with nothing for us (cannot happen: a send leaves us a
                    // value or a lag; but a notified node is never woken again): queue afresh.
                    key => {
                        if let Some(key) = key {
                            state.waiting.remove(key);
                        }
                        this.key = Some(state.waiting.push_back((), cx.waker()));
                    }
                }
                return Poll::Pending;
            }
        };
        if let Some(key) = this.key.take() {
            state.waiting.remove(key);
        }
        Poll::Ready(outcome)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Every send notifies every waiter: nothing to pass on.
            self.receiver.shared.state().waiting.remove(key);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
