//! The loop, visible: `Builder::trace` and `TEMPO_TRACE=FILE` write a Chrome trace of every
//! poll, reactor turn and wake, and `trace_view` draws it as the seeds draw timelines.
//!
//! Every trace here comes from a real run in a child process — an example, or this test
//! binary re-run on one test with [`CHILD`] set (as `tests/debug_stderr.rs` does), so that
//! the environment variables and stderr are the child's alone — and is read back with
//! serde_json, as Perfetto would read it. The drawing is checked by calling
//! `examples/trace_view.rs`'s own `render`, and once by running the command.

mod support;

#[allow(dead_code)] // `main` is the binary's, not the test's
#[path = "../examples/trace_view.rs"]
mod trace_view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::child::{Ended, Options, Running, this_test};

/// Set in a child run: do the test's program instead of starting a child.
const CHILD: &str = "TEMPO_TEST_TRACE_CHILD";

/// Longest a child may take before the test kills it and fails.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

/// The committed trace the docs draw.
const COMMITTED: &str = "docs/traces/sleep_gather.json";

/// The marker line, before its arguments, that says "the text block below is this render".
const MARKER: &str = "<!-- rendered: cargo run --example trace_view -- ";

// ---------------------------------------------------------------------------------------
// Reading a trace
// ---------------------------------------------------------------------------------------

/// A fresh path for a trace file, under cargo's temporary directory for tests.
fn trace_path(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace");
    std::fs::create_dir_all(&dir).expect("create the trace directory");
    let path = dir.join(format!("{name}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A trace file read and checked for the shape every trace-event consumer needs.
struct Trace {
    /// The whole document.
    doc: Value,
    /// Its `traceEvents`.
    events: Vec<Value>,
}

/// One complete (`X`) event, with its times in nanoseconds.
#[derive(Clone, Debug)]
struct Span {
    tid: u64,
    cat: String,
    name: String,
    start: u64,
    end: u64,
    args: Value,
}

fn nanos(event: &Value, key: &str) -> u64 {
    let us = event[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {event}"));
    assert!(us >= 0.0, "negative {key} in {event}");
    (us * 1000.0).round() as u64
}

impl Trace {
    /// Reads `path` and checks it is valid trace-event JSON: a `traceEvents` array of
    /// objects, each with `ph`, `pid` and `tid`; complete events with a name, `ts` and
    /// `dur`; every flow start with exactly one end, bound to its enclosing slice; every
    /// thread that has events named by a `thread_name` metadata event.
    fn read(path: &Path) -> Trace {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()));
        let events = doc["traceEvents"]
            .as_array()
            .unwrap_or_else(|| panic!("no traceEvents array in {}", path.display()))
            .clone();
        let trace = Trace { doc, events };
        let mut starts = BTreeMap::new();
        let mut ends = BTreeMap::new();
        for event in &trace.events {
            let ph = event["ph"]
                .as_str()
                .unwrap_or_else(|| panic!("no ph: {event}"));
            assert!(event["pid"].is_u64(), "no pid: {event}");
            assert!(event["tid"].is_u64(), "no tid: {event}");
            match ph {
                "M" => assert!(event["name"].is_string() && event["args"].is_object()),
                "X" => {
                    assert!(event["name"].is_string(), "no name: {event}");
                    assert!(event["cat"].is_string(), "no cat: {event}");
                    nanos(event, "ts");
                    nanos(event, "dur");
                }
                "s" | "f" => {
                    let id = event["id"]
                        .as_u64()
                        .unwrap_or_else(|| panic!("no id: {event}"));
                    nanos(event, "ts");
                    let seen = if ph == "s" { &mut starts } else { &mut ends };
                    assert!(
                        seen.insert(id, event.clone()).is_none(),
                        "two {ph} for {id}"
                    );
                    if ph == "f" {
                        assert_eq!(event["bp"], "e", "an arrow's end binds to its poll");
                    }
                }
                other => panic!("unexpected phase {other:?}: {event}"),
            }
        }
        assert_eq!(
            starts.keys().collect::<Vec<_>>(),
            ends.keys().collect::<Vec<_>>(),
            "every arrow has both ends"
        );
        let names = trace.thread_names();
        for span in trace.spans() {
            assert!(
                names.contains_key(&span.tid),
                "tid {} has no name",
                span.tid
            );
        }
        trace
    }

    /// Each thread id's `thread_name`.
    fn thread_names(&self) -> BTreeMap<u64, String> {
        self.events
            .iter()
            .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
            .map(|e| {
                let tid = e["tid"].as_u64().expect("tid");
                (tid, e["args"]["name"].as_str().expect("a name").to_string())
            })
            .collect()
    }

    /// The thread id of the track named `name`.
    fn tid(&self, name: &str) -> u64 {
        let names = self.thread_names();
        let found = names.iter().find(|(_, n)| *n == name);
        *found
            .unwrap_or_else(|| panic!("no track named {name:?} in {names:?}"))
            .0
    }

    /// Every complete event, in file order.
    fn spans(&self) -> Vec<Span> {
        self.events
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| {
                let start = nanos(e, "ts");
                Span {
                    tid: e["tid"].as_u64().expect("tid"),
                    cat: e["cat"].as_str().expect("cat").to_string(),
                    name: e["name"].as_str().expect("name").to_string(),
                    start,
                    end: start + nanos(e, "dur"),
                    args: e["args"].clone(),
                }
            })
            .collect()
    }

    /// The polls of the task named `name`, in time order.
    fn polls(&self, name: &str) -> Vec<Span> {
        let mut polls: Vec<Span> = self
            .spans()
            .into_iter()
            .filter(|s| s.cat == "poll" && s.name == name)
            .collect();
        polls.sort_by_key(|s| s.start);
        polls
    }

    /// The reactor turns, in time order.
    fn turns(&self) -> Vec<Span> {
        let mut turns: Vec<Span> = self
            .spans()
            .into_iter()
            .filter(|s| s.cat == "turn")
            .collect();
        turns.sort_by_key(|s| s.start);
        turns
    }

    /// Every arrow: (tid and time of its start, tid and time of its end).
    fn arrows(&self) -> Vec<((u64, u64), (u64, u64))> {
        let end = |ph: &str| -> BTreeMap<u64, (u64, u64)> {
            self.events
                .iter()
                .filter(|e| e["ph"] == ph)
                .map(|e| {
                    let id = e["id"].as_u64().expect("id");
                    (id, (e["tid"].as_u64().expect("tid"), nanos(e, "ts")))
                })
                .collect()
        };
        let (starts, ends) = (end("s"), end("f"));
        starts.iter().map(|(id, s)| (*s, ends[id])).collect()
    }

    /// `otherData.dropped_events`.
    fn dropped(&self) -> u64 {
        let dropped = self.doc["otherData"]["dropped_events"].as_str();
        dropped
            .and_then(|d| d.parse().ok())
            .expect("otherData.dropped_events")
    }
}

/// Asserts that the complete events on each track never overlap: a loop does one thing at
/// a time. Returns how many tracks had spans.
fn assert_no_overlap_per_track(trace: &Trace) -> usize {
    let mut by_track: BTreeMap<u64, Vec<Span>> = BTreeMap::new();
    for span in trace.spans().into_iter().filter(|s| s.cat != "remote") {
        by_track.entry(span.tid).or_default().push(span);
    }
    for spans in by_track.values_mut() {
        spans.sort_by_key(|s| (s.start, s.end));
        for pair in spans.windows(2) {
            assert!(
                pair[1].start >= pair[0].end,
                "two spans overlap on one track:\n{:?}\n{:?}",
                pair[0],
                pair[1]
            );
        }
    }
    by_track.len()
}

// ---------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------

/// Runs example `name` with `args` to its end, within [`CHILD_DEADLINE`].
fn run_example(name: &str, args: &[&str]) -> Ended {
    Running::start(name, args).finish_within(CHILD_DEADLINE)
}

/// Re-runs this binary on the test `name` alone with [`CHILD`] and `env` set, every other
/// `TEMPO_` variable removed; fails unless the child succeeds within [`CHILD_DEADLINE`].
fn run_child(name: &str, env: &[(&str, &str)]) -> Ended {
    let finished = Running::spawn(name, child_command(name, env), Options::default())
        .finish_within(CHILD_DEADLINE);
    assert!(
        finished.status.success(),
        "{name}, run as a child, failed ({}):\n{}{}",
        finished.status,
        finished.stdout,
        finished.stderr
    );
    finished
}

fn child_command(name: &str, env: &[(&str, &str)]) -> Command {
    let mut command = this_test(name);
    command
        .env(CHILD, "1")
        .env_remove("TEMPO_DEBUG")
        .env_remove("TEMPO_TRACE")
        .envs(env.iter().copied());
    command
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Draws the trace at `path` with trace_view's own code.
fn render(path: &Path, extra: &[&str]) -> String {
    let mut args = vec![path.display().to_string()];
    args.extend(extra.iter().map(|a| a.to_string()));
    trace_view::render_args(&args).unwrap_or_else(|e| panic!("trace_view {args:?}: {e}"))
}

/// The drawn row whose label is `label`, as (its timeline, its totals).
fn row<'a>(drawing: &'a str, label: &str) -> &'a str {
    drawing
        .lines()
        .find(|line| {
            line.strip_prefix(label)
                .is_some_and(|rest| rest.starts_with("  "))
        })
        .unwrap_or_else(|| panic!("no row {label:?} in\n{drawing}"))
}

// ---------------------------------------------------------------------------------------
// sleep_gather, traced
// ---------------------------------------------------------------------------------------

/// The seed's lesson, seen in the loop itself: each sleeping task is polled twice, its
/// second poll at least a sleep after its first; the two tasks' lives overlap; between
/// their polls the loop was blocked in the reactor, and the turn that fired their timers
/// has arrows to their second polls.
#[test]
fn sleep_gather_traced_shows_the_awaited_sleeps_overlapping() {
    let sleep = Duration::from_millis(200).as_nanos() as u64;
    let path = trace_path("sleep_gather");
    let args = [
        "--secs",
        "0.2",
        "--trace",
        path.to_str().expect("a UTF-8 path"),
    ];
    let (status, lines) = Running::start("sleep_gather", &args).finish();
    assert!(
        status.success(),
        "sleep_gather exited with {status}: {lines:?}"
    );
    let trace = Trace::read(&path);
    let worker = trace.tid("worker 0");
    assert_eq!(trace.thread_names().len(), 1, "one worker, one track");

    let one = trace.polls("async sleep 1");
    let two = trace.polls("async sleep 2");
    for (name, polls) in [("async sleep 1", &one), ("async sleep 2", &two)] {
        assert_eq!(
            polls.len(),
            2,
            "{name}: polled to start and to finish: {polls:?}"
        );
        assert!(polls.iter().all(|p| p.tid == worker));
        assert!(
            polls[1].start >= polls[0].start + sleep,
            "{name}: its second poll began before its sleep was over: {polls:?}"
        );
    }
    // Awaited sleeps overlap: each task's life, first poll to last, overlaps the other's.
    let life = |polls: &[Span]| (polls[0].start, polls[1].end);
    let (a, b) = (life(&one), life(&two));
    assert!(
        a.0 < b.1 && b.0 < a.1,
        "the tasks' lives do not overlap: {a:?} {b:?}"
    );

    // Between the first polls and the second, the loop was in the reactor, waiting: the
    // turns there cover nearly all of the gap (a wait may end early to cascade the timer
    // wheel, and go round once more), and the last of them fired both timers.
    let gap = (one[0].end.max(two[0].end), one[1].start.min(two[1].start));
    let waits: Vec<Span> = trace
        .turns()
        .into_iter()
        .filter(|t| t.start >= gap.0 && t.end <= gap.1)
        .collect();
    let waited: u64 = waits.iter().map(|t| t.end - t.start).sum();
    assert!(
        waited * 10 >= (gap.1 - gap.0) * 9 && waited * 10 >= sleep * 9,
        "the loop was blocked {waited} ns of a {} ns gap: {waits:?}",
        gap.1 - gap.0
    );
    let firing = waits.last().expect("a turn between the polls");
    assert!(
        firing.args["timers fired"].as_u64() >= Some(1),
        "{firing:?}"
    );
    for second in [&one[1], &two[1]] {
        assert!(
            trace.arrows().iter().any(|&(from, to)| {
                from.0 == worker
                    && (firing.start..=firing.end).contains(&from.1)
                    && to == (worker, second.start)
            }),
            "no arrow from the turn that fired the timers to {second:?}: {:?}",
            trace.arrows()
        );
    }
    // The first polls were caused by the block_on future's poll, which spawned them.
    let main = trace.polls("block_on future");
    assert!(
        trace.arrows().iter().any(|&(from, to)| {
            (main[0].start..=main[0].end).contains(&from.1) && to == (worker, one[0].start)
        }),
        "no arrow from the spawning poll to the first poll of async sleep 1"
    );

    // And drawn: a row per task and one for the reactor.
    let drawing = render(&path, &[]);
    for label in ["block_on future", "async sleep 1", "async sleep 2"] {
        assert!(row(&drawing, label).contains("  2 polls, "), "{drawing}");
    }
    assert!(
        row(&drawing, "epoll_wait").contains("2 timers fired"),
        "{drawing}"
    );
}

/// `gather --trace FILE` writes a trace too: its lessons run inside the block_on future, so
/// it has that future's polls and the turns between, and no task.
#[test]
fn gather_takes_a_trace_file_too() {
    let path = trace_path("gather");
    let finished = run_example(
        "gather",
        &[
            "--scale",
            "0.02",
            "--trace",
            path.to_str().expect("a UTF-8 path"),
        ],
    );
    assert!(finished.status.success(), "gather: {}", finished.stderr);
    let trace = Trace::read(&path);
    assert!(trace.polls("block_on future").len() >= 5);
    assert!(
        trace
            .turns()
            .iter()
            .any(|t| t.args["timers fired"].as_u64() >= Some(1))
    );
    assert!(row(&render(&path, &[]), "block_on future").contains("polls"));
}

/// The crawler lab (`crawler --trace FILE`) drawn: a real I/O program's loop. Every page is
/// a task of its own, and each waited on its socket — its connect waits for the socket to
/// be writable — so each has a poll at the end of an arrow from a reactor turn that
/// delivered I/O events. `trace_view` draws the block_on future and the reactor, with the
/// I/O events it delivered.
#[test]
fn the_crawler_traced_shows_its_page_tasks_woken_by_io_events() {
    let path = trace_path("crawler");
    let args = [
        "--pages",
        "12",
        "--concurrency",
        "3",
        "--timeout",
        "1",
        "--trace",
        path.to_str().expect("a UTF-8 path"),
    ];
    let crawled = run_example("crawler", &args);
    assert!(
        crawled.status.success(),
        "crawler exited with {}:\n{}{}",
        crawled.status,
        crawled.stdout,
        crawled.stderr
    );
    // One line per page requested, whatever came of it.
    let pages = crawled
        .lines
        .iter()
        .filter(|l| {
            ["ok ", "error ", "timeout "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .count();
    assert_eq!(pages, 12, "{}", crawled.stdout);

    let trace = Trace::read(&path);
    let worker = trace.tid("worker 0");
    assert_eq!(trace.dropped(), 0);
    let spans = trace.spans();
    // Besides the block_on future: a task per page, and the loop watcher.
    let tasks: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.cat == "poll" && s.name != "block_on future")
        .map(|s| s.name.as_str())
        .collect();
    assert!(
        tasks.len() > pages,
        "{} tasks polled for {pages} pages: {tasks:?}",
        tasks.len()
    );
    let io_turns: Vec<&Span> = spans
        .iter()
        .filter(|s| s.cat == "turn" && s.args["io events"].as_u64() >= Some(1))
        .collect();
    let woken_by_io: BTreeSet<&str> = trace
        .arrows()
        .iter()
        .filter(|(from, _)| {
            io_turns
                .iter()
                .any(|t| t.tid == from.0 && (t.start..=t.end).contains(&from.1))
        })
        .filter_map(|&(_, to)| {
            spans
                .iter()
                .find(|s| s.cat == "poll" && (s.tid, s.start) == to)
        })
        .map(|poll| poll.name.as_str())
        .filter(|name| *name != "block_on future")
        .collect();
    assert!(
        woken_by_io.len() >= pages,
        "only {} tasks were woken by a turn that delivered I/O events, for {pages} pages: \
         {woken_by_io:?}; {} such turns",
        woken_by_io.len(),
        io_turns.len()
    );
    assert!(io_turns.iter().all(|t| t.tid == worker), "one worker");

    let drawing = render(&path, &[]);
    assert!(
        row(&drawing, "block_on future").contains(" polls, "),
        "{drawing}"
    );
    let reactor = row(&drawing, "epoll_wait");
    let delivered: u64 = reactor
        .split(" I/O events")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no I/O events on the reactor's row: {reactor}"));
    assert!(delivered >= pages as u64, "{drawing}");
}

// ---------------------------------------------------------------------------------------
// trace_view, and the drawings in the docs
// ---------------------------------------------------------------------------------------

/// Every `<!-- rendered: cargo run --example trace_view -- ARGS -->` line in `docs/*.md` is
/// followed by a `text` code block that is exactly what that command prints today; the
/// tour and DESIGN.md each have one.
#[test]
fn every_drawing_in_the_docs_is_the_render_of_its_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("a docs entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).expect("read a doc");
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(args) = line.trim().strip_prefix(MARKER) else {
                continue;
            };
            let args = args
                .strip_suffix("-->")
                .unwrap_or_else(|| panic!("{}:{}: unclosed marker", doc.display(), i + 1));
            let mut args: Vec<String> = args.split_whitespace().map(String::from).collect();
            // The file is named from the repository's root, as the command runs there.
            let file = args
                .iter()
                .position(|a| !a.starts_with("--") && !a.chars().all(|c| c.is_ascii_digit()))
                .unwrap_or_else(|| panic!("{}:{}: no file", doc.display(), i + 1));
            args[file] = root.join(&args[file]).display().to_string();
            let expected = trace_view::render_args(&args)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", doc.display(), i + 1));
            assert_eq!(
                lines.get(i + 1).map(|l| l.trim()),
                Some("```text"),
                "{}:{}: the marker must be followed by a ```text block",
                doc.display(),
                i + 1
            );
            let block: Vec<&str> = lines[i + 2..]
                .iter()
                .copied()
                .take_while(|l| l.trim() != "```")
                .collect();
            let found = block.join("\n") + "\n";
            assert_eq!(
                found,
                expected,
                "{}:{}: the drawing is not what trace_view prints for it now; replace the \
                 block with:\n{expected}",
                doc.display(),
                i + 1
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "the tour and DESIGN.md each draw the committed trace; {checked} drawing(s) found"
    );
}

/// The committed trace is a real `sleep_gather --secs 0.2` trace, and its drawing is the
/// same every time it is made (and at every width, it has its rows).
#[test]
fn the_committed_trace_is_a_sleep_gather_run_and_draws_the_same_each_time() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    let trace = Trace::read(&path);
    assert_eq!(trace.polls("async sleep 1").len(), 2);
    assert_eq!(trace.polls("async sleep 2").len(), 2);
    assert_eq!(trace.dropped(), 0);
    assert_eq!(render(&path, &[]), render(&path, &[]));
    for width in ["10", "60", "200"] {
        let drawing = render(&path, &["--width", width]);
        for label in [
            "block_on future",
            "async sleep 1",
            "async sleep 2",
            "epoll_wait",
        ] {
            row(&drawing, label);
        }
    }
}

/// The command prints exactly the render, and bad input — a bad flag, a missing or empty
/// file, a file that is not a trace — gets a clear message and exit status 2.
#[test]
fn trace_view_the_command_prints_the_render_and_refuses_bad_input() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = root.join(COMMITTED);
    let run = |args: &[&str]| run_example("trace_view", args);
    let file = committed.to_str().expect("a UTF-8 path");
    let printed = run(&[file, "--width", "72"]);
    assert!(printed.status.success(), "{}", printed.stderr);
    assert_eq!(printed.stdout, render(&committed, &["--width", "72"]));

    let empty = trace_path("empty");
    std::fs::write(&empty, "").expect("write an empty file");
    let not_a_trace = trace_path("not-a-trace");
    std::fs::write(&not_a_trace, "{\"hello\": 1}").expect("write a file");
    let overflowing = trace_path("overflowing");
    std::fs::write(
        &overflowing,
        r#"{"traceEvents":[{"ph":"X","cat":"poll","name":"a","pid":1,"tid":1,"ts":1e300,"dur":1e300}]}"#,
    )
    .expect("write a file");
    let cases: [(&[&str], &str); 7] = [
        (
            &[overflowing.to_str().expect("UTF-8")],
            "ends past any time",
        ),
        (&[file, "--width", "3"], "--width 3"),
        (&[file, "--width"], "--width needs a value"),
        (&[file, "--colour"], "unknown flag"),
        (&["/nonexistent/trace.json"], "/nonexistent/trace.json"),
        (
            &[empty.to_str().expect("UTF-8")],
            "never shut its runtime down",
        ),
        (&[not_a_trace.to_str().expect("UTF-8")], "traceEvents"),
    ];
    for (args, says) in cases {
        let refused = run(args);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(
            refused.stderr.contains(says),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(!refused.stderr.contains("panicked"), "{}", refused.stderr);
        assert!(refused.stdout.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// TEMPO_TRACE, several workers, debug mode beside it, the cap, failures
// ---------------------------------------------------------------------------------------

/// A task name that JSON must escape.
const AWKWARD_NAME: &str = "quote \" backslash \\ newline \n tab \t bell \u{7} ✓";

/// The child program: three workers, tasks on each that yield, sleep and wake tasks on
/// other workers through channels, and one task with an awkward name.
fn three_workers_busy() {
    let runtime = tempo::Builder::new().workers(3).build().expect("a runtime");
    runtime.block_on(async {
        let mut handles = Vec::new();
        for i in 0..6 {
            let (tx, rx) = tempo::sync::oneshot::channel::<u32>();
            // Placed round-robin: the receiver and the sender land on different workers.
            handles.push(tempo::spawn(async move { rx.await.expect("a value") }));
            handles.push(tempo::spawn(async move {
                for _ in 0..3 {
                    tempo::task::yield_now().await;
                }
                tempo::time::sleep(Duration::from_millis(2)).await;
                let _ = tx.send(i);
                i
            }));
        }
        let awkward = tempo::task::Builder::new()
            .name(AWKWARD_NAME)
            .spawn(async { 7 });
        for handle in handles {
            handle.await.expect("a task");
        }
        awkward.await.expect("the awkward task");
    });
}

/// `TEMPO_TRACE` on a program that never asked for a trace: one track per worker, each
/// with polls, and on no track do two spans overlap; wakes across workers come from the
/// other threads' tracks; an awkward task name survives the JSON.
#[test]
fn tempo_trace_gives_each_worker_a_track_whose_spans_never_overlap() {
    if is_child() {
        return three_workers_busy();
    }
    let path = trace_path("three-workers");
    let file = path.to_str().expect("a UTF-8 path");
    run_child(
        "tempo_trace_gives_each_worker_a_track_whose_spans_never_overlap",
        &[("TEMPO_TRACE", file)],
    );
    let trace = Trace::read(&path);
    let spans = trace.spans();
    for n in 0..3 {
        let tid = trace.tid(&format!("worker {n}"));
        assert!(
            spans.iter().any(|s| s.tid == tid && s.cat == "poll"),
            "worker {n} has no polls"
        );
        assert!(spans.iter().any(|s| s.tid == tid && s.cat == "turn"));
    }
    trace.tid("block_on thread");
    assert!(assert_no_overlap_per_track(&trace) >= 4);
    let remote: BTreeSet<u64> = spans
        .iter()
        .filter(|s| s.cat == "remote")
        .map(|s| s.tid)
        .collect();
    assert!(
        !remote.is_empty(),
        "no wake from another thread was recorded"
    );
    assert!(
        trace
            .arrows()
            .iter()
            .any(|(from, to)| remote.contains(&from.0) && from.0 != to.0),
        "no arrow from another thread's track"
    );
    assert_eq!(
        trace.polls(AWKWARD_NAME).len(),
        1,
        "the awkward name, escaped and back"
    );
    // Every arrow ends at the start of a poll on its own track.
    for (_, to) in trace.arrows() {
        assert!(
            spans
                .iter()
                .any(|s| s.cat == "poll" && (s.tid, s.start) == to),
            "an arrow ends where no poll begins: {to:?}"
        );
    }
}

/// The child program: a task that blocks its worker for 150 ms in one poll.
fn block_the_loop_once() {
    tempo::run(async {
        let blocker = tempo::task::Builder::new().name("blocker").spawn(async {
            // The blocking call is the subject of the test, not a way to order events.
            std::thread::sleep(Duration::from_millis(150));
        });
        blocker.await.expect("the blocking task");
    });
}

/// Debug mode and the trace watch one worker together: the slow poll is both warned about
/// and in the trace, at its length.
#[test]
fn tracing_and_debug_mode_run_together() {
    if is_child() {
        return block_the_loop_once();
    }
    let path = trace_path("with-debug");
    let file = path.to_str().expect("a UTF-8 path");
    let child = run_child(
        "tracing_and_debug_mode_run_together",
        &[("TEMPO_TRACE", file), ("TEMPO_DEBUG", "1")],
    );
    assert!(
        child.stderr.contains("tempo: slow poll: task") && child.stderr.contains("blocker"),
        "no slow-poll warning:\n{}",
        child.stderr
    );
    let trace = Trace::read(&path);
    let polls = trace.polls("blocker");
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert!(polls[0].end - polls[0].start >= 150_000_000, "{polls:?}");
}

/// The child program: a hundred polls of one task, traced with room for twenty events.
fn more_events_than_the_cap() {
    let path = std::env::var("TRACE_FILE").expect("TRACE_FILE");
    let runtime = tempo::Builder::new()
        .trace(path)
        .trace_max_events(20)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        tempo::spawn(async {
            for _ in 0..100 {
                tempo::task::yield_now().await;
            }
        })
        .await
        .expect("the yielding task");
    });
}

/// Memory is bounded: past its cap a worker keeps no more events, and the file and stderr
/// say how many were dropped; what was kept is still a valid trace.
#[test]
fn a_trace_past_its_cap_keeps_the_first_events_and_says_what_it_dropped() {
    if is_child() {
        return more_events_than_the_cap();
    }
    let path = trace_path("capped");
    let file = path.to_str().expect("a UTF-8 path");
    let child = run_child(
        "a_trace_past_its_cap_keeps_the_first_events_and_says_what_it_dropped",
        &[("TRACE_FILE", file)],
    );
    let trace = Trace::read(&path);
    let recorded = trace.spans().len() + trace.arrows().len();
    assert!(recorded <= 20, "{recorded} events kept with a cap of 20");
    assert!(trace.dropped() >= 100 - 20, "dropped {}", trace.dropped());
    assert!(
        child.stderr.contains("events dropped") && child.stderr.contains(file),
        "no word of the dropped events on stderr:\n{}",
        child.stderr
    );
    assert!(render(&path, &[]).contains("events were dropped"));
}

/// A file the Builder names that cannot be created fails the build; one `TEMPO_TRACE` names
/// is reported, and the program runs untraced.
#[test]
fn an_uncreatable_trace_file_fails_the_build_but_tempo_trace_only_warns() {
    if is_child() {
        assert_eq!(tempo::run(async { 6 * 7 }), 42);
        return;
    }
    let nowhere = "/nonexistent-directory/trace.json";
    let error = tempo::Builder::new()
        .trace(nowhere)
        .build()
        .expect_err("a trace file in a directory that does not exist");
    assert!(error.to_string().contains(nowhere), "{error}");

    let child = run_child(
        "an_uncreatable_trace_file_fails_the_build_but_tempo_trace_only_warns",
        &[("TEMPO_TRACE", nowhere)],
    );
    assert!(
        child.stderr.contains(nowhere) && child.stderr.contains("not tracing"),
        "{}",
        child.stderr
    );
}

/// The child program: says it runs, then waits to be killed.
fn run_until_killed() {
    tempo::run(async {
        // After the harness's `test NAME ... `, on the same line.
        println!("the child is running");
        tempo::time::sleep(CHILD_DEADLINE).await;
    });
}

/// A process killed before its runtime shuts down leaves the file empty — created at build,
/// never written — and trace_view says why.
#[test]
fn a_process_killed_mid_run_leaves_an_empty_file() {
    if is_child() {
        return run_until_killed();
    }
    let path = trace_path("killed");
    let file = path.to_str().expect("a UTF-8 path");
    let name = "a_process_killed_mid_run_leaves_an_empty_file";
    let child = Running::spawn(
        name,
        child_command(name, &[("TEMPO_TRACE", file)]),
        Options::default(),
    );
    let running = loop {
        match child.next_line_within(CHILD_DEADLINE) {
            Some(line) if line.ends_with("the child is running") => break true,
            Some(_) => continue,
            None => break false,
        }
    };
    child.signal(libc::SIGKILL);
    let finished = child.finish_within(CHILD_DEADLINE);
    assert!(
        running,
        "the child never said it was running: {}",
        finished.stderr
    );
    assert!(!finished.status.success());
    let written = std::fs::read(&path).expect("the file was created at build");
    assert!(
        written.is_empty(),
        "{} bytes written by a killed process",
        written.len()
    );
    let refused = trace_view::render_args(&[file.to_string()]).expect_err("an empty file");
    assert!(refused.contains("never shut its runtime down"), "{refused}");
}

// ---------------------------------------------------------------------------------------
// Who woke whom: a task's end, the block_on future, and one file per runtime
// ---------------------------------------------------------------------------------------

/// One worker: the `block_on` future awaits a task, which awaits a child task. Every wake
/// happens on the worker's own thread — the child's end wakes its parent, the parent's end
/// wakes the `block_on` future — so the trace must show no wake "from another thread", and
/// an arrow from each finishing poll to the poll it woke.
#[test]
fn a_task_that_ends_wakes_its_awaiter_by_its_own_arrow() {
    let path = trace_path("joins");
    let runtime = tempo::Builder::new()
        .trace(&path)
        .build()
        .expect("a traced runtime");
    runtime.block_on(async {
        let parent = tempo::task::Builder::new().name("parent").spawn(async {
            let child = tempo::task::Builder::new().name("child").spawn(async {
                tempo::task::yield_now().await;
                7
            });
            child.await.expect("the child") * 6
        });
        assert_eq!(parent.await.expect("the parent"), 42);
    });
    drop(runtime);
    let trace = Trace::read(&path);
    let remote: Vec<Span> = trace
        .spans()
        .into_iter()
        .filter(|s| s.cat == "remote")
        .collect();
    assert!(
        remote.is_empty(),
        "wakes on the worker's own thread drawn as from another thread: {remote:?}"
    );
    let arrows = trace.arrows();
    let arrow_between = |from: &Span, to: &Span| {
        arrows
            .iter()
            .any(|(s, e)| s.1 >= from.start && s.1 <= from.end && e.1 == to.start)
    };
    let (child, parent, main) = (
        trace.polls("child"),
        trace.polls("parent"),
        trace.polls("block_on future"),
    );
    let (child_end, parent_end) = (
        child.last().expect("child polls"),
        parent.last().expect("parent polls"),
    );
    let parent_after = parent
        .iter()
        .find(|p| p.start >= child_end.end)
        .expect("a parent poll after the child ended");
    assert!(
        arrow_between(child_end, parent_after),
        "no arrow from the child's last poll to the parent's next"
    );
    let main_after = main
        .iter()
        .find(|p| p.start >= parent_end.end)
        .expect("a block_on poll after the parent ended");
    assert!(
        arrow_between(parent_end, main_after),
        "no arrow from the parent's last poll into the block_on future's"
    );
}

/// `TEMPO_TRACE` gives every runtime of a process the same path. Two runtimes alive at once
/// must not write one file over the other: the second writes beside it, says where, and
/// both files are whole traces.
#[test]
fn two_runtimes_given_one_path_write_two_whole_files() {
    let path = trace_path("twice");
    let second = PathBuf::from(format!("{}.2", path.display()));
    let _ = std::fs::remove_file(&second);
    let first_rt = tempo::Builder::new().trace(&path).build().expect("first");
    let second_rt = tempo::Builder::new().trace(&path).build().expect("second");
    first_rt.block_on(async { tempo::task::yield_now().await });
    second_rt.block_on(async { tempo::task::yield_now().await });
    drop(first_rt);
    drop(second_rt);
    for file in [&path, &second] {
        let trace = Trace::read(file);
        assert!(
            !trace.polls("block_on future").is_empty(),
            "{} holds no polls",
            file.display()
        );
    }
}
