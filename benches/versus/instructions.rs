//! The instruction meter: `cargo bench --bench versus -- --instructions`.
//!
//! Time per request moves with the machine; instructions per request do not. So this part
//! runs each Rust server under callgrind, which counts every user-space instruction the
//! process executes, and under `strace -c`, which counts its system calls, and divides both
//! by the requests the load client completed meanwhile. Three rows, each tempo beside the
//! same program on tokio:
//!
//! 1. **plain echo**: the echo matrix's `tempo-1`, `tokio-ct` and the `mio` floor;
//! 2. **echo with timeouts**: `examples/echo.rs` itself (release build), which wraps every
//!    read and every write in a fresh `tempo::time::timeout`, beside `tokio-ct-timeout`
//!    (`servers.rs`), its connection loop on tokio;
//! 3. **HTTP**: `examples/http_hello` (release build, one worker) beside the HTTP part's
//!    tokio server (`http.rs`), which compiles the same parser;
//! 4. **hyper**: one hyper service (`servers.rs`, `hyper_hello`) on tempo through
//!    `tempo::hyper` and on tokio through hyper-util, one worker each: the same HTTP code
//!    above both runtimes, so the difference is the runtimes' alone.
//!
//! # One measurement
//!
//! ```text
//!  start the server under valgrind ── connect 64 ── warm-up trips ── callgrind_control -z
//!      ── measured trips ── callgrind_control -d ── read the dump ── kill
//!  start it again, bare ── connect 64 ── warm-up trips ── strace -c -f -p PID
//!      ── measured trips ── stop strace (SIGINT) ── read its table ── kill
//! ```
//!
//! The load client is the bench's own (`client.rs`), every answer verified: [`CONNS`]
//! connections, each with one request in flight — a 64-byte echo, or a keep-alive
//! `GET /` for HTTP. Warm-up and measurement are each a fixed number of round trips per
//! connection, and each ends only when every answer is back: the counters are zeroed, and
//! read, while the server has nothing to do, so the window holds exactly the measured
//! requests' work — no connection set-up, no start-up, no half-finished request at either
//! edge. Whatever the process does in that window counts, on any thread: the runtime, the
//! allocator, libc, a timer thread if there is one.
//!
//! # What the figures mean, and what they do not
//!
//! - `instr/req` is callgrind's `Ir` (instructions executed in user space) ÷ requests. It
//!   does not depend on the machine's load, so it is the figure to compare runs with. It is
//!   not time: a cache miss costs no more instructions than a hit.
//! - `syscalls/req` comes from a separate run without valgrind, under `strace -c -f`
//!   attached for the measured window only. Under strace every system call is slowed, so
//!   more events are ready per `epoll_wait` than in an untraced run; the read and write
//!   calls per request are exact, the share of `epoll_wait` is a lower bound.
//! - The `top self` line under each server names the functions that executed the most
//!   instructions themselves (not counting what they call), per request: where a reactor
//!   rewrite would look first. It is computed from the dump file directly (callgrind_annotate
//!   3.19 charged the whole of a zeroed dump to `__libc_start_main`).
//! - Clock reads are not in `instr/req`. valgrind does not let the program use the kernel's
//!   vDSO, so under callgrind `clock_gettime` is a real system call, not the few dozen
//!   user-space instructions it is natively: a server that reads the clock more often per
//!   request (a timeout is one read or more) is flattered by that much.
//! - The versus binary (which serves `tempo-1`, `tokio-ct`, `mio` and both tokio peers of
//!   rows 2 and 3) has a counting global allocator (`memory.rs`) that, when not counting,
//!   costs a relaxed load and a branch per allocation; the example binaries have the plain
//!   system allocator. Where a server allocates per request, that is a few instructions in
//!   tokio's disfavour in rows 2 and 3.
//!
//! Without valgrind or strace, that half is skipped with a line saying how to install them.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::{Load, Protocol, Session, Until};
use crate::http::{self, Server};
use crate::report::{format_table, machine, utc_now};

/// Connections of every load, each with one request in flight.
pub const CONNS: usize = 64;
/// Bytes per echo.
pub const MSG_SIZE: usize = 64;
/// Round trips per connection before the counters are zeroed: connections settle, tables
/// and caches reach their steady size, lazily built things are built.
const WARMUP_TRIPS: u64 = 30;
/// Round trips per connection in the measured window (64 × this many requests).
const MEASURED_TRIPS: u64 = 150;
/// How long a dump may take to appear after `callgrind_control -d` returns.
const DUMP_WAIT: Duration = Duration::from_secs(20);
/// How long strace may take to attach.
const ATTACH_WAIT: Duration = Duration::from_secs(10);
/// Functions named per server.
const TOP: usize = 5;

const INSTALL: &str = "apt-get update && apt-get install -y valgrind strace";

/// The three comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    /// Read, write back: tempo-1, tokio-ct, mio.
    Echo,
    /// The same with a fresh timeout around every read and every write.
    EchoTimeout,
    /// http_hello and its tokio twin.
    Http,
    /// One hyper service on tempo (`tempo::hyper`) and on tokio (hyper-util): the HTTP
    /// server people really run, the same code above both runtimes.
    Hyper,
}

impl Row {
    fn title(self) -> &'static str {
        match self {
            Row::Echo => "plain echo",
            Row::EchoTimeout => "echo, timeout per read and write",
            Row::Http => "http_hello",
            Row::Hyper => "hyper, same service",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Row::Echo => "echo",
            Row::EchoTimeout => "echo_timeout",
            Row::Http => "http",
            Row::Hyper => "hyper",
        }
    }

    fn protocol(self) -> Protocol {
        match self {
            Row::Http | Row::Hyper => Protocol::Http,
            Row::Echo | Row::EchoTimeout => Protocol::Echo,
        }
    }
}

/// What part a server plays in its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// tempo: the server under study.
    Tempo,
    /// tokio: what the ratio `×tokio` divides by.
    Tokio,
    /// The hand-written mio loop: what `×mio` divides by.
    Floor,
}

/// One server to measure.
#[derive(Clone, Copy, Debug)]
struct Subject {
    /// Its row.
    row: Row,
    /// Its name in the table.
    name: &'static str,
    /// Its part in the row.
    role: Role,
    /// How it is started.
    program: Program,
}

/// How a server is started.
#[derive(Clone, Copy, Debug)]
enum Program {
    /// This bench binary, `--serve KIND` and these arguments.
    Versus(&'static str, &'static [&'static str]),
    /// A release example of this crate, with these arguments.
    Example(&'static str, &'static [&'static str]),
}

const ANY_PORT: &[&str] = &["--addr", "127.0.0.1:0"];

/// Every server, in table order.
const SUBJECTS: [Subject; 9] = [
    Subject {
        row: Row::Echo,
        name: "tempo-1",
        role: Role::Tempo,
        program: Program::Versus("tempo-1", ANY_PORT),
    },
    Subject {
        row: Row::Echo,
        name: "tokio-ct",
        role: Role::Tokio,
        program: Program::Versus("tokio-ct", ANY_PORT),
    },
    Subject {
        row: Row::Echo,
        name: "mio",
        role: Role::Floor,
        program: Program::Versus("mio", ANY_PORT),
    },
    Subject {
        row: Row::EchoTimeout,
        name: "examples/echo",
        role: Role::Tempo,
        program: Program::Example("echo", ANY_PORT),
    },
    Subject {
        row: Row::EchoTimeout,
        name: "tokio-ct-timeout",
        role: Role::Tokio,
        program: Program::Versus("tokio-ct-timeout", &[]),
    },
    Subject {
        row: Row::Http,
        name: "examples/http_hello",
        role: Role::Tempo,
        program: Program::Example("http_hello", &["--addr", "127.0.0.1:0", "--workers", "1"]),
    },
    Subject {
        row: Row::Http,
        name: "tokio-http-1",
        role: Role::Tokio,
        program: Program::Versus("tokio-http-1", &[]),
    },
    Subject {
        row: Row::Hyper,
        name: "hyper-tempo-1",
        role: Role::Tempo,
        program: Program::Versus("hyper-tempo-1", &[]),
    },
    Subject {
        row: Row::Hyper,
        name: "hyper-tokio-1",
        role: Role::Tokio,
        program: Program::Versus("hyper-tokio-1", &[]),
    },
];

/// What callgrind counted in one server's measured window.
#[derive(Clone, Debug)]
struct Counted {
    /// Requests completed in the window.
    requests: u64,
    /// Instructions executed, all threads.
    instructions: u64,
    /// Functions by self cost, most first: (name, instructions).
    top: Vec<(String, u64)>,
}

/// What strace counted in one server's measured window.
#[derive(Clone, Debug)]
struct Traced {
    /// Requests completed in the window.
    requests: u64,
    /// Calls by system call name.
    calls: BTreeMap<String, u64>,
}

impl Traced {
    fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// One server's results: either half may have failed or been skipped.
struct Measured {
    subject: Subject,
    counted: Result<Counted, String>,
    traced: Result<Traced, String>,
}

impl Measured {
    fn instr_per_req(&self) -> Option<f64> {
        let c = self.counted.as_ref().ok()?;
        (c.requests > 0).then(|| c.instructions as f64 / c.requests as f64)
    }

    fn syscalls_per_req(&self) -> Option<f64> {
        let t = self.traced.as_ref().ok()?;
        (t.requests > 0).then(|| t.total() as f64 / t.requests as f64)
    }
}

/// The tools, found or not.
struct Tools {
    /// valgrind, callgrind_control: the instruction half.
    callgrind: bool,
    /// strace: the system-call half.
    strace: bool,
}

/// `--instructions [--trips N] [--warmup-trips N]`: measure, print, write the JSON.
pub fn run(args: &[String], exe: &Path, out_dir: &Path) -> ExitCode {
    let (mut warmup, mut measured) = (WARMUP_TRIPS, MEASURED_TRIPS);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = match flag.as_str() {
            "--trips" | "--warmup-trips" => it.next().and_then(|v| v.parse::<u64>().ok()),
            _ => continue,
        };
        match (flag.as_str(), value) {
            ("--trips", Some(n)) if n > 0 => measured = n,
            ("--warmup-trips", Some(n)) => warmup = n,
            _ => {
                eprintln!("versus: {flag} needs a number of round trips per connection");
                return ExitCode::from(2);
            }
        }
    }
    let tools = Tools {
        callgrind: http::on_path("valgrind") && http::on_path("callgrind_control"),
        strace: http::on_path("strace"),
    };
    if !tools.callgrind {
        println!(
            "versus --instructions: valgrind is not installed; skipping instructions ({INSTALL})"
        );
    }
    if !tools.strace {
        println!(
            "versus --instructions: strace is not installed; skipping system calls ({INSTALL})"
        );
    }
    if !tools.callgrind && !tools.strace {
        return ExitCode::SUCCESS;
    }
    match measure_all(&tools, exe, out_dir, warmup, measured) {
        Ok(ok) if ok => ExitCode::SUCCESS,
        Ok(_) => {
            eprintln!("versus --instructions: some measurements failed; see the table");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("versus --instructions: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Build the examples, measure every server, print the table, write the JSON. False if a
/// measurement failed.
fn measure_all(
    tools: &Tools,
    exe: &Path,
    out_dir: &Path,
    warmup: u64,
    measured: u64,
) -> io::Result<bool> {
    let started = Instant::now();
    let echo = http::build_example("echo")?;
    let http_hello = http::build_example("http_hello")?;
    let work = out_dir.join("callgrind");
    std::fs::create_dir_all(&work)?;
    let mut results = Vec::new();
    for subject in SUBJECTS {
        let program = match subject.program {
            Program::Versus(kind, args) => {
                let mut argv = vec!["--serve".to_string(), kind.to_string()];
                argv.extend(args.iter().map(|a| a.to_string()));
                (exe.to_path_buf(), argv)
            }
            Program::Example(name, args) => {
                let path = if name == "echo" { &echo } else { &http_hello };
                (path.clone(), args.iter().map(|a| a.to_string()).collect())
            }
        };
        let load = Load {
            addr: "127.0.0.1:0".parse().expect("a valid address"),
            server_pid: None,
            conns: CONNS,
            msg_size: MSG_SIZE,
            until: Until::RoundTrips(measured),
            protocol: subject.row.protocol(),
        };
        let skipped = |tool: &str| format!("{tool} not installed");
        eprintln!("versus --instructions: {} under callgrind", subject.name);
        let counted = if tools.callgrind {
            count(subject, &program, &load, warmup, &work).map_err(|e| e.to_string())
        } else {
            Err(skipped("valgrind"))
        };
        eprintln!("versus --instructions: {} under strace", subject.name);
        let traced = if tools.strace {
            trace(subject, &program, &load, warmup, &work).map_err(|e| e.to_string())
        } else {
            Err(skipped("strace"))
        };
        results.push(Measured {
            subject,
            counted,
            traced,
        });
    }
    let elapsed = started.elapsed();
    let header = format!(
        "instructions · {} · {} · load: {CONNS} connections, one request in flight each \
         ({MSG_SIZE} B echoes; HTTP: keep-alive GET /), {warmup} warm-up then {measured} \
         measured round trips per connection · {:.0} s",
        utc_now(),
        machine(),
        elapsed.as_secs_f64()
    );
    print!("{}", table(&header, &results, tools));
    let path = out_dir.join("instructions.json");
    let json = to_json(&header, &results, warmup, measured, elapsed);
    std::fs::write(&path, serde_json::to_string_pretty(&json)? + "\n")?;
    println!("\nwritten: {}", path.display());
    let failed = results
        .iter()
        .any(|m| (tools.callgrind && m.counted.is_err()) || (tools.strace && m.traced.is_err()));
    Ok(!failed)
}

/// A command that runs `program`, prefixed by `wrapper` (valgrind and its flags), if any.
fn command(program: &(PathBuf, Vec<String>), wrapper: &[String]) -> Command {
    let mut command = match wrapper.split_first() {
        Some((tool, flags)) => {
            let mut c = Command::new(tool);
            c.args(flags).arg(&program.0);
            c
        }
        None => Command::new(&program.0),
    };
    command.args(&program.1);
    command
}

/// The callgrind half: instructions in the measured window.
fn count(
    subject: Subject,
    program: &(PathBuf, Vec<String>),
    load: &Load,
    warmup: u64,
    work: &Path,
) -> io::Result<Counted> {
    let stem = subject.name.replace('/', "-");
    let out = work.join(format!("{stem}.callgrind"));
    let dump = work.join(format!("{stem}.callgrind.1"));
    for stale in [&out, &dump] {
        let _ = std::fs::remove_file(stale);
    }
    let wrapper = [
        "valgrind".to_string(),
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out.display()),
        format!(
            "--log-file={}",
            work.join(format!("{stem}.valgrind.log")).display()
        ),
    ];
    let server = Server::start("server", command(program, &wrapper))?;
    let pid = server.pid();
    let mut session = Session::connect(&Load {
        addr: server.addr,
        ..load.clone()
    })?;
    session.run(Until::RoundTrips(warmup))?;
    callgrind_control("-z", pid)?;
    let outcome = session.run(load.until)?;
    callgrind_control("-d", pid)?;
    let text = read_dump(&dump)?;
    drop(session);
    drop(server);
    let parsed = parse_dump(&text)
        .ok_or_else(|| io::Error::other(format!("{}: no totals in the dump", dump.display())))?;
    Ok(Counted {
        requests: outcome.requests,
        instructions: parsed.instructions,
        top: parsed.top,
    })
}

/// `callgrind_control FLAG PID`, which returns once the server has obeyed.
fn callgrind_control(flag: &str, pid: u32) -> io::Result<()> {
    let output = Command::new("callgrind_control")
        .arg(flag)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()?;
    let said = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || said.contains("Error") {
        return Err(io::Error::other(format!(
            "callgrind_control {flag} {pid}: {said}{}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(())
}

/// The dump's text, once it is complete (its `totals:` line is written last).
fn read_dump(path: &Path) -> io::Result<String> {
    let deadline = Instant::now() + DUMP_WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.lines().any(|l| l.starts_with("totals:"))
        {
            return Ok(text);
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "{} did not appear within {DUMP_WAIT:?}",
                path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a dump says: totals, and self cost per function.
struct Dump {
    instructions: u64,
    top: Vec<(String, u64)>,
}

/// Read a callgrind dump (format version 1, names compressed as `(id) name` the first time
/// and `(id)` after). A cost line is `position cost…`, the first cost being `Ir`; the cost
/// line right after a `calls=` line is the call's inclusive cost, charged to the caller's
/// inclusive cost but not to its self cost, so it is skipped here.
fn parse_dump(text: &str) -> Option<Dump> {
    let mut events: Vec<&str> = Vec::new();
    let mut totals: Option<Vec<u64>> = None;
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    let mut self_cost: BTreeMap<&str, u64> = BTreeMap::new();
    let mut current: Option<&str> = None;
    let mut after_call = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("events:") {
            events = rest.split_whitespace().collect();
        } else if let Some(rest) = line.strip_prefix("totals:") {
            totals = Some(
                rest.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect(),
            );
        } else if let Some(rest) = line.strip_prefix("fn=") {
            current = Some(name_of(rest, &mut names));
        } else if let Some(rest) = line.strip_prefix("cfn=") {
            name_of(rest, &mut names); // defines the name for later `fn=(id)` lines
        } else if line.starts_with("calls=") {
            after_call = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            if after_call {
                after_call = false;
                continue;
            }
            let ir = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok());
            if let (Some(f), Some(ir)) = (current, ir) {
                *self_cost.entry(f).or_default() += ir;
            }
        }
    }
    let totals = totals?;
    let at = |event: &str| {
        events
            .iter()
            .position(|e| *e == event)
            .map(|i| totals.get(i).copied())
    };
    let mut top: Vec<(String, u64)> = self_cost
        .into_iter()
        .map(|(name, cost)| (name.to_string(), cost))
        .collect();
    top.sort_by_key(|&(_, cost)| std::cmp::Reverse(cost));
    top.truncate(TOP);
    Some(Dump {
        instructions: at("Ir").flatten().or(totals.first().copied())?,
        top,
    })
}

/// The name in `(id) name` (and remember it), or the one remembered for `(id)`.
fn name_of<'a>(spec: &'a str, names: &mut BTreeMap<&'a str, &'a str>) -> &'a str {
    let Some(rest) = spec.strip_prefix('(') else {
        return spec;
    };
    let Some((id, name)) = rest.split_once(')') else {
        return spec;
    };
    let name = name.trim();
    if name.is_empty() {
        names.get(id).copied().unwrap_or(spec)
    } else {
        names.insert(id, name);
        name
    }
}

/// The strace half: system calls in the measured window, from a run without valgrind.
fn trace(
    subject: Subject,
    program: &(PathBuf, Vec<String>),
    load: &Load,
    warmup: u64,
    work: &Path,
) -> io::Result<Traced> {
    let stem = subject.name.replace('/', "-");
    let out = work.join(format!("{stem}.strace"));
    let _ = std::fs::remove_file(&out);
    let server = Server::start("server", command(program, &[]))?;
    let pid = server.pid();
    let mut session = Session::connect(&Load {
        addr: server.addr,
        ..load.clone()
    })?;
    session.run(Until::RoundTrips(warmup))?;
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))?.count();
    // `-f` with `-p` attaches to every thread of the process; each says so on stderr.
    let mut strace = Command::new("strace")
        .args(["-c", "-f", "-p", &pid.to_string(), "-o"])
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = strace.stderr.take().expect("stderr was piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + ATTACH_WAIT;
    let mut attached = 0;
    while attached < threads {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("attached") => attached += 1,
            Ok(_) => {}
            Err(_) => {
                let _ = strace.kill();
                let _ = strace.wait();
                return Err(io::Error::other(format!(
                    "strace attached to {attached} of {threads} threads within {ATTACH_WAIT:?}"
                )));
            }
        }
    }
    let outcome = session.run(load.until);
    // SIGINT makes strace detach and write its table.
    // SAFETY: kill only sends a signal, to strace, our own child, which has not been
    // waited for and so still holds its pid.
    unsafe { libc::kill(strace.id() as libc::pid_t, libc::SIGINT) };
    strace.wait()?;
    let outcome = outcome?;
    drop(session);
    drop(server);
    let text = std::fs::read_to_string(&out)?;
    let calls = parse_strace(&text)
        .ok_or_else(|| io::Error::other(format!("{}: no table", out.display())))?;
    Ok(Traced {
        requests: outcome.requests,
        calls,
    })
}

/// `strace -c`'s table: calls by system call. Its lines are `% time, seconds, usecs/call,
/// calls, [errors], syscall`, between dashed rules, and a `total` line.
fn parse_strace(text: &str) -> Option<BTreeMap<String, u64>> {
    let mut calls = BTreeMap::new();
    let mut header = false;
    for line in text.lines() {
        if line.trim_start().starts_with("% time") {
            header = true;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if !header || words.len() < 5 || line.starts_with('-') {
            continue;
        }
        let name = words[words.len() - 1];
        if name == "total" {
            break;
        }
        calls.insert(name.to_string(), words[3].parse().ok()?);
    }
    header.then_some(calls)
}

/// A function's name, short enough for a line: generic arguments become `<…>`, a
/// `<Type as Trait>` keeps the last segment of each, and a long path keeps its crate and
/// its last three segments.
/// `tokio::runtime::io::scheduled_io::SourceRecord::poll_readiness` becomes
/// `tokio::…::scheduled_io::SourceRecord::poll_readiness`, and
/// `<&mio::net::tcp::stream::TcpStream as std::io::Write>::write` becomes
/// `<&TcpStream as Write>::write`.
fn short(name: &str) -> String {
    // Split at depth 0 into segments; a top-level `<A as B>` is one segment.
    let mut segments: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                depth += 1;
                current.push(c);
            }
            '>' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ':' if depth == 0 && chars.peek() == Some(&':') => {
                chars.next();
                segments.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    segments.push(current);
    let segments: Vec<String> = segments.iter().map(|s| short_segment(s)).collect();
    if segments.len() > 4 {
        let tail = &segments[segments.len() - 3..];
        format!("{}::…::{}", segments[0], tail.join("::"))
    } else {
        segments.join("::")
    }
}

/// One path segment: `Foo<A, B>` is `Foo<…>`; `<a::A as b::B<C>>` is `<A as B<…>>`.
fn short_segment(segment: &str) -> String {
    let Some(inner) = segment.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return match segment.find('<') {
            Some(at) => format!("{}<…>", &segment[..at]),
            None => segment.to_string(),
        };
    };
    let last = |path: &str| {
        let path = path.trim();
        let (reference, path) = match path.strip_prefix('&') {
            Some(rest) => ("&", rest.trim_start_matches("mut ")),
            None => ("", path),
        };
        // The last `::` outside generic arguments.
        let mut depth = 0usize;
        let mut cut = 0;
        for (i, c) in path.char_indices() {
            match c {
                '<' => depth += 1,
                '>' => depth = depth.saturating_sub(1),
                ':' if depth == 0 => cut = i + 1,
                _ => {}
            }
        }
        format!("{reference}{}", short_segment(&path[cut..]))
    };
    // ` as ` outside the type's own generic arguments.
    let mut depth = 0usize;
    let at = inner.char_indices().find_map(|(i, c)| {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
        (depth == 0 && inner[i..].starts_with(" as ")).then_some(i)
    });
    match at {
        Some(at) => format!("<{} as {}>", last(&inner[..at]), last(&inner[at + 4..])),
        None => format!("<{}>", last(inner)),
    }
}

/// The ratios of a server's instructions per request in its row.
fn ratios(m: &Measured, all: &[Measured]) -> (Option<f64>, Option<f64>) {
    let of = |role: Role| {
        all.iter()
            .find(|o| o.subject.row == m.subject.row && o.subject.role == role)
            .and_then(Measured::instr_per_req)
    };
    let mine = m.instr_per_req();
    let ratio = |base: Option<f64>| Some(mine? / base.filter(|b| *b > 0.0)?);
    (ratio(of(Role::Tokio)), ratio(of(Role::Floor)))
}

/// The table, the syscall breakdown and the top functions, as printed.
fn table(header: &str, results: &[Measured], tools: &Tools) -> String {
    let mut out = format!("{header}\n\n");
    let mut rows = vec![
        [
            "row",
            "server",
            "instr/req",
            "×tokio",
            "×mio",
            "syscalls/req",
            "of which",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let fmt = |v: Option<f64>, decimals: usize| {
        v.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
    };
    let mut last_row = None;
    for m in results {
        let (vs_tokio, vs_mio) = ratios(m, results);
        let instr = match &m.counted {
            Ok(_) => fmt(m.instr_per_req(), 0),
            Err(_) if !tools.callgrind => "-".into(),
            Err(_) => "failed".into(),
        };
        let syscalls = match &m.traced {
            Ok(_) => fmt(m.syscalls_per_req(), 2),
            Err(_) if !tools.strace => "-".into(),
            Err(_) => "failed".into(),
        };
        let breakdown = m.traced.as_ref().map_or_else(
            |_| String::new(),
            |t| {
                let mut by: Vec<(&String, &u64)> = t.calls.iter().collect();
                by.sort_by_key(|&(_, n)| std::cmp::Reverse(*n));
                by.iter()
                    .take(3)
                    .map(|(name, n)| format!("{name} {:.2}", **n as f64 / t.requests.max(1) as f64))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        let title = if last_row == Some(m.subject.row) {
            String::new()
        } else {
            m.subject.row.title().to_string()
        };
        last_row = Some(m.subject.row);
        rows.push(vec![
            title,
            m.subject.name.to_string(),
            instr,
            fmt(vs_tokio, 2),
            if m.subject.row == Row::Echo {
                fmt(vs_mio, 2)
            } else {
                String::new()
            },
            syscalls,
            breakdown,
        ]);
    }
    out.push_str(&format_table(&rows, 2));
    out.push_str(
        "\ninstr/req: user-space instructions (callgrind Ir, all threads) ÷ requests in the \
         measured window; ×tokio, ×mio: ÷ the same figure of tokio's server in that row, of \
         the mio loop. syscalls/req: strace -c -f, attached for the measured window only, in \
         a run without valgrind (strace slows each call, so epoll_wait batches more events \
         than untraced: its share is a lower bound); `of which`: the three commonest.\n",
    );
    out.push_str("\ntop self cost, instructions per request (share of the server's total):\n");
    for m in results {
        let line = match &m.counted {
            Ok(c) if c.requests > 0 => c
                .top
                .iter()
                .map(|(name, ir)| {
                    format!(
                        "{} {:.0} ({:.0}%)",
                        short(name),
                        *ir as f64 / c.requests as f64,
                        100.0 * *ir as f64 / c.instructions.max(1) as f64
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Ok(_) => "no requests measured".into(),
            Err(e) => e.clone(),
        };
        out.push_str(&format!("  {}: {line}\n", m.subject.name));
    }
    out
}

/// `target/versus/instructions.json`.
fn to_json(
    header: &str,
    results: &[Measured],
    warmup: u64,
    measured: u64,
    elapsed: Duration,
) -> Value {
    let servers: Vec<Value> = results
        .iter()
        .map(|m| {
            let (vs_tokio, vs_mio) = ratios(m, results);
            let counted = match &m.counted {
                Ok(c) => json!({
                    "requests": c.requests,
                    "instructions": c.instructions,
                    "top_self": c.top.iter().map(|(name, ir)| json!({
                        "function": name,
                        "instructions": ir,
                        "per_req": *ir as f64 / c.requests.max(1) as f64,
                    })).collect::<Vec<_>>(),
                }),
                Err(e) => json!({ "error": e }),
            };
            let traced = match &m.traced {
                Ok(t) => json!({
                    "requests": t.requests,
                    "calls": t.calls,
                    "total": t.total(),
                }),
                Err(e) => json!({ "error": e }),
            };
            json!({
                "row": m.subject.row.key(),
                "server": m.subject.name,
                "role": format!("{:?}", m.subject.role).to_lowercase(),
                "instr_per_req": m.instr_per_req(),
                "vs_tokio": vs_tokio,
                "vs_mio": if m.subject.row == Row::Echo { vs_mio } else { None },
                "syscalls_per_req": m.syscalls_per_req(),
                "callgrind": counted,
                "strace": traced,
            })
        })
        .collect();
    json!({
        "header": header,
        "date": utc_now(),
        "machine": machine(),
        "load": {
            "connections": CONNS,
            "echo_bytes": MSG_SIZE,
            "http_request": String::from_utf8_lossy(crate::client::HTTP_REQUEST),
            "warmup_round_trips_per_connection": warmup,
            "measured_round_trips_per_connection": measured,
        },
        "secs": elapsed.as_secs_f64(),
        "servers": servers,
    })
}
