//! CPU-bound work on the event loop, and off it: the loop stalls while a task computes,
//! and `tempo::task::spawn_cpu` moves the computing to a pool that runs it in parallel.
//!
//! ```text
//! cargo run --example cpu_bound                        # 4 jobs, each under a second
//! cargo run --release --example cpu_bound -- --primes-below 2000000 --squares-below 10000000
//! ```
//!
//! Each job is the seeds' CPU work, written as they write it. Seed 001 ("Modern
//! Implementation: asyncio.to_thread") counts primes by trial division:
//!
//! ```text
//! def cpu_bound_task(n):
//!     count = 0
//!     for i in range(2, n):
//!         if all(i % j != 0 for j in range(2, int(i**0.5) + 1)): count += 1
//! ```
//!
//! seed 003 ("CPU-bound tasks") sums squares — `sum(i * i for i in range(10 ** 7))` — and
//! seed 002 ("CPU-Bound vs I/O-Bound") runs several such jobs at once with
//! `multiprocessing.Pool().map(cpu_bound_task, range(4))`. All three say the same thing:
//! computing inside a coroutine blocks the event loop, so run it in an executor.
//!
//! We run the same `--jobs` jobs (default 4) twice, while a *heartbeat* task — a timer that
//! should tick every `--tick-ms` (default 100 ms) — prints how late each tick woke up:
//!
//! 1. **inline**: each job is an async task (`tempo::spawn`, asyncio's `create_task`) that
//!    computes in its poll without ever awaiting. The loop's one thread runs the jobs one
//!    after another, and the heartbeat cannot run until every job ahead of it in the run
//!    queue has returned: all four were ready before its timer fired, so it comes late by
//!    about the time of all of them. Nothing runs in parallel: the total is the sum.
//! 2. **spawn_cpu**: each job is a closure handed to `tempo::task::spawn_cpu` — asyncio's
//!    `loop.run_in_executor(ProcessPoolExecutor(), ...)` — and awaited. The jobs run on the
//!    CPU pool's threads (one per core), the loop's thread only waits, and the heartbeat
//!    keeps time. asyncio needs *processes* for this because of the GIL; Rust has none, so
//!    tempo's pool is threads and the jobs share memory with the loop.
//!
//! Then it prints the measured speed-up of the second run over the first, with the number
//! of cores the process sees, and how many jobs the pool ran at a time. On two cores the
//! speed-up is at most ×2, and less when other programs use the cores: each job then runs
//! slower on the pool than it did inline, though two run at once. With one core there is
//! none at all — the pool still frees the loop, and that is the lesson's first half.
//!
//! What it printed in a debug build on our 2-core VM, while other builds were running
//! (every figure is measured in the run; yours will differ):
//!
//! ```text
//! cores seen: 2 (std::thread::available_parallelism); CPU pool: 2 threads
//! each job: count the primes below 200000, sum the squares below 1000000
//!
//! 1. inline: 4 jobs as async tasks that compute without awaiting
//! [1.62 s] job 1 on main: 0.00-0.44 s, 17984 primes, sum of squares 333332833333500000
//! [1.62 s] job 2 on main: 0.44-0.85 s, 17984 primes, sum of squares 333332833333500000
//! [1.62 s] job 3 on main: 0.85-1.21 s, 17984 primes, sum of squares 333332833333500000
//! [1.62 s] job 4 on main: 1.21-1.62 s, 17984 primes, sum of squares 333332833333500000
//! [1.62 s] heartbeat 1: late by 1523.2 ms, 15 ticks missed
//! inline: 4 jobs took 1.62 s (their own times add up to 1.62 s); heartbeat late by at most 1523.2 ms
//!
//! 2. spawn_cpu: 4 jobs handed to the CPU pool and awaited
//! [1.74 s] heartbeat 1: late by 18.1 ms
//! [1.83 s] heartbeat 2: late by 6.9 ms
//! ...
//! [2.73 s] job 1 on tempo-cpu-1: 1.62-2.73 s, 17984 primes, sum of squares 333332833333500000
//! [2.73 s] job 2 on tempo-cpu-2: 1.63-2.73 s, 17984 primes, sum of squares 333332833333500000
//! ...
//! [3.85 s] job 4 on tempo-cpu-1: 2.73-3.85 s, 17984 primes, sum of squares 333332833333500000
//! [3.92 s] heartbeat 23: late by 0.3 ms
//! spawn_cpu: 4 jobs took 2.23 s (their own times add up to 4.30 s); heartbeat late by at most 21.3 ms
//!
//! speed-up: ×0.73 (1.62 s inline / 2.23 s on the pool), 2 pool threads on 2 cores seen
//! on the pool, 1.93 jobs ran at a time on average (4.30 s of job time in 2.23 s)
//! ```
//!
//! That run shows both halves: the heartbeat was 1.5 s late inline and at most 21 ms on the
//! pool, and two jobs ran at once — but the machine was busy, each job took 1.1 s on the
//! pool against 0.4 s inline, and the run was *slower* overall (×0.73). Run it on an idle
//! machine to see how close to ×2 yours comes. `job N on THREAD: A-B s` says which thread ran the job
//! and when (seconds since the start): inline, every job runs on `main` and the intervals
//! follow each other; on the pool, they overlap on `tempo-cpu-*` threads. Try
//! `TEMPO_DEBUG=1` too: debug mode reports each inline job as a slow poll, with the line
//! that spawned it, and the pooled ones not at all.

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tempo::time::sleep_until;

const USAGE: &str = "usage: cpu_bound [--jobs N] [--primes-below N] [--squares-below N] \
                     [--tick-ms MS]";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("cpu_bound: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // `asyncio.run(main())`: one worker, the thread that calls `run` — the loop whose
    // heartbeat we watch.
    tempo::run(lesson(args));
    ExitCode::SUCCESS
}

/// The whole lesson, on the loop.
async fn lesson(args: Args) {
    // The clock every printed time is measured against.
    let t0 = Instant::now();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = tempo::Handle::current().blocking_stats().cpu.max_threads;
    println!("cores seen: {cores} (std::thread::available_parallelism); CPU pool: {pool} threads");
    println!(
        "each job: count the primes below {}, sum the squares below {}",
        args.primes_below, args.squares_below
    );

    println!();
    println!(
        "1. inline: {} jobs as async tasks that compute without awaiting",
        args.jobs
    );
    let inline = run_phase(&args, t0, Where::Inline).await;
    inline.print("inline");

    println!();
    println!(
        "2. spawn_cpu: {} jobs handed to the CPU pool and awaited",
        args.jobs
    );
    let pooled = run_phase(&args, t0, Where::Pool).await;
    pooled.print("spawn_cpu");

    println!();
    println!(
        "speed-up: ×{:.2} ({:.2} s inline / {:.2} s on the pool), {pool} pool threads on \
         {cores} cores seen",
        inline.took.as_secs_f64() / pooled.took.as_secs_f64(),
        inline.took.as_secs_f64(),
        pooled.took.as_secs_f64(),
    );
    // The speed-up falls short of this when the jobs ran slower on the pool than inline:
    // then other programs were using the cores too.
    println!(
        "on the pool, {:.2} jobs ran at a time on average ({:.2} s of job time in {:.2} s)",
        pooled.work.as_secs_f64() / pooled.took.as_secs_f64(),
        pooled.work.as_secs_f64(),
        pooled.took.as_secs_f64(),
    );
}

/// Where a phase runs its jobs.
#[derive(Clone, Copy, PartialEq)]
enum Where {
    /// In async tasks on the loop's thread: the mistake.
    Inline,
    /// On the CPU pool, through `spawn_cpu`: the fix.
    Pool,
}

/// What one phase measured.
struct Phase {
    /// How many jobs ran.
    jobs: usize,
    /// From the first job's spawn to the last job's result.
    took: Duration,
    /// The jobs' own running times, added up.
    work: Duration,
    /// The heartbeat's worst lateness while the jobs ran.
    worst_late: Duration,
}

impl Phase {
    fn print(&self, name: &str) {
        println!(
            "{name}: {} jobs took {:.2} s (their own times add up to {:.2} s); heartbeat late \
             by at most {:.1} ms",
            self.jobs,
            self.took.as_secs_f64(),
            self.work.as_secs_f64(),
            ms(self.worst_late),
        );
    }
}

/// Runs `args.jobs` jobs, inline or on the pool, with the heartbeat ticking beside them,
/// and prints each job's report as its result arrives.
async fn run_phase(args: &Args, t0: Instant, place: Where) -> Phase {
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = tempo::spawn(heartbeat(t0, args.tick, Arc::clone(&stop)));

    let (primes_below, squares_below) = (args.primes_below, args.squares_below);
    let start = Instant::now();
    // `gather`: start every job, then await each handle in turn. The handles are the same
    // type either way; only where the closure runs differs.
    let handles: Vec<_> = (1..=args.jobs)
        .map(|n| match place {
            // `asyncio.create_task(job())` where `job` is an `async def` that never awaits:
            // its whole computation happens inside one poll, on the loop's thread.
            Where::Inline => tempo::spawn(async move { job(n, primes_below, squares_below) }),
            // `loop.run_in_executor(pool, job)`: the closure runs on a pool thread; the
            // handle resolves, waking this task, when it returns.
            Where::Pool => tempo::task::spawn_cpu(move || job(n, primes_below, squares_below)),
        })
        .collect();
    let mut work = Duration::ZERO;
    for handle in handles {
        // A JoinError means the job panicked; arithmetic on these sizes cannot, so it
        // would be a bug, and we say so.
        let report = handle.await.expect("a job does not panic");
        work += report.end - report.start;
        report.print(t0);
    }
    let took = start.elapsed();

    // Stop the heartbeat; it returns its worst lateness at its next tick.
    stop.store(true, Ordering::Relaxed);
    let worst_late = heartbeat.await.expect("the heartbeat does not panic");
    Phase {
        jobs: args.jobs,
        took,
        work,
        worst_late,
    }
}

/// A task that wants to run every `tick`, and prints how late it actually ran — the
/// measure of how free the loop is. Returns the worst lateness once `stop` is set.
///
/// Tick `k` is due at `start + k × tick`. A tick that comes too late to keep the next ones
/// skips those already past (as tokio's `MissedTickBehavior::Skip` does), and says how many
/// it missed: a stalled loop shows up as one very late tick, not a burst of catching up.
async fn heartbeat(t0: Instant, tick: Duration, stop: Arc<AtomicBool>) -> Duration {
    let mut worst = Duration::ZERO;
    let mut due = Instant::now() + tick;
    let mut count = 0u64;
    while !stop.load(Ordering::Relaxed) {
        sleep_until(due).await;
        let now = Instant::now();
        let late = now - due;
        worst = worst.max(late);
        count += 1;
        let mut missed = 0;
        due += tick;
        while due <= now {
            due += tick;
            missed += 1;
        }
        let skipped = match missed {
            0 => String::new(),
            1 => ", 1 tick missed".to_string(),
            n => format!(", {n} ticks missed"),
        };
        println!(
            "[{:.2} s] heartbeat {count}: late by {:.1} ms{skipped}",
            secs(now - t0),
            ms(late)
        );
    }
    worst
}

/// What one job computed, where and when.
struct Report {
    /// The job's number, from 1.
    n: usize,
    /// The thread it ran on: `main` (the loop) or `tempo-cpu-N` (the pool).
    thread: String,
    /// When it started and ended.
    start: Instant,
    end: Instant,
    /// How many primes are below `primes_below`.
    primes: u64,
    /// The sum of `i * i` for `i` below `squares_below`.
    squares: u128,
}

impl Report {
    fn print(&self, t0: Instant) {
        println!(
            "[{:.2} s] job {} on {}: {:.2}-{:.2} s, {} primes, sum of squares {}",
            secs(Instant::now() - t0),
            self.n,
            self.thread,
            secs(self.start - t0),
            secs(self.end - t0),
            self.primes,
            self.squares,
        );
    }
}

/// One job: the seeds' two computations, timed, with the thread that ran them. A plain
/// function — it neither knows nor cares whether a task or a pool thread calls it.
fn job(n: usize, primes_below: u64, squares_below: u64) -> Report {
    let thread = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    let start = Instant::now();
    let primes = count_primes(primes_below);
    let squares = sum_of_squares(squares_below);
    Report {
        n,
        thread,
        start,
        end: Instant::now(),
        primes,
        squares,
    }
}

/// Seed 001's `cpu_bound_task(n)`: the primes below `n`, by trial division up to the
/// square root — deliberately naive, as in the seed, so that it costs time.
fn count_primes(below: u64) -> u64 {
    let is_prime = |i: u64| (2..).take_while(|j| j * j <= i).all(|j| i % j != 0);
    (2..below).filter(|&i| is_prime(i)).count() as u64
}

/// Seed 003's `sum(i * i for i in range(n))`. `black_box` keeps the compiler from
/// replacing the loop by the closed form `n(n-1)(2n-1)/6`, which it can do: the lesson
/// needs the loop's cost. `u128`, as Python's integers do not overflow and the sum for
/// `10 ** 7` does not fit in a `u64`.
fn sum_of_squares(below: u64) -> u128 {
    (0..below)
        .map(|i| {
            let i = u128::from(black_box(i));
            i * i
        })
        .sum()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
    /// How many jobs each phase runs.
    jobs: usize,
    /// Each job counts the primes below this.
    primes_below: u64,
    /// Each job sums the squares below this.
    squares_below: u64,
    /// The heartbeat's period.
    tick: Duration,
}

impl Args {
    /// Parses the flags, each followed by its value. An empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            jobs: 4,
            primes_below: 200_000,
            squares_below: 1_000_000,
            tick: Duration::from_millis(100),
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--jobs" => args.jobs = number(&flag, &value()?, 1, 64)? as usize,
                "--primes-below" => args.primes_below = number(&flag, &value()?, 0, 1 << 40)?,
                "--squares-below" => args.squares_below = number(&flag, &value()?, 0, 1 << 40)?,
                "--tick-ms" => {
                    args.tick = Duration::from_millis(number(&flag, &value()?, 1, 10_000)?);
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

/// Parses a whole number in `min..=max` for `flag`.
fn number(flag: &str, text: &str, min: u64, max: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "{flag} {text}: expected a whole number in {min}..={max}"
        )),
    }
}
