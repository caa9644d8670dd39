//! `soak`: a minute of mixed load with faults on tempo's real example servers; every
//! message checked, memory watched, and a nonzero exit status on any failure.
//!
//! ```text
//! cargo bench --bench soak                 # 60 s, of which the first 15 s are warm-up
//! cargo bench --bench soak -- --secs 300   # longer; --warmup S changes the warm-up
//! ```
//!
//! # What runs
//!
//! Four child processes: the `echo`, `http_hello` and `jobs` examples, built in release
//! (`cargo build --release --example ...`) and run as they are — and `soak --workload`,
//! this binary re-executed as a tempo program that does what the examples cannot: tens of
//! thousands of timers at once, task aborts, and blocking jobs aborted before or after they
//! start (`workload.rs`). Threads of this process drive them, over loopback, with blocking
//! sockets that each have a 10 s timeout:
//!
//! - **load** (`load.rs`): echo clients sending messages of 1 B to 32 KiB, every byte of every
//!   echo compared; HTTP clients pipelining `GET`s on keep-alive connections to
//!   `http_hello`, every answer parsed and compared; job clients posting
//!   `POST /jobs?seconds=0.05` to `jobs` (one in eight with `fail=panic`) and long-polling
//!   `GET /jobs/ID?wait=5` until the job is `done` (or `failed`, for the panics).
//! - **faults** (`faults.rs`): connections reset with `SO_LINGER 0` in the middle of an echo,
//!   of an HTTP request, of a long poll; slow readers (a 4 KiB receive buffer, read 256 B at
//!   a time); readers that stall for good and idle clients, which the servers' idle
//!   timeouts (3 s) must cut; and **descriptor pressure**: `echo` runs with an open-files
//!   limit of 512, a client holds it a few dozen descriptors short of it with live
//!   connections (pinged every quarter second), and every few seconds opens more until the
//!   server says `accept failed` (EMFILE) twice, then releases some and checks that every
//!   connection opened meanwhile is served.
//!
//! At the end the load stops, each server gets `SIGINT` and must exit with status 0; `echo`
//! still holds the pressure connections then, so its shutdown cancels their tasks, and each
//! of them must read end-of-stream.
//!
//! # What counts as a failure
//!
//! - a **lost** message: one written on a connection the server had accepted (the kernel
//!   completed the handshake), on which we did not inject a fault, whose answer did not come
//!   back whole within 10 s; a **corrupted** one: it came back different. A connection the
//!   kernel never completed while `echo` was out of descriptors is counted apart
//!   (`not accepted`), not as lost: nothing was sent on it;
//! - a fault whose effect is not seen: an idle or stalled client the server does not cut
//!   within the idle timeout + 5 s, a job whose long-poll client vanished that never ends
//!   `done`, a held connection not cut by the shutdown;
//! - a server's **resident memory at the end** more than 10 % above or below its value after
//!   the warm-up (for runs of 30 s and longer; shorter runs only report it);
//! - the workload child finding a timer that fired early, an aborted task that ran to
//!   completion, or a task left behind;
//! - a server that crashes, does not stop on `SIGINT`, or exits with a status other than 0.
//!
//! # How to read the output
//!
//! Three blocks: **checked** (messages, requests and jobs whose answers were verified, per
//! kind), **faults** (injected per kind, and what the servers said about them — each line of
//! a server's stderr is classified, e.g. echo's `reset by peer` and `idle for`), and
//! **processes** (each server's RSS after warm-up, at the end and the change, its peak, and
//! its CPU use over the run, 100 % = one core). Then any errors, and `soak: PASS` or
//! `soak: FAIL`. Under `cargo test` (no `--bench`), a 6-second smoke run whose memory is
//! reported but not judged.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod faults;
mod load;
mod procs;
mod workload;

use procs::{Cpu, Proc, Spec, mib, utc_now};

/// How long the soak runs unless `--secs` says otherwise.
const DEFAULT_SECS: f64 = 60.0;
/// The share of the run that is warm-up, unless `--warmup` says otherwise: the RSS at its
/// end is the reference the end is compared with.
const WARMUP_SHARE: f64 = 0.25;
/// Memory may move this much between the end of the warm-up and the end.
const RSS_TOLERANCE: f64 = 0.10;
/// Runs shorter than this only report the memory figures (too short to warm up).
const RSS_JUDGED_FROM: Duration = Duration::from_secs(30);
/// The servers' idle timeout, in seconds: short, so the idle faults see it fire.
pub const IDLE_SECS: u64 = 3;
/// `echo`'s open-files limit: low, so that a few hundred held connections exhaust it.
pub const ECHO_NOFILE: u64 = 512;
/// Jobs `jobs` remembers (`--max-jobs`): few enough to fill within the warm-up at the load's
/// ~80 jobs a second.
const JOBS_REMEMBERED: usize = 400;
/// How long a server has to stop after `SIGINT`.
const STOP_WITHIN: Duration = Duration::from_secs(20);
/// How long a client thread has to finish once asked to stop: its longest wait (an idle
/// fault's, `IDLE_SECS` + 5 s) and some.
const JOIN_WITHIN: Duration = Duration::from_secs(IDLE_SECS + 15);
/// The socket timeout every client uses.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// What is counted

/// Everything the soak counts, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stat {
    /// Echo messages sent on load connections and checked byte for byte.
    EchoMessages,
    /// Their bytes.
    EchoBytes,
    /// One-byte echoes on the connections that hold `echo` near its descriptor limit.
    HeldPings,
    /// Connections opened while `echo` was out of descriptors, then served and checked.
    PressureServed,
    /// HTTP answers from `http_hello`, parsed and checked.
    HttpAnswers,
    /// Jobs seen `done` with their result.
    JobsDone,
    /// `fail=panic` jobs seen `failed`, with the panic reported.
    JobsFailed,
    /// Bytes echoed to slow readers and checked.
    SlowBytes,
    /// Timers that fired in the workload child, none early.
    TimersFired,
    /// Tasks the workload child aborted, each of which ended cancelled.
    TasksAborted,
    /// Blocking jobs the workload child ran and checked.
    BlockingRun,
    /// Echo connections reset with `SO_LINGER 0` mid-message.
    EchoResets,
    /// HTTP connections reset mid-request, or with answers unread.
    HttpResets,
    /// Long polls whose client reset; each job then checked `done` by another client.
    JobsResets,
    /// Slow-reader sessions.
    SlowReaders,
    /// Idle echo clients, cut by echo's idle timeout.
    IdleCut,
    /// Idle keep-alive HTTP clients, cut by http_hello's idle timeout.
    HttpIdleCut,
    /// Readers that stopped reading, cut by echo's write timeout.
    StalledCut,
    /// Times `echo` was driven out of descriptors (it said `accept failed` twice).
    Exhaustions,
    /// Connections the kernel never completed while `echo` was out of descriptors.
    NotAccepted,
    /// Held connections cut by echo's shutdown (their tasks cancelled).
    ShutdownCut,
    /// Messages lost.
    Lost,
    /// Messages corrupted.
    Corrupted,
}

impl Stat {
    /// Every stat, in report order.
    pub const ALL: [Stat; 23] = [
        Stat::EchoMessages,
        Stat::EchoBytes,
        Stat::HeldPings,
        Stat::PressureServed,
        Stat::HttpAnswers,
        Stat::JobsDone,
        Stat::JobsFailed,
        Stat::SlowBytes,
        Stat::TimersFired,
        Stat::TasksAborted,
        Stat::BlockingRun,
        Stat::EchoResets,
        Stat::HttpResets,
        Stat::JobsResets,
        Stat::SlowReaders,
        Stat::IdleCut,
        Stat::HttpIdleCut,
        Stat::StalledCut,
        Stat::Exhaustions,
        Stat::NotAccepted,
        Stat::ShutdownCut,
        Stat::Lost,
        Stat::Corrupted,
    ];

    /// Its line in the report.
    fn label(self) -> &'static str {
        match self {
            Stat::EchoMessages => "echo messages (1 B-32 KiB), byte for byte",
            Stat::EchoBytes => "echo bytes",
            Stat::HeldPings => "echo pings on held connections",
            Stat::PressureServed => "echo conns opened while out of fds, then served",
            Stat::HttpAnswers => "http_hello answers (pipelined, keep-alive)",
            Stat::JobsDone => "jobs done (blocking pool, 0.05 s each)",
            Stat::JobsFailed => "jobs failed as asked (fail=panic)",
            Stat::SlowBytes => "bytes echoed to slow readers",
            Stat::TimersFired => "timers fired, none early (workload)",
            Stat::TasksAborted => "tasks aborted, each cancelled (workload)",
            Stat::BlockingRun => "blocking jobs run and checked (workload)",
            Stat::EchoResets => "echo: reset (SO_LINGER 0) mid-message",
            Stat::HttpResets => "http_hello: reset mid-request / answers unread",
            Stat::JobsResets => "jobs: reset during a long poll",
            Stat::SlowReaders => "echo: slow readers (4 KiB rcvbuf)",
            Stat::IdleCut => "echo: idle clients cut by the idle timeout",
            Stat::HttpIdleCut => "http_hello: idle clients cut by the idle timeout",
            Stat::StalledCut => "echo: stalled readers cut by the write timeout",
            Stat::Exhaustions => "echo: descriptor exhaustions (EMFILE)",
            Stat::NotAccepted => "echo: connects not completed while out of fds",
            Stat::ShutdownCut => "echo: held connections cut by the shutdown",
            Stat::Lost => "lost",
            Stat::Corrupted => "corrupted",
        }
    }

    /// True for the faults block of the report, false for the checked block.
    fn is_fault(self) -> bool {
        matches!(
            self,
            Stat::EchoResets
                | Stat::HttpResets
                | Stat::JobsResets
                | Stat::SlowReaders
                | Stat::IdleCut
                | Stat::HttpIdleCut
                | Stat::StalledCut
                | Stat::Exhaustions
                | Stat::NotAccepted
                | Stat::ShutdownCut
        )
    }
}

/// The counters and the errors, shared by every thread.
pub struct Tally {
    /// One counter per [`Stat`], in `Stat::ALL` order.
    counts: [AtomicU64; Stat::ALL.len()],
    /// Every error, in the order they happened (the report shows the first few).
    errors: Mutex<Vec<String>>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Adds `n` to `stat`.
    pub fn add(&self, stat: Stat, n: u64) {
        self.counts[stat as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The count of `stat`.
    pub fn get(&self, stat: Stat) -> u64 {
        self.counts[stat as usize].load(Ordering::Relaxed)
    }

    /// Records a failure.
    pub fn error(&self, what: String) {
        self.errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(what);
    }

    /// Every error so far.
    fn errors(&self) -> Vec<String> {
        self.errors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The stop signal the client threads share: a flag they check between operations, and a
/// condition variable so that a thread pacing itself wakes at once when it is set.
pub struct Stop {
    /// Set once, when the run is over.
    stopped: Mutex<bool>,
    /// Notified when it is set.
    changed: Condvar,
}

impl Stop {
    fn new() -> Stop {
        Stop {
            stopped: Mutex::new(false),
            changed: Condvar::new(),
        }
    }

    /// True once the run is over.
    pub fn is_set(&self) -> bool {
        *self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends the run.
    fn set(&self) {
        *self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.changed.notify_all();
    }

    /// Waits up to `d` for the stop; true if it came. This paces a thread (a quarter second
    /// between pings, say); it never orders one event after another.
    pub fn wait(&self, d: Duration) -> bool {
        let guard = self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .changed
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }
}

/// What every client thread shares.
pub struct Ctx {
    /// The counters and errors.
    pub tally: Tally,
    /// The end of the run.
    pub stop: Stop,
    /// Where `echo` listens.
    pub echo: SocketAddr,
    /// Its process id, to count its open descriptors.
    pub echo_pid: u32,
    /// Where `http_hello` listens.
    pub http: SocketAddr,
    /// Where `jobs` listens.
    pub jobs: SocketAddr,
    /// The pressure client's own stop, after the load's: it hands its connections back.
    pub release: Stop,
    /// echo's stderr lines about particular connections, for the faults that wait on them.
    pub echo_lines: Arc<faults::PeerLines>,
    /// True while the pressure client holds `echo` out of descriptors.
    pub exhausted: AtomicBool,
    /// The seed of every client's random numbers (the run's start time).
    pub seed: u64,
}

/// Connects to `addr` with the soak's timeouts on the connect, every read and every write.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A small, fast pseudo-random generator (SplitMix64): message sizes, contents, choices.
pub struct Rng(u64);

impl Rng {
    /// A generator for one thread: the run's seed mixed with the thread's own number.
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.bits() % (hi - lo + 1)
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.bits() % n == 0
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.bits().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run

/// What the command line asked for.
struct Opts {
    /// The whole run, warm-up included.
    secs: Duration,
    /// The warm-up: its end is the memory reference.
    warmup: Duration,
    /// Whether the memory figures decide the verdict.
    judge_rss: bool,
}

const USAGE: &str = "\
usage: cargo bench --bench soak [-- OPTIONS]

  --secs S     how long to run, warm-up included (default 60)
  --warmup S   the warm-up, whose end is the memory reference (default a quarter of --secs)
  --workload   be the timers-and-aborts child (what the soak starts for itself)";

fn parse_opts(args: &[String]) -> Result<Opts, String> {
    let mut secs = DEFAULT_SECS;
    let mut warmup = None;
    let mut it = args.iter();
    let seconds = |flag: &str, text: Option<&String>| -> Result<f64, String> {
        let text = text.ok_or(format!("{flag} needs a value"))?;
        match text.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
            _ => Err(format!(
                "{flag} {text}: expected a positive number of seconds"
            )),
        }
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--bench" => {}
            "--secs" => secs = seconds(flag, it.next())?,
            "--warmup" => warmup = Some(seconds(flag, it.next())?),
            "-h" | "--help" => return Err(String::new()),
            // cargo bench passes filters through; we have none to apply.
            other if !other.starts_with('-') => {}
            other => return Err(format!("unknown option {other}")),
        }
    }
    let warmup = warmup.unwrap_or(secs * WARMUP_SHARE);
    if warmup >= secs {
        return Err(format!(
            "--warmup {warmup} must be shorter than --secs {secs}"
        ));
    }
    let secs = Duration::from_secs_f64(secs);
    Ok(Opts {
        secs,
        warmup: Duration::from_secs_f64(warmup),
        judge_rss: secs >= RSS_JUDGED_FROM,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--workload") {
        return workload::run();
    }
    // `cargo bench` passes `--bench`; `cargo test` passes nothing of ours: a smoke run.
    let opts = if args.iter().any(|a| a == "--bench") {
        match parse_opts(&args) {
            Ok(opts) => opts,
            Err(msg) if msg.is_empty() => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Err(msg) => {
                eprintln!("soak: {msg}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    } else {
        Opts {
            secs: Duration::from_secs(6),
            warmup: Duration::from_secs(2),
            judge_rss: false,
        }
    };
    match run(&opts) {
        Ok(true) => {
            println!("soak: PASS");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("soak: FAIL");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("soak: {e}");
            println!("soak: FAIL");
            ExitCode::FAILURE
        }
    }
}

/// One server or child under test, and what we measured of it.
struct Watched {
    /// The process.
    proc: Proc,
    /// Its CPU time when the load started.
    cpu_start: Cpu,
    /// RSS at the end of the warm-up.
    rss_warm: u64,
    /// RSS when the load stopped.
    rss_end: u64,
    /// The highest RSS sampled (once a second).
    rss_peak: u64,
    /// CPU used over the load.
    cpu: Cpu,
    /// What it printed on stdout after `SIGINT`.
    stop_lines: Vec<String>,
}

impl Watched {
    fn new(proc: Proc) -> io::Result<Watched> {
        let cpu_start = proc.cpu()?;
        Ok(Watched {
            proc,
            cpu_start,
            rss_warm: 0,
            rss_end: 0,
            rss_peak: 0,
            cpu: Cpu::default(),
            stop_lines: Vec::new(),
        })
    }

    /// Samples its RSS into the peak, and returns it.
    fn sample(&mut self) -> io::Result<u64> {
        let rss = self.proc.rss()?;
        self.rss_peak = self.rss_peak.max(rss);
        Ok(rss)
    }

    /// RSS change from the warm-up's end to the end, as a fraction.
    fn drift(&self) -> f64 {
        (self.rss_end as f64 - self.rss_warm as f64) / self.rss_warm.max(1) as f64
    }
}

/// A client thread whose end we can wait for with a deadline (std's `join` has none).
struct Worker<T> {
    /// Its name, for errors.
    name: String,
    /// The thread.
    handle: JoinHandle<T>,
    /// Disconnected when the thread ends (its sender is dropped with the closure).
    done: Receiver<()>,
}

/// Starts `f` on a thread named `name`.
fn worker<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> Worker<T> {
    let (tx, done): (Sender<()>, Receiver<()>) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _tx = tx; // dropped when `f` returns or panics: the end of the thread
            f()
        })
        .expect("spawning a client thread");
    Worker {
        name: name.to_string(),
        handle,
        done,
    }
}

impl<T> Worker<T> {
    /// Waits until `deadline` for the thread to end, and returns what it returned.
    fn join(self, deadline: Instant, tally: &Tally) -> Option<T> {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(left) {
            tally.error(format!("{}: still running when the run ended", self.name));
            return None;
        }
        match self.handle.join() {
            Ok(value) => Some(value),
            Err(_) => {
                tally.error(format!("{}: the thread panicked", self.name));
                None
            }
        }
    }
}

/// The whole soak. `Ok(false)` if anything failed; `Err` if it could not run at all.
fn run(opts: &Opts) -> io::Result<bool> {
    let started = Instant::now();
    let dir = procs::build_examples(&["echo", "http_hello", "jobs"])?;
    let idle = IDLE_SECS.to_string();
    let server = |name: &'static str, extra: &[&str], nofile| Spec {
        name,
        program: dir.join(name),
        args: ["--addr", "127.0.0.1:0"]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect(),
        nofile,
    };
    let echo = Proc::start(server(
        "echo",
        &["--idle-secs", &idle, "--grace-secs", "1"],
        Some(ECHO_NOFILE),
    ))?;
    let http = Proc::start(server(
        "http_hello",
        &["--idle-secs", &idle, "--grace-secs", "1"],
        None,
    ))?;
    // `--max-jobs`: the job table keeps finished jobs until it is full, by design; a small
    // table fills during the warm-up, so the memory after it is the steady state.
    let jobs = Proc::start(server(
        "jobs",
        &["--workers", "4", "--max-jobs", &JOBS_REMEMBERED.to_string()],
        None,
    ))?;
    let work = Proc::start(Spec {
        name: "workload",
        program: std::env::current_exe()?,
        args: vec!["--workload".into()],
        nofile: None,
    })?;

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let ctx = Arc::new(Ctx {
        tally: Tally::new(),
        stop: Stop::new(),
        release: Stop::new(),
        echo_lines: Arc::default(),
        echo: echo.addr(),
        echo_pid: echo.pid(),
        http: http.addr(),
        jobs: jobs.addr(),
        exhausted: AtomicBool::new(false),
        seed,
    });
    println!(
        "soak · {} · {} s (warm-up {} s) · seed {seed:#x} · echo {} (open files {ECHO_NOFILE}), \
         http_hello {}, jobs {}, workload pid {}",
        utc_now(),
        opts.secs.as_secs_f64(),
        opts.warmup.as_secs_f64(),
        ctx.echo,
        ctx.http,
        ctx.jobs,
        work.pid()
    );

    // What the servers say on stderr, classified; echo's `accept failed` also goes to the
    // pressure client, which waits on it.
    let mut echo = echo;
    let mut http = http;
    let mut jobs = jobs;
    let mut work = work;
    let (emfile_tx, emfile_rx) = mpsc::channel();
    let said_echo = faults::watch_stderr(&mut echo, Some(emfile_tx), Some(ctx.echo_lines.clone()));
    let said_http = faults::watch_stderr(&mut http, None, None);
    let said_jobs = faults::watch_stderr(&mut jobs, None, None);
    let said_work = faults::watch_stderr(&mut work, None, None);

    let mut watched = [
        Watched::new(echo)?,
        Watched::new(http)?,
        Watched::new(jobs)?,
        Watched::new(work)?,
    ];

    // The clients.
    let mut workers: Vec<Worker<()>> = Vec::new();
    for i in 0..load::ECHO_CLIENTS {
        let ctx = ctx.clone();
        workers.push(worker(&format!("echo-{i}"), move || load::echo(&ctx, i)));
    }
    for i in 0..load::HTTP_CLIENTS {
        let ctx = ctx.clone();
        workers.push(worker(&format!("http-{i}"), move || load::http(&ctx, i)));
    }
    for i in 0..load::JOB_CLIENTS {
        let ctx = ctx.clone();
        workers.push(worker(&format!("jobs-{i}"), move || load::jobs(&ctx, i)));
    }
    {
        let c = ctx.clone();
        workers.push(worker("resets", move || faults::resets(&c)));
        let c = ctx.clone();
        workers.push(worker("slow-readers", move || faults::slow_readers(&c)));
        let c = ctx.clone();
        workers.push(worker("idle", move || faults::idle(&c)));
    }
    let holder = {
        let c = ctx.clone();
        worker("pressure", move || faults::pressure(&c, emfile_rx))
    };

    // Warm-up, then the rest of the run; RSS sampled once a second meanwhile.
    let load_started = Instant::now();
    let warm_at = load_started + opts.warmup;
    let end_at = load_started + opts.secs;
    let mut warm_taken = false;
    loop {
        let now = Instant::now();
        if now >= end_at {
            break;
        }
        let next = (now + Duration::from_secs(1)).min(end_at);
        let next = if warm_taken { next } else { next.min(warm_at) };
        if ctx.stop.wait(next.saturating_duration_since(now)) {
            break;
        }
        for w in &mut watched {
            if let Err(e) = w.proc.check_alive() {
                ctx.tally.error(e.to_string());
                ctx.stop.set();
            }
            if let Ok(rss) = w.sample()
                && !warm_taken
                && Instant::now() >= warm_at
            {
                w.rss_warm = rss;
            }
        }
        if Instant::now() >= warm_at {
            warm_taken = true;
        }
    }

    // Stop the load. The pressure client goes on pinging its connections meanwhile, so
    // that they are still open, and not idle, when echo is stopped.
    ctx.stop.set();
    let load_time = load_started.elapsed();
    let deadline = Instant::now() + JOIN_WITHIN;
    for w in workers {
        w.join(deadline, &ctx.tally);
    }
    for w in &mut watched {
        match w.sample() {
            Ok(rss) => w.rss_end = rss,
            Err(e) => ctx
                .tally
                .error(format!("{}: RSS at the end: {e}", w.proc.name)),
        }
        match w.proc.cpu() {
            Ok(cpu) => w.cpu = cpu.since(w.cpu_start),
            Err(e) => ctx
                .tally
                .error(format!("{}: CPU at the end: {e}", w.proc.name)),
        }
    }
    // Now the pressure client hands back its connections.
    ctx.release.set();
    let held = holder
        .join(Instant::now() + JOIN_WITHIN, &ctx.tally)
        .unwrap_or_default();
    let held_count = held.len();

    // SIGINT each server, echo first; each must exit 0. echo still has the held
    // connections open, so its shutdown cancels their tasks once its grace period (1 s,
    // under the idle timeout) is over.
    for w in &mut watched {
        let name = w.proc.name;
        let stopped = w
            .proc
            .interrupt()
            .and_then(|()| w.proc.wait_exit(STOP_WITHIN));
        match stopped {
            Ok((status, lines)) => {
                if !status.success() {
                    ctx.tally
                        .error(format!("{name}: exited with {status} after SIGINT"));
                }
                w.stop_lines = lines;
            }
            Err(e) => ctx.tally.error(format!("{name}: stopping: {e}")),
        }
    }
    faults::check_shutdown_cut(&ctx, held);
    // echo's own word for it: `grace period of 1s over: closing N connection(s)`.
    let closing = watched[0].stop_lines.iter().find_map(|l| {
        l.split_once("closing ")?
            .1
            .split(' ')
            .next()?
            .parse::<usize>()
            .ok()
    });
    if closing.is_none_or(|n| n < held_count) {
        ctx.tally.error(format!(
            "echo's shutdown closed {closing:?} connection(s); {held_count} were held open"
        ));
    }
    let workload = workload::Report::parse(&watched[3].stop_lines);
    match &workload {
        Ok(report) => report.add_to(&ctx.tally),
        Err(e) => ctx.tally.error(format!("workload: {e}")),
    }

    // What the servers said on stderr, now that their pipes are closed.
    let said = [
        ("echo", said_echo.finish()),
        ("http_hello", said_http.finish()),
        ("jobs", said_jobs.finish()),
        ("workload", said_work.finish()),
    ];
    faults::check_server_reports(&ctx, &said);

    Ok(report(
        opts,
        &ctx,
        &watched,
        &said,
        workload.ok().as_ref(),
        load_time,
        started,
    ))
}

/// Prints the figures and decides the verdict.
fn report(
    opts: &Opts,
    ctx: &Ctx,
    watched: &[Watched],
    said: &[(&str, faults::Said)],
    workload: Option<&workload::Report>,
    load_time: Duration,
    started: Instant,
) -> bool {
    let t = &ctx.tally;
    let secs = load_time.as_secs_f64();
    println!("\nchecked                                            count      per s");
    for stat in Stat::ALL.into_iter().filter(|s| !s.is_fault()) {
        let n = t.get(stat);
        println!("  {:<48} {:>9} {:>10.0}", stat.label(), n, n as f64 / secs);
    }
    if let Some(w) = workload {
        println!(
            "  workload: peak {} timers pending at once; lateness p50 {} µs, p99 {} µs, max {} µs; \
             {} tasks spawned",
            w.peak_pending, w.late_p50_us, w.late_p99_us, w.late_max_us, w.spawned
        );
    }
    println!("\nfaults injected                                    count");
    for stat in Stat::ALL.into_iter().filter(|s| s.is_fault()) {
        println!("  {:<48} {:>9}", stat.label(), t.get(stat));
    }
    println!("\nwhat the servers said on stderr (lines, by kind)");
    for (name, s) in said {
        let kinds: Vec<String> = s.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let kinds = if kinds.is_empty() {
            "nothing".to_string()
        } else {
            kinds.join(", ")
        };
        println!("  {name:<11} {kinds}");
        for line in s.other.iter().take(3) {
            println!("  {:<11}   unclassified: {line:?}", "");
        }
    }
    println!(
        "\nprocesses     RSS warm     RSS end    change    RSS peak    CPU user    CPU sys   CPU %"
    );
    let mut rss_ok = true;
    for w in watched {
        let drift = w.drift();
        let bad = drift.abs() > RSS_TOLERANCE;
        rss_ok &= !bad;
        println!(
            "  {:<10} {:>11} {:>11} {:>+8.1}%{} {:>11} {:>10.2}s {:>9.2}s {:>6.0}",
            w.proc.name,
            mib(w.rss_warm),
            mib(w.rss_end),
            drift * 100.0,
            if bad { "!" } else { " " },
            mib(w.rss_peak),
            w.cpu.user.as_secs_f64(),
            w.cpu.system.as_secs_f64(),
            w.cpu.total().as_secs_f64() / secs * 100.0
        );
    }
    for w in watched {
        if let Some(line) = w.stop_lines.iter().find(|l| l.contains("closing")) {
            println!("  {} on SIGINT: {line}", w.proc.name);
        }
    }
    if let Ok(me) = procs::cpu_of("/proc/self/stat") {
        println!(
            "  soak itself (clients): {:.2}s user, {:.2}s sys; RSS {}",
            me.user.as_secs_f64(),
            me.system.as_secs_f64(),
            procs::own_rss().map_or_else(|_| "?".into(), mib)
        );
    }
    let errors = t.errors();
    let mut ok = errors.is_empty() && t.get(Stat::Lost) == 0 && t.get(Stat::Corrupted) == 0;
    if !rss_ok {
        if opts.judge_rss {
            ok = false;
            println!(
                "\nmemory: some RSS moved more than {:.0} % after the warm-up (marked !)",
                RSS_TOLERANCE * 100.0
            );
        } else {
            println!(
                "\nmemory: RSS moved more than {:.0} % (marked !), not judged: runs under {} s \
                 are too short to warm up",
                RSS_TOLERANCE * 100.0,
                RSS_JUDGED_FROM.as_secs()
            );
        }
    }
    if !errors.is_empty() {
        println!("\n{} error(s); the first ones:", errors.len());
        for e in errors.iter().take(20) {
            println!("  {e}");
        }
    }
    println!(
        "\nsoak ran {:.1} s of load ({:.1} s in all)",
        secs,
        started.elapsed().as_secs_f64()
    );
    ok
}
