//! What every handle of one `watch` channel shares — the value, its version, the waiting
//! receivers — and [`Ref`], the guard that `borrow` returns. The rules kept here are
//! numbered in `watch/mod.rs`.

use std::fmt;
use std::mem;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::Waker;

use crate::sync::waitlist::WaitList;

/// What every handle of one channel shares.
pub(super) struct Shared<T> {
    /// The latest value. Written only by senders, under the write lock (rule 1).
    value: RwLock<T>,
    /// How many times the value has been replaced or modified. Bumped under `value`'s write
    /// lock (rule 1), read under `value`'s read lock or `state`'s lock (rule 3).
    version: AtomicU64,
    /// Handle counts and waiters.
    state: Mutex<State>,
}

/// What `Shared::state` protects.
pub(super) struct State {
    /// Live senders; 0 means closed (rule 4).
    pub(super) senders: usize,
    /// Live receivers; 0 makes `send` fail (rule 4).
    pub(super) receivers: usize,
    /// Receivers waiting in `changed()`.
    pub(super) changed: WaitList<()>,
    /// Senders waiting in `closed()` for the last receiver to go.
    pub(super) closed: WaitList<()>,
    /// A buffer for wakers, kept for its capacity so that waking many allocates nothing.
    spare: Vec<Waker>,
}

impl<T> Shared<T> {
    /// The state of a new channel holding `init`, with one sender and one receiver.
    pub(super) fn new(init: T) -> Shared<T> {
        Shared {
            value: RwLock::new(init),
            version: AtomicU64::new(0),
            state: Mutex::new(State {
                senders: 1,
                receivers: 1,
                changed: WaitList::new(),
                closed: WaitList::new(),
                spare: Vec::new(),
            }),
        }
    }

    /// The value, for reading. A send that panicked half-way (in `send_modify`'s closure)
    /// poisons the lock; the value is whatever the closure left, as in tokio, so we go on.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value, for writing; see `read` on poisoning.
    pub(super) fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.value.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current version. Call with the value's read lock or the state lock held for a
    /// version that matches what you see (rules 1 and 3).
    pub(super) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// The value changed: bump the version. Call holding the write lock (rule 1).
    pub(super) fn bump_version(&self, _held: &RwLockWriteGuard<'_, T>) {
        self.version.fetch_add(1, Ordering::SeqCst);
    }

    /// The handle counts and waiters. Nothing under this lock runs user code but
    /// `Waker::clone`, before the lists change, so a poisoned lock is still consistent.
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wake every receiver waiting in `changed()` (after a send, or the last sender going).
    pub(super) fn notify_receivers(&self) {
        let state = self.state();
        self.wake_all(state, |state| &mut state.changed);
    }

    /// Wake every sender waiting in `closed()` (the last receiver went).
    pub(super) fn notify_senders(&self, state: MutexGuard<'_, State>) {
        self.wake_all(state, |state| &mut state.closed);
    }

    /// Notify every waiter of one list, waking them after the lock is released, with the
    /// kept buffer (no allocation once it has grown).
    fn wake_all(
        &self,
        mut state: MutexGuard<'_, State>,
        list: fn(&mut State) -> &mut WaitList<()>,
    ) {
        if list(&mut state).is_empty() {
            return;
        }
        let mut wakers = mem::take(&mut state.spare);
        list(&mut state).notify_all(&mut wakers);
        drop(state);
        wakers.drain(..).for_each(Waker::wake);
        let mut state = self.state();
        if wakers.capacity() > state.spare.capacity() {
            state.spare = wakers;
        }
    }
}

/// A read borrow of a watch channel's value, from `Sender::borrow`, `Receiver::borrow` or
/// `Receiver::borrow_and_update`. Derefs to the value.
///
/// While it lives, senders wait to write: keep it short, and never hold it across an
/// `.await` or while sending on the same channel from the same thread (that deadlocks,
/// as with tokio's).
///
/// ```
/// # use tempo_runtime as tempo;
/// let (tx, rx) = tempo::sync::watch::channel(vec![1, 2]);
/// tx.send_modify(|v| v.push(3));
/// let value = rx.borrow();
/// assert_eq!(*value, [1, 2, 3]);
/// assert!(value.has_changed()); // the receiver had not seen this version yet
/// ```
pub struct Ref<'a, T> {
    /// The read lock on the value.
    guard: RwLockReadGuard<'a, T>,
    /// Whether the borrowing receiver had not yet seen this version.
    has_changed: bool,
}

impl<'a, T> Ref<'a, T> {
    pub(super) fn new(guard: RwLockReadGuard<'a, T>, has_changed: bool) -> Ref<'a, T> {
        Ref { guard, has_changed }
    }

    /// True if this value is one the receiver had not marked seen when it borrowed
    /// (always `false` from `Sender::borrow` and `borrow_and_update`).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
