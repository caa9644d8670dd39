//! Examples as child processes: started the way a reader would start them ([`Running`],
//! [`Server`]), watched (stdout line by line, each line with when it came; stderr
//! collected; exit status), and stopped the way a reader would stop them ([`Server::stop`],
//! Ctrl-C), or run to their end within a deadline ([`Running::finish_within`]).
//! [`Running::spawn`] starts any other program the same way — this test binary re-run on
//! one test ([`this_test`]), say.
//!
//! A server that dies on its own — killed by a signal, or exiting before it was asked to —
//! must leave evidence: every check of a server first looks whether it is still running,
//! and if it is not, fails with its exit status and its stderr.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::LINE_TIMEOUT;
use super::examples::example;

/// How a child is started, beyond its program and arguments.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Added to its environment (`TEMPO_DEBUG=1`, say).
    pub env: &'a [(&'a str, &'a str)],
    /// Removed from the environment it inherits, before `env` is added: variables the
    /// test's own environment may hold (`TEMPO_DEBUG`, `RUST_LOG`) that would change what
    /// the child prints.
    pub env_remove: &'a [&'a str],
    /// If set, its `RLIMIT_NOFILE` (soft and hard): how many descriptors it may hold.
    pub max_files: Option<u64>,
    /// Its stdin is a pipe the test writes to ([`Running::write_stdin`]); otherwise it
    /// reads `/dev/null`.
    pub pipe_stdin: bool,
}

/// One line of a child's stdout, as the reader thread received it.
struct Line {
    /// When the reader thread had it: when the child printed it, give or take the
    /// scheduling of that thread.
    at: Instant,
    /// The line as printed, with its newline (none on a last line that lacked one).
    text: String,
}

impl Line {
    /// The line without its line ending, as `BufRead::lines` gives it.
    fn trimmed(&self) -> String {
        let text = self.text.strip_suffix('\n').unwrap_or(&self.text);
        text.strip_suffix('\r').unwrap_or(text).to_string()
    }
}

/// What a child left when it ended: [`Running::finish_within`].
#[derive(Debug)]
pub struct Ended {
    /// How it exited.
    pub status: ExitStatus,
    /// Its stdout (from where the test stopped reading it line by line), line by line.
    pub lines: Vec<String>,
    /// When each of `lines` arrived.
    pub arrived: Vec<Instant>,
    /// The same stdout as printed, line endings and all.
    pub stdout: String,
    /// Its whole stderr.
    pub stderr: String,
}

/// A child process, killed on drop. Its stdout arrives line by line on a channel; its
/// stderr is collected, and printed if the test is failing.
pub struct Running {
    /// Which example (or program), for messages.
    pub name: String,
    /// Its process id, for `kill` and `/proc`.
    pub pid: u32,
    /// The process. Behind a lock so that checking whether it is still alive (`try_wait`)
    /// needs only `&self`; nothing holds the lock for long.
    child: Mutex<Child>,
    /// Its stdin, if it was started with [`Options::pipe_stdin`].
    stdin: Option<ChildStdin>,
    /// Lines of its stdout, sent by a reader thread; disconnected at EOF.
    stdout: Receiver<Line>,
    /// Its stderr so far, appended to by a reader thread.
    stderr: Arc<Mutex<String>>,
    /// The stderr reader thread, joined once the child is gone.
    stderr_thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts example `name` with `args`.
    pub fn start(name: &str, args: &[&str]) -> Running {
        Running::start_with(name, args, Options::default())
    }

    /// Starts example `name` with `env` added to its environment (`TEMPO_DEBUG=1`, say).
    pub fn start_with_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Running {
        Running::start_with(
            name,
            args,
            Options {
                env,
                ..Options::default()
            },
        )
    }

    /// Starts example `name` with `args`, as `options` say.
    pub fn start_with(name: &str, args: &[&str], options: Options<'_>) -> Running {
        let mut command = Command::new(example(name));
        command.args(args);
        Running::spawn(name, command, options)
    }

    /// Starts `command` — an example, or any other program — as `options` say, with its
    /// stdout and stderr piped to us; `name` names it in messages.
    pub fn spawn(name: &str, mut command: Command, options: Options<'_>) -> Running {
        for var in options.env_remove {
            command.env_remove(var);
        }
        command
            .envs(options.env.iter().copied())
            .stdin(if options.pipe_stdin {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(max_files) = options.max_files {
            let limit = libc::rlimit {
                rlim_cur: max_files,
                rlim_max: max_files,
            };
            // SAFETY: the closure runs in the forked child before `exec`, where only
            // async-signal-safe calls are allowed; it makes one system call, setrlimit(2),
            // on a value copied into it, and allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} ({:?}): {e}", command.get_program()));

        let out = child.stdout.take().expect("piped stdout");
        let (tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            let mut out = BufReader::new(out);
            loop {
                let mut bytes = Vec::new();
                match out.read_until(b'\n', &mut bytes) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let line = Line {
                    at: Instant::now(),
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_thread = thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]);
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&text);
            }
        });

        Running {
            name: name.to_string(),
            pid: child.id(),
            stdin: child.stdin.take(),
            child: Mutex::new(child),
            stdout,
            stderr,
            stderr_thread: Some(stderr_thread),
        }
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next line of stdout; `None` once the child closed it. Fails after `limit`,
    /// with the message `silent()` makes.
    fn recv(&self, limit: Duration, silent: impl FnOnce() -> String) -> Option<Line> {
        match self.stdout.recv_timeout(limit) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!(
                "{}{}; stderr:\n{}",
                silent(),
                self.exit_note(),
                self.stderr()
            ),
        }
    }

    /// The next line of stdout; `None` once the child closed it. Fails after `LINE_TIMEOUT`.
    pub fn next_line(&self) -> Option<String> {
        self.next_line_within(LINE_TIMEOUT)
    }

    /// The next line of stdout; `None` once the child closed it. Fails after `limit`.
    pub fn next_line_within(&self, limit: Duration) -> Option<String> {
        self.next_timed_line_within(limit).map(|(_, line)| line)
    }

    /// The next line of stdout and when it arrived; `None` once the child closed it.
    /// Fails after `limit`.
    pub fn next_timed_line_within(&self, limit: Duration) -> Option<(Instant, String)> {
        let silent = || format!("{} printed nothing for {limit:?}", self.name);
        self.recv(limit, silent)
            .map(|line| (line.at, line.trimmed()))
    }

    /// The address in the next line of stdout, which must be `PREFIX ADDR`
    /// (`listening on 127.0.0.1:40123`, say).
    pub fn announced(&self, prefix: &str) -> SocketAddr {
        let line = self.next_line().unwrap_or_else(|| {
            panic!(
                "{} closed stdout before `{prefix}ADDR`{}; stderr:\n{}",
                self.name,
                self.exit_note(),
                self.stderr()
            )
        });
        line.strip_prefix(prefix)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{} printed {line:?}, not `{prefix}ADDR`", self.name))
    }

    /// Writes `bytes` to the child's stdin, which must have been piped
    /// ([`Options::pipe_stdin`]).
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        let name = &self.name;
        let stdin = self.stdin.as_mut().unwrap_or_else(|| {
            panic!("{name} was started without `pipe_stdin`");
        });
        stdin
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write to {name}'s stdin: {e}"));
    }

    /// The child's exit status if it has exited (it is then reaped), `None` while it runs.
    pub fn exited(&self) -> Option<ExitStatus> {
        self.child().try_wait().expect("try_wait")
    }

    /// `" (it had exited: STATUS)"` if the child is gone, else nothing: for failure messages.
    fn exit_note(&self) -> String {
        match self.exited() {
            Some(status) => format!(" (it had exited: {status})"),
            None => String::new(),
        }
    }

    /// Fails, with its status and stderr, if the child is no longer running: it was never
    /// asked to stop, so it died (a crash, a signal, an early exit).
    pub fn assert_alive(&self) {
        if let Some(status) = self.exited() {
            panic!(
                "{} died before it was asked to stop: {status}; stderr:\n{}",
                self.name,
                self.stderr()
            );
        }
    }

    /// Sends `signal` to the child, which must still be running.
    pub fn signal(&self, signal: libc::c_int) {
        // Checked first, and only here is the child reaped: until `try_wait` or `wait` has
        // seen it exit, its pid stays ours (a zombie's pid is not reused).
        self.assert_alive();
        let pid = libc::pid_t::try_from(self.pid).expect("a pid fits in pid_t");
        // SAFETY: kill(2) has no memory-safety preconditions. The pid is still our child's:
        // it was alive (or an unreaped zombie) just above, and only this guard reaps it.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill {pid}: {}", io::Error::last_os_error());
    }

    /// Everything on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits, polling boundedly, until the child's stderr satisfies `done`; returns it.
    /// Fails after `limit`, or at once if the child has died.
    pub fn wait_for_stderr(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let stderr = self.stderr();
            if done(&stderr) {
                return stderr;
            }
            self.assert_alive();
            assert!(
                Instant::now() < deadline,
                "{}: its stderr did not show what we waited for within {limit:?}:\n{stderr}",
                self.name
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Ctrl-C (`SIGINT`), then [`Running::finish_with_stderr`]. The child must still be
    /// running.
    pub fn interrupt(self) -> (ExitStatus, Vec<String>, String) {
        self.signal(libc::SIGINT);
        self.finish_with_stderr()
    }

    /// `finish`, plus everything the child wrote to stderr, read to its end.
    pub fn finish_with_stderr(mut self) -> (ExitStatus, Vec<String>, String) {
        let stderr = Arc::clone(&self.stderr);
        let reader = self.stderr_thread.take();
        let (status, lines) = self.finish();
        // The child has exited, so its stderr is closed and the reader thread ends.
        if let Some(reader) = reader {
            reader.join().expect("the stderr reader thread");
        }
        let stderr = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (status, lines, stderr)
    }

    /// Waits for the child to exit on its own (its stdout closing first), and returns its
    /// status and every line it printed. Fails if it is silent for `LINE_TIMEOUT`.
    pub fn finish(self) -> (ExitStatus, Vec<String>) {
        let mut lines = Vec::new();
        while let Some(line) = self.next_line() {
            lines.push(line);
        }
        let status = self.exit_by(Instant::now() + LINE_TIMEOUT);
        (status, lines)
    }

    /// Waits for the child to print everything and exit on its own, all within `limit`
    /// however steadily it prints; fails (and kills it) if it has not by then.
    pub fn finish_within(mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        let (mut lines, mut arrived, mut stdout) = (Vec::new(), Vec::new(), String::new());
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let silent = || {
                format!(
                    "{} did not finish within {limit:?}; its stdout:\n{stdout}",
                    self.name
                )
            };
            let Some(line) = self.recv(left, silent) else {
                break;
            };
            lines.push(line.trimmed());
            arrived.push(line.at);
            stdout.push_str(&line.text);
        }
        let status = self.exit_by(deadline);
        // The child has exited, so its stderr is closed and the reader thread ends.
        if let Some(reader) = self.stderr_thread.take() {
            reader.join().expect("the stderr reader thread");
        }
        Ended {
            status,
            lines,
            arrived,
            stdout,
            stderr: self.stderr(),
        }
    }

    /// The status of a child that closed its stdout and so is exiting: `try_wait` in a
    /// bounded loop rather than `wait`, so that one that lives on fails instead of hangs.
    fn exit_by(&self, deadline: Instant) -> ExitStatus {
        loop {
            match self.exited() {
                Some(status) => return status,
                None if Instant::now() > deadline => {
                    panic!("{} closed stdout but did not exit", self.name)
                }
                None => thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Whether it had died by itself, before we kill it: the evidence a failing test needs.
        let died = self.exited();
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        // Killing an exited child is harmless (std does not signal a reaped child).
        let _ = child.kill();
        let _ = child.wait();
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        if thread::panicking() {
            let how = match died {
                Some(status) => format!("it had exited by itself: {status}"),
                None => "it was still running; killed".to_string(),
            };
            eprintln!(
                "--- {} (pid {}): {how}; its stderr ---\n{}",
                self.name,
                self.pid,
                self.stderr()
            );
        }
    }
}

/// A running example server: the child plus the address it announced.
pub struct Server {
    /// The child; killed when this drops.
    pub run: Running,
    /// Where it listens, read from its `listening on ADDR` line.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts example `name` on an ephemeral loopback port and waits until it listens.
    pub fn start(name: &str, args: &[&str]) -> Server {
        Server::start_with(name, args, Options::default())
    }

    /// `start`, with `options`.
    pub fn start_with(name: &str, args: &[&str], options: Options<'_>) -> Server {
        let mut args = args.to_vec();
        args.extend(["--addr", "127.0.0.1:0"]);
        let run = Running::start_with(name, &args, options);
        let addr = run.announced("listening on ");
        Server { run, addr }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.run.pid
    }

    /// Sends `signal` to the server process, which must still be running.
    pub fn signal(&self, signal: libc::c_int) {
        self.run.signal(signal);
    }

    /// Fails with its exit status and stderr if the server has died.
    pub fn assert_alive(&self) {
        self.run.assert_alive();
    }

    /// The server's next line of stdout (its shutdown reports, after `listening on`).
    pub fn next_line(&self) -> String {
        self.next_timed_line().1
    }

    /// The server's next line of stdout, and when it arrived.
    pub fn next_timed_line(&self) -> (Instant, String) {
        self.run
            .next_timed_line_within(LINE_TIMEOUT)
            .unwrap_or_else(|| {
                panic!(
                    "{} closed stdout{}; stderr:\n{}",
                    self.run.name,
                    self.run.exit_note(),
                    self.run.stderr()
                )
            })
    }

    /// Reads the server's stdout up to the first line containing `needle`; returns it.
    pub fn wait_for_line(&self, needle: &str) -> String {
        loop {
            let line = self.next_line();
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Waits for the server to exit on its own; its status and the lines it printed last.
    pub fn finish(self) -> (ExitStatus, Vec<String>) {
        self.run.finish()
    }

    /// Ctrl-C (`SIGINT`): how it exited, the lines it printed after those already read,
    /// and its whole stderr. Fails if it had died before.
    pub fn interrupt(self) -> (ExitStatus, Vec<String>, String) {
        self.run.interrupt()
    }

    /// The end of every case: Ctrl-C (`SIGINT`), then the server must exit with status 0
    /// and nothing on its stderr may say `panicked`. Fails — with its status and stderr —
    /// if it had died before, or does not stop. Returns the lines it printed after
    /// `listening on`, and its whole stderr.
    pub fn stop(self) -> (Vec<String>, String) {
        let name = self.run.name.clone();
        let (status, lines, stderr) = self.interrupt();
        assert!(
            status.success(),
            "{name} exited with {status} after SIGINT; stdout {lines:?}; stderr:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "something in {name} panicked; stderr:\n{stderr}"
        );
        (lines, stderr)
    }
}

/// A command that re-runs this test binary on its test `name` alone, printing as it goes:
/// for a test whose program must run in a process of its own (its own environment, its
/// own stderr, its own descriptor limit). The test tells the two runs apart by an
/// environment variable it sets on the command.
pub fn this_test(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command.args([name, "--exact", "--test-threads=1", "--nocapture"]);
    command
}
