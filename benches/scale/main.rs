//! `scale`: how far one tempo worker stretches — connections held, timers and tasks
//! pending, a million timers cancelled — with tokio's figure beside each, from the same run.
//!
//! ```text
//! cargo bench --bench scale                  # everything (about two minutes on 2 cores)
//! cargo bench --bench scale -- connections   # or timers, tasks, cancel; several allowed
//! cargo bench --bench scale -- all --conns 5000 --count 100000
//! ```
//!
//! # What each part measures
//!
//! - **connections**: the `echo` example (release build, `--max-conns 20000`, one worker)
//!   is given `--conns` connections (default 19 000) by a client in a child process — this
//!   binary re-executed with `--hold` — since one process cannot hold both ends of 19 000
//!   connections under a 20 000 open-files limit. The client opens them in batches of 256,
//!   each batch checked by a 1-byte echo before the next (so the listen backlog never
//!   overflows), then checks every one of them again with an 8-byte echo while all are open.
//!   Figure: the server's RSS growth ÷ connections. The same for a tokio `current_thread`
//!   server written the way `echo` is (a task per connection in a `JoinSet`, a 4 KiB buffer
//!   in the task, a timeout around every read and write) — this binary with `--serve-tokio-echo`.
//!   The kernel's socket memory is in no process's RSS, and is not counted.
//! - **timers**: 1 000 000 (`--count`) `sleep(1 h)` futures, boxed and pinned, each polled
//!   once so its timer is armed, all held in one `Vec` by one task: RSS growth ÷ timers —
//!   the `Sleep`, its box, and the timer's entry in the runtime. Then **tasks in a sleep**:
//!   a million spawned tasks, each awaiting its own `sleep(1 h)`: RSS growth ÷ tasks.
//! - **tasks**: a million spawned tasks each waiting on one shared event (tempo's
//!   `sync::Event`, tokio's `sync::Notify`): RSS growth ÷ tasks. Then the event is set, and
//!   the time until every task has finished is the **wake** figure.
//! - **cancel**: the time to drop the million armed sleeps of the timers part (one
//!   `drop(vec)`), and the time to abort a million tasks that sleep — `abort()` on each
//!   JoinHandle, then awaiting each, until every one has reported itself cancelled.
//!
//! Every runtime figure comes from a child process of its own (`--child KIND RUNTIME N`),
//! one worker (tokio: `current_thread`), so that memory one measurement freed never
//! flatters the next. Tasks are spawned in batches of 1 024, each batch polled once before
//! the next, so the run queue stays short and what remains is what a pending item costs.
//! RSS counts what glibc's malloc holds as well: its chunk headers and rounding.
//!
//! # How to read the table
//!
//! One row per figure: tempo's, tokio's, and **tempo/tokio** — below 1.00, tempo uses less
//! memory or time. Under `cargo test` (no `--bench`) it runs every part with 500
//! connections and 10 000 items, as a smoke test.

use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

mod children;
#[path = "../soak/procs.rs"]
mod procs;

use procs::{Proc, Spec, utc_now};

/// Connections for the connections part unless `--conns` says otherwise.
const DEFAULT_CONNS: usize = 19_000;
/// Items for the timers, tasks and cancel parts unless `--count` says otherwise.
const DEFAULT_COUNT: usize = 1_000_000;
/// Descriptors the holding client and the servers need besides the connections.
const SPARE_FDS: u64 = 64;
/// How long the client may take to open and check every connection.
const HOLD_WITHIN: Duration = Duration::from_secs(300);
/// How long a child may take to measure.
const CHILD_WITHIN: Duration = Duration::from_secs(300);

/// The parts of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// Connections held by `echo`, and by the tokio server.
    Connections,
    /// Armed sleeps held by one task, and tasks each in a sleep.
    Timers,
    /// Tasks waiting on one event, and the wake.
    Tasks,
    /// Dropping a million armed sleeps; aborting a million sleeping tasks.
    Cancel,
}

impl Part {
    /// Every part, in table order.
    const ALL: [Part; 4] = [Part::Connections, Part::Timers, Part::Tasks, Part::Cancel];

    /// The parts a command-line word names: one, or all of them for `all`.
    fn named(word: &str) -> Option<Vec<Part>> {
        match word {
            "connections" => Some(vec![Part::Connections]),
            "timers" => Some(vec![Part::Timers]),
            "tasks" => Some(vec![Part::Tasks]),
            "cancel" => Some(vec![Part::Cancel]),
            "all" => Some(Part::ALL.to_vec()),
            _ => None,
        }
    }
}

const USAGE: &str = "\
usage: cargo bench --bench scale [-- [connections|timers|tasks|cancel|all]... OPTIONS]

  --conns N    connections for the connections part (default 19000)
  --count N    timers or tasks for the other parts (default 1000000)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => return children::child(&args[1..]),
        Some("--hold") => return hold(&args[1..]),
        Some("--serve-tokio-echo") => return children::serve_tokio_echo(),
        _ => {}
    }
    let bench = args.iter().any(|a| a == "--bench");
    let (mut conns, mut count) = if bench {
        (DEFAULT_CONNS, DEFAULT_COUNT)
    } else {
        (500, 10_000)
    };
    let mut parts = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |flag: &str| {
            it.next()
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|&n| n > 0)
                .ok_or(format!("{flag} needs a positive number"))
        };
        let parsed = match arg.as_str() {
            "--bench" => Ok(()),
            "--conns" => number("--conns").map(|n| conns = n),
            "--count" => number("--count").map(|n| count = n),
            name if Part::named(name).is_some() => {
                parts.extend(Part::named(name).unwrap_or_default());
                Ok(())
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(e) = parsed {
            eprintln!("scale: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    if parts.is_empty() {
        parts = Part::ALL.to_vec();
    }
    match run(&parts, conns, count) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("scale: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line of the table: a figure for tempo and for tokio, or why there is none.
struct Row {
    /// What was measured.
    what: String,
    /// tempo's figure.
    tempo: Result<f64, String>,
    /// tokio's figure.
    tokio: Result<f64, String>,
    /// Its unit (`B/conn`, `ms`).
    unit: &'static str,
}

/// Runs the parts, prints the table; false if a figure is missing.
fn run(parts: &[Part], conns: usize, count: usize) -> io::Result<bool> {
    let mut rows = Vec::new();
    let n = thousands(count);
    if parts.contains(&Part::Connections) {
        eprintln!("scale: connections ({conns}) …");
        let (tempo, tokio) = connections(conns)?;
        rows.push(Row {
            what: format!(
                "connections held by one worker ({}), each echoed",
                thousands(conns)
            ),
            tempo,
            tokio,
            unit: "B/conn",
        });
    }
    let both = |kind: &str| -> (
        Result<children::Figures, String>,
        Result<children::Figures, String>,
    ) {
        eprintln!("scale: {kind} ({count}) …");
        (
            in_child(kind, "tempo", count),
            in_child(kind, "tokio", count),
        )
    };
    let pick = |r: &Result<children::Figures, String>, f: fn(&children::Figures) -> f64| {
        r.as_ref().map(f).map_err(Clone::clone)
    };
    if parts.contains(&Part::Timers) || parts.contains(&Part::Cancel) {
        let (tempo, tokio) = both("sleeps");
        if parts.contains(&Part::Timers) {
            rows.push(Row {
                what: format!("timers pending: {n} armed sleeps held by one task"),
                tempo: pick(&tempo, children::Figures::per_item),
                tokio: pick(&tokio, children::Figures::per_item),
                unit: "B/timer",
            });
        }
        if parts.contains(&Part::Cancel) {
            rows.push(Row {
                what: format!("cancel: drop {n} armed sleeps"),
                tempo: pick(&tempo, children::Figures::after_ms),
                tokio: pick(&tokio, children::Figures::after_ms),
                unit: "ms",
            });
        }
    }
    if parts.contains(&Part::Timers) {
        let (tempo, tokio) = both("sleeping-tasks");
        rows.push(Row {
            what: format!("tasks pending, each in its own sleep ({n})"),
            tempo: pick(&tempo, children::Figures::per_item),
            tokio: pick(&tokio, children::Figures::per_item),
            unit: "B/task",
        });
    }
    if parts.contains(&Part::Tasks) {
        let (tempo, tokio) = both("waiting-tasks");
        rows.push(Row {
            what: format!("tasks pending, all on one event ({n})"),
            tempo: pick(&tempo, children::Figures::per_item),
            tokio: pick(&tokio, children::Figures::per_item),
            unit: "B/task",
        });
        rows.push(Row {
            what: format!("wake: set the event, until all {n} tasks are done"),
            tempo: pick(&tempo, children::Figures::after_ms),
            tokio: pick(&tokio, children::Figures::after_ms),
            unit: "ms",
        });
    }
    if parts.contains(&Part::Cancel) {
        let (tempo, tokio) = both("abort");
        rows.push(Row {
            what: format!("cancel: abort {n} sleeping tasks, until all joined"),
            tempo: pick(&tempo, children::Figures::after_ms),
            tokio: pick(&tokio, children::Figures::after_ms),
            unit: "ms",
        });
    }
    print_table(&rows);
    Ok(rows.iter().all(|r| r.tempo.is_ok() && r.tokio.is_ok()))
}

/// Prints the table, with the date and the machine.
fn print_table(rows: &[Row]) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "\nscale · {} · {cores} cores · Linux {} · one worker (tokio current_thread) · RSS growth ÷ items",
        utc_now(),
        kernel.trim()
    );
    let width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "{:<width$}  {:>12}  {:>12}  {:>11}",
        "what", "tempo", "tokio", "tempo/tokio"
    );
    let mut errors = Vec::new();
    for r in rows {
        let show = |v: &Result<f64, String>| match v {
            Ok(x) if r.unit == "ms" => format!("{x:.1} {}", r.unit),
            Ok(x) => format!("{x:.0} {}", r.unit),
            Err(_) => "failed".to_string(),
        };
        let ratio = match (&r.tempo, &r.tokio) {
            (Ok(a), Ok(b)) if *b > 0.0 => format!("{:.2}", a / b),
            _ => "-".to_string(),
        };
        println!(
            "{:<width$}  {:>12}  {:>12}  {:>11}",
            r.what,
            show(&r.tempo),
            show(&r.tokio),
            ratio
        );
        for (who, v) in [("tempo", &r.tempo), ("tokio", &r.tokio)] {
            if let Err(e) = v {
                errors.push(format!("{}: {who}: {e}", r.what));
            }
        }
    }
    for e in errors {
        println!("error: {e}");
    }
}

/// Runs `--child KIND RUNTIME COUNT` and reads its figures.
fn in_child(kind: &str, runtime: &str, count: usize) -> Result<children::Figures, String> {
    let mut proc = Proc::start(Spec {
        name: "child",
        program: std::env::current_exe().map_err(|e| e.to_string())?,
        args: vec![
            "--child".into(),
            kind.into(),
            runtime.into(),
            count.to_string(),
        ],
        nofile: None,
    })
    .map_err(|e| format!("{kind} on {runtime}: {e}"))?;
    let line = proc
        .expect_line(&["result "], CHILD_WITHIN)
        .map_err(|e| format!("{kind} on {runtime}: {e}"))?;
    let (status, _) = proc
        .wait_exit(CHILD_WITHIN)
        .map_err(|e| format!("{kind} on {runtime}: {e}"))?;
    if !status.success() {
        return Err(format!("{kind} on {runtime}: exited with {status}"));
    }
    children::Figures::parse(&line).ok_or(format!("{kind} on {runtime}: bad line {line:?}"))
}

// ---------------------------------------------------------------------------------------
// Connections

/// The connections part: tempo's `echo`, then the tokio server; bytes per connection.
fn connections(conns: usize) -> io::Result<(Result<f64, String>, Result<f64, String>)> {
    let needed = conns as u64 + SPARE_FDS;
    let limit = procs::fd_limit()?;
    if limit < needed {
        return Err(io::Error::other(format!(
            "the open-files limit is {limit}; {conns} connections need {needed} (ulimit -n)"
        )));
    }
    let dir = procs::build_examples(&["echo"])?;
    let exe = std::env::current_exe()?;
    let tempo = Proc::start(Spec {
        name: "echo",
        program: dir.join("echo"),
        args: [
            "--addr",
            "127.0.0.1:0",
            "--max-conns",
            "20000",
            "--idle-secs",
            "600",
            "--grace-secs",
            "1",
        ]
        .map(String::from)
        .to_vec(),
        nofile: None,
    })
    .and_then(|server| per_connection(server, conns, true))
    .map_err(|e| format!("echo: {e}"));
    let tokio = Proc::start(Spec {
        name: "tokio-echo",
        program: exe,
        args: vec!["--serve-tokio-echo".into()],
        nofile: None,
    })
    .and_then(|server| per_connection(server, conns, false))
    .map_err(|e| format!("tokio echo: {e}"));
    Ok((tempo, tokio))
}

/// Gives `server` `conns` connections from a child client and returns its RSS growth per
/// connection. With `stop`, the server is then stopped with SIGINT and must exit 0.
fn per_connection(mut server: Proc, conns: usize, stop: bool) -> io::Result<f64> {
    let addr = server.addr();
    // One connection and echo first, so the code paths and the first buffers are in the
    // baseline, not in the per-connection figure.
    {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(b"warm")?;
        let mut got = [0u8; 4];
        io::Read::read_exact(&mut s, &mut got)?;
    }
    let before = server.rss()?;
    let mut client = Command::new(std::env::current_exe()?);
    client
        .args(["--hold", &addr.to_string(), &conns.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    procs::prepare_child(&mut client, None);
    let mut client = client.spawn()?;
    let stdin = client.stdin.take().expect("stdin was piped");
    let lines = procs::lines(client.stdout.take().expect("stdout was piped"));
    let started = Instant::now();
    let held = lines.recv_timeout(HOLD_WITHIN);
    let after = server.rss();
    // Closing its stdin tells the client to close everything and exit.
    drop(stdin);
    let exited = wait_child(&mut client, &lines, Duration::from_secs(60));
    let line = held.map_err(|_| {
        io::Error::other(format!(
            "the client did not hold {conns} within {HOLD_WITHIN:?}"
        ))
    })?;
    let echoed: Option<usize> = line
        .strip_prefix("held ")
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
    if echoed != Some(conns) {
        return Err(io::Error::other(format!("the client said {line:?}")));
    }
    exited?;
    eprintln!(
        "scale: {}: {conns} connections opened and echoed in {:.1} s",
        server.name,
        started.elapsed().as_secs_f64()
    );
    let per = after?.saturating_sub(before) as f64 / conns as f64;
    if stop {
        server.interrupt()?;
        let (status, _) = server.wait_exit(Duration::from_secs(30))?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "exited with {status} after SIGINT"
            )));
        }
    }
    Ok(per)
}

/// Waits for `child` to exit, at most `within` (killing it after that): the end of its
/// stdout, which `lines` reads, is when it exits.
fn wait_child(
    child: &mut std::process::Child,
    lines: &std::sync::mpsc::Receiver<String>,
    within: Duration,
) -> io::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(_) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::other("the client did not exit"));
            }
        }
    }
    let status = child.wait()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("the client exited with {status}")))
    }
}

/// `--hold ADDR N`: the connections part's client. Opens `N` connections to `ADDR` in
/// batches of 256, each checked by a 1-byte echo; then an 8-byte echo on every one, all
/// open at once; prints `held N`; holds them until stdin closes.
fn hold(args: &[String]) -> ExitCode {
    let result = (|| -> io::Result<usize> {
        let addr: SocketAddr = args
            .first()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other("--hold needs ADDR N"))?;
        let n: usize = args
            .get(1)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other("--hold needs ADDR N"))?;
        let timeout = Some(Duration::from_secs(10));
        let mut streams: Vec<TcpStream> = Vec::with_capacity(n);
        while streams.len() < n {
            let first = streams.len();
            for i in first..n.min(first + 256) {
                let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
                    .map_err(|e| io::Error::new(e.kind(), format!("connection {i}: {e}")))?;
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)?;
                streams.push(s);
            }
            echo_all(&mut streams[first..], b"o", first)?;
        }
        for (i, chunk) in streams.chunks_mut(256).enumerate() {
            echo_all(chunk, b"all-open", i * 256)?;
        }
        Ok(streams.len()).inspect(|&held| {
            println!("held {held}");
            let _ = io::stdout().flush();
            // Hold until the bench closes our stdin (or dies: then stdin closes too).
            let mut line = String::new();
            let _ = io::stdin().lock().read_line(&mut line);
            drop(streams);
        })
    })();
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scale --hold: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `msg` on every stream, then reads it back from every one and compares.
fn echo_all(streams: &mut [TcpStream], msg: &[u8], first: usize) -> io::Result<()> {
    for s in streams.iter_mut() {
        s.write_all(msg)?;
    }
    let mut got = vec![0u8; msg.len()];
    for (i, s) in streams.iter_mut().enumerate() {
        io::Read::read_exact(s, &mut got).map_err(|e| {
            io::Error::new(e.kind(), format!("connection {}: no echo: {e}", first + i))
        })?;
        if got != msg {
            return Err(io::Error::other(format!(
                "connection {}: echo differs",
                first + i
            )));
        }
    }
    Ok(())
}

/// `1 000 000`.
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
