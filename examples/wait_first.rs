//! Wait for the first task to finish, and get the others back still running — to await them
//! later, or to cancel them. asyncio's `asyncio.wait(tasks, return_when=FIRST_COMPLETED)`.
//!
//! ```text
//! cargo run --example wait_first                 # tasks of 2, 1 and 3 s: ~3 s, then ~1 s
//! cargo run --example wait_first -- --scale 0.1  # the same lessons, ten times faster
//! ```
//!
//! Seed 003 ("asyncio.wait", 003_624ae4be58e7db78.txt): "It returns two sets of tasks: those
//! that are completed and those that are still pending … waiting for the first one to
//! complete."
//!
//! ```text
//! tasks = [asyncio.create_task(fetch_data(url)) for url in urls]
//! done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
//! for task in done:
//!     print(f'Completed: {task.result()}')
//! for task in pending:
//!     print(f'Still pending: {task.get_name()}')
//! ```
//!
//! with seed 002's `get_data(x)` (002_04f514b929b9a6e1.txt, `asyncio.wait()`), which sleeps
//! `x` seconds and returns `f"Result {x}"`; seed 004 (§13.2) lists `asyncio.wait` among the
//! tools to know.
//!
//! `tempo::future::wait_first` takes the tasks' `JoinHandle`s and returns `(output, index,
//! pending)`: the first finished task's output, its index in the input, and the other
//! handles, in input order. Like asyncio's pending set, the pending tasks keep running
//! while nobody awaits them. Then the two things to do with them:
//!
//! 1. **Await the rest**, the same way, until none is left (`while pending: done, pending =
//!    await asyncio.wait(pending, return_when=FIRST_COMPLETED)`). They finish at 2 s and 3 s
//!    from the start, not 1 + 2 + 3: they were running all along.
//! 2. **Cancel the rest**: `JoinHandle::abort` is `task.cancel()`. The aborted task's future
//!    is dropped at the `.await` it was parked at, so the `Drop` of a guard it holds — its
//!    `finally` — prints, and awaiting its handle gives a `JoinError` that `is_cancelled()`
//!    (asyncio's `CancelledError`, as a value, not raised). The lesson ends at ~1 s.
//!
//! Two things differ from asyncio. Dropping a pending `JoinHandle` does *not* cancel its
//! task; it detaches it, and it runs on (abort it to stop it). And asyncio's `done` is a set
//! of tasks; `wait_first` returns the one output, with its index to say whose it is.
//! `tempo::future::race_all` and `select!` also wait for the first, but drop (cancel)
//! the rest.
//!
//! What it prints (every time measured in the run; default scale):
//!
//! ```text
//! -- 1. wait(FIRST_COMPLETED) over get_data(2), get_data(1), get_data(3); then await the rest
//! [0.00 s] spawned get_data(2), get_data(1), get_data(3)
//! [1.00 s] Completed: Result 1 (input 1, get_data(1))
//! [1.00 s] Still pending: get_data(2), get_data(3)
//! [2.00 s] Completed: Result 2 (get_data(2))
//! [3.00 s] Completed: Result 3 (get_data(3))
//! awaited the rest: all done 3.00 s after the start (longest task 3.00 s, sum 6.00 s)
//! -- 2. wait(FIRST_COMPLETED) over get_data(2), get_data(1), get_data(3); then cancel the rest
//! [3.00 s] spawned get_data(2), get_data(1), get_data(3)
//! [4.00 s] Completed: Result 1 (input 1, get_data(1))
//! [4.00 s] Still pending: get_data(2), get_data(3)
//! [4.00 s] cancelling get_data(2)
//! [4.00 s] cancelling get_data(3)
//! [4.00 s] get_data(2): cancelled after 1.00 s at its await; cleanup runs
//! [4.00 s] get_data(3): cancelled after 1.00 s at its await; cleanup runs
//! [4.00 s] get_data(2): JoinError, cancelled: true
//! [4.00 s] get_data(3): JoinError, cancelled: true
//! cancelled the rest: all stopped 1.00 s after the start; cancelled 2, finished 1
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use tempo::future::wait_first;

/// The tasks' `x`, in the order they are created; `get_data(x)` sleeps `x` seconds.
const XS: [u32; 3] = [2, 1, 3];

fn main() -> ExitCode {
    let scale = match parse_args(std::env::args().skip(1)) {
        Ok(scale) => scale,
        Err(msg) => {
            eprintln!(
                "wait_first: {msg}\nusage: wait_first [--scale F]   (F in (0, 100], default 1.0)"
            );
            return ExitCode::from(2);
        }
    };
    let clock = Clock(Instant::now());
    let names = XS.map(|x| format!("get_data({x})"));
    let heading = names.join(", ");
    // `asyncio.run(main())`.
    tempo::run(async move {
        println!("-- 1. wait(FIRST_COMPLETED) over {heading}; then await the rest");
        await_the_rest(clock, scale).await;
        println!("-- 2. wait(FIRST_COMPLETED) over {heading}; then cancel the rest");
        cancel_the_rest(clock, scale).await;
    });
    ExitCode::SUCCESS
}

/// Lesson 1: the first to finish, then the pending ones, each as it finishes.
async fn await_the_rest(clock: Clock, scale: f64) {
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let (mut names, tasks) = spawn_all(clock, scale, &counts);
    println!("[{:.2} s] spawned {}", clock.now(), names.join(", "));

    // `done, pending = await asyncio.wait(tasks, return_when=FIRST_COMPLETED)`.
    let (done, index, mut pending) = wait_first(tasks).await;
    report_first(clock, done, index, &mut names);

    // `while pending: done, pending = await asyncio.wait(pending, FIRST_COMPLETED)`.
    while !pending.is_empty() {
        let (done, index, rest) = wait_first(pending).await;
        // `pending` was in input order with the winner taken out: so `names` still lines
        // up with it once the winner's name is removed.
        let name = names.remove(index);
        match done {
            Ok(result) => println!("[{:.2} s] Completed: {result} ({name})", clock.now()),
            Err(error) => println!("[{:.2} s] {name}: {error}", clock.now()),
        }
        pending = rest;
    }
    let delays = XS.map(|x| f64::from(x) * scale);
    println!(
        "awaited the rest: all done {:.2} s after the start (longest task {:.2} s, sum {:.2} s)",
        start.elapsed().as_secs_f64(),
        delays.iter().copied().fold(0.0, f64::max),
        delays.iter().sum::<f64>()
    );
}

/// Lesson 2: the first to finish, then cancel the pending ones and watch them clean up.
async fn cancel_the_rest(clock: Clock, scale: f64) {
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let (mut names, tasks) = spawn_all(clock, scale, &counts);
    println!("[{:.2} s] spawned {}", clock.now(), names.join(", "));

    let (done, index, pending) = wait_first(tasks).await;
    report_first(clock, done, index, &mut names);

    // `for task in pending: task.cancel()`. Aborting only asks: each task's future is
    // dropped at its next scheduling point on its worker.
    for (task, name) in pending.iter().zip(&names) {
        println!("[{:.2} s] cancelling {name}", clock.now());
        task.abort();
    }
    // `await asyncio.gather(*pending, return_exceptions=True)`: wait until they have
    // stopped; each gives a JoinError saying it was cancelled.
    for (task, name) in pending.into_iter().zip(&names) {
        match task.await {
            Ok(result) => println!("[{:.2} s] {name}: finished first: {result}", clock.now()),
            Err(error) => println!(
                "[{:.2} s] {name}: JoinError, cancelled: {}",
                clock.now(),
                error.is_cancelled()
            ),
        }
    }
    println!(
        "cancelled the rest: all stopped {:.2} s after the start; cancelled {}, finished {}",
        start.elapsed().as_secs_f64(),
        counts.cancelled.load(SeqCst),
        counts.finished.load(SeqCst)
    );
}

/// `[asyncio.create_task(get_data(x)) for x in XS]`, with the tasks' names in the same order.
fn spawn_all(
    clock: Clock,
    scale: f64,
    counts: &Arc<Counts>,
) -> (Vec<String>, Vec<tempo::task::JoinHandle<String>>) {
    let names = XS.iter().map(|x| format!("get_data({x})")).collect();
    let tasks = XS
        .iter()
        .map(|&x| {
            let name = format!("get_data({x})");
            let took = Duration::from_secs_f64(f64::from(x) * scale);
            // `create_task(coro, name=...)`: the name shows in task dumps too.
            tempo::task::Builder::new().name(&name).spawn(get_data(
                clock,
                name.clone(),
                x,
                took,
                counts.clone(),
            ))
        })
        .collect();
    (names, tasks)
}

/// Print what `wait_first` returned first: `for task in done: print(f'Completed: …')` and
/// `for task in pending: print(f'Still pending: {task.get_name()}')`. Removes the winner's
/// name from `names`, which then lines up with the pending handles.
fn report_first(
    clock: Clock,
    done: Result<String, tempo::task::JoinError>,
    index: usize,
    names: &mut Vec<String>,
) {
    let name = names.remove(index);
    match done {
        Ok(result) => println!(
            "[{:.2} s] Completed: {result} (input {index}, {name})",
            clock.now()
        ),
        Err(error) => println!("[{:.2} s] {name}: {error}", clock.now()),
    }
    println!("[{:.2} s] Still pending: {}", clock.now(), names.join(", "));
}

/// What the tasks of one lesson counted. Atomics: spawned tasks must be `Send`.
#[derive(Default)]
struct Counts {
    /// Tasks that reached their end.
    finished: AtomicUsize,
    /// Tasks dropped (cancelled) before their end.
    cancelled: AtomicUsize,
}

/// Seed 002's `get_data(x)`: sleep `took` (x seconds, scaled), return `"Result x"`.
async fn get_data(
    clock: Clock,
    name: String,
    x: u32,
    took: Duration,
    counts: Arc<Counts>,
) -> String {
    // Held across the await: its `Drop` is this task's `finally`.
    let mut guard = Cleanup {
        clock,
        name,
        started: Instant::now(),
        finished: false,
        counts: counts.clone(),
    };
    tempo::time::sleep(took).await;
    guard.finished = true;
    counts.finished.fetch_add(1, SeqCst);
    format!("Result {x}")
}

/// A task's `finally`: if the task is dropped before its end — cancelled — says so.
struct Cleanup {
    /// Whose clock to stamp the line with.
    clock: Clock,
    /// Which task.
    name: String,
    /// When the task started.
    started: Instant,
    /// Set when the task reached its end; then there is nothing to say.
    finished: bool,
    /// Where to count the cancellation.
    counts: Arc<Counts>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.finished {
            self.counts.cancelled.fetch_add(1, SeqCst);
            println!(
                "[{:.2} s] {}: cancelled after {:.2} s at its await; cleanup runs",
                self.clock.now(),
                self.name,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// When the program started: every line is stamped with the seconds since.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Seconds since the start.
    fn now(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Reads the optional `--scale F` (default 1.0): every duration is multiplied by `F`.
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
