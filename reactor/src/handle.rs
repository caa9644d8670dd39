//! [`ReactorHandle`]: what everything outside the reactor's own turn holds to reach it — I/O
//! objects and timers to register and arm, other threads to wake it, a task dump to list
//! who is parked where. Also the thread's *current* reactor (`CURRENT_REACTOR`, entered with
//! [`ReactorGuard`]), which new sockets and timers register with.
//!
//! In the crate's reading order this comes after the data structures a handle shares — the
//! I/O table (`io/readiness.rs`), the timer wheel (`time/wheel/`), the lateness recorder
//! — and before everything that holds a handle: registrations (`io/registration.rs`), the
//! timer futures (`time/sleep.rs` and the two built on it), signals (`signal/`), and the
//! reactor itself (`reactor.rs`), which owns the `mio::Poll` and makes the handles.
//!
//! # Who is parked, for task dumps
//!
//! Every await point of a task ends in one of three places (docs/DESIGN.md, "The loop (one
//! worker)"): a reactor registration, a timer, or another task or primitive that holds its waker.
//! The reactor can name the first two ([`WaitingOn`]). [`ReactorHandle::for_each_waiter`] walks
//! them; the caller then decodes each `Waker` into a task through the executor — the reactor itself
//! knows no tasks.
//!
//! **Locks.** The walk takes the I/O table's lock (and, under it, each registration's
//! waiter slots, the same order as the reactor's turn), clones the wakers out and lets go;
//! then the timer wheel's lock, likewise. Only then does it call the visitor, holding no
//! lock, so the visitor may do anything — even arm a timer on the same reactor. The worker
//! is held up for no longer than the clones take, and the dump is a snapshot: a waiter may
//! be woken (or a new one parked) while the visitor runs.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Instant;

use crate::io::readiness::IoTable;
use crate::sync::lock;
use crate::time::lateness::{self, LatenessHistogram};
use crate::time::wheel::TimerWheel;
use crate::waiting_on::WaitingOn;

thread_local! {
    /// The reactor of the worker running on this thread. Set by [`enter`] (which
    /// [`Reactor::enter`](crate::Reactor::enter) calls); the guard it returns puts back the
    /// one before.
    static CURRENT_REACTOR: RefCell<Option<ReactorHandle>> = const { RefCell::new(None) };
}

/// A handle to a reactor: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct ReactorHandle {
    /// The reactor's shared state; the reactor holds one more `Arc` of it.
    pub(crate) shared: Arc<Shared>,
}

/// What the reactor shares with I/O objects, timers and other threads. Built by
/// `Reactor::new` (`reactor.rs`), hence the `pub(crate)` fields; the tables behind a lock are
/// locked with `sync::lock`, the I/O table before any registration's waiter slot.
pub(crate) struct Shared {
    /// Registers sources with this reactor's `Poll`. `mio::Registry` is `Sync`.
    pub(crate) registry: mio::Registry,
    /// Readiness and wakers of every registered source, keyed by token.
    pub(crate) ios: Mutex<IoTable>,
    /// Every armed timer.
    pub(crate) timers: Mutex<TimerWheel>,
    /// Interrupts `epoll_wait` from another thread.
    pub(crate) unpark: mio::Waker,
    /// Set once the reactor is dropped: registrations then fail instead of waiting forever.
    pub(crate) shut_down: AtomicBool,
    /// Whether to record diagnostics ([`ReactorHandle::set_diagnostics`]). Read `Relaxed` on hot
    /// paths: a change need only be seen soon, not in order with anything else.
    pub(crate) diagnostics: AtomicBool,
    /// Timer lateness, recorded by completing `Sleep`s while `diagnostics` is on.
    pub(crate) lateness: lateness::Recorder,
}

impl Shared {
    /// A `Sleep` that had to wait for `deadline` has completed now: count how late, if
    /// diagnostics are on. Off, this is one relaxed load, and the clock is not read.
    pub(crate) fn record_lateness_since(&self, deadline: Instant) {
        if self.diagnostics.load(Ordering::Relaxed) {
            self.lateness
                .record(Instant::now().saturating_duration_since(deadline));
        }
    }
}

impl ReactorHandle {
    /// The current thread's reactor, if this thread runs a tempo worker.
    pub fn try_current() -> Option<ReactorHandle> {
        CURRENT_REACTOR.with(|c| c.borrow().clone())
    }

    /// The current thread's reactor, or an error naming the mistake.
    pub fn current() -> io::Result<ReactorHandle> {
        ReactorHandle::try_current().ok_or_else(|| {
            io::Error::other(
                "tempo: no reactor on this thread: create sockets and timers inside a tempo \
                 runtime (tempo::run, Runtime::block_on, or a spawned task)",
            )
        })
    }

    /// True if this is the reactor of the worker running on this thread.
    #[inline]
    pub fn is_current(&self) -> bool {
        CURRENT_REACTOR.with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|h| Arc::ptr_eq(&h.shared, &self.shared))
        })
    }

    /// Interrupt the reactor's `epoll_wait` (or make the next one return at once). Safe to
    /// call from any thread, as often as needed.
    pub fn unpark(&self) {
        // Writing the eventfd can fail only if its counter would overflow, which means a
        // wake-up is already pending: nothing is lost.
        let _ = self.shared.unpark.wake();
    }

    /// True once the reactor has been dropped.
    #[inline]
    pub fn is_shut_down(&self) -> bool {
        self.shared.shut_down.load(Ordering::Acquire)
    }

    /// Switch the reactor's diagnostics on or off, from any thread: while on, it records
    /// the [lateness](Self::timer_lateness) of every timer that completes. Off by default,
    /// and then it costs one relaxed load per completed timer.
    pub fn set_diagnostics(&self, on: bool) {
        self.shared.diagnostics.store(on, Ordering::Relaxed);
    }

    /// Whether diagnostics are on.
    pub fn diagnostics(&self) -> bool {
        self.shared.diagnostics.load(Ordering::Relaxed)
    }

    /// A snapshot of how late this reactor's timers have run, from any thread: a histogram
    /// of the time from each deadline to the poll at which its `Sleep` completed, for every
    /// timer that had to wait and completed while diagnostics were on. See
    /// [`LatenessHistogram`].
    pub fn timer_lateness(&self) -> LatenessHistogram {
        self.shared.lateness.snapshot()
    }

    /// Empty the lateness histogram (say, at the start of a measurement).
    pub fn reset_timer_lateness(&self) {
        self.shared.lateness.reset();
    }

    /// Visit every waker parked in this reactor — in each registration's read and write
    /// slots and in each armed timer — with what it waits on. For task dumps: the caller
    /// decodes each waker into a task. Runs on any thread.
    ///
    /// The wakers are cloned out under the reactor's locks, and `visit` is called after
    /// they are released, so it may use the reactor freely. What it sees is a snapshot;
    /// see the module doc (**Locks**). A waker may appear more than once (a task waiting on both
    /// directions of a socket, or on a socket and a timer, as a `timeout` around a read
    /// does).
    pub fn for_each_waiter(&self, mut visit: impl FnMut(&Waker, WaitingOn)) {
        for (waker, on) in collect(&self.shared) {
            visit(&waker, on);
        }
    }

    pub(crate) fn shut_down_error() -> io::Error {
        io::Error::other("tempo: the runtime owning this I/O object has shut down")
    }
}

impl std::fmt::Debug for ReactorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("reactor::ReactorHandle")
            .field("shared", &Arc::as_ptr(&self.shared))
            .finish()
    }
}

/// Restores the previous current reactor when dropped. Returned by
/// [`Reactor::enter`](crate::Reactor::enter).
#[must_use = "the reactor is current only while the guard lives"]
pub struct ReactorGuard {
    /// The thread's current reactor before this guard: put back on drop.
    previous: Option<ReactorHandle>,
}

impl Drop for ReactorGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT_REACTOR.with(|c| *c.borrow_mut() = previous);
    }
}

/// Make `handle` the current reactor of this thread until the guard is dropped: the body
/// of [`Reactor::enter`](crate::Reactor::enter), kept here beside `CURRENT_REACTOR`, which no other
/// file touches.
pub(crate) fn enter(handle: ReactorHandle) -> ReactorGuard {
    let previous = CURRENT_REACTOR.with(|c| c.borrow_mut().replace(handle));
    ReactorGuard { previous }
}

/// Every waker parked in the reactor's registrations and armed timers, cloned out from
/// under the locks; see the module doc (**Locks**).
fn collect(shared: &Shared) -> Vec<(Waker, WaitingOn)> {
    let mut waiters = Vec::new();
    lock(&shared.ios).collect_waiters(&mut waiters);
    lock(&shared.timers).collect_waiters(&mut waiters);
    waiters
}
