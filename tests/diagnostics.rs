//! Debug mode, the watchdog, task dumps and the monitor console, asserted on the log records
//! the runtime emits (captured by a test logger) and on what the console answers.

use std::io::{BufRead, BufReader, Write};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tempo::diagnostics::{Outcome, TaskState};
use tempo::task::{TaskGroup, yield_now};

// ---------------------------------------------------------------------------------------
// A logger that keeps every record, so tests can look for the ones they expect.

struct Capture(Mutex<Vec<(log::Level, String)>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((record.level(), record.args().to_string()));
    }
    fn flush(&self) {}
}

fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::new(Capture(Mutex::new(Vec::new()))));
        log::set_logger(capture).expect("the only logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
        capture
    })
}

/// Records at `level` whose text contains every one of `needles`.
fn records(level: log::Level, needles: &[&str]) -> Vec<String> {
    logs()
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(l, m)| *l == level && needles.iter().all(|n| m.contains(n)))
        .map(|(_, m)| m.clone())
        .collect()
}

/// Wait (bounded) until a record matching `needles` appears; its text, or None after 10 s.
fn wait_for_record(level: log::Level, needles: &[&str]) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = records(level, needles).into_iter().next() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::yield_now();
    }
}

fn runtime_with_threshold(ms: u64) -> tempo::Runtime {
    logs();
    tempo::Builder::new()
        .slow_poll_threshold(Duration::from_millis(ms))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Slow polls and long turns

#[test]
fn a_blocking_poll_is_reported_by_name_and_a_fast_one_is_not() {
    let rt = runtime_with_threshold(40);
    rt.block_on(async {
        let slow = tempo::task::Builder::new()
            .name("blocks-the-loop")
            .spawn(async {
                // The mistake under test: a blocking call inside a task.
                std::thread::sleep(Duration::from_millis(80));
            });
        let fast = tempo::task::Builder::new()
            .name("well-behaved")
            .spawn(async {
                for _ in 0..10 {
                    yield_now().await;
                }
            });
        slow.await.unwrap();
        fast.await.unwrap();
    });
    let warnings = records(log::Level::Warn, &["slow poll", "\"blocks-the-loop\""]);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("poll #1"), "{}", warnings[0]);
    assert!(
        warnings[0].contains("diagnostics.rs"),
        "names the spawn location: {}",
        warnings[0]
    );
    assert!(records(log::Level::Warn, &["slow poll", "\"well-behaved\""]).is_empty());
}

#[test]
fn many_short_polls_adding_up_are_reported_as_a_long_turn() {
    let rt = runtime_with_threshold(60);
    let worker_tag = rt.block_on(async {
        let tasks: Vec<_> = (0..30)
            .map(|_| {
                tempo::task::Builder::new()
                    .name("short-but-many")
                    .spawn(async { std::thread::sleep(Duration::from_millis(4)) })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        // Let the loop reach its next reactor turn, where a run phase is measured.
        tempo::time::sleep(Duration::from_millis(1)).await;
        "ok"
    });
    assert_eq!(worker_tag, "ok");
    let long = records(log::Level::Warn, &["long loop turn", "task polls"]);
    assert!(
        !long.is_empty(),
        "30 polls of 4 ms in one turn should be reported"
    );
    assert!(records(log::Level::Warn, &["slow poll", "\"short-but-many\""]).is_empty());
}

#[test]
fn the_watchdog_reports_a_worker_while_it_is_still_stuck() {
    logs();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let runner = std::thread::spawn(move || {
        let rt = tempo::Builder::new()
            .slow_poll_threshold(Duration::from_millis(50))
            .build()
            .unwrap();
        rt.block_on(async move {
            tempo::task::Builder::new()
                .name("stuck-on-a-channel")
                .spawn(async move {
                    // Blocks the worker until the test has seen the watchdog's report.
                    release_rx.recv().unwrap();
                })
                .await
                .unwrap();
        });
    });
    let report = wait_for_record(log::Level::Warn, &["watchdog", "\"stuck-on-a-channel\""]);
    // Only now is the task released: the report came while it was stuck.
    release_tx.send(()).unwrap();
    runner.join().unwrap();
    let report = report.expect("the watchdog reported the stuck worker within 10 s");
    assert!(report.contains("is blocked now"), "{report}");
    assert!(report.contains("poll #1"), "{report}");
}

#[test]
fn a_panic_nobody_reads_is_logged() {
    logs();
    tempo::run(async {
        let detached = tempo::spawn(async { panic!("unheard-panic-detached") });
        drop(detached);
        let unread = tempo::spawn(async { panic!("unheard-panic-unread") });
        while !unread.is_finished() {
            yield_now().await;
        }
        drop(unread);
        let read = tempo::spawn(async { panic!("observed-panic") });
        assert!(read.await.unwrap_err().is_panic());
        for _ in 0..3 {
            yield_now().await;
        }
    });
    assert_eq!(
        records(
            log::Level::Error,
            &["unheard-panic-detached", "nobody read"]
        )
        .len(),
        1
    );
    assert_eq!(
        records(log::Level::Error, &["unheard-panic-unread", "nobody read"]).len(),
        1
    );
    assert!(records(log::Level::Error, &["observed-panic"]).is_empty());
}

// ---------------------------------------------------------------------------------------
// Task dumps

#[test]
fn diagnostics_are_off_by_default() {
    tempo::run(async {
        let dump = tempo::Handle::current().dump();
        assert!(!dump.enabled);
        assert!(dump.to_string().contains("diagnostics are off"));
    });
}

/// A task ends with nobody reading its output, and that output's `Drop` spawns a task —
/// which the executor places in the slot the first has just left, before the first's end
/// is announced. The dump must still list the new task alive, and the old one finished.
#[test]
fn a_task_spawned_as_another_retires_into_its_slot_is_listed_alive() {
    /// An output whose drop spawns the heir.
    struct SpawnsOnDrop;
    impl Drop for SpawnsOnDrop {
        fn drop(&mut self) {
            drop(
                tempo::task::Builder::new()
                    .name("heir")
                    .spawn(std::future::pending::<()>()),
            );
        }
    }
    let rt = tempo::Builder::new().diagnostics(true).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = tempo::sync::oneshot::channel::<()>();
        drop(
            tempo::task::Builder::new()
                .name("retiree")
                .spawn(async move {
                    let _tx = tx; // dropped as the task returns; its output is dropped just after
                    SpawnsOnDrop
                }),
        );
        let _ = rx.await;
        // The retiree's end, its output's drop and the heir's spawn all happened in the
        // retiree's last step on this worker, before this future could run again.
        let dump = tempo::Handle::current().dump();
        assert!(
            dump.task_named("heir").is_some(),
            "the heir is missing from the dump:\n{dump}"
        );
        assert!(
            dump.finished_named("retiree").is_some(),
            "the retiree is missing from the finished:\n{dump}"
        );
    });
}

#[test]
fn the_dump_lists_named_tasks_in_their_states_with_what_they_wait_on() {
    let rt = tempo::Builder::new().diagnostics(true).build().unwrap();
    rt.block_on(async {
        let listener = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sleeper = tempo::task::Builder::new()
            .name("sleeper")
            .spawn(tempo::time::sleep(Duration::from_secs(3600)));
        let reader = tempo::task::Builder::new()
            .name("reader")
            .spawn(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 8];
                let _ = conn.read(&mut buf).await;
            });
        let _client = tempo::net::TcpStream::connect(addr).await.unwrap();
        // Let both reach their await points.
        for _ in 0..10 {
            yield_now().await;
        }
        let looker = tempo::task::Builder::new()
            .name("looker")
            .spawn(async { tempo::Handle::current().dump() });
        let unpolled = tempo::task::Builder::new()
            .name("not-yet-polled")
            .spawn(async {});
        let dump = looker.await.unwrap();

        let sleeper_dump = dump.task_named("sleeper").expect("sleeper is listed");
        assert_eq!(sleeper_dump.info.state, TaskState::Idle);
        assert!(sleeper_dump.info.polls >= 1);
        assert!(
            sleeper_dump.waiting_on.iter().any(|w| w.contains("timer")),
            "{:?}",
            sleeper_dump.waiting_on
        );
        let reader_dump = dump.task_named("reader").expect("reader is listed");
        assert!(
            reader_dump.waiting_on.iter().any(|w| w.contains("read")),
            "{:?}",
            reader_dump.waiting_on
        );
        assert_eq!(
            dump.task_named("looker").unwrap().info.state,
            TaskState::Running
        );
        assert_eq!(
            dump.task_named("not-yet-polled").unwrap().info.state,
            TaskState::Scheduled
        );
        assert!(
            dump.task_named("not-yet-polled")
                .unwrap()
                .info
                .location
                .file()
                .ends_with("diagnostics.rs")
        );
        let table = dump.to_string();
        for name in ["sleeper", "reader", "looker", "not-yet-polled"] {
            assert!(table.contains(name), "{table}");
        }
        sleeper.abort();
        reader.abort();
        unpolled.await.unwrap();
    });
}

#[test]
fn finished_tasks_are_kept_with_how_they_ended_and_what_cancelled_them() {
    let rt = tempo::Builder::new().diagnostics(true).build().unwrap();
    rt.block_on(async {
        let named = |name: &str| tempo::task::Builder::new().name(name);
        named("done").spawn(async {}).await.unwrap();
        assert!(
            named("boom")
                .spawn(async { panic!("kaboom") })
                .await
                .is_err()
        );
        let victim = named("aborted").spawn(std::future::pending::<()>());
        yield_now().await;
        victim.abort(); // this line is the recorded cause
        assert!(victim.await.unwrap_err().is_cancelled());

        let mut group = TaskGroup::<()>::new();
        group.spawn(async {
            tempo::task::Builder::new()
                .name("group-sibling")
                .spawn(std::future::pending::<()>())
                .await
                .ok();
            Ok::<(), ()>(())
        });
        let sibling = group.spawn(std::future::pending::<Result<(), ()>>());
        group.spawn(async {
            yield_now().await;
            Err::<(), ()>(())
        });
        assert!(group.join().await.is_err());
        assert_eq!(sibling.await, None);

        let dump = tempo::Handle::current().dump();
        assert_eq!(
            dump.finished_named("done").unwrap().outcome,
            Outcome::Completed
        );
        assert_eq!(
            dump.finished_named("boom").unwrap().outcome,
            Outcome::Panicked(Some("kaboom".into()))
        );
        match &dump.finished_named("aborted").unwrap().outcome {
            Outcome::Cancelled(Some(tempo::diagnostics::CancelCause::Abort { at })) => {
                assert!(at.file().ends_with("diagnostics.rs"), "{at}");
            }
            other => panic!("{other:?}"),
        }
        let group_cancelled = dump
            .finished
            .iter()
            .filter(|t| {
                t.outcome
                    .to_string()
                    .contains("a sibling in its TaskGroup failed")
            })
            .count();
        assert!(group_cancelled >= 2, "{}", dump.finished_table());
        assert!(dump.finished_table().contains("kaboom"));

        // A timeout around an abort-on-drop handle, and one that loses a select!.
        let slow = named("timed-out").spawn(std::future::pending::<()>());
        let timed = tempo::time::timeout(Duration::from_millis(5), slow.abort_on_drop()).await;
        assert!(timed.is_err());
        let loser = named("lost-a-select").spawn(std::future::pending::<()>());
        tempo::select! {
            _ = loser.abort_on_drop() => unreachable!(),
            () = yield_now() => {}
        }
        for _ in 0..3 {
            yield_now().await;
        }
        let dump = tempo::Handle::current().dump();
        for name in ["timed-out", "lost-a-select"] {
            let how = dump.finished_named(name).expect(name).outcome.to_string();
            assert!(how.contains("a lost select! or a timeout"), "{name}: {how}");
            assert!(how.contains("diagnostics.rs"), "{name}: {how}");
        }
    });
}

// ---------------------------------------------------------------------------------------
// The monitor console

/// Send one command and read the reply up to the next prompt.
fn ask(conn: &mut BufReader<std::net::TcpStream>, command: &str) -> String {
    conn.get_mut()
        .write_all(format!("{command}\n").as_bytes())
        .unwrap();
    let mut reply = String::new();
    loop {
        let mut chunk = Vec::new();
        // The prompt "> " has no newline: read up to its space.
        let n = conn.read_until(b' ', &mut chunk).unwrap();
        assert!(n > 0, "console closed; so far: {reply}");
        reply.push_str(&String::from_utf8_lossy(&chunk));
        if reply.ends_with("\n> ") || reply == "> " {
            return reply;
        }
    }
}

#[test]
fn the_monitor_console_answers_ps_ps_finished_and_stats_even_while_the_loop_is_blocked() {
    logs();
    let (addr_tx, addr_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let runner = std::thread::spawn(move || {
        let rt = tempo::Builder::new()
            .monitor("127.0.0.1:0")
            .build()
            .unwrap();
        addr_tx.send(rt.monitor_addr().unwrap()).unwrap();
        rt.block_on(async move {
            tempo::task::Builder::new()
                .name("finished-early")
                .spawn(async {})
                .await
                .unwrap();
            tempo::task::Builder::new()
                .name("blocking-the-worker")
                .spawn(async move { release_rx.recv().unwrap() })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    let stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut conn = BufReader::new(stream);
    let mut banner = String::new();
    conn.read_line(&mut banner).unwrap();
    assert!(banner.contains("tempo monitor"), "{banner}");
    let mut prompt = Vec::new();
    conn.read_until(b' ', &mut prompt).unwrap();
    assert_eq!(prompt, b"> ", "the first prompt");
    assert!(ask(&mut conn, "help").contains("ps-finished"));
    // The worker is blocked inside "blocking-the-worker" (or about to be): the console, on
    // its own thread, still answers.
    let mut ps = String::new();
    for _ in 0..1000 {
        ps = ask(&mut conn, "ps");
        if ps.contains("blocking-the-worker") && ps.contains("running") {
            break;
        }
    }
    assert!(
        ps.contains("blocking-the-worker") && ps.contains("running"),
        "{ps}"
    );
    let finished = ask(&mut conn, "ps-finished");
    assert!(
        finished.contains("finished-early") && finished.contains("completed"),
        "{finished}"
    );
    let stats = ask(&mut conn, "stats");
    assert!(
        stats.contains("worker 0") && stats.contains("loop turns"),
        "{stats}"
    );
    assert!(ask(&mut conn, "frobnicate").contains("unknown command"));
    release_tx.send(()).unwrap();
    runner.join().unwrap();
}

#[test]
fn the_monitor_refuses_a_non_loopback_address() {
    let err = tempo::Builder::new()
        .monitor("0.0.0.0:0")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_sigusr1_right_after_build_prints_a_dump_instead_of_killing_the_process() {
    logs();
    for _ in 0..20 {
        let rt = tempo::Builder::new().dump_on_sigusr1(true).build().unwrap();
        // SAFETY: raise(3) with a valid signal number has no memory-safety preconditions.
        // If the runtime had not installed its SIGUSR1 handler before `build` returned, the
        // default action would end this test process here.
        assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
        drop(rt);
    }
}

/// asyncio's "Task exception was never retrieved": a panic in a task whose JoinHandle was
/// dropped unread is reported once, naming the task — or, for a blocking job, which has no
/// task id, saying what it was rather than printing a meaningless "task 0.0".
#[test]
fn a_panic_nobody_read_is_reported_with_the_right_name() {
    let runtime = runtime_with_threshold(10_000);
    runtime.block_on(async {
        let (placed_tx, placed_rx) = tempo::sync::oneshot::channel::<tempo::task::TaskId>();
        let task = tempo::spawn(async move {
            placed_tx.send(tempo::task::id()).unwrap();
            yield_now().await;
            panic!("unread task panic");
        });
        let id = placed_rx.await.unwrap();
        drop(task);
        drop(tempo::task::spawn_blocking(|| {
            panic!("unread blocking panic")
        }));
        let task_record = wait_for_record(
            log::Level::Error,
            &["unread task panic", "nobody read its JoinHandle"],
        )
        .expect("the task's unread panic is reported");
        assert!(
            task_record.contains(&format!("task {id}:")),
            "{task_record}"
        );
        let job_record = wait_for_record(
            log::Level::Error,
            &["unread blocking panic", "nobody read its JoinHandle"],
        )
        .expect("the blocking job's unread panic is reported");
        assert!(job_record.contains("a blocking job"), "{job_record}");
        assert!(!job_record.contains("task 0.0"), "{job_record}");
    });
}
