//! Timer lateness: how long after its deadline each `Sleep` actually ran.
//!
//! A timer is never early, but it is always a little late: the reactor has to notice the
//! deadline (epoll counts in milliseconds unless the high-resolution mode is on), the
//! kernel has to schedule the worker thread, and the loop may be busy with other tasks.
//! This module measures the sum of all three, as the task sees it: from the deadline to
//! the poll at which the `Sleep` returns `Ready`.
//!
//! ```text
//!  Sleep::poll ── Ready, late by d ──► Recorder::record(d)   (worker thread, Relaxed adds)
//!                                             │ 22 AtomicU64 buckets, sum, max
//!  ReactorHandle::timer_lateness() ◄── snapshot ─────┘              (any thread, any time)
//!        └─► LatenessHistogram: counts, p50 / p99 estimates, Display for `stats`
//! ```
//!
//! **What counts.** A completion is recorded only if the `Sleep` was last left `Pending`
//! with its deadline still ahead, so that the reactor — not the caller — decided when it
//! ran. `sleep(0)`, `sleep_until(an instant in the past)` and an interval catching up on
//! missed ticks complete at their first poll and are not timer lateness; neither is a sleep
//! `reset` into the past.
//!
//! **Cost.** Recording is gated by the reactor's diagnostics flag
//! (`ReactorHandle::set_diagnostics`): off, a completing `Sleep`
//! pays one relaxed load of a flag. On, three relaxed atomic read-modify-writes, no lock.
//!
//! **Buckets** are powers of two of microseconds: `< 1 µs`, `[1, 2) µs`, `[2, 4) µs`, …,
//! `[2^19, 2^20) µs`, and `≥ 2^20 µs` (about 1.05 s). A bucket's index is the bit length of
//! the lateness in whole microseconds, so recording needs no search.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Number of buckets: `< 1 µs`, 20 power-of-two buckets up to 2^20 µs, and one for the rest.
const BUCKETS: usize = 22;

/// The lock-free counters behind a reactor's histogram. Written by whichever thread
/// completes a `Sleep` (its reactor's worker, nearly always), read by any thread.
///
/// Every access is `Relaxed`: each counter is exact on its own, and a snapshot taken while
/// timers complete may mix counters from slightly different moments, which a statistics
/// display can live with.
pub(crate) struct Recorder {
    /// Completions per bucket; see the module doc for the bounds.
    counts: [AtomicU64; BUCKETS],
    /// Sum of all recorded lateness, in nanoseconds (for the mean). Wraps after 584 years.
    sum_nanos: AtomicU64,
    /// The largest lateness recorded, in nanoseconds.
    max_nanos: AtomicU64,
}

impl Recorder {
    /// An empty recorder.
    pub(crate) fn new() -> Recorder {
        Recorder {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
            max_nanos: AtomicU64::new(0),
        }
    }

    /// Count one completion, `late` after its deadline.
    pub(crate) fn record(&self, late: Duration) {
        let nanos = u64::try_from(late.as_nanos()).unwrap_or(u64::MAX);
        self.counts[bucket_of(late)].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.max_nanos.fetch_max(nanos, Ordering::Relaxed);
    }

    /// A copy of the counters as they are now.
    pub(crate) fn snapshot(&self) -> LatenessHistogram {
        let counts = std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed));
        LatenessHistogram {
            counts,
            total: counts.iter().sum(),
            sum: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)),
            max: Duration::from_nanos(self.max_nanos.load(Ordering::Relaxed)),
        }
    }

    /// Forget everything recorded so far. Completions racing the reset may land on either
    /// side of it.
    pub(crate) fn reset(&self) {
        for count in &self.counts {
            count.store(0, Ordering::Relaxed);
        }
        self.sum_nanos.store(0, Ordering::Relaxed);
        self.max_nanos.store(0, Ordering::Relaxed);
    }
}

/// The bucket a lateness falls in: the bit length of its whole microseconds, capped.
fn bucket_of(late: Duration) -> usize {
    let micros = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
    ((u64::BITS - micros.leading_zeros()) as usize).min(BUCKETS - 1)
}

/// A snapshot of a reactor's timer lateness, from
/// `ReactorHandle::timer_lateness`: how late each timer that
/// had to wait ran, counted in power-of-two buckets of microseconds.
///
/// Its `Display` is one line (`"1200 timers late by p50 ≤ 64 µs, p99 ≤ 1.02 ms, max
/// 1.3 ms"`); the alternate form (`{:#}`) adds one line per non-empty bucket.
///
/// ```
/// use std::time::Duration;
/// use tempo_reactor::Reactor;
///
/// let reactor = Reactor::new()?;
/// let handle = reactor.handle();
/// handle.set_diagnostics(true); // off by default, and then nothing is recorded
/// let lateness = handle.timer_lateness();
/// assert_eq!(lateness.total, 0);
/// assert_eq!(lateness.p50(), None);
/// assert_eq!(lateness.to_string(), "no timers completed");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatenessHistogram {
    /// Completions per bucket. Bucket 0 counts lateness under 1 µs; bucket `i` in `1..=20`
    /// counts `[2^(i-1), 2^i)` µs; the last counts everything from 2^20 µs (≈ 1.05 s) up.
    /// See [`bucket_range`](Self::bucket_range).
    pub counts: [u64; LatenessHistogram::BUCKETS],
    /// Completions recorded: the sum of `counts`.
    pub total: u64,
    /// Sum of every recorded lateness.
    pub sum: Duration,
    /// The largest lateness recorded.
    pub max: Duration,
}

impl LatenessHistogram {
    /// How many buckets [`counts`](Self::counts) has.
    pub const BUCKETS: usize = BUCKETS;

    /// The lateness range bucket `i` counts: from its lower bound (inclusive) to its upper
    /// bound (exclusive; `None` for the last, open-ended bucket).
    ///
    /// # Panics
    /// If `i >= BUCKETS`.
    pub fn bucket_range(i: usize) -> (Duration, Option<Duration>) {
        assert!(i < BUCKETS, "lateness bucket {i} out of range");
        let lower = if i == 0 {
            Duration::ZERO
        } else {
            Duration::from_micros(1 << (i - 1))
        };
        let upper = (i < BUCKETS - 1).then(|| Duration::from_micros(1 << i));
        (lower, upper)
    }

    /// An upper estimate of the `q`-quantile (`q` in `0.0..=1.0`): at least a fraction `q`
    /// of the recorded timers were late by this much or less. It is the upper bound of the
    /// bucket the quantile falls in, capped at [`max`](Self::max) — so it overstates by
    /// less than a factor of two. `None` if nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        // The rank of the quantile completion, 1-based: ceil(q * total), at least 1.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let (_, upper) = Self::bucket_range(i);
                return Some(upper.map_or(self.max, |u| u.min(self.max)));
            }
        }
        // Only if `total` disagrees with `counts` (a hand-built value): fall back to max.
        Some(self.max)
    }

    /// [`quantile`](Self::quantile)`(0.5)`: the median, estimated from above.
    pub fn p50(&self) -> Option<Duration> {
        self.quantile(0.5)
    }

    /// [`quantile`](Self::quantile)`(0.99)`.
    pub fn p99(&self) -> Option<Duration> {
        self.quantile(0.99)
    }

    /// The mean lateness, exact (from [`sum`](Self::sum)). `None` if nothing was recorded.
    pub fn mean(&self) -> Option<Duration> {
        (self.total > 0)
            .then(|| Duration::from_nanos((self.sum.as_nanos() / u128::from(self.total)) as u64))
    }
}

impl fmt::Display for LatenessHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (Some(p50), Some(p99)) = (self.p50(), self.p99()) else {
            return f.write_str("no timers completed");
        };
        write!(
            f,
            "{} timers late by p50 ≤ {}, p99 ≤ {}, max {}",
            self.total,
            Compact(p50),
            Compact(p99),
            Compact(self.max)
        )?;
        if f.alternate() {
            for (i, &count) in self.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                let label = match Self::bucket_range(i) {
                    (_, Some(upper)) => format!("< {}", Compact(upper)),
                    (lower, None) => format!("≥ {}", Compact(lower)),
                };
                write!(f, "\n  {label:>10}  {count}")?;
            }
        }
        Ok(())
    }
}

/// A duration printed with its natural unit and about three significant figures:
/// `850 ns`, `1.5 µs`, `64 µs`, `1.02 ms`, `2.5 s`. Shared by the timer displays.
pub(crate) struct Compact(pub(crate) Duration);

impl fmt::Display for Compact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        let (value, unit) = match nanos {
            0..1_000 => return write!(f, "{nanos} ns"),
            1_000..1_000_000 => (nanos as f64 / 1e3, "µs"),
            1_000_000..1_000_000_000 => (nanos as f64 / 1e6, "ms"),
            _ => (nanos as f64 / 1e9, "s"),
        };
        let decimals = match value {
            v if v < 10.0 => 2,
            v if v < 100.0 => 1,
            _ => 0,
        };
        // Trim trailing zeros ("2.00 ms" reads as "2 ms").
        let text = format!("{value:.decimals$}");
        let text = if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.')
        } else {
            &text
        };
        write!(f, "{text} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn buckets_are_powers_of_two_of_microseconds() {
        assert_eq!(bucket_of(Duration::ZERO), 0);
        assert_eq!(bucket_of(Duration::from_nanos(999)), 0);
        assert_eq!(bucket_of(us(1)), 1);
        assert_eq!(bucket_of(Duration::from_nanos(1_999)), 1);
        assert_eq!(bucket_of(us(2)), 2);
        assert_eq!(bucket_of(us(3)), 2);
        assert_eq!(bucket_of(us(4)), 3);
        assert_eq!(bucket_of(us(1000)), 10); // [512, 1024) µs
        assert_eq!(bucket_of(us((1 << 20) - 1)), 20);
        assert_eq!(bucket_of(us(1 << 20)), BUCKETS - 1);
        assert_eq!(bucket_of(Duration::MAX), BUCKETS - 1);
        // Each bucket's range contains exactly the lateness that lands in it.
        for i in 0..BUCKETS {
            let (lower, upper) = LatenessHistogram::bucket_range(i);
            assert_eq!(bucket_of(lower), i, "lower bound of bucket {i}");
            if let Some(upper) = upper {
                assert_eq!(bucket_of(upper - Duration::from_nanos(1)), i);
                assert_eq!(bucket_of(upper), i + 1, "upper bound of bucket {i}");
            }
        }
    }

    #[test]
    fn snapshot_counts_sums_and_keeps_the_max() {
        let r = Recorder::new();
        for late in [us(0), us(3), us(3), us(700), Duration::from_secs(2)] {
            r.record(late);
        }
        let h = r.snapshot();
        assert_eq!(h.total, 5);
        assert_eq!(h.counts[0], 1);
        assert_eq!(h.counts[2], 2);
        assert_eq!(h.counts[10], 1);
        assert_eq!(h.counts[BUCKETS - 1], 1);
        assert_eq!(h.max, Duration::from_secs(2));
        assert_eq!(h.sum, Duration::from_secs(2) + us(706));
        assert_eq!(h.mean(), Some((Duration::from_secs(2) + us(706)) / 5));
        r.reset();
        assert_eq!(r.snapshot().total, 0);
        assert_eq!(r.snapshot().max, Duration::ZERO);
    }

    #[test]
    fn quantiles_are_bucket_upper_bounds_capped_at_the_max() {
        let r = Recorder::new();
        // 98 timers 3 µs late, one 700 µs, one 900 µs.
        for _ in 0..98 {
            r.record(us(3));
        }
        r.record(us(700));
        r.record(us(900));
        let h = r.snapshot();
        assert_eq!(h.p50(), Some(us(4)), "3 µs is in [2, 4) µs");
        assert_eq!(h.quantile(0.98), Some(us(4)));
        assert_eq!(h.p99(), Some(us(900)), "[512, 1024) µs, capped at the max");
        assert_eq!(h.quantile(1.0), Some(us(900)));
        assert_eq!(h.quantile(0.0), Some(us(4)), "q = 0 is the smallest");
    }

    #[test]
    fn display_is_one_line_or_a_small_table() {
        let r = Recorder::new();
        assert_eq!(r.snapshot().to_string(), "no timers completed");
        for _ in 0..3 {
            r.record(us(50));
        }
        r.record(Duration::from_millis(1500));
        let h = r.snapshot();
        assert_eq!(
            h.to_string(),
            "4 timers late by p50 ≤ 64 µs, p99 ≤ 1.5 s, max 1.5 s"
        );
        assert_eq!(
            format!("{h:#}"),
            "4 timers late by p50 ≤ 64 µs, p99 ≤ 1.5 s, max 1.5 s\n     < 64 µs  3\n    ≥ 1.05 s  1"
        );
    }

    #[test]
    fn compact_durations() {
        let cases = [
            (Duration::from_nanos(850), "850 ns"),
            (Duration::from_nanos(1_500), "1.5 µs"),
            (us(64), "64 µs"),
            (us(512), "512 µs"),
            (us(1024), "1.02 ms"),
            (Duration::from_millis(2), "2 ms"),
            (Duration::from_millis(1200), "1.2 s"),
        ];
        for (d, text) in cases {
            assert_eq!(Compact(d).to_string(), text);
        }
    }
}
