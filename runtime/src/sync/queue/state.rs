//! The [`Queue`] type, and the `State` behind its lock: the buffer of items, the three lists
//! of waiting tasks, and the counts — with the moves on them (`insert`, `give_back`,
//! `hand_to_first_getter`, `free_slot`) that keep the rules numbered in `queue/mod.rs`.
//!
//! asyncio's `Queue` keeps the same things as attributes: `_queue` (a `deque`), `_getters`,
//! `_putters`, `_unfinished_tasks`. Here they sit behind one `std::sync::Mutex`, because
//! the tasks that share a queue may run on different threads. The methods that use them are
//! in the next files of the reading order: `nowait.rs`, `put.rs`, `get.rs`, `join.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use crate::sync::waitlist::WaitList;

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
/// not exceptions: [`TryPutError::Full`](super::TryPutError::Full) is `QueueFull`,
/// [`TryGetError::Empty`](super::TryGetError::Empty) is `QueueEmpty`, and
/// [`PutError`](super::PutError)/[`GetError`](super::GetError) are `QueueShutDown`.
/// Waiting getters are served strictly in FIFO order, each item going to the getter that
/// waited longest; in asyncio a woken getter can lose its item to a `get_nowait` that runs
/// first.
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
    /// The items and the waiting tasks; see `queue/mod.rs` for its rules.
    state: Mutex<State<T>>,
    /// The most items the queue holds (rule 1), or `None` if unbounded. Fixed at creation.
    pub(super) maxsize: Option<usize>,
}

/// What the queue's lock protects. Touched only by the methods in `queue/`, under the lock.
pub(super) struct State<T> {
    /// Items put and not handed to a getter, oldest at the front.
    pub(super) buffer: VecDeque<T>,
    /// Items handed to a notified getter that has not yet returned it (rule 1).
    pub(super) handed: usize,
    /// Slots promised to notified putters that have not yet used them (rule 3).
    pub(super) reserved: usize,
    /// Waiting `get` calls. A node's value is the item handed to it, once handed.
    pub(super) getters: WaitList<Option<T>>,
    /// Waiting `put` calls, waiting for a free slot.
    pub(super) putters: WaitList<()>,
    /// Waiting `join` calls.
    pub(super) joiners: WaitList<()>,
    /// Items put and not yet marked done by `task_done`.
    pub(super) unfinished: usize,
    /// Set by `close`; never cleared (rule 5).
    pub(super) closed: bool,
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
    pub(super) fn len(&self) -> usize {
        self.buffer.len() + self.handed
    }

    /// True if a new `put` may insert now (rule 3).
    pub(super) fn has_free_slot(&self, maxsize: Option<usize>) -> bool {
        maxsize.is_none_or(|max| self.len() + self.reserved < max)
    }

    /// Insert a new item that has a slot. Returns the waker of the getter it was handed to.
    pub(super) fn insert(&mut self, item: T) -> Option<Waker> {
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
    pub(super) fn give_back(&mut self, item: T) -> Option<Waker> {
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
    pub(super) fn free_slot(&mut self) -> Option<Waker> {
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

    /// The lock. The state's rules hold at every point where the queue's code could
    /// panic (it calls no user code under the lock), so a poisoned lock is safe to use.
    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
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

/// Wake `waker`, if any: called once the queue's lock is released.
pub(super) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}
