//! What calling tokio-only code from a tempo task costs, each way, beside the same work done
//! natively in tempo and in tokio.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench compat                  # times: about 20 s on 2 cores
//! cargo bench --bench compat -- --instructions  # and callgrind's instructions per call: 2–3 min
//! ```
//!
//! # What is measured
//!
//! A task awaits N small futures, one after another, and we divide by N. Each future is
//! *tokio-side work* of one of two sizes:
//!
//! - `ready` — it completes at its first poll;
//! - `yield` — it returns `Pending` once (tokio's `yield_now`, or tempo's in the native
//!   tempo rows) and completes at its second poll;
//! - `echo` — one byte there and back over loopback TCP to a plain-thread echo server (the
//!   same far side for every row), so the awaiting task is woken by a reactor: tempo's own,
//!   tokio's on its own thread, or async-compat's (`echo.rs`).
//!
//! The ways (the README's section "Living beside tokio" explains the two real ones):
//!
//! | way | the awaiting task | what it awaits, each call |
//! | --- | --- | --- |
//! | `tempo, in place` | a tempo task | the work itself (tempo's `yield_now`) |
//! | `tokio, in place` | a tokio `current_thread` task | the work itself |
//! | `compat` | a tempo task | `Compat::new(work)`: polled here, tokio context entered around each poll |
//! | `tempo, spawn+join` | a tempo task | `tempo::spawn(work)`'s JoinHandle |
//! | `tokio, spawn+join` | a tokio `current_thread` task | `tokio::spawn(work)`'s JoinHandle |
//! | `handle, multi_thread` | a tempo task | `handle.spawn(work)` on a side tokio runtime, one worker thread |
//! | `handle, current_thread` | a tempo task | the same, on a `current_thread` runtime held open by a side thread |
//! | `compat + tokio::spawn` | a tempo task | `Compat::new(tokio::spawn(work))`: a library that spawns, on async-compat's runtime |
//!
//! Every row is measured in rounds, interleaved (each round runs every row once, starting
//! one row further on), and the median round is reported, with the range. Beside the time:
//!
//! - `wakes` — how often, per call, the awaiting task's waker was woken, and `remote` how
//!   many of those wakes came from another thread: each of those is a message into tempo's
//!   worker channel and, if the worker sleeps, an unpark (an `eventfd` write and an
//!   `epoll_wait` return). Counted in a separate, untimed pass that wraps the waker.
//! - `csw` — context switches per call, the whole process's (`getrusage`): a cross-thread
//!   hop costs one on each side when the other thread was asleep.
//! - `instr` (with `--instructions`) — user-space instructions per call on all threads,
//!   from two callgrind runs of N₁ and N₂ calls: (Ir₂ − Ir₁) / (N₂ − N₁), so start-up and
//!   the runtimes' threads' creation cancel out. Under callgrind threads run one at a
//!   time, so a thread that would spin on another core runs its loop only when it gets its
//!   turn: read these counts as the work, the times as what the hop costs in practice.
//!
//! # Files, in reading order
//!
//! `census.rs` (the counting waker, context switches) · `runtimes.rs` (the work, the ways,
//! the runtimes, the ready and yield rows) · `echo.rs` (the echo rows) · `instructions.rs`
//! (callgrind) · this file (rounds, medians, the table).

mod census;
mod echo;
mod instructions;
mod runtimes;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use census::{Census, context_switches};
use runtimes::{Runtimes, WAYS, Way, Work, applies, baseline};

/// How much to run: under `cargo bench` (which passes `--bench`) the real thing; under
/// `cargo test --all-targets`, a smoke run of every row that still checks the findings.
struct Sizes {
    /// Calls per timed run.
    calls: usize,
    /// Interleaved rounds; the median is reported.
    rounds: usize,
    /// Calls in the untimed pass that counts wakes.
    census_calls: usize,
}

const BENCH: Sizes = Sizes {
    calls: 20_000,
    rounds: 7,
    census_calls: 2_000,
};
const SMOKE: Sizes = Sizes {
    calls: 200,
    rounds: 1,
    census_calls: 200,
};

/// Time `calls` calls of one row; with a census, count their wakes.
fn run_row(
    rts: &Runtimes,
    way: Way,
    work: Work,
    calls: usize,
    census: Option<Arc<Census>>,
) -> Duration {
    match work {
        Work::Echo => rts.run_echo(way, calls, census),
        Work::Ready | Work::Yield => rts.run(way, work, calls, census),
    }
}

/// One row's results.
struct Row {
    way: Way,
    name: &'static str,
    work: Work,
    ns: Vec<f64>,
    csw: Vec<f64>,
    wakes: f64,
    remote: f64,
    instr: Option<f64>,
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1..]);
    }
    let instructions = args.iter().any(|a| a == "--instructions");
    let size = if args.iter().any(|a| a == "--bench") {
        BENCH
    } else {
        SMOKE
    };
    let rts = Runtimes::new();
    let mut rows: Vec<Row> = [Work::Ready, Work::Yield, Work::Echo]
        .into_iter()
        .flat_map(|work| {
            WAYS.iter()
                .filter(move |&&(way, _)| applies(way, work))
                .map(move |&(way, name)| Row {
                    way,
                    name,
                    work,
                    ns: vec![],
                    csw: vec![],
                    wakes: 0.0,
                    remote: 0.0,
                    instr: None,
                })
        })
        .collect();

    // Warm-up: every row once (async-compat's runtime starts here), then the census.
    for row in &mut rows {
        run_row(&rts, row.way, row.work, size.calls / 10, None);
        let census = Arc::new(Census::default());
        run_row(
            &rts,
            row.way,
            row.work,
            size.census_calls,
            Some(census.clone()),
        );
        row.wakes = census.wakes.load(Ordering::Relaxed) as f64 / size.census_calls as f64;
        row.remote = census.remote.load(Ordering::Relaxed) as f64 / size.census_calls as f64;
    }
    for round in 0..size.rounds {
        let n = rows.len();
        for k in 0..n {
            let row = &mut rows[(round + k) % n];
            let csw = context_switches();
            let took = run_row(&rts, row.way, row.work, size.calls, None);
            row.csw
                .push((context_switches() - csw) as f64 / size.calls as f64);
            row.ns.push(took.as_nanos() as f64 / size.calls as f64);
        }
    }
    drop(rts);
    if instructions {
        for row in &mut rows {
            row.instr = instructions::callgrind_per_call(row.way, row.work);
        }
    }
    report(&rows, &size);
    check(&rows);
}

fn report(rows: &[Row], size: &Sizes) {
    println!(
        "compat: {} calls per run, median of {} interleaved rounds; wakes counted over {} calls\n",
        size.calls, size.rounds, size.census_calls
    );
    println!(
        "{:<6} {:<24} {:>9} {:>17} {:>9} {:>6} {:>7} {:>6} {:>8}",
        "work", "way", "ns/call", "range", "×native", "wakes", "remote", "csw", "instr"
    );
    for row in rows {
        let ns = median(&row.ns);
        let min = row.ns.iter().copied().fold(f64::INFINITY, f64::min);
        let max = row.ns.iter().copied().fold(0.0, f64::max);
        let base = rows
            .iter()
            .find(|r| r.work == row.work && r.way == baseline(row.way, row.work))
            .map(|r| median(&r.ns))
            .unwrap_or(ns);
        let instr = row.instr.map_or("-".to_string(), |i| format!("{i:.0}"));
        println!(
            "{:<6} {:<24} {:>9.0} {:>17} {:>8.1}× {:>6.2} {:>7.2} {:>6.2} {:>8}",
            format!("{:?}", row.work).to_lowercase(),
            row.name,
            ns,
            format!("{min:.0}–{max:.0}"),
            ns / base,
            row.wakes,
            row.remote,
            median(&row.csw),
            instr
        );
    }
    println!(
        "\n×native: against `tempo, in place` for the in-place and echo rows, `tempo, spawn+join` \
         for the rest."
    );
}

/// The findings the README quotes that do not depend on timing, checked on every run (and
/// so by `cargo test --all-targets`): where each way's wakes come from.
fn check(rows: &[Row]) {
    for row in rows {
        let what = format!("{:?} / {}", row.work, row.name);
        match (row.way, row.work) {
            // In place, a ready or self-waking future is woken on its own thread, if at
            // all: Compat adds no hop, and a yield is exactly one wake.
            (Way::TempoInPlace | Way::TokioInPlace | Way::Compat, Work::Ready | Work::Yield) => {
                assert_eq!(row.remote, 0.0, "{what}: no wake from another thread");
                let once = if row.work == Work::Yield { 1.0 } else { 0.0 };
                assert_eq!(row.wakes, once, "{what}: wakes per call");
            }
            // Natively, a child task or a socket wakes the task from its own thread.
            (Way::TempoSpawn | Way::TokioSpawn, _)
            | (Way::TempoInPlace | Way::TokioInPlace, Work::Echo) => {
                assert_eq!(row.remote, 0.0, "{what}: woken on the task's own thread");
            }
            // Everything else is woken from tokio's thread, every time it is woken: a
            // socket under Compat by async-compat's reactor, a JoinHandle by the worker
            // that finished the task.
            _ => assert_eq!(row.remote, row.wakes, "{what}: every wake crosses threads"),
        }
    }
}

/// `--child WAY WORK CALLS`: run one row once, for callgrind to count.
fn child(args: &[String]) {
    let way = WAYS[args[0].parse::<usize>().expect("way index")].0;
    let work = Work::from_arg(&args[1]);
    let calls = args[2].parse().expect("calls");
    let rts = Runtimes::new();
    run_row(&rts, way, work, calls, None);
}
