//! Step 1 of a runtime built up step by step: a future, polled by hand, with a waker that
//! prints when it is woken. No runtime at all — only `std`.
//!
//! ```text
//! cargo run --example 01_poll_by_hand                   # the timer thread waits 50 ms
//! cargo run --example 01_poll_by_hand -- --delay-ms 500 # slow enough to watch
//! ```
//!
//! Reference seed 003 ("How it works") runs a coroutine by hand, with no event loop:
//!
//! ```text
//! coro = foo()
//! try:
//!     coro.send(None)          # run it up to its next suspension point
//! except StopIteration as e:
//!     print(e.value)           # it finished: here is its result
//! ```
//!
//! In Rust `coro.send(None)` is [`Future::poll`], and it answers `Poll::Pending` ("I am
//! suspended") or `Poll::Ready(value)` (the `StopIteration`). What Python leaves implicit is
//! *when to send again*. A Rust future says it: `poll` takes a [`Context`] holding a
//! [`Waker`], the future keeps a clone, and whoever completes the work the future waits for
//! calls `wake()`. Whoever polls must not poll again before that — it would only spin — and
//! must poll again after it. Everything in the later steps (the executor's run queue, the
//! reactor's epoll) is machinery to do exactly that for many futures at once.
//!
//! Here the future is `Delay`, written by hand: its first poll starts a thread that sleeps
//! and then wakes it (the thread stands in for the kernel, which the reactor of step 3
//! listens to). The waker is ours too: waking it prints a line and unparks the main
//! thread, which sleeps in between instead of polling in a loop.
//!
//! What it prints (the times are measured):
//!
//! ```text
//! [    0.0 ms] main: poll #1
//! [    0.1 ms] Delay: not done; keeping the waker, starting the timer thread
//! [    0.2 ms] main: poll #1 -> Pending; parking until woken
//! [   51.7 ms] timer thread: 50 ms are up; calling wake()
//! [   51.8 ms] waker: woken (wake #1, from thread "timer"); unparking main
//! [   51.8 ms] main: woken; polling again
//! [   51.8 ms] main: poll #2
//! [   51.8 ms] main: poll #2 -> Ready("slept 51.7 ms")
//! polls: 2, wakes: 1, elapsed 51.9 ms for a 50 ms delay
//! ```
//!
//! Two polls and one wake, however long the delay: between them the main thread sleeps.
//!
//! Next: `02_executor`, where tempo's executor does the polling and the waking for many
//! futures at once.

use std::future::Future;
use std::pin::{Pin, pin};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let delay = match parse_args(std::env::args().skip(1)) {
        Ok(delay) => delay,
        Err(msg) => {
            eprintln!("01_poll_by_hand: {msg}\nusage: 01_poll_by_hand [--delay-ms MS]");
            return ExitCode::from(2);
        }
    };
    let clock = Clock(Instant::now());

    // Our waker: `std::task::Wake` turns an `Arc<T>` into a `Waker` without unsafe code.
    let signal = Arc::new(Signal {
        main: thread::current(),
        wakes: AtomicUsize::new(0),
        clock,
    });
    let waker = Waker::from(signal.clone());
    let mut cx = Context::from_waker(&waker);

    // The future. `poll` takes `Pin<&mut Self>`: once polled, a future may hold pointers
    // into itself (an `async fn`'s locals borrowing each other) and must not move. Ours
    // does not, but every future is polled the same way, so we pin it here.
    let mut sleeper = pin!(Delay::new(delay, clock));

    let mut polls = 0;
    loop {
        polls += 1;
        // Count the wakes *before* polling: a wake may come while `poll` runs, before we
        // park, and must not be lost.
        let wakes_before = signal.wakes.load(Ordering::Acquire);
        clock.say(format_args!("main: poll #{polls}"));
        match sleeper.as_mut().poll(&mut cx) {
            Poll::Ready(output) => {
                clock.say(format_args!("main: poll #{polls} -> Ready({output:?})"));
                break;
            }
            Poll::Pending => {
                clock.say(format_args!(
                    "main: poll #{polls} -> Pending; parking until woken"
                ));
            }
        }
        // Sleep until the waker unparks us. `park` may also return for no reason, so wait
        // for the count of wakes to move, not merely for `park` to return.
        while signal.wakes.load(Ordering::Acquire) == wakes_before {
            thread::park();
        }
        clock.say(format_args!("main: woken; polling again"));
    }
    println!(
        "polls: {polls}, wakes: {}, elapsed {:.1} ms for a {} ms delay",
        signal.wakes.load(Ordering::Acquire),
        clock.ms(),
        delay.as_millis()
    );
    ExitCode::SUCCESS
}

/// The clock every line is stamped against; shared by the main thread, the timer thread
/// and the waker.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Milliseconds since the start.
    fn ms(self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }

    /// Prints `what`, time-stamped.
    fn say(self, what: std::fmt::Arguments<'_>) {
        println!("[{:>7.1} ms] {what}", self.ms());
    }
}

/// The waker's state: whom to unpark, and how often we were woken.
struct Signal {
    /// The thread that polls, parked while the future is pending.
    main: Thread,
    /// Wakes so far.
    wakes: AtomicUsize,
    /// Stamps what it prints.
    clock: Clock,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let n = self.wakes.fetch_add(1, Ordering::AcqRel) + 1;
        let me = thread::current();
        self.clock.say(format_args!(
            "waker: woken (wake #{n}, from thread {:?}); unparking main",
            me.name().unwrap_or("unnamed")
        ));
        self.main.unpark();
    }
}

/// A future that completes `delay` after its first poll — `asyncio.sleep` by hand.
struct Delay {
    /// How long to wait.
    delay: Duration,
    /// Shared with the timer thread: done yet, and the waker to call when done.
    shared: Arc<Mutex<DelayState>>,
    /// When the first poll started the timer thread.
    started: Option<Instant>,
    /// Stamps what it prints.
    clock: Clock,
}

/// What `Delay` shares with its timer thread.
#[derive(Default)]
struct DelayState {
    /// The time is up.
    done: bool,
    /// The waker of the latest poll: the one to call.
    waker: Option<Waker>,
}

impl Delay {
    fn new(delay: Duration, clock: Clock) -> Delay {
        Delay {
            delay,
            shared: Arc::default(),
            started: None,
            clock,
        }
    }
}

impl Future for Delay {
    type Output = String;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<String> {
        let mut state = self.shared.lock().expect("the timer thread does not panic");
        if state.done {
            let slept = self.started.map_or(Duration::ZERO, |t| t.elapsed());
            return Poll::Ready(format!("slept {:.1} ms", slept.as_secs_f64() * 1e3));
        }
        // The rule of every future: before returning Pending, arrange for the *current*
        // waker to be called. Store it on every poll, not just the first: the poller may
        // hand us a different waker next time.
        state.waker = Some(cx.waker().clone());
        drop(state);
        if self.started.is_none() {
            self.started = Some(Instant::now());
            let clock = self.clock;
            clock.say(format_args!(
                "Delay: not done; keeping the waker, starting the timer thread"
            ));
            let (delay, shared) = (self.delay, self.shared.clone());
            thread::Builder::new()
                .name("timer".into())
                .spawn(move || {
                    // SHORTCUT: a thread per timer. Step 5 puts timers in the reactor, where
                    // one `epoll_wait` waits for all of them.
                    thread::sleep(delay);
                    let waker = {
                        let mut state = shared.lock().expect("the poller does not panic");
                        state.done = true;
                        state.waker.take()
                    };
                    clock.say(format_args!(
                        "timer thread: {} ms are up; calling wake()",
                        delay.as_millis()
                    ));
                    // Wake outside the lock: a waker may do anything, even poll.
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                })
                .expect("spawn the timer thread");
        }
        Poll::Pending
    }
}

/// Reads the optional `--delay-ms MS` (default 50).
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Duration, String> {
    let mut delay = Duration::from_millis(50);
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--delay-ms" => {
                let text = argv.next().ok_or("--delay-ms needs a value")?;
                delay = match text.parse::<u64>() {
                    Ok(ms) if ms <= 60_000 => Duration::from_millis(ms),
                    _ => return Err(format!("--delay-ms {text}: expected 0..=60000")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(delay)
}
