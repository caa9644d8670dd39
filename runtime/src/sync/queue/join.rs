//! [`Queue::task_done`] and [`Queue::join`]: counting items processed, and waiting until
//! every item put has been — asyncio's `task_done()` and `await queue.join()` — with `Join`,
//! the future that waits.
//!
//! Every `put` counts one more unfinished item (`State::insert`, in `state.rs`); each
//! `task_done` counts one off, and the last one releases every joiner at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::state::Queue;
use crate::sync::waitlist::WaiterKey;

impl<T> Queue<T> {
    /// Mark one item got from the queue as processed — asyncio's `task_done()`.
    ///
    /// Every successful `put` adds one to a count of unfinished items and every `task_done`
    /// takes one off; when it reaches zero, every [`join`](Queue::join) returns.
    ///
    /// # Panics
    /// If called more times than items were put, as asyncio raises `ValueError`. Calling
    /// it too often is a bug in the caller's bookkeeping, not a condition to handle.
    pub fn task_done(&self) {
        let mut state = self.lock();
        if state.unfinished == 0 {
            drop(state); // do not poison the lock for the other tasks
            panic!("Queue::task_done() called more times than there were items");
        }
        state.unfinished -= 1;
        if state.unfinished > 0 || state.joiners.is_empty() {
            return;
        }
        let mut wakers = Vec::new();
        state.joiners.notify_all(&mut wakers);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Wait until every item put has been marked done with [`task_done`](Queue::task_done)
    /// — asyncio's `await queue.join()`. Returns at once if there are none.
    ///
    /// Like asyncio's, a `join` that has been released returns even if more items are put
    /// before it runs. Cancel-safe: all joiners are released together, so a dropped `join`
    /// has nothing to pass on.
    pub fn join(&self) -> impl Future<Output = ()> + '_ {
        Join {
            queue: self,
            key: None,
        }
    }
}

/// The future of [`Queue::join`].
struct Join<'a, T> {
    /// The queue.
    queue: &'a Queue<T>,
    /// Our place among the joiners, while we wait.
    key: Option<WaiterKey>,
}

impl<T> Future for Join<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.queue.lock();
        match this.key {
            Some(key) if state.joiners.is_notified(key) => {
                this.key = None;
                state.joiners.remove(key);
                Poll::Ready(())
            }
            Some(key) => {
                state.joiners.set_waker(key, cx.waker());
                Poll::Pending
            }
            None if state.unfinished == 0 => Poll::Ready(()),
            None => {
                this.key = Some(state.joiners.push_back((), cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Join<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Joiners are released all at once, so there is nothing to pass on.
            self.queue.lock().joiners.remove(key);
        }
    }
}
