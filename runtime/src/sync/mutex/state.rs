//! The [`Mutex`] type: where its value lives (a `Box` that moves between the free lock, the
//! guard and a waiter's node), the queue of waiting tasks, and `hand_over`, which gives the
//! lock to the first of them — "the lock is handed over, never grabbed" in `mutex/mod.rs`.
//!
//! asyncio's `Lock` keeps a `_locked` flag and a deque of `_waiters`; here the flag is
//! whether the box is in the state. The methods that take the lock are in the next files of
//! the reading order: `try_lock` in `guard.rs`, `lock` in `lock.rs`. Their guards and
//! futures call back into `poll_lock`, `cancel_lock` and `unlock` here.

use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use crate::sync::waitlist::{Progress, WaitList};

/// What `get_mut` and `into_inner` say when the value has gone with a forgotten guard.
const LEAKED: &str = "tempo::sync::Mutex: the lock was leaked (a guard or a pending lock() \
                      future was passed to mem::forget while holding it)";

/// An asynchronous mutual-exclusion lock protecting a `T`, fair (first come, first served),
/// whose guard may be held across `.await`.
///
/// Mirrors asyncio's `Lock` used as `async with lock:`; differs in that it owns the data it
/// protects (you reach it through the guard, so it cannot be touched unlocked), the guard
/// unlocks when dropped rather than at the end of a `with` block, and it works between
/// threads (asyncio's `Lock` belongs to one event loop).
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::Mutex;
///
/// let total = tempo::run(async {
///     let count = Arc::new(Mutex::new(0));
///     let tasks: Vec<_> = (0..10)
///         .map(|_| {
///             let count = count.clone();
///             tempo::spawn(async move {
///                 let mut guard = count.lock().await;
///                 let seen = *guard;
///                 tempo::task::yield_now().await; // still holding the lock
///                 *guard = seen + 1;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     *count.lock().await
/// });
/// assert_eq!(total, 10);
/// ```
///
/// Use `std::sync::Mutex` instead when the lock is never held across an `.await`: it is
/// cheaper, and holding it briefly does not block the worker in any way that matters.
#[doc(alias = "asyncio.Lock")]
#[doc(alias = "Lock")]
pub struct Mutex<T> {
    /// The lock's state. Held for a few instructions at a time, never across an await, and
    /// never while waking anyone.
    state: std::sync::Mutex<State<T>>,
}

/// A [`Mutex`]'s state, behind its `std::sync::Mutex`.
///
/// Invariant: `value.is_some()` implies `waiters.is_empty()` — the lock is only ever free
/// when nobody is queued for it, because unlocking with a queue hands it over instead.
pub(super) struct State<T> {
    /// The value while the lock is free; `None` while a guard holds it, or while it sits in
    /// a notified waiter's node on its way to the next holder.
    pub(super) value: Option<Box<T>>,
    /// Tasks waiting for the lock, in arrival order. Each node holds the slot into which
    /// `hand_over` puts the value when that waiter's turn comes.
    waiters: WaitList<Option<Box<T>>>,
}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    ///
    /// Allocates once, for the value (see `mutex/mod.rs`); locking never allocates.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            state: std::sync::Mutex::new(State {
                value: Some(Box::new(value)),
                waiters: WaitList::new(),
            }),
        }
    }

    /// True if the lock is held (or being handed to a waiter) — asyncio's `lock.locked()`.
    #[doc(alias = "locked")]
    pub fn is_locked(&self) -> bool {
        self.state().value.is_none()
    }

    /// The value, borrowed mutably: `&mut self` proves nobody holds the lock.
    ///
    /// # Panics
    /// If a guard was leaked with `mem::forget`: it took the value with it.
    pub fn get_mut(&mut self) -> &mut T {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.value.as_deref_mut().expect(LEAKED)
    }

    /// The value, consuming the mutex.
    ///
    /// # Panics
    /// If a guard was leaked with `mem::forget`: it took the value with it.
    pub fn into_inner(self) -> T {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        *state.value.expect(LEAKED)
    }

    /// Lock the state.
    ///
    /// A poisoned state is still consistent, so we use it: the only user code that runs
    /// under this lock is `Waker::clone` inside `WaitList::push_back`/`set_waker`, which runs
    /// before the list changes.
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Poll for the lock on behalf of a `Lock`/`OwnedLock` future; `Ready` with the value
    /// once it is ours.
    pub(super) fn poll_lock(&self, progress: &mut Progress, cx: &mut Context<'_>) -> Poll<Box<T>> {
        match *progress {
            Progress::Idle => {
                // A task that locks an uncontended mutex in a loop would otherwise never
                // give the worker back.
                ready!(coop::poll_proceed(cx));
                let mut state = self.state();
                if let Some(value) = state.value.take() {
                    *progress = Progress::Done;
                    return Poll::Ready(value);
                }
                *progress = Progress::Waiting(state.waiters.push_back(None, cx.waker()));
                Poll::Pending
            }
            Progress::Waiting(key) => {
                let mut state = self.state();
                if !state.waiters.is_notified(key) {
                    state.waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                let (value, _) = state.waiters.remove(key);
                *progress = Progress::Done;
                Poll::Ready(value.expect("a notified lock waiter has been handed the value"))
            }
            Progress::Done => panic!("a lock() future was polled after it completed"),
        }
    }

    /// A `Lock`/`OwnedLock` future is being dropped: leave the queue, and pass the lock on
    /// if it had been handed to us.
    pub(super) fn cancel_lock(&self, progress: Progress) {
        let Progress::Waiting(key) = progress else {
            return;
        };
        let waker = {
            let mut state = self.state();
            // `Some` exactly when we were notified: the lock is ours to pass on.
            match state.waiters.remove(key).0 {
                Some(value) => hand_over(&mut state, value),
                None => None,
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Give the lock up (a guard is being dropped), waking the next holder if there is one.
    pub(super) fn unlock(&self, value: Box<T>) {
        let waker = hand_over(&mut self.state(), value);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Give the lock to the first waiter (it is the holder from now on), or make it free if
/// nobody waits. Returns the waker to wake once the state lock is released.
fn hand_over<T>(state: &mut State<T>, value: Box<T>) -> Option<Waker> {
    match state.waiters.front().map(|(key, _)| key) {
        Some(key) => {
            *state.waiters.value_mut(key) = Some(value);
            state.waiters.notify_front()
        }
        None => {
            state.value = Some(value);
            None
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}
