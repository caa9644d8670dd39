//! The timing lesson of the asyncio texts: blocking sleeps add up, awaited sleeps overlap.
//!
//! ```text
//! cargo run --release --example sleep_gather               # 2 s sleeps: ~4 s, then ~2 s
//! cargo run --release --example sleep_gather -- --secs 0.2 # the same lesson, faster
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
//! thread is free to run the other task (and wait for both timers in one `epoll_wait`).
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
    let secs = match parse_args(std::env::args().skip(1)) {
        Ok(secs) => secs,
        Err(msg) => {
            eprintln!("sleep_gather: {msg}\nusage: sleep_gather [--secs SECS]");
            return ExitCode::from(2);
        }
    };
    let nap = Duration::from_secs_f64(secs);
    // The clock every line is stamped against.
    let t0 = Instant::now();

    // `asyncio.run(main())`: the whole lesson runs inside the runtime, as in the Python.
    let (blocking, concurrent) = tempo::run(async move {
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
        let tasks = [1, 2].map(|i| tempo::spawn(async_io(t0, i, nap)));
        for task in tasks {
            // A JoinError means the task panicked or was aborted; neither can happen to a
            // sleep, so treat it as the bug it would be.
            task.await.expect("a sleeping task does not panic");
        }
        (blocking, start.elapsed())
    });

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

/// Reads the optional `--secs SECS` (default 2, fractions allowed).
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<f64, String> {
    let mut secs = 2.0;
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
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(secs)
}
