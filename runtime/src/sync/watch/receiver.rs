//! [`Receiver`]: reads a watch channel's value and waits for it to change — what asyncio
//! code does by reading a shared attribute and awaiting an `Event` set when it changes.
//!
//! A receiver is an `Arc` of the shared state plus one number, the version it last marked
//! seen (rule 2 of `watch/mod.rs`). Cloning one copies that number; the clone then goes its
//! own way.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tempo_executor::coop;

use super::error::RecvError;
use super::shared::{Ref, Shared};
use crate::sync::waitlist::WaiterKey;

/// The receiving half of a [`watch::channel`](super::channel): clone it for each task that
/// watches the value.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::watch;
///
/// tempo::run(async {
///     let (tx, mut rx) = watch::channel(1);
///     let mut other = rx.clone();
///     tx.send(2).unwrap();
///     rx.changed().await.unwrap();
///     assert_eq!(*rx.borrow_and_update(), 2);
///     assert!(other.has_changed().unwrap()); // each clone keeps its own place
/// });
/// ```
pub struct Receiver<T> {
    /// The channel.
    shared: Arc<Shared<T>>,
    /// The version this receiver last marked seen (rule 2).
    seen: u64,
}

impl<T> Receiver<T> {
    /// A new receiver that has seen `seen`. The caller has counted it in `receivers`.
    pub(super) fn new(shared: Arc<Shared<T>>, seen: u64) -> Receiver<T> {
        Receiver { shared, seen }
    }

    /// Borrow the latest value, without marking it seen. [`Ref::has_changed`] says whether
    /// this receiver had seen it. Hold the guard briefly: senders wait for it.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let has_changed = self.shared.version() != self.seen;
        Ref::new(guard, has_changed)
    }

    /// Borrow the latest value and mark it seen: the next `changed()` waits for a newer one.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = self.shared.read();
        let version = self.shared.version();
        let has_changed = version != self.seen;
        self.seen = version;
        Ref::new(guard, has_changed)
    }

    /// True if a value this receiver has not marked seen is waiting. Fails with
    /// [`RecvError`] once every sender is gone (tokio's rule: even if a last value is
    /// unseen — `changed()` still reports that one).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state();
        if state.senders == 0 {
            return Err(RecvError(()));
        }
        Ok(self.shared.version() != self.seen)
    }

    /// Mark the current value unseen, so that the next `changed()` returns at once.
    pub fn mark_changed(&mut self) {
        self.seen = self.shared.version().wrapping_sub(1);
    }

    /// Mark the current value seen, without borrowing it.
    pub fn mark_unchanged(&mut self) {
        let _guard = self.shared.read();
        self.seen = self.shared.version();
    }

    /// Wait until the value changes from the version last marked seen, and mark the new one
    /// seen; returns at once if it already has. Fails with [`RecvError`] once every sender
    /// is gone and the last change has been reported.
    ///
    /// Several sends while nobody looked count as one change (rule 2): read the value with
    /// [`borrow`](Receiver::borrow) afterwards.
    ///
    /// **Cancellation safe:** the version is marked seen only in the poll that returns, so a
    /// dropped `changed()` loses nothing.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            shared: &self.shared,
            seen: &mut self.seen,
            key: None,
        }
    }

    /// Wait until `predicate` holds for the value, and return it borrowed (and marked seen).
    /// The current value is checked first; then each change. Fails with [`RecvError`] if
    /// every sender goes before the predicate holds.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::sync::watch;
    ///
    /// tempo::run(async {
    ///     let (tx, mut rx) = watch::channel(0);
    ///     tempo::spawn(async move {
    ///         for i in 1..=5 {
    ///             tx.send(i).unwrap();
    ///             tempo::task::yield_now().await;
    ///         }
    ///     });
    ///     assert!(*rx.wait_for(|&v| v >= 3).await.unwrap() >= 3);
    /// });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut predicate: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        // Split the borrow, so that the guard we return (of `shared`) and the waits in the
        // loop (which update `seen`) do not both need all of `self`.
        let Receiver { shared, seen } = self;
        let shared: &Shared<T> = shared;
        loop {
            {
                let guard = shared.read();
                let version = shared.version();
                if predicate(&guard) {
                    let has_changed = version != *seen;
                    *seen = version;
                    return Ok(Ref::new(guard, has_changed));
                }
                *seen = version;
            }
            Changed {
                shared,
                seen: &mut *seen,
                key: None,
            }
            .await?;
        }
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.state().receivers += 1;
        Receiver::new(Arc::clone(&self.shared), self.seen)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.receivers -= 1;
        if state.receivers == 0 {
            self.shared.notify_senders(state); // rule 4
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("value", &*self.borrow())
            .field("seen", &self.seen)
            .finish()
    }
}

/// The future returned by [`Receiver::changed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    /// The channel.
    shared: &'a Shared<T>,
    /// The receiver's seen version; updated when we return.
    seen: &'a mut u64,
    /// Our place among the waiting receivers, while we wait.
    key: Option<WaiterKey>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.key.is_none() {
            ready!(coop::poll_proceed(cx));
        }
        let mut state = this.shared.state();
        // Rule 3: read the version under the list lock, before queueing.
        let version = this.shared.version();
        let outcome = if version != *this.seen {
            *this.seen = version;
            Ok(())
        } else if state.senders == 0 {
            Err(RecvError(()))
        } else {
            match this.key {
                // Queued and not yet notified: keep waiting, with this poll's waker.
                Some(key) if !state.changed.is_notified(key) => {
                    state.changed.set_waker(key, cx.waker());
                }
                // New, or notified with nothing to report (cannot happen while versions only
                // grow, but a notified node is never woken again): queue afresh.
                key => {
                    if let Some(key) = key {
                        state.changed.remove(key);
                    }
                    this.key = Some(state.changed.push_back((), cx.waker()));
                }
            }
            return Poll::Pending;
        };
        if let Some(key) = this.key.take() {
            state.changed.remove(key);
        }
        Poll::Ready(outcome)
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Every change notifies every waiter: nothing to pass on.
            self.shared.state().changed.remove(key);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed")
            .field("waiting", &self.key.is_some())
            .finish()
    }
}
