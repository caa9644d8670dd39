//! A worker: one executor, one reactor, and the loop that alternates between them.

use std::cell::RefCell;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tempo_executor::OwnedExecutor;
use tempo_reactor::{Reactor, TurnStats};

use crate::diagnostics::LoopStats;

/// One complete event loop. Lives on (and never leaves) the thread that runs it.
pub(crate) struct Worker {
    /// Tasks and the run queue. Declared first so it is dropped first: tasks' destructors
    /// may still deregister sockets and timers from the reactor.
    pub(crate) executor: OwnedExecutor,
    /// epoll, registrations and timers. `turn` needs `&mut`, and nothing else borrows it.
    pub(crate) reactor: RefCell<Reactor>,
    /// Task polls between two looks at the reactor, even when tasks are always ready.
    pub(crate) event_interval: usize,
    /// With diagnostics on: the loop's counters, and the threshold past which a whole run
    /// phase is reported as a long turn.
    pub(crate) stats: Option<(Arc<LoopStats>, Option<Duration>)>,
    /// The worker's number in its runtime, as logs and dumps name it (set with diagnostics).
    pub(crate) number: usize,
    /// How long an idle worker keeps polling the reactor without blocking before it sleeps
    /// in `epoll_wait` (see `Builder::park_spin`). Zero: sleep at once.
    pub(crate) park_spin: Duration,
}

impl Worker {
    pub(crate) fn new(event_interval: usize) -> std::io::Result<Worker> {
        let reactor = Reactor::new()?;
        let unpark = reactor.handle();
        Ok(Worker {
            executor: OwnedExecutor::new(move || unpark.unpark()),
            number: 0,
            reactor: RefCell::new(reactor),
            event_interval: event_interval.max(1),
            stats: None,
            park_spin: Duration::ZERO,
        })
    }

    /// Run the loop until `poll_main` — the `block_on` future — returns `Ready`.
    /// The caller has entered the executor and reactor on this thread.
    pub(crate) fn block_on<T>(&self, mut poll_main: impl FnMut() -> Poll<T>) -> T {
        let executor = &self.executor;
        let mut main_woken = true; // poll it once to start
        let mut polled_since_turn = 0;
        let mut phase = Phase::start(self.stats.is_some());
        // When this worker ran out of work, if it is spinning before it parks.
        let mut idle_since: Option<Instant> = None;
        loop {
            // 1. The block_on future. It counts against the batch like any task, or a
            //    main future that keeps yielding would never let the reactor turn.
            if main_woken {
                if let Poll::Ready(output) = poll_main() {
                    return output;
                }
                polled_since_turn += 1;
            }
            // 2. A bounded batch of ready tasks.
            let batch = self.event_interval.saturating_sub(polled_since_turn);
            polled_since_turn += executor.run_ready(batch);
            // 3. Wakes and spawns from other threads.
            executor.drain_remote();
            main_woken = executor.take_main_woken();
            // 4. More to run and batch left: go round again without a syscall.
            let ready = main_woken || executor.has_ready();
            if ready && polled_since_turn < self.event_interval {
                continue;
            }
            // 5. Wait for I/O and timers — or, if tasks are ready, just look. An idle worker
            //    may first spin for `park_spin`, looking without sleeping: waking a parked
            //    core costs far more than a look (~20 µs against ~0.2 µs on these VMs).
            let max_wait = if ready {
                idle_since = None;
                Some(Duration::ZERO)
            } else if self.park_spin.is_zero() {
                None
            } else {
                let since = *idle_since.get_or_insert_with(Instant::now);
                (since.elapsed() < self.park_spin).then_some(Duration::ZERO)
            };
            // Diagnostics off: no calls at all, not even ones that return at once.
            let measuring = self.stats.is_some();
            if measuring {
                phase.end(self, polled_since_turn);
            }
            let turn = self
                .reactor
                .borrow_mut()
                .turn(max_wait)
                .expect("tempo: epoll_wait failed; the reactor cannot go on");
            if measuring {
                phase.after_turn(self, turn);
            }
            polled_since_turn = 0;
            executor.drain_remote();
            main_woken |= executor.take_main_woken();
            if main_woken || executor.has_ready() {
                idle_since = None;
            }
        }
    }
}

/// Diagnostics' view of one run phase — the polls between two reactor turns. Inert (no
/// clock reads) when diagnostics are off.
struct Phase {
    /// When this phase began; `None` with diagnostics off.
    started: Option<Instant>,
    /// What the turn before it delivered, for the report.
    last_turn: TurnStats,
    /// When the reactor turn in progress began.
    turn_started: Option<Instant>,
}

impl Phase {
    fn start(on: bool) -> Phase {
        Phase {
            started: on.then(Instant::now),
            last_turn: TurnStats::default(),
            turn_started: None,
        }
    }

    /// The run phase is over: report it if it ran long as a whole (cpython#101946: many
    /// short polls adding up block the loop as surely as one long one).
    fn end(&mut self, worker: &Worker, polls: usize) {
        let (Some(started), Some((stats, threshold))) = (self.started, &worker.stats) else {
            return;
        };
        let now = Instant::now();
        let ran = now - started;
        if threshold.is_some_and(|t| ran > t) {
            stats.record_long_turn();
            tempo_executor::diag::warn(format_args!(
                "tempo: long loop turn on worker {}: {ran:?} running {polls} task polls, after \
                 a reactor turn that delivered {} I/O events and fired {} timers; I/O and \
                 timers waited all that time",
                worker.number, self.last_turn.events, self.last_turn.timers,
            ));
        }
        stats.set_queue_depth(worker.executor.ready_len());
        self.turn_started = Some(now);
    }

    fn after_turn(&mut self, worker: &Worker, turn: TurnStats) {
        let (Some(turn_started), Some((stats, _))) = (self.turn_started, &worker.stats) else {
            return;
        };
        let now = Instant::now();
        stats.record_turn(now - turn_started, turn.events, turn.timers);
        self.last_turn = turn;
        self.started = Some(now);
    }
}
