//! Memory: what a server holds per idle connection, and what a runtime holds per parked task.
//!
//! **Idle connections.** Each echo server (the same processes as the echo part, started
//! afresh) is given `IDLE_CONNS` connections from this process, opened in batches and each
//! used for one 1-byte echo — so the server has accepted it, spawned its task (or thread),
//! and touched its buffer — then left idle. We read the server's peak resident set
//! (`VmHWM` in `/proc/PID/status`) before and after: the difference ÷ the connections is
//! what one idle connection costs the server's own memory. The kernel's socket memory is not
//! in any process's RSS; the `kernel` column shows the growth of the kernel's slab
//! (`/proc/meminfo`), system-wide, per connection: both ends, client and server, and the
//! same whichever server holds them.
//!
//! **Pending tasks.** `TASKS` tasks, each an empty future that never completes (the size of
//! `std::future::pending::<()>()`: zero bytes), are spawned on tempo's single worker and on
//! tokio's `current_thread` runtime, in batches, each batch polled once before the next,
//! so the run queue stays short and what remains is what a parked task costs. A counting
//! global allocator (below) sees every byte and every allocation made meanwhile: bytes per
//! task is everything allocated, net of frees, ÷ the tasks — the task itself, and the
//! runtime's share of the tables that hold it (tempo's slab, grown by doubling). Each
//! runtime runs in a child process of its own (this binary, `--serve pending-tasks-…`),
//! so that the RSS growth, measured too, is not flattered by memory the other runtime
//! freed. That RSS figure adds what the allocator (glibc malloc) spends on top: its chunk
//! headers and rounding, and for tokio's 128-byte-aligned tasks, alignment.
//!
//! When tempo's figure is over the target (64 bytes), the report says where the
//! bytes go, from the sizes of mirrors of tempo's task types (see [`TempoCell`]) checked
//! against the allocation the allocator saw.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::io::{self, Read, Write};
use std::mem::{offset_of, size_of};
use std::net::TcpStream;
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use serde_json::{Value, json};

use crate::servers::{Kind, Server};
use crate::{Mode, Opts, Progress};

/// Idle connections each server is given (smoke mode: `SMOKE_IDLE_CONNS`).
const IDLE_CONNS: usize = 5_000;
const SMOKE_IDLE_CONNS: usize = 200;
/// The servers whose idle connections are measured even if `--servers` leaves them out:
/// tempo's one worker, and the two it is compared with.
const ALWAYS: [Kind; 3] = [Kind::Tempo1, Kind::TokioCt, Kind::Mio];
/// Pending tasks spawned on each runtime (smoke mode: `SMOKE_TASKS`).
const TASKS: usize = 1_000_000;
const SMOKE_TASKS: usize = 2_000;
/// Tasks spawned before the spawner yields until all of them have been polled once.
const BATCH: usize = 1_024;
/// The target for an empty pending task on tempo, in bytes (tokio's is 128).
const TARGET_BYTES_PER_TASK: f64 = 64.0;
/// Open files the servers and this process need beyond the connections themselves.
const SPARE_FDS: u64 = 256;
/// Connections opened at once, well under every server's listen backlog (1 024).
const OPEN_BATCH: usize = 256;
/// How long a server gets to settle before and after the connections are opened.
const SETTLE: Duration = Duration::from_millis(100);
/// Fewest connections for which the kernel's slab growth is reported (smoke runs use too
/// few: other activity on the machine swamps them).
const KERNEL_MIN_CONNS: usize = 1_000;
/// How long an echo of the probe byte may take.
const ECHO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Results

/// What the memory part measured.
pub struct MemoryResults {
    /// Connections each server was given.
    idle_conns: usize,
    /// One entry per server, in table order.
    idle: Vec<Idle>,
    /// Tasks spawned on each runtime.
    tasks: usize,
    /// tempo's measurement, then tokio's; an error if the child failed.
    pending: Vec<(&'static str, Result<Pending, String>)>,
    /// Where tempo's bytes per task go.
    breakdown: Breakdown,
}

/// One server holding idle connections.
struct Idle {
    /// Which server.
    kind: Kind,
    /// The figures, or why there are none.
    result: Result<IdleFigures, String>,
}

/// Memory of one server before and after the idle connections, in bytes.
#[derive(Clone, Copy, Debug)]
struct IdleFigures {
    /// Peak RSS after start-up, before any connection.
    baseline: u64,
    /// Peak RSS with all the connections open.
    peak: u64,
    /// Growth of the kernel's slab (system-wide) while they were opened.
    kernel: i64,
    /// Connections held.
    conns: usize,
}

impl IdleFigures {
    /// Server bytes per idle connection.
    fn per_conn(&self) -> f64 {
        self.peak.saturating_sub(self.baseline) as f64 / self.conns as f64
    }

    /// Kernel slab bytes per connection (both ends); `None` with too few connections for
    /// a system-wide figure to rise above what the rest of the machine does meanwhile.
    fn kernel_per_conn(&self) -> Option<f64> {
        (self.conns >= KERNEL_MIN_CONNS).then(|| self.kernel as f64 / self.conns as f64)
    }
}

/// What a child process measured while parking tasks on one runtime.
#[derive(Clone, Debug)]
struct Pending {
    /// Tasks spawned.
    tasks: usize,
    /// Bytes allocated minus bytes freed, during the spawning.
    net_bytes: i64,
    /// Allocations (`alloc`, not counting `realloc`).
    allocs: u64,
    /// Reallocations: tables growing.
    reallocs: u64,
    /// The allocation sizes made at least once per two tasks: (bytes, allocations per task).
    per_task: Vec<(usize, f64)>,
    /// Growth of the child's RSS, bytes.
    rss_bytes: i64,
}

impl Pending {
    fn bytes_per_task(&self) -> f64 {
        self.net_bytes as f64 / self.tasks as f64
    }

    /// Bytes per task in the per-task allocations alone.
    fn task_alloc_bytes(&self) -> f64 {
        self.per_task.iter().map(|&(size, n)| size as f64 * n).sum()
    }

    fn allocs_per_task(&self) -> f64 {
        self.allocs as f64 / self.tasks as f64
    }

    fn rss_per_task(&self) -> f64 {
        self.rss_bytes as f64 / self.tasks as f64
    }

    fn to_json(&self) -> Value {
        json!({
            "tasks": self.tasks,
            "net_bytes": self.net_bytes,
            "bytes_per_task": self.bytes_per_task(),
            "allocs_per_task": self.allocs_per_task(),
            "reallocs": self.reallocs,
            "per_task_allocations": self.per_task.iter()
                .map(|&(size, n)| json!({ "bytes": size, "per_task": n }))
                .collect::<Vec<_>>(),
            "rss_bytes_per_task": self.rss_per_task(),
        })
    }

    /// Parse the child's one line of output.
    fn from_json(text: &str) -> Option<Pending> {
        let v: Value = serde_json::from_str(text.trim()).ok()?;
        let tasks = v["tasks"].as_u64()? as usize;
        Some(Pending {
            tasks,
            net_bytes: v["net_bytes"].as_i64()?,
            allocs: v["allocs"].as_u64()?,
            reallocs: v["reallocs"].as_u64()?,
            per_task: v["per_task"]
                .as_array()?
                .iter()
                .filter_map(|p| Some((p[0].as_u64()? as usize, p[1].as_f64()?)))
                .collect(),
            rss_bytes: v["rss_bytes"].as_i64()?,
        })
    }
}

/// `a ÷ b` with two decimals, or `-`.
fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "-".into()
    }
}

impl MemoryResults {
    fn idle_of(&self, kind: Kind) -> Option<IdleFigures> {
        let idle = self.idle.iter().find(|i| i.kind == kind)?;
        idle.result.as_ref().ok().copied()
    }

    fn pending_of(&self, name: &str) -> Option<&Pending> {
        let (_, result) = self.pending.iter().find(|(n, _)| *n == name)?;
        result.as_ref().ok()
    }

    /// The memory section of the final table: the idle connections, then the pending tasks
    /// and where tempo's bytes go. Each part starts with its header row.
    pub fn table_rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        rows.push(
            [
                &format!("{} idle connections", self.idle_conns),
                "RSS before",
                "RSS peak",
                "B/conn",
                "×tk",
                "×mio",
                "kernel B/conn",
            ]
            .map(|s| s.to_string())
            .to_vec(),
        );
        for idle in &self.idle {
            let mut row = vec![idle.kind.name().to_string()];
            match &idle.result {
                Ok(f) => {
                    let per_conn = |k: Kind| self.idle_of(k).map_or(f64::NAN, |f| f.per_conn());
                    row.extend([
                        mib(f.baseline),
                        mib(f.peak),
                        format!("{:.0}", f.per_conn()),
                        ratio(f.per_conn(), per_conn(idle.kind.tokio_peer())),
                        ratio(f.per_conn(), per_conn(Kind::Mio)),
                        f.kernel_per_conn()
                            .map_or("-".into(), |b| format!("{b:.0}")),
                    ]);
                }
                Err(e) => row.push(format!("failed: {e}")),
            }
            rows.push(row);
        }

        rows.push(Vec::new());
        rows.push(
            [
                &format!("{} pending tasks", thousands(self.tasks)),
                "B/task",
                "×tk",
                "allocs/task",
                "task alloc B",
                "RSS B/task",
                "×tk",
            ]
            .map(|s| s.to_string())
            .to_vec(),
        );
        let tokio = self.pending_of("tokio-ct");
        for (name, result) in &self.pending {
            let mut row = vec![name.to_string()];
            match result {
                Ok(p) => {
                    let versus = |f: fn(&Pending) -> f64| match (*name, tokio) {
                        ("tokio-ct", _) | (_, None) => String::new(),
                        (_, Some(t)) => ratio(f(p), f(t)),
                    };
                    row.extend([
                        format!("{:.1}", p.bytes_per_task()),
                        versus(Pending::bytes_per_task),
                        format!("{:.2}", p.allocs_per_task()),
                        p.per_task
                            .iter()
                            .map(|(size, n)| format!("{size}×{n:.2}"))
                            .collect::<Vec<_>>()
                            .join(" + "),
                        format!("{:.0}", p.rss_per_task()),
                        versus(Pending::rss_per_task),
                    ]);
                }
                Err(e) => row.push(format!("failed: {e}")),
            }
            rows.push(row);
        }
        if let Some(tempo) = self.pending_of("tempo-1") {
            let verdict = if tempo.bytes_per_task() <= TARGET_BYTES_PER_TASK {
                "met"
            } else {
                "MISSED"
            };
            rows.push(vec![
                format!("target: tempo ≤ {TARGET_BYTES_PER_TASK:.0} B per pending task"),
                verdict.into(),
            ]);
            rows.push(Vec::new());
            rows.extend(self.breakdown.rows(tempo));
        }
        rows
    }

    /// These results as a JSON value, stored under `"memory"` in `results.json`.
    pub fn to_json(&self) -> String {
        let idle: serde_json::Map<String, Value> = self
            .idle
            .iter()
            .map(|i| {
                let value = match &i.result {
                    Ok(f) => json!({
                        "rss_before_bytes": f.baseline,
                        "rss_peak_bytes": f.peak,
                        "bytes_per_conn": f.per_conn(),
                        "kernel_slab_bytes_per_conn": f.kernel_per_conn(),
                    }),
                    Err(e) => json!({ "error": e }),
                };
                (i.kind.name().to_string(), value)
            })
            .collect();
        let pending: serde_json::Map<String, Value> = self
            .pending
            .iter()
            .map(|(name, r)| {
                let value = match r {
                    Ok(p) => p.to_json(),
                    Err(e) => json!({ "error": e }),
                };
                (name.to_string(), value)
            })
            .collect();
        json!({
            "idle_conns": self.idle_conns,
            "idle": idle,
            "pending_tasks": self.tasks,
            "pending": pending,
            "target_bytes_per_task": TARGET_BYTES_PER_TASK,
            "target_met": self
                .pending_of("tempo-1")
                .map(|p| p.bytes_per_task() <= TARGET_BYTES_PER_TASK),
            "tempo_task_layout": self.breakdown.to_json(),
        })
        .to_string()
    }
}

/// Bytes as MiB with one decimal.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `1000000` as `1 000 000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The run

/// Run the memory part of the bench.
pub fn run(opts: &Opts, progress: &mut Progress) -> MemoryResults {
    let smoke = opts.mode == Mode::Smoke;
    let (idle_conns, tasks) = if smoke {
        (SMOKE_IDLE_CONNS, SMOKE_TASKS)
    } else {
        (IDLE_CONNS, TASKS)
    };
    // The servers of this run, and always the three the ratios need.
    let servers: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|k| opts.servers.contains(k) || ALWAYS.contains(k))
        .filter(|&k| !k.is_python() || opts.python.as_ref().is_some_and(|p| p.can_run(k)))
        .collect();
    progress.begin("memory", servers.len() + 2);
    if let Err(e) = raise_fd_limit(idle_conns as u64 + SPARE_FDS) {
        progress.note(&format!("memory: {e}"));
    }
    let mut idle = Vec::new();
    for kind in servers {
        progress.step(&format!("{idle_conns} idle connections · {}", kind.name()));
        let result = idle_connections(opts, kind, idle_conns).map_err(|e| e.to_string());
        if let Err(e) = &result {
            progress.note(&format!("memory: {}: {e}", kind.name()));
        }
        idle.push(Idle { kind, result });
    }
    let mut pending = Vec::new();
    for (name, runtime) in [("tempo-1", "tempo"), ("tokio-ct", "tokio")] {
        progress.step(&format!("{} pending tasks · {name}", thousands(tasks)));
        let result = pending_in_child(opts, runtime, tasks).map_err(|e| e.to_string());
        if let Err(e) = &result {
            progress.note(&format!("memory: pending tasks on {name}: {e}"));
        }
        pending.push((name, result));
    }
    MemoryResults {
        idle_conns,
        idle,
        tasks,
        pending,
        breakdown: Breakdown::new(),
    }
}

/// Raise this process's soft limit on open files to at least `needed` (up to the hard
/// limit). The servers started afterwards inherit it.
fn raise_fd_limit(needed: u64) -> io::Result<()> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= needed {
        return Ok(());
    }
    limit.rlim_cur = limit.rlim_max.min(needed);
    // SAFETY: `limit` is a valid rlimit; setrlimit only reads it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < needed {
        return Err(io::Error::other(format!(
            "open files limited to {} (hard limit), {needed} wanted: servers may refuse \
             connections",
            limit.rlim_max
        )));
    }
    Ok(())
}

/// A value in kB from a `/proc` file of `Name:   123 kB` lines, in bytes.
fn proc_kb(path: &str, name: &str) -> io::Result<u64> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::other(format!("no {name} in {path}")))
}

/// The soft limit on open files of process `pid`, from `/proc/PID/limits`.
fn fd_limit_of(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits"))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix("Max open files")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .ok_or_else(|| io::Error::other("no open-files limit in /proc/PID/limits"))
}

/// Start `kind`, give it `conns` connections, each used for one echo, and read its peak RSS
/// before and after.
fn idle_connections(opts: &Opts, kind: Kind, conns: usize) -> io::Result<IdleFigures> {
    let server = Server::start(kind, &opts.exe, opts.python.as_ref())?;
    let limit = fd_limit_of(server.pid())?;
    if limit < conns as u64 + 16 {
        return Err(io::Error::other(format!(
            "its open-files limit is {limit}, too few for {conns} connections"
        )));
    }
    let status = format!("/proc/{}/status", server.pid());
    std::thread::sleep(SETTLE);
    let baseline = proc_kb(&status, "VmHWM")?;
    let slab_before = proc_kb("/proc/meminfo", "Slab")?;
    // In batches, each opened, then echoed, before the next: the server has accepted and
    // set up every connection of a batch before we open more, so a batch that fits the
    // listen backlog never overflows it, and the server accepts a batch per wake.
    let mut streams: Vec<TcpStream> = Vec::with_capacity(conns);
    while streams.len() < conns {
        let first = streams.len();
        for i in first..conns.min(first + OPEN_BATCH) {
            let stream = TcpStream::connect(server.addr)
                .map_err(|e| io::Error::new(e.kind(), format!("connection {i}: {e}")))?;
            stream.set_read_timeout(Some(ECHO_TIMEOUT))?;
            streams.push(stream);
        }
        for stream in &mut streams[first..] {
            stream.write_all(b"x")?;
        }
        for (i, stream) in streams[first..].iter_mut().enumerate() {
            let mut echo = [0u8; 1];
            stream.read_exact(&mut echo).map_err(|e| {
                io::Error::new(e.kind(), format!("connection {}: no echo: {e}", first + i))
            })?;
        }
    }
    std::thread::sleep(SETTLE);
    let peak = proc_kb(&status, "VmHWM")?;
    let slab_after = proc_kb("/proc/meminfo", "Slab")?;
    // The server goes first: closing 5 000 connections one by one would only make it work.
    drop(server);
    drop(streams);
    Ok(IdleFigures {
        baseline,
        peak,
        kernel: slab_after as i64 - slab_before as i64,
        conns,
    })
}

/// Run `versus --serve pending-tasks-RUNTIME-N` and read what it measured.
fn pending_in_child(opts: &Opts, runtime: &str, tasks: usize) -> io::Result<Pending> {
    let output = Command::new(&opts.exe)
        .args(["--serve", &format!("pending-tasks-{runtime}-{tasks}")])
        // The default configuration: tempo's diagnostics would add their own tables.
        .env_remove("TEMPO_DEBUG")
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "the child failed: {}",
            output.status
        )));
    }
    Pending::from_json(&text)
        .ok_or_else(|| io::Error::other(format!("unreadable child output: {text:?}")))
}

// ---------------------------------------------------------------------------------------
// The child: parking tasks under the counting allocator

/// `versus --serve pending-tasks-RUNTIME-N`: park N tasks on RUNTIME (`tempo` or `tokio`)
/// and print what it cost as one line of JSON. `None` for any other kind.
pub fn serve(kind: &str) -> Option<io::Result<()>> {
    let rest = kind.strip_prefix("pending-tasks-")?;
    let (runtime, tasks) = rest.rsplit_once('-')?;
    let tasks: usize = tasks.parse().ok()?;
    let measured = match runtime {
        "tempo" => park_on_tempo(tasks),
        "tokio" => park_on_tokio(tasks),
        _ => return None,
    };
    Some(measured.and_then(|p| {
        let line = json!({
            "tasks": p.tasks,
            "net_bytes": p.net_bytes,
            "allocs": p.allocs,
            "reallocs": p.reallocs,
            "per_task": p.per_task.iter().map(|&(s, n)| json!([s, n])).collect::<Vec<_>>(),
            "rss_bytes": p.rss_bytes,
        });
        let mut out = io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }))
}

/// The empty future each task runs: zero bytes, like `std::future::pending::<()>()`, and
/// never ready. It counts its polls in a static, so the spawner knows when every task has
/// been polled once and is parked.
struct Parked;

/// Polls of [`Parked`] futures so far.
static PARKED: AtomicUsize = AtomicUsize::new(0);

impl Future for Parked {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        PARKED.fetch_add(1, Ordering::Relaxed);
        Poll::Pending
    }
}

/// Park `tasks` tasks on tempo's single worker, counting what it costs.
fn park_on_tempo(tasks: usize) -> io::Result<Pending> {
    let runtime = tempo::Builder::new().workers(1).build()?;
    let pending = runtime.block_on(async {
        let window = Window::open();
        let mut spawned = 0;
        while spawned < tasks {
            let batch = BATCH.min(tasks - spawned);
            for _ in 0..batch {
                // Dropping the JoinHandle detaches the task; it stays parked.
                drop(tempo::spawn(Parked));
            }
            spawned += batch;
            while PARKED.load(Ordering::Relaxed) < spawned {
                tempo::task::yield_now().await;
            }
        }
        window.close(tasks)
    });
    // Exit without dropping a million tasks: the measurement is done.
    std::mem::forget(runtime);
    pending
}

/// Park `tasks` tasks on tokio's `current_thread` runtime, counting what it costs.
fn park_on_tokio(tasks: usize) -> io::Result<Pending> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let pending = runtime.block_on(async {
        let window = Window::open();
        let mut spawned = 0;
        while spawned < tasks {
            let batch = BATCH.min(tasks - spawned);
            for _ in 0..batch {
                drop(tokio::spawn(Parked));
            }
            spawned += batch;
            while PARKED.load(Ordering::Relaxed) < spawned {
                tokio::task::yield_now().await;
            }
        }
        window.close(tasks)
    });
    std::mem::forget(runtime);
    pending
}

/// The counters and RSS at the start of a measurement.
struct Window {
    start: Counts,
    rss: u64,
}

impl Window {
    fn open() -> Window {
        COUNTING.store(true, Ordering::SeqCst);
        Window {
            rss: proc_kb("/proc/self/status", "VmRSS").unwrap_or(0),
            start: Counts::now(),
        }
    }

    /// What was allocated since `open`, for `tasks` tasks.
    fn close(self, tasks: usize) -> io::Result<Pending> {
        let end = Counts::now();
        COUNTING.store(false, Ordering::SeqCst);
        let rss = proc_kb("/proc/self/status", "VmRSS")?;
        let per_task = (0..SIZE_CLASSES)
            .filter_map(|class| {
                let n = end.by_size[class] - self.start.by_size[class];
                (n as usize >= tasks / 2).then(|| (class * 8, n as f64 / tasks as f64))
            })
            .collect();
        Ok(Pending {
            tasks,
            net_bytes: (end.allocated - self.start.allocated) as i64
                - (end.freed - self.start.freed) as i64,
            allocs: end.allocs - self.start.allocs,
            reallocs: end.reallocs - self.start.reallocs,
            per_task,
            rss_bytes: rss as i64 - self.rss as i64,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The counting allocator

/// The system allocator, counting while [`COUNTING`] is set. Off (one relaxed load per
/// call) everywhere but in the pending-task child, so the servers this binary also runs pay
/// nothing measurable for it.
struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Whether [`Counting`] counts.
static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated, and freed, while counting (a `realloc` counts as both).
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
/// `alloc` calls, and `realloc` calls, while counting.
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
/// `alloc` calls by size, rounded up to 8 bytes: class `c` holds sizes `8c - 7 ..= 8c`.
/// Larger allocations are not classed.
const SIZE_CLASSES: usize = 129;
static BY_SIZE: [AtomicU64; SIZE_CLASSES] = [const { AtomicU64::new(0) }; SIZE_CLASSES];

/// A copy of the counters.
struct Counts {
    allocated: u64,
    freed: u64,
    allocs: u64,
    reallocs: u64,
    by_size: Vec<u64>,
}

impl Counts {
    fn now() -> Counts {
        Counts {
            allocated: ALLOCATED.load(Ordering::SeqCst),
            freed: FREED.load(Ordering::SeqCst),
            allocs: ALLOCS.load(Ordering::SeqCst),
            reallocs: REALLOCS.load(Ordering::SeqCst),
            by_size: BY_SIZE.iter().map(|c| c.load(Ordering::SeqCst)).collect(),
        }
    }
}

fn count_alloc(size: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATED.fetch_add(size as u64, Ordering::Relaxed);
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        if let Some(class) = BY_SIZE.get(size.div_ceil(8)) {
            class.fetch_add(1, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; the counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_alloc(layout.size());
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `dealloc`'s contract: `ptr` came from this allocator
        // (that is, from `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
            FREED.fetch_add(layout.size() as u64, Ordering::Relaxed);
            REALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller upholds `realloc`'s contract, passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

// ---------------------------------------------------------------------------------------
// Where tempo's bytes go

/// tempo's task allocation, `Cell<F>` in `executor/src/task/raw.rs`, mirrored field for
/// field (those types are private to tempo-executor). The mirror is checked against the
/// allocation the counting allocator saw; a mismatch is reported, as the mirror having
/// drifted from the source.
#[allow(
    dead_code,
    reason = "only measured with size_of and offset_of, never built"
)]
#[repr(C)]
struct TempoCell<F: Future> {
    header: TempoHeader,
    stage: UnsafeCell<TempoStage<F>>,
}

/// `Header` in `executor/src/task/raw.rs`.
#[allow(dead_code, reason = "only measured")]
struct TempoHeader {
    /// `State(AtomicUsize)`: flags and reference count.
    state: AtomicUsize,
    /// `&'static Vtable`.
    vtable: &'static (),
    /// The task's `WakeRef` as bits.
    id: AtomicU64,
    /// `StdCell<RunState>`.
    run_state: Cell<TempoRunState>,
    /// The JoinHandle's waker.
    join_waker: UnsafeCell<Option<Waker>>,
}

/// `RunState` in `executor/src/task/raw.rs`.
#[allow(dead_code, reason = "only measured")]
enum TempoRunState {
    Idle,
    Queued,
    Running,
    RunningNotified,
}

/// `Stage<F>` in `executor/src/task/raw.rs`.
#[allow(dead_code, reason = "only measured")]
enum TempoStage<F: Future> {
    Running(F),
    Finished(Result<F::Output, tempo::task::JoinError>),
    Consumed,
}

/// `slab::Entry<T>` (slab 0.4): one slot of the executor's task slab, `Slab<RawTask>` in
/// `executor/src/executor.rs`; `RawTask` is one `NonNull<Header>`.
#[allow(dead_code, reason = "only measured")]
enum SlabEntry<T> {
    Vacant(usize),
    Occupied(T),
}

/// The sizes that make up one parked tempo task.
struct Breakdown {
    /// `size_of::<TempoCell<Parked>>()`: the one allocation per task.
    cell: usize,
    header: usize,
    stage: usize,
    /// Header fields: (name, offset, size).
    fields: Vec<(&'static str, usize, usize)>,
    /// `size_of::<SlabEntry<NonNull<()>>>()`.
    slab_entry: usize,
    /// A `VecDeque<RawTask>` slot: bytes per task while it is queued.
    queue_slot: usize,
}

impl Breakdown {
    fn new() -> Breakdown {
        Breakdown {
            cell: size_of::<TempoCell<Parked>>(),
            header: size_of::<TempoHeader>(),
            stage: size_of::<TempoStage<Parked>>(),
            fields: vec![
                (
                    "state",
                    offset_of!(TempoHeader, state),
                    size_of::<AtomicUsize>(),
                ),
                (
                    "vtable",
                    offset_of!(TempoHeader, vtable),
                    size_of::<&'static ()>(),
                ),
                ("id", offset_of!(TempoHeader, id), size_of::<AtomicU64>()),
                (
                    "join_waker",
                    offset_of!(TempoHeader, join_waker),
                    size_of::<Option<Waker>>(),
                ),
                (
                    "run_state",
                    offset_of!(TempoHeader, run_state),
                    size_of::<Cell<TempoRunState>>(),
                ),
            ],
            slab_entry: size_of::<SlabEntry<std::ptr::NonNull<()>>>(),
            queue_slot: size_of::<std::ptr::NonNull<()>>(),
        }
    }

    /// Rows saying where tempo's bytes per task go: by part, then the header by field.
    fn rows(&self, measured: &Pending) -> Vec<Vec<String>> {
        let task_alloc = measured.task_alloc_bytes();
        let mut rows = vec![
            [
                "tempo's B/task, by part",
                "total",
                "task cell",
                "Header",
                "Stage<F>",
                "slab entry",
                "run queue",
            ]
            .map(String::from)
            .to_vec(),
            vec![
                "measured (sizes: size_of)".into(),
                format!("{:.1}", measured.bytes_per_task()),
                format!("{task_alloc:.0}"),
                self.header.to_string(),
                self.stage.to_string(),
                // Everything beyond the task cells is the slab: its entries, and the slack
                // its Vec keeps from growing by doubling.
                format!(
                    "{:.1} ({})",
                    measured.bytes_per_task() - task_alloc,
                    self.slab_entry
                ),
                format!("0 ({})", self.queue_slot),
            ],
        ];
        if (task_alloc - self.cell as f64).abs() >= 0.5 {
            rows.push(vec![format!(
                "the mirror of tempo's task cell ({} B) no longer matches the allocation seen",
                self.cell
            )]);
        }
        let mut fields = self.fields.clone();
        fields.sort_by_key(|&(_, offset, _)| offset);
        let used: usize = fields.iter().map(|&(_, _, size)| size).sum();
        let mut names = vec!["Header, by field (in memory order)".to_string()];
        let mut sizes = vec!["bytes".to_string()];
        for (name, _, size) in fields {
            names.push(name.into());
            sizes.push(size.to_string());
        }
        names.push("padding".into());
        sizes.push((self.header - used).to_string());
        rows.push(names);
        rows.push(sizes);
        rows
    }

    fn to_json(&self) -> Value {
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|(name, offset, size)| json!({ "field": name, "offset": offset, "bytes": size }))
            .collect();
        json!({
            "cell_bytes": self.cell,
            "header_bytes": self.header,
            "stage_bytes": self.stage,
            "header_fields": fields,
            "slab_entry_bytes": self.slab_entry,
            "run_queue_slot_bytes": self.queue_slot,
        })
    }
}
