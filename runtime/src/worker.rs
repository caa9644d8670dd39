//! A worker: one executor, one reactor, and the loop that alternates between them.

use std::cell::RefCell;
use std::task::Poll;
use std::time::{Duration, Instant};

use tempo_executor::OwnedExecutor;
use tempo_reactor::Reactor;

use crate::diagnostics::{LoopEvent, LoopObserver};

/// One complete event loop. Lives on (and never leaves) the thread that runs it.
pub(crate) struct Worker {
    /// Tasks and the run queue. Declared first so it is dropped first: tasks' destructors
    /// may still deregister sockets and timers from the reactor.
    pub(crate) executor: OwnedExecutor,
    /// epoll, registrations and timers. `turn` needs `&mut`, and nothing else borrows it.
    pub(crate) reactor: RefCell<Reactor>,
    /// Task polls between two looks at the reactor, even when tasks are always ready.
    pub(crate) event_interval: usize,
    /// What watches the loop's steps — debug mode's counters, the trace, or both
    /// (`diagnostics/observe.rs`). `None`, the default, costs one branch per `block_on`
    /// poll and two per turn, and no clock read.
    pub(crate) observer: Option<Box<dyn LoopObserver>>,
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
            reactor: RefCell::new(reactor),
            event_interval: event_interval.max(1),
            observer: None,
            park_spin: Duration::ZERO,
        })
    }

    /// Run the loop until `poll_main` — the `block_on` future — returns `Ready`.
    /// The caller has entered the executor and reactor on this thread.
    pub(crate) fn block_on<T>(&self, mut poll_main: impl FnMut() -> Poll<T>) -> T {
        let executor = &self.executor;
        let mut main_woken = true; // poll it once to start
        let mut polled_since_turn = 0;
        // Observers off: no calls at all, not even ones that return at once.
        let observer = self.observer.as_deref();
        if let Some(observer) = observer {
            observer.on_loop(LoopEvent::Entered);
        }
        // When this worker ran out of work, if it is spinning before it parks.
        let mut idle_since: Option<Instant> = None;
        loop {
            // 1. The block_on future. It counts against the batch like any task, or a
            //    main future that keeps yielding would never let the reactor turn.
            if main_woken {
                let polled = match observer {
                    None => poll_main(),
                    Some(observer) => watched(observer, &mut poll_main),
                };
                if let Poll::Ready(output) = polled {
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
            if let Some(observer) = observer {
                observer.on_loop(LoopEvent::TurnStarted {
                    polls: polled_since_turn,
                    ready: executor.ready_len(),
                    max_wait,
                });
            }
            let turn = self
                .reactor
                .borrow_mut()
                .turn(max_wait)
                .expect("tempo: epoll_wait failed; the reactor cannot go on");
            if let Some(observer) = observer {
                observer.on_loop(LoopEvent::TurnEnded(turn));
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

/// Step 1's poll of the `block_on` future, announced to `observer`. Kept out of the loop so
/// that the unwatched path reads as if nobody watched.
#[inline(never)]
fn watched<T>(observer: &dyn LoopObserver, poll_main: &mut impl FnMut() -> Poll<T>) -> Poll<T> {
    observer.on_loop(LoopEvent::MainPollStarted);
    let polled = poll_main();
    observer.on_loop(LoopEvent::MainPollEnded);
    polled
}
