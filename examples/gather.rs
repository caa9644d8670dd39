//! gather, as_completed and the fail-safe gather: the asyncio lessons of seeds 002 and 001.
//!
//! ```text
//! cargo run --release --example gather                # 1 s "fetches": ~7 s in all
//! cargo run --release --example gather -- --scale 0.1 # the same lessons, ten times faster
//! cargo run --release --example gather -- --scale 0.1 --trace t.json  # and record them
//! cargo run --example trace_view -- t.json             # ... drawn as a timeline
//! ```
//!
//! A "fetch" here is a `tempo::time::sleep` standing in for an HTTP request, as
//! `asyncio.sleep` does in the seeds. The lessons, in order:
//!
//! 1. **Concurrency** (seed 002, "if each request takes 1 second, the total time is
//!    approximately 1 second instead of 3"): three 1 s fetches awaited one by one take
//!    ~3 s; the same three under `join_all` — `asyncio.gather(*tasks)` — take ~1 s, and
//!    the results come back in argument order.
//! 2. **Completion order** (seed 002's `as_completed`): fetches of 1.5 s, 0.5 s and 1 s are
//!    printed as they finish — 0.5, 1, 1.5 — not in the order they were started.
//! 3. **Fail fast** (gather's default): fetch 2 fails after 0.2 s. `try_join_all` returns
//!    its error then and *drops* the other two fetches — watch them print `cancelled`.
//!    (asyncio's `gather` raises as early, but leaves the others running; in Rust dropping
//!    a future is cancelling it, and they have nowhere else to run.) Seed 001's fetch fails
//!    before its first `await`; we wait 0.2 s so that the other two have started: a
//!    future that fails on its first poll can end a `try_join_all` before later futures
//!    are ever polled, and an unpolled future has not begun, so there is nothing to cancel.
//! 4. **Keep every outcome** (seed 001's "fail-safe gather", `return_exceptions=True`): the
//!    same three under `join_all`, which waits the full ~1 s for all of them and prints
//!    each outcome, the failure in its place.
//!
//! Try `--scale 0.01`: the ratios stay, until the times get near the loop's timer
//! granularity (1 ms).
//!
//! `--trace FILE` records the run ([`tempo::Builder::trace`]) for Perfetto or `trace_view`.
//! It has one row of polls, the `block_on` future's, and no task rows: `join_all`,
//! `as_completed` and `try_join_all` poll their futures *inside* the future that awaits
//! them, as `asyncio.gather` of bare coroutines runs them inside one task — nothing here is
//! spawned. What the trace shows is the rhythm: a handful of short polls, and between them
//! the loop asleep in `epoll_wait` until the next timer.
//!
//! What it prints at the default scale (times since the start; some lines left out):
//!
//! ```text
//! -- 1. three 1.00 s fetches, awaited one by one, then with join_all
//! [0.00 s] fetch /data1 ...
//! [1.00 s] fetch /data1 done
//! [1.00 s] fetch /data2 ...
//! ...
//! [3.00 s] fetch /data1 ...
//! [3.00 s] fetch /data2 ...
//! [3.00 s] fetch /data3 ...
//! [4.00 s] fetch /data1 done
//! ...
//! one by one: 3.00 s, join_all: 1.00 s -> ["data from /data1", "data from /data2", "data from /data3"]
//! -- 2. as_completed: fetches of 1.50 s, 0.50 s and 1.00 s, printed as they finish
//! ...
//! [4.50 s] completed: data from /slow-0.5
//! [5.00 s] completed: data from /slow-1.0
//! [5.50 s] completed: data from /slow-1.5
//! -- 3. fail fast: try_join_all, fetch 2 fails after 0.20 s
//! ...
//! [5.70 s] fetch /task2 failed
//! [5.70 s] fetch /task1 cancelled
//! [5.70 s] fetch /task3 cancelled
//! try_join_all: Err(task 2 encountered a critical error) after 0.20 s
//! -- 4. keep every outcome: join_all over the Results
//! ...
//! [5.90 s] fetch /task2 failed
//! [6.70 s] fetch /task1 done
//! [6.70 s] fetch /task3 done
//! Task 1 succeeded: data from /task1
//! Task 2 failed: task 2 encountered a critical error
//! Task 3 succeeded: data from /task3
//! join_all kept 3 outcomes after 1.00 s
//!
//! summary: one by one 3.00 s, join_all 1.00 s, fail fast 0.20 s, keep all 1.00 s
//! ```

use std::cell::Cell;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tempo::future::{as_completed, join_all, try_join_all};

fn main() -> ExitCode {
    let (scale, trace) = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!(
                "gather: {msg}\nusage: gather [--scale F] [--trace FILE]   (F > 0, default 1.0)"
            );
            return ExitCode::from(2);
        }
    };
    // `asyncio.run(main())`: `tempo::run` is this, with the default Builder. The runtime is
    // built here only to give it the trace file, if asked for one.
    let mut builder = tempo::Builder::new();
    if let Some(path) = &trace {
        builder.trace(path);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("gather: {e}");
            return ExitCode::from(2);
        }
    };
    let report = runtime.block_on(lessons(scale));
    // Shut the runtime down, as the end of `tempo::run` would: the trace is written now.
    drop(runtime);
    println!(
        "\nsummary: one by one {:.2} s, join_all {:.2} s, fail fast {:.2} s, keep all {:.2} s",
        report.one_by_one.as_secs_f64(),
        report.gathered.as_secs_f64(),
        report.fail_fast.as_secs_f64(),
        report.keep_all.as_secs_f64(),
    );
    ExitCode::SUCCESS
}

/// What the lessons measured; `tests/future.rs` checks the relationships between them.
pub struct Report {
    /// Lesson 1: three fetches awaited one after another.
    pub one_by_one: Duration,
    /// Lesson 1: the same three under `join_all`.
    pub gathered: Duration,
    /// Lesson 1: `join_all`'s results, in argument order.
    pub gathered_results: Vec<String>,
    /// Lesson 2: the order `as_completed` yielded the fetches in.
    pub completion_order: Vec<String>,
    /// Lesson 3: how long `try_join_all` took to return.
    pub fail_fast: Duration,
    /// Lesson 3: what it returned.
    pub fail_fast_result: Result<Vec<String>, String>,
    /// Lesson 3: how many fetches were dropped before finishing.
    pub cancelled: usize,
    /// Lesson 4: how long `join_all` over the `Result`s took.
    pub keep_all: Duration,
    /// Lesson 4: every outcome, in argument order.
    pub outcomes: Vec<Result<String, String>>,
}

/// The four lessons, with every duration multiplied by `scale`.
pub async fn lessons(scale: f64) -> Report {
    let second = Duration::from_secs_f64(scale);
    let t0 = Instant::now();
    let fetcher = Fetcher {
        t0,
        cancelled: Rc::new(Cell::new(0)),
    };

    let secs = second.as_secs_f64();
    println!("-- 1. three {secs:.2} s fetches, awaited one by one, then with join_all");
    let start = Instant::now();
    for url in ["/data1", "/data2", "/data3"] {
        // Each `.await` finishes before the next fetch starts: 3 × 1 s.
        fetcher
            .fetch(url, second, false)
            .await
            .expect("this fetch does not fail");
    }
    let one_by_one = start.elapsed();
    let start = Instant::now();
    // `results = await asyncio.gather(*tasks)`: all three wait on their timers at once.
    let gathered_results: Vec<String> =
        join_all(["/data1", "/data2", "/data3"].map(|url| fetcher.fetch(url, second, false)))
            .await
            .into_iter()
            .map(|result| result.expect("this fetch does not fail"))
            .collect();
    let gathered = start.elapsed();
    println!(
        "one by one: {:.2} s, join_all: {:.2} s -> {gathered_results:?}",
        one_by_one.as_secs_f64(),
        gathered.as_secs_f64()
    );

    println!(
        "-- 2. as_completed: fetches of {:.2} s, {:.2} s and {:.2} s, printed as they finish",
        1.5 * secs,
        0.5 * secs,
        secs
    );
    let mut completed = as_completed(
        [("/slow-1.5", 1.5), ("/slow-0.5", 0.5), ("/slow-1.0", 1.0)]
            .map(|(url, secs)| fetcher.fetch(url, second.mul_f64(secs), false)),
    );
    let mut completion_order = Vec::new();
    // `for coro in asyncio.as_completed(tasks): result = await coro`.
    while let Some(result) = completed.next().await {
        let data = result.expect("this fetch does not fail");
        println!("[{:.2} s] completed: {data}", fetcher.now());
        completion_order.push(data);
    }

    let fails_after = second.mul_f64(0.2);
    println!(
        "-- 3. fail fast: try_join_all, fetch 2 fails after {:.2} s",
        fails_after.as_secs_f64()
    );
    let start = Instant::now();
    // `await asyncio.gather(*tasks)`, which raises the first exception.
    let fail_fast_result = try_join_all([
        fetcher.fetch("/task1", second, false),
        fetcher.fetch("/task2", fails_after, true),
        fetcher.fetch("/task3", second, false),
    ])
    .await;
    let fail_fast = start.elapsed();
    match &fail_fast_result {
        Ok(data) => println!("try_join_all: Ok({data:?}) — no fetch failed?"),
        Err(error) => println!(
            "try_join_all: Err({error}) after {:.2} s",
            fail_fast.as_secs_f64()
        ),
    }
    let cancelled = fetcher.cancelled.get();

    println!("-- 4. keep every outcome: join_all over the Results");
    let start = Instant::now();
    // `await asyncio.gather(*tasks, return_exceptions=True)`.
    let outcomes = join_all([
        fetcher.fetch("/task1", second, false),
        fetcher.fetch("/task2", fails_after, true),
        fetcher.fetch("/task3", second, false),
    ])
    .await;
    let keep_all = start.elapsed();
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(data) => println!("Task {} succeeded: {data}", i + 1),
            Err(error) => println!("Task {} failed: {error}", i + 1),
        }
    }
    println!(
        "join_all kept {} outcomes after {:.2} s",
        outcomes.len(),
        keep_all.as_secs_f64()
    );

    Report {
        one_by_one,
        gathered,
        gathered_results,
        completion_order,
        fail_fast,
        fail_fast_result,
        cancelled,
        keep_all,
        outcomes,
    }
}

/// Makes the fake fetches, stamping what they print against one clock.
struct Fetcher {
    /// When the lessons began.
    t0: Instant,
    /// How many fetches were dropped before they finished. An `Rc`: every future here runs
    /// on this one task, so nothing needs to be `Send`.
    cancelled: Rc<Cell<usize>>,
}

impl Fetcher {
    /// Seconds since the lessons began.
    fn now(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    /// Seed 001's `fetch_data(id, should_fail)`: "downloads" for `took`, then returns
    /// `data from {url}`, or fails if `fail`.
    async fn fetch(&self, url: &'static str, took: Duration, fail: bool) -> Result<String, String> {
        println!("[{:.2} s] fetch {url} ...", self.now());
        // If this future is dropped while it waits, `in_flight`'s destructor says so.
        let mut in_flight = InFlight {
            url,
            fetcher: self,
            finished: false,
        };
        tempo::time::sleep(took).await;
        in_flight.finished = true;
        if fail {
            println!("[{:.2} s] fetch {url} failed", self.now());
            let id = url.trim_start_matches("/task");
            return Err(format!("task {id} encountered a critical error"));
        }
        println!("[{:.2} s] fetch {url} done", self.now());
        Ok(format!("data from {url}"))
    }
}

/// Lives across a fetch's await; reports the fetch as cancelled if dropped before it
/// finished — which is what dropping a future in the middle of an `.await` means.
struct InFlight<'a> {
    /// The fetch's URL, for the message.
    url: &'static str,
    /// Where to count the cancellation and whose clock to print.
    fetcher: &'a Fetcher,
    /// Set once the fetch completed normally.
    finished: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let cancelled = &self.fetcher.cancelled;
            cancelled.set(cancelled.get() + 1);
            println!("[{:.2} s] fetch {} cancelled", self.fetcher.now(), self.url);
        }
    }
}

/// Reads the optional `--scale F` (default 1.0: every duration is multiplied by `F`) and
/// `--trace FILE`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<(f64, Option<String>), String> {
    let mut scale = 1.0;
    let mut trace = None;
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
            "--trace" => trace = Some(argv.next().ok_or("--trace needs a file")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((scale, trace))
}
