//! The timing lesson of the asyncio texts: blocking sleeps add up, awaited sleeps overlap.
//!
//! ```text
//! cargo run --release --example sleep_gather               # 2 s sleeps: ~4 s, then ~2 s
//! cargo run --release --example sleep_gather -- --secs 0.2 # the same lesson, faster
//! cargo run --release --example sleep_gather -- --secs 0.2 --trace t.json  # and see it
//! cargo run --example trace_view -- t.json                  # ... drawn as a timeline
//! ```
//!
//! Reference seed 001 ("The Blocking Trap") writes it in Python:
//!
//! ```text
//! def blocking_io():            time.sleep(2)          # blocks the entire thread
//! async def async_io():         await asyncio.sleep(2) # yields control to the event loop
//! async def main():
//!     blocking_io(); blocking_io()                     # 1. sequential: ~4 seconds
//!     await asyncio.gather(async_io(), async_io())     # 2. concurrent: ~2 seconds
//! ```
//!
//! Here `std::thread::sleep` is `time.sleep`, `tempo::time::sleep` is `asyncio.sleep`,
//! `tempo::spawn` is `asyncio.create_task`, and awaiting both handles is the `gather`. Like the
//! Python, the blocking calls run *inside* the async `main`: while they sleep, the one worker
//! thread can run nothing else — that is the trap. The second part takes the time of the
//! slowest sleep, not the sum, because a sleeping task is only a timer in the reactor and the
//! thread is free to run the other task, and to wait for both timers at once in
//! `epoll_wait`.
//!
//! With `--trace FILE` the runtime also records every poll, reactor turn and wake
//! ([`tempo::Builder::trace`]) and writes them to FILE when it shuts down: open it in
//! <https://ui.perfetto.dev>, or draw it with `trace_view`. The tasks are named
//! (`async sleep 1`, `async sleep 2`), so the timeline shows the trap — the `block_on`
//! future holding the thread through both blocking sleeps in one poll — and the lesson: the
//! two tasks each polled twice, with the loop blocked in `epoll_wait` between for one
//! sleep's length while both timers ran — in two turns, not one: a sleep longer than the
//! timer wheel's first level (64 ms) first wakes the loop at its slot's start, to move the
//! timers down a level, and fires them in the second (`docs/TOUR.md` draws it).
//! `docs/traces/sleep_gather.json` is such a trace.
//!
//! What it prints, with the default 2 s:
//!
//! ```text
//! [0.00 s] blocking sleep 1 starts
//! [2.00 s] blocking sleep 1 done
//! [2.00 s] blocking sleep 2 starts
//! [4.00 s] blocking sleep 2 done
//! [4.00 s] async sleep 1 starts
//! [4.00 s] async sleep 2 starts
//! [6.00 s] async sleep 1 done
//! [6.00 s] async sleep 2 done
//! blocking: 2 sleeps of 2.0 s took 4.00 s
//! async:    2 sleeps of 2.0 s took 2.00 s
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    let (secs, trace) = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("sleep_gather: {msg}\nusage: sleep_gather [--secs SECS] [--trace FILE]");
            return ExitCode::from(2);
        }
    };
    let nap = Duration::from_secs_f64(secs);
    // The clock every line is stamped against.
    let t0 = Instant::now();

    // `asyncio.run(main())`: the whole lesson runs inside the runtime, as in the Python.
    // `tempo::run` is `Runtime::new()` then `block_on`; we build the runtime ourselves only
    // to give it the trace file, if asked for one.
    let mut builder = tempo::Builder::new();
    if let Some(path) = &trace {
        builder.trace(path);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("sleep_gather: {e}");
            return ExitCode::from(2);
        }
    };
    let (blocking, concurrent) = runtime.block_on(async move {
        // 1. `blocking_io(); blocking_io()`: each call holds the worker thread for its whole
        //    sleep, so the second cannot start before the first ends.
        let start = Instant::now();
        for i in 1..=2 {
            blocking_io(t0, i, nap);
        }
        let blocking = start.elapsed();

        // 2. `await asyncio.gather(async_io(), async_io())`: both tasks start, both register
        //    a timer and return to the loop, and the loop waits for the timers together.
        let start = Instant::now();
        // Named, so that a trace shows them by name.
        let tasks = [1, 2].map(|i| {
            tempo::task::Builder::new()
                .name(&format!("async sleep {i}"))
                .spawn(async_io(t0, i, nap))
        });
        for task in tasks {
            // A JoinError means the task panicked or was aborted; neither can happen to a
            // sleep, so treat it as the bug it would be.
            task.await.expect("a sleeping task does not panic");
        }
        (blocking, start.elapsed())
    });
    // Dropping the runtime shuts it down, as the end of `tempo::run` would: the trace, if
    // any, is written now.
    drop(runtime);

    println!(
        "blocking: 2 sleeps of {secs:?} s took {:.2} s",
        blocking.as_secs_f64()
    );
    println!(
        "async:    2 sleeps of {secs:?} s took {:.2} s",
        concurrent.as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// `time.sleep(nap)`: blocks the calling thread, and with it the event loop running on it.
fn blocking_io(t0: Instant, i: u32, nap: Duration) {
    println!(
        "[{:.2} s] blocking sleep {i} starts",
        t0.elapsed().as_secs_f64()
    );
    std::thread::sleep(nap);
    println!(
        "[{:.2} s] blocking sleep {i} done",
        t0.elapsed().as_secs_f64()
    );
}

/// `await asyncio.sleep(nap)`: parks this task on a timer and lets the loop run others.
async fn async_io(t0: Instant, i: u32, nap: Duration) {
    println!(
        "[{:.2} s] async sleep {i} starts",
        t0.elapsed().as_secs_f64()
    );
    tempo::time::sleep(nap).await;
    println!("[{:.2} s] async sleep {i} done", t0.elapsed().as_secs_f64());
}

/// Reads the optional `--secs SECS` (default 2, fractions allowed) and `--trace FILE`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<(f64, Option<String>), String> {
    let mut secs = 2.0;
    let mut trace = None;
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--secs" => {
                let text = argv.next().ok_or("--secs needs a value")?;
                secs = match text.parse::<f64>() {
                    // `Duration::from_secs_f64` panics on negative or absurd values.
                    Ok(s) if (0.0..=3600.0).contains(&s) => s,
                    _ => return Err(format!("--secs {text}: expected seconds in 0..=3600")),
                };
            }
            "--trace" => trace = Some(argv.next().ok_or("--trace needs a file")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((secs, trace))
}
