//! [`channel`], and [`Sender`]: replaces or modifies a watch channel's value and tells the
//! receivers — what asyncio code does by assigning a shared attribute and setting an
//! `Event`.
//!
//! Every way of changing the value takes the write lock, changes the value, bumps the
//! version under that lock (rule 1 of `watch/mod.rs`), lets the lock go, and only then
//! wakes the waiting receivers (rule 3).

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::error::SendError;
use super::receiver::Receiver;
use super::shared::{Ref, Shared};
use crate::sync::waitlist::WaiterKey;

/// Make a watch channel holding `init` — the shared value plus its "it changed" signal.
///
/// The receiver starts having seen `init`: its first `changed()` waits for a send.
/// Allocates once, for the shared state.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::watch;
///
/// tempo::run(async {
///     let (tx, mut rx) = watch::channel("starting");
///     let watcher = tempo::spawn(async move {
///         let mut seen = Vec::new();
///         while rx.changed().await.is_ok() {
///             seen.push(*rx.borrow_and_update());
///         }
///         seen // the sender is gone
///     });
///     tx.send("running").unwrap();
///     drop(tx);
///     // Sends coalesce: the watcher sees the latest value, and may miss some in between.
///     assert_eq!(watcher.await.unwrap(), ["running"]);
/// });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared::new(init));
    (Sender::new(Arc::clone(&shared)), Receiver::new(shared, 0))
}

/// The sending half of a [`watch::channel`](channel). Clone it for each task that may
/// change the value; the channel closes when the last clone is dropped.
///
/// ```
/// # use tempo_runtime as tempo;
/// let (tx, rx) = tempo::sync::watch::channel(0);
/// tx.send(1).unwrap();
/// assert_eq!(tx.send_replace(2), 1);
/// tx.send_modify(|v| *v += 1);
/// assert_eq!(*rx.borrow(), 3);
/// ```
pub struct Sender<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender of a channel whose counts already include it.
    fn new(shared: Arc<Shared<T>>) -> Sender<T> {
        Sender { shared }
    }

    /// Replace the value and wake every receiver waiting in `changed()`.
    ///
    /// Fails, giving the value back and changing nothing, if every receiver is gone (use
    /// [`send_replace`](Sender::send_replace) to store it regardless).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.state().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Replace the value, whether or not anyone receives, wake the waiting receivers, and
    /// return the value it replaced.
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut guard = self.shared.write();
            let old = mem::replace(&mut *guard, value);
            self.shared.bump_version(&guard);
            old
        };
        self.shared.notify_receivers();
        old
    }

    /// Change the value in place with `modify`, then wake the waiting receivers — for a
    /// value too big to replace whole. Always counts as a change.
    ///
    /// If `modify` panics, the value stays as it left it, the version is not bumped and
    /// nobody is woken.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Change the value in place with `modify`, which returns whether it changed anything;
    /// only then are the receivers told. Returns what `modify` returned.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// let (tx, rx) = tempo::sync::watch::channel(5);
    /// assert!(!tx.send_if_modified(|v| std::mem::replace(v, 5) != 5));
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut guard = self.shared.write();
            if !modify(&mut guard) {
                return false;
            }
            self.shared.bump_version(&guard);
        }
        self.shared.notify_receivers();
        true
    }

    /// Borrow the current value. Hold the guard briefly: other senders wait for it.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref::new(self.shared.read(), false)
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.shared.state();
        state.receivers += 1;
        let seen = self.shared.version();
        drop(state);
        Receiver::new(Arc::clone(&self.shared), seen)
    }

    /// How many receivers there are now.
    pub fn receiver_count(&self) -> usize {
        self.shared.state().receivers
    }

    /// How many senders there are now (this one included).
    pub fn sender_count(&self) -> usize {
        self.shared.state().senders
    }

    /// True if every receiver is gone: `send` would fail.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Wait until every receiver is gone — for a task that should stop producing values
    /// nobody reads. **Cancellation safe.**
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state().senders += 1;
        Sender::new(Arc::clone(&self.shared))
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut state = self.shared.state();
            state.senders -= 1;
            state.senders == 0
        };
        if last {
            self.shared.notify_receivers(); // rule 4: `changed()` now fails
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("value", &*self.borrow())
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
