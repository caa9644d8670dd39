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
//! The shared child helpers in `tests/support/child.rs` build a fixed list of examples that
//! does not include this one (and that file is not ours to edit), so this file has a small
//! runner of its own. Every wait on the child has a deadline, the child is killed if the
//! deadline passes, and its stderr is printed when a check fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

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
        let stderr = String::from_utf8_lossy(&output.stderr);
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
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
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

/// Runs the lesson to its end, within `RUN_DEADLINE`; kills it if the deadline passes.
fn run(args: &[&str]) -> Output {
    let mut child: Child = Command::new(lesson_path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the condition example");
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + RUN_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            // The child hangs (a consumer that never wakes, say): kill it, which closes its
            // pipes, and fail with what it printed.
            let _ = child.kill();
            let _ = child.wait();
            let stdout = stdout.join().expect("the stdout reader");
            let stderr = stderr.join().expect("the stderr reader");
            panic!(
                "condition {args:?} did not finish within {RUN_DEADLINE:?}; it printed:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        // Polling the child's exit, not ordering events: what happened is read from its
        // output, in the order it printed it.
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("the stdout reader"),
        stderr: stderr.join().expect("the stderr reader"),
    }
}

/// The built example, built once per test binary with the same profile and target
/// directory as the tests.
fn lesson_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // This binary is <target dir>[/<triple>]/<profile>/deps/<test>-<hash>.
        let exe = std::env::current_exe().expect("current_exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary in <target>/<profile>/deps")
            .to_path_buf();
        let platform_dir = profile_dir.parent().expect("a target directory");
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp");
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args([
                "build",
                "--quiet",
                "--example",
                "condition",
                "--manifest-path",
            ])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir);
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => {
                cargo.arg("--release");
            }
            Some(custom) => {
                cargo.args(["--profile", custom]);
            }
            None => panic!("unreadable profile directory {}", profile_dir.display()),
        }
        let same = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
        if !same(platform_dir, target_dir) {
            cargo
                .arg("--target")
                .arg(platform_dir.file_name().expect("triple"));
        }
        let output = cargo.output().expect("run cargo");
        assert!(
            output.status.success(),
            "building the condition example failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        profile_dir
            .join("examples")
            .join(format!("condition{}", std::env::consts::EXE_SUFFIX))
    })
    .clone()
}
