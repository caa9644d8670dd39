//! Per-worker loop statistics: what `stats` in the monitor console shows; and [`LoopWatch`],
//! the loop observer that keeps them and warns about long run phases.

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use tempo_reactor::TurnStats;

use super::observe::{LoopEvent, LoopObserver};

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

/// Debug mode's view of a worker's loop: a [`LoopObserver`] that times each run phase (the
/// polls between two reactor turns) and each turn, keeps the worker's [`LoopStats`], and
/// warns about a run phase longer than the slow-poll threshold.
pub(crate) struct LoopWatch {
    /// The counters it keeps, shared with the monitor and dumps.
    stats: Arc<LoopStats>,
    /// Report a run phase longer than this as a long turn.
    threshold: Option<Duration>,
    /// The worker's number, for the warning.
    number: usize,
    /// When the run phase in progress began; `None` before the loop is entered.
    phase_started: Cell<Option<Instant>>,
    /// When the reactor turn in progress began.
    turn_started: Cell<Option<Instant>>,
    /// What the turn before the run phase in progress delivered, for the warning.
    last_turn: Cell<TurnStats>,
}

impl LoopWatch {
    pub(crate) fn new(stats: Arc<LoopStats>, threshold: Option<Duration>, number: usize) -> Self {
        LoopWatch {
            stats,
            threshold,
            number,
            phase_started: Cell::new(None),
            turn_started: Cell::new(None),
            last_turn: Cell::new(TurnStats::default()),
        }
    }
}

impl LoopObserver for LoopWatch {
    fn on_loop(&self, event: LoopEvent) {
        match event {
            LoopEvent::Entered => {
                self.phase_started.set(Some(Instant::now()));
                self.last_turn.set(TurnStats::default());
            }
            // The run phase is over: report it if it ran long as a whole (cpython#101946:
            // many short polls adding up block the loop as surely as one long one).
            LoopEvent::TurnStarted { polls, ready, .. } => {
                let now = Instant::now();
                if let Some(started) = self.phase_started.get() {
                    let ran = now - started;
                    if self.threshold.is_some_and(|t| ran > t) {
                        let last = self.last_turn.get();
                        self.stats.record_long_turn();
                        tempo_executor::diag::warn(format_args!(
                            "tempo: long loop turn on worker {}: {ran:?} running {polls} task \
                             polls, after a reactor turn that delivered {} I/O events and fired \
                             {} timers; I/O and timers waited all that time",
                            self.number, last.events, last.timers,
                        ));
                    }
                }
                self.stats.set_queue_depth(ready);
                self.turn_started.set(Some(now));
            }
            LoopEvent::TurnEnded(turn) => {
                let now = Instant::now();
                if let Some(started) = self.turn_started.take() {
                    self.stats
                        .record_turn(now - started, turn.events, turn.timers);
                }
                self.last_turn.set(turn);
                self.phase_started.set(Some(now));
            }
            LoopEvent::MainPollStarted | LoopEvent::MainPollEnded => {}
        }
    }
}
