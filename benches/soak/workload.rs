//! The soak's own tempo program (`soak --workload`, a child process): what the example
//! servers cannot produce — tens of thousands of timers pending at once, tasks aborted by
//! their JoinHandles, blocking jobs aborted before or after a pool thread takes them.
//!
//! One worker; a driver task that, every 10 ms,
//!
//! 1. tops the timer tasks up to [`PENDING`]: each sleeps 1 ms to 3 s (a quarter of them
//!    inside a `timeout` shorter than the sleep, so the timeout's timer fires and the
//!    sleep's is cancelled by the drop), then records how late it woke — never early;
//! 2. aborts [`ABORTS_PER_TICK`] of them at random, through their `AbortHandle`s;
//! 3. spawns two blocking jobs on the pool and aborts one at once;
//! 4. reaps what finished.
//!
//! On `SIGINT` it aborts everything left, reaps it, checks its books, prints one `result`
//! line (and an `error:` line per problem) and exits 0 if the books balance. The books,
//! exact because one worker runs everything:
//!
//! - every abort of an unfinished task ends that task cancelled: cancelled = aborts during
//!   the run + tasks unfinished at the stop;
//! - a task ends `Ok` exactly when it ran to its end: `Ok` results = tasks that counted
//!   themselves fired; `Ok` + cancelled = spawned;
//! - no timer fires before its deadline; every blocking job that ran returned the right
//!   sum; no task is left in the runtime.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tempo::signal::{SignalKind, signal};
use tempo::task::{AbortHandle, JoinSet};
use tempo::time::{interval, sleep, sleep_until, timeout};

use crate::{Rng, Stat, Tally};

/// Timer tasks kept pending at once.
const PENDING: usize = 50_000;
/// At most this many spawned per tick, so the first fill takes a tenth of a second.
const SPAWN_PER_TICK: usize = 5_000;
/// Aborts per tick: about 5 000 a second.
const ABORTS_PER_TICK: usize = 50;
/// The driver's period.
const TICK: Duration = Duration::from_millis(10);
/// Lateness histogram buckets: bucket `i` holds lateness under `2^i` µs.
const BUCKETS: usize = 32;

/// What the timer tasks record, shared with the driver.
struct Books {
    /// Tasks that ran to their end (after their timer fired).
    fired: AtomicU64,
    /// Timers that completed before their deadline: must stay 0.
    early: AtomicU64,
    /// The latest a timer woke, in µs.
    late_max_us: AtomicU64,
    /// How late timers woke, by power of two of µs.
    late: [AtomicU64; BUCKETS],
}

impl Books {
    /// Records a timer due at `deadline` that woke now.
    fn woke(&self, deadline: Instant) {
        let now = Instant::now();
        if now < deadline {
            self.early.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let us = (now - deadline).as_micros().min(u64::MAX as u128) as u64;
        self.late_max_us.fetch_max(us, Ordering::Relaxed);
        let bucket = (u64::BITS - us.leading_zeros()) as usize;
        self.late[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The lateness under which a share `q` of the timers woke (a bucket's upper bound).
    fn quantile_us(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self
            .late
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if total > 0 && seen as f64 >= q * total as f64 {
                return 1 << i;
            }
        }
        0
    }
}

/// The figures the child prints, and the parent reads back.
#[derive(Debug, Default)]
pub struct Report {
    /// Tasks spawned.
    pub spawned: u64,
    /// Tasks that ended `Ok`: their timer fired.
    pub fired: u64,
    /// Tasks that ended cancelled.
    pub cancelled: u64,
    /// Blocking jobs that ran, result checked.
    pub blocking_ok: u64,
    /// Blocking jobs cancelled before a thread took them.
    pub blocking_cancelled: u64,
    /// The most timer tasks pending at once.
    pub peak_pending: u64,
    /// Lateness quantiles and maximum, µs.
    pub late_p50_us: u64,
    /// See `late_p50_us`.
    pub late_p99_us: u64,
    /// See `late_p50_us`.
    pub late_max_us: u64,
    /// Problems the child found.
    pub errors: Vec<String>,
}

impl Report {
    /// Reads the `result` and `error:` lines the child printed.
    pub fn parse(lines: &[String]) -> Result<Report, String> {
        let line = lines
            .iter()
            .find_map(|l| l.strip_prefix("result "))
            .ok_or("printed no result line")?;
        let mut r = Report::default();
        for pair in line.split_whitespace() {
            let (key, value) = pair.split_once('=').ok_or(format!("bad pair {pair}"))?;
            let value: u64 = value.parse().map_err(|_| format!("bad value in {pair}"))?;
            match key {
                "spawned" => r.spawned = value,
                "fired" => r.fired = value,
                "cancelled" => r.cancelled = value,
                "blocking_ok" => r.blocking_ok = value,
                "blocking_cancelled" => r.blocking_cancelled = value,
                "peak_pending" => r.peak_pending = value,
                "late_p50_us" => r.late_p50_us = value,
                "late_p99_us" => r.late_p99_us = value,
                "late_max_us" => r.late_max_us = value,
                _ => {}
            }
        }
        r.errors = lines
            .iter()
            .filter_map(|l| l.strip_prefix("error: "))
            .map(str::to_string)
            .collect();
        Ok(r)
    }

    /// Adds its counts and errors to the soak's.
    pub fn add_to(&self, tally: &Tally) {
        tally.add(Stat::TimersFired, self.fired);
        tally.add(Stat::TasksAborted, self.cancelled);
        tally.add(Stat::BlockingRun, self.blocking_ok);
        for e in &self.errors {
            tally.error(format!("workload: {e}"));
        }
    }
}

/// `soak --workload`: the child's `main`.
pub fn run() -> ExitCode {
    let runtime = match tempo::Builder::new()
        .workers(1)
        .max_blocking_threads(2)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("workload: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = runtime.block_on(drive());
    let left = runtime.live_tasks();
    if left != 0 {
        report.errors.push(format!(
            "{left} task(s) still in the runtime after the drain"
        ));
    }
    println!(
        "result spawned={} fired={} cancelled={} blocking_ok={} blocking_cancelled={} \
         peak_pending={} late_p50_us={} late_p99_us={} late_max_us={}",
        report.spawned,
        report.fired,
        report.cancelled,
        report.blocking_ok,
        report.blocking_cancelled,
        report.peak_pending,
        report.late_p50_us,
        report.late_p99_us,
        report.late_max_us
    );
    for e in &report.errors {
        println!("error: {e}");
    }
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The driver task: the numbered steps of the file's doc, every tick, until `SIGINT`.
async fn drive() -> Report {
    let mut report = Report::default();
    let mut interrupt = match signal(SignalKind::Interrupt) {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(format!("cannot listen for SIGINT: {e}"));
            return report;
        }
    };
    println!("ready");
    let books = Arc::new(Books {
        fired: AtomicU64::new(0),
        early: AtomicU64::new(0),
        late_max_us: AtomicU64::new(0),
        late: std::array::from_fn(|_| AtomicU64::new(0)),
    });
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Rng::new(seed, 600);
    let mut timers: JoinSet<()> = JoinSet::new();
    // Every spawned timer task not yet aborted (finished ones are pruned now and then).
    let mut abortable: Vec<AbortHandle> = Vec::new();
    let mut aborts = 0u64;
    let mut blocking: JoinSet<(u64, u64)> = JoinSet::new();
    let mut tick = interval(TICK);
    loop {
        tempo::select! {
            biased;
            _ = interrupt.recv() => break,
            _ = tick.tick() => {}
        }
        // 1. Top up the timers.
        let room = PENDING.saturating_sub(timers.len()).min(SPAWN_PER_TICK);
        for _ in 0..room {
            let books = books.clone();
            let wait = Duration::from_millis(rng.range(1, 3000));
            let in_timeout = rng.one_in(4);
            abortable.push(timers.spawn(async move {
                let deadline = Instant::now() + wait;
                if in_timeout {
                    // The timeout's timer fires; the sleep's, an hour later, is dropped.
                    let cut = timeout(wait, sleep(wait + Duration::from_secs(3600))).await;
                    debug_assert!(cut.is_err());
                } else {
                    sleep_until(deadline).await;
                }
                books.woke(deadline);
                books.fired.fetch_add(1, Ordering::Relaxed);
            }));
        }
        report.spawned += room as u64;
        report.peak_pending = report.peak_pending.max(timers.len() as u64);
        if abortable.len() > 2 * PENDING {
            abortable.retain(|h| !h.is_finished());
        }
        // 2. Abort some, at random.
        for _ in 0..ABORTS_PER_TICK.min(abortable.len()) {
            let i = rng.range(0, abortable.len() as u64 - 1) as usize;
            let handle = abortable.swap_remove(i);
            if !handle.is_finished() {
                handle.abort();
                aborts += 1;
            }
        }
        // 3. Blocking jobs, each summing 0..n: one left to run, one aborted at once
        //    (cancelled if no pool thread has taken it yet; run to its end if one has).
        for abort in [false, true] {
            let n = rng.range(1_000, 100_000);
            let job = blocking.insert(tempo::task::spawn_blocking(move || (n, (0..n).sum())));
            if abort {
                job.abort();
            }
        }
        // 4. Reap.
        reap_timers(&mut timers, &mut report).await;
        reap_blocking(&mut blocking, &mut report, false).await;
    }
    // The stop: everything left is aborted, then reaped.
    let unfinished = abortable.iter().filter(|h| !h.is_finished()).count() as u64;
    timers.abort_all();
    while let Some(out) = timers.join_next().await {
        tally_timer(out, &mut report);
    }
    reap_blocking(&mut blocking, &mut report, true).await;

    let fired = books.fired.load(Ordering::Relaxed);
    let early = books.early.load(Ordering::Relaxed);
    if early > 0 {
        report.errors.push(format!("{early} timer(s) fired early"));
    }
    if report.fired != fired {
        report.errors.push(format!(
            "{} tasks ended Ok but {fired} ran to their end: an aborted task ran on",
            report.fired
        ));
    }
    if report.fired + report.cancelled != report.spawned {
        report.errors.push(format!(
            "{} spawned, but {} ended Ok and {} cancelled",
            report.spawned, report.fired, report.cancelled
        ));
    }
    if report.cancelled != aborts + unfinished {
        report.errors.push(format!(
            "{} cancelled, but {aborts} aborted during the run and {unfinished} at the stop",
            report.cancelled
        ));
    }
    report.late_p50_us = books.quantile_us(0.5);
    report.late_p99_us = books.quantile_us(0.99);
    report.late_max_us = books.late_max_us.load(Ordering::Relaxed);
    report
}

/// Reaps the finished timer tasks, yielding when the poll budget runs out.
async fn reap_timers(timers: &mut JoinSet<()>, report: &mut Report) {
    loop {
        match timers.try_join_next() {
            Some(out) => tally_timer(out, report),
            None if !tempo::task::has_budget_remaining() => tempo::task::yield_now().await,
            None => return,
        }
    }
}

/// Counts one timer task's ending.
fn tally_timer(out: Result<(), tempo::task::JoinError>, report: &mut Report) {
    match out {
        Ok(()) => report.fired += 1,
        Err(e) if e.is_cancelled() => report.cancelled += 1,
        Err(e) => report.errors.push(format!("a timer task failed: {e}")),
    }
}

/// Reaps finished blocking jobs (all of them, waiting, if `all`), checking each sum.
async fn reap_blocking(jobs: &mut JoinSet<(u64, u64)>, report: &mut Report, all: bool) {
    loop {
        let out = if all {
            jobs.join_next().await
        } else {
            match jobs.try_join_next() {
                Some(out) => Some(out),
                None if !tempo::task::has_budget_remaining() => {
                    tempo::task::yield_now().await;
                    continue;
                }
                None => None,
            }
        };
        match out {
            None => return,
            Some(Ok((n, sum))) if sum == n * (n - 1) / 2 => report.blocking_ok += 1,
            Some(Ok((n, sum))) => report
                .errors
                .push(format!("a blocking job summed 0..{n} to {sum}")),
            Some(Err(e)) if e.is_cancelled() => report.blocking_cancelled += 1,
            Some(Err(e)) => report.errors.push(format!("a blocking job failed: {e}")),
        }
    }
}
