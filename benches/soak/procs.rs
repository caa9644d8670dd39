//! Child processes for the soak and scale benches: building the example servers, starting a
//! program and waiting for its `listening on ADDR`, reading what it says on stdout and
//! stderr line by line, and what `/proc` says about it (resident memory, CPU time, open
//! descriptors); stopping it with `SIGINT` and reading its exit status.
//!
//! Shared by `benches/soak/main.rs` and `benches/scale/main.rs` (which includes this file
//! with `#[path]`), so each bench uses only part of it.

#![allow(
    dead_code,
    reason = "shared by the soak and scale benches, each of which uses part of it"
)]

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long a program may take to say `listening on`.
pub const STARTUP: Duration = Duration::from_secs(30);

/// Cargo's target directory, found from this bench binary's own path:
/// `<target dir>/<profile>/deps/<bench>-<hash>`, three levels down.
pub fn target_dir() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .ok_or_else(|| io::Error::other("the bench binary is not in <target>/<profile>/deps"))
}

/// `cargo build --release --example A --example B ...` into this bench's target directory,
/// and the directory the programs land in. When they are up to date this takes a fraction
/// of a second, and it means we never run a stale server.
pub fn build_examples(names: &[&str]) -> io::Result<PathBuf> {
    let target = target_dir()?;
    let mut command = Command::new(env!("CARGO"));
    command.args(["build", "--quiet", "--release"]);
    for name in names {
        command.args(["--example", name]);
    }
    let output = command
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "building the examples failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(target.join("release/examples"))
}

/// What to start.
pub struct Spec {
    /// Its name in reports.
    pub name: &'static str,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// A lower open-files limit (soft and hard) to start it with, for descriptor pressure.
    pub nofile: Option<u64>,
}

/// A program we started, killed when dropped if it is still running.
pub struct Proc {
    /// Its name in reports.
    pub name: &'static str,
    /// Where it listens, from its `listening on ADDR` line (`None` if it printed `ready`).
    pub addr: Option<SocketAddr>,
    /// The process.
    child: Child,
    /// Its stdout, a line at a time; disconnected when it exits (or closes stdout).
    pub stdout: Receiver<String>,
    /// Its stderr, a line at a time, for whoever wants to watch it.
    pub stderr: Option<Receiver<String>>,
    /// Its exit status, once read.
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `spec` with stdin closed, stdout and stderr piped, and waits until it prints
    /// `listening on ADDR` or `ready`.
    pub fn start(spec: Spec) -> io::Result<Proc> {
        let mut command = Command::new(&spec.program);
        command
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // The runtime's debug mode would add its own output and cost.
            .env_remove("TEMPO_DEBUG")
            // `jobs` panics on purpose (`fail=panic`): one line per panic, not a backtrace.
            .env("RUST_BACKTRACE", "0");
        prepare_child(&mut command, spec.nofile);
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", spec.program.display())))?;
        let stdout = lines(child.stdout.take().expect("stdout was piped"));
        let stderr = lines(child.stderr.take().expect("stderr was piped"));
        let mut proc = Proc {
            name: spec.name,
            addr: None,
            child,
            stdout,
            stderr: Some(stderr),
            status: None,
        };
        let line = proc.expect_line(&["listening on ", "ready"], STARTUP)?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            let addr = addr.trim().parse().map_err(|e| {
                io::Error::other(format!("{}: bad address in {line:?}: {e}", spec.name))
            })?;
            proc.addr = Some(addr);
        }
        Ok(proc)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr.expect("a server that printed `listening on`")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a stdout line starting with one of `prefixes` and returns it, skipping
    /// other lines; fails after `within`, or if the program exits first.
    pub fn expect_line(&mut self, prefixes: &[&str], within: Duration) -> io::Result<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) if prefixes.iter().any(|p| line.starts_with(p)) => return Ok(line),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{} did not print {prefixes:?} within {within:?}", self.name),
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    self.status = Some(status);
                    return Err(io::Error::other(format!(
                        "{} exited ({status}) before printing {prefixes:?}",
                        self.name
                    )));
                }
            }
        }
    }

    /// Resident memory now (`VmRSS`), in bytes.
    pub fn rss(&self) -> io::Result<u64> {
        proc_kb(&format!("/proc/{}/status", self.pid()), "VmRSS")
    }

    /// User and system CPU time used so far.
    pub fn cpu(&self) -> io::Result<Cpu> {
        cpu_of(&format!("/proc/{}/stat", self.pid()))
    }

    /// How many descriptors it has open.
    pub fn open_fds(&self) -> io::Result<usize> {
        proc_fds(self.pid())
    }

    /// Fails if it has exited since it started.
    pub fn check_alive(&mut self) -> io::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => {
                self.status = Some(status);
                Err(io::Error::other(format!("{} exited: {status}", self.name)))
            }
        }
    }

    /// Sends it `SIGINT`, as Ctrl-C would.
    pub fn interrupt(&self) -> io::Result<()> {
        let pid = libc::pid_t::try_from(self.pid()).map_err(io::Error::other)?;
        // SAFETY: kill(2) takes plain integers; the pid is our own child's, not yet reaped
        // (we reap it only in `wait_exit` or on drop), so it cannot name another process.
        if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for it to exit, reading (and returning) what it still prints on stdout; fails
    /// after `within`. The end of its stdout is how we know it has exited, so this never
    /// polls.
    pub fn wait_exit(&mut self, within: Duration) -> io::Result<(ExitStatus, Vec<String>)> {
        let deadline = Instant::now() + within;
        let mut printed = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => printed.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("{} did not exit within {within:?}", self.name),
                    ));
                }
            }
        }
        let status = self.child.wait()?;
        self.status = Some(status);
        Ok((status, printed))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A reader thread that turns `pipe` into lines on a channel; the channel disconnects when
/// the pipe closes. Nothing limits how much it buffers, so a chatty child never blocks on
/// a full pipe because nobody was reading.
pub fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Before `exec`: the child dies with us (Linux: a bench killed by Ctrl-C leaves no server
/// behind), and gets `nofile` as its open-files limit if asked.
pub fn prepare_child(command: &mut Command, nofile: Option<u64>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: prctl and setrlimit are plain system calls, and
    // the closure touches nothing but its own stack (the rlimit, and `nofile` copied in).
    unsafe {
        command.pre_exec(move || {
            #[cfg(target_os = "linux")]
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(n) = nofile {
                let limit = libc::rlimit {
                    rlim_cur: n as libc::rlim_t,
                    rlim_max: n as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// How many descriptors process `pid` has open.
pub fn proc_fds(pid: u32) -> io::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

/// This process's open-files soft limit.
pub fn fd_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}

/// A value in kB from a `/proc` file of `Name:   123 kB` lines, in bytes.
pub fn proc_kb(path: &str, name: &str) -> io::Result<u64> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other(format!("no {name} in {path}")))
}

/// This process's resident memory now, in bytes.
pub fn own_rss() -> io::Result<u64> {
    proc_kb("/proc/self/status", "VmRSS")
}

/// CPU time a process has used.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    /// In user space.
    pub user: Duration,
    /// In the kernel, on its behalf.
    pub system: Duration,
}

impl Cpu {
    /// Both together.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` file. The command name
/// (field 2) may hold spaces, so we count fields after its closing parenthesis.
pub fn cpu_of(path: &str) -> io::Result<Cpu> {
    let text = std::fs::read_to_string(path)?;
    let after = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other(format!("{path}: no command name")))?;
    // Field 3 (state) is the first after the parenthesis, so utime is the 12th from here.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::other(format!("{path}: field {} unreadable", i + 3)))
    };
    // SAFETY: sysconf takes an integer and reads no memory of ours.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let time = |t: u64| Duration::from_secs_f64(t as f64 / hz);
    Ok(Cpu {
        user: time(ticks(11)?),
        system: time(ticks(12)?),
    })
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The date and time now, UTC, as `2026-12-02 10:15 UTC` (no date crate: civil-from-days).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (h, m) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02} UTC")
}
