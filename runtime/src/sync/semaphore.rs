//! [`Semaphore`]: a count of permits that tasks take and give back — asyncio's `Semaphore`,
//! the tool of the seeds' "cap the probes" and backpressure lessons
//! (`examples/backpressure.rs`).
//!
//! ## Strictly first come, first served
//!
//! Waiters are granted in arrival order, and a waiter at the front asking for more permits
//! than are free blocks everyone behind it — even a later request for one permit that
//! *could* be served now. Letting small requests overtake would starve the big one: with
//! tasks releasing and re-taking one permit at a time, the count might never climb to the
//! big request's `n`. So permits pile up for the head until it can go, then the next.
//!
//! ```text
//!   3 free   queue: [A wants 5] [B wants 1]       B waits, though 1 ≤ 3
//!   release 2 → 5 free: A granted, 0 free         queue: [B wants 1]
//! ```
//!
//! The fast path keeps the same rule: `acquire` and `try_acquire` take permits at once only
//! when nobody is queued.
//!
//! ## Cancellation
//!
//! A dropped `acquire()` future leaves the queue. If permits had been granted to it, it
//! gives them back, and they go to the next waiters. If it was at the front and not yet
//! granted, its leaving may let the waiters behind it through, so the queue is looked at
//! again either way.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::waitlist::{Progress, WaitList};

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

/// [`Semaphore::acquire`] failed: the semaphore was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the semaphore is closed")
    }
}

impl Error for AcquireError {}

/// Why [`Semaphore::try_acquire`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Too few permits are free, or others are queued ahead.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "the semaphore is closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}

impl Error for TryAcquireError {}

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

    /// Wait for one permit — asyncio's `await sem.acquire()`, or `async with sem:`. Released
    /// when the returned permit is dropped.
    ///
    /// Fails only if the semaphore is closed before the permit is granted.
    ///
    /// **Cancellation safe:** dropping the future gives up its place in the queue, and gives
    /// back permits it had been granted.
    #[doc(alias = "async with")]
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Wait for `n` permits at once. Waits behind earlier waiters, and blocks later ones
    /// while it waits (see the module docs). Asking for more permits than will ever exist
    /// waits for ever (or until `close`).
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            semaphore: self,
            permits: n,
            progress: Progress::Idle,
        }
    }

    /// Take one permit if one is free and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Take `n` permits if they are free and nobody is queued.
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n).map(|()| SemaphorePermit {
            semaphore: self,
            permits: n,
        })
    }

    /// Like [`acquire`](Semaphore::acquire), for a semaphore in an `Arc`: the permit keeps
    /// the `Arc`, so it can move into a spawned task.
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// Like [`acquire_many`](Semaphore::acquire_many), for a semaphore in an `Arc`.
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            semaphore: Some(self),
            permits: n,
            progress: Progress::Idle,
        }
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), for a semaphore in an `Arc`.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Like [`try_acquire_many`](Semaphore::try_acquire_many), for a semaphore in an `Arc`.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit {
            semaphore: self,
            permits: n,
        })
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
    fn try_take(&self, n: u32) -> Result<(), TryAcquireError> {
        take_now(&mut self.state(), n)
    }

    /// Poll for `n` permits on behalf of an `Acquire`/`AcquireOwned` future.
    fn poll_acquire(
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
    fn cancel_acquire(&self, progress: Progress) {
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
    fn release(&self, n: usize) {
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
/// Stops at the first that does not: it blocks everyone behind it (see the module docs).
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

/// The future returned by [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Acquire<'a> {
    /// The semaphore to take permits from.
    semaphore: &'a Semaphore,
    /// How many.
    permits: u32,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let result = ready!(
            this.semaphore
                .poll_acquire(this.permits, &mut this.progress, cx)
        );
        Poll::Ready(result.map(|()| SemaphorePermit {
            semaphore: this.semaphore,
            permits: this.permits,
        }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.semaphore.cancel_acquire(self.progress);
    }
}

/// The future returned by [`Semaphore::acquire_owned`] and
/// [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct AcquireOwned {
    /// The semaphore to take permits from; moved into the permit on success.
    semaphore: Option<Arc<Semaphore>>,
    /// How many.
    permits: u32,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let semaphore = this
            .semaphore
            .as_ref()
            .expect("an acquire_owned() future was polled after it completed");
        let result = ready!(semaphore.poll_acquire(this.permits, &mut this.progress, cx));
        let semaphore = this.semaphore.take().expect("checked above");
        Poll::Ready(result.map(|()| OwnedSemaphorePermit {
            semaphore,
            permits: this.permits,
        }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(semaphore) = &self.semaphore {
            semaphore.cancel_acquire(self.progress);
        }
    }
}

/// Permits taken from a [`Semaphore`]; dropping it gives them back — the end of asyncio's
/// `async with sem:` block.
#[must_use = "the permits are released as soon as this is dropped"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    /// Where the permits go back to.
    semaphore: &'a Semaphore,
    /// How many this holds; zero after `forget`.
    permits: u32,
}

impl SemaphorePermit<'_> {
    /// Keep the permits out of the semaphore for good: its count shrinks by
    /// [`num_permits`](SemaphorePermit::num_permits).
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> u32 {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits as usize);
        }
    }
}

/// Like [`SemaphorePermit`], but owning an `Arc` of its semaphore, so it has no lifetime.
#[must_use = "the permits are released as soon as this is dropped"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    /// Where the permits go back to.
    semaphore: Arc<Semaphore>,
    /// How many this holds; zero after `forget`.
    permits: u32,
}

impl OwnedSemaphorePermit {
    /// Keep the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits this holds.
    pub fn num_permits(&self) -> u32 {
        self.permits
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.semaphore
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.permits > 0 {
            self.semaphore.release(self.permits as usize);
        }
    }
}
