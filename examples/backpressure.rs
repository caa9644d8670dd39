//! Backpressure: 1 000 tasks, never more than 50 of them working at once, held to that by a
//! `Semaphore`.
//!
//! ```text
//! cargo run --release --example backpressure                         # 1000 tasks, 50 at a time
//! cargo run --release --example backpressure -- --limit 1000         # no cap: all at once
//! cargo run --release --example backpressure -- --tasks 200 --limit 10 --work-ms 20
//! ```
//!
//! What to watch: the peak concurrency it prints is the limit, exactly — never one more
//! (the semaphore guarantees that), and not less (all 1 000 tasks start at once, so the first
//! 50 fill every slot). The total time is about `tasks / limit` rounds of the work: 20 rounds
//! of 10 ms, so ~0.2 s. Raise `--limit` to the task count and it drops to one round — the
//! speed the cap gives up in exchange for never having more than 50 requests in flight.
//!
//! The lesson is the seeds'. Seed 000 ("Concurrency limit") caps its probes of many forests
//! so as not to saturate the network or the target:
//!
//! ```text
//! sem = asyncio.Semaphore(10)
//! async def guarded(forest):
//!     async with sem:
//!         return await fetch_forest(forest)
//! results = await asyncio.gather(*(guarded(f) for f in forests))
//! ```
//!
//! and seed 001 ("Taming the Storm: Backpressure with Semaphores") runs exactly this
//! example: `asyncio.Semaphore(50)`, 1 000 URLs, `await asyncio.sleep(1)` as the work.
//! Here `Semaphore::acquire` is `async with sem:` — the permit it returns is released when
//! it is dropped at the end of the block — `tempo::spawn` is `create_task`, and awaiting
//! every handle is the `gather`.
//!
//! What it prints (timings vary a little):
//!
//! ```text
//! 1000 tasks of 10 ms work, at most 50 at a time
//! peak concurrency: 50 (limit 50)
//! total time: 0.21 s (at least 20 rounds × 10 ms = 0.20 s)
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempo::sync::Semaphore;

/// What to run: how many tasks, how many at once, and how long each one works.
#[derive(Clone, Copy, Debug)]
pub struct Lesson {
    /// Tasks spawned, all at once.
    pub tasks: usize,
    /// The semaphore's permits: the cap on tasks working at once.
    pub limit: usize,
    /// How long each task "works" (an async sleep, standing in for a request).
    pub work: Duration,
}

impl Default for Lesson {
    /// The seed's numbers: 1 000 tasks, 50 at a time; 10 ms of work instead of 1 s.
    fn default() -> Self {
        Lesson {
            tasks: 1000,
            limit: 50,
            work: Duration::from_millis(10),
        }
    }
}

/// What a run observed.
#[derive(Clone, Copy, Debug)]
pub struct Report {
    /// The most tasks ever inside the semaphore at once.
    pub peak: usize,
    /// Tasks that finished.
    pub completed: usize,
    /// From the first spawn to the last task's end.
    pub elapsed: Duration,
}

fn main() -> ExitCode {
    let lesson = match parse_args(std::env::args().skip(1)) {
        Ok(lesson) => lesson,
        Err(msg) => {
            eprintln!(
                "backpressure: {msg}\n\
                 usage: backpressure [--tasks N] [--limit N] [--work-ms MS]"
            );
            return ExitCode::from(2);
        }
    };
    println!(
        "{} tasks of {} ms work, at most {} at a time",
        lesson.tasks,
        lesson.work.as_millis(),
        lesson.limit
    );
    let report = run(&lesson);
    println!("peak concurrency: {} (limit {})", report.peak, lesson.limit);
    let rounds = lesson.tasks.div_ceil(lesson.limit);
    let plural = if rounds == 1 { "" } else { "s" };
    println!(
        "total time: {:.2} s (at least {rounds} round{plural} × {} ms = {:.2} s)",
        report.elapsed.as_secs_f64(),
        lesson.work.as_millis(),
        (lesson.work * rounds as u32).as_secs_f64()
    );
    // The lesson checks itself: any other peak means the cap did not hold (or, with fewer
    // tasks than permits, could not be reached).
    if report.peak == lesson.limit.min(lesson.tasks) && report.completed == lesson.tasks {
        ExitCode::SUCCESS
    } else {
        eprintln!("backpressure: expected a peak of exactly the limit");
        ExitCode::FAILURE
    }
}

/// Run the lesson on a fresh runtime: spawn every task at once, let the semaphore hold
/// them back, and count how many are ever inside together.
pub fn run(lesson: &Lesson) -> Report {
    let Lesson { tasks, limit, work } = *lesson;
    // `asyncio.run(main())`.
    tempo::run(async move {
        let semaphore = Arc::new(Semaphore::new(limit));
        // Tasks inside the `async with sem:` block now, and the most there ever were.
        let inside = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();

        // `create_task` for every URL at once: no backpressure here, only in the tasks.
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let (semaphore, inside, peak) = (semaphore.clone(), inside.clone(), peak.clone());
                tempo::spawn(async move {
                    // `async with sem:` — waits while 50 others are inside. `acquire` fails
                    // only on a closed semaphore, and nobody closes this one.
                    let _permit = semaphore.acquire().await.expect("never closed");
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tempo::time::sleep(work).await;
                    // Leave the count *before* the permit goes (at the end of the block), so
                    // the task it admits never sees us still counted.
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();

        // `await asyncio.gather(*tasks)`. A JoinError would mean a task panicked, which
        // would be a bug in this example, so say so.
        let mut completed = 0;
        for handle in handles {
            handle.await.expect("a backpressure task panicked");
            completed += 1;
        }
        Report {
            peak: peak.load(Ordering::SeqCst),
            completed,
            elapsed: start.elapsed(),
        }
    })
}

/// Reads `--tasks N`, `--limit N` and `--work-ms MS`, each optional.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Lesson, String> {
    let mut lesson = Lesson::default();
    while let Some(flag) = argv.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            let text = argv.next().ok_or(format!("{name} needs a value"))?;
            match text.parse::<u64>() {
                Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
                _ => Err(format!(
                    "{name} {text}: expected a whole number in 1..=1000000"
                )),
            }
        };
        match flag.as_str() {
            "--tasks" => lesson.tasks = value("--tasks")? as usize,
            "--limit" => lesson.limit = value("--limit")? as usize,
            "--work-ms" => lesson.work = Duration::from_millis(value("--work-ms")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(lesson)
}
