//! [`timeout`]: give a future a deadline — asyncio's `wait_for` and `asyncio.timeout`.
//!
//! A [`Timeout`] is a future and a [`Sleep`] side by side (`time/sleep.rs`): each poll
//! polls the future first, then the sleep, whose timer the reactor fires like any other.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::sleep::{Sleep, deadline_after, sleep_until};

/// Run `future` for at most `duration`: `Ok(output)` if it finishes first, `Err(Elapsed)` if
/// the time runs out — asyncio's `await asyncio.wait_for(aw, timeout)`.
///
/// On timeout the inner future is dropped, which cancels it (as asyncio cancels the awaited
/// task). The future is polled before the clock is checked, so a future that is ready at
/// once succeeds even with a zero duration, and costs no timer at all.
///
/// **Never early for the future either.** The timeout elapses only when the future, polled
/// at or after the deadline, is still pending. A future that becomes ready exactly at the
/// deadline — say, a sleep until the same instant — returns its value.
///
/// # Panics
/// Polling the returned future outside a tempo runtime panics, unless `future` is ready
/// at its first poll (then no timer is needed).
#[doc(alias = "wait_for")]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    timeout_at(deadline_after(duration), future)
}

/// Like [`timeout`], with an absolute deadline — asyncio's `asyncio.timeout_at`.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
        expired: false,
    }
}

/// The future returned by [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Timeout<F> {
    /// The future under the deadline. Structurally pinned: see `poll`.
    future: F,
    /// The deadline. `Sleep` is `Unpin`.
    sleep: Sleep,
    /// Set when a poll found the deadline passed after the future had been polled: the next
    /// poll begins past the deadline, so a future still pending then has timed out.
    expired: bool,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Unwrap the future (dropping the deadline).
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    /// 1. Poll the future: `Ready` wins. A future that is ready at once costs no clock read
    ///    and no timer.
    /// 2. If an earlier poll saw the deadline pass, this poll began after it: the future
    ///    was polled late enough and is still pending, so it has timed out.
    /// 3. Otherwise poll the sleep (which reads the clock, arms the timer, and records
    ///    lateness when it completes). If the deadline has passed, it may have passed only
    ///    while the future was being polled: note it and wake the task for one more round,
    ///    rather than time out a future that was never polled past its deadline.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `future` is structurally pinned and `sleep` is not: we never move `future` out of a
        // pinned `Timeout` (`into_inner` takes `self` by value, which a pinned `!Unpin`
        // `Timeout` cannot give), `Timeout` has no `Drop` impl, and is `Unpin` only when `F`
        // is. Moving `sleep` would be fine: `Sleep` is `Unpin`.
        // SAFETY: rule P1 (lib.rs), as just said: `future` stays pinned in place; we only re-pin it below.
        let this = unsafe { self.get_unchecked_mut() };
        // 1.
        // SAFETY: rule P1, as above — we re-pin `future` in place and never move it.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        // 2.
        if this.expired {
            return Poll::Ready(Err(Elapsed(())));
        }
        // 3.
        if this.sleep.poll_for(cx, "tempo::time::timeout").is_ready() {
            this.expired = true;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// The error of a [`timeout`] whose deadline passed first — asyncio's `TimeoutError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(alias = "TimeoutError")]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
