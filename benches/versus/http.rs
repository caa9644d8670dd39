//! HTTP: tempo's `http_hello` example against the same server written on tokio, both loaded
//! by `wrk`, the client of TechEmpower's plaintext test.
//!
//! What makes the two servers the same server:
//!
//! - the same parser (`examples/http/parser.rs`) and `Date` cache (`examples/http/date.rs`),
//!   included below by path, and `http_hello`'s framing and answers copied below unchanged
//!   (`answer_all`, `route`, `respond`: they hold no runtime code);
//! - the same bytes on the wire, `Server: tempo` included — [`check_same_answers`] compares
//!   them, dates blanked, before any load runs;
//! - the same work per connection: one task holding a 16 KiB read buffer; every complete
//!   request a read brought in is answered into one output buffer, sent with one
//!   `write_all` (pipelined answers batched into one system call); an idle deadline around
//!   each read, and a stop event waited on between requests.
//!
//! What differs is the runtime, each used the way it is meant to be on two cores. tempo's
//! `--workers 2` is two complete loops, each with its own `SO_REUSEPORT` listener, so no
//! connection ever crosses a thread; tokio's `multi_thread(2)` is one listener and two
//! work-stealing workers. With one worker, tempo's loop meets tokio's `current_thread`.
//!
//! Each cell — workers {1, 2} × {one request at a time, 16 pipelined} — runs `wrk` against
//! tempo, then tokio, then tempo again (interleaved rounds), and reports median requests/s
//! and latency, and the server's CPU time per request pooled over rounds (see `cpu.rs`),
//! each with the ratio tempo ÷ tokio. `wrk` runs one thread: on two cores it shares the
//! machine with the server, as the echo client does. `cpu%`, `wrk%` and `oth%` are the CPU
//! use of the server, of `wrk` and of everything else over a run (100 = one core): `wrk%`
//! near 100 means the client set the pace, and the server's CPU per request is then the
//! figure that compares the runtimes; `oth%` well above 0 means another program competed.
//!
//! **The hyper rows** (`tempo+hyper`, `tokio-ct+hyper` or `tokio-mt2+hyper`): beside that
//! pair, in the same rounds and under the same `wrk` commands, one hyper service
//! (`servers.rs`, `hyper_hello`, as `examples/hyper_hello` answers) on tempo through
//! `tempo::hyper::TempoIo` and `TempoTimer`, and on tokio through hyper-util's `TokioIo` and
//! `TokioTimer`. Here the HTTP code is hyper's on both sides, line for line, so the ratio
//! is the runtime and its adapter alone — including `TempoIo`'s copy of each read, which
//! `TokioIo` does not make (it fills hyper's buffer with `unsafe`). The two are checked to
//! answer the probe alike (dates blanked) before any load runs.
//!
//! Without `wrk` on `PATH` the part is skipped with one line saying how to install it. In
//! smoke mode only the tokio server and the two hyper servers are started and their answers
//! checked.

#[path = "../../examples/http/date.rs"]
// Cargo builds benches with `--cfg test` but without the test harness, so date.rs's
// `#[test]` functions are left out and their imports go unused.
#[cfg_attr(test, allow(unused_imports))]
mod date;
#[path = "../../examples/http/parser.rs"]
mod parser;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use date::DATE_LEN;
use parser::{Body, Form, ParseError, Request, Status, Version};

use crate::cpu::{CpuTimes, MachineTimes};
use crate::{Mode, Opts, Progress};

/// Connections `wrk` keeps open (`-c`). TechEmpower starts at 256; on two cores 64 already
/// keeps both the server and the client busy, as in the echo matrix.
const CONNECTIONS: usize = 64;
/// Requests `wrk` sends back to back in the pipelined runs: TechEmpower's depth.
const PIPELINE_DEPTH: usize = 16;
/// Worker counts: tempo's one loop against tokio current_thread, two against
/// multi_thread(2).
const WORKERS: [usize; 2] = [1, 2];
/// `wrk` threads (`-t`). One: the other core is the server's.
const WRK_THREADS: usize = 1;
/// Rounds, and seconds per `wrk` run: full run, then `--quick`.
const FULL_ROUNDS: usize = 3;
const FULL_SECS: u64 = 4;
const QUICK_ROUNDS: usize = 2;
const QUICK_SECS: u64 = 1;
/// How long a server may take to say `listening on`.
const STARTUP: Duration = Duration::from_secs(20);

/// TechEmpower's `pipeline.lua`: each request `wrk` writes is `depth` requests in a row.
const PIPELINE_LUA: &str = r#"-- TechEmpower's pipeline.lua, written out by tempo's versus bench.
init = function(args)
  local r = {}
  local depth = tonumber(args[1]) or 1
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
"#;

// ---------------------------------------------------------------------------------------
// Results

/// What the HTTP part measured.
pub struct HttpResults {
    /// Measured, only checked, or skipped.
    outcome: Outcome,
}

/// What the HTTP part did.
enum Outcome {
    /// Nothing ran: no `wrk`, or a server would not start. The reason, as one line.
    Skipped(String),
    /// Smoke mode: the tokio server answered the probe as `http_hello` does; nothing timed.
    Checked,
    /// One entry per (workers, pipeline depth), in table order.
    Measured(Vec<Cell>),
}

/// One cell: both servers under the same `wrk` command, one run each per round.
struct Cell {
    /// Worker threads of each server.
    workers: usize,
    /// Requests per `wrk` write: 1, or `PIPELINE_DEPTH`.
    depth: usize,
    /// `http_hello`'s runs, in round order.
    tempo: Vec<Run>,
    /// The tokio server's runs, in round order.
    tokio: Vec<Run>,
    /// The hyper service on tempo (`servers.rs`, `hyper-tempo-N`), in round order.
    hyper_tempo: Vec<Run>,
    /// The same hyper service on tokio (`hyper-tokio-N`), in round order.
    hyper_tokio: Vec<Run>,
}

/// One `wrk` run against one server.
#[derive(Clone, Copy, Debug, Default)]
struct Run {
    /// `Requests/sec`, as `wrk` prints it.
    rps: f64,
    /// Median latency, µs (`wrk --latency`). With pipelining, `wrk` records one latency
    /// per batch: from the write of its 16 requests to the last of their answers.
    p50_us: f64,
    /// 99th-percentile latency, µs.
    p99_us: f64,
    /// Requests completed.
    requests: u64,
    /// Socket errors plus non-2xx answers. Any makes the comparison suspect; they are
    /// reported, not hidden.
    errors: u64,
    /// Server CPU time over the run.
    cpu: CpuTimes,
    /// `wrk`'s own CPU time over the run.
    wrk_cpu: Duration,
    /// The whole machine's CPU time over the run: with the two above, what says whether
    /// another program competed for the cores.
    machine: MachineTimes,
    /// Wall-clock length of the run.
    elapsed: Duration,
}

impl Run {
    /// CPU used by neither the server nor `wrk`.
    fn other_cpu(&self) -> Duration {
        self.machine
            .busy
            .saturating_sub(self.cpu.total() + self.wrk_cpu)
    }

    /// `cpu` as a percentage of one core over the run.
    fn pct(&self, cpu: Duration) -> f64 {
        100.0 * cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Median of the numbers in `values` (NaN ones skipped); the mean of the middle two for an
/// even count; NaN if none.
fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// One server's figures in one cell: medians over rounds, CPU pooled over rounds.
#[derive(Clone, Copy, Debug)]
struct Summary {
    /// Requests/s, median over rounds.
    rps: f64,
    /// Latency percentiles, µs, medians over rounds.
    p50_us: f64,
    p99_us: f64,
    /// Server user CPU per request, ns: all rounds' user time ÷ all rounds' requests.
    user_ns: f64,
    /// Server system CPU per request, ns, pooled the same way.
    sys_ns: f64,
    /// Errors over all rounds.
    errors: u64,
    /// CPU use over the run, % of one core (median over rounds): the server's, `wrk`'s (near
    /// 100, `wrk` set the pace), and everything else's (well above 0, another program
    /// competed for the cores).
    cpu_pct: f64,
    wrk_pct: f64,
    other_pct: f64,
}

impl Summary {
    fn of(runs: &[Run]) -> Summary {
        let requests = runs.iter().map(|r| r.requests).sum::<u64>().max(1) as f64;
        let per_request = |f: fn(&CpuTimes) -> Duration| {
            runs.iter().map(|r| f(&r.cpu).as_secs_f64()).sum::<f64>() * 1e9 / requests
        };
        Summary {
            rps: median(runs.iter().map(|r| r.rps).collect()),
            p50_us: median(runs.iter().map(|r| r.p50_us).collect()),
            p99_us: median(runs.iter().map(|r| r.p99_us).collect()),
            user_ns: per_request(|c| c.user),
            sys_ns: per_request(|c| c.system),
            errors: runs.iter().map(|r| r.errors).sum(),
            cpu_pct: median(runs.iter().map(|r| r.pct(r.cpu.total())).collect()),
            wrk_pct: median(runs.iter().map(|r| r.pct(r.wrk_cpu)).collect()),
            other_pct: median(runs.iter().map(|r| r.pct(r.other_cpu())).collect()),
        }
    }
}

impl Cell {
    fn new(workers: usize, depth: usize) -> Cell {
        Cell {
            workers,
            depth,
            tempo: Vec::new(),
            tokio: Vec::new(),
            hyper_tempo: Vec::new(),
            hyper_tokio: Vec::new(),
        }
    }

    /// `1 worker · c64` or `2 workers · c64 · pipeline 16`.
    fn label(&self) -> String {
        let workers = match self.workers {
            1 => "1 worker".to_string(),
            n => format!("{n} workers"),
        };
        match self.depth {
            1 => format!("{workers} · c{CONNECTIONS}"),
            d => format!("{workers} · c{CONNECTIONS} · pipeline {d}"),
        }
    }

    /// The tokio runtime this cell's tempo is compared with.
    fn tokio_name(&self) -> String {
        match self.workers {
            1 => "tokio-ct".to_string(),
            n => format!("tokio-mt{n}"),
        }
    }
}

impl HttpResults {
    /// The HTTP section of the final table: a header row, then for each cell a row for
    /// tempo (with ratios tempo ÷ tokio) and one for tokio.
    pub fn table_rows(&self) -> Vec<Vec<String>> {
        let cells = match &self.outcome {
            Outcome::Skipped(why) => return vec![vec![format!("skipped: {why}")]],
            Outcome::Checked => {
                return vec![vec![
                    "smoke: the tokio server answers as http_hello does, the hyper service \
                     alike on tempo and tokio; wrk not run"
                        .into(),
                ]];
            }
            Outcome::Measured(cells) => cells,
        };
        let mut rows = vec![
            [
                "http_hello (wrk -t1)",
                "server",
                "req/s",
                "×tk",
                "p50 µs",
                "×tk",
                "p99 µs",
                "×tk",
                "user ns/req",
                "×tk",
                "sys ns/req",
                "×tk",
                "cpu%",
                "wrk%",
                "oth%",
                "errors",
            ]
            .map(String::from)
            .to_vec(),
        ];
        let ratio = |a: f64, b: f64| {
            if a.is_finite() && b.is_finite() && b > 0.0 {
                format!("{:.2}", a / b)
            } else {
                "-".into()
            }
        };
        for cell in cells {
            // Two pairs per cell: http_hello against its tokio twin, then the hyper
            // service on tempo against the same on tokio; each tempo row's ratios are
            // against the tokio row under it.
            let pairs = [
                (
                    "tempo".to_string(),
                    Summary::of(&cell.tempo),
                    cell.tokio_name(),
                    Summary::of(&cell.tokio),
                ),
                (
                    "tempo+hyper".to_string(),
                    Summary::of(&cell.hyper_tempo),
                    format!("{}+hyper", cell.tokio_name()),
                    Summary::of(&cell.hyper_tokio),
                ),
            ];
            for (pair, (tempo_name, tempo, tokio_name, tokio)) in pairs.into_iter().enumerate() {
                for (name, s) in [(tempo_name.clone(), tempo), (tokio_name, tokio)] {
                    let is_tempo = name == tempo_name;
                    let versus =
                        |a: f64, b: f64| if is_tempo { ratio(a, b) } else { String::new() };
                    rows.push(vec![
                        if is_tempo && pair == 0 {
                            cell.label()
                        } else {
                            String::new()
                        },
                        name,
                        format!("{:.1}k", s.rps / 1000.0),
                        versus(tempo.rps, tokio.rps),
                        number(s.p50_us),
                        versus(tempo.p50_us, tokio.p50_us),
                        number(s.p99_us),
                        versus(tempo.p99_us, tokio.p99_us),
                        number(s.user_ns),
                        versus(tempo.user_ns, tokio.user_ns),
                        number(s.sys_ns),
                        versus(tempo.sys_ns, tokio.sys_ns),
                        number(s.cpu_pct),
                        number(s.wrk_pct),
                        number(s.other_pct),
                        s.errors.to_string(),
                    ]);
                }
            }
        }
        rows
    }

    /// Everything else's CPU use (`oth%`) in each measurement: (what was measured, % of one
    /// core, median over rounds).
    pub fn other_cpu(&self) -> Vec<(String, f64)> {
        let Outcome::Measured(cells) = &self.outcome else {
            return Vec::new();
        };
        cells
            .iter()
            .flat_map(|cell| {
                [
                    ("tempo", &cell.tempo),
                    ("tokio", &cell.tokio),
                    ("tempo+hyper", &cell.hyper_tempo),
                    ("tokio+hyper", &cell.hyper_tokio),
                ]
                .map(|(name, runs)| {
                    (
                        format!("HTTP {name} at {}", cell.label()),
                        Summary::of(runs).other_pct,
                    )
                })
            })
            .collect()
    }

    /// These results as a JSON value, stored under `"http"` in `results.json`.
    pub fn to_json(&self) -> String {
        let cells = match &self.outcome {
            Outcome::Skipped(why) => return json!({ "skipped": why }).to_string(),
            Outcome::Checked => return json!({ "smoke": "answers checked" }).to_string(),
            Outcome::Measured(cells) => cells,
        };
        let side = |runs: &[Run]| -> Value {
            let s = Summary::of(runs);
            json!({
                "rps": s.rps,
                "p50_us": s.p50_us,
                "p99_us": s.p99_us,
                "user_ns_per_req": s.user_ns,
                "sys_ns_per_req": s.sys_ns,
                "errors": s.errors,
                "server_cpu_pct": s.cpu_pct,
                "wrk_cpu_pct": s.wrk_pct,
                "other_cpu_pct": s.other_pct,
                "rounds": runs.iter().map(|r| json!({
                    "rps": r.rps,
                    "p50_us": r.p50_us,
                    "p99_us": r.p99_us,
                    "requests": r.requests,
                    "errors": r.errors,
                    "server_user_secs": r.cpu.user.as_secs_f64(),
                    "server_sys_secs": r.cpu.system.as_secs_f64(),
                    "wrk_cpu_secs": r.wrk_cpu.as_secs_f64(),
                    "other_cpu_secs": r.other_cpu().as_secs_f64(),
                    "secs": r.elapsed.as_secs_f64(),
                })).collect::<Vec<_>>(),
            })
        };
        let cells: Vec<Value> = cells
            .iter()
            .map(|cell| {
                let (tempo, tokio) = (Summary::of(&cell.tempo), Summary::of(&cell.tokio));
                let (hyper_tempo, hyper_tokio) = (
                    Summary::of(&cell.hyper_tempo),
                    Summary::of(&cell.hyper_tokio),
                );
                json!({
                    "hyper": {
                        "tempo": side(&cell.hyper_tempo),
                        "tokio": side(&cell.hyper_tokio),
                        "vs_tokio": {
                            "rps": hyper_tempo.rps / hyper_tokio.rps,
                            "p50_us": hyper_tempo.p50_us / hyper_tokio.p50_us,
                            "p99_us": hyper_tempo.p99_us / hyper_tokio.p99_us,
                            "user_ns_per_req": hyper_tempo.user_ns / hyper_tokio.user_ns,
                            "sys_ns_per_req": hyper_tempo.sys_ns / hyper_tokio.sys_ns,
                        },
                    },
                    "workers": cell.workers,
                    "pipeline": cell.depth,
                    "tokio_peer": cell.tokio_name(),
                    "tempo": side(&cell.tempo),
                    "tokio": side(&cell.tokio),
                    "vs_tokio": {
                        "rps": tempo.rps / tokio.rps,
                        "p50_us": tempo.p50_us / tokio.p50_us,
                        "p99_us": tempo.p99_us / tokio.p99_us,
                        "user_ns_per_req": tempo.user_ns / tokio.user_ns,
                        "sys_ns_per_req": tempo.sys_ns / tokio.sys_ns,
                    },
                })
            })
            .collect();
        json!({
            "client": format!("wrk -t{WRK_THREADS} -c{CONNECTIONS} --latency"),
            "pipeline_depth": PIPELINE_DEPTH,
            "cells": cells,
        })
        .to_string()
    }
}

/// A figure with no decimals, or `-` if there is none.
fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.0}")
    } else {
        "-".into()
    }
}

// ---------------------------------------------------------------------------------------
// The run

/// Run the HTTP part of the bench.
pub fn run(opts: &Opts, progress: &mut Progress) -> HttpResults {
    let outcome = match opts.mode {
        Mode::Smoke => match smoke(&opts.exe) {
            Ok(()) => Outcome::Checked,
            Err(e) => Outcome::Skipped(format!("a server failed its check: {e}")),
        },
        _ if !on_path("wrk") => Outcome::Skipped(
            "wrk is not on PATH; install it (`apt-get install -y wrk`) to compare http_hello \
             with tokio"
                .into(),
        ),
        Mode::Quick | Mode::Full => match measure(opts, progress) {
            Ok(cells) => Outcome::Measured(cells),
            Err(e) => {
                progress.note(&format!("http: {e}"));
                Outcome::Skipped(e.to_string())
            }
        },
    };
    HttpResults { outcome }
}

/// Smoke mode: start the tokio server and check that it answers the probe with the bytes
/// `http_hello`'s `respond` makes (`http_hello` itself is not built: under `cargo test`
/// it exists only as a test harness); then start the hyper service on both runtimes and
/// check that they answer alike, with the hello.
fn smoke(exe: &Path) -> io::Result<()> {
    let server = Server::start("tokio", serve_command(exe, 1))?;
    let got = exchange(server.addr)?;
    let date = date::now();
    let mut want = Vec::new();
    respond(&mut want, Reply::Hello, &date, false, Connection::Default);
    respond(&mut want, Reply::Hello, &date, false, Connection::Default);
    respond(&mut want, Reply::NotFound, &date, false, Connection::Close);
    if mask_dates(&got) != mask_dates(&want) {
        return Err(io::Error::other(format!(
            "unexpected answers: {:?}",
            String::from_utf8_lossy(&got)
        )));
    }
    // The hyper pair: both answer the probe, and alike.
    let hyper_tempo = Server::start("tempo+hyper", hyper_command(exe, "tempo", 1))?;
    let hyper_tokio = Server::start("tokio+hyper", hyper_command(exe, "tokio", 1))?;
    check_same_answers(&hyper_tempo, &hyper_tokio)?;
    let got = exchange(hyper_tempo.addr)?;
    if !got.starts_with(b"HTTP/1.1 200 OK\r\n") || find(&got, b"Hello, World!").is_none() {
        return Err(io::Error::other(format!(
            "unexpected hyper answers: {:?}",
            String::from_utf8_lossy(&got)
        )));
    }
    Ok(())
}

/// Build `http_hello`; for each worker count start both servers, check they answer alike,
/// and run the rounds.
fn measure(opts: &Opts, progress: &mut Progress) -> io::Result<Vec<Cell>> {
    let (rounds, secs) = match opts.mode {
        Mode::Full => (FULL_ROUNDS, FULL_SECS),
        Mode::Quick | Mode::Smoke => (QUICK_ROUNDS, QUICK_SECS),
    };
    let http_hello = build_http_hello()?;
    let script = PipelineScript::write()?;
    let depths = [1, PIPELINE_DEPTH];
    progress.begin("http", WORKERS.len() * rounds * depths.len() * 4);
    let mut cells = Vec::new();
    for workers in WORKERS {
        // Both stay up through all rounds at this worker count; only the one under load
        // does any work.
        let mut command = Command::new(&http_hello);
        command.args(["--addr", "127.0.0.1:0", "--workers", &workers.to_string()]);
        let tempo = Server::start("tempo", command)?;
        let tokio = Server::start("tokio", serve_command(&opts.exe, workers))?;
        check_same_answers(&tempo, &tokio)?;
        let hyper_tempo = Server::start("tempo+hyper", hyper_command(&opts.exe, "tempo", workers))?;
        let hyper_tokio = Server::start("tokio+hyper", hyper_command(&opts.exe, "tokio", workers))?;
        check_same_answers(&hyper_tempo, &hyper_tokio)?;
        let mut pair = depths.map(|depth| Cell::new(workers, depth));
        for round in 0..rounds {
            for cell in &mut pair {
                let label = cell.label();
                let pipeline = (cell.depth > 1).then_some(&script);
                // Alternate which server goes first, so neither always follows the other.
                let mut order = [
                    (&tempo, &mut cell.tempo),
                    (&tokio, &mut cell.tokio),
                    (&hyper_tempo, &mut cell.hyper_tempo),
                    (&hyper_tokio, &mut cell.hyper_tokio),
                ];
                if round % 2 == 1 {
                    order.reverse();
                }
                for (server, runs) in order {
                    progress.step(&format!(
                        "round {}/{rounds} · {} · {}",
                        round + 1,
                        label,
                        server.name
                    ));
                    runs.push(server.load(secs, pipeline)?);
                }
            }
        }
        cells.extend(pair);
    }
    Ok(cells)
}

/// True if `program` is an executable file in a directory on `PATH`.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// `cargo build --release --example http_hello` into this bench's target directory; the
/// program's path. When it is up to date this takes a fraction of a second, and it means
/// we never run a stale binary.
fn build_http_hello() -> io::Result<PathBuf> {
    build_example("http_hello")
}

/// `cargo build --release --example NAME` into this bench's target directory; the
/// program's path.
pub fn build_example(name: &str) -> io::Result<PathBuf> {
    // This binary is <target dir>[/<triple>]/<profile dir>/deps/versus-<hash>; building
    // into <target dir>[/<triple>] puts the example in .../release/examples.
    let exe = std::env::current_exe()?;
    let target_dir = exe
        .ancestors()
        .nth(3)
        .ok_or_else(|| io::Error::other("the bench binary is not in <target>/<profile>/deps"))?;
    let output = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "--example", name])
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "building {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(target_dir.join("release/examples").join(name))
}

/// `pipeline.lua` in a temporary file, for `wrk -s`; removed on drop.
struct PipelineScript {
    /// Where it was written.
    path: PathBuf,
}

impl PipelineScript {
    fn write() -> io::Result<PipelineScript> {
        let name = format!("tempo-versus-pipeline-{}.lua", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, PIPELINE_LUA)?;
        Ok(PipelineScript { path })
    }
}

impl Drop for PipelineScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A server process, killed when dropped. (`servers::Server` starts echo servers by
/// `Kind`; these two are not echo servers. The instruction meter starts its servers with
/// this one too, since it takes any command.)
pub struct Server {
    /// "tempo" or "tokio", for the progress line.
    name: &'static str,
    /// The process.
    child: Child,
    /// Where it said it listens.
    pub addr: SocketAddr,
    /// Its stdout, kept open so that a late print cannot fail with a broken pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Start `command` and wait for its `listening on ADDR` line.
    pub fn start(name: &'static str, mut command: Command) -> io::Result<Server> {
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        // If the bench dies without running our destructors, the server dies too.
        crate::servers::die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        // Read the first line on a helper thread, so a server that hangs before printing
        // it fails the start instead of hanging the bench.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| (line, reader)));
        });
        let started = rx
            .recv_timeout(STARTUP)
            .map_err(|_| io::Error::other(format!("{name} did not say `listening on`")))
            .and_then(|read| read);
        let parsed = started.and_then(|(line, reader)| {
            match line.trim().strip_prefix("listening on ").map(str::parse) {
                Some(Ok(addr)) => Ok((addr, reader)),
                _ => Err(io::Error::other(format!("{name} printed {line:?}"))),
            }
        });
        match parsed {
            Ok((addr, stdout)) => Ok(Server {
                name,
                child,
                addr,
                _stdout: stdout,
            }),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// One `wrk` run against this server, with the server's CPU time read around it.
    fn load(&self, secs: u64, pipeline: Option<&PipelineScript>) -> io::Result<Run> {
        let mut wrk = Command::new("wrk");
        wrk.arg(format!("-t{WRK_THREADS}"))
            .arg(format!("-c{CONNECTIONS}"))
            .arg(format!("-d{secs}s"))
            .arg("--latency");
        if let Some(script) = pipeline {
            wrk.arg("-s").arg(&script.path);
        }
        wrk.arg(format!("http://{}/", self.addr));
        if pipeline.is_some() {
            wrk.args(["--", &PIPELINE_DEPTH.to_string()]);
        }
        let started = Instant::now();
        let machine = MachineTimes::now()?;
        let children = children_cpu()?;
        let before = CpuTimes::of_process(self.child.id())?;
        let output = wrk.stdin(Stdio::null()).output()?;
        let after = CpuTimes::of_process(self.child.id())?;
        // `wrk` is the only child reaped meanwhile: the servers are reaped when dropped.
        let wrk_cpu = children_cpu()?.saturating_sub(children);
        let machine = MachineTimes::now()?.since(machine);
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "wrk failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let mut run = parse_wrk(&text)
            .ok_or_else(|| io::Error::other(format!("unreadable wrk output: {text}")))?;
        run.cpu = after.since(before);
        (run.wrk_cpu, run.machine, run.elapsed) = (wrk_cpu, machine, elapsed);
        Ok(run)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User and system CPU time of this process's reaped children so far (`getrusage`).
fn children_cpu() -> io::Result<Duration> {
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Ok(time(usage.ru_utime) + time(usage.ru_stime))
}

/// What `wrk --latency` printed: requests/s, the 50th and 99th percentiles, the request
/// count and the errors. `None` if a figure is missing.
fn parse_wrk(text: &str) -> Option<Run> {
    let mut run = Run::default();
    let (mut rps, mut p50, mut p99) = (None, None, None);
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", value] => rps = value.parse().ok(),
            ["50%", value] => p50 = duration_us(value),
            ["99%", value] => p99 = duration_us(value),
            [n, "requests", "in", ..] => run.requests = n.parse().ok()?,
            // `Socket errors: connect 0, read 0, write 0, timeout 0`
            ["Socket", "errors:", counts @ ..] => {
                run.errors += counts
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => run.errors += n.parse::<u64>().ok()?,
            _ => {}
        }
    }
    (run.rps, run.p50_us, run.p99_us) = (rps?, p50?, p99?);
    // wrk 4.1 sometimes prints a 99th percentile of `0.00us` when it holds few latency
    // samples — as in pipelined runs, where it records one per batch of 16. That is no
    // measurement: it becomes NaN, which the medians skip (and the table shows as `-`).
    if run.p99_us == 0.0 {
        run.p99_us = f64::NAN;
    }
    Some(run)
}

/// `wrk`'s durations in µs: `412.00us`, `1.06ms`, `2.00s`, `1.50m`.
fn duration_us(value: &str) -> Option<f64> {
    let unit_at = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(unit_at);
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        _ => return None,
    };
    Some(number.parse::<f64>().ok()? * scale)
}

// ---------------------------------------------------------------------------------------
// Checking that both servers say the same thing

/// The requests of [`exchange`]: two pipelined hellos, then a 404 that closes.
const PROBE: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n\
    GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Sends [`PROBE`] in one write and reads the answers until the server closes.
fn exchange(addr: SocketAddr) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(PROBE)?;
    let mut answers = Vec::new();
    stream.read_to_end(&mut answers)?;
    Ok(answers)
}

/// `answers` with every `Date` value blanked: the one thing two servers may differ in.
fn mask_dates(answers: &[u8]) -> Vec<u8> {
    let mut out = answers.to_vec();
    let mut from = 0;
    // hyper writes header names in lower case (`date: `), http_hello capitalised.
    let lower = answers.to_ascii_lowercase();
    while let Some(at) = find(&lower[from..], b"\r\ndate: ") {
        let start = from + at + b"\r\ndate: ".len();
        let end = (start + DATE_LEN).min(out.len());
        out[start..end].fill(b'#');
        from = end;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Refuses to compare servers that do not answer byte for byte alike.
fn check_same_answers(tempo: &Server, tokio: &Server) -> io::Result<()> {
    let (a, b) = (exchange(tempo.addr)?, exchange(tokio.addr)?);
    if a.is_empty() || mask_dates(&a) != mask_dates(&b) {
        return Err(io::Error::other(format!(
            "the servers answer differently:\n--- tempo\n{}\n--- tokio\n{}",
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b)
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The tokio server: http_hello's connection loop, on tokio

/// The per-connection read buffer, as in `http_hello`.
const READ_BUF: usize = 16 * 1024;
/// The output buffer's starting capacity, as in `http_hello`.
const OUT_CAPACITY: usize = 16 * 160;
/// The largest `Content-Length` body skipped, as in `http_hello`.
const MAX_BODY: u64 = 1024 * 1024;
/// `http_hello`'s default idle timeout.
const IDLE: Duration = Duration::from_secs(30);
/// How long a closing connection reads and discards, and how much.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 64 * 1024;
/// How long the accept loop rests after an error such as `EMFILE`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The tokio server with `workers` workers: this bench binary again, as
/// `versus --serve tokio-http-N`.
fn serve_command(exe: &Path, workers: usize) -> Command {
    let mut command = Command::new(exe);
    command.args(["--serve", &format!("tokio-http-{workers}")]);
    command
}

/// `versus --serve KIND`, if `KIND` is this part's server (`tokio-http-1`, `tokio-http-2`):
/// serve until killed. `None` for any other kind.
/// `versus --serve hyper-RUNTIME-N`: the hyper service of `servers.rs` on `runtime`
/// (`tempo` or `tokio`) with `workers` workers.
fn hyper_command(exe: &Path, runtime: &str, workers: usize) -> Command {
    let mut command = Command::new(exe);
    command.args(["--serve", &format!("hyper-{runtime}-{workers}")]);
    command
}

pub fn serve(kind: &str) -> Option<io::Result<()>> {
    let workers = match kind {
        "tokio-http-1" => 1,
        "tokio-http-2" => 2,
        _ => return None,
    };
    Some(serve_tokio(workers))
}

/// Binds `127.0.0.1:0`, prints `listening on ADDR` as `http_hello` does, and serves.
/// One worker is tokio's `current_thread` runtime; more is `multi_thread(N)` with one
/// listener, tokio's usual shape.
fn serve_tokio(workers: usize) -> io::Result<()> {
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on {}", listener.local_addr()?);
        io::stdout().flush()?;
        // Shortcut: nothing sets this — the bench stops the server by killing it, and tokio
        // is built here without its `signal` feature. It is waited on all the same, so that
        // every read costs what `http_hello`'s does.
        let stopping = Arc::new(StopEvent::default());
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let (stream, _peer) = tokio::select! {
                biased;
                Some(_joined) = conns.join_next() => continue,
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::ConnectionAborted
                                | io::ErrorKind::ConnectionReset
                                | io::ErrorKind::Interrupted
                        ) => continue,
                    Err(_) => {
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
            };
            conns.spawn(connection(stream, Arc::clone(&stopping)));
        }
    })
}

/// A flag tasks wait on: `tempo::sync::Event`, in tokio's parts.
#[derive(Default)]
struct StopEvent {
    /// The flag.
    set: AtomicBool,
    /// Wakes the waiters when the flag is set.
    notify: tokio::sync::Notify,
}

impl StopEvent {
    fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// How a connection ended when no I/O error ended it.
enum Ending {
    /// The client closed, went idle, or the server is stopping between requests.
    Done,
    /// Our last answer said `Connection: close`.
    Close,
}

/// One connection's task, as `http_hello`'s `connection`.
async fn connection(mut stream: tokio::net::TcpStream, stopping: Arc<StopEvent>) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; READ_BUF];
    if let Ok(Ending::Close) = serve_http(&mut stream, &mut buf, &stopping).await {
        linger_close(&mut stream, &mut buf).await;
    }
}

/// `http_hello`'s `serve_http`, step for step: read, answer every complete request into
/// one buffer, send it with one write, repeat.
async fn serve_http(
    stream: &mut tokio::net::TcpStream,
    buf: &mut [u8; READ_BUF],
    stopping: &StopEvent,
) -> io::Result<Ending> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::{Instant, timeout, timeout_at};

    let mut unread = Unread::default();
    let mut out = Vec::with_capacity(OUT_CAPACITY);
    let mut deadline = Instant::now() + IDLE;
    loop {
        // 1. A partial request moves to the front.
        if unread.start > 0 {
            buf.copy_within(unread.start..unread.end, 0);
            unread.end -= unread.start;
            unread.start = 0;
        }
        // 2. Read, under the idle deadline; between requests, a stop closes.
        let between_requests = unread.end == 0 && unread.skip == 0;
        let read = tokio::select! {
            biased;
            () = stopping.wait(), if between_requests => return Ok(Ending::Done),
            read = timeout_at(deadline, stream.read(&mut buf[unread.end..])) => read,
        };
        let n = match read {
            Ok(Ok(0)) | Err(_) => return Ok(Ending::Done),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e),
        };
        unread.end += n;
        // 3. Answer every complete request.
        let date = date::now();
        let batch = answer_all(&buf[..], &mut unread, &mut out, &date, stopping.is_set());
        if batch.progressed {
            deadline = Instant::now() + IDLE;
        }
        // 4. One write for the whole batch.
        if !out.is_empty() {
            match timeout(IDLE, stream.write_all(&out)).await {
                Ok(result) => result?,
                Err(_elapsed) => return Ok(Ending::Done),
            }
            out.clear();
        }
        // 5. Close if an answer said so.
        if batch.close {
            return Ok(Ending::Close);
        }
    }
}

/// `http_hello`'s lingering close: send our FIN, then discard what the client still sends.
async fn linger_close(stream: &mut tokio::net::TcpStream, buf: &mut [u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match stream.read(buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

// What follows is `http_hello`'s framing and answers, unchanged: it holds no runtime code.

/// The bytes of a connection's read buffer not yet consumed, and a body still arriving.
#[derive(Debug, Default)]
struct Unread {
    /// Where the first unparsed byte is.
    start: usize,
    /// One past the last byte read.
    end: usize,
    /// Bytes of the last request's body not yet arrived; skipped as they come.
    skip: u64,
}

/// What [`answer_all`] did with a batch.
struct Batch {
    /// A request was answered or body bytes skipped: the idle clock restarts.
    progressed: bool,
    /// The last answer said `Connection: close`.
    close: bool,
}

/// `http_hello`'s `answer_all`: skip body bytes, then answer each complete request.
fn answer_all(
    buf: &[u8],
    unread: &mut Unread,
    out: &mut Vec<u8>,
    date: &[u8; DATE_LEN],
    stopping: bool,
) -> Batch {
    let mut batch = Batch {
        progressed: false,
        close: false,
    };
    loop {
        if unread.skip > 0 {
            let available = (unread.end - unread.start) as u64;
            let skipped = unread.skip.min(available);
            unread.start += skipped as usize;
            unread.skip -= skipped;
            batch.progressed |= skipped > 0;
            if unread.skip > 0 {
                return batch;
            }
        }
        let (request, used) = match parser::parse(&buf[unread.start..unread.end]) {
            Ok(Status::Complete(request, used)) => (request, used),
            Ok(Status::Partial) => return batch,
            Err(ParseError::Malformed) => {
                respond(out, Reply::BadRequest, date, false, Connection::Close);
                batch.close = true;
                return batch;
            }
            Err(ParseError::TooLarge) => {
                respond(out, Reply::HeadersTooLarge, date, false, Connection::Close);
                batch.close = true;
                return batch;
            }
        };
        unread.start += used;
        batch.progressed = true;
        let (reply, keep_alive) = route(&request);
        let keep_alive = keep_alive && request.keep_alive() && !stopping;
        let connection = match (keep_alive, request.version) {
            (false, _) => Connection::Close,
            (true, Version::Http10) => Connection::KeepAlive,
            (true, Version::Http11) => Connection::Default,
        };
        respond(out, reply, date, request.method == b"HEAD", connection);
        if !keep_alive {
            batch.close = true;
            return batch;
        }
        if let Body::Length(length) = request.body {
            unread.skip = length;
        }
    }
}

/// `http_hello`'s `route`.
fn route(request: &Request<'_>) -> (Reply, bool) {
    if request.version == Version::Http11 && request.host.is_none() {
        return (Reply::BadRequest, false);
    }
    match request.body {
        Body::TransferEncoded => return (Reply::NotImplemented, false),
        Body::Length(length) if length > MAX_BODY => return (Reply::ContentTooLarge, false),
        Body::None | Body::Length(_) => {}
    }
    if request.form == Form::Authority {
        return (Reply::NotImplemented, false);
    }
    let reply = match (request.method, request.path()) {
        (b"GET" | b"HEAD", b"/" | b"/plaintext") => Reply::Hello,
        (b"OPTIONS", b"/" | b"/plaintext" | b"*") => Reply::Options,
        (_, b"/" | b"/plaintext") => Reply::MethodNotAllowed,
        _ => Reply::NotFound,
    };
    (reply, true)
}

/// `http_hello`'s answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// 200, `Hello, World!`.
    Hello,
    /// 200 to `OPTIONS`, with `Allow` and no body.
    Options,
    /// 400: not a request the parser accepts, or HTTP/1.1 without a host.
    BadRequest,
    /// 404: a path other than `/` and `/plaintext`.
    NotFound,
    /// 405: a method other than GET, HEAD and OPTIONS on `/` or `/plaintext`.
    MethodNotAllowed,
    /// 413: a body over `MAX_BODY`.
    ContentTooLarge,
    /// 431: a head over `parser::MAX_HEAD` bytes or `parser::MAX_HEADERS` headers.
    HeadersTooLarge,
    /// 501: a `Transfer-Encoding` body, or a `CONNECT`.
    NotImplemented,
}

impl Reply {
    fn status_line(self) -> &'static [u8] {
        match self {
            Reply::Hello | Reply::Options => b"HTTP/1.1 200 OK\r\n",
            Reply::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
            Reply::NotFound => b"HTTP/1.1 404 Not Found\r\n",
            Reply::MethodNotAllowed => b"HTTP/1.1 405 Method Not Allowed\r\n",
            Reply::ContentTooLarge => b"HTTP/1.1 413 Content Too Large\r\n",
            Reply::HeadersTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            Reply::NotImplemented => b"HTTP/1.1 501 Not Implemented\r\n",
        }
    }

    fn body(self) -> &'static [u8] {
        match self {
            Reply::Hello => b"Hello, World!",
            Reply::Options => b"",
            Reply::BadRequest => b"Bad Request\n",
            Reply::NotFound => b"Not Found\n",
            Reply::MethodNotAllowed => b"Method Not Allowed\n",
            Reply::ContentTooLarge => b"Content Too Large\n",
            Reply::HeadersTooLarge => b"Request Header Fields Too Large\n",
            Reply::NotImplemented => b"Not Implemented\n",
        }
    }
}

/// What a response says about the connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Connection {
    /// Nothing: HTTP/1.1 stays open by default.
    Default,
    /// `Connection: keep-alive`, for an HTTP/1.0 client that asked for it.
    KeepAlive,
    /// `Connection: close`.
    Close,
}

/// `http_hello`'s `respond`, byte for byte — `Server: tempo` included, so that `wrk` parses
/// identical answers from both servers.
fn respond(
    out: &mut Vec<u8>,
    reply: Reply,
    date: &[u8; DATE_LEN],
    head_only: bool,
    connection: Connection,
) {
    let body = reply.body();
    out.extend_from_slice(reply.status_line());
    out.extend_from_slice(b"Server: tempo\r\nDate: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n");
    if !body.is_empty() {
        out.extend_from_slice(b"Content-Type: text/plain\r\n");
    }
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, body.len());
    out.extend_from_slice(b"\r\n");
    if matches!(reply, Reply::MethodNotAllowed | Reply::Options) {
        out.extend_from_slice(b"Allow: GET, HEAD, OPTIONS\r\n");
    }
    match connection {
        Connection::Default => {}
        Connection::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        Connection::Close => out.extend_from_slice(b"Connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}
