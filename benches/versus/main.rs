//! `versus`: tempo side by side with tokio, a bare mio loop, a thread per connection and
//! Python's asyncio — the same echo workload, the same load client, the same run.
//!
//! ```text
//! cargo bench --bench versus -- --quick     # about a minute on 2 cores (once built)
//! cargo bench --bench versus                # the full run: more rounds, longer cells
//! cargo bench --bench versus -- --servers tempo-1,tokio-ct,mio --conns 64 --sizes 64
//! cargo bench --bench versus -- --instructions  # instructions and syscalls per request
//! ```
//!
//! Each echo server runs as a process of its own (this binary re-executed with `--serve
//! KIND`, or `python3` with a script), listening on loopback. A load client written on mio
//! (`client.rs`) drives it from a thread of this process: `conns` connections, exactly one
//! message in flight on each, every echoed byte checked. The matrix is connections {1, 64,
//! 512} × message size {64 B, 4 KiB}; servers are interleaved — A B C … for one cell, then
//! the next cell, and the whole matrix again each round, starting each round one server
//! later — so that a noisy moment on the machine hits every server alike, and each figure
//! is the median over rounds. The results land in `target/versus/results.json` and
//! `target/versus/echo.svg`, and as a table on stdout.
//!
//! # How to read the table
//!
//! For each cell, each server has five figures: **requests/s**; **p50** and **p99**
//! round-trip time as the client saw it; and the server's **user** and **system CPU time
//! per request**, from `/proc/PID/stat` over the measured window (see `cpu.rs` for why that
//! file, and how precise it is). Each figure is followed by two ratios — plain quotients,
//! this server's figure divided by another's:
//!
//! - **×tk**, against tokio with the same number of threads: `tokio-ct` (current_thread)
//!   for the single-threaded servers, `tokio-mt2` (multi_thread, 2 workers) for the
//!   multi-threaded ones (`tempo-2`, `std-threads`). For requests/s above 1.00 is better;
//!   for latency and CPU, below 1.00 is better.
//! - **×mio**, against the hand-written mio loop: no tasks, no wakers, no runtime — the floor
//!   every Rust runtime here is built on. A runtime's user CPU per request ÷ the floor's is
//!   what its abstractions cost: 1.20 means 20 % more user-space work per echo than no
//!   runtime at all.
//!
//! `tempo-1-spin` is `tempo-1` with `Builder::park_spin` (100 µs): its worker looks for
//! work a while before it sleeps. Set it against `tempo-1` to see what that buys at one
//! connection (a worker that is awake when the request comes) and what it costs (the CPU
//! burnt looking, on cores the client needs too).
//!
//! Which figure tells what: with 64 or 512 connections, client and server share the two
//! cores, and throughput is bound by the kernel's TCP work and by the client — tokio and the
//! bare mio loop land within a few percent of each other — so requests/s mostly says
//! "nothing is badly wrong". The **user CPU per request** is where a runtime's own cost
//! shows: the kernel's share (system time) is the same whoever calls `read` and `write`.
//! With one connection, every round trip wakes the server from sleep, and latency is
//! dominated by how fast a parked vCPU wakes (~20 µs on these VMs): p50 there says whether
//! the runtime adds to that. `cpu%` is the server's CPU use over the window (100 = one core
//! busy), `cli%` the load client's: a client near 100 % means the client, not the server,
//! set that cell's pace. `oth%` is everything else on the machine: well above 0, another
//! program was competing for the two cores, and that run's figures say less than usual.
//!
//! Two cautions about user CPU. It is *sampled* (the kernel charges each scheduler tick to
//! user or system time), so a short run's figure rests on few samples: the table marks with
//! `~` any that rest on under 100 ms of user time, and the full run earns more of them than
//! `--quick`. And a tick that fires just as a syscall returns is charged to user time, so
//! every server pays a share per syscall that is not its own code: most of the mio floor's
//! user time is that share, which is why its ratios understate the gap in instructions. For
//! the exact count, run `--instructions` (below).
//!
//! # Instructions per request (`--instructions`)
//!
//! ```text
//! apt-get update && apt-get install -y valgrind strace     # once; without them it says so
//! cargo bench --bench versus -- --instructions             # about a minute on 2 cores
//! cargo bench --bench versus -- --instructions --trips 300 # more round trips measured
//! ```
//!
//! Instead of the matrix, each Rust server runs under callgrind, which counts the
//! instructions the process executes in user space, and then again under `strace -c`,
//! which counts its system calls; both are divided by the requests the load client
//! completed while they counted. The load is fixed — 64 connections, each with one request
//! in flight (64-byte echoes, or keep-alive `GET /` for HTTP), 30 round trips per
//! connection unmeasured, then 150 measured — and counting starts and stops while the
//! server is idle, between the two. Instructions do not depend on what else the machine is
//! doing, so this is the figure to compare tempo and tokio by from one day to the next, and
//! the one the reactor work is judged by. Three rows, each tempo beside the same program on
//! tokio:
//!
//! 1. **plain echo**: `tempo-1`, `tokio-ct` and the `mio` floor, as in the matrix;
//! 2. **echo, timeout per read and write**: `examples/echo.rs` itself (release build) beside
//!    `tokio-ct-timeout`, its connection loop on tokio (`servers.rs`);
//! 3. **http_hello**: `examples/http_hello` with one worker beside the HTTP part's tokio
//!    server, which compiles the same parser (`http.rs`).
//!
//! How to read it: `instr/req` is user-space instructions per request, lower is better;
//! `×tokio` is that ÷ tokio's in the same row (below 1.00: tempo executes fewer), and `×mio`
//! ÷ the bare mio loop (what the runtime costs on top of no runtime at all). `syscalls/req`
//! is system calls per request, with the three commonest beside it: about one `recvfrom`
//! and one `sendto` per echo for every server, plus a share of `epoll_wait`. Below the
//! table, each server's five costliest functions by self cost, in instructions per
//! request: where the instructions go. `instructions.rs` says what the figures leave out.
//! The numbers also land in `target/versus/instructions.json`.
//!
//! # Looking closer
//!
//! `--load ADDR` drives a server someone else started with one cell's load and prints its
//! figures, so any server can be put under a tool:
//!
//! ```text
//! B=$(ls target/release/deps/versus-* | grep -v '\.d$')
//! strace -c -f -o strace.txt $B --serve tempo-1 --addr 127.0.0.1:7001 &   # syscalls per echo
//! valgrind --tool=callgrind $B --serve tempo-1 --addr 127.0.0.1:7001 &     # instructions
//! $B --load 127.0.0.1:7001 --conns 64 --sizes 64 --secs 5
//! ```
//!
//! Under `cargo test` (no `--bench` argument) this binary only runs a smoke test: every Rust
//! echo server is started and must echo a few hundred verified messages, and the HTTP and
//! memory parts check their own servers without loading them.
//!
//! Layout: `client.rs` the load client, `servers.rs` the contenders, `cpu.rs` the CPU
//! accounting, `report.rs` the table, JSON and chart; `http.rs` and `memory.rs` the HTTP and
//! memory parts of the run (the HTTP part also sets one hyper service on tempo beside the
//! same on tokio: its `+hyper` rows); `instructions.rs` the instruction meter.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod client;
mod cpu;
mod http;
mod instructions;
mod memory;
mod report;
mod servers;

use client::{Load, Outcome, Protocol, Until};
use servers::{Kind, Python, Server};

/// Rounds of the echo matrix, quick and full.
const QUICK_ROUNDS: usize = 2;
const FULL_ROUNDS: usize = 4;
/// Unmeasured lead-in of each measurement, quick and full.
const QUICK_WARMUP: Duration = Duration::from_millis(100);
const FULL_WARMUP: Duration = Duration::from_millis(300);
/// Measured window of each measurement, quick and full.
const QUICK_MEASURE: Duration = Duration::from_millis(300);
const FULL_MEASURE: Duration = Duration::from_millis(1200);
/// Pause after each measurement, so that a server closing 512 connections does not eat
/// into the next server's warm-up.
const SETTLE: Duration = Duration::from_millis(50);
/// The matrix.
const CONNS: [usize; 3] = [1, 64, 512];
const SIZES: [usize; 2] = [64, 4096];
/// The smoke test's one cell: 64 connections × 4 KiB, 8 round trips each.
const SMOKE_CONNS: usize = 64;
const SMOKE_SIZE: usize = 4096;
const SMOKE_ROUND_TRIPS: u64 = 8;

/// How much to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `cargo test`: start every Rust server, a few hundred verified echoes each, nothing
    /// written; seconds, not minutes. Python is skipped, and the HTTP and memory parts only
    /// check that their servers start and answer.
    Smoke,
    /// `--quick`: everything, briefly — under two minutes on 2 cores.
    Quick,
    /// The default under `cargo bench`: everything, with the rounds and windows that make
    /// the medians steady — under ten minutes.
    Full,
}

impl Mode {
    /// Its name in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Smoke => "smoke",
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }
}

/// What this run is to do, from the command line.
#[derive(Debug)]
pub struct Opts {
    /// Smoke, quick or full.
    pub mode: Mode,
    /// Rounds of the echo matrix: each server is measured once per cell per round.
    pub rounds: usize,
    /// Unmeasured lead-in of each echo measurement.
    pub warmup: Duration,
    /// Measured window of each echo measurement.
    pub measure: Duration,
    /// Connection counts of the echo matrix.
    pub conns: Vec<usize>,
    /// Message sizes of the echo matrix, in bytes.
    pub sizes: Vec<usize>,
    /// The echo servers to run, in table order: those asked for that this machine can run.
    pub servers: Vec<Kind>,
    /// This executable: re-run as `EXE --serve KIND --addr 127.0.0.1:0` it serves `KIND`.
    pub exe: PathBuf,
    /// `python3`, with the echo scripts written out; `None` without python3 (or with
    /// `--no-python`, and in smoke runs).
    pub python: Option<Python>,
    /// Where results are written: `target/versus/`.
    pub out_dir: PathBuf,
    /// The parts to run after the echo matrix (`--parts`; both by default).
    pub parts: Vec<Part>,
}

/// The parts of the run besides the echo matrix, which always runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `http.rs`: http_hello against tokio under wrk.
    Http,
    /// `memory.rs`: idle connections and pending tasks.
    Memory,
}

const USAGE: &str = "\
usage: cargo bench --bench versus [-- OPTIONS]

  --quick               a short run: 2 rounds, 0.3 s cells (under 2 minutes)
  --rounds N            rounds of the echo matrix (full: 4)
  --secs S              measured seconds per cell (full: 1.2)
  --warmup S            unmeasured seconds before each cell (full: 0.3)
  --servers A,B,...     only these echo servers, of: tempo-1 tempo-1-spin tokio-ct mio tempo-2
                        tokio-mt2 std-threads asyncio-streams asyncio-proto uvloop-proto
  --conns N,...         connection counts (default 1,64,512)
  --sizes B,...         message sizes in bytes (default 64,4096)
  --no-python           skip the asyncio and uvloop servers
  --parts LIST          what to run besides the echo matrix, of: http memory none
                        (default http,memory)
  --instructions [--trips N] [--warmup-trips N]
                        instead of the above: instructions and system calls per request
                        under callgrind and strace (N round trips per connection measured,
                        default 150, after 30 unmeasured), written to instructions.json
  --serve KIND --addr A run one echo server (what the bench starts for itself)
  --load ADDR [--conns N] [--sizes B] [--secs S] [--warmup S] [--pid PID]
                        drive an echo server that is already running (say, one under
                        strace -c) with the bench's client, and print what it measured";

impl Opts {
    /// Parse the bench's arguments (cargo adds `--bench`, which we ignore here).
    fn parse(args: &[String]) -> Result<Opts, String> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut opts = Opts {
            mode: if quick { Mode::Quick } else { Mode::Full },
            rounds: if quick { QUICK_ROUNDS } else { FULL_ROUNDS },
            warmup: if quick { QUICK_WARMUP } else { FULL_WARMUP },
            measure: if quick { QUICK_MEASURE } else { FULL_MEASURE },
            conns: CONNS.to_vec(),
            sizes: SIZES.to_vec(),
            servers: Kind::ALL.to_vec(),
            exe: std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?,
            python: None,
            out_dir: PathBuf::new(),
            parts: vec![Part::Http, Part::Memory],
        };
        let mut python = true;
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--bench" | "--quick" => {}
                "--rounds" => opts.rounds = parse_positive(flag, value()?)?,
                "--secs" => opts.measure = parse_secs(flag, value()?)?,
                "--warmup" => opts.warmup = parse_secs(flag, value()?)?,
                "--conns" => opts.conns = parse_list(flag, value()?)?,
                "--sizes" => opts.sizes = parse_list(flag, value()?)?,
                "--servers" => {
                    opts.servers = value()?
                        .split(',')
                        .map(|name| Kind::from_name(name).ok_or(format!("unknown server {name}")))
                        .collect::<Result<_, _>>()?;
                }
                "--no-python" => python = false,
                "--parts" => {
                    opts.parts = value()?
                        .split(',')
                        .filter(|p| *p != "none")
                        .map(|p| match p {
                            "http" => Ok(Part::Http),
                            "memory" => Ok(Part::Memory),
                            other => Err(format!("--parts: unknown part {other}")),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "-h" | "--help" => return Err(String::new()),
                // cargo bench passes filters through; we have none to apply.
                other if !other.starts_with('-') => {}
                other => return Err(format!("unknown option {other}")),
            }
        }
        // Table order, whatever order they were asked in.
        opts.servers = Kind::ALL
            .into_iter()
            .filter(|k| opts.servers.contains(k))
            .collect();
        if python && opts.servers.iter().any(|k| k.is_python()) {
            opts.python = Python::find().map_err(|e| format!("writing the Python scripts: {e}"))?;
        }
        opts.out_dir = target_dir(&opts.exe).join("versus");
        Ok(opts)
    }

    /// The smoke test's options: every Rust server, one small cell.
    fn smoke() -> io::Result<Opts> {
        let exe = std::env::current_exe()?;
        Ok(Opts {
            mode: Mode::Smoke,
            rounds: 1,
            warmup: Duration::ZERO,
            measure: Duration::ZERO,
            conns: vec![SMOKE_CONNS],
            sizes: vec![SMOKE_SIZE],
            servers: Kind::ALL.into_iter().filter(|k| !k.is_python()).collect(),
            out_dir: target_dir(&exe).join("versus"),
            exe,
            python: None,
            parts: vec![Part::Http, Part::Memory],
        })
    }

    /// How long each measurement runs.
    fn until(&self) -> Until {
        match self.mode {
            Mode::Smoke => Until::RoundTrips(SMOKE_ROUND_TRIPS),
            Mode::Quick | Mode::Full => Until::Time {
                warmup: self.warmup,
                measure: self.measure,
            },
        }
    }
}

fn parse_positive(flag: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or(format!("{flag} {text}: expected a positive number"))
}

fn parse_secs(flag: &str, text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!("{flag} {text}: expected seconds")),
    }
}

fn parse_list(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',').map(|n| parse_positive(flag, n)).collect()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, or the one this binary was built in
/// (`target/release/deps/versus-HASH`, three levels down).
fn target_dir(exe: &std::path::Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        return serve(&args[at..]);
    }
    if args.iter().any(|a| a == "--load") {
        return load(&args);
    }
    if args.iter().any(|a| a == "--instructions") {
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                eprintln!("versus: current_exe: {e}");
                return ExitCode::FAILURE;
            }
        };
        let out_dir = target_dir(&exe).join("versus");
        return instructions::run(&args, &exe, &out_dir);
    }
    // `cargo bench` passes `--bench`; `cargo test` passes nothing of ours.
    let bench = args.iter().any(|a| a == "--bench" || a == "--quick");
    if !bench {
        return smoke();
    }
    let opts = match Opts::parse(&args) {
        Ok(opts) => opts,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("versus: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match bench_run(&opts) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("versus: some measurements failed; see the notes above the table");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("versus: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--serve KIND --addr ADDR`: be one echo server until killed.
fn serve(args: &[String]) -> ExitCode {
    // The HTTP part's tokio server, the memory part's task counter and the meter's tokio
    // echo with timeouts are kinds of their own.
    let name = args.get(1).map_or("", String::as_str);
    let other = http::serve(name)
        .or_else(|| memory::serve(name))
        .or_else(|| servers::serve_other(name));
    if let Some(result) = other {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("versus --serve {name}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let kind = args.get(1).and_then(|name| Kind::from_name(name));
    let addr = match args.get(2..4) {
        Some([flag, addr]) if flag == "--addr" => addr.as_str(),
        _ => "127.0.0.1:0",
    };
    let Some(kind) = kind else {
        eprintln!("versus: --serve needs a server kind\n{USAGE}");
        return ExitCode::from(2);
    };
    match servers::serve(kind, addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("versus --serve {}: {e}", kind.name());
            ExitCode::FAILURE
        }
    }
}

/// `--load ADDR`: drive a server someone else started, with one cell's load, and print the
/// figures; with `--pid`, the server's CPU time per request too.
fn load(args: &[String]) -> ExitCode {
    let parsed = (|| -> Result<(Load, Duration), String> {
        let mut load = Load {
            addr: "127.0.0.1:7000".parse().expect("a valid address"),
            server_pid: None,
            conns: 64,
            msg_size: 64,
            until: Until::RoundTrips(0),
            protocol: Protocol::Echo,
        };
        let (mut warmup, mut measure) = (FULL_WARMUP, FULL_MEASURE);
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--load" => {
                    let addr = value()?;
                    load.addr = addr.parse().map_err(|e| format!("--load {addr}: {e}"))?;
                }
                "--conns" => load.conns = parse_positive(flag, value()?)?,
                "--sizes" => load.msg_size = parse_positive(flag, value()?)?,
                "--secs" => measure = parse_secs(flag, value()?)?,
                "--warmup" => warmup = parse_secs(flag, value()?)?,
                "--pid" => load.server_pid = Some(parse_positive(flag, value()?)? as u32),
                "--bench" => {}
                other => return Err(format!("--load: unexpected {other}")),
            }
        }
        load.until = Until::Time { warmup, measure };
        Ok((load, measure))
    })();
    let (load, measure) = match parsed {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("versus: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (addr, conns, size, pid) = (load.addr, load.conns, load.msg_size, load.server_pid);
    match client::run_on_thread(load) {
        Ok(o) => {
            let q = |q| o.latency.quantile(q).unwrap_or_default();
            print!(
                "{addr} · {size} B × {conns} conns · {:.2} s: {:.0} req/s, p50 {:?}, p99 {:?}",
                measure.as_secs_f64(),
                o.rate(),
                q(0.5),
                q(0.99)
            );
            if pid.is_some() && o.requests > 0 {
                let per = |d: Duration| d.as_secs_f64() * 1e9 / o.requests as f64;
                print!(
                    "; server user {:.0} ns/req, system {:.0} ns/req",
                    per(o.server_cpu.user),
                    per(o.server_cpu.system)
                );
            }
            println!();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("versus --load {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo test`: every Rust server must echo a few hundred messages, every byte verified;
/// the HTTP and memory parts run their own quick checks.
fn smoke() -> ExitCode {
    let result = Opts::smoke().and_then(|opts| {
        let mut progress = Progress::new();
        let echo = run_echo(&opts, &mut progress)?;
        let http = http::run(&opts, &mut progress);
        let memory = memory::run(&opts, &mut progress);
        progress.finish();
        for rows in [http.table_rows(), memory.table_rows()] {
            print!("{}", report::format_table(&rows, 1));
        }
        Ok((opts, echo))
    });
    let (opts, echo) = match result {
        Ok(ok) => ok,
        Err(e) => {
            eprintln!("versus smoke: {e}");
            return ExitCode::FAILURE;
        }
    };
    let expected = SMOKE_CONNS as u64 * SMOKE_ROUND_TRIPS;
    let (mut passed, mut failed) = (0, 0);
    for &kind in &opts.servers {
        let runs = echo.runs(kind, opts.conns[0], opts.sizes[0]);
        match runs.first() {
            Some(Ok(o)) if o.requests == expected && o.latency.len() == expected => {
                passed += 1;
                println!(
                    "versus smoke: {}: {expected} echoes of {SMOKE_SIZE} B on {SMOKE_CONNS} \
                     connections, every byte verified",
                    kind.name()
                );
            }
            Some(Ok(o)) => {
                failed += 1;
                println!(
                    "versus smoke: {}: {} echoes, expected {expected}",
                    kind.name(),
                    o.requests
                );
            }
            Some(Err(e)) => {
                failed += 1;
                println!("versus smoke: {}: {e}", kind.name());
            }
            None => {
                failed += 1;
                println!("versus smoke: {}: not run", kind.name());
            }
        }
    }
    println!("versus: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The whole bench: echo, HTTP, memory, then the report. False if a measurement failed.
fn bench_run(opts: &Opts) -> io::Result<bool> {
    let mut progress = Progress::new();
    if let Some(python) = &opts.python {
        let uvloop = if python.uvloop {
            "with uvloop"
        } else {
            "without uvloop (pip install uvloop to add it)"
        };
        progress.note(&format!("python3 {} {uvloop}", python.version));
    } else if opts.servers.iter().any(|k| k.is_python()) {
        progress.note("python3 not found (or --no-python): asyncio servers skipped");
    }
    let echo = run_echo(opts, &mut progress)?;
    let http = opts
        .parts
        .contains(&Part::Http)
        .then(|| http::run(opts, &mut progress));
    let memory = opts
        .parts
        .contains(&Part::Memory)
        .then(|| memory::run(opts, &mut progress));
    progress.finish();
    report::report(opts, &echo, http.as_ref(), memory.as_ref())?;
    Ok(echo.failures() == 0)
}

/// One cell of the echo matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cell {
    /// Connections.
    pub conns: usize,
    /// Bytes per message.
    pub size: usize,
}

/// Everything the echo part measured.
pub struct EchoResults {
    /// The cells, in table order.
    pub cells: Vec<Cell>,
    /// The servers that ran, in table order.
    pub servers: Vec<Kind>,
    /// Every measurement, by cell and server, in round order; an error if it failed.
    runs: HashMap<(Cell, Kind), Vec<Result<Outcome, String>>>,
}

impl EchoResults {
    /// The measurements of `kind` at `conns` × `size`, in round order.
    pub fn runs(&self, kind: Kind, conns: usize, size: usize) -> &[Result<Outcome, String>] {
        self.runs
            .get(&(Cell { conns, size }, kind))
            .map_or(&[], Vec::as_slice)
    }

    /// Measurements that failed.
    pub fn failures(&self) -> usize {
        self.runs.values().flatten().filter(|r| r.is_err()).count()
    }
}

/// Start the servers, run the matrix round by round, stop the servers.
fn run_echo(opts: &Opts, progress: &mut Progress) -> io::Result<EchoResults> {
    let mut servers = Vec::new();
    for &kind in &opts.servers {
        if kind.is_python() && !opts.python.as_ref().is_some_and(|p| p.can_run(kind)) {
            continue;
        }
        match Server::start(kind, &opts.exe, opts.python.as_ref()) {
            Ok(server) => servers.push(server),
            // A Python that cannot run a script is a gap in the comparison; a Rust server
            // that cannot start is a bug in this bench.
            Err(e) if kind.is_python() => progress.note(&format!("{}: {e}; skipped", kind.name())),
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", kind.name()))),
        }
    }
    let cells: Vec<Cell> = opts
        .sizes
        .iter()
        .flat_map(|&size| opts.conns.iter().map(move |&conns| Cell { conns, size }))
        .collect();
    let mut results = EchoResults {
        cells: cells.clone(),
        servers: servers.iter().map(|s| s.kind).collect(),
        runs: HashMap::new(),
    };
    progress.begin("echo", opts.rounds * cells.len() * servers.len());
    for round in 0..opts.rounds {
        for &cell in &cells {
            // Each round starts one server later, so no server always goes first.
            let n = servers.len();
            for i in 0..n {
                let server = &mut servers[(i + round) % n];
                progress.step(&format!(
                    "round {}/{} · {} B × {} conns · {}",
                    round + 1,
                    opts.rounds,
                    cell.size,
                    cell.conns,
                    server.kind.name()
                ));
                let outcome = measure(server, cell, opts.until());
                if let Err(e) = &outcome {
                    progress.note(&format!(
                        "{} at {} B × {} conns: {e}",
                        server.kind.name(),
                        cell.size,
                        cell.conns
                    ));
                }
                results
                    .runs
                    .entry((cell, server.kind))
                    .or_default()
                    .push(outcome);
                std::thread::sleep(SETTLE);
            }
        }
    }
    Ok(results)
}

/// One measurement of one server at one cell.
fn measure(server: &mut Server, cell: Cell, until: Until) -> Result<Outcome, String> {
    server.check_alive().map_err(|e| e.to_string())?;
    let load = Load {
        addr: server.addr,
        server_pid: Some(server.pid()),
        conns: cell.conns,
        msg_size: cell.size,
        until,
        protocol: Protocol::Echo,
    };
    client::run_on_thread(load).map_err(|e| e.to_string())
}

/// The progress line on stderr: which step of which part, and roughly how long is left.
/// On a terminal it is one line rewritten in place; elsewhere (CI logs) a line per step.
pub struct Progress {
    /// The part running now ("echo", "http", …).
    section: String,
    /// Steps in that part.
    total: usize,
    /// Steps begun in it.
    begun: usize,
    /// When it began.
    started: Instant,
    /// Whether stderr is a terminal.
    tty: bool,
    /// Whether the line on screen is a progress line that a note must first clear.
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            section: String::new(),
            total: 0,
            begun: 0,
            started: Instant::now(),
            tty: io::stderr().is_terminal(),
            shown: false,
        }
    }

    /// Begin a part of the run made of `steps` steps (for the time-left estimate).
    pub fn begin(&mut self, section: &str, steps: usize) {
        self.section = section.to_string();
        self.total = steps;
        self.begun = 0;
        self.started = Instant::now();
    }

    /// Say what the next step is; the step before it is done.
    pub fn step(&mut self, what: &str) {
        let done = self.begun;
        self.begun += 1;
        let left = if done == 0 {
            String::from("…")
        } else {
            let per_step = self.started.elapsed().as_secs_f64() / done as f64;
            let left = per_step * self.total.saturating_sub(done) as f64;
            format!("~{:.0}s left", left)
        };
        let line = format!(
            "[{} {}/{} {left}] {what}",
            self.section, self.begun, self.total
        );
        let mut err = io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
            self.shown = true;
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Print a line that stays — a skipped server, a failed measurement — above the
    /// progress line.
    pub fn note(&mut self, line: &str) {
        self.clear();
        eprintln!("versus: {line}");
    }

    /// Take the progress line off the screen.
    pub fn finish(&mut self) {
        self.clear();
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[2K");
            self.shown = false;
        }
    }
}
