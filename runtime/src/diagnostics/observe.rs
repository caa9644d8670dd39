//! The loop's one seam: [`LoopObserver`], told what a worker's loop does between task polls.
//!
//! The executor announces each task's steps to its `TaskObserver` (tempo-executor's
//! `observe.rs`); this is the same seam one level up, for the two things a task observer
//! cannot see — the `block_on` future's polls and the reactor's turns. `worker.rs` announces
//! them at its numbered steps:
//!
//! ```text
//!   Worker::block_on ─► Entered
//!   1. poll_main     ─► MainPollStarted … MainPollEnded
//!   5. reactor.turn  ─► TurnStarted { polls, ready, max_wait } … TurnEnded(TurnStats)
//! ```
//!
//! With no observer each announcement is one test of an empty slot — one branch per
//! `block_on` poll and two per turn — and no clock read: the loop reads the clock only
//! inside an observer. Debug mode's loop counters and long-turn warnings (`stats.rs`) are one
//! observer; the trace (`trace/`) is another; [`LoopFanout`] lets both watch one loop.

use std::time::Duration;

use tempo_reactor::TurnStats;

/// A step of a worker's loop, as `worker.rs` announces it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LoopEvent {
    /// `Worker::block_on` begins: the loop starts (or starts again, for a later `block_on`).
    Entered,
    /// Step 1: a poll of the `block_on` future begins.
    MainPollStarted,
    /// Step 1: that poll ended.
    MainPollEnded,
    /// Step 5: the run phase is over and the reactor turns next.
    TurnStarted {
        /// Polls in the run phase just ended (the `block_on` future's included).
        polls: usize,
        /// Tasks still in the run queue.
        ready: usize,
        /// The most the turn may wait: `Some(ZERO)` when it only looks, `None` when it may
        /// sleep until an event or the nearest timer.
        max_wait: Option<Duration>,
    },
    /// Step 5: the reactor turn returned, having done this. Its wakes were announced to the
    /// task observer (`Scheduled`) while it ran, between `TurnStarted` and this.
    TurnEnded(TurnStats),
}

/// Watches one worker's loop. Called only on the worker's own thread, in order; it runs
/// inside the loop, so it must be cheap and must not call back into the executor or reactor.
pub(crate) trait LoopObserver {
    /// The loop took a step: `event`.
    fn on_loop(&self, event: LoopEvent);
}

/// Several loop observers watching one worker, each told every event in turn.
pub(crate) struct LoopFanout(pub(crate) Vec<Box<dyn LoopObserver>>);

impl LoopObserver for LoopFanout {
    fn on_loop(&self, event: LoopEvent) {
        for observer in &self.0 {
            observer.on_loop(event);
        }
    }
}
