//! Examples as child processes: built once ([`example`]), started the way a reader would
//! start them ([`Running`], [`Server`]), watched (stdout line by line, stderr collected,
//! exit status), and stopped the way a reader would stop them ([`Server::stop`], Ctrl-C).
//!
//! A server that dies on its own — killed by a signal, or exiting before it was asked to —
//! must leave evidence: every check of a server first looks whether it is still running,
//! and if it is not, fails with its exit status and its stderr.

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::LINE_TIMEOUT;

/// The examples the tests run; all are built together, once.
const EXAMPLES: [&str; 8] = [
    "blocking_lab",
    "echo",
    "hex",
    "http_hello",
    "jobs",
    "readme",
    "request_id",
    "sleep_gather",
];

/// How a child is started, beyond its name and arguments.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Added to its environment (`TEMPO_DEBUG=1`, say).
    pub env: &'a [(&'a str, &'a str)],
    /// If set, its `RLIMIT_NOFILE` (soft and hard): how many descriptors it may hold.
    pub max_files: Option<u64>,
}

/// A child process running an example, killed on drop. Its stdout arrives line by line on a
/// channel; its stderr is collected, and printed if the test is failing.
pub struct Running {
    /// Which example, for messages.
    pub name: String,
    /// Its process id, for `kill` and `/proc`.
    pub pid: u32,
    /// The process. Behind a lock so that checking whether it is still alive (`try_wait`)
    /// needs only `&self`; nothing holds the lock for long.
    child: Mutex<Child>,
    /// Lines of its stdout, sent by a reader thread; disconnected at EOF.
    stdout: Receiver<String>,
    /// Its stderr so far, appended to by a reader thread.
    stderr: Arc<Mutex<String>>,
    /// The stderr reader thread, joined once the child is gone.
    stderr_thread: Option<JoinHandle<()>>,
}

impl Running {
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
        let path = example(name);
        let mut command = Command::new(&path);
        command
            .args(args)
            .envs(options.env.iter().copied())
            .stdin(Stdio::null())
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
            .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));

        let out = child.stdout.take().expect("piped stdout");
        let (tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
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
            child: Mutex::new(child),
            stdout,
            stderr,
            stderr_thread: Some(stderr_thread),
        }
    }

    fn child(&self) -> MutexGuard<'_, Child> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next line of stdout; `None` once the child closed it. Fails after `LINE_TIMEOUT`.
    pub fn next_line(&self) -> Option<String> {
        self.next_line_within(LINE_TIMEOUT)
    }

    /// The next line of stdout; `None` once the child closed it. Fails after `limit`.
    pub fn next_line_within(&self, limit: Duration) -> Option<String> {
        match self.stdout.recv_timeout(limit) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "{} printed nothing for {limit:?}{}; stderr:\n{}",
                    self.name,
                    self.exit_note(),
                    self.stderr()
                )
            }
        }
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
    /// status and every line it printed.
    pub fn finish(self) -> (ExitStatus, Vec<String>) {
        let mut lines = Vec::new();
        while let Some(line) = self.next_line() {
            lines.push(line);
        }
        // Stdout is closed, so the process is exiting; `try_wait` in a bounded loop rather
        // than `wait`, so a child that closed stdout but lives on fails instead of hangs.
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            match self.exited() {
                Some(status) => return (status, lines),
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
        let line = run.next_line().unwrap_or_else(|| {
            panic!(
                "{name} exited before listening{}; stderr:\n{}",
                run.exit_note(),
                run.stderr()
            )
        });
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}, not `listening on ADDR`"));
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
        self.run.next_line().unwrap_or_else(|| {
            panic!(
                "{} closed stdout{}; stderr:\n{}",
                self.run.name,
                self.run.exit_note(),
                self.run.stderr()
            )
        })
    }

    /// Waits for the server to exit on its own; its status and the lines it printed last.
    pub fn finish(self) -> (ExitStatus, Vec<String>) {
        self.run.finish()
    }

    /// The end of every case: Ctrl-C (`SIGINT`), then the server must exit with status 0
    /// and nothing on its stderr may say `panicked`. Fails — with its status and stderr —
    /// if it had died before, or does not stop. Returns the lines it printed after
    /// `listening on`, and its whole stderr.
    pub fn stop(self) -> (Vec<String>, String) {
        let name = self.run.name.clone();
        self.signal(libc::SIGINT);
        let (status, lines, stderr) = self.run.finish_with_stderr();
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

/// The path of the built example `name`.
///
/// Cargo's `CARGO_BIN_EXE_<name>` covers `[[bin]]` targets only, and `cargo test
/// --all-targets` builds examples as test harnesses (`examples/hex-<hash>`), not as the
/// programs themselves. So the first call runs `cargo build --example ...` for all of them,
/// with this test binary's profile, target and target directory; when they are up to date
/// that takes a fraction of a second, and it means we never run a stale binary.
pub fn example(name: &str) -> PathBuf {
    static EXAMPLES_DIR: OnceLock<PathBuf> = OnceLock::new();
    assert!(
        EXAMPLES.contains(&name),
        "{name} is not in support's EXAMPLES"
    );
    let dir = EXAMPLES_DIR.get_or_init(build_examples);
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn build_examples() -> PathBuf {
    // This binary is <target dir>[/<triple>]/<profile dir>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in <target>/<profile>/deps");
    let platform_dir = profile_dir.parent().expect("a target directory");
    // Cargo points integration tests at <target dir>/tmp, which names the target dir
    // whether or not this build was for an explicit `--target`.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp");

    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for example in EXAMPLES {
        cargo.args(["--example", example]);
    }
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
    let same_dir = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if !same_dir(platform_dir, target_dir) {
        cargo
            .arg("--target")
            .arg(platform_dir.file_name().expect("triple"));
    }

    let output = cargo.output().expect("run cargo");
    assert!(
        output.status.success(),
        "building the examples failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    profile_dir.join("examples")
}
