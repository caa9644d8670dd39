//! What a [`Queue`] does without waiting: `try_put` and `try_get` (asyncio's `put_nowait` and
//! `get_nowait`), `close` (Python 3.13's `shutdown`), and the sizes asyncio calls `qsize`,
//! `empty`, `full` and `maxsize`.
//!
//! Each takes the queue's lock, applies one of the moves of `state.rs`, and wakes whoever
//! that served after letting go of the lock.

use std::task::Waker;

use super::error::{TryGetError, TryPutError};
use super::state::{Queue, wake};

impl<T> Queue<T> {
    /// Put `item` if there is room now — asyncio's `put_nowait`.
    ///
    /// Fails with [`TryPutError::Full`] if the queue is full (free slots promised to
    /// waiting putters count as taken), or [`TryPutError::Closed`] if it is closed; either
    /// way the item comes back.
    #[doc(alias = "put_nowait")]
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let mut state = self.lock();
        if state.closed {
            return Err(TryPutError::Closed(item));
        }
        if !state.has_free_slot(self.maxsize) {
            return Err(TryPutError::Full(item));
        }
        let waker = state.insert(item);
        drop(state);
        wake(waker);
        Ok(())
    }

    /// Remove and return the item at the front if there is one — asyncio's `get_nowait`.
    ///
    /// Fails with [`TryGetError::Empty`] if no item is available, which includes items
    /// already handed to getters that were waiting (they are spoken for, though `len()`
    /// counts them until those getters run), or [`TryGetError::Closed`] if the queue is
    /// closed and empty.
    #[doc(alias = "get_nowait")]
    pub fn try_get(&self) -> Result<T, TryGetError> {
        let mut state = self.lock();
        match state.buffer.pop_front() {
            Some(item) => {
                let waker = state.free_slot();
                drop(state);
                wake(waker);
                Ok(item)
            }
            None if state.closed => Err(TryGetError::Closed),
            None => Err(TryGetError::Empty),
        }
    }

    /// Shut the queue down — Python 3.13's `queue.shutdown()`.
    ///
    /// Every waiting and future `put` fails with [`PutError`](super::PutError) (giving its item back);
    /// `get` returns the items still queued, then fails with [`GetError`](super::GetError), and waiting
    /// getters are woken to do so. `join` is unaffected. Closing twice is harmless.
    ///
    /// Differs from asyncio in having no `immediate=True`: to discard what is left, drain
    /// it with [`try_get`](Queue::try_get) (and call `task_done` for each, if anyone joins).
    #[doc(alias = "shutdown")]
    pub fn close(&self) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        state.reserved = 0; // rule 5: a notified putter now finds the queue closed
        let mut wakers = Vec::new();
        state.getters.notify_all(&mut wakers);
        state.putters.notify_all(&mut wakers);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once [`close`](Queue::close) has been called — asyncio has no equivalent; it
    /// raises `QueueShutDown` from the next call.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// How many items are in the queue — asyncio's `qsize()`: every item put and not yet
    /// returned by a `get`, including items already handed to a getter that was waiting
    /// but has not run yet (each keeps its slot until its `get` returns it).
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True if the queue holds no items — asyncio's `empty()`.
    #[doc(alias = "empty")]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if a `put` would have to wait: the queue is bounded and every slot is taken or
    /// promised to a waiting putter — asyncio's `full()`. Always false when unbounded.
    #[doc(alias = "full")]
    pub fn is_full(&self) -> bool {
        !self.lock().has_free_slot(self.maxsize)
    }

    /// The most items the queue holds, or `None` if it is unbounded — asyncio's `maxsize`,
    /// which is 0 for unbounded.
    #[doc(alias = "Queue.maxsize")]
    pub fn maxsize(&self) -> Option<usize> {
        self.maxsize
    }
}
