//! Four seed lessons, each run as a child process the way a reader runs it, each checked
//! for the effect its seed claims — not for exact figures, which are the run's own:
//!
//! - `race_lock` (seeds 001, 003): with an await between check and set and no lock, the
//!   invariant (balance ≥ 0, at most one approval) breaks every run; with no await, or with
//!   `tempo::sync::Mutex`, it holds.
//! - `retry_backoff` (seed 001): each delay is the capped exponential backoff plus a
//!   jitter within its bounds, the measured sleep is that delay (plus scheduling slack), a
//!   hung attempt ends at its timeout, and the client succeeds after the flaky server's
//!   failures — or gives up after the last attempt with a clear error and status 1.
//! - `fire_and_forget` (seed 001): the unread panic is reported on stderr, naming the task
//!   the program spawned, when the task ends — and not for the panics the fixes read.
//! - `monitor_console` (seed 004): the console of a running server, reached with a std
//!   `TcpStream` as a reader would with `nc`, lists the server's named tasks, and a closed
//!   connection's task moves to `ps-finished`.
//!
//! The examples run through `tests/support/child.rs`: every wait has a deadline, a child
//! is killed when its guard drops, and its stderr is printed if the test fails.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use support::child::{Options, Running};
use support::client::Client;
use support::{IO_TIMEOUT, LINE_TIMEOUT};

/// What a busy 2-core VM may add to a sleep or a timeout, beyond what was asked: the
/// wake-up, the scheduling of the worker thread, other builds beside us.
const SLACK_MS: f64 = 250.0;

// ---------------------------------------------------------------------------------------
// race_lock
// ---------------------------------------------------------------------------------------

/// One summary line: `LABEL A of N withdrawals approved, final balance B (VERDICT)`.
#[derive(Debug)]
struct RaceOutcome {
    approved: i64,
    tellers: i64,
    balance: i64,
}

fn race_outcome(lines: &[String], label: &str) -> RaceOutcome {
    let line = lines
        .iter()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no summary line for {label:?} in {lines:#?}"));
    let rest = line[label.len()..].trim();
    let number = |after: &str, before: &str| -> i64 {
        let start = rest.find(after).map(|i| i + after.len()).unwrap_or(0);
        let tail = &rest[start..];
        let end = tail.find(before).unwrap_or_else(|| panic!("{line:?}"));
        tail[..end]
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{line:?}: {e}"))
    };
    RaceOutcome {
        approved: number("", " of "),
        tellers: number(" of ", " withdrawals"),
        balance: number("final balance ", " ("),
    }
}

/// Seeds 001 and 003: check, await, set — without a lock every teller is approved and the
/// balance goes below zero; with no await between, or with the Mutex, only one is.
#[test]
fn race_lock_without_a_lock_overdraws_and_with_the_mutex_holds() {
    for tellers in [5_i64, 9] {
        let arg = tellers.to_string();
        let (status, lines, stderr) =
            Running::start("race_lock", &["--tellers", &arg]).finish_with_stderr();
        assert!(status.success(), "{status}; stderr:\n{stderr}");

        let racy = race_outcome(&lines, "no lock, await between:");
        let no_await = race_outcome(&lines, "no lock, no await:");
        let locked = race_outcome(&lines, "Mutex:");
        for outcome in [&racy, &no_await, &locked] {
            assert_eq!(outcome.tellers, tellers, "{outcome:?}");
            // Money is conserved whatever happens: each approval took exactly 60.
            assert_eq!(outcome.balance, 100 - 60 * outcome.approved, "{outcome:?}");
        }
        // The race: every teller checked before any set, so every one was approved.
        assert_eq!(racy.approved, tellers, "{racy:?}");
        assert!(racy.balance < 0, "the invariant should break: {racy:?}");
        // The fixes: one approval, the balance never below zero.
        for fixed in [&no_await, &locked] {
            assert_eq!(fixed.approved, 1, "{fixed:?}");
            assert_eq!(fixed.balance, 40, "{fixed:?}");
        }

        // How the race happened: in run 1, all the checks come before the first set.
        let run1: Vec<&String> = lines
            .iter()
            .skip_while(|l| !l.starts_with("-- 1."))
            .take_while(|l| !l.starts_with("-- 2."))
            .collect();
        let checks = run1.iter().filter(|l| l.contains("checks:")).count();
        let first_set = run1
            .iter()
            .position(|l| l.contains("withdraws"))
            .expect("run 1 withdraws");
        let last_check = run1
            .iter()
            .rposition(|l| l.contains("checks:"))
            .expect("run 1 checks");
        assert_eq!(checks as i64, tellers, "{run1:#?}");
        assert!(last_check < first_set, "{run1:#?}");
    }
}

#[test]
fn race_lock_rejects_bad_flags_with_status_2() {
    for args in [&["--tellers", "1"][..], &["--tellers"], &["--bogus"]] {
        let (status, _, stderr) = Running::start("race_lock", args).finish_with_stderr();
        assert_eq!(status.code(), Some(2), "{args:?}: {status}; {stderr}");
        assert!(stderr.contains("usage: race_lock"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// retry_backoff
// ---------------------------------------------------------------------------------------

/// One backoff line: `backoff B ms + jitter J ms = D ms; slept S ms`.
#[derive(Debug)]
struct Backoff {
    backoff: f64,
    jitter: f64,
    delay: f64,
    slept: f64,
}

fn backoffs(lines: &[String]) -> Vec<Backoff> {
    lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("backoff "))
        .map(|l| {
            // "100.0 ms + jitter 31.4 ms = 131.4 ms; slept 131.6 ms"
            let numbers: Vec<f64> = l
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap_or_else(|e| panic!("{l:?}: {e}")))
                .collect();
            assert_eq!(numbers.len(), 4, "{l:?}");
            Backoff {
                backoff: numbers[0],
                jitter: numbers[1],
                delay: numbers[2],
                slept: numbers[3],
            }
        })
        .collect()
}

/// `attempt N failed after T ms: REASON` → (N, T, REASON).
fn failures(lines: &[String]) -> Vec<(u32, f64, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("] attempt ")? + 10..];
            let (n, rest) = rest.split_once(" failed after ")?;
            let (ms, reason) = rest.split_once(" ms: ")?;
            Some((n.parse().ok()?, ms.parse().ok()?, reason.to_string()))
        })
        .collect()
}

/// Seed 001: the delays grow as base·2^n up to the cap, each with a jitter in
/// [0, backoff/2); the measured sleeps match; a hung attempt is cut at its timeout; and the
/// client gets through once the server stops failing. Two runs draw different jitter.
#[test]
fn retries_back_off_exponentially_with_bounded_jitter_then_succeed() {
    let args = [
        "--fail",
        "5",
        "--attempts",
        "7",
        "--base-ms",
        "40",
        "--cap-ms",
        "200",
        "--timeout-ms",
        "300",
    ];
    let mut jitters = Vec::new();
    for _run in 0..2 {
        let (status, lines, stderr) = Running::start("retry_backoff", &args).finish_with_stderr();
        assert!(
            status.success(),
            "{status}; stdout {lines:#?}; stderr:\n{stderr}"
        );

        let waits = backoffs(&lines);
        assert_eq!(waits.len(), 5, "one wait per failure: {lines:#?}");
        for (n, w) in waits.iter().enumerate() {
            let nominal = (40.0 * f64::from(1u32 << n)).min(200.0);
            assert!((w.backoff - nominal).abs() < 0.05, "wait {n}: {w:?}");
            assert!(
                w.jitter >= 0.0 && w.jitter <= w.backoff / 2.0,
                "wait {n}: jitter outside [0, backoff/2): {w:?}"
            );
            assert!((w.delay - (w.backoff + w.jitter)).abs() < 0.15, "{w:?}");
            // A timer never fires early (0.1 ms of printing precision aside), and on a busy
            // machine may fire late by a scheduling delay, not by another backoff.
            assert!(w.slept >= w.delay - 0.2, "woke early: {w:?}");
            assert!(w.slept <= w.delay + SLACK_MS, "slept far too long: {w:?}");
        }
        // Exponential until the cap: each uncapped nominal doubles the last.
        assert!(waits[1].backoff == 2.0 * waits[0].backoff && waits[2].backoff == 160.0);

        // The three failure modes in turn; the hung one ends at the 300 ms timeout.
        let failed = failures(&lines);
        let reasons: Vec<&str> = failed.iter().map(|f| f.2.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "closed without a reply",
                "server said \"ERR 503 busy\"",
                "timed out",
                "closed without a reply",
                "server said \"ERR 503 busy\"",
            ],
            "{lines:#?}"
        );
        let hung = failed[2].1;
        assert!(
            (299.0..=300.0 + SLACK_MS).contains(&hung),
            "timeout took {hung} ms"
        );
        let last = lines.last().expect("a summary");
        assert!(
            last.starts_with("succeeded on attempt 6 of 7 after ")
                && last.ends_with("the server saw 6 connections"),
            "{last:?}"
        );
        jitters.push(waits.iter().map(|w| w.jitter).collect::<Vec<_>>());
    }
    assert_ne!(
        jitters[0], jitters[1],
        "the jitter should differ between runs"
    );
}

/// Seed 001's warning, heeded: a retry loop gives up. Past `--attempts`, the last error is
/// reported on stderr and the exit status is 1.
#[test]
fn retry_gives_up_after_max_attempts_with_a_clear_error() {
    let args = [
        "--fail",
        "100",
        "--attempts",
        "3",
        "--base-ms",
        "10",
        "--timeout-ms",
        "200",
    ];
    let (status, lines, stderr) = Running::start("retry_backoff", &args).finish_with_stderr();
    assert_eq!(status.code(), Some(1), "{status}; {lines:#?}; {stderr}");
    assert!(
        stderr.contains("retry_backoff: gave up after 3 attempts; last error: timed out"),
        "{stderr}"
    );
    assert_eq!(backoffs(&lines).len(), 2, "{lines:#?}");
    assert_eq!(failures(&lines).len(), 3, "{lines:#?}");
    let last = lines.last().expect("a summary");
    assert!(
        last.starts_with("gave up after 3 attempts") && last.ends_with("saw 3 connections"),
        "{last:?}"
    );
}

#[test]
fn retry_backoff_rejects_bad_flags_with_status_2() {
    for args in [
        &["--attempts", "0"][..],
        &["--base-ms", "x"],
        &["--base-ms", "100", "--cap-ms", "50"],
        &["--fail"],
        &["--bogus", "1"],
    ] {
        let (status, _, stderr) = Running::start("retry_backoff", args).finish_with_stderr();
        assert_eq!(status.code(), Some(2), "{args:?}: {status}; {stderr}");
        assert!(
            stderr.contains("usage: retry_backoff"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// ---------------------------------------------------------------------------------------
// fire_and_forget
// ---------------------------------------------------------------------------------------

/// `[1.234 s] ...` → 1.234.
fn stamp_of(line: &str) -> f64 {
    let inner = line
        .strip_prefix('[')
        .and_then(|l| l.split_once(" s]"))
        .unwrap_or_else(|| panic!("no timestamp in {line:?}"))
        .0;
    inner.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

/// Seed 001's fire-and-forget trap: the panic of a task whose handle was dropped is
/// reported on stderr — Rust's panic message at once, and tempo's "nobody read its
/// JoinHandle" naming the task's id, which the program printed beside the task's name —
/// when the task ends, before main goes on. The panics the fixes read get no such line.
#[test]
fn an_unawaited_panic_is_reported_on_stderr_naming_the_task() {
    let run = Running::start_with(
        "fire_and_forget",
        &[],
        Options {
            env: &[("RUST_BACKTRACE", "0")],
            env_remove: &["RUST_LOG"],
            ..Options::default()
        },
    );
    let (status, lines, stderr) = run.finish_with_stderr();
    assert!(status.success(), "{status}; stderr:\n{stderr}");

    let spawned = lines
        .iter()
        .find(|l| l.contains("spawned \"send-receipt\" as task "))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    let id = spawned
        .split("as task ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an id");

    // tempo's report: exactly one, for the forgotten task, by its id, with the message.
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("nobody read its JoinHandle"))
        .collect();
    assert_eq!(reports.len(), 1, "stderr:\n{stderr}");
    let report = reports[0];
    assert!(
        report.contains(&format!(
            "ERROR tempo: task {id}: task panicked: smtp: connection refused while sending \
             the receipt for order 42"
        )),
        "{report}"
    );
    // Rust's own report, once per panic (three: the forgotten one and the two handled).
    assert_eq!(
        stderr
            .matches("panicked at examples/fire_and_forget.rs")
            .count(),
        3,
        "stderr:\n{stderr}"
    );

    // When: as the task ended, before main's code ran on — not at exit.
    let charged = lines
        .iter()
        .find(|l| l.contains("main: order 42 charged"))
        .unwrap_or_else(|| panic!("{lines:#?}"));
    assert!(stamp_of(report) <= stamp_of(charged), "{report}\n{charged}");
    // The runtime's record names the task, with the same id.
    assert!(
        lines.iter().any(|l| l.contains(&format!(
            "the runtime's record of it: task {id} \"send-receipt\""
        )) && l.contains("panicked: smtp")),
        "{lines:#?}"
    );

    // The fixes read every outcome.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("receipt for order 43 failed (task panicked: smtp")),
        "{lines:#?}"
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with("2 receipts sent, 1 failed and handled, 0 forgotten")),
        "{lines:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// monitor_console
// ---------------------------------------------------------------------------------------

/// A console session over a std socket: what `nc 127.0.0.1 PORT` is to a reader.
struct Console {
    stream: TcpStream,
}

impl Console {
    /// Connects and reads the banner, up to the first prompt.
    fn connect(addr: SocketAddr) -> (Console, String) {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut console = Console { stream };
        let banner = console.until(b"> ");
        (console, banner)
    }

    /// Sends a command; its answer, up to the next prompt.
    fn ask(&mut self, command: &str) -> String {
        self.stream
            .write_all(format!("{command}\n").as_bytes())
            .expect("write to the console");
        let mut answer = self.until(b"\n> ");
        answer.truncate(answer.len() - 2);
        answer
    }

    /// Reads until what was read ends with `end`; a timeout or EOF fails the test.
    fn until(&mut self, end: &[u8]) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(end) {
            let n = self
                .stream
                .read(&mut buf)
                .unwrap_or_else(|e| panic!("console read: {e}; so far {got:?}"));
            assert!(n > 0, "the console closed; so far:\n{}", lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        lossy(&got)
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The listing line of a named task, if `table` has one.
fn row<'a>(table: &'a str, name: &str) -> Option<&'a str> {
    let quoted = format!("{name:?}");
    table.lines().find(|l| l.contains(&quoted))
}

/// Seed 004's aiomonitor: on a running server, the console's `ps` lists the server's
/// named tasks — the ticker, the accept loop, one task per client waiting on its socket —
/// and a client that leaves moves its task to `ps-finished`. Then Ctrl-C stops the server
/// cleanly.
#[test]
fn the_console_lists_the_named_tasks_of_a_running_server() {
    let server = Running::start(
        "monitor_console",
        &["--addr", "127.0.0.1:0", "--monitor", "127.0.0.1:0"],
    );
    let addr = server.announced("listening on ");
    let monitor = server.announced("monitor on ");

    // Two clients; each greeting proves its connection task is running.
    let mut first = Client::connect(addr);
    let mut second = Client::connect(addr);
    for client in [&mut first, &mut second] {
        let hello = client.line();
        assert!(hello.starts_with("hello 127.0.0.1:"), "{hello:?}");
        assert_eq!(client.ask("ping"), "ping");
    }
    let names: Vec<String> = [&first, &second]
        .iter()
        .map(|c| format!("conn {}", c.writer.local_addr().expect("local addr")))
        .collect();

    let (mut console, banner) = Console::connect(monitor);
    assert!(banner.contains("ps-finished"), "{banner}");
    // Our "ping" came back from inside the connection task's poll: until that poll ends
    // and the task is parked on its next read, `ps` may still show it running. Ask until
    // all are parked (bounded), as a reader at the console would look again.
    let deadline = Instant::now() + LINE_TIMEOUT;
    let ps = loop {
        let ps = console.ask("ps");
        // The ticker too: once a second it is polled, and a `ps` then sees it running.
        let parked = names
            .iter()
            .all(|name| row(&ps, name).is_some_and(|l| l.contains("read on socket")))
            && row(&ps, "ticker").is_some_and(|l| l.contains("timer"));
        if parked {
            break ps;
        }
        server.assert_alive();
        assert!(
            Instant::now() < deadline,
            "the connection tasks never showed parked on a read:\n{ps}"
        );
        thread::sleep(Duration::from_millis(10));
    };
    for name in ["ticker", "accept loop"] {
        assert!(row(&ps, name).is_some(), "no {name:?} in ps:\n{ps}");
    }
    for name in &names {
        let line = row(&ps, name).unwrap_or_else(|| panic!("no {name:?} in ps:\n{ps}"));
        assert!(line.contains("read on socket"), "{line}");
    }
    assert!(
        row(&ps, "ticker").is_some_and(|l| l.contains("timer")),
        "{ps}"
    );

    // The first client leaves: its task ends, and moves from `ps` to `ps-finished`. The
    // server's side ends a moment after our close, so ask until it shows (bounded).
    drop(first);
    let deadline = Instant::now() + LINE_TIMEOUT;
    let finished = loop {
        let finished = console.ask("ps-finished");
        if row(&finished, &names[0]).is_some() {
            break finished;
        }
        server.assert_alive();
        assert!(
            Instant::now() < deadline,
            "{} never finished:\n{finished}",
            names[0]
        );
        thread::sleep(Duration::from_millis(10));
    };
    assert!(
        row(&finished, &names[0]).is_some_and(|l| l.ends_with("completed")),
        "{finished}"
    );
    let ps = console.ask("ps");
    assert!(row(&ps, &names[0]).is_none(), "{ps}");
    assert!(row(&ps, &names[1]).is_some(), "{ps}");
    let stats = console.ask("stats");
    assert!(stats.contains("worker 0:"), "{stats}");

    let (status, _, stderr) = server.interrupt();
    assert!(status.success(), "{status}; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `--demo` talks to its own console and prints the answers: the named tasks in `ps`, the
/// closed client in `ps-finished`.
#[test]
fn the_monitor_demo_prints_what_its_console_answered() {
    let (status, lines, stderr) = Running::start(
        "monitor_console",
        &[
            "--demo",
            "--addr",
            "127.0.0.1:0",
            "--monitor",
            "127.0.0.1:0",
        ],
    )
    .finish_with_stderr();
    assert!(status.success(), "{status}; stderr:\n{stderr}");
    let text = lines.join("\n");
    let ps = text
        .split("> ps\n")
        .nth(1)
        .and_then(|rest| rest.split("> ps-finished\n").next())
        .unwrap_or_else(|| panic!("no ps answer in:\n{text}"));
    for name in ["ticker", "accept loop"] {
        assert!(row(ps, name).is_some(), "no {name:?} in:\n{ps}");
    }
    assert_eq!(ps.matches("\"conn 127.0.0.1:").count(), 1, "{ps}");
    assert!(ps.contains("3 live tasks"), "{ps}");
    let finished = text
        .split("> ps-finished\n")
        .nth(1)
        .and_then(|rest| rest.split("> stats\n").next())
        .unwrap_or_else(|| panic!("no ps-finished answer in:\n{text}"));
    assert!(
        finished
            .lines()
            .any(|l| l.contains("\"conn 127.0.0.1:") && l.ends_with("completed")),
        "{finished}"
    );
    assert!(text.contains("worker 0:"), "{text}");
}

#[test]
fn monitor_console_rejects_bad_flags_with_status_2() {
    for args in [
        &["--monitor", "10.1.2.3:0"][..],
        &["--monitor", "nonsense"],
        &["--tick-ms", "0"],
        &["--addr"],
        &["--bogus"],
    ] {
        let (status, _, stderr) = Running::start("monitor_console", args).finish_with_stderr();
        assert_eq!(status.code(), Some(2), "{args:?}: {status}; {stderr}");
        assert!(
            stderr.contains("usage: monitor_console"),
            "{args:?}: {stderr}"
        );
    }
}
