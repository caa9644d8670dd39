//! [`Queue::put`]: put an item, waiting while the queue is full — asyncio's
//! `await queue.put(item)` — and `Put`, the future that waits.
//!
//! A `put` that finds no free slot queues among the putters; a `get` that frees a slot
//! reserves it for the first of them (rule 3 in `queue/mod.rs`), and a putter that goes away
//! holding one passes it on (rule 4).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tempo_executor::coop::poll_proceed;

use super::error::PutError;
use super::state::{Queue, wake};
use crate::sync::waitlist::WaiterKey;

impl<T> Queue<T> {
    /// Put `item` at the back of the queue, waiting while the queue is full — asyncio's
    /// `await queue.put(item)`.
    ///
    /// Putters that wait get the free slots in the order they started waiting. Fails,
    /// giving the item back, if the queue is or becomes [closed](Queue::close) before the
    /// item is in.
    ///
    /// Cancel-safe: dropping the future before it completes never inserts the item, and a
    /// slot that was freed for it passes to the next waiting putter.
    #[doc(alias = "Queue.put")]
    pub fn put(&self, item: T) -> impl Future<Output = Result<(), PutError<T>>> + '_ {
        Put {
            queue: self,
            item: Some(item),
            key: None,
        }
    }
}

/// The future of [`Queue::put`].
struct Put<'a, T> {
    /// The queue.
    queue: &'a Queue<T>,
    /// The item, until it is inserted or given back.
    item: Option<T>,
    /// Our place among the waiting putters, while we wait.
    key: Option<WaiterKey>,
}

// The item is never pinned: we only move it in and out of the `Option`.
impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), PutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(poll_proceed(cx));
        let this = self.get_mut();
        let queue = this.queue;
        let mut state = queue.lock();
        if let Some(key) = this.key {
            if !state.putters.is_notified(key) {
                state.putters.set_waker(key, cx.waker());
                return Poll::Pending;
            }
            this.key = None;
            state.putters.remove(key);
            if !state.closed {
                // We were given a slot (rule 3); it is ours to use now.
                state.reserved -= 1;
            }
        } else if !state.closed && !state.has_free_slot(queue.maxsize) {
            this.key = Some(state.putters.push_back((), cx.waker()));
            return Poll::Pending;
        }
        let item = this
            .item
            .take()
            .expect("Queue::put polled after completion");
        if state.closed {
            return Poll::Ready(Err(PutError(item)));
        }
        let waker = state.insert(item);
        drop(state);
        wake(waker);
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut state = self.queue.lock();
        let ((), notified) = state.putters.remove(key);
        let waker = if notified && !state.closed {
            // Rule 4: the slot we were given goes to the next putter.
            state.reserved -= 1;
            state.free_slot()
        } else {
            None
        };
        drop(state);
        wake(waker);
        // `self.item` is dropped after this, outside the lock, and was never inserted.
    }
}
