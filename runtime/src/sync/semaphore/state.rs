//! The [`Semaphore`] type: the count of free permits and the queue of waiting acquires,
//! behind one `std::sync::Mutex`, and what every way of taking or returning permits is
//! built on — `take_now` (the fast path), `grant` (serving the queue strictly first come,
//! first served, as `semaphore/mod.rs` explains) and `add`.
//!
//! asyncio's `Semaphore` keeps the same two things, `_value` and `_waiters`. The methods
//! that hand out permits are in the next files of the reading order: `try_acquire` in
//! `permit.rs`, `acquire` in `acquire.rs`. Those files' futures and permits call back into
//! `poll_acquire`, `cancel_acquire` and `release` here.

use std::fmt;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::error::{AcquireError, TryAcquireError};
use crate::sync::waitlist::{Progress, WaitList};

/// A counting semaphore: `acquire` takes permits, waiting while there are too few, and the
/// returned permit gives them back when dropped.
///
/// Mirrors asyncio's `Semaphore` used as `async with sem:`; differs in that a permit is a
/// value that releases when dropped — so, like asyncio's `BoundedSemaphore`, you cannot
/// release more than you took, unless you say so with [`add_permits`](Semaphore::add_permits)
/// — in that one acquire may take several permits, in that it can be [closed](Semaphore::close),
/// and in that it works between threads. Names follow tokio's `Semaphore`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::Semaphore;
///
/// tempo::run(async {
///     let sem = Arc::new(Semaphore::new(2)); // at most two at a time
///     let tasks: Vec<_> = (0..5)
///         .map(|i| {
///             let sem = sem.clone();
///             tempo::spawn(async move {
///                 let _permit = sem.acquire().await.expect("never closed");
///                 tempo::task::yield_now().await; // "work"
///                 i
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
#[doc(alias = "asyncio.Semaphore")]
#[doc(alias = "asyncio.BoundedSemaphore")]
pub struct Semaphore {
    /// The count and the queue; held for a few instructions, never across an await or a
    /// wake.
    state: std::sync::Mutex<State>,
}

/// A [`Semaphore`]'s state, behind its `std::sync::Mutex`.
struct State {
    /// Permits free now. Permits granted to a waiter not yet polled are already out of it.
    permits: usize,
    /// Set by `close`, never cleared.
    closed: bool,
    /// Waiters in arrival order, each with what it asked for.
    waiters: WaitList<Request>,
}

/// A queued acquire.
#[derive(Clone, Copy, Debug)]
struct Request {
    /// How many permits it wants.
    permits: u32,
    /// Set when `grant` hands it its permits; a waiter notified with this unset was woken by
    /// `close`.
    granted: bool,
}

impl Semaphore {
    /// A semaphore with `permits` permits. Allocates nothing.
    pub const fn new(permits: usize) -> Semaphore {
        Semaphore {
            state: std::sync::Mutex::new(State {
                permits,
                closed: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Add `n` permits, serving waiters first in line — asyncio's `release()` without an
    /// acquire to match. Works on a closed semaphore too (the permits are counted; nobody can
    /// take them).
    ///
    /// # Panics
    /// If the count would overflow `usize`.
    #[doc(alias = "release")]
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Permits free now. Permits already granted to a queued waiter are not counted.
    pub fn available_permits(&self) -> usize {
        self.state().permits
    }

    /// Close the semaphore: every queued `acquire` fails with [`AcquireError`], and so does
    /// every later one. Permits already granted stay valid, and may still be returned.
    /// asyncio's semaphores cannot be closed; this is tokio's.
    pub fn close(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state();
            state.closed = true;
            state.waiters.notify_all(&mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once [`close`](Semaphore::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.state().closed
    }

    /// Lock the state. A poisoned state is still consistent (see `Mutex::state`).
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fast path of every `try_acquire`.
    pub(super) fn try_take(&self, n: u32) -> Result<(), TryAcquireError> {
        take_now(&mut self.state(), n)
    }

    /// Poll for `n` permits on behalf of an `Acquire`/`AcquireOwned` future.
    pub(super) fn poll_acquire(
        &self,
        n: u32,
        progress: &mut Progress,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        match *progress {
            Progress::Idle => {
                ready!(coop::poll_proceed(cx));
                let mut state = self.state();
                let result = match take_now(&mut state, n) {
                    Ok(()) => Ok(()),
                    Err(TryAcquireError::Closed) => Err(AcquireError(())),
                    Err(TryAcquireError::NoPermits) => {
                        let request = Request {
                            permits: n,
                            granted: false,
                        };
                        *progress = Progress::Waiting(state.waiters.push_back(request, cx.waker()));
                        return Poll::Pending;
                    }
                };
                *progress = Progress::Done;
                Poll::Ready(result)
            }
            Progress::Waiting(key) => {
                let mut state = self.state();
                if !state.waiters.is_notified(key) {
                    state.waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                let (request, _) = state.waiters.remove(key);
                *progress = Progress::Done;
                // Granted before a close counts: the permits are ours.
                Poll::Ready(if request.granted {
                    Ok(())
                } else {
                    Err(AcquireError(()))
                })
            }
            Progress::Done => panic!("an acquire() future was polled after it completed"),
        }
    }

    /// An `Acquire`/`AcquireOwned` future is being dropped: leave the queue, give back any
    /// permits it was granted, and serve whoever that (or our leaving the front) lets in.
    pub(super) fn cancel_acquire(&self, progress: Progress) {
        let Progress::Waiting(key) = progress else {
            return;
        };
        let mut wakers = Vec::new();
        {
            let mut state = self.state();
            let (request, _) = state.waiters.remove(key);
            if request.granted {
                add(&mut state, request.permits as usize);
            }
            grant(&mut state, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Return `n` permits and wake the waiters they serve.
    pub(super) fn release(&self, n: usize) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state();
            add(&mut state, n);
            grant(&mut state, &mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// The fast path of every acquire: take `n` permits if they are free and nobody is
/// queued. Never touches the queue, so never allocates.
fn take_now(state: &mut State, n: u32) -> Result<(), TryAcquireError> {
    if state.closed {
        return Err(TryAcquireError::Closed);
    }
    let n = n as usize;
    if !state.waiters.is_empty() || state.permits < n {
        return Err(TryAcquireError::NoPermits);
    }
    state.permits -= n;
    Ok(())
}

/// Count `n` more free permits.
fn add(state: &mut State, n: usize) {
    state.permits = state
        .permits
        .checked_add(n)
        .expect("tempo::sync::Semaphore: the permit count overflowed usize");
}

/// Grant permits to waiters from the front of the queue while the front's request fits.
/// Stops at the first that does not: it blocks everyone behind it (see `semaphore/mod.rs`).
fn grant(state: &mut State, wakers: &mut Vec<Waker>) {
    while let Some((key, &Request { permits, .. })) = state.waiters.front() {
        let permits = permits as usize;
        if permits > state.permits {
            break;
        }
        state.permits -= permits;
        state.waiters.value_mut(key).granted = true;
        wakers.extend(state.waiters.notify_front());
    }
}

impl Default for Semaphore {
    /// A semaphore with no permits.
    fn default() -> Self {
        Semaphore::new(0)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("closed", &state.closed)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}
