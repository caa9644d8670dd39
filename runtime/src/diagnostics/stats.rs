//! Per-worker loop statistics: what `stats` in the monitor console shows.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Counters one worker's loop keeps while diagnostics are on. Only the worker writes them
/// (plain loads and stores, no read-modify-write), anyone may read them.
#[derive(Debug, Default)]
pub struct LoopStats {
    /// Reactor turns (each is one `epoll_wait`).
    turns: AtomicU64,
    /// Nanoseconds spent in reactor turns, waiting included.
    reactor_ns: AtomicU64,
    /// I/O events the reactor delivered.
    events: AtomicU64,
    /// Timers that fired.
    timers: AtomicU64,
    /// Run phases that took longer than the slow-poll threshold as a whole.
    long_turns: AtomicU64,
    /// Tasks in the run queue at the last turn.
    queue_depth: AtomicU64,
}

/// Add `n` to a counter only this thread writes: a load and a store, no atomic RMW.
fn bump(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl LoopStats {
    pub(crate) fn record_turn(&self, in_reactor: Duration, events: usize, timers: usize) {
        bump(&self.turns, 1);
        bump(&self.reactor_ns, in_reactor.as_nanos() as u64);
        bump(&self.events, events as u64);
        bump(&self.timers, timers as u64);
    }

    pub(crate) fn record_long_turn(&self) {
        bump(&self.long_turns, 1);
    }

    pub(crate) fn set_queue_depth(&self, depth: usize) {
        self.queue_depth.store(depth as u64, Relaxed);
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> LoopSnapshot {
        LoopSnapshot {
            turns: self.turns.load(Relaxed),
            in_reactor: Duration::from_nanos(self.reactor_ns.load(Relaxed)),
            events: self.events.load(Relaxed),
            timers: self.timers.load(Relaxed),
            long_turns: self.long_turns.load(Relaxed),
            queue_depth: self.queue_depth.load(Relaxed),
        }
    }
}

/// A copy of a worker's [`LoopStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopSnapshot {
    /// Reactor turns.
    pub turns: u64,
    /// Time spent in reactor turns (mostly asleep in `epoll_wait`).
    pub in_reactor: Duration,
    /// I/O events delivered.
    pub events: u64,
    /// Timers fired.
    pub timers: u64,
    /// Run phases longer than the slow-poll threshold.
    pub long_turns: u64,
    /// Tasks in the run queue at the last turn.
    pub queue_depth: u64,
}

impl fmt::Display for LoopSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loop turns {}, in epoll_wait {:.3?}, io events {}, timers fired {}, long turns {}, \
             run queue {}",
            self.turns,
            self.in_reactor,
            self.events,
            self.timers,
            self.long_turns,
            self.queue_depth
        )
    }
}
