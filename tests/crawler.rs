//! The crawler lab (`examples/crawler.rs` against `examples/crawl_site.rs`, seed 004 §13.3),
//! run as a reader runs it: both examples as child processes on loopback, their output
//! checked against what the site says it holds.
//!
//! What the seed claims, and what is asserted here:
//!
//! - the crawler doesn't lie: its summary counts exactly the pages, errors and timeouts the
//!   site's plan holds, and visits each URL once;
//! - `Semaphore(N)` caps the requests in flight: the measured peak is N, never more;
//! - the per-request timeout really cancels: every page that never answers is counted as a
//!   timeout, the crawl ends in time bounded by the timeouts (not by the site's patience),
//!   and the *site* sees each of those connections closed by the client about one timeout
//!   after it was opened — not when the crawler exits;
//! - debug mode names the blocking call: with `--block` and `TEMPO_DEBUG=1` the slow-poll
//!   warning and the watchdog name the task by the line that spawned it, and the loop
//!   stalls about 2 s; without `--block` debug mode is silent and the loop does not stall.
//!
//! Events are ordered by what the programs print, never by sleeping; every wait has a
//! deadline, and a child is killed when its guard drops.

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use support::child::{Ended, Options, Running, Server};

/// Longest a crawl may take, from its start to its exit.
const DEADLINE: Duration = Duration::from_secs(30);

/// Every child here starts without the test's `TEMPO_DEBUG`: debug mode is on only where a
/// test asks for it.
const NO_DEBUG: &[&str] = &["TEMPO_DEBUG"];

// ---------------------------------------------------------------------------------------
// The programs
// ---------------------------------------------------------------------------------------

/// The plan the site printed: `plan: pages=40 seed=13 fast=21 ...`, as numbers.
#[derive(Debug)]
struct Plan(BTreeMap<String, f64>);

impl Plan {
    fn parse(line: &str) -> Plan {
        let fields = line
            .strip_prefix("plan: ")
            .unwrap_or_else(|| panic!("not a plan line: {line:?}"));
        Plan(
            fields
                .split_whitespace()
                .map(|field| {
                    let (key, value) = field.split_once('=').expect("key=value");
                    (key.to_string(), value.parse().expect("a number"))
                })
                .collect(),
        )
    }

    fn get(&self, key: &str) -> usize {
        self.0[key] as usize
    }
}

/// What the crawler printed: a line per page, then the summary.
#[derive(Debug)]
struct Crawl {
    /// Every line of stdout.
    lines: Vec<String>,
    /// When each line of `lines` arrived.
    arrived: Vec<Instant>,
    /// Its stderr.
    stderr: String,
}

impl Crawl {
    /// The first number on the summary line `  LABEL ...`.
    fn field(&self, label: &str) -> f64 {
        let prefix = format!("  {label} ");
        let line = self
            .lines
            .iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no summary line {label:?} in {:#?}", self.lines));
        line[prefix.len()..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number on {line:?}"))
    }

    /// The paths of the per-page lines (`ok`, `error`, `timeout`), in order.
    fn visited(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| {
                ["ok ", "error ", "timeout "]
                    .iter()
                    .any(|p| l.starts_with(p))
            })
            .map(|l| l.split_whitespace().nth(1).expect("a path"))
            .collect()
    }

    /// The summary matches the plan: every page once, each counted as what it is.
    fn assert_matches(&self, plan: &Plan) {
        let visited = self.visited();
        let distinct: HashSet<&str> = visited.iter().copied().collect();
        assert_eq!(
            (visited.len(), distinct.len()),
            (plan.get("pages"), plan.get("pages")),
            "each page visited exactly once: {visited:?}"
        );
        assert_eq!(
            self.field("pages") as usize,
            plan.get("fast") + plan.get("slow"),
            "pages"
        );
        assert_eq!(
            self.field("errors") as usize,
            plan.get("status500") + plan.get("reset"),
            "errors"
        );
        assert_eq!(
            self.field("timeouts") as usize,
            plan.get("hang"),
            "timeouts"
        );
    }
}

/// Starts `crawl_site` on an ephemeral port; returns it, its address and its plan.
fn start_site(args: &[&str]) -> (Server, String, Plan) {
    let options = Options {
        env_remove: NO_DEBUG,
        ..Options::default()
    };
    let site = Server::start_with("crawl_site", args, options);
    let addr = site.addr.to_string();
    let plan = Plan::parse(&site.next_line());
    (site, addr, plan)
}

/// Starts example `name` with `args` and `env`, and waits up to `DEADLINE` for it to end.
fn run_to_end(name: &str, args: &[&str], env: &[(&str, &str)]) -> Ended {
    let options = Options {
        env,
        env_remove: NO_DEBUG,
        ..Options::default()
    };
    Running::start_with(name, args, options).finish_within(DEADLINE)
}

/// Runs the crawler to its end; fails unless it exits 0.
fn crawl(args: &[&str], env: &[(&str, &str)]) -> Crawl {
    let ended = run_to_end("crawler", args, env);
    let (status, lines, stderr) = (ended.status, ended.lines, ended.stderr);
    assert!(
        status.success(),
        "crawler {args:?} exited with {status}; stdout {lines:#?}; stderr:\n{stderr}"
    );
    Crawl {
        lines,
        arrived: ended.arrived,
        stderr,
    }
}

/// The page and the seconds in a site's line `PATH: the client closed the connection
/// after X s, ...` (prefixed `site: ` inside the crawler).
fn close_seen(line: &str) -> Option<(String, f64)> {
    let line = line.strip_prefix("site: ").unwrap_or(line);
    let (path, after) = line.split_once(": the client closed the connection after ")?;
    let held = after.split_whitespace().next()?.parse().ok()?;
    Some((path.to_string(), held))
}

// ---------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------

/// The whole lab against a site in its own process: counts, the cap, the timeouts, and the
/// site's view of the cancelled requests.
#[test]
fn the_summary_matches_the_plan_and_timeouts_close_their_sockets() {
    let (site, addr, plan) = start_site(&["--pages", "40", "--seed", "13", "--hold-secs", "20"]);
    let limit = 2;
    let timeout = 1.0;
    // More silent pages than permits: they take at least two rounds of the timeout, so a
    // socket left open until the crawler exits is held well over one timeout.
    let hangs = plan.get("hang");
    assert!(
        hangs > limit,
        "the plan needs more hanging pages than permits: {plan:?}"
    );

    let run = crawl(
        &["--site", &addr, "--concurrency", "2", "--timeout", "1"],
        &[],
    );
    run.assert_matches(&plan);

    let peak = run.field("peak concurrency") as usize;
    assert_eq!(peak, limit, "the cap is reached, never exceeded");

    // Bounded by the timeouts, not by the site's 20 s hold: the silent pages alone keep
    // `limit` permits busy for hangs × timeout; the rest of the crawl adds little.
    let elapsed = run.field("elapsed");
    let floor = hangs as f64 * timeout / limit as f64;
    assert!(
        (floor * 0.95..10.0).contains(&elapsed),
        "elapsed {elapsed} s; expected at least {floor} s (the timeouts), far below the hold"
    );

    // The site saw each silent page's connection closed by the client one timeout after
    // it came, and it said so as the crawler reported that page's timeout: the request was
    // cancelled when it timed out, not when the crawler exited. (The first round of
    // timeouts ends at least one timeout before the crawl does, since there are two.)
    let timed_out: BTreeMap<&str, Instant> = run
        .lines
        .iter()
        .zip(&run.arrived)
        .filter(|(line, _)| line.starts_with("timeout "))
        .map(|(line, &at)| (line.split_whitespace().nth(1).expect("a path"), at))
        .collect();
    let mut closed = BTreeMap::new();
    while closed.len() < hangs {
        let (at, line) = site.next_timed_line();
        if let Some((path, held)) = close_seen(&line) {
            closed.insert(path, (at, held));
        }
    }
    assert_eq!(
        closed.keys().map(String::as_str).collect::<Vec<_>>(),
        timed_out.keys().copied().collect::<Vec<_>>(),
        "the pages the site saw closed are the pages that timed out"
    );
    for (path, (at, held)) in &closed {
        assert!(
            (timeout * 0.9..timeout + 0.75).contains(held),
            "{path}: the site held it {held} s, not about the {timeout} s timeout"
        );
        let reported = timed_out[path.as_str()];
        let apart = at
            .saturating_duration_since(reported)
            .max(reported.saturating_duration_since(*at));
        assert!(
            apart < Duration::from_millis(500),
            "{path}: the site saw the close {apart:?} away from the crawler's timeout"
        );
    }
    site.assert_alive();
}

/// One command: without `--site`, the crawler runs the site in its own process and the
/// summary still matches the plan it printed.
#[test]
fn the_crawler_runs_its_own_site_by_default() {
    let run = crawl(
        &["--pages", "12", "--concurrency", "3", "--timeout", "1"],
        &[],
    );
    assert!(
        run.lines
            .iter()
            .any(|l| l.starts_with("site: listening on 127.0.0.1:")),
        "no in-process site: {:#?}",
        run.lines
    );
    let plan_line = run
        .lines
        .iter()
        .find_map(|l| l.strip_prefix("site: plan: "))
        .unwrap_or_else(|| panic!("no plan from the in-process site: {:#?}", run.lines));
    let plan = Plan::parse(&format!("plan: {plan_line}"));
    assert_eq!(plan.get("pages"), 12);
    run.assert_matches(&plan);
    assert!(run.field("peak concurrency") as usize <= 3);
    let closes = run.lines.iter().filter_map(|l| close_seen(l)).count();
    assert_eq!(closes, plan.get("hang"), "{:#?}", run.lines);
}

/// `--max-pages` bounds the crawl: a site with more pages than that gets that many requests
/// and no more, and the links past the bound are counted in the summary, not followed.
#[test]
fn max_pages_bounds_the_crawl_and_counts_what_it_left() {
    let run = crawl(
        &[
            "--pages",
            "40",
            "--max-pages",
            "5",
            "--concurrency",
            "3",
            "--timeout",
            "1",
        ],
        &[],
    );
    let visited = run.visited();
    assert_eq!(visited.len(), 5, "requests made: {visited:?}");
    assert!(
        run.lines
            .iter()
            .any(|l| l.contains("answered 200, of 5 requests")),
        "{:#?}",
        run.lines
    );
    assert!(
        run.field("not followed") >= 1.0,
        "a 40-page site gave no links past the bound: {:#?}",
        run.lines
    );
}

/// `--block` with `TEMPO_DEBUG=1`: debug mode names the task that blocks — by the line that
/// spawned it, the `group.spawn` in `crawl` — and the loop watcher measures the stall. The
/// crawl still counts right.
#[test]
fn debug_mode_names_the_blocking_task() {
    let (_site, addr, plan) = start_site(&["--pages", "12", "--hold-secs", "20"]);
    let run = crawl(
        &["--site", &addr, "--block", "--timeout", "3"],
        &[("TEMPO_DEBUG", "1")],
    );
    run.assert_matches(&plan);

    let spawned_at = format!("spawned at examples/crawler.rs:{}:", group_spawn_line());
    // The example's header quotes these warnings; it must quote the line they name.
    assert!(
        include_str!("../examples/crawler.rs")
            .contains(&format!("//! tempo: slow poll: task 1.2 {spawned_at}")),
        "examples/crawler.rs's header quotes a slow-poll warning for another line: update it \
         to `{spawned_at}`"
    );
    let names_it = |marker: &str| {
        run.stderr
            .lines()
            .any(|l| l.contains(marker) && l.contains(&spawned_at))
    };
    assert!(
        names_it("tempo: slow poll:"),
        "no slow-poll warning names the task {spawned_at}; stderr:\n{}",
        run.stderr
    );
    assert!(
        names_it("is blocked now"),
        "the watchdog did not name the task {spawned_at}; stderr:\n{}",
        run.stderr
    );
    let stall = run.field("loop stall");
    assert!(
        stall >= 1900.0,
        "the loop stalled only {stall} ms under a 2 s blocking sleep"
    );
}

/// The fix, the default: the same pause as `tempo::time::sleep`; debug mode has nothing to
/// say and the loop never stalls for long.
#[test]
fn without_block_debug_mode_is_silent_and_the_loop_keeps_moving() {
    let (_site, addr, plan) = start_site(&["--pages", "12", "--hold-secs", "20"]);
    let run = crawl(
        &["--site", &addr, "--timeout", "3"],
        &[("TEMPO_DEBUG", "1")],
    );
    run.assert_matches(&plan);
    assert!(
        !run.stderr.contains("slow poll") && !run.stderr.contains("is blocked now"),
        "debug mode warned though nothing blocks; stderr:\n{}",
        run.stderr
    );
    // Generous for a busy 2-core machine, and still far below the 2 s of `--block`.
    let stall = run.field("loop stall");
    assert!(
        stall < 1000.0,
        "the loop stalled {stall} ms with no blocking call"
    );
}

/// Bad flags get a clear error and exit status 2, from both programs.
#[test]
fn bad_flags_exit_2() {
    for (name, args) in [
        ("crawler", &["--concurrency", "0"][..]),
        ("crawler", &["--site", "127.0.0.1:1", "--seed", "3"]),
        ("crawl_site", &["--pages", "none"]),
    ] {
        let ended = run_to_end(name, args, &[]);
        let (status, stderr) = (ended.status, ended.stderr);
        assert_eq!(status.code(), Some(2), "{name} {args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{name}: ")),
            "{name} {args:?}: {stderr}"
        );
    }
}

/// The line of `examples/crawler.rs` whose `group.spawn(` starts every page task.
fn group_spawn_line() -> usize {
    let source = include_str!("../examples/crawler.rs");
    let lines: Vec<usize> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("group.spawn("))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(lines.len(), 1, "one group.spawn in crawler.rs: {lines:?}");
    lines[0]
}
