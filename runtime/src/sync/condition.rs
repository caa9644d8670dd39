//! [`Condition`]: wait, with a [`Mutex`] released, until another task says the state has
//! changed — asyncio's `Condition`, used with tempo's `Mutex`.
//!
//! ## Releasing the mutex and starting to wait, atomically
//!
//! `wait(guard)` must not miss a `notify` sent by whoever takes the mutex next. So on its
//! first poll a [`ConditionWait`] queues itself on the condition *first* and drops the guard
//! *second*: by the time any other task can lock the mutex and notify, we are in the queue.
//!
//! ## No lost wake-ups when a waiter is cancelled — tokio#3892
//!
//! A notification is addressed to a particular waiter: `notify_one` unlinks the first one
//! and marks it. If that waiter's future is then dropped before it returns — its task was
//! aborted, or a `timeout` or `select` around the wait gave up — the notification would
//! vanish with it: the notifier believes one waiter is on its way, every other waiter sleeps
//! on, and a producer/consumer pair deadlocks. This is the trap that has kept an async
//! condition variable out of tokio (tokio#3892), and that asyncio fixed in Python 3.13
//! (gh-112202): a cancelled `Condition.wait` that had been notified now notifies another.
//!
//! tempo does the same, by the [`WaitList`] rule: a `ConditionWait` dropped after it was
//! notified and before it returned its guard — still in the queue's slab, or already
//! re-locking the mutex — calls `notify_one` on its way out. The one the notification goes
//! to instead re-checks the state, so nothing is lost.
//!
//! The cost is that a waiter may wake for a notification meant for someone else (after a
//! `notify_all`, passing one on wakes a waiter that arrived later). That is within the
//! contract of every condition variable — **re-check the state after `wait` returns**,
//! in a loop, or let [`Condition::wait_for`] do it.

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use super::mutex::{Lock, Mutex, MutexGuard};
use super::waitlist::{WaitList, WaiterKey};

/// A condition variable: tasks wait for a change to state behind a [`Mutex`], and the task
/// that changes it notifies them.
///
/// Mirrors asyncio's `Condition` — `wait`, `wait_for`, `notify(n)`, `notify_all` — used as
/// in Rust's `std::sync::Condvar`: the condition owns no lock; `wait` takes the guard of
/// the mutex that protects the state and gives it back, re-acquired, when it returns.
/// Differs from asyncio in that `notify` needs no lock held (asyncio raises if the lock is
/// not held), in that a waiter cancelled after being notified passes the notification on
/// (asyncio does so since 3.13; see the module docs), and in that it works between threads.
/// Use one `Condition` with one `Mutex`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::{Condition, Mutex};
///
/// tempo::run(async {
///     let shared = Arc::new((Mutex::new(Vec::new()), Condition::new()));
///     let consumer = tempo::spawn({
///         let shared = shared.clone();
///         async move {
///             let (items, ready) = &*shared;
///             let mut items = ready.wait_for(items.lock().await, |v| !v.is_empty()).await;
///             items.pop()
///         }
///     });
///     let (items, ready) = &*shared;
///     items.lock().await.push("job");
///     ready.notify_one();
///     assert_eq!(consumer.await.unwrap(), Some("job"));
/// });
/// ```
#[doc(alias = "asyncio.Condition")]
#[doc(alias = "Condvar")]
pub struct Condition {
    /// Tasks waiting for a notification, in arrival order. Held for a few instructions,
    /// never across a wake or while touching the mutex.
    waiters: std::sync::Mutex<WaitList<()>>,
}

impl Condition {
    /// A new condition with nobody waiting. Allocates nothing.
    pub const fn new() -> Condition {
        Condition {
            waiters: std::sync::Mutex::new(WaitList::new()),
        }
    }

    /// Release the mutex `guard` holds, wait for a notification, re-acquire the mutex, and
    /// return its new guard — asyncio's `await cond.wait()`.
    ///
    /// Releasing and starting to wait are atomic with respect to the mutex (see the module
    /// docs): a task that locks the mutex after us and calls `notify_one` will wake us.
    /// Re-acquiring queues fairly behind other lockers. Returns only after a notification,
    /// but possibly one passed on from a cancelled waiter: check your state again.
    ///
    /// **Cancellation safe:** dropping the future before it returns leaves the mutex
    /// unlocked by us, and passes on a notification it had received.
    pub fn wait<'a, T>(&'a self, guard: MutexGuard<'a, T>) -> ConditionWait<'a, T> {
        ConditionWait {
            condition: self,
            step: Step::Start(guard),
        }
    }

    /// Wait until `predicate` holds for the value behind the mutex, and return the guard
    /// with it holding — asyncio's `await cond.wait_for(predicate)`, which returns the
    /// predicate's value instead.
    ///
    /// `predicate` is called with the mutex held: first at once, then after every
    /// notification. Cancellation safe, as [`wait`](Condition::wait).
    pub async fn wait_for<'a, T, F>(
        &'a self,
        mut guard: MutexGuard<'a, T>,
        mut predicate: F,
    ) -> MutexGuard<'a, T>
    where
        F: FnMut(&mut T) -> bool,
    {
        while !predicate(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wake the first task waiting, if any — asyncio's `cond.notify()`. With nobody
    /// waiting, the notification is dropped, as in asyncio: a condition has no memory.
    pub fn notify_one(&self) {
        let waker = self.waiters().notify_front();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wake up to `n` waiting tasks, first come first — asyncio's `cond.notify(n)`.
    pub fn notify(&self, n: usize) {
        let mut wakers = Vec::new();
        {
            let mut waiters = self.waiters();
            for _ in 0..n {
                if waiters.is_empty() {
                    break;
                }
                wakers.extend(waiters.notify_front());
            }
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Wake every task waiting now — asyncio's `cond.notify_all()`.
    pub fn notify_all(&self) {
        let mut wakers = Vec::new();
        self.waiters().notify_all(&mut wakers);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Lock the queue. A poisoned queue is still consistent (see `Mutex::state`).
    fn waiters(&self) -> std::sync::MutexGuard<'_, WaitList<()>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters().len())
            .finish()
    }
}

/// The future returned by [`Condition::wait`]; resolves to the re-acquired guard.
#[must_use = "futures do nothing unless awaited"]
pub struct ConditionWait<'a, T> {
    /// The condition waited on.
    condition: &'a Condition,
    /// How far the wait has got.
    step: Step<'a, T>,
}

/// The steps of a [`ConditionWait`], in order.
///
/// ```text
///   Start(guard) ──queue, then release──► Waiting ──notified──► Relocking ──locked──► Done
/// ```
enum Step<'a, T> {
    /// Not yet polled: holds the caller's guard; not queued.
    Start(MutexGuard<'a, T>),
    /// Queued on the condition under `key`, the mutex released.
    Waiting {
        /// The mutex to re-lock once notified.
        mutex: &'a Mutex<T>,
        /// Our place in the condition's queue.
        key: WaiterKey,
    },
    /// Notified and out of the queue; waiting for the mutex.
    Relocking(Lock<'a, T>),
    /// Returned the guard; must not be polled again.
    Done,
}

impl<'a, T> Future for ConditionWait<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = &mut *self;
        loop {
            match &mut this.step {
                Step::Start(guard) => {
                    let mutex = MutexGuard::mutex(guard);
                    // 1. Queue on the condition while still holding the mutex...
                    let key = this.condition.waiters().push_back((), cx.waker());
                    // 2. ...then release it, by dropping the `Start` step that holds the
                    //    guard. From here a notifier can lock the mutex, and will find us.
                    let start = mem::replace(&mut this.step, Step::Waiting { mutex, key });
                    drop(start);
                    return Poll::Pending;
                }
                &mut Step::Waiting { mutex, key } => {
                    let mut waiters = this.condition.waiters();
                    if !waiters.is_notified(key) {
                        waiters.set_waker(key, cx.waker());
                        return Poll::Pending;
                    }
                    waiters.remove(key);
                    drop(waiters);
                    // 3. Notified: re-lock, fairly, behind anyone already queued for it.
                    this.step = Step::Relocking(mutex.lock());
                }
                Step::Relocking(lock) => {
                    let guard = ready!(Pin::new(lock).poll(cx));
                    this.step = Step::Done;
                    return Poll::Ready(guard);
                }
                Step::Done => panic!("a Condition::wait() future was polled after it completed"),
            }
        }
    }
}

impl<T> Drop for ConditionWait<'_, T> {
    fn drop(&mut self) {
        let notified = match self.step {
            // Still holding the guard (it unlocks as the field drops), or finished.
            Step::Start(_) | Step::Done => false,
            Step::Waiting { key, .. } => self.condition.waiters().remove(key).1,
            // Notified, but the guard never reached the caller. The `Lock` field, dropped
            // after this, hands the mutex on if it had been handed to us.
            Step::Relocking(_) => true,
        };
        if notified {
            // The notification was ours and we will not act on it: pass it on
            // (the module docs, and the rule in `waitlist`).
            self.condition.notify_one();
        }
    }
}

impl<T> fmt::Debug for ConditionWait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::Start(_) => "start",
            Step::Waiting { .. } => "waiting",
            Step::Relocking(_) => "relocking",
            Step::Done => "done",
        };
        f.debug_struct("ConditionWait")
            .field("step", &step)
            .finish()
    }
}
