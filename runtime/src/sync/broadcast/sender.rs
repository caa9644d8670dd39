//! [`channel`], and [`Sender`]: sends each value to every receiver — what asyncio code
//! does by `put_nowait`-ing into every subscriber's `Queue`.
//!
//! A send never waits: a full buffer drops its oldest value (rule 2 of
//! `broadcast/mod.rs`), and the receivers that had not yet received it learn so.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::error::SendError;
use super::receiver::Receiver;
use super::shared::Shared;
use crate::sync::waitlist::WaiterKey;

/// Make a broadcast channel that keeps up to `capacity` values for receivers that have not
/// received them yet; every receiver gets every value sent after it subscribed.
///
/// T must be `Clone` to receive: each receiver but the last to receive a value gets a
/// clone. Allocates the shared state and (up to 4096 slots) the buffer; sending and
/// receiving allocate nothing after that.
///
/// Unlike tokio, which rounds `capacity` up to a power of two, the channel keeps exactly
/// `capacity` values, so lag counts are exact.
///
/// # Panics
/// If `capacity` is 0 (a channel that keeps nothing could deliver nothing), or more than
/// `usize::MAX / 2`, as tokio's.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::broadcast;
///
/// tempo::run(async {
///     let (tx, mut rx) = broadcast::channel(16);
///     let listeners: Vec<_> = (0..3)
///         .map(|_| {
///             let mut rx = tx.subscribe();
///             tempo::spawn(async move {
///                 let mut got = Vec::new();
///                 while let Ok(value) = rx.recv().await {
///                     got.push(value);
///                 }
///                 got // ends with Err(Closed): every sender is gone
///             })
///         })
///         .collect();
///     for i in 0..5 {
///         tx.send(i).unwrap();
///     }
///     drop(tx);
///     for listener in listeners {
///         assert_eq!(listener.await.unwrap(), [0, 1, 2, 3, 4]);
///     }
///     assert_eq!(rx.recv().await, Ok(0)); // the first receiver too
/// });
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "broadcast::channel(0): the capacity must be at least 1"
    );
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast::channel: a capacity above usize::MAX / 2 is not supported"
    );
    let shared = Arc::new(Shared::new(capacity));
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver::new(shared, 0),
    )
}

/// The sending half of a [`broadcast::channel`](channel). Clone it for each producer; the
/// channel closes when the last clone is dropped.
///
/// ```
/// # use tempo_runtime as tempo;
/// let (tx, _rx) = tempo::sync::broadcast::channel(8);
/// let mut late = tx.subscribe();
/// assert_eq!(tx.send("news").unwrap(), 2); // two receivers will see it
/// assert_eq!(late.try_recv(), Ok("news"));
/// ```
pub struct Sender<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Send `value` to every receiver, and return how many there are. Never waits: if the
    /// buffer is full the oldest value is dropped, and receivers that had not received it
    /// will get `Err(Lagged(n))`.
    ///
    /// Fails, giving the value back, if there is no receiver. A value sent while receivers
    /// exist may still go unreceived, if they are dropped first.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        self.shared.send(value)
    }

    /// A new receiver, which will get every value sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state();
        state.receivers += 1;
        let next = state.tail();
        drop(state);
        Receiver::new(Arc::clone(&self.shared), next)
    }

    /// How many values are kept, waiting for at least one receiver.
    pub fn len(&self) -> usize {
        self.shared.state().len()
    }

    /// True if no value is waiting for any receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many receivers there are now.
    pub fn receiver_count(&self) -> usize {
        self.shared.state().receivers
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Wait until there is no receiver — for a producer that should stop when nobody
    /// listens. **Cancellation safe.**
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state().senders += 1;
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.senders -= 1;
        if state.senders == 0 {
            // Rule 4: waiting receivers see the end.
            self.shared.wake_all(state, |state| &mut state.waiting);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state();
        f.debug_struct("Sender")
            .field("kept", &state.len())
            .field("capacity", &self.shared.capacity)
            .field("receivers", &state.receivers)
            .finish()
    }
}

/// The future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    /// The channel.
    shared: &'a Shared<T>,
    /// Our place among the senders waiting for the end, while we wait.
    key: Option<WaiterKey>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = this.shared.state();
        if state.receivers == 0 {
            if let Some(key) = this.key.take() {
                state.closed.remove(key);
            }
            return Poll::Ready(());
        }
        match this.key {
            Some(key) if !state.closed.is_notified(key) => state.closed.set_waker(key, cx.waker()),
            // New, or released and then a `subscribe` brought a receiver back before we
            // looked: (re)queue, since a notified node is never woken again.
            key => {
                if let Some(key) = key {
                    state.closed.remove(key);
                }
                this.key = Some(state.closed.push_back((), cx.waker()));
            }
        }
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Released all together: nothing to pass on.
            self.shared.state().closed.remove(key);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
