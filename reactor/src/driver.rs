//! The [`Reactor`]: one worker's `mio::Poll`, its I/O table and its timers.
//!
//! The worker thread owns the `Reactor` and calls [`Reactor::turn`] whenever it has no
//! task to run (or has run enough of them; see the runtime's loop). Everything other
//! threads or I/O objects need — registering a socket, arming a timer, waking the worker
//! up — goes through a cloneable [`Handle`].

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use crate::io::IoTable;
use crate::time::heap::TimerHeap;

/// The token of the `mio::Waker` that other threads use to interrupt `epoll_wait`. I/O
/// tokens never reach it (see [`IoTable`]).
const UNPARK: Token = Token(usize::MAX);

/// How many events one `epoll_wait` may return.
const EVENTS_CAPACITY: usize = 1024;

thread_local! {
    /// The reactor of the worker running on this thread. Set by [`Reactor::enter`].
    static CURRENT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// What the reactor shares with I/O objects, timers and other threads.
pub(crate) struct Shared {
    /// Registers sources with this reactor's `Poll`. `mio::Registry` is `Sync`.
    pub(crate) registry: mio::Registry,
    /// Readiness and wakers of every registered source, keyed by token.
    pub(crate) ios: Mutex<IoTable>,
    /// Every armed timer.
    pub(crate) timers: Mutex<TimerHeap>,
    /// Interrupts `epoll_wait` from another thread.
    unpark: mio::Waker,
    /// Set once the reactor is dropped: registrations then fail instead of waiting forever.
    pub(crate) shut_down: AtomicBool,
}

/// A handle to a reactor: cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

/// What one turn of the reactor did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TurnStats {
    /// I/O events received from `epoll_wait` (not counting unparks).
    pub events: usize,
    /// Timers that expired.
    pub timers: usize,
    /// Wakers woken.
    pub woken: usize,
}

/// One worker's reactor. Owned by the worker thread.
pub struct Reactor {
    /// The epoll (or kqueue) instance.
    poll: Poll,
    /// Buffer that `epoll_wait` fills.
    events: Events,
    /// What handles see.
    shared: Arc<Shared>,
    /// Wakers collected under the locks and woken after releasing them. Kept to reuse its
    /// allocation from turn to turn.
    to_wake: Vec<Waker>,
}

/// Restores the previous current reactor when dropped. Returned by [`Reactor::enter`].
#[must_use = "the reactor is current only while the guard lives"]
pub struct Enter {
    previous: Option<Handle>,
}

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

impl Reactor {
    /// A new reactor with its own epoll instance.
    pub fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let unpark = mio::Waker::new(poll.registry(), UNPARK)?;
        Ok(Reactor {
            poll,
            events: Events::with_capacity(EVENTS_CAPACITY),
            shared: Arc::new(Shared {
                registry,
                ios: Mutex::new(IoTable::new()),
                timers: Mutex::new(TimerHeap::new()),
                unpark,
                shut_down: AtomicBool::new(false),
            }),
            to_wake: Vec::with_capacity(64),
        })
    }

    /// A handle to this reactor.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Make this the current reactor of this thread — the one new sockets and timers
    /// register with — until the guard is dropped.
    pub fn enter(&self) -> Enter {
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.handle()));
        Enter { previous }
    }

    /// Wait for I/O or a timer, for at most `max_wait` (`None`: as long as it takes, up to
    /// the nearest timer), then wake everything that became ready.
    ///
    /// 1. Shorten the wait to the nearest timer deadline, rounded *up* to whole
    ///    milliseconds — epoll counts in milliseconds, and waking early would only spin.
    /// 2. `epoll_wait`.
    /// 3. For each event, record readiness on its registration and collect its wakers.
    /// 4. Expire the timers whose deadline has passed, in deadline order, and collect their
    ///    wakers.
    /// 5. Wake everything collected, after every lock is released.
    pub fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<TurnStats> {
        // 1.
        let next_timer = lock(&self.shared.timers).next_deadline();
        let timeout = match next_timer {
            Some(deadline) => {
                let until_timer =
                    ceil_to_millis(deadline.saturating_duration_since(Instant::now()));
                Some(max_wait.map_or(until_timer, |w| w.min(until_timer)))
            }
            None => max_wait,
        };
        // 2.
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        // 3.
        let mut stats = TurnStats::default();
        {
            let ios = lock(&self.shared.ios);
            for event in self.events.iter() {
                if event.token() == UNPARK {
                    continue;
                }
                stats.events += 1;
                ios.dispatch(event, &mut self.to_wake);
            }
        }
        // 4.
        if next_timer.is_some() {
            stats.timers = lock(&self.shared.timers).expire(Instant::now(), &mut self.to_wake);
        }
        // 5.
        stats.woken = self.to_wake.len();
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
        Ok(stats)
    }
}

impl Drop for Reactor {
    /// Fail every registration and wake everyone still waiting, so that a task awaiting
    /// I/O on this reactor from elsewhere sees an error rather than hanging.
    fn drop(&mut self) {
        self.shared.shut_down.store(true, Ordering::SeqCst);
        lock(&self.shared.ios).drain_wakers(&mut self.to_wake);
        lock(&self.shared.timers).drain_wakers(&mut self.to_wake);
        for waker in self.to_wake.drain(..) {
            waker.wake();
        }
    }
}

impl Handle {
    /// The current thread's reactor, if this thread runs a tempo worker.
    pub fn try_current() -> Option<Handle> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// The current thread's reactor, or an error naming the mistake.
    pub fn current() -> io::Result<Handle> {
        Handle::try_current().ok_or_else(|| {
            io::Error::other(
                "tempo: no reactor on this thread: create sockets and timers inside a tempo \
                 runtime (tempo::run, Runtime::block_on, or a spawned task)",
            )
        })
    }

    /// True if this is the reactor of the worker running on this thread.
    pub fn is_current(&self) -> bool {
        CURRENT.with(|c| {
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
    pub fn is_shut_down(&self) -> bool {
        self.shared.shut_down.load(Ordering::Acquire)
    }

    pub(crate) fn shut_down_error() -> io::Error {
        io::Error::other("tempo: the runtime owning this I/O object has shut down")
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("reactor::Handle")
            .field("shared", &Arc::as_ptr(&self.shared))
            .finish()
    }
}

/// Lock a mutex, ignoring poison: the reactor's tables stay consistent across a panic,
/// because no user code runs while they are locked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Round up to a whole number of milliseconds, so a wait never ends before a deadline.
fn ceil_to_millis(d: Duration) -> Duration {
    let millis = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(millis.min(u64::MAX as u128) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceil_rounds_up() {
        assert_eq!(ceil_to_millis(Duration::ZERO), Duration::ZERO);
        assert_eq!(
            ceil_to_millis(Duration::from_nanos(1)),
            Duration::from_millis(1)
        );
        assert_eq!(
            ceil_to_millis(Duration::from_micros(1500)),
            Duration::from_millis(2)
        );
        assert_eq!(
            ceil_to_millis(Duration::from_millis(3)),
            Duration::from_millis(3)
        );
    }
}
