//! Step 5 of a runtime built up step by step: timers. The loop of step 4, unchanged, now
//! waits for deadlines as well as sockets: each reactor turn sleeps in `epoll_wait` until
//! the nearest timer, not "forever".
//!
//! ```text
//! cargo run --example 05_timers                    # sleeps of 200, 100 and 300 ms
//! cargo run --example 05_timers -- --unit-ms 1000  # of 2, 1 and 3 s, as in the seed
//! ```
//!
//! Reference seed 001 ("Code: The Heartbeat of the Loop") gathers three sleeping tasks:
//!
//! ```text
//! async def fetch_data(id, wait_time):
//!     print(f"Task {id}: Starting fetch...")
//!     await asyncio.sleep(wait_time)
//!     print(f"Task {id}: Finished after {wait_time}s")
//! task1 = asyncio.create_task(fetch_data(1, 2))
//! task2 = asyncio.create_task(fetch_data(2, 1))
//! task3 = asyncio.create_task(fetch_data(3, 3))
//! results = await asyncio.gather(task1, task2, task3)
//! ```
//!
//! A sleep is no thread and no busy loop (step 1's timer thread was a shortcut): it is an
//! entry in the reactor's timer wheel. `tempo_reactor::time::sleep` arms one on its first
//! poll, parking the task's waker there, and returns `Pending`. [`Reactor::turn`] then
//! shortens its `epoll_wait` to the nearest deadline (rounded *up* to whole milliseconds,
//! since epoll counts in milliseconds and waking early would only spin), and after the
//! wait fires every timer that is due — waking their tasks, exactly as a ready socket
//! does. asyncio's `_run_once` does the same with its heap of scheduled callbacks:
//! `timeout = scheduled[0]._when - self.time()`.
//!
//! The loop below is step 4's, steps numbered as in `runtime/src/worker.rs`. To *show* the
//! bound, the example notes each deadline it arms (`Sleep::deadline`) and step 5 prints the
//! nearest before it turns. The reactor does not need our note: it asks its own wheel
//! (step 1 of `Reactor::turn`).
//!
//! What it prints (the times are measured):
//!
//! ```text
//! -- round 1
//! [    0.1 ms]   1. block_on future polled -> Pending
//! [    0.1 ms] task 1: starting; sleeping 200.0 ms
//! [    0.1 ms] task 2: starting; sleeping 100.0 ms
//! [    0.1 ms] task 3: starting; sleeping 300.0 ms
//! [    0.1 ms]   2. ran 3 tasks
//! [    0.1 ms]   5. reactor.turn(wait forever): nearest deadline in 100.0 ms
//! [   64.3 ms]      ... 64.2 ms in epoll_wait, 0 I/O events, 0 timers, 0 woken
//! -- round 2
//! [   64.3 ms]   2. ran 0 tasks
//! [   64.3 ms]   5. reactor.turn(wait forever): nearest deadline in 35.8 ms
//! [  100.4 ms]      ... 36.1 ms in epoll_wait, 0 I/O events, 1 timers, 1 woken
//! -- round 3
//! [  100.5 ms] task 2: finished after 100.4 ms (0.4 ms after its deadline)
//! [  100.5 ms]   2. ran 1 tasks
//! [  100.5 ms]   5. reactor.turn(wait forever): nearest deadline in 99.6 ms
//! ...
//! -- round 9
//! [  301.1 ms]   1. block_on future polled -> Ready
//! results: [1, 2, 3]; finished in the order [2, 1, 3]
//! gathered in 301.0 ms: the longest sleep was 300.0 ms, the sum 600.0 ms
//! ```
//!
//! Round 1's turn ended at 64 ms with no timer due. That is the timer wheel, not a stray
//! wake-up: a deadline beyond the wheel's current 64 ms window sits in a coarser level of it, and the
//! reactor wakes at the start of its slot to move it to a finer one (a *cascade*,
//! `reactor/src/time/wheel/fire.rs`), then sleeps again to the deadline itself. A turn is
//! never longer than the time to the nearest deadline, and a timer never fires before it;
//! each fires within a millisecond or two after (epoll counts whole milliseconds).
//!
//! Next: `06_server`, where `tempo::run` is this loop and `tempo::net` these sockets.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tempo_executor::OwnedExecutor;
use tempo_reactor::Reactor;
use tempo_reactor::time::sleep;

/// Task polls between two looks at the reactor: tempo's default (`Builder::event_interval`).
const EVENT_INTERVAL: usize = 61;

fn main() -> ExitCode {
    let unit = match parse_args(std::env::args().skip(1)) {
        Ok(unit) => unit,
        Err(msg) => {
            eprintln!("05_timers: {msg}\nusage: 05_timers [--unit-ms MS]");
            return ExitCode::from(2);
        }
    };
    let clock = Clock(Instant::now());
    let reactor = match Reactor::new() {
        Ok(reactor) => reactor,
        Err(e) => {
            eprintln!("05_timers: cannot create the reactor: {e}");
            return ExitCode::FAILURE;
        }
    };
    let unpark = reactor.handle();
    let executor = OwnedExecutor::new(move || unpark.unpark());
    let _executor_entered = executor.enter();
    let _reactor_entered = reactor.enter();
    let reactor = RefCell::new(reactor);
    let armed = Armed::default();

    // `asyncio.gather(fetch_data(1, 2), fetch_data(2, 1), fetch_data(3, 3))`.
    let waits = [(1, 2), (2, 1), (3, 3)];
    let finished = Rc::new(RefCell::new(Vec::new()));
    let main_future = async {
        let started = Instant::now();
        let tasks: Vec<_> = waits
            .iter()
            .map(|&(id, units)| {
                let work = fetch_data(id, unit * units, armed.clone(), finished.clone(), clock);
                tempo_executor::spawn_local(work)
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("a sleeping task does not fail"));
        }
        (results, started.elapsed())
    };
    let mut main_future = pin!(main_future);
    let main_waker = executor.main_waker();
    let mut cx = Context::from_waker(&main_waker);
    let (results, took) = block_on(
        &executor,
        &reactor,
        EVENT_INTERVAL,
        || main_future.as_mut().poll(&mut cx),
        &armed,
        clock,
    );
    let sum: u32 = waits.iter().map(|&(_, units)| units).sum();
    let longest = waits.iter().map(|&(_, units)| units).max().unwrap_or(0);
    println!(
        "results: {results:?}; finished in the order {:?}",
        finished.borrow()
    );
    println!(
        "gathered in {}: the longest sleep was {}, the sum {}",
        Ms(took),
        Ms(unit * longest),
        Ms(unit * sum)
    );
    ExitCode::SUCCESS
}

/// `fetch_data` of the seed: sleep, then return the id.
async fn fetch_data(
    id: u32,
    wait: Duration,
    armed: Armed,
    finished: Rc<RefCell<Vec<u32>>>,
    clock: Clock,
) -> u32 {
    clock.say(format_args!("task {id}: starting; sleeping {}", Ms(wait)));
    let started = Instant::now();
    let nap = sleep(wait);
    let deadline = nap.deadline();
    armed.add(deadline);
    nap.await;
    armed.remove(deadline);
    let late = Instant::now().saturating_duration_since(deadline);
    clock.say(format_args!(
        "task {id}: finished after {} ({} after its deadline)",
        Ms(started.elapsed()),
        Ms(late)
    ));
    finished.borrow_mut().push(id);
    id
}

/// The deadlines of the sleeps this example armed and that have not fired: our own note,
/// for printing. The reactor's timer wheel holds the real ones.
#[derive(Clone, Default)]
struct Armed(Rc<RefCell<BTreeMap<Instant, usize>>>);

impl Armed {
    fn add(&self, deadline: Instant) {
        *self.0.borrow_mut().entry(deadline).or_default() += 1;
    }

    fn remove(&self, deadline: Instant) {
        let mut armed = self.0.borrow_mut();
        if let Some(n) = armed.get_mut(&deadline) {
            *n -= 1;
            if *n == 0 {
                armed.remove(&deadline);
            }
        }
    }

    fn nearest(&self) -> Option<Instant> {
        self.0.borrow().keys().next().copied()
    }
}

/// Run the loop until `poll_main` — the `block_on` future — returns `Ready`: step 4's loop,
/// and `runtime/src/worker.rs`'s, printing each step; step 5 also prints the nearest
/// deadline.
fn block_on<T>(
    executor: &OwnedExecutor,
    reactor: &RefCell<Reactor>,
    event_interval: usize,
    mut poll_main: impl FnMut() -> Poll<T>,
    armed: &Armed,
    clock: Clock,
) -> T {
    let mut main_woken = true; // poll it once to start
    let mut polled_since_turn = 0;
    let mut round = 0;
    loop {
        round += 1;
        println!("-- round {round}");
        // 1. The block_on future. It counts against the batch like any task, or a main
        //    future that keeps yielding would never let the reactor turn.
        if main_woken {
            let polled = poll_main();
            let said = if polled.is_ready() {
                "Ready"
            } else {
                "Pending"
            };
            clock.say(format_args!("  1. block_on future polled -> {said}"));
            if let Poll::Ready(output) = polled {
                return output;
            }
            polled_since_turn += 1;
        }
        // 2. A bounded batch of ready tasks.
        let batch = event_interval.saturating_sub(polled_since_turn);
        let ran = executor.run_ready(batch);
        polled_since_turn += ran;
        clock.say(format_args!("  2. ran {ran} tasks"));
        // 3. Wakes and spawns from other threads.
        let remote = executor.drain_remote();
        if remote > 0 {
            clock.say(format_args!(
                "  3. {remote} wakes and spawns from other threads"
            ));
        }
        main_woken = executor.take_main_woken();
        // 4. More to run and batch left: go round again without a syscall.
        let ready = main_woken || executor.has_ready();
        if ready && polled_since_turn < event_interval {
            clock.say(format_args!(
                "  4. more is ready: round again, no epoll_wait"
            ));
            continue;
        }
        // 5. Wait for I/O and timers — or, if tasks are ready, just look. "Wait forever"
        //    here means: until a socket is ready, another thread unparks us, or the nearest
        //    timer is due — the reactor bounds the wait by that itself.
        let max_wait = if ready { Some(Duration::ZERO) } else { None };
        let wait = max_wait.map_or("forever".into(), |w| Ms(w).to_string());
        let nearest = match armed.nearest() {
            Some(deadline) => Ms(deadline.saturating_duration_since(Instant::now())).to_string(),
            None => "none armed".into(),
        };
        clock.say(format_args!(
            "  5. reactor.turn(wait {wait}): nearest deadline in {nearest}"
        ));
        let start = Instant::now();
        let turn = reactor
            .borrow_mut()
            .turn(max_wait)
            .expect("epoll_wait failed; the reactor cannot go on");
        clock.say(format_args!(
            "     ... {} in epoll_wait, {} I/O events, {} timers, {} woken",
            Ms(start.elapsed()),
            turn.events,
            turn.timers,
            turn.woken
        ));
        polled_since_turn = 0;
        executor.drain_remote();
        main_woken |= executor.take_main_woken();
    }
}

/// A duration, printed in milliseconds.
struct Ms(Duration);

impl std::fmt::Display for Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1e3)
    }
}

/// The clock every line is stamped against.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Prints `what`, stamped with the milliseconds since the start.
    fn say(self, what: std::fmt::Arguments<'_>) {
        println!("[{:>7.1} ms] {what}", self.0.elapsed().as_secs_f64() * 1e3);
    }
}

/// Reads the optional `--unit-ms MS` (default 100): the seed's second, scaled.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Duration, String> {
    let mut unit = Duration::from_millis(100);
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--unit-ms" => {
                let text = argv.next().ok_or("--unit-ms needs a value")?;
                unit = match text.parse::<u64>() {
                    Ok(ms) if (1..=10_000).contains(&ms) => Duration::from_millis(ms),
                    _ => return Err(format!("--unit-ms {text}: expected 1..=10000")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(unit)
}
