//! [`Queue`]: asyncio's `Queue` — a FIFO of items that many tasks put into and many tasks
//! get from, optionally bounded, with `task_done`/`join` to wait until every item has been
//! processed and a `close` that shuts it down the way Python 3.13's `Queue.shutdown` does.
//!
//! # How it works
//!
//! Everything lives in one [`State`] behind a `std::sync::Mutex` that is held only for a
//! few instructions and never across an `await`. Three [`WaitList`]s hold the tasks that
//! wait: getters (for an item), putters (for a free slot) and joiners (for the last
//! `task_done`). An item is always in exactly one place:
//!
//! ```text
//!   put ──► first waiting getter's node ("handed") ──► that getter's get() returns it
//!       └─► back of `buffer` ──────────────────────────► front popped by a get()
//! ```
//!
//! The rules, cited in the code by number:
//!
//! 1. **`len()` counts every item put and not yet returned by a `get`**: the ones in
//!    `buffer` and the ones `handed` to a getter that has not run yet. This is asyncio's
//!    `qsize()`, and an item holds its slot of a bounded queue until its `get` returns it.
//! 2. **Getters wait only while `buffer` is empty.** So a `put` that finds a queued getter
//!    hands its item straight to the first one (FIFO among getters, and no later `get` can
//!    take the item first), and a `get` that finds `buffer` non-empty never has to look at
//!    the getters.
//! 3. **A slot freed by a `get` goes to the first queued putter**, which is notified and
//!    the slot `reserved` for it; `len() + reserved <= maxsize` always. Hence putters wait
//!    only while no slot is free, and a new `put` queues behind them (FIFO among putters).
//! 4. **A waiter that goes away passes on what it was given** (the rule in
//!    [`waitlist`](super::waitlist)): a getter cancelled after an item was handed to it
//!    gives the item to the next queued getter, or puts it back at the *front* of `buffer`;
//!    a putter cancelled after being given a slot passes the slot to the next putter. A
//!    cancelled `put` never inserts its item.
//! 5. **`close` is permanent.** It notifies every waiting getter and putter and drops all
//!    reservations; after it, no `put` succeeds, and `get`s drain what is left.
//!
//! Wakers are collected under the lock and woken after it is released. Nothing here runs a
//! user's code (an item's destructor, say) under the lock.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use super::waitlist::{WaitList, WaiterKey};
use crate::task::poll_proceed;

/// A bounded queue's buffer is allocated up front for up to this many items, so that a
/// steady state allocates nothing; beyond it the buffer grows on demand (and keeps its
/// capacity, so it allocates only on reaching a new high-water mark).
const PRESIZE_LIMIT: usize = 4096;

/// A first-in, first-out queue shared by many producer and consumer tasks — asyncio's
/// `asyncio.Queue`.
///
/// Mirrors asyncio's `Queue`: `put`/`get` wait while the queue is full/empty, `try_put` and
/// `try_get` are `put_nowait`/`get_nowait`, and `task_done`/`join` count processed items.
/// [`close`](Queue::close) is Python 3.13's `shutdown()` (not `shutdown(immediate=True)`).
///
/// Differs from asyncio in that it is thread-safe (asyncio's queue is not): share it
/// between tasks on any worker, or with plain threads, through an `Arc`. Errors are values,
/// not exceptions: [`TryPutError::Full`] is `QueueFull`, [`TryGetError::Empty`] is
/// `QueueEmpty`, and [`PutError`]/[`GetError`] are `QueueShutDown`. Waiting getters are
/// served strictly in FIFO order, each item going to the getter that waited longest; in
/// asyncio a woken getter can lose its item to a `get_nowait` that runs first.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::Queue;
///
/// tempo::run(async {
///     let queue = Arc::new(Queue::bounded(2));
///     let consumer = tempo::spawn({
///         let queue = Arc::clone(&queue);
///         async move {
///             let mut sum = 0;
///             // After `close`, `get` drains what is left, then returns `Err`.
///             while let Ok(n) = queue.get().await {
///                 sum += n;
///                 queue.task_done();
///             }
///             sum
///         }
///     });
///     for n in 1..=10 {
///         queue.put(n).await.unwrap(); // waits while two items are queued
///     }
///     queue.join().await; // every item has been got and marked done
///     queue.close();
///     assert_eq!(consumer.await.unwrap(), 55);
/// });
/// ```
#[doc(alias = "asyncio.Queue")]
pub struct Queue<T> {
    /// The items and the waiting tasks; see the module doc for its rules.
    state: Mutex<State<T>>,
    /// The most items the queue holds (rule 1), or `None` if unbounded. Fixed at creation.
    maxsize: Option<usize>,
}

/// What the queue's lock protects. Touched only by this module's methods, under the lock.
struct State<T> {
    /// Items put and not handed to a getter, oldest at the front.
    buffer: VecDeque<T>,
    /// Items handed to a notified getter that has not yet returned it (rule 1).
    handed: usize,
    /// Slots promised to notified putters that have not yet used them (rule 3).
    reserved: usize,
    /// Waiting `get` calls. A node's value is the item handed to it, once handed.
    getters: WaitList<Option<T>>,
    /// Waiting `put` calls, waiting for a free slot.
    putters: WaitList<()>,
    /// Waiting `join` calls.
    joiners: WaitList<()>,
    /// Items put and not yet marked done by `task_done`.
    unfinished: usize,
    /// Set by `close`; never cleared (rule 5).
    closed: bool,
}

impl<T> State<T> {
    /// A queue's state with no items and no waiters, over `buffer`.
    const fn new(buffer: VecDeque<T>) -> State<T> {
        State {
            buffer,
            handed: 0,
            reserved: 0,
            getters: WaitList::new(),
            putters: WaitList::new(),
            joiners: WaitList::new(),
            unfinished: 0,
            closed: false,
        }
    }

    /// Rule 1.
    fn len(&self) -> usize {
        self.buffer.len() + self.handed
    }

    /// True if a new `put` may insert now (rule 3).
    fn has_free_slot(&self, maxsize: Option<usize>) -> bool {
        maxsize.is_none_or(|max| self.len() + self.reserved < max)
    }

    /// Insert a new item that has a slot. Returns the waker of the getter it was handed to.
    fn insert(&mut self, item: T) -> Option<Waker> {
        self.unfinished += 1;
        if self.getters.is_empty() {
            self.buffer.push_back(item);
            None
        } else {
            self.hand_to_first_getter(item)
        }
    }

    /// Give an item a cancelled getter had been handed to whoever is next in line: the first
    /// queued getter, else the front of the buffer, since it is older than what is there
    /// (rule 4). Its slot stays taken.
    fn give_back(&mut self, item: T) -> Option<Waker> {
        self.handed -= 1;
        if self.getters.is_empty() {
            self.buffer.push_front(item);
            None
        } else {
            self.hand_to_first_getter(item)
        }
    }

    /// Rule 2: only called with a getter queued, and so with `buffer` empty.
    fn hand_to_first_getter(&mut self, item: T) -> Option<Waker> {
        debug_assert!(
            self.buffer.is_empty(),
            "rule 2: getters wait on an empty buffer"
        );
        let (key, _) = self.getters.front()?;
        *self.getters.value_mut(key) = Some(item);
        self.handed += 1;
        self.getters.notify_front()
    }

    /// An item left the queue (or a putter gave back its slot): the slot goes to the first
    /// queued putter, if any (rule 3).
    fn free_slot(&mut self) -> Option<Waker> {
        if self.putters.is_empty() {
            return None;
        }
        self.reserved += 1;
        self.putters.notify_front()
    }
}

impl<T> Queue<T> {
    /// An unbounded queue: `put` never waits. asyncio's `Queue()` (or `Queue(maxsize=0)`).
    ///
    /// Allocates nothing until the first item; the buffer then grows as needed and keeps
    /// its capacity, so a queue whose length stays below its high-water mark allocates
    /// nothing more.
    pub const fn new() -> Queue<T> {
        Queue {
            state: Mutex::new(State::new(VecDeque::new())),
            maxsize: None,
        }
    }

    /// A queue that holds at most `maxsize` items: `put` waits while it is full.
    /// asyncio's `Queue(maxsize)`.
    ///
    /// The buffer is allocated here (for up to 4096 items), so a bounded queue in a steady
    /// state allocates nothing.
    ///
    /// # Panics
    /// If `maxsize` is 0. asyncio reads 0 as "unbounded"; tempo asks you to say
    /// [`Queue::new`] instead.
    pub fn bounded(maxsize: usize) -> Queue<T> {
        assert!(
            maxsize > 0,
            "Queue::bounded(0) could never hold an item; use Queue::new() for an unbounded queue"
        );
        Queue {
            state: Mutex::new(State::new(VecDeque::with_capacity(
                maxsize.min(PRESIZE_LIMIT),
            ))),
            maxsize: Some(maxsize),
        }
    }

    /// The lock. The state's rules hold at every point where this module's code could
    /// panic (it calls no user code under the lock), so a poisoned lock is safe to use.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

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

    /// Shut the queue down — Python 3.13's `queue.shutdown()`.
    ///
    /// Every waiting and future `put` fails with [`PutError`] (giving its item back);
    /// `get` returns the items still queued, then fails with [`GetError`], and waiting
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

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue::new()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Queue")
            .field("len", &state.len())
            .field("maxsize", &self.maxsize)
            .field("unfinished", &state.unfinished)
            .field("closed", &state.closed)
            .finish_non_exhaustive()
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
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

/// [`Queue::put`] failed because the queue is closed; the item is given back —
/// asyncio's `QueueShutDown` from `put`.
#[doc(alias = "QueueShutDown")]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PutError<T>(pub T);

/// [`Queue::get`] failed because the queue is closed and empty — asyncio's
/// `QueueShutDown` from `get`.
#[doc(alias = "QueueShutDown")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetError;

/// Why [`Queue::try_put`] failed; either way the item is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is full — asyncio's `QueueFull`.
    #[doc(alias = "QueueFull")]
    Full(T),
    /// The queue is closed — asyncio's `QueueShutDown`.
    #[doc(alias = "QueueShutDown")]
    Closed(T),
}

/// Why [`Queue::try_get`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is available now — asyncio's `QueueEmpty`.
    #[doc(alias = "QueueEmpty")]
    Empty,
    /// The queue is closed and empty — asyncio's `QueueShutDown`.
    #[doc(alias = "QueueShutDown")]
    Closed,
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::Closed(item) => item,
        }
    }
}

// Debug without `T: Debug`, so that `.unwrap()` works on any item type.
impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("put on a closed queue")
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("get on a closed and empty queue")
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("the queue is full"),
            TryPutError::Closed(_) => f.write_str("put on a closed queue"),
        }
    }
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("the queue is empty"),
            TryGetError::Closed => f.write_str("get on a closed and empty queue"),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}
impl std::error::Error for GetError {}
impl<T> std::error::Error for TryPutError<T> {}
impl std::error::Error for TryGetError {}
