//! High-resolution timer wake-ups: a `timerfd` that ends `epoll_wait` at a deadline to the
//! microsecond, for the reactor's optional high-resolution mode
//! ([`Reactor::set_timer_resolution`](crate::Reactor::set_timer_resolution)).
//!
//! `epoll_wait` takes its timeout in whole milliseconds, and the reactor rounds *up* so it
//! never wakes before a deadline; a 200 µs sleep therefore takes a millisecond. (tokio's
//! timer wheel has 1 ms slots for the same reason: tokio#5021.) In this mode the reactor
//! also arms a Linux `timerfd` (CLOCK_MONOTONIC, the clock behind `Instant`) for the
//! nearest deadline; the fd is registered with the reactor's mio `Poll` under its own
//! token, [`TIMER`], so it becomes readable — and `epoll_wait` returns — at the deadline.
//!
//! ```text
//!  Reactor::turn, step 1:  nearest deadline D, `until` = D - now
//!     epoll timeout = ceil_ms(until)         ← kept, as a backstop: a failed arm costs
//!     ceil_ms(until) - until > resolution?      precision, never a lost timer
//!        └─ yes: timerfd_settime(D - now)    ← unless already armed for D
//!  epoll_wait ── timerfd readable at D ──► step 3: read it (acknowledge) → step 4: expire
//! ```
//!
//! **Economy.** Arming is one syscall, and reading the fired timer another, so the reactor
//! arms only when it helps: not when the millisecond timeout already lands within
//! `resolution` of the deadline, not when the loop will look again sooner anyway
//! (`max_wait` shorter than the deadline, e.g. the zero timeout of a busy loop), and not
//! again when it is already armed for the same deadline. It never disarms: when the nearest
//! timer is cancelled, the stale arming costs at most one spurious, harmless wake-up, where
//! disarming would cost a syscall every time.
//!
//! **Never early** still rests on [`Sleep`](super::Sleep) checking the clock when polled:
//! the timerfd (armed relative to an `Instant` read just before the syscall) fires at or
//! after the deadline, and even if it did not, an early wake would only cost a turn.
//!
//! **Other platforms.** kqueue (macOS, the BSDs) takes its timeout as a `timespec`, which
//! mio passes on with full precision, so there the mode needs no extra descriptor: the
//! reactor simply does not round the timeout up to milliseconds. (How precisely the kernel
//! honours it — macOS coalesces timers — is the kernel's business.)

use std::io;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

/// The timerfd's token. I/O tokens never reach it: their top bit is always clear (see
/// `Registration::new` in `io/registration.rs`), and `usize::MAX` is the unpark token.
pub(crate) const TIMER: Token = Token(usize::MAX - 1);

/// The high-resolution mode's state, owned by the [`Reactor`](crate::Reactor).
pub(crate) struct HiRes {
    /// How late a wake-up may be before arming the timerfd is worth a syscall.
    resolution: Duration,
    /// The timerfd, non-blocking, registered under [`TIMER`]. (A `File` only so that
    /// reading it needs no `unsafe`.)
    #[cfg(target_os = "linux")]
    fd: std::fs::File,
    /// The deadline the timerfd is armed for, until it fires (or we learn it did).
    #[cfg(target_os = "linux")]
    armed: Option<Instant>,
    /// How many times the timerfd has been armed: what the economy rules save.
    #[cfg(target_os = "linux")]
    arms: u64,
}

impl HiRes {
    /// Create the timerfd and register it with `registry`.
    #[cfg(target_os = "linux")]
    pub(crate) fn new(registry: &Registry, resolution: Duration) -> io::Result<HiRes> {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

        // SAFETY: rule C1 (lib.rs): timerfd_create takes no pointers; it returns a new descriptor
        // or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: rule C2 (lib.rs): `raw` was just returned by timerfd_create, so it is open and
        // nothing else owns it; the `OwnedFd` becomes its only owner and closes it.
        let fd = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(raw) });
        registry.register(
            &mut mio::unix::SourceFd(&fd.as_raw_fd()),
            TIMER,
            mio::Interest::READABLE,
        )?;
        Ok(HiRes {
            resolution,
            fd,
            armed: None,
            arms: 0,
        })
    }

    /// Nothing to create: kqueue takes nanosecond timeouts (see the module doc).
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new(_registry: &Registry, resolution: Duration) -> io::Result<HiRes> {
        Ok(HiRes { resolution })
    }

    /// Change the resolution, keeping the timerfd.
    pub(crate) fn set_resolution(&mut self, resolution: Duration) {
        self.resolution = resolution;
    }

    /// How many times the timerfd has been armed, and for what deadline it is armed now.
    #[cfg(all(test, target_os = "linux"))]
    pub(crate) fn arming(&self) -> (u64, Option<Instant>) {
        (self.arms, self.armed)
    }

    /// Step 1 of a turn, for the nearest `deadline`, `until` away. `wait` is the timeout
    /// the millisecond path would use (`until` rounded up, capped by the caller's
    /// `max_wait`). Arms the timerfd if that helps, and returns the timeout to give
    /// `Poll::poll`.
    #[cfg(target_os = "linux")]
    pub(crate) fn plan(&mut self, deadline: Instant, until: Duration, wait: Duration) -> Duration {
        // How late the millisecond timeout alone would wake us: zero if the loop will look
        // again before the deadline anyway.
        if wait.saturating_sub(until) > self.resolution {
            self.arm(deadline);
        }
        wait
    }

    /// Step 1 of a turn on kqueue: the exact time to the deadline, capped by `wait`'s
    /// `max_wait` — i.e. the millisecond path without the rounding.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn plan(&mut self, _deadline: Instant, until: Duration, wait: Duration) -> Duration {
        // `wait` is `min(ceil_ms(until), max_wait)`: if it is below `until`, `max_wait` won.
        wait.min(until)
    }

    /// Arm the timerfd for `deadline`, unless it already is.
    #[cfg(target_os = "linux")]
    fn arm(&mut self, deadline: Instant) {
        use std::os::fd::AsRawFd;

        if self.armed == Some(deadline) {
            return;
        }
        // Relative to an `Instant` read now: the kernel reads its clock later, so the
        // expiry is at or after `deadline`. A zero it_value would disarm, hence the 1 ns.
        let rel = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: rel.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
                tv_nsec: libc::c_long::from(rel.subsec_nanos() as i32),
            },
        };
        let fd = self.fd.as_raw_fd();
        // SAFETY: rule C1 (lib.rs): `fd` is an open timerfd owned by `self` (see `new`); `spec` is
        // a valid itimerspec on our stack for the call; the old-value pointer may be null.
        let rc = unsafe { libc::timerfd_settime(fd, 0, &spec, std::ptr::null_mut()) };
        // On failure (it cannot fail with these arguments), the millisecond timeout in the
        // same turn still ends the wait: the timer is late, not lost.
        self.armed = (rc == 0).then_some(deadline);
        self.arms += 1;
    }

    /// Step 3 of a turn: the timerfd's event arrived. Read its expiration count, so it is
    /// no longer readable, and forget the arming.
    pub(crate) fn acknowledge(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::io::Read;
            let mut expirations = [0u8; 8];
            // WouldBlock means a re-arm already reset the count: nothing to read.
            let _ = (&self.fd).read(&mut expirations);
            self.armed = None;
        }
    }

    /// Leaving the mode: take the timerfd out of `registry`. It is closed when dropped.
    pub(crate) fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            registry.deregister(&mut mio::unix::SourceFd(&self.fd.as_raw_fd()))?;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = registry;
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri has no timerfd")]
    fn arms_only_when_the_millisecond_timeout_would_be_too_late() {
        let poll = mio::Poll::new().expect("epoll");
        let mut hires = HiRes::new(poll.registry(), us(50)).expect("timerfd");
        let d1 = Instant::now() + Duration::from_secs(60);

        // 200 µs away, the 1 ms timeout would be 800 µs late: arm.
        assert_eq!(
            hires.plan(d1, us(200), us(1000)),
            us(1000),
            "ms backstop kept"
        );
        assert_eq!(hires.arming(), (1, Some(d1)));
        // Same deadline next turn: no second syscall.
        hires.plan(d1, us(150), us(1000));
        assert_eq!(hires.arming(), (1, Some(d1)));
        // The loop looks again sooner anyway (max_wait 0, or shorter than the deadline).
        let d2 = d1 + us(1);
        assert_eq!(hires.plan(d2, us(200), Duration::ZERO), Duration::ZERO);
        assert_eq!(hires.plan(d2, us(900), us(300)), us(300));
        assert_eq!(hires.arming(), (1, Some(d1)));
        // The ms timeout lands within the resolution of the deadline: 1.98 ms -> 2 ms.
        hires.plan(d2, us(1980), us(2000));
        assert_eq!(hires.arming(), (1, Some(d1)));
        // Due now: the timeout is zero.
        hires.plan(d2, Duration::ZERO, Duration::ZERO);
        assert_eq!(hires.arming(), (1, Some(d1)));
        // A new nearest deadline is armed.
        hires.plan(d2, us(1500), us(2000));
        assert_eq!(hires.arming(), (2, Some(d2)));
        // Once it fired, the same deadline is armed again if still needed.
        hires.acknowledge();
        assert_eq!(hires.arming(), (2, None));
        hires.plan(d2, us(1500), us(2000));
        assert_eq!(hires.arming(), (3, Some(d2)));
    }
}
