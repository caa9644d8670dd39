//! [`Interval`]: ticks at a fixed period, as a [`Stream`] of `Instant`s.
//!
//! One [`Sleep`] (`time/sleep.rs`), [reset](Sleep::reset) to the next tick's deadline
//! each time it completes; a completed sleep holds no timer, so each tick arms one afresh
//! in the wheel, at its first poll (O(1)). [`Interval::poll_tick`] is the one place that
//! does this; `tick` and the `Stream`'s `poll_next` both call it.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::{FusedStream, Stream};

use super::sleep::{Sleep, sleep_until};

/// A stream of ticks every `period`, the first at once — the Rust form of asyncio's
/// `while True: ...; await asyncio.sleep(period)`, but keeping to the schedule rather than
/// drifting by however long the loop body took.
///
/// # Panics
/// If `period` is zero.
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Like [`interval`], with the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "tempo::time::interval: the period must be non-zero"
    );
    Interval {
        period,
        sleep: sleep_until(start),
        missed: MissedTickBehavior::Burst,
    }
}

/// What an [`Interval`] does when ticks were missed because the task was busy (or the loop
/// was blocked) past one or more deadlines. Say the period is 10 ms, ticks are due at 10,
/// 20, 30 ms…, and the task next asks for a tick at 35 ms:
///
/// | behaviour | ticks returned at 35 ms          | following ticks due at |
/// |-----------|----------------------------------|------------------------|
/// | `Burst`   | 10, 20, 30 ms, one per `tick()`, at once | 40, 50 ms …   |
/// | `Delay`   | 10 ms                            | 45, 55 ms …            |
/// | `Skip`    | 10 ms                            | 40, 50 ms …            |
///
/// `Burst` (the default) keeps the count of ticks right; `Delay` keeps the spacing between
/// ticks at least one period; `Skip` keeps to the original grid and drops the missed ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Deliver every missed tick as fast as they are asked for, then resume the schedule.
    #[default]
    Burst,
    /// Start a new schedule one period after the late tick.
    Delay,
    /// Skip the missed ticks; the next one is the next on the original grid.
    Skip,
}

/// Ticks at a fixed period; see [`interval`].
///
/// Await one tick with [`tick`](Interval::tick), or use the interval as a [`Stream`] of
/// ticks (`Item = Instant`, each tick's scheduled time, as `tick` returns — tokio-stream's
/// `IntervalStream`): `while let Some(at) = ticks.next().await`, `ticks.take(3)`, or merged
/// with other streams, with any stream combinator crate. The stream never ends:
/// `poll_next` never returns `Ready(None)`, and its `size_hint` says so.
///
/// Polling the stream is polling `tick`: a missed tick is delivered according to the
/// [`MissedTickBehavior`], and a `next()` dropped before it completes loses no tick (the
/// deadline is moved on only in the poll that returns the tick).
///
/// The tempo runtime polls it for you. Here a reactor is driven by hand, which is all the
/// runtime's loop does between task polls — poll, and if it is not ready, turn the reactor
/// until the timer fires:
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
/// use std::time::Duration;
///
/// use futures_core::Stream;
/// use tempo_reactor::Reactor;
/// use tempo_reactor::time::interval;
///
/// let mut reactor = Reactor::new()?;
/// let _current = reactor.enter(); // timers armed on this thread go to this reactor
/// let period = Duration::from_millis(5);
/// let mut ticks = interval(period);
/// let mut cx = Context::from_waker(Waker::noop());
/// let mut seen = Vec::new();
/// while seen.len() < 3 {
///     match Pin::new(&mut ticks).poll_next(&mut cx) {
///         Poll::Ready(Some(at)) => seen.push(at),
///         Poll::Ready(None) => unreachable!("an interval never ends"),
///         Poll::Pending => {
///             reactor.turn(None)?; // sleeps in epoll_wait until the timer is due
///         }
///     }
/// }
/// // The first tick is at once; then one every period, on the schedule.
/// assert_eq!(seen[1] - seen[0], period);
/// assert_eq!(seen[2] - seen[1], period);
/// assert_eq!(ticks.size_hint(), (usize::MAX, None));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Interval {
    /// The time between ticks.
    period: Duration,
    /// Armed for the next tick's deadline.
    sleep: Sleep,
    /// See [`MissedTickBehavior`].
    missed: MissedTickBehavior,
}

impl Interval {
    /// Wait for the next tick; returns its scheduled time (not the time it was delivered).
    ///
    /// Cancel-safe: dropping the future before it completes loses no tick.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll for the next tick; what [`tick`](Interval::tick) and `Stream::poll_next` do.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self
            .sleep
            .poll_for(cx, "tempo::time::interval")
            .is_pending()
        {
            return Poll::Pending;
        }
        let due = self.sleep.deadline();
        let now = Instant::now();
        let next = match self.missed {
            MissedTickBehavior::Burst => due + self.period,
            MissedTickBehavior::Delay if now >= due + self.period => now + self.period,
            MissedTickBehavior::Delay => due + self.period,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(due).as_nanos();
                let periods = behind / self.period.as_nanos() + 1;
                due + self.period * (periods.min(u32::MAX as u128) as u32)
            }
        };
        self.sleep.reset(next);
        Poll::Ready(due)
    }

    /// Set what happens when ticks are missed.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// What happens when ticks are missed.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restart the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.sleep.reset(Instant::now() + self.period);
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        // `Sleep` and so `Interval` are `Unpin`: nothing here is pinned in place.
        self.get_mut().poll_tick(cx).map(Some)
    }

    /// Endless: as `futures::stream::repeat` says it, at least `usize::MAX` items.
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// An interval never returns `Ready(None)`, so it is never terminated: a `select!` loop
/// may poll it for ever.
impl FusedStream for Interval {
    fn is_terminated(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reactor;
    use std::task::Waker;

    /// The stream is `tick`: a tick that is due is returned at once with its scheduled time,
    /// the next is `Pending` until its deadline, and the stream never says it has ended.
    /// No clock is waited on (Miri-clean): the first tick is due when it is created.
    #[test]
    fn an_interval_is_an_endless_stream_of_its_ticks() {
        let reactor = Reactor::new().unwrap();
        let _current = reactor.enter();
        let start = Instant::now();
        let mut ticks = interval_at(start, Duration::from_secs(3600));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(
            Pin::new(&mut ticks).poll_next(&mut cx),
            Poll::Ready(Some(start))
        );
        assert_eq!(Pin::new(&mut ticks).poll_next(&mut cx), Poll::Pending);
        assert_eq!(ticks.size_hint(), (usize::MAX, None));
        assert!(!ticks.is_terminated());
    }
}
