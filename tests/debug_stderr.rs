//! Debug mode speaks without setup: `TEMPO_DEBUG=1` in a program that installed no logger
//! prints its warnings on stderr (asyncio's debug mode does the same through `logging`'s
//! last-resort handler). With a logger, they are `log` records instead — `tests/diagnostics.rs`
//! captures them there.
//!
//! This test binary installs no logger, and each test runs its program in a child process
//! (this same binary, re-run on the one test with [`CHILD`] set), so that the child's stderr
//! can be read whole and nothing else in the process can have installed one.

mod support;

use std::time::Duration;

use support::child::{Options, Running, this_test};

/// Set in the child run: do the work instead of starting a child.
const CHILD: &str = "TEMPO_TEST_DEBUG_STDERR_CHILD";

/// Re-run this binary on the test `name` alone, with `TEMPO_DEBUG` set to `debug` (or unset),
/// and return the child's stderr. Panics if the child failed.
fn child_stderr(name: &str, debug: Option<&str>) -> String {
    let mut command = this_test(name);
    command.env(CHILD, "1");
    match debug {
        Some(value) => command.env("TEMPO_DEBUG", value),
        None => command.env_remove("TEMPO_DEBUG"),
    };
    // A child that hangs fails the test at this deadline (and is killed) instead of
    // hanging it.
    let ended =
        Running::spawn(name, command, Options::default()).finish_within(Duration::from_secs(60));
    assert!(
        ended.status.success(),
        "{name}, run as a child, failed:\n{}{}",
        ended.stdout,
        ended.stderr
    );
    ended.stderr
}

/// The program: a task that blocks its worker for 150 ms in one poll — longer than debug
/// mode's 100 ms threshold — and nothing else.
fn block_the_loop_once() {
    tempo::run(async {
        tempo::spawn(async {
            // The blocking call is the subject of the test, not a way to order events.
            std::thread::sleep(Duration::from_millis(150));
        })
        .await
        .expect("the blocking task");
    });
}

#[test]
fn debug_mode_without_a_logger_warns_on_stderr() {
    if std::env::var_os(CHILD).is_some() {
        return block_the_loop_once();
    }
    let stderr = child_stderr("debug_mode_without_a_logger_warns_on_stderr", Some("1"));
    assert!(
        stderr.contains("tempo: slow poll: task") && stderr.contains("spawn_blocking"),
        "no slow-poll warning on stderr:\n{stderr}"
    );
}

#[test]
fn without_debug_mode_the_same_program_says_nothing() {
    if std::env::var_os(CHILD).is_some() {
        return block_the_loop_once();
    }
    let stderr = child_stderr("without_debug_mode_the_same_program_says_nothing", None);
    assert!(
        !stderr.contains("tempo:") && !stderr.contains("tempo watchdog"),
        "debug mode is off, yet tempo spoke:\n{stderr}"
    );
}

/// asyncio prints "Task exception was never retrieved" with no setup; so does tempo. A task
/// panics, its handle is dropped unread, and no logger is installed: the report is on
/// stderr, naming the task by its id and quoting the panic — not only the panic hook's line.
#[test]
fn an_unread_panic_is_reported_on_stderr_without_a_logger() {
    if std::env::var_os(CHILD).is_some() {
        tempo::run(async {
            let (tx, rx) = tempo::sync::oneshot::channel::<()>();
            // The handle is dropped at once: nobody will read the panic.
            drop(tempo::spawn(async move {
                // Dropped with the task's future, once its panic has been caught.
                let _tx = tx;
                panic!("the receipt could not be sent");
            }));
            // Resolves when the task's future is dropped; the report is made in that same
            // step on the worker, before this future can run again.
            let _ = rx.await;
        });
        return;
    }
    let stderr = child_stderr(
        "an_unread_panic_is_reported_on_stderr_without_a_logger",
        None,
    );
    let report = stderr
        .lines()
        .find(|l| l.contains("nobody read its JoinHandle"))
        .unwrap_or_else(|| panic!("no unread-panic report on stderr:\n{stderr}"));
    assert!(
        report.starts_with("tempo: task ") && report.contains("the receipt could not be sent"),
        "the report names no task or no panic: {report}"
    );
}

/// With a logger installed, debug mode's warnings are its records, and its filters decide:
/// a program whose logger shows only errors has chosen not to see warnings, so none reach
/// stderr behind its back. (The next test shows the same program's warnings do come,
/// through a logger that shows them.)
#[test]
fn a_logger_that_filters_warnings_is_obeyed() {
    if std::env::var_os(CHILD).is_some() {
        log::set_logger(&ERRORS_ONLY).expect("the only logger of this child");
        log::set_max_level(log::LevelFilter::Error);
        return block_the_loop_once();
    }
    let stderr = child_stderr("a_logger_that_filters_warnings_is_obeyed", Some("1"));
    assert!(
        !stderr.contains("slow poll") && !stderr.contains("tempo watchdog"),
        "a warning went around the program's logger to stderr:\n{stderr}"
    );
}

/// With a logger that shows warnings, debug mode's warnings arrive through it — marked by
/// the logger — and never also as bare stderr lines.
#[test]
fn a_logger_that_shows_warnings_carries_them() {
    if std::env::var_os(CHILD).is_some() {
        log::set_logger(&WARNINGS_TOO).expect("the only logger of this child");
        log::set_max_level(log::LevelFilter::Warn);
        return block_the_loop_once();
    }
    let stderr = child_stderr("a_logger_that_shows_warnings_carries_them", Some("1"));
    let slow: Vec<&str> = stderr.lines().filter(|l| l.contains("slow poll")).collect();
    assert!(!slow.is_empty(), "no slow-poll warning at all:\n{stderr}");
    assert!(
        slow.iter().all(|l| l.starts_with("[logger] ")),
        "a warning bypassed the logger:\n{stderr}"
    );
}

/// A logger that shows records up to its level, on stderr, marked so a test can tell its
/// lines from bare ones.
struct Marked(log::Level);

static ERRORS_ONLY: Marked = Marked(log::Level::Error);
static WARNINGS_TOO: Marked = Marked(log::Level::Warn);

impl log::Log for Marked {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.0
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("[logger] {}", record.args());
        }
    }

    fn flush(&self) {}
}
