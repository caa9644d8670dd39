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
        ready!(poll_proceed(cx));
        let this = self.get_mut();
        let mut state = this.queue.lock();
        if let Some(key) = this.key {
            if !state.getters.is_notified(key) {
                state.getters.set_waker(key, cx.waker());
                return Poll::Pending;
            }
            this.key = None;
            if let (Some(item), _) = state.getters.remove(key) {
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
                this.key = Some(state.getters.push_back(None, cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut state = self.queue.lock();
        let waker = match state.getters.remove(key) {
            // Rule 4: an item handed to us goes to the next in line.
            (Some(item), _) => state.give_back(item),
            (None, _) => None,
        };
        drop(state);
        wake(waker);
    }
}
