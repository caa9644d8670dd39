//! [`RwLock`]: many readers or one writer, fair between them.
//!
//! asyncio has no reader-writer lock; this is tokio's `RwLock`, built the way tempo's
//! [`Mutex`](super::Mutex) is.
//!
//! ## Fairness
//!
//! Requests are served in arrival order from one [`WaitList`]. A reader may join readers
//! already inside only if nobody is queued: once a writer waits, later readers queue behind
//! it, so a steady stream of readers cannot starve writers. When the lock comes free,
//! `grant` admits the queue's front: a writer alone, or every reader up to the next writer.
//!
//! ```text
//!   held by R1 R2    queue: [W1] [R3] [R4] [W2] [R5]
//!   R1, R2 release → W1 writes          queue: [R3] [R4] [W2] [R5]
//!   W1 releases    → R3 and R4 read     queue: [W2] [R5]
//! ```
//!
//! ## Where the value lives — a labelled shortcut
//!
//! As in `Mutex`, `tempo-runtime` forbids `unsafe`, so the value cannot be lent out of an
//! `UnsafeCell`. It lives in one `Arc` made by [`RwLock::new`]: each read guard holds a
//! clone (an atomic increment, no allocation), and a writer holds the `Arc` itself, which is
//! unique then because a writer is admitted only when no reader holds a clone. A
//! production lock keeps the value inline and counts readers in one atomic word.
//!
//! ## Cancellation
//!
//! A dropped `read()`/`write()` future leaves the queue; if access had been granted to it,
//! it gives the access back, and `grant` runs again. `grant` also runs when a waiter that
//! was *not* granted leaves: a cancelled writer at the front may have been the only thing
//! keeping the readers behind it out.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::mutex::TryLockError;
use super::waitlist::{Progress, WaitList};

/// An asynchronous reader-writer lock: any number of readers, or one writer, FIFO-fair.
///
/// Mirrors tokio's `RwLock` (asyncio has none; its nearest is a `Lock` around the writes
/// and nothing around the reads, which is only safe on one event loop). Differs from
/// `std::sync::RwLock` in that the guards may be held across `.await`, and in its strict
/// fairness: a queued writer blocks readers that arrive after it. Because read guards share
/// the value through an `Arc` (see the module docs), `RwLock<T>` is `Send` and `Sync` when
/// `T` is `Send + Sync`; tokio's is `Send` for any `T: Send`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::RwLock;
///
/// tempo::run(async {
///     let config = RwLock::new(String::from("v1"));
///     {
///         let a = config.read().await;
///         let b = config.read().await; // readers share
///         assert_eq!((a.as_str(), b.as_str()), ("v1", "v1"));
///         assert!(config.try_write().is_err()); // the writer must wait for both
///     }
///     config.write().await.push_str("-patched");
///     assert_eq!(*config.read().await, "v1-patched");
/// });
/// ```
#[doc(alias = "readers-writer lock")]
pub struct RwLock<T> {
    /// The lock's state; held for a few instructions, never across an await or a wake.
    state: std::sync::Mutex<State<T>>,
}

/// An [`RwLock`]'s state, behind its `std::sync::Mutex`.
///
/// Invariants: `value` is `None` exactly while a writer (a guard, or a granted waiter's
/// node) holds it, and then `readers == 0`; `readers` counts every clone of the `Arc` out
/// in read guards and granted readers' nodes.
struct State<T> {
    /// The value, when no writer holds it.
    value: Option<Arc<T>>,
    /// Readers admitted and not yet gone: read guards, and granted readers not yet polled.
    readers: usize,
    /// Readers and writers waiting, in arrival order.
    waiters: WaitList<Waiter<T>>,
}

/// What a queued waiter asked for and, once admitted, what it was given.
struct Waiter<T> {
    /// Read or write.
    access: Access,
    /// Set by `grant` when the waiter is admitted: a clone of the value for a reader, the
    /// value itself for a writer.
    granted: Option<Arc<T>>,
}

/// The two kinds of access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    /// Shared, through a [`RwLockReadGuard`].
    Read,
    /// Exclusive, through a [`RwLockWriteGuard`].
    Write,
}

impl<T> RwLock<T> {
    /// A new, unlocked `RwLock` holding `value`. Allocates once, for the value (see the
    /// module docs); reading and writing never allocate.
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            state: std::sync::Mutex::new(State {
                value: Some(Arc::new(value)),
                readers: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Wait for shared access. Readers share the lock with each other, but queue behind any
    /// writer that arrived before them.
    ///
    /// **Cancellation safe:** dropping the future gives up its place, or the access it was
    /// granted.
    pub fn read(&self) -> ReadLock<'_, T> {
        ReadLock {
            lock: self,
            progress: Progress::Idle,
        }
    }

    /// Wait for exclusive access.
    ///
    /// **Cancellation safe**, as [`read`](RwLock::read).
    pub fn write(&self) -> WriteLock<'_, T> {
        WriteLock {
            lock: self,
            progress: Progress::Idle,
        }
    }

    /// Take shared access if it is available now: no writer holds the lock and nobody is
    /// queued (a queued writer comes first).
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match try_take(&mut self.state(), Access::Read) {
            Some(value) => Ok(RwLockReadGuard {
                lock: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }

    /// Take exclusive access if the lock is free now and nobody is queued.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match try_take(&mut self.state(), Access::Write) {
            Some(value) => Ok(RwLockWriteGuard {
                lock: self,
                value: Some(value),
            }),
            None => Err(TryLockError::new()),
        }
    }

    /// The value, borrowed mutably: `&mut self` proves nobody holds the lock.
    ///
    /// # Panics
    /// If a guard was leaked with `mem::forget`.
    pub fn get_mut(&mut self) -> &mut T {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state
            .value
            .as_mut()
            .and_then(Arc::get_mut)
            .expect("tempo::sync::RwLock: a guard was leaked with mem::forget")
    }

    /// The value, consuming the lock.
    ///
    /// # Panics
    /// If a guard was leaked with `mem::forget`.
    pub fn into_inner(self) -> T {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        state
            .value
            .and_then(|value| Arc::try_unwrap(value).ok())
            .expect("tempo::sync::RwLock: a guard was leaked with mem::forget")
    }

    /// Lock the state. A poisoned state is still consistent (see `Mutex::state`).
    fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Poll for `access` on behalf of a `read()`/`write()` future.
    fn poll_access(
        &self,
        access: Access,
        progress: &mut Progress,
        cx: &mut Context<'_>,
    ) -> Poll<Arc<T>> {
        match *progress {
            Progress::Idle => {
                ready!(coop::poll_proceed(cx));
                let mut state = self.state();
                if let Some(value) = try_take(&mut state, access) {
                    *progress = Progress::Done;
                    return Poll::Ready(value);
                }
                let waiter = Waiter {
                    access,
                    granted: None,
                };
                *progress = Progress::Waiting(state.waiters.push_back(waiter, cx.waker()));
                Poll::Pending
            }
            Progress::Waiting(key) => {
                let mut state = self.state();
                if !state.waiters.is_notified(key) {
                    state.waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                let (waiter, _) = state.waiters.remove(key);
                *progress = Progress::Done;
                Poll::Ready(waiter.granted.expect("a notified waiter has been granted"))
            }
            Progress::Done => {
                panic!("an RwLock read()/write() future was polled after it completed")
            }
        }
    }

    /// A `read()`/`write()` future is being dropped: leave the queue, give back any access
    /// it was granted, and admit whoever that (or our leaving) lets in.
    fn cancel_access(&self, progress: Progress) {
        let Progress::Waiting(key) = progress else {
            return;
        };
        let mut wakers = Vec::new();
        {
            let mut state = self.state();
            let (waiter, _) = state.waiters.remove(key);
            if let Some(value) = waiter.granted {
                release(&mut state, waiter.access, value);
            }
            grant(&mut state, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// A guard is going away: give its access back and wake whoever that admits.
    fn unlock(&self, access: Access, value: Arc<T>) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state();
            release(&mut state, access, value);
            grant(&mut state, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The fast path of `read`/`write`/`try_*`: take `access` at once if nobody is queued and
/// the lock allows it. Never touches the queue, so never allocates.
fn try_take<T>(state: &mut State<T>, access: Access) -> Option<Arc<T>> {
    if !state.waiters.is_empty() {
        return None;
    }
    match access {
        Access::Read => {
            let value = state.value.clone()?;
            state.readers += 1;
            Some(value)
        }
        Access::Write if state.readers == 0 => state.value.take(),
        Access::Write => None,
    }
}

/// Give back `access`. A reader's clone is dropped *before* the count goes down, so the
/// writer that the count admits finds the `Arc` unique.
fn release<T>(state: &mut State<T>, access: Access, value: Arc<T>) {
    match access {
        Access::Read => {
            drop(value);
            state.readers -= 1;
        }
        Access::Write => state.value = Some(value),
    }
}

/// Admit waiters from the front of the queue while the lock allows: every reader up to the
/// first writer, or that writer alone once the readers are gone. Collects their wakers.
fn grant<T>(state: &mut State<T>, wakers: &mut Vec<Waker>) {
    while let Some((key, access)) = state.waiters.front().map(|(k, w)| (k, w.access)) {
        let granted = match (access, &state.value) {
            (_, None) => break, // a writer holds it
            (Access::Read, Some(value)) => {
                state.readers += 1;
                value.clone()
            }
            (Access::Write, Some(_)) if state.readers > 0 => break,
            (Access::Write, Some(_)) => state.value.take().expect("matched Some"),
        };
        state.waiters.value_mut(key).granted = Some(granted);
        wakers.extend(state.waiters.notify_front());
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("RwLock")
            .field("writer", &state.value.is_none())
            .field("readers", &state.readers)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`RwLock::read`]; resolves to a [`RwLockReadGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct ReadLock<'a, T> {
    /// The lock being read.
    lock: &'a RwLock<T>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a, T> Future for ReadLock<'a, T> {
    type Output = RwLockReadGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockReadGuard<'a, T>> {
        let this = &mut *self;
        let value = ready!(this.lock.poll_access(Access::Read, &mut this.progress, cx));
        Poll::Ready(RwLockReadGuard {
            lock: this.lock,
            value: Some(value),
        })
    }
}

impl<T> Drop for ReadLock<'_, T> {
    fn drop(&mut self) {
        self.lock.cancel_access(self.progress);
    }
}

/// The future returned by [`RwLock::write`]; resolves to a [`RwLockWriteGuard`].
#[must_use = "futures do nothing unless awaited"]
pub struct WriteLock<'a, T> {
    /// The lock being written.
    lock: &'a RwLock<T>,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a, T> Future for WriteLock<'a, T> {
    type Output = RwLockWriteGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<RwLockWriteGuard<'a, T>> {
        let this = &mut *self;
        let value = ready!(this.lock.poll_access(Access::Write, &mut this.progress, cx));
        Poll::Ready(RwLockWriteGuard {
            lock: this.lock,
            value: Some(value),
        })
    }
}

impl<T> Drop for WriteLock<'_, T> {
    fn drop(&mut self) {
        self.lock.cancel_access(self.progress);
    }
}

impl<T> fmt::Debug for ReadLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadLock")
            .field("progress", &self.progress)
            .finish()
    }
}

impl<T> fmt::Debug for WriteLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteLock")
            .field("progress", &self.progress)
            .finish()
    }
}

/// Shared access to an [`RwLock`]'s value; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T> {
    /// The lock this guard reads.
    lock: &'a RwLock<T>,
    /// This reader's clone of the value; `Some` until the destructor gives it back.
    value: Option<Arc<T>>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.lock.unlock(Access::Read, value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; released when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T> {
    /// The lock this guard writes.
    lock: &'a RwLock<T>,
    /// The value, unique while we hold it; `Some` until the destructor gives it back.
    value: Option<Arc<T>>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.value.as_deref().expect("a live guard holds the value")
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // Unique by the invariant on `State`: a writer is admitted only when `readers == 0`,
        // and every reader drops its clone before it is uncounted.
        self.value
            .as_mut()
            .and_then(Arc::get_mut)
            .expect("a writer's Arc is unique")
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(value) = self.value.take() {
            self.lock.unlock(Access::Write, value);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
