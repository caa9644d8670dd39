//! [`Notify`]: wake one task, or all of them, with no data attached — tokio's `Notify`, the
//! building block under channels and caches. asyncio has no exact twin: a `Condition`
//! without its lock comes closest, or an `Event` that clears itself as it releases a waiter.
//!
//! ## Two kinds of notification
//!
//! - **[`notify_one`](Notify::notify_one)** is addressed to one waiter: the first in the
//!   queue, or, if nobody waits, a single stored *permit* that the next
//!   [`notified`](Notify::notified) consumes at once. Permits do not add up: two
//!   `notify_one`s with nobody waiting store one.
//! - **[`notify_waiters`](Notify::notify_waiters)** releases every `Notified` future that
//!   exists at that moment — queued or merely created — and stores nothing.
//!
//! "Merely created" is the rule that makes the check-then-wait pattern safe: create the
//! `Notified` first, check your condition, then await it. A `notify_waiters` between the check
//! and the await is not missed, because each `Notified` remembers, when it is made, how many
//! `notify_waiters` calls there have been (`waiters_calls`), and completes when that number
//! has moved.
//!
//! ## Cancellation
//!
//! A `notify_one` handed to a waiter that is then dropped before it returns is passed on —
//! to the next waiter, or back into the permit — by the rule in `waitlist.rs`. So a dropped
//! `Notified` never swallows a notification. A `notify_waiters` has nothing to pass on.
//!
//! ## Waking many without allocating
//!
//! Waking happens after the lock is released, so `notify_waiters` first collects the wakers.
//! It collects them into a buffer kept in the state (`spare`) and put back afterwards, so once
//! the buffer has grown to the number of waiters, waking them allocates nothing.

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::waitlist::{WaitList, WaiterKey};

/// Wakes tasks waiting in [`notified`](Notify::notified): one at a time with
/// [`notify_one`](Notify::notify_one), or all at once with
/// [`notify_waiters`](Notify::notify_waiters).
///
/// Mirrors tokio's `Notify`, including the stored permit and the rule that a `Notified`
/// future receives `notify_waiters` from the moment it is created (module docs). Works
/// between threads and tasks on any worker, and `const`-constructs, so it can be a `static`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::Notify;
///
/// tempo::run(async {
///     let notify = Arc::new(Notify::new());
///     let waiter = tempo::spawn({
///         let notify = notify.clone();
///         async move {
///             notify.notified().await;
///             "woken"
///         }
///     });
///     // Whether or not the task is waiting yet, the notification is not lost: if it is
///     // not, a permit is stored and its `notified()` completes at once.
///     notify.notify_one();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    /// How many `notify_waiters` calls there have been. Written under `state`'s lock; read
    /// without it by `notified()`, to remember where it started.
    waiters_calls: AtomicU64,
    /// The permit and the queue; held for a few instructions, never across a wake.
    state: Mutex<State>,
}

/// What [`Notify`]'s lock protects.
struct State {
    /// A stored `notify_one` that found nobody waiting. At most one.
    permit: bool,
    /// Waiting `Notified` futures, each carrying how it was notified.
    waiters: WaitList<Delivery>,
    /// A buffer for the wakers of `notify_waiters`, kept for its capacity (module docs).
    spare: Vec<Waker>,
}

/// How a waiter was notified: what it must pass on if it is dropped before returning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delivery {
    /// Not notified yet.
    Nothing,
    /// By `notify_one` (or a permit): pass it on if unused.
    One,
    /// By `notify_waiters`: nothing to pass on.
    All,
}

impl Notify {
    /// A `Notify` with no permit and nobody waiting. Allocates nothing; usable in a
    /// `static`.
    pub const fn new() -> Notify {
        Notify {
            waiters_calls: AtomicU64::new(0),
            state: Mutex::new(State {
                permit: false,
                waiters: WaitList::new(),
                spare: Vec::new(),
            }),
        }
    }

    /// The same as [`new`](Notify::new), under tokio's name for the `static` constructor.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// static READY: tempo::sync::Notify = tempo::sync::Notify::const_new();
    /// READY.notify_one(); // stored as a permit
    /// tempo::run(READY.notified()); // consumes it: returns at once
    /// ```
    pub const fn const_new() -> Notify {
        Notify::new()
    }

    /// A future that completes when this `Notify` is notified (see [`Notified`]).
    ///
    /// It completes on the first of: a stored permit (consumed), a `notify_one` that picks
    /// it, or a `notify_waiters` called any time after this call — even before the first
    /// poll.
    ///
    /// **Cancellation safe:** a dropped `Notified` that had been given a `notify_one` passes
    /// it to the next waiter, or back into the permit.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            calls_at_creation: self.waiters_calls.load(Ordering::SeqCst),
            step: Step::Init,
        }
    }

    /// Wake the first task waiting in `notified()`; if none is waiting, store a permit so
    /// that the next `notified()` completes at once. A permit already stored stays one.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::sync::Notify;
    ///
    /// let notify = Notify::new();
    /// notify.notify_one();
    /// notify.notify_one(); // still one permit
    /// tempo::run(notify.notified()); // takes it
    /// // A second `notified()` now would wait.
    /// ```
    pub fn notify_one(&self) {
        let waker = give_one(&mut self.state());
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Wake every `Notified` future that exists now — waiting, or created and not yet
    /// polled. Stores no permit: a `notified()` made afterwards waits.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::sync::Arc;
    /// use tempo::sync::Notify;
    ///
    /// tempo::run(async {
    ///     let notify = Arc::new(Notify::new());
    ///     let first = notify.notified(); // created before the call: released by it
    ///     notify.notify_waiters();
    ///     first.await;
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let mut state = self.state();
        self.waiters_calls.fetch_add(1, Ordering::SeqCst);
        if state.waiters.is_empty() {
            return;
        }
        let mut wakers = mem::take(&mut state.spare);
        while let Some((key, _)) = state.waiters.front() {
            *state.waiters.value_mut(key) = Delivery::All;
            wakers.extend(state.waiters.notify_front());
        }
        drop(state);
        wakers.drain(..).for_each(Waker::wake);
        // Keep the grown buffer for next time (a concurrent call may have left its own).
        let mut state = self.state();
        if wakers.capacity() > state.spare.capacity() {
            state.spare = wakers;
        }
    }

    /// Lock the state. Nothing under the lock panics except `Waker::clone`, before the list
    /// changes, so a poisoned state is still consistent.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One `notify_one`: to the first waiter, or into the permit. Returns the waker to wake once
/// the lock is released.
fn give_one(state: &mut State) -> Option<Waker> {
    match state.waiters.front() {
        Some((key, _)) => {
            *state.waiters.value_mut(key) = Delivery::One;
            state.waiters.notify_front()
        }
        None => {
            state.permit = true;
            None
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`Notify::notified`].
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::pin::pin;
/// use tempo::sync::Notify;
///
/// tempo::run(async {
///     let notify = Notify::new();
///     let mut notified = pin!(notify.notified());
///     // Queue without waiting, so that a `notify_one` is addressed to us...
///     assert!(!notified.as_mut().enable());
///     notify.notify_one();
///     // ...and it is ours when we await.
///     notified.await;
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    /// The `Notify` waited on.
    notify: &'a Notify,
    /// `waiters_calls` when this future was made; a different count means a
    /// `notify_waiters` has released us.
    calls_at_creation: u64,
    /// How far the wait has got.
    step: Step,
}

/// The steps of a [`Notified`], in order.
///
/// ```text
///   Init ──queue──► Waiting(key) ──notified──► (returns) Done
///     └──permit, or notify_waiters since creation──► Ready(how) ──poll──► Done
/// ```
#[derive(Clone, Copy, Debug)]
enum Step {
    /// Neither polled nor enabled: not queued.
    Init,
    /// Queued under this key.
    Waiting(WaiterKey),
    /// Notified (by a permit, or by `notify_waiters`) but not yet returned; only through
    /// `enable`. `One` must be passed on if dropped here.
    Ready(Delivery),
    /// Returned; must not be polled again.
    Done,
}

impl Notified<'_> {
    /// Queue this future to receive notifications without waiting yet — tokio's `enable`.
    /// Returns `true` if it has been notified already (awaiting it then completes at
    /// once). After `enable`, a `notify_one` can be addressed to this future before it is
    /// first polled.
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.advance(None)
    }

    /// Move on as far as possible without waiting; `true` once notified. `waker` is stored
    /// if we queue or stay queued (`None` from `enable`: a no-op until the first poll).
    fn advance(&mut self, waker: Option<&Waker>) -> bool {
        let mut state = self.notify.state();
        match self.step {
            Step::Init => {
                if self.notify.waiters_calls.load(Ordering::SeqCst) != self.calls_at_creation {
                    self.step = Step::Ready(Delivery::All);
                } else if mem::take(&mut state.permit) {
                    self.step = Step::Ready(Delivery::One);
                } else {
                    self.step = Step::Waiting(
                        state
                            .waiters
                            .push_back(Delivery::Nothing, waker.unwrap_or(Waker::noop())),
                    );
                }
            }
            Step::Waiting(key) => {
                if state.waiters.is_notified(key) {
                    let (delivery, _) = state.waiters.remove(key);
                    self.step = Step::Ready(delivery);
                } else if let Some(waker) = waker {
                    state.waiters.set_waker(key, waker);
                }
            }
            Step::Ready(_) => {}
            Step::Done => panic!("a Notify::notified() future was polled after it completed"),
        }
        matches!(self.step, Step::Ready(_))
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if matches!(this.step, Step::Init) {
            // A task that consumes permits in a loop would otherwise never give the worker back.
            ready!(coop::poll_proceed(cx));
        }
        if this.advance(Some(cx.waker())) {
            this.step = Step::Done;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let pass_on = match self.step {
            Step::Waiting(key) => {
                let mut state = self.notify.state();
                let (delivery, _) = state.waiters.remove(key);
                (delivery == Delivery::One).then(|| give_one(&mut state))
            }
            Step::Ready(Delivery::One) => Some(give_one(&mut self.notify.state())),
            Step::Init | Step::Ready(_) | Step::Done => None,
        };
        // The notification was ours and we will not return it: it went on to the next
        // waiter (woken here, after unlocking) or back into the permit.
        if let Some(Some(waker)) = pass_on {
            waker.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("step", &self.step)
            .finish()
    }
}
