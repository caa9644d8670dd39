//! Tasks started together finish in the order of their delays, and the whole takes as long as
//! the longest one — not the sum.
//!
//! ```text
//! cargo run --example unequal_delays                 # delays of 2, 1 and 3 s: ~3 s in all
//! cargo run --example unequal_delays -- --scale 0.1  # the same lesson, ten times faster
//! ```
//!
//! Seed 001 ("The Heartbeat of the Loop", 001_b3c93ce22e06ba03.txt) writes it in Python:
//!
//! ```text
//! async def fetch_data(id, wait_time):
//!     print(f"Task {id}: Starting fetch...")
//!     await asyncio.sleep(wait_time)
//!     print(f"Task {id}: Finished after {wait_time}s")
//!     return id
//! async def main():
//!     task1 = asyncio.create_task(fetch_data(1, 2))
//!     task2 = asyncio.create_task(fetch_data(2, 1))
//!     task3 = asyncio.create_task(fetch_data(3, 3))
//!     results = await asyncio.gather(task1, task2, task3)
//!     print(f"Results: {results}")
//! ...
//! print(f"Total Time: {time.time() - start:.2f}s")
//! ```
//!
//! and seed 002 (002_04f514b929b9a6e1.txt, `asyncio.as_completed()`) runs
//! `get_data(1)`, `get_data(2)`, `get_data(3)` — each sleeping its argument — to print them
//! "in completion order".
//!
//! `tempo::spawn` is `asyncio.create_task`: the task starts running as soon as the loop gets
//! control, whether or not anyone awaits it yet. Awaiting the three handles one after another
//! is the `gather`: the results come back in the order we asked for them (1, 2, 3), while
//! the tasks *finished* in the order of their delays (2, 1, 3), because all three sleeps were
//! timers in the reactor at once and the loop woke each task when its timer fired. The
//! seed's print says `Finished after {wait_time}s`, the figure it was given; here each task
//! prints the time it measured.
//!
//! What it prints (every time is measured in the run; default scale):
//!
//! ```text
//! [0.00 s] Task 1: Starting fetch (sleeps 2.00 s)...
//! [0.00 s] Task 2: Starting fetch (sleeps 1.00 s)...
//! [0.00 s] Task 3: Starting fetch (sleeps 3.00 s)...
//! [1.00 s] Task 2: Finished after 1.00 s
//! [2.00 s] Task 1: Finished after 2.00 s
//! [3.00 s] Task 3: Finished after 3.00 s
//! Results: [1, 2, 3]
//! finish order: [2, 1, 3]
//! Total Time: 3.00 s (longest delay 3.00 s, sum of delays 6.00 s)
//! ```

use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The seed's tasks: `(id, wait_time in seconds)`, in the order they are created.
const TASKS: [(u32, f64); 3] = [(1, 2.0), (2, 1.0), (3, 3.0)];

fn main() -> ExitCode {
    let scale = match parse_args(std::env::args().skip(1)) {
        Ok(scale) => scale,
        Err(msg) => {
            eprintln!(
                "unequal_delays: {msg}\nusage: unequal_delays [--scale F]   (F in (0, 100], default 1.0)"
            );
            return ExitCode::from(2);
        }
    };
    // `start = time.time()`, before `asyncio.run(main())`.
    let t0 = Instant::now();
    // The ids in the order the tasks finished, pushed by the tasks themselves. A `Mutex`
    // because `spawn`ed tasks must be `Send`: with several workers they could run on any.
    let finished = Arc::new(Mutex::new(Vec::new()));

    let results = tempo::run({
        let finished = finished.clone();
        async move {
            // `asyncio.create_task(fetch_data(id, wait_time))`, three times: all start now.
            let tasks = TASKS.map(|(id, secs)| {
                let delay = Duration::from_secs_f64(secs * scale);
                tempo::spawn(fetch_data(t0, id, delay, finished.clone()))
            });
            // `await asyncio.gather(task1, task2, task3)`: results in argument order.
            let mut results = Vec::new();
            for task in tasks {
                // A JoinError means the task panicked or was aborted; a sleep does neither.
                results.push(task.await.expect("a sleeping task does not fail"));
            }
            results
        }
    });
    let total = t0.elapsed();

    let order = finished
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let delays = TASKS.map(|(_, secs)| secs * scale);
    let longest = delays.iter().copied().fold(0.0, f64::max);
    let sum: f64 = delays.iter().sum();
    println!("Results: {results:?}");
    println!("finish order: {order:?}");
    println!(
        "Total Time: {:.2} s (longest delay {longest:.2} s, sum of delays {sum:.2} s)",
        total.as_secs_f64()
    );
    ExitCode::SUCCESS
}

/// Seed 001's `fetch_data(id, wait_time)`: announce, sleep without blocking the loop,
/// announce again with the time it really took, return the id.
async fn fetch_data(t0: Instant, id: u32, delay: Duration, finished: Arc<Mutex<Vec<u32>>>) -> u32 {
    let started = Instant::now();
    println!(
        "[{:.2} s] Task {id}: Starting fetch (sleeps {:.2} s)...",
        t0.elapsed().as_secs_f64(),
        delay.as_secs_f64()
    );
    // `await asyncio.sleep(wait_time)`: a timer in the reactor; the thread runs the others.
    tempo::time::sleep(delay).await;
    finished
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(id);
    println!(
        "[{:.2} s] Task {id}: Finished after {:.2} s",
        t0.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    id
}

/// Reads the optional `--scale F` (default 1.0): every delay is multiplied by `F`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<f64, String> {
    let mut scale = 1.0;
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--scale" => {
                let text = argv.next().ok_or("--scale needs a value")?;
                scale = match text.parse::<f64>() {
                    // `Duration::from_secs_f64` panics on negative or absurd values.
                    Ok(f) if f > 0.0 && f <= 100.0 => f,
                    _ => return Err(format!("--scale {text}: expected a number in (0, 100]")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(scale)
}
