//! [`FutureSet`]: many futures driven inside one task, polling only the ones that were woken.
//! The engine under [`join_all`](super::join_all), [`try_join_all`](super::try_join_all),
//! [`race_all`](super::race_all) and [`as_completed`](super::as_completed).
//!
//! A task has one `Waker`. If a combinator handed its task's waker to every child, a wake
//! would say only "something in here woke", and the combinator would have to poll all `n`
//! children to find out which: O(n) polls per wake, O(n²) for a join of `n` futures that
//! finish one by one. So each child gets a waker of its own, which names it:
//!
//! ```text
//!   child i's Waker ──wake──► ChildWaker { index: i }
//!                               ├─► ReadySet: queue.push_back(i)      (unless queued already)
//!                               └─► the parent's (the task's) Waker.wake()
//!   the task polls the set ──► pop i ──► poll child i with child i's Waker
//! ```
//!
//! The rules the set keeps (the code cites them by number):
//!
//! 1. **An index is queued at most once.** `queued[i]` says whether `i` is in the queue, so
//!    the queue never holds more than `n` entries; its buffer, reserved at construction,
//!    never grows, and a wake allocates nothing.
//! 2. **Pop, then poll.** The parent clears `queued[i]` as it pops `i`, before polling child
//!    `i`. A wake that came before the pop is answered by the poll about to happen; a wake
//!    during or after that poll queues `i` again. No wake is lost.
//! 3. **The parent's waker is taken by the first wake after it was stored.** The parent
//!    stores its waker at the start of every poll; the first child wake that queues an
//!    index takes it and wakes the parent. So an empty slot means "the parent has been woken
//!    since it last stored a waker, and will be polled again": later wakes need not wake it.
//! 4. **One poll polls at most what was queued when it began.** A child that wakes itself
//!    while being polled (`yield_now`, a spent budget) is queued again and polled at the
//!    parent's next poll — not again in this one, which might then never end.
//! 5. **Foreign code runs outside the lock.** Wakers are woken, cloned and dropped with the
//!    lock released; nothing panics while holding it, so a poisoned lock (from a panic
//!    elsewhere) still holds a consistent state and is used as is.
//! 6. **A finished child stays marked queued for ever**, so a late wake through a waker it
//!    left behind (with a timer, say) is ignored rather than waking the parent for nothing.
//!
//! Allocations: one `Box` and one `Arc<ChildWaker>` per child, one shared `Arc<ReadySet>`
//! with its queue and flags — all made when the set is built. Polling and waking allocate
//! nothing. The boxes are the price of `#![forbid(unsafe_code)]`: a crate that allows unsafe
//! can keep the futures in one pinned slice and project into it (futures-util's `join_all`
//! does); safe code cannot pin an element of a `Vec` in place.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// A set of futures of one type, each with its own waker; see the [module docs](self).
pub(crate) struct FutureSet<F> {
    /// The children in input order. A child's future is dropped (`None`) as soon as it
    /// finishes, or when the set is cleared.
    children: Vec<Child<F>>,
    /// Which children were woken, shared with every child's waker.
    ready: Arc<ReadySet>,
    /// How many children have not yet finished (and were not cleared).
    running: usize,
}

/// One future of a [`FutureSet`].
struct Child<F> {
    /// The future, boxed so it stays pinned while the `Vec` is ours to move; `None` once
    /// finished or cleared.
    future: Option<Pin<Box<F>>>,
    /// The waker that names this child (a `ChildWaker`), built once and reused every poll.
    waker: Waker,
}

/// The queue of woken children and the parent's waker, shared by the set and its wakers.
struct ReadySet {
    /// Everything, under one short-lived lock (rule 5).
    state: Mutex<ReadyState>,
}

/// The contents of a [`ReadySet`]'s lock.
struct ReadyState {
    /// Indices of children woken and not yet polled, in wake order. Holds each index at
    /// most once (rule 1).
    queue: VecDeque<usize>,
    /// `queued[i]`: `i` is in `queue`, or child `i` has finished (rule 6).
    queued: Vec<bool>,
    /// The waker of the task polling the set, stored at each poll and taken by the first
    /// wake after that (rule 3).
    parent: Option<Waker>,
}

/// The data behind a child's `Waker`: which child, and where to queue it.
struct ChildWaker {
    /// The child's index in the set.
    index: usize,
    /// The set's ready queue.
    ready: Arc<ReadySet>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let parent = {
            let mut state = self.ready.lock();
            if state.queued[self.index] {
                // Queued already, or finished: the parent knows (rules 1, 3 and 6).
                return;
            }
            state.queued[self.index] = true;
            state.queue.push_back(self.index);
            state.parent.take()
        };
        // Rule 5: wake outside the lock.
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl ReadySet {
    /// The lock. A panic never happens while it is held (rule 5), so a poisoned lock still
    /// guards a consistent state.
    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Store the parent's waker (rule 3), unless the stored one would wake the same task.
    fn register(&self, waker: &Waker) {
        if self
            .lock()
            .parent
            .as_ref()
            .is_some_and(|stored| stored.will_wake(waker))
        {
            return;
        }
        // Rule 5: clone the new waker and drop the old one outside the lock.
        let new = waker.clone();
        let old = self.lock().parent.replace(new);
        drop(old);
    }
}

impl<F> FutureSet<F> {
    /// How many futures the set was built with.
    pub(crate) fn len(&self) -> usize {
        self.children.len()
    }

    /// How many futures have not yet finished.
    pub(crate) fn running(&self) -> usize {
        self.running
    }
}

impl<F: Future> FutureSet<F> {
    /// Take every future out of `iter`; all start queued, so the first poll polls each
    /// once, in input order.
    pub(crate) fn new<I>(iter: I) -> FutureSet<F>
    where
        I: IntoIterator,
        I::Item: IntoFuture<IntoFuture = F>,
    {
        let futures: Vec<F> = iter.into_iter().map(IntoFuture::into_future).collect();
        let n = futures.len();
        let ready = Arc::new(ReadySet {
            state: Mutex::new(ReadyState {
                queue: (0..n).collect(),
                queued: vec![true; n],
                parent: None,
            }),
        });
        let children = futures
            .into_iter()
            .enumerate()
            .map(|(index, future)| Child {
                future: Some(Box::pin(future)),
                waker: Waker::from(Arc::new(ChildWaker {
                    index,
                    ready: ready.clone(),
                })),
            })
            .collect();
        FutureSet {
            children,
            ready,
            running: n,
        }
    }

    /// Poll the woken children, in wake order, until one finishes: `Ready(Some((index,
    /// output)))`, its future already dropped. `Ready(None)` once every child has finished;
    /// `Pending` when none of the woken ones finished, with the task's waker stored to be
    /// woken by the next child wake.
    ///
    /// Children still queued when this returns `Ready` are polled at the next call.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if self.running == 0 {
            return Poll::Ready(None);
        }
        self.ready.register(cx.waker());
        // Rule 4: this poll handles at most what is queued now.
        let snapshot = self.ready.lock().queue.len();
        for _ in 0..snapshot {
            // Rule 2: the pop clears the flag, before the poll below.
            let Some(index) = ({
                let mut state = self.ready.lock();
                let index = state.queue.pop_front();
                if let Some(i) = index {
                    state.queued[i] = false;
                }
                index
            }) else {
                break;
            };
            let child = &mut self.children[index];
            let Some(future) = child.future.as_mut() else {
                // Cleared while queued: the pop unset its flag; set it back (rule 6).
                self.retire(index);
                continue;
            };
            let mut child_cx = Context::from_waker(&child.waker);
            if let Poll::Ready(output) = future.as_mut().poll(&mut child_cx) {
                // Bookkeeping first, the child's destructor last: a panicking destructor
                // then loses this output but leaves the set consistent.
                let finished = child.future.take();
                self.running -= 1;
                self.retire(index);
                drop(finished);
                return Poll::Ready(Some((index, output)));
            }
        }
        Poll::Pending
    }

    /// Mark a finished child queued for ever (rule 6).
    fn retire(&self, index: usize) {
        self.ready.lock().queued[index] = true;
    }

    /// Drop every future still running — cancel them — now, in input order.
    pub(crate) fn clear(&mut self) {
        for index in 0..self.children.len() {
            // As in `poll_next`: account for the child before its destructor runs.
            if let Some(future) = self.children[index].future.take() {
                self.running -= 1;
                self.retire(index);
                drop(future);
            }
        }
    }
}

impl<F> fmt::Debug for FutureSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureSet")
            .field("len", &self.children.len())
            .field("running", &self.running)
            .finish_non_exhaustive()
    }
}
