//! The runtime built up step by step (`examples/learn/`) and the minimal echo server, run
//! as a reader runs them: as child processes, their stdout read line by line. Each lesson
//! claims an order of events — woken before polled again, the waker fired inside the
//! reactor's turn, the turn bounded by the nearest deadline — and these tests check that
//! order in what the program printed, and the figures it measured against each other.
//! The servers are tested with real loopback clients.
//!
//! And step 4's loop must stay recognisable as tempo's own: its numbered steps are checked
//! against `runtime/src/worker.rs`'s, number and heading.
//!
//! The programs run through `tests/support/child.rs`: every wait has a deadline, a child is
//! killed when its guard drops, and its stderr is printed if the test failed. Events are
//! ordered by what the programs print, never by sleeping.

mod support;

use std::io::Read;
use std::net::Shutdown;
use std::path::Path;
use std::time::{Duration, Instant};

use support::child::{Running, Server};
use support::client::Client;

/// The programs this file runs.
const LEARN: [&str; 7] = [
    "01_poll_by_hand",
    "02_executor",
    "03_reactor",
    "04_loop",
    "05_timers",
    "06_server",
    "echo_minimal",
];

// ---------------------------------------------------------------------------------------
// 01: a future polled by hand.
// ---------------------------------------------------------------------------------------

#[test]
fn a_future_polled_by_hand_is_polled_again_only_after_its_waker_is_woken() {
    let out = run("01_poll_by_hand", &["--delay-ms", "40"]);
    out.in_order(&[
        "main: poll #1",
        "Delay: not done; keeping the waker",
        "main: poll #1 -> Pending; parking until woken",
        "timer thread: 40 ms are up; calling wake()",
        "waker: woken (wake #1, from thread \"timer\")",
        "main: woken; polling again",
        "main: poll #2",
        "main: poll #2 -> Ready(\"slept ",
    ]);
    // Two polls, one wake: the main thread slept between them instead of polling.
    let summary = out.line_with("polls: ");
    assert!(
        summary.starts_with("polls: 2, wakes: 1, elapsed "),
        "{summary}"
    );
    let elapsed = number_after(summary, "elapsed ");
    assert!(elapsed >= 40.0, "40 ms delay, done after {elapsed} ms");
    let slept = number_after(out.line_with("-> Ready("), "slept ");
    assert!(
        slept >= 40.0 && slept <= elapsed,
        "slept {slept}, elapsed {elapsed}"
    );
}

// ---------------------------------------------------------------------------------------
// 02: the executor alone.
// ---------------------------------------------------------------------------------------

#[test]
fn the_executor_polls_ready_tasks_and_requeues_them_when_woken() {
    let out = run("02_executor", &["--delay-ms", "30"]);
    // a: ready → polled → pending (woke itself) → polled → done.
    out.in_order(&[
        "a: spawned; ready",
        "a: polled -> Pending",
        "a: it woke itself during the poll: back on the run queue",
        "a: polled -> Ready(1)",
        "a: finished (Completed)",
    ]);
    // b waits for a: woken by a's ending — its retirement, announced before its outcome —
    // on this thread, then polled again.
    out.in_order(&[
        "b: spawned; ready",
        "b: polled -> Pending",
        "a: polled -> Ready(1)",
        "b: woken; ready (on the run queue)",
        "a: finished",
        "b: polled -> Ready(2)",
    ]);
    // c waits for the helper thread: its wake comes through the channel and the unpark,
    // and is applied by drain_remote; d is spawned from there.
    out.in_order(&[
        "c: polled -> Pending",
        "nothing ready; parking the thread",
        "helper thread: spawning d, raising c's flag",
        "unpark (from thread \"helper\")",
        "c: woken; ready (on the run queue)",
        "c: polled -> Ready(3)",
    ]);
    out.in_order(&[
        "helper thread",
        "d: spawned; ready",
        "d: polled -> Ready(4)",
    ]);
    // Every poll counted: one per task, plus one more for each of a, b and c.
    let summary = out.line_with("tasks: ");
    assert!(
        summary.starts_with("tasks: 4 spawned, 4 finished; polls: 7;"),
        "{summary}"
    );
    let parked = number_after(summary, "parked ");
    assert!(
        parked >= 25.0,
        "the helper waited 30 ms; parked {parked} ms"
    );
}

// ---------------------------------------------------------------------------------------
// 03: the reactor alone.
// ---------------------------------------------------------------------------------------

#[test]
fn the_reactor_fires_the_waker_inside_the_turn_that_sees_the_peers_bytes() {
    let out = run("03_reactor", &["--delay-ms", "40"]);
    out.in_order(&[
        "registered for reads",
        "read -> Pending (nothing to read",
        "turn(wait 0.0 ms): 0 I/O events, 0 wakers woken",
        "turn(wait 20.0 ms): 0 I/O events, 0 wakers woken",
        "peer: asked to write",
        "waker: woken (wake #1)",
        "turn(wait forever): 1 I/O events, 1 wakers woken",
        "read -> Ready: 6 bytes \"hello\\n\"",
        "read -> Pending (WouldBlock",
        "peer: asked to close",
        "waker: woken (wake #2)",
        "turn(wait forever): 1 I/O events, 1 wakers woken",
        "read -> Ready: 0 bytes: end of stream",
    ]);
    // The bounded turn waited its 20 ms; the unbounded one slept until the peer wrote.
    let bounded = number_after(out.line_with("turn(wait 20.0 ms)"), "woken, ");
    assert!(bounded >= 19.0, "a 20 ms turn returned after {bounded} ms");
    let woke = number_after(out.line_with("1 wakers woken"), "woken, ");
    assert!(
        woke >= 35.0,
        "the peer wrote after 40 ms; the turn slept {woke} ms"
    );
    assert!(out.line_with("wakes: ").starts_with("wakes: 2; turns: 4;"));
}

// ---------------------------------------------------------------------------------------
// 04: the loop, the same as the worker's.
// ---------------------------------------------------------------------------------------

/// Step 4's loop and step 5's number their steps as `Worker::block_on` does, with the same
/// headings: the reader who learnt them recognises the real loop.
#[test]
fn the_learning_loops_number_their_steps_as_the_worker_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let worker = steps(&root.join("runtime/src/worker.rs"));
    assert_eq!(
        worker.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5],
        "worker.rs's block_on: {worker:?}"
    );
    for example in ["examples/learn/04_loop.rs", "examples/learn/05_timers.rs"] {
        let ours = steps(&root.join(example));
        assert_eq!(
            ours, worker,
            "{example}'s block_on has drifted from runtime/src/worker.rs's: update its \
             numbered steps (and the lesson around them)"
        );
    }
}

/// The extraction itself: it finds the steps of a `block_on`, only there, and sees a
/// changed heading.
#[test]
fn the_step_extraction_sees_headings_and_only_those_of_block_on() {
    let text = "fn other() {\n    // 1. Not this.\n}\nfn block_on() {\n    loop {\n        \
                // 1. First step. More words.\n        //    continued.\n        // 2. Second \
                — with a dash.\n    }\n}\n// 3. Not this either.\n";
    assert_eq!(
        steps_in(text),
        [
            (1, "First step.".to_string()),
            (2, "Second — with a dash.".to_string())
        ]
    );
}

#[test]
fn the_loop_serves_clients_in_the_workers_numbered_steps() {
    let out = run("04_loop", &["--clients", "3"]);
    out.in_order(&[
        "listening on 127.0.0.1:",
        "-- round 1",
        "1. block_on future polled -> Pending",
    ]);
    // Within each round the steps come in their order; a round ends with step 4 (round
    // again) or 5 (the reactor's turn) — or with the block_on future done.
    let rounds = rounds(&out.lines);
    assert!(rounds.len() >= 3, "{} rounds", rounds.len());
    for (i, round) in rounds.iter().enumerate() {
        assert!(
            round.windows(2).all(|w| w[0] < w[1]),
            "round {}: steps {round:?} out of order\n{}",
            i + 1,
            out.all()
        );
        let last = *round.last().expect("a round prints its steps");
        assert!(
            last == 4 || last == 5 || (i + 1 == rounds.len() && round == &[1]),
            "round {} ended at step {last}\n{}",
            i + 1,
            out.all()
        );
    }
    assert!(
        out.line_with("1. block_on future polled")
            .contains("Pending")
    );
    let last_step = out
        .lines
        .iter()
        .rev()
        .find(|l| l.contains(". block_on future polled"));
    assert!(
        last_step.is_some_and(|l| l.ends_with("-> Ready")),
        "{}",
        out.all()
    );
    // The loop slept in epoll_wait, and the turns woke the tasks.
    assert!(
        out.lines
            .iter()
            .any(|l| l.contains("5. reactor.turn(wait forever)") && !l.ends_with("0 woken")),
        "{}",
        out.all()
    );
    for n in 1..=3 {
        out.in_order(&[
            &format!("main: accepted connection {n},"),
            &format!("conn {n}: read 20 bytes; echoing them"),
            &format!("conn {n}: end of stream; task done"),
        ]);
    }
    assert_eq!(out.count("got its line back; closing"), 3, "{}", out.all());
    assert!(out.line_with("rounds: ").ends_with("echoed 60 bytes"));
}

// ---------------------------------------------------------------------------------------
// 05: timers.
// ---------------------------------------------------------------------------------------

#[test]
fn timers_bound_each_turn_by_the_nearest_deadline_and_finish_shortest_first() {
    let unit = 150.0;
    let out = run("05_timers", &["--unit-ms", "150"]);
    // Each turn that waited: it never slept past the nearest deadline (beyond what a busy
    // machine adds), and a turn that fired a timer did not end before that deadline.
    let mut fired = 0;
    for (i, line) in out.lines.iter().enumerate() {
        let Some(before) = line.split("nearest deadline in ").nth(1) else {
            continue;
        };
        let nearest: f64 = before.trim_end_matches(" ms").parse().expect("a number");
        let after = &out.lines[i + 1];
        let took = number_after(after, "... ");
        assert!(
            took <= nearest + 100.0,
            "the turn slept {took} ms with a deadline {nearest} ms away\n{}",
            out.all()
        );
        if !after.contains(" 0 timers") {
            fired += 1;
            assert!(
                took + 0.2 >= nearest,
                "a timer fired {took} ms into a turn whose deadline was {nearest} ms away"
            );
        }
    }
    assert_eq!(
        fired,
        3,
        "three sleeps, three turns that fired\n{}",
        out.all()
    );
    // And the loop slept through the waits, in a handful of turns, instead of looking
    // again and again: a turn per timer fired, a few more where the timer wheel moved a
    // timer to a finer level, and the zero-wait looks while tasks were ready. (A loop that
    // woke every 10 ms would take 45 turns here.)
    let turns = out.count("5. reactor.turn(");
    assert!(
        turns <= 15,
        "{turns} reactor turns for three sleeps\n{}",
        out.all()
    );
    out.in_order(&[
        "task 2: finished after",
        "task 1: finished after",
        "task 3: finished after",
        "block_on future polled -> Ready",
    ]);
    for (id, units) in [(1, 2.0), (2, 1.0), (3, 3.0)] {
        let slept = number_after(
            out.line_with(&format!("task {id}: finished after")),
            "after ",
        );
        assert!(slept >= units * unit, "task {id} slept {slept} ms");
    }
    assert!(
        out.line_with("results: ")
            .ends_with("finished in the order [2, 1, 3]")
    );
    // gather: the longest, not the sum.
    let gathered = number_after(out.line_with("gathered in "), "gathered in ");
    assert!(
        gathered >= 3.0 * unit && gathered < 3.0 * unit + 150.0,
        "gathered in {gathered} ms: the longest is {} ms, the sum {} ms",
        3.0 * unit,
        6.0 * unit
    );
}

// ---------------------------------------------------------------------------------------
// 06 and echo_minimal: servers, with real clients.
// ---------------------------------------------------------------------------------------

#[test]
fn the_runtime_server_echoes_refuses_over_the_cap_cuts_idlers_and_reports_its_loop() {
    let server = Server::start("06_server", &["--max-conns", "1", "--idle-secs", "0.5"]);
    let mut first = Client::connect(server.addr);
    assert_eq!(first.ask("hello"), "hello");
    server.wait_for_line("open (1 of at most 1)");
    // Over the cap: told, then closed.
    let mut second = Client::connect(server.addr);
    assert_eq!(second.line(), "busy");
    second.expect_eof();
    server.wait_for_line("refused, 1 open is the cap");
    // The first falls silent: cut off after the idle timeout.
    let silent = Instant::now();
    first.expect_eof();
    let cut = silent.elapsed();
    assert!(cut >= Duration::from_millis(400), "cut off after {cut:?}");
    server.wait_for_line("idle for 500ms: cut off after echoing 6 bytes");
    let (status, lines, stderr) = server.interrupt();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "exit status {status}; {lines:?}");
    let out = Output { lines };
    out.in_order(&[
        "Ctrl-C: stopping after 1 connections (1 refused, 1 timed out)",
        "the loop, as the worker counted it:",
        "loop turns ",
        "tasks: 0 live, 1 spawned, ",
    ]);
    let turns = number_after(out.line_with("loop turns "), "loop turns ");
    assert!(turns >= 3.0, "{}", out.all());
}

#[test]
fn echo_minimal_echoes_caps_connections_and_cuts_idle_clients() {
    let server = Server::start("echo_minimal", &["--max-conns", "1", "--idle-secs", "0.5"]);
    let mut first = Client::connect(server.addr);
    assert_eq!(first.ask("hello"), "hello");
    // Over the cap: closed at once, nothing said.
    let mut second = Client::connect(server.addr);
    second.expect_eof();
    // The first leaves; its place is free again as soon as it sees the server close.
    first.writer.shutdown(Shutdown::Write).expect("shutdown");
    first.expect_eof();
    let mut third = Client::connect(server.addr);
    assert_eq!(third.ask("again"), "again");
    // Bytes without a newline come back too: it echoes bytes, not lines.
    third.send(b"no newline");
    let mut back = [0u8; 10];
    third.reader.read_exact(&mut back).expect("the echo");
    assert_eq!(&back, b"no newline");
    // Silent: cut off after the idle timeout.
    let silent = Instant::now();
    third.expect_eof();
    let cut = silent.elapsed();
    assert!(cut >= Duration::from_millis(400), "cut off after {cut:?}");
    server.assert_alive();
}

#[test]
fn bad_flags_are_refused_with_status_2_and_a_usage_line() {
    for name in LEARN {
        let (status, _, stderr) = Running::start(name, &["--no-such-flag"]).finish_with_stderr();
        assert_eq!(status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("unknown argument") && stderr.contains("usage:"),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let (status, _, stderr) = Running::start("05_timers", &["--unit-ms", "0"]).finish_with_stderr();
    assert_eq!(status.code(), Some(2), "{stderr}");
    let (status, _, stderr) =
        Running::start("06_server", &["--addr", "nowhere"]).finish_with_stderr();
    assert_eq!(status.code(), Some(2), "{stderr}");
}

// ---------------------------------------------------------------------------------------
// What the tests read: numbered steps, rounds, figures.
// ---------------------------------------------------------------------------------------

/// The numbered steps (`// 1. Heading. More…`) of the `block_on` in `path`.
fn steps(path: &Path) -> Vec<(u32, String)> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let found = steps_in(&text);
    assert!(
        !found.is_empty(),
        "no numbered steps in {}'s block_on",
        path.display()
    );
    found
}

/// The numbered steps of the first `fn block_on` in `text`: each comment line `// N. …`
/// inside its body, with its heading — the words up to the first full stop (or the end of
/// the line).
fn steps_in(text: &str) -> Vec<(u32, String)> {
    let mut lines = text.lines();
    let Some(start) = lines.by_ref().find(|l| l.contains("fn block_on")) else {
        return Vec::new();
    };
    let indent = start.len() - start.trim_start().len();
    let mut found = Vec::new();
    for line in lines {
        let trimmed = line.trim_start();
        if trimmed == "}" && line.len() - trimmed.len() == indent {
            break; // the end of block_on
        }
        let Some(comment) = trimmed.strip_prefix("// ") else {
            continue;
        };
        let Some((number, rest)) = comment.split_once(". ") else {
            continue;
        };
        let Ok(number) = number.parse::<u32>() else {
            continue;
        };
        let heading = match rest.find(". ") {
            Some(end) => &rest[..=end],
            None => rest,
        };
        found.push((number, heading.trim().to_string()));
    }
    found
}

/// The step numbers each `-- round N` of a loop printed, in order.
fn rounds(lines: &[String]) -> Vec<Vec<u32>> {
    let mut rounds: Vec<Vec<u32>> = Vec::new();
    for line in lines {
        if line.starts_with("-- round ") {
            rounds.push(Vec::new());
            continue;
        }
        // `[   1.2 ms]   2. ran 2 tasks`: a step line is indented by two after the stamp.
        let Some((_, rest)) = line.split_once("]   ") else {
            continue;
        };
        let Some((number, _)) = rest.split_once(". ") else {
            continue;
        };
        if let (Ok(n), Some(round)) = (number.parse(), rounds.last_mut()) {
            round.push(n);
        }
    }
    rounds
}

/// The number that follows `label` in `line` (`"elapsed 51.9 ms"` → 51.9).
fn number_after(line: &str, label: &str) -> f64 {
    let rest = line
        .split_once(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line:?}"))
        .1;
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line:?}"))
}

/// What a finished example printed.
struct Output {
    /// Its stdout, line by line.
    lines: Vec<String>,
}

impl Output {
    /// Every line, for failure messages.
    fn all(&self) -> String {
        self.lines.join("\n")
    }

    /// The first line containing `needle`.
    fn line_with(&self, needle: &str) -> &str {
        self.lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", self.all()))
    }

    /// How many lines contain `needle`.
    fn count(&self, needle: &str) -> usize {
        self.lines.iter().filter(|l| l.contains(needle)).count()
    }

    /// Each needle is found on a line after the previous needle's line.
    fn in_order(&self, needles: &[&str]) {
        let mut from = 0;
        for needle in needles {
            match self.lines[from..].iter().position(|l| l.contains(needle)) {
                Some(i) => from += i + 1,
                None => panic!(
                    "expected {needle:?} after line {from} (the order {needles:?}) in:\n{}",
                    self.all()
                ),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The children.
// ---------------------------------------------------------------------------------------

/// Runs `name` to its end; it must exit with status 0, and nothing may have panicked.
fn run(name: &str, args: &[&str]) -> Output {
    let (status, lines, stderr) = Running::start(name, args).finish_with_stderr();
    assert!(
        status.success(),
        "{name} exited with {status}; stdout:\n{}\nstderr:\n{stderr}",
        lines.join("\n"),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    Output { lines }
}
