//! The [`Reactor`]: one worker's `mio::Poll`, its I/O table and its timers — the last file
//! of the crate's reading order, where every earlier piece meets in one [`Reactor::turn`]
//! of the wait.
//!
//! The worker thread owns the `Reactor` and calls [`Reactor::turn`] whenever it has no
//! task to run (or has run enough of them; see the runtime's loop). Everything other
//! threads or I/O objects need — registering a socket, arming a timer, waking the worker
//! up — goes through a cloneable [`ReactorHandle`] (`handle.rs`), which the reactor makes and
//! which knows nothing of the reactor: no other file of the crate uses this one.
//!
//! Two optional services sit here too. The high-resolution timer mode
//! ([`Reactor::set_timer_resolution`]) ends a turn's wait at a timer's deadline to the
//! microsecond instead of the millisecond (see `time/hires.rs`). The diagnostics switch
//! ([`ReactorHandle::set_diagnostics`]) makes the reactor keep a histogram of timer lateness; and
//! [`ReactorHandle::for_each_waiter`] lists who is parked where, for task dumps (see `handle.rs`).
//!
//! [`ReactorHandle`] and [`ReactorGuard`] (`handle.rs`) come earlier in the reading order.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use crate::handle::{self, Shared};
use crate::io::readiness::{IoTable, wake_all};
use crate::sync::lock;
use crate::time::hires::{self, HiRes};
use crate::time::lateness;
use crate::time::wheel::TimerWheel;

use crate::handle::{ReactorGuard, ReactorHandle};

/// The token of the `mio::Waker` that other threads use to interrupt `epoll_wait`. I/O
/// tokens never reach it (see [`IoTable`]); nor does the timerfd's, [`hires::TIMER`].
const UNPARK: Token = Token(usize::MAX);

/// Finest timer resolution the millisecond-rounded `epoll_wait` timeout gives. A
/// [`Reactor::set_timer_resolution`] below it switches the high-resolution mode on.
const EPOLL_RESOLUTION: Duration = Duration::from_millis(1);

/// How many events one `epoll_wait` may return.
const EVENTS_CAPACITY: usize = 1024;

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
    /// What [`Reactor::set_timer_resolution`] was last given.
    timer_resolution: Option<Duration>,
    /// The high-resolution timer mode's timerfd, while the mode is on.
    hires: Option<HiRes>,
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
                timers: Mutex::new(TimerWheel::new()),
                unpark,
                shut_down: AtomicBool::new(false),
                diagnostics: AtomicBool::new(false),
                lateness: lateness::Recorder::new(),
            }),
            to_wake: Vec::with_capacity(64),
            timer_resolution: None,
            hires: None,
        })
    }

    /// How precisely timers should wake: `None` (the default) or a resolution of a
    /// millisecond or more keeps the millisecond-rounded `epoll_wait` timeout, so a timer
    /// is up to about a millisecond late. A resolution below a millisecond switches on the
    /// high-resolution mode: on Linux the reactor also arms a `timerfd` for the nearest
    /// deadline whenever the rounded timeout would wake more than `resolution` after it,
    /// so short sleeps complete within microseconds of their deadline, for the price of a
    /// syscall or two per timer. On kqueue the timeout is simply not rounded. See
    /// `time/hires.rs`. Timers never fire early in either mode.
    ///
    /// Fails only if the timerfd cannot be created or registered (out of descriptors); the
    /// reactor then stays in the millisecond mode.
    pub fn set_timer_resolution(&mut self, resolution: Option<Duration>) -> io::Result<()> {
        let fine = resolution.filter(|&r| r < EPOLL_RESOLUTION);
        match (fine, &mut self.hires) {
            (Some(r), Some(hires)) => hires.set_resolution(r),
            (Some(r), None) => self.hires = Some(HiRes::new(self.poll.registry(), r)?),
            (None, Some(hires)) => {
                hires.deregister(self.poll.registry())?;
                self.hires = None;
            }
            (None, None) => {}
        }
        self.timer_resolution = resolution;
        Ok(())
    }

    /// What [`set_timer_resolution`](Self::set_timer_resolution) was last given.
    pub fn timer_resolution(&self) -> Option<Duration> {
        self.timer_resolution
    }

    /// True if the high-resolution timer mode is on (a resolution below 1 ms was set).
    pub fn is_high_resolution(&self) -> bool {
        self.hires.is_some()
    }

    /// Switch diagnostics on or off; the same as [`ReactorHandle::set_diagnostics`].
    pub fn set_diagnostics(&self, on: bool) {
        self.handle().set_diagnostics(on);
    }

    /// A handle to this reactor.
    pub fn handle(&self) -> ReactorHandle {
        ReactorHandle {
            shared: self.shared.clone(),
        }
    }

    /// Make this the current reactor of this thread — the one new sockets and timers
    /// register with — until the guard is dropped.
    pub fn enter(&self) -> ReactorGuard {
        handle::enter(self.handle())
    }

    /// Wait for I/O or a timer, for at most `max_wait` (`None`: as long as it takes, up to
    /// the nearest timer), then wake everything that became ready.
    ///
    /// 1. Shorten the wait to the nearest timer deadline, rounded *up* to whole
    ///    milliseconds — epoll counts in milliseconds, and waking early would only spin.
    ///    In the high-resolution mode, also arm the timerfd for the deadline itself.
    /// 2. `epoll_wait`.
    /// 3. For each event, record readiness on its registration and collect its wakers.
    ///    (The unpark and timerfd events only end the wait.)
    /// 4. Expire the timers whose deadline has passed, in deadline order (within a
    ///    millisecond, in arming order), and collect their wakers.
    /// 5. Wake everything collected, after every lock is released. A waker that panics is
    ///    contained and logged, and the rest are still woken (`wake_all`, in
    ///    `io/readiness.rs`).
    pub fn turn(&mut self, max_wait: Option<Duration>) -> io::Result<TurnStats> {
        // 1.
        let next_timer = lock(&self.shared.timers).next_deadline();
        let timeout = match next_timer {
            Some(deadline) => Some(self.wait_for_timer(deadline, max_wait)),
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
        let mut timerfd_fired = false;
        {
            let ios = lock(&self.shared.ios);
            for event in self.events.iter() {
                match event.token() {
                    UNPARK => {}
                    hires::TIMER => timerfd_fired = true,
                    _ => {
                        stats.events += 1;
                        ios.dispatch(event, &mut self.to_wake);
                    }
                }
            }
        }
        if let (true, Some(hires)) = (timerfd_fired, &mut self.hires) {
            hires.acknowledge();
        }
        // 4.
        if next_timer.is_some() {
            stats.timers = lock(&self.shared.timers).expire(Instant::now(), &mut self.to_wake);
        }
        // 5.
        stats.woken = self.to_wake.len();
        wake_all(&mut self.to_wake);
        Ok(stats)
    }

    /// Step 1 of [`turn`](Self::turn) when a timer is armed: how long `epoll_wait` may
    /// wait for it — never past its deadline's millisecond, nor past `max_wait` — arming
    /// the timerfd on the way in the high-resolution mode.
    fn wait_for_timer(&mut self, deadline: Instant, max_wait: Option<Duration>) -> Duration {
        let until = deadline.saturating_duration_since(Instant::now());
        let rounded = ceil_to_millis(until);
        let wait = max_wait.map_or(rounded, |w| w.min(rounded));
        match &mut self.hires {
            Some(hires) => hires.plan(deadline, until, wait),
            None => wait,
        }
    }
}

impl Drop for Reactor {
    /// Fail every registration and wake everyone still waiting, so that a task awaiting
    /// I/O on this reactor from elsewhere sees an error rather than hanging.
    fn drop(&mut self) {
        self.shared.shut_down.store(true, Ordering::SeqCst);
        lock(&self.shared.ios).drain_wakers(&mut self.to_wake);
        lock(&self.shared.timers).drain_wakers(&mut self.to_wake);
        wake_all(&mut self.to_wake);
    }
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

    #[test]
    #[cfg_attr(miri, ignore = "Miri has no timerfd")]
    fn the_resolution_switches_the_mode_on_below_a_millisecond_only() {
        let mut reactor = Reactor::new().unwrap();
        assert!(!reactor.is_high_resolution(), "off by default");
        reactor
            .set_timer_resolution(Some(Duration::from_millis(1)))
            .unwrap();
        assert!(
            !reactor.is_high_resolution(),
            "1 ms is what epoll gives anyway"
        );
        reactor
            .set_timer_resolution(Some(Duration::from_micros(100)))
            .unwrap();
        assert!(reactor.is_high_resolution());
        assert_eq!(reactor.timer_resolution(), Some(Duration::from_micros(100)));
        reactor.set_timer_resolution(None).unwrap();
        assert!(!reactor.is_high_resolution());
        // And back on: the timerfd's token is free again after deregistering.
        reactor.set_timer_resolution(Some(Duration::ZERO)).unwrap();
        assert!(reactor.is_high_resolution());
    }

    /// In the high-resolution mode, a turn ends at a timer through the timerfd — not
    /// through epoll's millisecond timeout — and the timerfd is armed once per deadline.
    #[cfg(target_os = "linux")]
    #[test]
    #[cfg_attr(miri, ignore = "Miri has no timerfd")]
    fn a_turn_ends_at_the_timerfd_and_arms_it_once_per_deadline() {
        use crate::time::sleep;
        use std::future::Future;
        use std::pin::pin;
        use std::task::Context;

        let mut reactor = Reactor::new().unwrap();
        reactor
            .set_timer_resolution(Some(Duration::from_micros(50)))
            .unwrap();
        let _enter = reactor.enter();
        // 20.3 ms: the millisecond timeout would end the wait at 21 ms, 700 µs late.
        let mut nap = pin!(sleep(Duration::from_micros(20_300)));
        let deadline = nap.deadline();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(nap.as_mut().poll(&mut cx).is_pending());
        let arming = |r: &Reactor| r.hires.as_ref().unwrap().arming();

        // A zero wait (tasks are ready) needs no timerfd.
        reactor.turn(Some(Duration::ZERO)).unwrap();
        assert_eq!(arming(&reactor), (0, None));
        // A turn cut short by an unpark has armed it…
        reactor.handle().unpark();
        assert_eq!(reactor.turn(None).unwrap().timers, 0);
        assert_eq!(arming(&reactor), (1, Some(deadline)));
        // …and the next one does not arm it again, and ends on its event: acknowledged.
        assert_eq!(reactor.turn(None).unwrap().timers, 1);
        assert!(Instant::now() >= deadline);
        assert_eq!(arming(&reactor), (1, None), "the wait ended on the timerfd");
        assert!(nap.as_mut().poll(&mut cx).is_ready());
    }
}
