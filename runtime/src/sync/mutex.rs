//! [`Mutex`]: a lock whose guard may be held across `.await` — asyncio's `Lock`, with the
//! data inside it, the way Rust's `std::sync::Mutex` holds its data.
//!
//! ## The lock is handed over, never grabbed
//!
//! Unlocking while tasks wait does not make the lock free: the guard's destructor hands it
//! straight to the first waiter in the [`WaitList`], which becomes the holder before it has
//! even been polled. A task that calls `lock()` in between finds the lock taken and queues
//! behind everyone else. So the lock is granted in exactly the order `lock()` was first
//! polled — no barging, and no task can be starved by a stream of newcomers.
//!
//! The price is the "lock convoy": from the hand-off until the new holder is polled, nobody
//! runs in the critical section. `std::sync::Mutex` and parking_lot let a running thread
//! barge in for throughput; tokio's Mutex, like this one, chooses fairness. asyncio reaches
//! the same order differently: `release` marks the lock free and wakes the first waiter, and
//! `acquire` refuses to take a free lock while anyone is queued.
//!
//! ## Where the value lives — a labelled shortcut
//!
//! `tempo-runtime` is `#![forbid(unsafe_code)]`, so the value cannot sit in an `UnsafeCell`
//! lent out by raw pointer as tokio's does. Instead it lives in one `Box` made by
//! [`Mutex::new`], and *holding the lock means holding the box*: it sits in
//! `State::value` while the lock is free, in the guard while it is held, and in a waiter's
//! node while it is being handed over. Locking moves a pointer, never the value, and
//! allocates nothing. A production lock keeps the value inline in an `UnsafeCell` and saves
//! the allocation and the pointer hop.
//!
//! ## Cancellation
//!
//! A dropped [`Lock`] future removes itself from the queue. If the lock had already been
//! handed to it, it hands the lock on to the next waiter (or frees it): the rule in
//! [`waitlist`](super::waitlist)'s docs.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::waitlist::{Progress, WaitList};

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
struct State<T> {
    /// The value while the lock is free; `None` while a guard holds it, or while it sits in
    /// a notified waiter's node on its way to the next holder.
    value: Option<Box<T>>,
    /// Tasks waiting for the lock, in arrival order. Each node holds the slot into which
    /// `hand_over` puts the value when that waiter's turn comes.
    waiters: WaitList<Option<Box<T>>>,
}

/// The error of [`Mutex::try_lock`] and of `RwLock`'s `try_read`/`try_write`: the lock is
/// held, or others are already queued for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TryLockError(());

impl TryLockError {
    /// The error; crate-private so only the locks make it.
    pub(crate) fn new() -> TryLockError {
        TryLockError(())
    }
}

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held or has waiters")
    }
}

impl Error for TryLockError {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    ///
    /// Allocates once, for the value (see the module docs); locking never allocates.
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            state: std::sync::Mutex::new(State {
                value: Some(Box::new(value)),
                waiters: WaitList::new(),
            }),
        }
    }

    /// Wait for the lock, then hold it until the returned guard is dropped — asyncio's
    /// `await lock.acquire()`, or `async with lock:`.
    ///
    /// Waiters are served strictly in the order they first polled this future.
    ///
    /// **Cancellation safe:** dropping the future before it completes gives up its place in
    /// the queue; if the lock had already been handed to it, it is handed on.
    #[doc(alias = "acquire")]
    pub fn lock(&self) -> Lock<'_, T> {
        Lock {
            mutex: self,
            progress: Progress::Idle,
        }
    }

    /// Take the lock if it is free now.
    ///
    /// Fails if it is held, which includes the moment between a release and the next
    /// waiter's poll: the lock already belongs to that waiter.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.state().value.take() {
            Some(value) => Ok(MutexGuard {
                mutex: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }

    /// Like [`lock`](Mutex::lock), for a mutex in an `Arc`: the guard keeps the `Arc`, so it
    /// has no lifetime and can move into a spawned task.
    pub fn lock_owned(self: Arc<Self>) -> OwnedLock<T> {
        OwnedLock {
            mutex: Some(self),
            progress: Progress::Idle,
        }
    }

    /// Like [`try_lock`](Mutex::try_lock), for a mutex in an `Arc`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        let value = self.state().value.take();
        match value {
            Some(value) => Ok(OwnedMutexGuard {
                mutex: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
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
    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Poll for the lock on behalf of a `Lock`/`OwnedLock` future; `Ready` with the value
    /// once it is ours.
    fn poll_lock(&self, progress: &mut Progress, cx: &mut Context<'_>) -> Poll<Box<T>> {
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
    fn cancel_lock(&self, progress: Progress) {
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
    fn unlock(&self, value: Box<T>) {
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

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// The future returned by [`Mutex::lock`]; resolves to a [`MutexGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct Lock<'a, T> {
    /// The mutex being locked.
    mutex: &'a Mutex<T>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a, T> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = &mut *self;
        let value = ready!(this.mutex.poll_lock(&mut this.progress, cx));
        Poll::Ready(MutexGuard {
            mutex: this.mutex,
            value: Some(value),
        })
    }
}

impl<T> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        self.mutex.cancel_lock(self.progress);
    }
}

impl<T> fmt::Debug for Lock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("progress", &self.progress)
            .finish()
    }
}

/// The future returned by [`Mutex::lock_owned`]; resolves to an [`OwnedMutexGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedLock<T> {
    /// The mutex being locked; moved into the guard on completion.
    mutex: Option<Arc<Mutex<T>>>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<T> Future for OwnedLock<T> {
    type Output = OwnedMutexGuard<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedMutexGuard<T>> {
        let this = &mut *self;
        let mutex = this
            .mutex
            .as_ref()
            .expect("a lock_owned() future was polled after it completed");
        let value = ready!(mutex.poll_lock(&mut this.progress, cx));
        Poll::Ready(OwnedMutexGuard {
            mutex: this.mutex.take().expect("checked above"),
            value: Some(value),
        })
    }
}

impl<T> Drop for OwnedLock<T> {
    fn drop(&mut self) {
        if let Some(mutex) = &self.mutex {
            mutex.cancel_lock(self.progress);
        }
    }
}

impl<T> fmt::Debug for OwnedLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLock")
            .field("progress", &self.progress)
            .finish()
    }
}

/// Proof of holding a [`Mutex`], and the way to its value; unlocks when dropped.
///
/// It may be held across `.await`, and is `Send` when `T` is, so a task holding it can move
/// between threads. Unlocking hands the lock to the next waiter, if any (see the module
/// docs).
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T> {
    /// The mutex this guard holds.
    mutex: &'a Mutex<T>,
    /// The value; always `Some` until the guard's destructor takes it to unlock.
    value: Option<Box<T>>,
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard holds. An associated function (`MutexGuard::mutex(&guard)`) so
    /// it cannot shadow a method of `T`. [`Condition`](super::Condition) uses it to re-lock
    /// after it has released the guard.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.mutex
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_deref_mut()
            .expect("a live guard holds the value")
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.mutex.unlock(value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// A [`MutexGuard`] that owns an `Arc` of its mutex instead of borrowing it, so it can be
/// stored or sent anywhere; from [`Mutex::lock_owned`].
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    mutex: Arc<Mutex<T>>,
    /// The value; always `Some` until the guard's destructor takes it to unlock.
    value: Option<Box<T>>,
}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard holds.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.value
            .as_deref_mut()
            .expect("a live guard holds the value")
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.mutex.unlock(value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
