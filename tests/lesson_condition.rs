//! `examples/condition.rs` run as a child process, the way a reader runs it, and checked
//! for what it teaches about `tempo::sync::Condition` — not for exact figures, which are
//! the run's own:
//!
//! - no consumer proceeds before the state it waits for is set: every item is taken after
//!   the line that put it, at a time no earlier than when it was put, and exactly once;
//! - `notify_all` wakes every consumer still waiting: each consumer leaves exactly once,
//!   after the line that closed the shelf, at a time no earlier than the close;
//! - bad flags get a clear error and exit code 2.
//!
//! The child runs through `tests/support` (built with the other examples, killed if it
//! misses its deadline, its stderr printed when a check fails).

mod support;

use std::time::Duration;

use support::child::{Ended, Options, Running};

/// Longest a run may take, building aside, on a busy 2-core VM. A run takes about
/// `(items + 1) × interval`.
const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// One timed line of the lesson's output: `   T ms  WHAT`.
#[derive(Debug)]
struct Event {
    /// Its place in stdout: the order things happened in (one worker thread prints them
    /// all, each while holding the shelf's mutex or after it was let go).
    line: usize,
    /// Milliseconds since the program started, as it printed them.
    ms: f64,
    /// What happened.
    what: What,
}

#[derive(Debug, PartialEq)]
enum What {
    Waits { consumer: u32 },
    Puts { item: u32 },
    Takes { consumer: u32, item: u32 },
    Closes,
    Leaves { consumer: u32 },
}

#[test]
fn no_consumer_takes_an_item_before_it_is_put_and_each_item_is_taken_once() {
    let (consumers, items) = (3, 5);
    let (events, summary) =
        run_lesson(&["--consumers", "3", "--items", "5", "--interval-ms", "40"]);
    for item in 1..=items {
        let put = the_one(&events, |w| *w == What::Puts { item }, "put of item", item);
        let take = the_one(
            &events,
            |w| matches!(w, What::Takes { item: i, .. } if *i == item),
            "take of item",
            item,
        );
        assert!(
            take.line > put.line,
            "item {item} was taken (line {}) before it was put (line {}): {events:#?}",
            take.line,
            put.line
        );
        assert!(
            take.ms >= put.ms,
            "item {item} was taken at {} ms, before it was put at {} ms",
            take.ms,
            put.ms
        );
        if let What::Takes { consumer, .. } = take.what {
            assert!((1..=consumers).contains(&consumer), "{take:?}");
        }
    }
    assert!(
        summary.starts_with("5 items put, 5 taken, each once:"),
        "summary: {summary:?}"
    );
}

#[test]
fn notify_all_wakes_every_waiting_consumer_after_the_shelf_is_closed() {
    let consumers = 4;
    let (events, summary) =
        run_lesson(&["--consumers", "4", "--items", "2", "--interval-ms", "40"]);
    let close = the_one(&events, |w| *w == What::Closes, "close", 0);
    // Every item was put before the close: between the last take and the close, every
    // consumer is waiting on the condition, so only the notify_all can let them leave.
    for consumer in 1..=consumers {
        let leaves = the_one(
            &events,
            |w| *w == What::Leaves { consumer },
            "leaving of consumer",
            consumer,
        );
        assert!(
            leaves.line > close.line && leaves.ms >= close.ms,
            "consumer {consumer} left ({leaves:?}) before the shelf was closed ({close:?})"
        );
        let last_wait = events
            .iter()
            .rfind(|e| e.what == What::Waits { consumer })
            .unwrap_or_else(|| panic!("consumer {consumer} never waited: {events:#?}"));
        assert!(
            last_wait.line < close.line,
            "consumer {consumer} was not waiting when the shelf closed: {events:#?}"
        );
    }
    assert!(
        summary.ends_with("4 of 4 consumers left after the close"),
        "summary: {summary:?}"
    );
}

#[test]
fn bad_flags_are_refused_with_exit_code_2() {
    for args in [
        &["--consumers", "0"][..],
        &["--items", "many"],
        &["--interval-ms"],
        &["--frobnicate"],
    ] {
        let output = run(args);
        let stderr = &output.stderr;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: status {:?}, stderr:\n{stderr}",
            output.status
        );
        assert!(
            stderr.contains("usage: condition"),
            "{args:?}: no usage line in stderr:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "{args:?}: a panic, not an error:\n{stderr}"
        );
    }
}

/// The one event `is` picks, which must exist and be alone.
fn the_one<'a>(events: &'a [Event], is: impl Fn(&What) -> bool, what: &str, n: u32) -> &'a Event {
    let found: Vec<&Event> = events.iter().filter(|e| is(&e.what)).collect();
    assert_eq!(found.len(), 1, "{what} {n}: {found:#?}\nin {events:#?}");
    found[0]
}

/// Runs the lesson with `args` and returns its timed events and its summary line, after
/// checking that it exited successfully.
fn run_lesson(args: &[&str]) -> (Vec<Event>, String) {
    let output = run(args);
    let (stdout, stderr) = (&output.stdout, &output.stderr);
    assert!(
        output.status.success(),
        "condition {args:?}: {}; stderr:\n{stderr}",
        output.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let (summary, timed) = lines.split_last().expect("the lesson printed nothing");
    let events = timed
        .iter()
        .enumerate()
        .map(|(line, text)| parse(line, text))
        .collect();
    (events, summary.to_string())
}

/// One line of the lesson's output, which must be a timed event.
fn parse(line: usize, text: &str) -> Event {
    let not_an_event = || -> ! { panic!("line {line} is not a timed event: {text:?}") };
    let Some((ms, rest)) = text.trim_start().split_once(" ms  ") else {
        not_an_event()
    };
    let Ok(ms) = ms.parse::<f64>() else {
        not_an_event()
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| -> u32 {
        match words.get(i).and_then(|w| w.parse().ok()) {
            Some(n) => n,
            None => not_an_event(),
        }
    };
    let what = match words.as_slice() {
        ["consumer", _, "waits:", ..] => What::Waits { consumer: num(1) },
        ["consumer", _, "takes", "item", ..] => What::Takes {
            consumer: num(1),
            item: num(4),
        },
        [
            "consumer",
            _,
            "sees",
            "the",
            "shelf",
            "closed",
            "and",
            "leaves",
        ] => What::Leaves { consumer: num(1) },
        ["producer", "puts", "item", ..] => What::Puts { item: num(3) },
        ["producer", "closes", "the", "shelf,", ..] => What::Closes,
        _ => not_an_event(),
    };
    Event { line, ms, what }
}

/// Runs the lesson to its end, within `RUN_DEADLINE`; fails (killing it) if it has not
/// ended by then.
fn run(args: &[&str]) -> Ended {
    Running::start_with("condition", args, Options::default()).finish_within(RUN_DEADLINE)
}
