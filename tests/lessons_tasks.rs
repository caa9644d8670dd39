//! The task lessons of issue 13, run as a reader runs them — each example as a child process —
//! and held to the relation its seed claims:
//!
//! - `timeout_cleanup`: the timeout cancels the slow query at the timeout, not at the query's
//!   end; its cleanup runs before the caller sees the error; the query never finishes; the
//!   cleanup that must await is done by the owner afterwards.
//! - `task_group`: the first failure cancels the siblings, whose cleanup runs before `join`
//!   returns; no sibling ever finishes; `join` returns at the failure's time, not the longest
//!   sibling's (when all succeed, it does wait for the longest).
//! - `wait_first`: the first to finish is the shortest; the still-pending are the others,
//!   which then either finish in their own time (total ≈ the longest) or are cancelled with
//!   their cleanup (total ≈ the shortest).
//! - `unequal_delays`: tasks finish in the order of their delays; the total is close to the
//!   longest delay, not the sum.
//!
//! Every figure is read from what the example printed, which it measured. Margins: each bound
//! sits halfway between what the seed claims and what the broken program would show (the
//! timeout against the full query, the longest against the sum), so a busy 2-core VM has
//! hundreds of milliseconds of slack, while the bug the test guards against still fails it.
//!
//! Each run goes through `tests/support/child.rs`, with one deadline for the whole run.

mod support;

use std::process::ExitStatus;
use std::time::Duration;

use support::child::Running;

/// The examples this file runs.
const EXAMPLES: [&str; 4] = [
    "timeout_cleanup",
    "task_group",
    "wait_first",
    "unequal_delays",
];

/// Longest any one run may take before it is killed and the test fails.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// timeout_cleanup

#[test]
fn timeout_cancels_the_slow_query_at_the_timeout_and_its_cleanup_runs_first() {
    // Timeout 0.4 s, query 2.0 s, rollback 0.1 s.
    let (limit, query, rollback) = (0.4, 2.0, 0.1);
    let out = run("timeout_cleanup", &["--scale", "0.2"]);
    let lesson1 = out.section("-- 1.", Some("-- 2."));

    let started = lesson1.index_of("Query started...");
    let cleanup = lesson1.index_of("cleanup: connection 1 back in the pool");
    let timed_out = lesson1.index_of("Timeout! The query took too long.");
    assert!(
        started < cleanup && cleanup < timed_out,
        "the cleanup must run as the query is cancelled, before the caller sees the error:\n{out}"
    );
    assert!(
        !out.has("Data retrieved"),
        "the cancelled query ran past its await:\n{out}"
    );
    // The cleanup ran at the timeout: not at the start, not at the query's end.
    let cancelled_at = stamp(&lesson1.lines[cleanup]) - stamp(&lesson1.lines[started]);
    let took = lesson1.figure("timed out after ");
    let halfway = (limit + query) / 2.0;
    for (what, t) in [("cleanup ran", cancelled_at), ("timeout returned", took)] {
        assert!(
            (limit - 0.01..halfway).contains(&t),
            "{what} {t:.2} s after the query started; the timeout is {limit} s and the \
             query {query} s:\n{out}"
        );
    }
    assert!(
        lesson1.has("cleanups run: 1; queries that finished: 0"),
        "{out}"
    );

    // Lesson 2: the insert is cut off at the timeout, leaving its transaction open, and the
    // owner's awaited rollback closes it afterwards.
    let lesson2 = out.section("-- 2.", None);
    let begun = lesson2.index_of("BEGIN; inserting");
    let cut = lesson2.index_of("Timeout! The insert was dropped; transaction still open: true");
    let sent = lesson2.index_of("ROLLBACK sent...");
    let done = lesson2.index_of("ROLLBACK done after ");
    assert!(begun < cut && cut < sent && sent < done, "{out}");
    assert!(
        lesson2.lines[done].ends_with("transaction still open: false"),
        "{out}"
    );
    assert!(
        !lesson2.has("COMMIT"),
        "the cancelled insert committed:\n{out}"
    );
    let insert_took = stamp(&lesson2.lines[cut]) - stamp(&lesson2.lines[begun]);
    assert!(
        (limit - 0.01..halfway).contains(&insert_took),
        "the insert was cut off after {insert_took:.2} s:\n{out}"
    );
    let rollback_took = lesson2.figure("ROLLBACK done after ");
    assert!(rollback_took >= rollback - 0.01, "{out}");
    assert!(out.has("cleanup ran before the error"), "{out}");
}

// ---------------------------------------------------------------------------------------
// task_group

#[test]
fn task_group_first_failure_cancels_the_siblings_and_returns_at_its_time() {
    // Tasks 1, 2, 3 take 1.0, 0.5 and 1.5 s; in lesson 2, task 2 fails at 0.5 s.
    let (fail, longest) = (0.5, 1.5);
    let out = run("task_group", &["--scale", "0.5"]);

    // Lesson 1, the contrast: with no failure the group waits for the longest child.
    let lesson1 = out.section("-- 1.", Some("-- 2."));
    for id in 1..=3 {
        lesson1.index_of(&format!("task {id}: done"));
    }
    let all_ok = lesson1.line_with("group: Ok after ");
    assert!(
        all_ok.contains("results [Some(1), Some(2), Some(3)]"),
        "{out}"
    );
    assert!(
        lesson1.figure("group: Ok after ") >= longest - 0.01,
        "join returned before its longest child finished:\n{out}"
    );

    let lesson2 = out.section("-- 2.", None);
    let failed = lesson2.index_of("task 2: failed: task 2 encountered a critical error");
    let joined = lesson2.index_of("group: Err(Failed(\"task 2 encountered a critical error\"))");
    for sibling in [1, 3] {
        let cleanup = lesson2.index_of(&format!("task {sibling}: cancelled after "));
        assert!(lesson2.lines[cleanup].ends_with("cleanup runs"), "{out}");
        assert!(
            failed < cleanup && cleanup < joined,
            "task {sibling}'s cleanup must run after the failure and before join returns:\n{out}"
        );
        assert!(
            !lesson2.has(&format!("task {sibling}: done")),
            "task {sibling} ran to its end although a sibling had failed:\n{out}"
        );
    }
    assert!(
        lesson2.lines[joined].ends_with("results [None, None, None]"),
        "{out}"
    );
    let took = lesson2.figure("group: Err(");
    let halfway = (fail + longest) / 2.0;
    assert!(
        (fail - 0.01..halfway).contains(&took),
        "join returned after {took:.2} s; the failure came at {fail} s, the longest sibling \
         needs {longest} s:\n{out}"
    );
    assert!(out.has("siblings cancelled 2, finished 0"), "{out}");
}

// ---------------------------------------------------------------------------------------
// wait_first

#[test]
fn wait_first_returns_the_shortest_then_the_pending_are_awaited_or_cancelled() {
    // get_data(2), get_data(1), get_data(3): 1.0, 0.5 and 1.5 s.
    let (shortest, longest, sum) = (0.5, 1.5, 3.0);
    let out = run("wait_first", &["--scale", "0.5"]);

    // Both lessons: the first to complete is the shortest, at input 1, and the pending are
    // the other two, named in input order.
    for lesson in [
        out.section("-- 1.", Some("-- 2.")),
        out.section("-- 2.", None),
    ] {
        let first = lesson.index_of("Completed: Result 1 (input 1, get_data(1))");
        let pending = lesson.index_of("Still pending: get_data(2), get_data(3)");
        assert_eq!(first + 1, pending, "{out}");
        let first_at = stamp(&lesson.lines[first]) - lesson.start_stamp();
        assert!(
            (shortest - 0.01..(shortest + longest) / 2.0).contains(&first_at),
            "the first finished {first_at:.2} s after its lesson began:\n{out}"
        );
    }

    // Lesson 1: the pending, awaited, finish by their delays; the lesson takes the longest.
    let lesson1 = out.section("-- 1.", Some("-- 2."));
    let second = lesson1.index_of("Completed: Result 2 (get_data(2))");
    let third = lesson1.index_of("Completed: Result 3 (get_data(3))");
    assert!(second < third, "{out}");
    let all_done = lesson1.figure("all done ");
    assert!(
        (longest - 0.01..(longest + sum) / 2.0).contains(&all_done),
        "awaiting the rest took {all_done:.2} s; the longest task is {longest} s, the sum {sum} \
         s — the pending tasks must have kept running:\n{out}"
    );

    // Lesson 2: the pending, cancelled, clean up and report a cancelled JoinError; none
    // completes; the lesson ends near the shortest task's time.
    let lesson2 = out.section("-- 2.", None);
    for name in ["get_data(2)", "get_data(3)"] {
        let cancelling = lesson2.index_of(&format!("cancelling {name}"));
        let cleanup = lesson2.index_of(&format!("{name}: cancelled after "));
        let joined = lesson2.index_of(&format!("{name}: JoinError, cancelled: true"));
        assert!(cancelling < cleanup && cleanup < joined, "{out}");
    }
    assert!(!lesson2.has("Completed: Result 2"), "{out}");
    assert!(!lesson2.has("Completed: Result 3"), "{out}");
    let stopped = lesson2.figure("all stopped ");
    assert!(
        (shortest - 0.01..(shortest + longest) / 2.0).contains(&stopped),
        "cancelling the rest took until {stopped:.2} s; the shortest task is {shortest} s, \
         the longest {longest} s:\n{out}"
    );
    assert!(lesson2.has("cancelled 2, finished 1"), "{out}");
}

// ---------------------------------------------------------------------------------------
// unequal_delays

#[test]
fn unequal_delays_finish_shortest_first_and_take_the_longest_not_the_sum() {
    // Tasks 1, 2, 3 sleep 1.0, 0.5 and 1.5 s.
    let delays = [(1, 1.0), (2, 0.5), (3, 1.5)];
    let (longest, sum) = (1.5, 3.0);
    let out = run("unequal_delays", &["--scale", "0.5"]);
    let all = out.section("", None);

    for (id, _) in delays {
        all.index_of(&format!("Task {id}: Starting fetch"));
    }
    // The finish lines, in the order printed, must be in the order of the delays.
    let finished: Vec<(u32, f64)> = all
        .lines
        .iter()
        .filter(|line| line.contains(": Finished after "))
        .map(|line| {
            let id = line
                .split("Task ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("no task id in {line:?}"));
            (id, figure(line, "Finished after "))
        })
        .collect();
    let order: Vec<u32> = finished.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, [2, 1, 3], "not shortest first:\n{out}");
    // Each slept at least its delay (a timer never fires early).
    for (id, took) in &finished {
        let (_, delay) = delays.iter().find(|(d, _)| d == id).expect("a known task");
        assert!(
            *took >= delay - 0.01,
            "task {id} finished after {took:.2} s:\n{out}"
        );
    }
    assert!(
        all.has("Results: [1, 2, 3]"),
        "gather keeps argument order:\n{out}"
    );
    assert!(all.has("finish order: [2, 1, 3]"), "{out}");
    let total = all.figure("Total Time: ");
    assert!(
        (longest - 0.01..(longest + sum) / 2.0).contains(&total),
        "total {total:.2} s; the longest delay is {longest} s, the sum {sum} s:\n{out}"
    );
}

// ---------------------------------------------------------------------------------------
// bad input

#[test]
fn every_lesson_rejects_bad_flags_with_exit_code_2() {
    for name in EXAMPLES {
        for args in [
            &["--scale", "fast"][..],
            &["--scale", "-1"],
            &["--scale"],
            &["--nope"],
        ] {
            let out = run(name, args);
            assert_eq!(out.status.code(), Some(2), "{name} {args:?}:\n{out}");
            assert!(out.stderr.contains("usage:"), "{name} {args:?}:\n{out}");
            assert!(!out.stderr.contains("panicked"), "{name} {args:?}:\n{out}");
            assert!(out.lines.is_empty(), "{name} {args:?} printed:\n{out}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running an example, and reading what it printed

/// What a finished run of an example left.
struct Output {
    /// The command, for messages.
    command: String,
    /// How it exited.
    status: ExitStatus,
    /// Its stdout, line by line.
    lines: Vec<String>,
    /// Its whole stderr.
    stderr: String,
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "$ {}  ({})", self.command, self.status)?;
        for line in &self.lines {
            writeln!(f, "  {line}")?;
        }
        write!(f, "stderr:\n{}", self.stderr)
    }
}

impl Output {
    /// True if some line of stdout contains `text`.
    fn has(&self, text: &str) -> bool {
        self.lines.iter().any(|line| line.contains(text))
    }

    /// The lines from the one starting with `from` (the first line, if `from` is empty) up
    /// to, not including, the one starting with `to` (or the end).
    fn section(&self, from: &str, to: Option<&str>) -> Section<'_> {
        let begin = self
            .lines
            .iter()
            .position(|line| line.starts_with(from))
            .unwrap_or_else(|| panic!("no line starts with {from:?}:\n{self}"));
        let end = match to {
            Some(to) => self.lines[begin..]
                .iter()
                .position(|line| line.starts_with(to))
                .map(|n| begin + n)
                .unwrap_or_else(|| panic!("no line starts with {to:?}:\n{self}")),
            None => self.lines.len(),
        };
        // The first stamp at or after the heading: when this lesson began.
        let start = self.lines[begin..]
            .iter()
            .find(|line| line.starts_with('['))
            .map(|line| stamp(line));
        Section {
            lines: &self.lines[begin..end],
            start,
            all: self,
        }
    }
}

/// Some lines of an example's stdout: one lesson.
struct Section<'a> {
    /// The lines, heading first.
    lines: &'a [String],
    /// The stamp of the first stamped line at or after the heading.
    start: Option<f64>,
    /// The whole output, for failure messages.
    all: &'a Output,
}

impl Section<'_> {
    /// True if some line contains `text`.
    fn has(&self, text: &str) -> bool {
        self.lines.iter().any(|line| line.contains(text))
    }

    /// The index of the first line containing `text`; fails if there is none.
    fn index_of(&self, text: &str) -> usize {
        self.lines
            .iter()
            .position(|line| line.contains(text))
            .unwrap_or_else(|| panic!("no line contains {text:?}:\n{}", self.all))
    }

    /// The first line containing `text`; fails if there is none.
    fn line_with(&self, text: &str) -> &str {
        &self.lines[self.index_of(text)]
    }

    /// The number of seconds right after `marker` in the first line containing it.
    fn figure(&self, marker: &str) -> f64 {
        figure(self.line_with(marker), marker)
    }

    /// The stamp of the lesson's first stamped line.
    fn start_stamp(&self) -> f64 {
        self.start
            .unwrap_or_else(|| panic!("no stamped line in the section:\n{}", self.all))
    }
}

/// The seconds of a line's `[1.23 s]` stamp.
fn stamp(line: &str) -> f64 {
    line.strip_prefix('[')
        .and_then(|rest| rest.split(" s]").next())
        .and_then(|secs| secs.parse().ok())
        .unwrap_or_else(|| panic!("no [N s] stamp on {line:?}"))
}

/// The number of seconds that follows `marker` in `line`, as in `"took 1.23 s"`; the number
/// may be followed by " s" or "s". For `"group: Err("`, the figure after the line's " after ".
fn figure(line: &str, marker: &str) -> f64 {
    let rest = line
        .split_once(marker)
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{marker:?} not in {line:?}"));
    // A marker ending in "(" opens a value whose time follows " after ".
    let rest = if marker.ends_with('(') {
        rest.rsplit_once(" after ")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("no \" after \" in {line:?}"))
    } else {
        rest
    };
    let number: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker:?} in {line:?}"))
}

/// Runs example `name` with `args` to its end (killing it after `RUN_DEADLINE`).
fn run(name: &str, args: &[&str]) -> Output {
    let ended = Running::start(name, args).finish_within(RUN_DEADLINE);
    Output {
        command: format!("{name} {}", args.join(" ")),
        status: ended.status,
        lines: ended.lines,
        stderr: ended.stderr,
    }
    .checked()
}

impl Output {
    /// A run given good arguments must succeed; a bad one's status is the test's to check.
    fn checked(self) -> Output {
        let bad_args = self.status.code() == Some(2);
        assert!(
            self.status.success() || bad_args,
            "{} failed:\n{self}",
            self.command
        );
        self
    }
}
