//! [`Sleep`]: a future that completes at a deadline — the one timer future; `timeout` and
//! `interval` are built on it.
//!
//! In the loop: at its first poll a `Sleep` takes the thread's current [`ReactorHandle`] and arms
//! a timer in that reactor's wheel (`time/wheel/`) with the task's waker; the reactor's
//! turn sleeps in `epoll_wait` until the nearest deadline, fires the timer and wakes the
//! task; the next poll finds the timer fired and completes, recording its lateness
//! (`time/lateness.rs`) if diagnostics are on. Dropping it cancels the timer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::handle::ReactorHandle;
use crate::sync::lock;
use crate::time::wheel::Reset;

/// Wait until `duration` has passed — asyncio's `await asyncio.sleep(seconds)`.
///
/// The deadline is fixed when `sleep` is called; the timer is armed when the future is
/// first polled. A `Duration` so large that the deadline overflows sleeps for ~30 years.
///
/// # Panics
/// Polling the returned future outside a tempo runtime panics.
#[doc(alias = "asyncio.sleep")]
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(deadline_after(duration))
}

/// Wait until `deadline`. A deadline in the past completes at the first poll.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        timer: None,
        waited: false,
    }
}

/// `now + duration`, saturating far in the future instead of overflowing.
pub(crate) fn deadline_after(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .unwrap_or_else(|| now + Duration::from_secs(60 * 60 * 24 * 365 * 30))
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It reads the clock as little as it can: the deadline is fixed when the `Sleep` is made,
/// and after that the reactor's timer wheel decides. At the first poll, a deadline the
/// wheel can see is far ahead of its last look at the clock is armed without reading the
/// clock again (see `TimerWheel::arm`); once armed, the sleep is complete when the wheel has
/// fired its timer, and later polls read the clock only while the timer is in the wheel's
/// finest level, the current 64 ms window (`TimerWheel::poll_fired`); polled after its
/// deadline from a higher level, it completes at the loop's next turn.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    /// When it completes.
    deadline: Instant,
    /// The armed timer: its reactor and key. `None` until first polled, and after
    /// completing.
    timer: Option<(ReactorHandle, usize)>,
    /// True while the task waits on the timer for a deadline still ahead: set when `poll`
    /// returns `Pending`, cleared by a `reset` into the past and on completion. A
    /// completion counts as timer lateness only if it is set (see `time/lateness.rs`).
    waited: bool,
}

impl Sleep {
    /// When this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True if the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Move the deadline (used by [`Interval`](super::Interval)). The sleep may complete
    /// again after having completed. An armed timer is moved in the wheel; a sleep that
    /// is not armed (never polled, or completed) is armed afresh at its next poll.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        let Some((handle, key)) = &self.timer else {
            return;
        };
        let outcome = lock(&handle.shared.timers).reset(*key, deadline);
        match outcome {
            // Into the past: the sleep completes because the caller said so, not the timer
            // (not lateness). Whoever is parked on it — this task, or another that shares
            // the sleep — is woken to see that.
            Reset::Due(parked) => {
                self.waited = false;
                if let Some(waker) = parked {
                    waker.wake();
                }
            }
            Reset::Armed { sooner } => {
                if sooner && !handle.is_current() {
                    handle.unpark();
                }
            }
        }
    }

    fn disarm(&mut self) {
        if let Some((handle, key)) = self.timer.take() {
            lock(&handle.shared.timers).remove(key);
        }
    }

    /// The sleep is over: disarm, and count its lateness if the reactor decided when.
    fn complete(&mut self) -> Poll<()> {
        if let (true, Some((handle, _))) = (self.waited, &self.timer) {
            handle.shared.record_lateness_since(self.deadline);
        }
        self.waited = false;
        self.disarm();
        Poll::Ready(())
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_for(cx, "tempo::time::sleep")
    }
}

impl Sleep {
    /// The body of `poll`, for `Sleep` itself and for the futures built on it (`timeout`,
    /// `interval`), which pass their own public name as `what`: a mistake such as awaiting
    /// a `timeout` outside a runtime is then reported under the name the user wrote.
    pub(super) fn poll_for(&mut self, cx: &mut Context<'_>, what: &'static str) -> Poll<()> {
        match &self.timer {
            // Armed: the wheel fires the timer once the deadline has passed (never before);
            // only in the finest level (the current 64 ms window) does it also look at the clock.
            Some((handle, key)) => {
                let mut timers = lock(&handle.shared.timers);
                if timers.poll_fired(*key) {
                    drop(timers);
                    return self.complete();
                }
                if handle.is_shut_down() {
                    drop(timers);
                    panic!("tempo: a Sleep was polled after its runtime shut down");
                }
                timers.set_waker(*key, cx.waker());
            }
            None => {
                let handle = ReactorHandle::try_current().unwrap_or_else(|| {
                    panic!(
                        "{what} polled outside a tempo runtime: await it inside tempo::run, \
                         Runtime::block_on or a task they run"
                    )
                });
                let armed = lock(&handle.shared.timers).arm(self.deadline, cx.waker());
                let Some(key) = armed else {
                    // Due already: done at the first poll, and not lateness.
                    self.waited = false;
                    return Poll::Ready(());
                };
                // Armed from the reactor's own thread (the only way here: the handle is the
                // current one), so the loop will look at the wheel before it next sleeps.
                self.timer = Some((handle, key));
            }
        }
        self.waited = true;
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}
