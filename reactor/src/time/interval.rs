//! [`Interval`]: ticks at a fixed period.
//!
//! One [`Sleep`] (`time/sleep.rs`), [reset](Sleep::reset) to the next tick's deadline
//! each time it completes; a completed sleep holds no timer, so each tick arms one afresh
//! in the wheel, at its first poll (O(1)).

use std::future::poll_fn;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Poll for the next tick.
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
