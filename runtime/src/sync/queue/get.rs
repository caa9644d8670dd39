//! [`Queue::get`]: take the item at the front, waiting while the queue is empty — asyncio's
//! `await queue.get()` — and `Get`, the future that waits.
//!
//! A `get` that finds the buffer empty queues among the getters, and a `put` hands its item
//! straight to the first of them (rule 2 in `queue/mod.rs`); a getter that goes away holding
//! one gives it back (rule 4).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tempo_executor::coop::poll_proceed;

use super::error::GetError;
use super::state::{Queue, wake};
use crate::sync::waitlist::WaiterKey;

impl<T> Queue<T> {
    /// Remove and return the item at the front, waiting while the queue is empty —
    /// asyncio's `await queue.get()`.
    ///
    /// Getters that wait are served in the order they started waiting. Once the queue is
    /// [closed](Queue::close), `get` still returns the items left, then [`GetError`].
    ///
    /// Cancel-safe: dropping the future loses no item. If an item had already been handed
    /// to it, the item goes to the next waiting getter, or back to the front of the queue.
    #[doc(alias = "Queue.get")]
    pub fn get(&self) -> impl Future<Output = Result<T, GetError>> + '_ {
        Get {
            queue: self,
            key: None,
        }
    }
}

/// The future of [`Queue::get`].
struct Get<'a, T> {
    /// The queue.
    queue: &'a Queue<T>,
    /// Our place among the waiting getters, while we wait.
    key: Option<WaiterKey>,
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, GetError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.queue.poll_get(&mut this.key, cx)
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.queue.cancel_get(key);
        }
    }
}

impl<T> Queue<T> {
    /// One poll of a getter whose place among the waiting getters is `key` (`None` before
    /// it has queued, and again once it has returned): the body of `Get` and of
    /// `QueueStream`'s `poll_next` (`stream.rs`). Takes an item handed to it, else
    /// the front of the buffer, else queues (or, closed and empty, fails).
    pub(super) fn poll_get(
        &self,
        key: &mut Option<WaiterKey>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, GetError>> {
        ready!(poll_proceed(cx));
        let mut state = self.lock();
        if let Some(waiting) = *key {
            if !state.getters.is_notified(waiting) {
                state.getters.set_waker(waiting, cx.waker());
                return Poll::Pending;
            }
            *key = None;
            if let (Some(item), _) = state.getters.remove(waiting) {
                state.handed -= 1;
                let waker = state.free_slot();
                drop(state);
                wake(waker);
                return Poll::Ready(Ok(item));
            }
            // Notified with no item: the queue was closed. Drain what is left, if anything.
        }
        match state.buffer.pop_front() {
            Some(item) => {
                let waker = state.free_slot();
                drop(state);
                wake(waker);
                Poll::Ready(Ok(item))
            }
            None if state.closed => Poll::Ready(Err(GetError)),
            None => {
                *key = Some(state.getters.push_back(None, cx.waker()));
                Poll::Pending
            }
        }
    }

    /// A getter queued at `key` goes away before returning: it leaves the line, and an
    /// item handed to it goes to the next in line (rule 4).
    pub(super) fn cancel_get(&self, key: WaiterKey) {
        let mut state = self.lock();
        let waker = match state.getters.remove(key) {
            (Some(item), _) => state.give_back(item),
            (None, _) => None,
        };
        drop(state);
        wake(waker);
    }
}
