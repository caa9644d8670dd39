//! [`Recorder`]: one worker's part of a trace — its polls, its reactor turns, and the wakes
//! between them — kept in memory, up to a cap, until the runtime writes the file.
//!
//! A recorder is both of the worker's observers: the executor's `TaskObserver` tells it
//! when each task is spawned, scheduled and polled; the loop's `LoopObserver` tells it when
//! the `block_on` future is polled and when the reactor turns. Everything but a
//! cancellation request arrives on the worker's own thread, one event after another, so the
//! recorder always knows what the worker is doing *now* — and that is how it knows who woke
//! a task:
//!
//! | when the executor says `Scheduled`   | the waker was                                  |
//! |--------------------------------------|------------------------------------------------|
//! | during a poll (a task's or `block_on`'s) | that poll: it woke or spawned the task      |
//! | during a reactor turn                | the turn: an I/O event or a timer that fired   |
//! | anywhere else (draining the channel) | another thread: a remote wake or spawn          |
//!
//! A task that wakes itself while it runs (`yield_now`, a spent budget) is not `Scheduled`
//! — it is requeued when its poll ends (`PollEnded { requeued: true }`) — so its arrow goes
//! from that poll to the next one.
//!
//! Each wake is kept until the poll it caused ends, and stored with it: the trace has a
//! flow arrow for every wake whose poll it has, and no arrow without both ends.

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tempo_executor::{TaskEvent, TaskId, TaskObserver};
use tempo_reactor::TurnStats;

use super::super::observe::{LoopEvent, LoopObserver};

/// Which loop a recorder watches: a track of its own in the trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Track {
    /// Worker `n` of the runtime (with one worker, worker 0 is the `block_on` thread).
    Worker(usize),
    /// The extra loop of the `block_on` thread in a runtime of several workers.
    BlockOn,
}

/// How a task is named in the trace.
#[derive(Debug)]
pub(super) struct Label {
    /// The name it was spawned with, if any.
    pub(super) name: Option<Arc<str>>,
    /// Where it was spawned.
    pub(super) location: &'static Location<'static>,
}

/// What a poll polled.
#[derive(Clone, Debug)]
pub(super) enum Polled {
    /// The `block_on` future.
    Main,
    /// A task, with its label (`None` if it was never announced as spawned).
    Task(TaskId, Option<Arc<Label>>),
}

/// Who woke a task.
#[derive(Clone, Copy, Debug)]
pub(super) enum Waker {
    /// A poll on this track, at the wake's time.
    Poll,
    /// A reactor turn on this track, at the wake's time.
    Turn,
    /// The task itself, during its poll that began at this time.
    Itself(u64),
    /// Another thread, some time after `since` (the end of the last thing this worker did
    /// before it drained the wake from its channel).
    Remote {
        /// Nanoseconds since the trace began.
        since: u64,
    },
}

/// A wake: who, and when (nanoseconds since the trace began).
#[derive(Clone, Copy, Debug)]
pub(super) struct Wake {
    /// Who woke the task.
    pub(super) by: Waker,
    /// When the executor learnt of it.
    pub(super) at: u64,
}

/// One thing recorded. Times are nanoseconds since the trace began.
#[derive(Debug)]
pub(super) enum Event {
    /// A poll, from its start to its end.
    Poll {
        /// What was polled.
        polled: Polled,
        /// When the poll began.
        start: u64,
        /// When it ended.
        end: u64,
    },
    /// A reactor turn: `epoll_wait` and the wakes it led to.
    Turn {
        /// When the turn began.
        start: u64,
        /// When it returned.
        end: u64,
        /// What it delivered.
        stats: TurnStats,
        /// Polls in the run phase before it.
        polls: usize,
        /// It only looked (tasks were ready), never waited.
        looked: bool,
    },
    /// A wake, and the poll it caused, which began at `to` (the `Poll` event just before).
    Flow {
        /// Who woke the task, and when.
        wake: Wake,
        /// When the poll it caused began.
        to: u64,
    },
}

/// The poll in progress.
struct Polling {
    /// What is being polled.
    polled: Polled,
    /// When the poll began.
    start: u64,
    /// The wake that caused it, if known.
    woken: Option<Wake>,
}

/// A recorder's state, touched only under its lock.
struct State {
    /// What was recorded, oldest first.
    events: Vec<Event>,
    /// Events not recorded because `events` was full.
    dropped: u64,
    /// The labels of this worker's live tasks.
    labels: HashMap<TaskId, Arc<Label>>,
    /// Wakes whose poll has not begun yet: at most one per queued task.
    pending: HashMap<TaskId, Wake>,
    /// The first wake of the `block_on` future since its last poll.
    main_pending: Option<Wake>,
    /// The poll in progress, if any.
    polling: Option<Polling>,
    /// The reactor turn in progress: when it began, the polls before it, whether it only
    /// looked.
    turn: Option<(u64, usize, bool)>,
    /// When the last poll or turn recorded here ended.
    last_end: u64,
}

/// One worker's trace: what it did, up to `max_events` events. See the module doc.
pub(crate) struct Recorder {
    /// The worker's track.
    pub(super) track: Track,
    /// Record the `block_on` future's polls (false on worker threads of a runtime with
    /// several workers, where that future is only the signal to stop).
    record_main: bool,
    /// Time zero of the trace, shared by every recorder of the runtime.
    epoch: Instant,
    /// The most events kept; later ones are counted in `dropped`.
    max_events: usize,
    /// Everything else. A lock only because a `TaskObserver` must be `Sync`: every event but
    /// `CancelRequested` (which is not recorded) comes from the worker's own thread, so it
    /// is never contended until the runtime takes the events at shutdown.
    state: Mutex<State>,
}

impl Recorder {
    pub(super) fn new(track: Track, record_main: bool, epoch: Instant, max_events: usize) -> Self {
        Recorder {
            track,
            record_main,
            epoch,
            max_events,
            state: Mutex::new(State {
                events: Vec::new(),
                dropped: 0,
                labels: HashMap::new(),
                pending: HashMap::new(),
                main_pending: None,
                polling: None,
                turn: None,
                last_end: 0,
            }),
        }
    }

    /// Nanoseconds since the trace began.
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while recording cannot leave the state half-written in a way that
        // matters: at worst one event is missing.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The events recorded so far, and how many were dropped; leaves none behind.
    pub(super) fn take(&self) -> (Vec<Event>, u64) {
        let mut state = self.state();
        (std::mem::take(&mut state.events), state.dropped)
    }

    /// A wake happening now, and who did it: see the module doc's table.
    fn wake_now(&self, state: &State) -> Wake {
        let at = self.now();
        let by = if state.polling.is_some() {
            Waker::Poll
        } else if state.turn.is_some() {
            Waker::Turn
        } else {
            Waker::Remote {
                since: state.last_end,
            }
        };
        Wake { by, at }
    }

    /// A poll begins: remember it, with the wake that caused it.
    fn poll_started(&self, state: &mut State, polled: Polled, woken: Option<Wake>) {
        let start = self.now();
        state.polling = Some(Polling {
            polled,
            start,
            woken,
        });
    }

    /// The poll in progress ended: record it, then the wake that caused it.
    fn poll_ended(&self, state: &mut State) -> Option<u64> {
        let polling = state.polling.take()?;
        let end = self.now();
        state.last_end = end;
        self.push(
            state,
            Event::Poll {
                polled: polling.polled,
                start: polling.start,
                end,
            },
        );
        if let Some(wake) = polling.woken {
            self.push(
                state,
                Event::Flow {
                    wake,
                    to: polling.start,
                },
            );
        }
        Some(polling.start)
    }

    fn push(&self, state: &mut State, event: Event) {
        if state.events.len() < self.max_events {
            state.events.push(event);
        } else {
            state.dropped += 1;
        }
    }
}

impl TaskObserver for Recorder {
    fn on_event(&self, task: TaskId, event: TaskEvent<'_>) {
        if let TaskEvent::CancelRequested(_) = event {
            return; // from any thread, and not part of the timeline
        }
        let mut state = self.state();
        let state = &mut *state;
        match event {
            TaskEvent::Spawned(meta) => {
                let label = Label {
                    name: meta.name.clone(),
                    location: meta.location,
                };
                state.labels.insert(task, Arc::new(label));
            }
            TaskEvent::Scheduled => {
                let wake = self.wake_now(state);
                state.pending.insert(task, wake);
            }
            TaskEvent::MainWoken => {
                // Kept until the loop polls the block_on future again.
                let wake = self.wake_now(state);
                state.main_pending.get_or_insert(wake);
            }
            TaskEvent::PollStarted => {
                let woken = state.pending.remove(&task);
                let label = state.labels.get(&task).cloned();
                self.poll_started(state, Polled::Task(task, label), woken);
            }
            TaskEvent::PollEnded { requeued } => {
                let started = self.poll_ended(state);
                if let (true, Some(started)) = (requeued, started) {
                    let at = started;
                    let by = Waker::Itself(started);
                    state.pending.insert(task, Wake { by, at });
                }
            }
            TaskEvent::Finished(_) => {
                state.labels.remove(&task);
                state.pending.remove(&task);
            }
            TaskEvent::CancelRequested(_) => {}
        }
    }
}

impl LoopObserver for Arc<Recorder> {
    fn on_loop(&self, event: LoopEvent) {
        let mut state = self.state();
        let state = &mut *state;
        match event {
            LoopEvent::Entered => {}
            LoopEvent::MainPollStarted if self.record_main => {
                let woken = state.main_pending.take();
                self.poll_started(state, Polled::Main, woken);
            }
            LoopEvent::MainPollEnded if self.record_main => {
                self.poll_ended(state);
            }
            LoopEvent::MainPollStarted | LoopEvent::MainPollEnded => {}
            LoopEvent::TurnStarted {
                polls, max_wait, ..
            } => {
                let looked = max_wait.is_some_and(|w| w.is_zero());
                state.turn = Some((self.now(), polls, looked));
            }
            LoopEvent::TurnEnded(stats) => {
                let Some((start, polls, looked)) = state.turn.take() else {
                    return;
                };
                let end = self.now();
                state.last_end = end;
                let turn = Event::Turn {
                    start,
                    end,
                    stats,
                    polls,
                    looked,
                };
                self.push(state, turn);
            }
        }
    }
}
