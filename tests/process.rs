//! `tempo::process`: real child processes — `sh -c`, `cat`, `true`, `false`, and `sleep`
//! only as a child we kill — spawned, fed, read, waited for, killed and dropped.
//!
//! What "reaped" means here: a child that exited and was never collected is a zombie, and
//! `/proc/PID` still exists with state `Z`; once its parent collects the status the entry
//! is gone. Where a test must see a child reaped *in the background*, it polls `/proc`
//! until the entry goes (`reaped`), failing after [`LOST`]: that is a deadline for an
//! outcome, not an ordering of events by sleeping. No test sleeps to order anything.
//!
//! Some tests need the process to themselves — counting threads, a first `SIGCHLD`
//! listener created after the child already exited, a zombie that only the next spawn may
//! reap, orphans that only their own task may reap (any other test's wait would sweep them
//! too) — so they re-run this test binary on just one test each (`alone`).

#![cfg(target_os = "linux")]

mod common;

mod support;

use std::future::{Future, poll_fn};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use support::child::{Options, Running, this_test};
use tempo::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use tempo::time::sleep;

use common::with_hang_guard;

/// How long a child may take to be reaped, or a wait to finish, before the test calls it
/// lost.
const LOST: Duration = Duration::from_secs(10);

/// The environment variable that tells a test it was re-run by [`alone`].
const ALONE: &str = "TEMPO_PROCESS_TEST_ALONE";

/// Run `body` in a fresh one-worker runtime, under the hang guard.
fn run<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = io::Result<()>>,
{
    with_hang_guard(move || tempo::run(body())).expect("the test body");
}

/// `future`'s output, or a panic naming `what` if it takes longer than [`LOST`].
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tempo::select! {
        biased;
        () = sleep(LOST) => panic!("{what}: nothing after {LOST:?}"),
        output = future => output,
    }
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`, ...), or `None` if there is no
/// such process: it was reaped.
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].chars().next()
}

/// Wait, letting the runtime turn, until `pid` has been reaped; fail after [`LOST`] with
/// the state it was left in (`Z`: a zombie nobody collected).
async fn reaped(pid: u32) {
    let deadline = Instant::now() + LOST;
    while let Some(state) = proc_state(pid) {
        assert!(
            Instant::now() < deadline,
            "child {pid} not reaped after {LOST:?}: state {state}"
        );
        sleep(Duration::from_millis(2)).await;
    }
}

/// Wait (blocking this thread, which runs no runtime) until `pid` has exited, so that it
/// is a zombie waiting to be collected.
fn until_zombie(pid: u32) {
    let deadline = Instant::now() + LOST;
    while proc_state(pid) != Some('Z') {
        assert!(Instant::now() < deadline, "child {pid} did not exit");
        std::thread::yield_now();
    }
}

/// Re-run this test binary on the one test `name` alone, with [`ALONE`] set, and fail if
/// it fails.
fn alone(name: &str) {
    let mut command = this_test(name);
    command.env(ALONE, "1");
    // A run that hangs fails here, killed at the deadline, instead of hanging the test.
    let output =
        Running::spawn(name, command, Options::default()).finish_within(Duration::from_secs(120));
    let text = format!("{}{}", output.stdout, output.stderr);
    assert!(
        output.status.success(),
        "{name}, run alone, failed:\n{text}"
    );
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
}

/// The number of threads in this process.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

/// A file of `len` bytes of varied content, removed when dropped.
struct TempFile {
    path: std::path::PathBuf,
    bytes: Vec<u8>,
}

impl TempFile {
    fn new(name: &str, len: usize) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("tempo-process-{}-{name}", std::process::id()));
        let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write the temp file");
        TempFile { path, bytes }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `sleep 1000`, a child that runs until killed. Its stdout and stderr are null, so that
/// one a bug left running cannot hold [`alone`]'s output pipes open for 1000 s.
fn sleeper() -> Command {
    let mut sleep = Command::new("sleep");
    sleep
        .arg("1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sleep
}

/// `cat`, with stdin and stdout piped.
fn cat() -> io::Result<Child> {
    Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
}

#[test]
fn the_public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<Child>();
    send_sync::<ChildStdin>();
    send_sync::<ChildStdout>();
    send_sync::<ChildStderr>();
}

#[test]
fn status_reports_exit_codes_and_signals() {
    run(|| async {
        assert!(Command::new("true").status().await?.success());
        assert_eq!(Command::new("false").status().await?.code(), Some(1));
        let status = Command::new("sh").args(["-c", "exit 42"]).status().await?;
        assert_eq!((status.success(), status.code()), (false, Some(42)));
        let status = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .await?;
        assert_eq!(
            (status.code(), status.signal()),
            (None, Some(libc::SIGTERM))
        );
        Ok(())
    });
}

#[test]
fn output_keeps_stdout_and_stderr_apart() {
    run(|| async {
        let out = Command::new("sh")
            .args(["-c", "echo to-out; echo to-err >&2; echo more-out; exit 5"])
            .output()
            .await?;
        assert_eq!(out.status.code(), Some(5));
        assert_eq!(out.stdout, b"to-out\nmore-out\n");
        assert_eq!(out.stderr, b"to-err\n");
        Ok(())
    });
}

/// A naive `output` that read stdout to the end before stderr would deadlock on the first
/// command: the child blocks writing stderr, which nobody reads, and never closes stdout.
#[test]
fn output_of_megabytes_on_both_pipes_does_not_deadlock() {
    let file = Arc::new(TempFile::new("both-pipes", 3 << 19)); // 1.5 MiB
    run(move || async move {
        let path = file.path.to_str().expect("a UTF-8 temp path");
        for script in [
            // All of stderr first, then stdout.
            r#"cat "$0" >&2; cat "$0""#,
            // All of stdout first, then stderr.
            r#"cat "$0"; cat "$0" >&2"#,
            // Both at once.
            r#"cat "$0" >&2 & cat "$0"; wait"#,
        ] {
            let out = within(
                script,
                Command::new("sh").args(["-c", script, path]).output(),
            )
            .await?;
            assert!(out.status.success(), "{script}: {:?}", out.status);
            assert!(out.stdout == file.bytes, "{script}: stdout differs");
            assert!(out.stderr == file.bytes, "{script}: stderr differs");
        }
        Ok(())
    });
}

#[test]
fn cat_echoes_what_we_write_and_ends_when_stdin_is_dropped() {
    run(|| async {
        let mut child = cat()?;
        let mut stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.as_mut().expect("piped");
        for line in ["one\n", "two, longer\n", "three\n"] {
            stdin.write_all(line.as_bytes()).await?;
            let mut echoed = vec![0u8; line.len()];
            let mut got = 0;
            while got < line.len() {
                let n = stdout.read(&mut echoed[got..]).await?;
                assert_ne!(n, 0, "cat closed its stdout early");
                got += n;
            }
            assert_eq!(echoed, line.as_bytes());
        }
        drop(stdin);
        let mut rest = [0u8; 16];
        assert_eq!(
            stdout.read(&mut rest).await?,
            0,
            "end of file after stdin closed"
        );
        assert!(child.wait().await?.success());
        Ok(())
    });
}

/// Writing more than a pipe holds needs the reader to make room: write in one task and
/// read in another, both on the one worker.
#[test]
fn a_megabyte_through_cat_while_reading_it_back() {
    run(|| async {
        let mut child = cat()?;
        let mut stdin = child.stdin.take().expect("piped");
        let sent: Vec<u8> = (0..(1 << 20)).map(|i| (i % 253) as u8).collect();
        let expected = sent.clone();
        let writer = tempo::spawn(async move { stdin.write_all(&sent).await });
        let mut echoed = Vec::new();
        child
            .stdout
            .as_mut()
            .expect("piped")
            .read_to_end(&mut echoed)
            .await?;
        writer.await.expect("the writer ran")?;
        assert!(
            echoed == expected,
            "cat echoed {} of {} bytes",
            echoed.len(),
            expected.len()
        );
        assert!(child.wait().await?.success());
        Ok(())
    });
}

/// `wait` parks only its own task: on a one-worker runtime, the `block_on` future keeps
/// running on the same thread while another task waits for a child that cannot end until
/// the `block_on` future lets it. A `wait` that blocked the thread would hang here.
#[test]
fn wait_lets_other_tasks_run_on_the_same_worker() {
    run(|| async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let done = Arc::new(AtomicBool::new(false));
        let waiter = tempo::spawn({
            let done = done.clone();
            async move {
                let status = child.wait().await;
                done.store(true, Ordering::SeqCst);
                status
            }
        });
        for turn in 0..200 {
            tempo::task::yield_now().await;
            assert!(
                !done.load(Ordering::SeqCst),
                "cat ended before its stdin (turn {turn})"
            );
        }
        assert_eq!(tempo::task::current_worker(), Some(0));
        drop(stdin);
        let status = within("wait after stdin closed", waiter)
            .await
            .expect("the waiter ran")?;
        assert!(status.success());
        Ok(())
    });
}

#[test]
fn try_wait_is_none_while_running_and_the_status_after() {
    run(|| async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
        let pid = child.id().expect("running");
        assert_eq!(child.try_wait()?, None);
        let stdin = child.stdin.take();
        assert_eq!(child.try_wait()?, None);
        drop(stdin);
        let status = child.wait().await?;
        assert!(status.success());
        assert_eq!(child.try_wait()?, Some(status));
        assert_eq!(
            child.wait().await?,
            status,
            "a second wait gives the same status"
        );
        assert_eq!(child.id(), None);
        assert_eq!(proc_state(pid), None, "waited for, so reaped");
        Ok(())
    });
}

/// A `wait` polled once and dropped — a `select!` that took another branch — loses
/// nothing: the next `wait` finds the exit.
#[test]
fn wait_is_cancel_safe() {
    run(|| async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
        let stdin = child.stdin.take();
        {
            let mut wait = pin!(child.wait());
            let first = poll_fn(|cx| Poll::Ready(wait.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "cat still runs");
        }
        drop(stdin);
        assert!(within("wait again", child.wait()).await?.success());
        Ok(())
    });
}

#[test]
fn kill_sends_sigkill_and_waits() {
    run(|| async {
        let mut child = sleeper().spawn()?;
        let pid = child.id().expect("running");
        within("kill", child.kill()).await?;
        let status = child.try_wait()?.expect("killed and waited for");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(proc_state(pid), None);
        let again = child.start_kill().expect_err("nothing left to kill");
        assert_eq!(again.kind(), io::ErrorKind::InvalidInput);
        Ok(())
    });
}

#[test]
fn start_kill_returns_at_once_and_wait_collects() {
    run(|| async {
        let mut child = sleeper().spawn()?;
        child.start_kill()?;
        let status = within("wait after start_kill", child.wait()).await?;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        Ok(())
    });
}

#[test]
fn kill_on_drop_kills_the_child_and_reaps_it() {
    run(|| async {
        let child = sleeper().kill_on_drop(true).spawn()?;
        let pid = child.id().expect("running");
        drop(child);
        reaped(pid).await;
        Ok(())
    });
}

/// A dropped `Child` whose child exits later — here `cat`, when its stdin closes with the
/// `Child` — leaves no zombie.
#[test]
fn a_dropped_child_is_reaped_when_it_exits() {
    run(|| async {
        let child = cat()?;
        let pid = child.id().expect("running");
        drop(child);
        reaped(pid).await;
        Ok(())
    });
}

/// Without `kill_on_drop`, dropping the `Child` leaves the child running; when something
/// else ends it, it is reaped all the same.
#[test]
fn a_dropped_child_runs_on_and_is_reaped_when_killed_by_others() {
    run(|| async {
        let child = sleeper().spawn()?;
        let pid = child.id().expect("running");
        drop(child);
        for _ in 0..20 {
            tempo::task::yield_now().await;
        }
        // Any state but gone or a zombie: `S` sleeping, `R` running, `D` while the loaded
        // machine pages `sleep` in.
        let state = proc_state(pid);
        assert!(
            state.is_some_and(|s| s != 'Z'),
            "dropping the Child stopped the child: {state:?}"
        );
        let pid_t = libc::pid_t::try_from(pid).expect("a pid fits pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions; `pid` is our own child,
        // still running and not reaped (its state was just read), so the number is its.
        assert_eq!(unsafe { libc::kill(pid_t, libc::SIGTERM) }, 0);
        reaped(pid).await;
        Ok(())
    });
}

/// The three tests above, alone in a process: there, no other test's wait sweeps the set,
/// so each dropped child is reaped by the task its drop spawned, or not at all.
#[test]
fn dropped_children_are_reaped_by_their_own_orphan_task() {
    // Alone in a process of its own: the test re-runs this binary on itself (`alone`),
    // and that run, seeing `ALONE`, does the work.
    if std::env::var_os(ALONE).is_none() {
        return alone("dropped_children_are_reaped_by_their_own_orphan_task");
    }
    kill_on_drop_kills_the_child_and_reaps_it();
    a_dropped_child_is_reaped_when_it_exits();
    a_dropped_child_runs_on_and_is_reaped_when_killed_by_others();
}

/// Dropped while its runtime shuts down, a child has no task to wait for it; the next
/// spawn, in the next runtime, reaps it. (Alone: another test's sweep would reap it too.)
#[test]
fn an_orphan_left_by_a_dropped_runtime_is_reaped_by_the_next_spawn() {
    // Alone in a process of its own: the test re-runs this binary on itself (`alone`),
    // and that run, seeing `ALONE`, does the work.
    if std::env::var_os(ALONE).is_none() {
        return alone("an_orphan_left_by_a_dropped_runtime_is_reaped_by_the_next_spawn");
    }
    with_hang_guard(|| {
        let runtime = tempo::Runtime::new().expect("a runtime");
        let (pid, stdin) = runtime
            .block_on(async {
                let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
                let pid = child.id().expect("running");
                // cat runs until we drop its stdin, which we keep.
                let stdin = child.stdin.take().expect("piped");
                // A task holds the child, waiting, when the runtime is dropped.
                drop(tempo::spawn(async move { child.wait().await }));
                tempo::task::yield_now().await;
                Ok::<_, io::Error>((pid, stdin))
            })
            .expect("spawned");
        drop(runtime);
        // Now an orphan with no task to wait for it: let it exit.
        drop(stdin);
        until_zombie(pid);
        tempo::run(async {
            // Before any wait, so before any sweep: the spawn itself must reap it.
            let mut next = Command::new("true").spawn()?;
            assert_eq!(proc_state(pid), None, "the next spawn reaped the orphan");
            assert!(next.wait().await?.success());
            Ok::<(), io::Error>(())
        })
        .expect("the second runtime");
    });
}

#[test]
fn spawning_a_missing_program_is_a_clear_error() {
    run(|| async {
        let err = Command::new("tempo-no-such-program")
            .spawn()
            .expect_err("no such program");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let text = err.to_string();
        assert!(
            text.contains("tempo-no-such-program"),
            "the error names the program: {text}"
        );
        let err = Command::new("true")
            .current_dir("/no/such/dir/for/tempo")
            .status()
            .await
            .expect_err("no such directory");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        Ok(())
    });
}

#[test]
fn arguments_environment_and_directory_reach_the_child() {
    run(|| async {
        let out = Command::new("sh")
            .args([
                "-c",
                r#"printf '%s|' "$0" "$1" "$KEEP" "${DROP-unset}"; pwd"#,
                "a b",
                "'c'",
            ])
            .env("KEEP", "kept")
            .env("DROP", "dropped")
            .env_remove("DROP")
            .current_dir("/")
            .output()
            .await?;
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "a b|'c'|kept|unset|/\n"
        );
        let out = Command::new("/bin/sh")
            .args(["-c", "echo ${HOME-no home}"])
            .env_clear()
            .envs([("ONLY", "this")])
            .output()
            .await?;
        assert_eq!(out.stdout, b"no home\n");
        Ok(())
    });
}

/// Outside a runtime, a `spawn` without pipes works, and a `wait` is an error, never a
/// panic or a hang; a `spawn` with a pipe is an error.
#[test]
fn outside_a_runtime_errors_are_errors() {
    let mut child = Command::new("true")
        .spawn()
        .expect("no pipe, no reactor needed");
    let err = common::block_on(child.wait()).expect_err("no reactor to listen with");
    assert!(err.to_string().contains("runtime"), "{err}");
    let err = Command::new("cat")
        .stdin(Stdio::piped())
        .spawn()
        .expect_err("a pipe needs a reactor");
    assert!(err.to_string().contains("runtime"), "{err}");
    tempo::run(async move { child.wait().await }).expect("inside a runtime the wait works");
}

/// Children spawned on every worker of a multi-worker runtime, waited for on others, and
/// dropped un-waited on others still: every one reaped.
#[test]
fn children_of_a_multi_worker_runtime_are_all_reaped() {
    with_hang_guard(|| {
        let runtime = tempo::Builder::new().workers(3).build().expect("a runtime");
        let handle = runtime.handle().clone();
        runtime
            .block_on(async move {
                let mut pids = Vec::new();
                for worker in 0..3 {
                    let job = handle.spawn_on(worker, async move {
                        assert_eq!(tempo::task::current_worker(), Some(worker));
                        let out = Command::new("sh")
                            .args(["-c", "echo $0", &worker.to_string()])
                            .output()
                            .await?;
                        assert_eq!(out.stdout, format!("{worker}\n").as_bytes());
                        let dropped = cat()?;
                        let dropped_pid = dropped.id().expect("running");
                        drop(dropped);
                        let moved = cat()?;
                        Ok::<_, io::Error>((dropped_pid, moved))
                    });
                    let (dropped_pid, mut moved) = job.await.expect("the job ran")?;
                    pids.push(dropped_pid);
                    pids.push(moved.id().expect("running"));
                    // Waited for on the next worker, not the one that spawned it.
                    let status = handle
                        .spawn_on((worker + 1) % 3, async move { moved.wait().await })
                        .await
                        .expect("the waiter ran")?;
                    assert!(status.success());
                }
                for pid in pids {
                    reaped(pid).await;
                }
                Ok::<(), io::Error>(())
            })
            .expect("the body");
    });
}

/// A hundred children at once, each echoing through `cat` and then waited for, add no
/// thread: the waits park on `SIGCHLD` in the one worker's reactor. They also exit
/// together when their stdins close, so their `SIGCHLD`s coalesce, and every wait must
/// still end.
#[test]
fn a_hundred_concurrent_children_add_no_threads() {
    // Alone in a process of its own: the test re-runs this binary on itself (`alone`),
    // and that run, seeing `ALONE`, does the work.
    if std::env::var_os(ALONE).is_none() {
        return alone("a_hundred_concurrent_children_add_no_threads");
    }
    tempo::run(async {
        let before = threads();
        let (stdins_tx, mut stdins) = tempo::sync::mpsc::unbounded_channel();
        let mut waiters = Vec::new();
        for i in 0..100 {
            let mut child = cat()?;
            let stdins_tx = stdins_tx.clone();
            waiters.push(tempo::spawn(async move {
                let mut stdin = child.stdin.take().expect("piped");
                let line = format!("child {i}\n");
                stdin.write_all(line.as_bytes()).await?;
                let mut echoed = vec![0u8; line.len()];
                let stdout = child.stdout.as_mut().expect("piped");
                let mut got = 0;
                while got < echoed.len() {
                    got += stdout.read(&mut echoed[got..]).await?;
                }
                assert_eq!(echoed, line.as_bytes());
                // Hand the stdin over and wait in the same poll: once the block_on future
                // holds all hundred, all hundred waits are parked.
                stdins_tx.send(stdin).expect("the receiver lives");
                child.wait().await
            }));
        }
        drop(stdins_tx);
        let mut held = Vec::new();
        while held.len() < 100 {
            held.push(within("the echoes", stdins.recv()).await.expect("a stdin"));
        }
        let during = threads();
        assert_eq!(
            during, before,
            "threads before: {before}, with 100 children waiting: {during}"
        );
        drop(held);
        for waiter in waiters {
            let status = within("a wait", waiter).await.expect("the waiter ran")?;
            assert!(status.success());
        }
        assert_eq!(threads(), before);
        Ok::<(), io::Error>(())
    })
    .expect("the body");
}

/// A child that exited before anything listened for `SIGCHLD` — in a process where no
/// handler was installed yet, so the signal went nowhere — is still found by `wait`.
#[test]
fn a_child_that_exited_before_anyone_listened_is_waited_for() {
    // Alone in a process of its own: the test re-runs this binary on itself (`alone`),
    // and that run, seeing `ALONE`, does the work.
    if std::env::var_os(ALONE).is_none() {
        return alone("a_child_that_exited_before_anyone_listened_is_waited_for");
    }
    tempo::run(async {
        for _ in 0..2 {
            // The first time, no SIGCHLD handler exists; the second, one does, but this
            // child's signal was handed out before the new wait's listener existed.
            let mut child = Command::new("true").spawn()?;
            until_zombie(child.id().expect("not yet reaped"));
            assert!(within("wait for a zombie", child.wait()).await?.success());
        }
        Ok::<(), io::Error>(())
    })
    .expect("the body");
}
