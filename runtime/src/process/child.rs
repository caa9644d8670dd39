//! [`Child`]: a running child process — asyncio's `asyncio.subprocess.Process`, as
//! `create_subprocess_exec` returns it.
//!
//! A `Child` is a ticket into the reaper's process-wide set (`reaper.rs`), the three pipe
//! ends the `Command` asked for (`pipe.rs`), and the `SIGCHLD` watch its waits park on
//! (`watch.rs`). Its promise: **the child is reaped, whatever the program does with the
//! `Child`.** Waited for, the status is collected by the wait. Dropped while the child
//! still runs, the entry stays in the set as an *orphan* and a small task is spawned to
//! wait for it (tokio's orphan queue does the same job), so it never lingers as a zombie;
//! with [`kill_on_drop`](super::Command::kill_on_drop) the child is sent `SIGKILL` first.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::process::ExitStatus;
use std::task::{Context, Poll};

use super::pipe::{ChildStderr, ChildStdin, ChildStdout};
use super::reaper::{self, Released, Ticket};
use super::watch::ExitWatch;
use crate::runtime::Handle;

/// A child process spawned by [`Command::spawn`](super::Command::spawn).
///
/// The pipes asked for with [`Stdio::piped`](std::process::Stdio::piped) are in the public
/// fields, to be taken and moved into other tasks:
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::process::{Command, Stdio};
///
/// tempo::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let mut stdin = child.stdin.take().expect("piped");
///     let writer = tempo::spawn(async move { stdin.write_all(b"ping\n").await });
///     let mut line = [0u8; 5];
///     let n = child.stdout.as_mut().expect("piped").read(&mut line).await?;
///     assert_eq!(&line[..n], b"ping\n");
///     writer.await.expect("the writer ran")?; // the task ends, stdin drops: cat sees EOF
///     assert!(child.wait().await?.success());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Dropping a `Child` does not stop the child (unless `kill_on_drop` was set): it runs on,
/// and is reaped in the background when it exits. Mirrors asyncio's `Process`; differs in
/// that asyncio warns about a process never waited for and tempo reaps it quietly.
pub struct Child {
    /// Our end of the child's standard input, if it was [`piped`](std::process::Stdio::piped).
    pub stdin: Option<ChildStdin>,
    /// Our end of the child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// Our end of the child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
    /// The child's entry in the reaper's set.
    ticket: Ticket,
    /// The `SIGCHLD` listener a wait parks on, kept from one wait to the next.
    watch: ExitWatch,
    /// Send `SIGKILL` on drop if the child still runs.
    kill_on_drop: bool,
}

impl Child {
    /// File `child` with the reaper and register its pipes with the current reactor.
    pub(super) fn spawned(mut child: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let mut ours = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            ticket: reaper::watch(child),
            watch: ExitWatch::default(),
            // Until the pipes are ours: a pipe that cannot be registered (outside a
            // runtime; out of descriptors) fails the spawn, and the half-made `Child`'s
            // drop then kills the child that is already running, and reaps it.
            kill_on_drop: true,
        };
        ours.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        ours.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        ours.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        ours.kill_on_drop = kill_on_drop;
        Ok(ours)
    }

    /// The child's process id — asyncio's `proc.pid` — or `None` once it has been waited
    /// for, when the number may already belong to another process.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let mut child = tempo::process::Command::new("true").spawn()?;
    ///     assert!(child.id().is_some());
    ///     child.wait().await?;
    ///     assert_eq!(child.id(), None);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn id(&self) -> Option<u32> {
        reaper::pid(self.ticket)
    }

    /// The exit status if the child has exited (collecting it), `None` if it still runs;
    /// never waits — asyncio's `proc.returncode`, which is `None` while it runs.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::process::{Command, Stdio};
    ///
    /// tempo::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
    ///     assert!(child.try_wait()?.is_none()); // cat waits for its input
    ///     let status = child.wait().await?; // closes stdin: cat ends
    ///     assert_eq!(child.try_wait()?, Some(status));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// If the status cannot be collected: other code in the process reaped the child (a
    /// `waitpid(-1)`, or `SIGCHLD` set to `SIG_IGN`).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        reaper::try_wait(self.ticket)
    }

    /// Wait for the child to exit and return its status — asyncio's `await proc.wait()`.
    /// Closes our end of its stdin first (if we hold it), so a child that reads to end of
    /// file can finish; to keep writing, `take()` the stdin before waiting.
    ///
    /// The task parks on `SIGCHLD` (see the module docs of `tempo::process`): other tasks
    /// of the worker run meanwhile, and no thread is used. Calling it again after it
    /// returned gives the same status.
    ///
    /// Cancel-safe: dropping the future loses nothing; a later `wait` finds the exit.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let status = tempo::process::Command::new("sh").args(["-c", "exit 3"]).spawn()?.wait().await?;
    ///     assert_eq!(status.code(), Some(3));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// Outside a tempo runtime (there is no reactor to listen for `SIGCHLD` with); if the
    /// runtime shuts down meanwhile; as [`try_wait`](Child::try_wait).
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// One poll of [`wait`](Child::wait), for `output()`.
    pub(super) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        self.watch
            .poll_until(cx, self.ticket, reaper::recorded)
            .map(|exit| exit.and_then(|status| status))
    }

    /// Send `SIGKILL`, and return without waiting — asyncio's `proc.kill()`. The child
    /// still has to be waited for (or dropped, and it is reaped in the background).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// tempo::run(async {
    ///     let mut child = tempo::process::Command::new("sleep").arg("1000").spawn()?;
    ///     child.start_kill()?;
    ///     assert_eq!(child.wait().await?.signal(), Some(9));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// `InvalidInput` if the child has already been waited for: its pid may name another
    /// process by now. A child that exited but was not yet waited for is a zombie, and
    /// killing it succeeds and does nothing.
    pub fn start_kill(&mut self) -> io::Result<()> {
        reaper::start_kill(self.ticket)
    }

    /// Send `SIGKILL` and wait for the child to exit — tokio's `kill`; asyncio's
    /// `proc.kill(); await proc.wait()`.
    ///
    /// Cancel-safe as [`wait`](Child::wait) is (the signal is sent at the first poll).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let mut child = tempo::process::Command::new("sleep").arg("1000").spawn()?;
    ///     child.kill().await?;
    ///     assert!(child.try_wait()?.is_some());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`start_kill`](Child::start_kill) and [`wait`](Child::wait).
    pub async fn kill(&mut self) -> io::Result<()> {
        self.start_kill()?;
        self.wait().await.map(drop)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Our pipe ends close first, so a child that stops at end of file can finish.
        (self.stdin, self.stdout, self.stderr) = (None, None, None);
        if reaper::release(self.ticket, self.kill_on_drop) == Released::Reaped {
            return;
        }
        // An orphan. In a runtime, a task waits for it; with none (or if the runtime shuts
        // down first), the next sweep or spawn anywhere in the process reaps it.
        if Handle::try_current().is_some() {
            let (ticket, mut watch) = (self.ticket, std::mem::take(&mut self.watch));
            drop(crate::task::spawn(async move {
                // An error means the runtime is going away: the reaper's set keeps it.
                let _ = poll_fn(|cx| watch.poll_until(cx, ticket, reaper::orphan_reaped)).await;
            }));
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
