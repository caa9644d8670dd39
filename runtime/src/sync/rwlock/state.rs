//! The [`RwLock`] type: the value in its `Arc`, the count of readers and the queue of waiting
//! readers and writers behind one `std::sync::Mutex`, and what every way of taking or
//! giving back access is built on — `try_take` (the fast path), `release` and `grant`
//! (admitting the queue's front fairly, as `rwlock/mod.rs` explains).
//!
//! asyncio has no reader-writer lock to compare with. The methods that take access are in
//! the next files of the reading order: `try_read`/`try_write` in `guard.rs`,
//! `read`/`write` in `lock.rs`. Their guards and futures call back into `poll_access`,
//! `cancel_access` and `unlock` here.

use std::fmt;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use crate::sync::waitlist::{Progress, WaitList};

/// An asynchronous reader-writer lock: any number of readers, or one writer, FIFO-fair.
///
/// Mirrors tokio's `RwLock` (asyncio has none; its nearest is a `Lock` around the writes
/// and nothing around the reads, which is only safe on one event loop). Differs from
/// `std::sync::RwLock` in that the guards may be held across `.await`, and in its strict
/// fairness: a queued writer blocks readers that arrive after it. Because read guards share
/// the value through an `Arc` (see `rwlock/mod.rs`), `RwLock<T>` is `Send` and `Sync` when
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
pub(super) struct State<T> {
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
pub(super) enum Access {
    /// Shared, through an `RwLockReadGuard` (`guard.rs`).
    Read,
    /// Exclusive, through an `RwLockWriteGuard` (`guard.rs`).
    Write,
}

impl<T> RwLock<T> {
    /// A new, unlocked `RwLock` holding `value`. Allocates once, for the value (see
    /// `rwlock/mod.rs`); reading and writing never allocate.
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            state: std::sync::Mutex::new(State {
                value: Some(Arc::new(value)),
                readers: 0,
                waiters: WaitList::new(),
            }),
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
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Poll for `access` on behalf of a `read()`/`write()` future.
    pub(super) fn poll_access(
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
    pub(super) fn cancel_access(&self, progress: Progress) {
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
    pub(super) fn unlock(&self, access: Access, value: Arc<T>) {
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
pub(super) fn try_take<T>(state: &mut State<T>, access: Access) -> Option<Arc<T>> {
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
