//! A worker: one executor, one reactor, and the loop that alternates between them.

use std::cell::RefCell;
use std::task::Poll;
use std::time::Duration;

use tempo_executor::Executor;
use tempo_reactor::Reactor;

/// One complete event loop. Lives on (and never leaves) the thread that runs it.
pub(crate) struct Worker {
    /// Tasks and the run queue. Declared first so it is dropped first: tasks' destructors
    /// may still deregister sockets and timers from the reactor.
    pub(crate) executor: Executor,
    /// epoll, registrations and timers. `turn` needs `&mut`, and nothing else borrows it.
    pub(crate) reactor: RefCell<Reactor>,
    /// Task polls between two looks at the reactor, even when tasks are always ready.
    pub(crate) event_interval: usize,
}

impl Worker {
    pub(crate) fn new(event_interval: usize) -> std::io::Result<Worker> {
        let reactor = Reactor::new()?;
        let unpark = reactor.handle();
        Ok(Worker {
            executor: Executor::new(move || unpark.unpark()),
            reactor: RefCell::new(reactor),
            event_interval: event_interval.max(1),
        })
    }

    /// Run the loop until `poll_main` — the `block_on` future — returns `Ready`.
    /// The caller has entered the executor and reactor on this thread.
    pub(crate) fn block_on<T>(&self, mut poll_main: impl FnMut() -> Poll<T>) -> T {
        let executor = &self.executor;
        let mut main_woken = true; // poll it once to start
        let mut polled_since_turn = 0;
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
            // 5. Wait for I/O and timers — or, if tasks are ready, just look.
            let max_wait = if ready { Some(Duration::ZERO) } else { None };
            self.reactor
                .borrow_mut()
                .turn(max_wait)
                .expect("tempo: epoll_wait failed; the reactor cannot go on");
            polled_since_turn = 0;
            executor.drain_remote();
            main_woken |= executor.take_main_woken();
        }
    }
}
