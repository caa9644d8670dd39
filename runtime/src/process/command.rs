//! [`Command`]: what to run and how — the arguments of asyncio's
//! `create_subprocess_exec(program, *args, stdin=..., stdout=..., env=..., cwd=...)`, as a
//! builder — and the three ways to run it: [`spawn`](Command::spawn) (returns a
//! [`Child`] at once), [`status`](Command::status) and [`output`](Command::output) (await
//! the end).
//!
//! It wraps `std::process::Command`, which does the hard part — `fork`/`exec` (or
//! `posix_spawn`), pipes, descriptors closed on exec, the error of an `exec` that failed
//! carried back to the parent — and hands the running child to `child.rs`, which makes its
//! pipes asynchronous and files it with the reaper. The last file of `process/`.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::{ExitStatus, Output, Stdio};

use super::child::Child;
use super::output::collect;
use super::reaper;

/// A process to run — std's `Command`, with `spawn`, `status` and `output` made
/// asynchronous.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::process::Command;
///
/// tempo::run(async {
///     // asyncio: proc = await create_subprocess_exec("sh", "-c", "...", stdout=PIPE)
///     //          out, err = await proc.communicate()
///     let output = Command::new("sh")
///         .args(["-c", "echo \"hello, $NAME\""])
///         .env("NAME", "tempo")
///         .output()
///         .await?;
///     assert!(output.status.success());
///     assert_eq!(output.stdout, b"hello, tempo\n");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Every method of the builder changes the `Command` and returns it, so calls chain; the
/// same `Command` may be spawned any number of times. The program is looked up in `PATH`
/// unless it contains a `/`.
pub struct Command {
    /// What std will run.
    std: std::process::Command,
    /// Whether the children spawned from here get `SIGKILL` when their `Child` is dropped.
    kill_on_drop: bool,
}

impl Command {
    /// A command to run `program`, with no arguments, the parent's environment and
    /// working directory, and (for [`spawn`](Command::spawn) and [`status`](Command::status))
    /// the parent's stdin, stdout and stderr.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     assert!(tempo::process::Command::new("true").status().await?.success());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Add one argument (no shell: spaces and quotes are passed as they are).
    ///
    /// ```
    /// let mut ls = tempo_runtime::process::Command::new("ls");
    /// ls.arg("-l").arg("my dir");
    /// ```
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Add several arguments.
    ///
    /// ```
    /// let mut sh = tempo_runtime::process::Command::new("sh");
    /// sh.args(["-c", "echo $0", "zero"]);
    /// ```
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Set an environment variable for the child.
    ///
    /// ```
    /// let mut cmd = tempo_runtime::process::Command::new("env");
    /// cmd.env("RUST_LOG", "debug");
    /// ```
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Set several environment variables for the child.
    ///
    /// ```
    /// let mut cmd = tempo_runtime::process::Command::new("env");
    /// cmd.envs([("A", "1"), ("B", "2")]);
    /// ```
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Remove an environment variable from the child's environment.
    ///
    /// ```
    /// let mut cmd = tempo_runtime::process::Command::new("env");
    /// cmd.env_remove("HOME");
    /// ```
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Start the child with an empty environment (then add to it with [`env`](Command::env)).
    ///
    /// ```
    /// let mut cmd = tempo_runtime::process::Command::new("/usr/bin/env");
    /// cmd.env_clear().env("ONLY", "this");
    /// ```
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Run the child in `dir` — asyncio's `cwd=`.
    ///
    /// ```
    /// let mut cmd = tempo_runtime::process::Command::new("ls");
    /// cmd.current_dir("/tmp");
    /// ```
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// What the child's stdin is: [`Stdio::piped`] gives us [`Child::stdin`] to write to,
    /// [`Stdio::null`] gives it end of file, [`Stdio::inherit`] (the default) shares ours.
    ///
    /// ```
    /// use tempo_runtime::process::{Command, Stdio};
    /// let mut cmd = Command::new("cat");
    /// cmd.stdin(Stdio::piped());
    /// ```
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self
    }

    /// What the child's stdout is; [`Stdio::piped`] gives us [`Child::stdout`] to read.
    ///
    /// ```
    /// use tempo_runtime::process::{Command, Stdio};
    /// let mut cmd = Command::new("ls");
    /// cmd.stdout(Stdio::piped());
    /// ```
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self
    }

    /// What the child's stderr is; [`Stdio::piped`] gives us [`Child::stderr`] to read.
    ///
    /// ```
    /// use tempo_runtime::process::{Command, Stdio};
    /// let mut cmd = Command::new("ls");
    /// cmd.stderr(Stdio::null());
    /// ```
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self
    }

    /// Whether a child spawned from here is sent `SIGKILL` when its [`Child`] is dropped
    /// while it still runs. Off by default: a dropped child runs on (and is reaped when it
    /// exits), as with std and tokio. Either way it never becomes a lasting zombie.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let child = tempo::process::Command::new("sleep").arg("1000").kill_on_drop(true).spawn()?;
    ///     drop(child); // SIGKILL now; reaped in the background
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// The std command inside, to read back what was configured.
    ///
    /// ```
    /// let mut cmd = tempo_runtime::process::Command::new("ls");
    /// cmd.arg("-l");
    /// assert_eq!(cmd.as_std().get_args().collect::<Vec<_>>(), ["-l"]);
    /// ```
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// Start the child and return at once — asyncio's `await create_subprocess_exec(...)`.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let mut child = tempo::process::Command::new("sh").args(["-c", "exit 7"]).spawn()?;
    ///     assert_eq!(child.wait().await?.code(), Some(7));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Piped stdio is registered with the current worker's reactor, so a `Command` with a
    /// pipe must be spawned inside a runtime; the child's [`wait`](Child::wait) must run in
    /// one too.
    ///
    /// # Errors
    /// If the program cannot be started — not found, not executable, a bad working
    /// directory — the error says which program, with the operating system's reason:
    /// `tempo: cannot spawn "no-such-program": No such file or directory (os error 2)`,
    /// of kind `NotFound`. Outside a runtime with a pipe asked for; then the child, which
    /// had started, is killed and reaped.
    pub fn spawn(&mut self) -> io::Result<Child> {
        // Orphans that no runtime was left to wait for are reaped here, as tokio does.
        reaper::reap_orphans();
        let child = self.std.spawn().map_err(|e| {
            let program = self.std.get_program();
            io::Error::new(e.kind(), format!("tempo: cannot spawn {program:?}: {e}"))
        })?;
        Child::spawned(child, self.kill_on_drop)
    }

    /// Run the child to the end and return its exit status — asyncio's
    /// `await (await create_subprocess_exec(...)).wait()`. Its stdin, stdout and stderr are
    /// ours unless configured otherwise; pipes asked for are closed at once.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let status = tempo::process::Command::new("false").status().await?;
    ///     assert_eq!(status.code(), Some(1));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Cancel-safe in the sense that dropping the future never leaves a zombie: the child
    /// runs on (or is killed, with [`kill_on_drop`](Command::kill_on_drop)) and is reaped.
    ///
    /// # Errors
    /// As [`spawn`](Command::spawn) and [`Child::wait`].
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        (child.stdout, child.stderr) = (None, None);
        child.wait().await
    }

    /// Run the child to the end, collecting its stdout and stderr — asyncio's
    /// `await proc.communicate()`. Both are captured: this sets them to
    /// [`Stdio::piped`] (for later spawns too, as tokio does). Stdin is as configured
    /// (inherited by default); a piped stdin is closed at once.
    ///
    /// Both pipes are read while the child runs, so a child that fills one while we would
    /// be reading the other cannot deadlock (see `output.rs`).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let out = tempo::process::Command::new("sh")
    ///         .args(["-c", "echo out; echo err >&2; exit 2"])
    ///         .output()
    ///         .await?;
    ///     assert_eq!((out.status.code(), &out.stdout[..], &out.stderr[..]), (Some(2), &b"out\n"[..], &b"err\n"[..]));
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// Cancel-safe as [`status`](Command::status) is.
    ///
    /// # Errors
    /// As [`spawn`](Command::spawn) and [`Child::wait`], and a failed read of either pipe.
    pub async fn output(&mut self) -> io::Result<Output> {
        self.std.stdout(Stdio::piped()).stderr(Stdio::piped());
        collect(self.spawn()?).await
    }
}

impl From<std::process::Command> for Command {
    /// Wrap a std command, keeping everything configured on it.
    ///
    /// ```
    /// let mut std_cmd = std::process::Command::new("ls");
    /// std_cmd.arg("-l");
    /// let cmd = tempo_runtime::process::Command::from(std_cmd);
    /// assert_eq!(cmd.as_std().get_program(), "ls");
    /// ```
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
        }
    }
}

impl fmt::Debug for Command {
    /// As std's: the program and its arguments, quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.std, f)
    }
}
