//! Structured concurrency with `TaskGroup`: the group waits for all its tasks, and the first
//! failure cancels the others, whose cleanup runs before the group reports the error.
//!
//! ```text
//! cargo run --example task_group                 # tasks of 2, 1 and 3 s: ~3 s, then ~1 s
//! cargo run --example task_group -- --scale 0.1  # the same lessons, ten times faster
//! ```
//!
//! Seed 004 (004_e8f93ab8424043a0.txt, §13.2) names it: "`asyncio.TaskGroup` (3.11+, the way
//! to write structured concurrency since 3.11)", and its lab (§13.3) builds a crawler on
//! one. In Python, with seed 001's `fetch_data(id, wait_time)` (001_b3c93ce22e06ba03.txt)
//! and a task that fails as seed 001's "Fail Fast" one does:
//!
//! ```text
//! async with asyncio.TaskGroup() as tg:
//!     t1 = tg.create_task(fetch_data(1, 2))
//!     t2 = tg.create_task(fetch_data(2, 1, should_fail=True))  # raises after 1 s
//!     t3 = tg.create_task(fetch_data(3, 3))
//! # -> ExceptionGroup after ~1 s; t1 and t3 were cancelled, their `finally` blocks ran
//! ```
//!
//! `TaskGroup::spawn` is `tg.create_task`, and `group.join().await` is the end of the `async
//! with` block: it returns only when every child has stopped. The lessons:
//!
//! 1. **All succeed**: `join` waits for the longest child (~3 s) and returns `Ok`.
//! 2. **One fails**: at ~1 s task 2 returns `Err`. The group aborts tasks 1 and 3 at once —
//!    in Rust, cancelling a task is dropping its future, so each stops at the `.await` it was
//!    parked at and its destructors run: the `Drop` of a guard it holds is its `finally`,
//!    and prints. There is no `CancelledError` inside them to catch or re-raise. `join`
//!    returns task 2's error after ~1 s — the failure's time, not the 3 s of the longest
//!    sibling — and neither sibling ever prints `done`.
//!
//! asyncio raises an `ExceptionGroup` of every failure; tempo's `join` returns the first (the
//! siblings' "failures" are the cancellation itself). Awaiting a child's `GroupTask` gives
//! `Some(value)` if it succeeded, `None` if it failed or was cancelled.
//!
//! What it prints (every time measured in the run; default scale):
//!
//! ```text
//! -- 1. all succeed: tasks of 2.00, 1.00 and 3.00 s
//! [0.00 s] task 1: started (needs 2.00 s)
//! [0.00 s] task 2: started (needs 1.00 s)
//! [0.00 s] task 3: started (needs 3.00 s)
//! [1.00 s] task 2: done
//! [2.00 s] task 1: done
//! [3.00 s] task 3: done
//! group: Ok after 3.00 s; results [Some(1), Some(2), Some(3)]
//! -- 2. task 2 fails after 1.00 s; the others need 2.00 and 3.00 s
//! [3.00 s] task 1: started (needs 2.00 s)
//! [3.00 s] task 2: started (fails after 1.00 s)
//! [3.00 s] task 3: started (needs 3.00 s)
//! [4.00 s] task 2: failed: task 2 encountered a critical error
//! [4.00 s] task 1: cancelled after 1.00 s at its await; cleanup runs
//! [4.00 s] task 3: cancelled after 1.00 s at its await; cleanup runs
//! group: Err(Failed("task 2 encountered a critical error")) after 1.00 s; results [None, None, None]
//! summary: all succeed 3.00 s; first failure 1.00 s, siblings cancelled 2, finished 0
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use tempo::task::{TaskGroup, TaskGroupError};

/// The tasks, from seed 001's `fetch_data(1, 2)`, `fetch_data(2, 1)`, `fetch_data(3, 3)`:
/// `(id, seconds)`. In lesson 2 the second one fails when its time is up.
const TASKS: [(u32, f64); 3] = [(1, 2.0), (2, 1.0), (3, 3.0)];
/// Which task fails in lesson 2.
const FAILING: u32 = 2;

fn main() -> ExitCode {
    let scale = match parse_args(std::env::args().skip(1)) {
        Ok(scale) => scale,
        Err(msg) => {
            eprintln!(
                "task_group: {msg}\nusage: task_group [--scale F]   (F in (0, 100], default 1.0)"
            );
            return ExitCode::from(2);
        }
    };
    let clock = Clock(Instant::now());
    // `asyncio.run(main())`.
    tempo::run(async move {
        println!("-- 1. all succeed: tasks of {}", list_secs(scale));
        let (ok_took, _) = run_group(clock, scale, None).await;

        let fail_s = seconds_f64(FAILING, scale);
        println!(
            "-- 2. task {FAILING} fails after {fail_s:.2} s; the others need {}",
            list_secs_except(FAILING, scale)
        );
        let (fail_took, counts) = run_group(clock, scale, Some(FAILING)).await;
        println!(
            "summary: all succeed {:.2} s; first failure {:.2} s, siblings cancelled {}, finished {}",
            ok_took.as_secs_f64(),
            fail_took.as_secs_f64(),
            counts.cancelled.load(SeqCst),
            counts.finished.load(SeqCst),
        );
    });
    ExitCode::SUCCESS
}

/// One `async with asyncio.TaskGroup() as tg:` block over the three tasks, `failing` (if
/// any) failing when its time is up. Returns how long the block took, and what the children
/// counted.
async fn run_group(clock: Clock, scale: f64, failing: Option<u32>) -> (Duration, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let mut group = TaskGroup::new();
    // `tg.create_task(fetch_data(id, wait_time))`, three times.
    let children = TASKS.map(|(id, _)| {
        let fail = failing == Some(id);
        group.spawn(fetch_data(
            clock,
            id,
            seconds(id, scale),
            fail,
            counts.clone(),
        ))
    });
    // The end of the `async with` block: wait until every child has stopped.
    let result = group.join().await;
    let took = start.elapsed();
    let mut results = Vec::new();
    for child in children {
        // `Some(id)` if it succeeded; `None` if it failed or was cancelled.
        results.push(child.await);
    }
    match result {
        Ok(()) => println!(
            "group: Ok after {:.2} s; results {results:?}",
            took.as_secs_f64()
        ),
        // The first failure: a child's `Err(e)`, or its panic. (asyncio's `ExceptionGroup`
        // would hold every failure; the siblings' were only the cancellation.)
        Err(TaskGroupError::Failed(error)) => println!(
            "group: Err(Failed({error:?})) after {:.2} s; results {results:?}",
            took.as_secs_f64()
        ),
        Err(TaskGroupError::Panicked(panic)) => println!(
            "group: Err(Panicked({panic})) after {:.2} s; results {results:?}",
            took.as_secs_f64()
        ),
    }
    (took, counts)
}

/// What the children of one group counted. Atomics: a group's children are spawned tasks,
/// which must be `Send`.
#[derive(Default)]
struct Counts {
    /// Children that ran to their end and succeeded.
    finished: AtomicUsize,
    /// Children dropped (cancelled) before their end.
    cancelled: AtomicUsize,
}

/// Seed 001's `fetch_data(id, wait_time)`, which fails instead of returning if `fail`.
async fn fetch_data(
    clock: Clock,
    id: u32,
    took: Duration,
    fail: bool,
    counts: Arc<Counts>,
) -> Result<u32, String> {
    let what = if fail { "fails after" } else { "needs" };
    println!(
        "[{:.2} s] task {id}: started ({what} {:.2} s)",
        clock.now(),
        took.as_secs_f64()
    );
    // Held across the await: its `Drop` is this task's `finally`.
    let mut guard = Cleanup {
        clock,
        id,
        started: Instant::now(),
        finished: false,
        counts: counts.clone(),
    };
    tempo::time::sleep(took).await;
    guard.finished = true;
    if fail {
        let error = format!("task {id} encountered a critical error");
        println!("[{:.2} s] task {id}: failed: {error}", clock.now());
        return Err(error);
    }
    counts.finished.fetch_add(1, SeqCst);
    println!("[{:.2} s] task {id}: done", clock.now());
    Ok(id)
}

/// A task's `finally`: if the task is dropped before its end — cancelled — says so, and how
/// far it had got.
struct Cleanup {
    /// Whose clock to stamp the line with.
    clock: Clock,
    /// Which task.
    id: u32,
    /// When the task started.
    started: Instant,
    /// Set when the task reached its end (success or failure); then there is nothing to say.
    finished: bool,
    /// Where to count the cancellation.
    counts: Arc<Counts>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if !self.finished {
            self.counts.cancelled.fetch_add(1, SeqCst);
            println!(
                "[{:.2} s] task {}: cancelled after {:.2} s at its await; cleanup runs",
                self.clock.now(),
                self.id,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Task `id`'s time, scaled, in seconds.
fn seconds_f64(id: u32, scale: f64) -> f64 {
    let (_, secs) = TASKS
        .iter()
        .find(|(task, _)| *task == id)
        .expect("a task of TASKS");
    secs * scale
}

/// Task `id`'s time, scaled.
fn seconds(id: u32, scale: f64) -> Duration {
    Duration::from_secs_f64(seconds_f64(id, scale))
}

/// "2.00, 1.00 and 3.00 s": the tasks' scaled times, for the headings.
fn list_secs(scale: f64) -> String {
    join_secs(TASKS.iter().map(|(id, _)| seconds_f64(*id, scale)))
}

/// As `list_secs`, leaving task `skip` out.
fn list_secs_except(skip: u32, scale: f64) -> String {
    join_secs(
        TASKS
            .iter()
            .filter(|(id, _)| *id != skip)
            .map(|(id, _)| seconds_f64(*id, scale)),
    )
}

/// `[a, b, c]` as "a, b and c s".
fn join_secs(secs: impl Iterator<Item = f64>) -> String {
    let texts: Vec<String> = secs.map(|s| format!("{s:.2}")).collect();
    match texts.split_last() {
        Some((last, [])) => format!("{last} s"),
        Some((last, rest)) => format!("{} and {last} s", rest.join(", ")),
        None => String::new(),
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
