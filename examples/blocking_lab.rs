//! The blocking lab: a server whose handler makes the cardinal mistake — it calls
//! `std::thread::sleep` on the event loop — and the tools that catch it.
//!
//! Run it, and talk to it from two terminals at once:
//!
//! ```text
//! TEMPO_DEBUG=1 cargo run --example blocking_lab            # listens on 127.0.0.1:7002
//! nc 127.0.0.1 7002        # terminal 2: type PING (answered PONG at once), keep it open
//! nc 127.0.0.1 7002        # terminal 3: type `make me a report`; it answers `working`
//!                          #             and, two seconds later, `done in 2.00 s`
//! ```
//!
//! While terminal 3's request is being worked on, type `PING` in terminal 2: no `PONG`
//! comes until the work is done, though this connection asked for nothing slow. The
//! handler's `std::thread::sleep(2 s)` — standing for a synchronous database driver, a
//! `requests.get`, a CPU-heavy loop — runs *inside a poll*, on the loop's only thread, so
//! every other connection, timer and signal waits for it. (A runtime with several workers,
//! `Builder::workers`, limits the damage to the tasks of the worker it runs on — still
//! every connection that worker owns.) The server's terminal shows what `TEMPO_DEBUG=1`
//! (asyncio's debug mode, `slow_callback_duration = 0.1`) reports:
//!
//! ```text
//! [WARN  tempo_runtime::diagnostics::service] tempo watchdog: worker 0 is blocked now: task
//!   1.1 "handler 127.0.0.1:44308" (examples/blocking_lab.rs:227:10) has been running for
//!   100.4ms in its poll #2, and no other task, socket or timer on that worker can make ...
//! [WARN  tempo_executor::diag] tempo: slow poll: task 1.1 "handler 127.0.0.1:44308"
//!   (examples/blocking_lab.rs:227:10) ran for 2.0003s in its poll #2 on worker 0, blocking
//!   every other task on that worker; move blocking work to spawn_blocking
//! [WARN  tempo_runtime::worker] tempo: long loop turn on worker 0: 2.0004s running 1 task
//!   polls, after a reactor turn that delivered 1 I/O events and fired 0 timers; ...
//! ```
//!
//! The first comes from a watchdog thread *while* the loop is stuck (asyncio only tells you
//! once the callback has returned); the second when the poll ends, like asyncio's
//! "Executing <Task ...> took 2.002 seconds"; the third counts the whole loop turn. They
//! name the task because `spawn_handler` spawns each connection's handler with
//! `tempo::task::Builder::name` — `create_task(coro, name=...)` — and give the line that
//! spawned it.
//!
//! And `kill -USR1 PID` from a fourth terminal prints a task dump to the server's stderr,
//! as `py-spy dump` does for a Python process. It is printed by the runtime's diagnostics
//! thread, so it comes even while the loop is stuck: the slow handler shows up as
//! `running`, and the PING connection's handler as `idle`, waiting to read its socket:
//!
//! ```text
//! ID   WKR STATE    POLLS    BUSY    AGE  TASK                           WAITING ON
//! 0.0    0 idle         2  229.5µs  3.51s  "handler 127.0.0.1:57682" (…)  read on socket #3, timer
//! 1.1    0 running      2    4.7µs  1.27s  "handler 127.0.0.1:57686" (…)  -
//! 2 live tasks, 0 recently finished
//! ```
//!
//! Then stop it (Ctrl-C), start it again with `--fixed`, and repeat: `PING` is answered at
//! once while the report is being made, and the warnings are gone. The fix is one `match`
//! arm in `handle`: the handler hands the sleep to `tempo::task::spawn_blocking` —
//! asyncio's `await asyncio.to_thread(...)` or `loop.run_in_executor(None, ...)` — and
//! *awaits* it, so the loop serves everyone else meanwhile. (The asyncio lab replaces
//! `time.sleep` with `asyncio.sleep`; that is right for a sleep, but our sleep stands for a
//! blocking call with no async version, and for those the thread pool is the tool.)
//!
//! `--demo` runs the experiment for you and measures it: it starts the server in this
//! process, connects a client that PINGs once (so its handler is up and waiting), sends a
//! slow request from a second client and, as soon as the server says `working`, times one
//! PING from the first client. It prints, and exits:
//!
//! ```text
//! $ cargo run --example blocking_lab -- --demo
//! listening on 127.0.0.1:40163
//! blocking: the slow request took 2.00 s
//! blocking: a concurrent PING took 2.00 s
//! $ cargo run --example blocking_lab -- --demo --fixed
//! listening on 127.0.0.1:40165
//! fixed: the slow request took 2.00 s
//! fixed: a concurrent PING took 0.12 ms
//! ```
//!
//! `--work-ms N` changes the length of the work (default 2000). The protocol, one reply per
//! line: `PING` → `PONG`; any other line is a request → `working`, then `done in T`. A line
//! longer than 1 KiB (its ending included) is answered `error: line too long`, and the
//! connection closed. Like the `echo` example, the server closes idle connections
//! (`--idle-secs`); like every example server it caps its connections (`--max-conns`), and
//! on SIGINT or SIGTERM stops accepting, lets open connections finish for up to
//! `--grace-secs`, and exits 0 — the skeleton in `common/server.rs`, which explains them.
//! Note that in blocking mode even Ctrl-C waits for the sleep: the signal is a byte on a
//! pipe that the loop reads only when it gets to run.
//!
//! The warnings go through the `log` facade, so a program must install a logger to see
//! them; this one installs `env_logger` at level `warn` (`RUST_LOG=off` silences it).

#[path = "common/server.rs"]
mod server;

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tempo::net::{TcpListener, TcpStream};
use tempo::task::{JoinHandle, JoinSet};
use tempo::time::timeout;

/// Loopback, so nothing outside this machine can reach the example.
const DEFAULT_ADDR: &str = "127.0.0.1:7002";
/// Where `--demo` listens: any free loopback port.
const DEMO_ADDR: &str = "127.0.0.1:0";
/// How long the handler "works" on a request, as the lab's `time.sleep(2)`.
const DEFAULT_WORK: Duration = Duration::from_secs(2);
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 1_000;
/// How long a connection may sit without sending a line or taking our reply.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// How long open connections get to finish once the server is asked to stop: longer than
/// the default work, so a request under way when Ctrl-C comes is still answered.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The longest line we take, its `\n` (or `\r\n`) included.
const LINE_BUF: usize = 1024;
/// How long the demo's clients wait for any one reply, beyond the work itself.
const DEMO_IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the handler does its work: the lesson's two answers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// On the loop, inside the handler's poll: the mistake.
    Blocking,
    /// On the blocking pool, awaited: the fix (`--fixed`).
    Fixed,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Blocking => "blocking",
            Mode::Fixed => "fixed",
        })
    }
}

fn main() -> ExitCode {
    let args = match server::parse_args("blocking_lab", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    // The runtime reports slow polls through the `log` facade, which prints nothing until
    // a program installs a logger. `RUST_LOG` overrides the default level.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();

    // `dump_on_sigusr1`: `kill -USR1 PID` prints a task dump to stderr. `TEMPO_DEBUG=1` in
    // the environment adds the slow-poll warnings and the watchdog, without recompiling;
    // `Builder::slow_poll_threshold` would switch them on in code.
    let runtime = match tempo::Builder::new().dump_on_sigusr1(true).build() {
        Ok(runtime) => runtime,
        // Out of file descriptors, or the diagnostics thread could not start.
        Err(e) => {
            eprintln!("blocking_lab: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if args.demo {
        runtime.block_on(demo(&args))
    } else {
        runtime.block_on(serve(&args))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blocking_lab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The server proper: binds, serves until SIGINT or SIGTERM, then shuts down gracefully —
/// the skeleton of `common/server.rs`, with a `spawn_handler` task per connection.
async fn serve(args: &Args) -> io::Result<()> {
    let addr = args.addr.as_deref().unwrap_or(DEFAULT_ADDR);
    let (listener, stop) = server::listen(addr).await?;
    server::serve(listener, args.server(), stop, |stream, peer| {
        spawn_handler(stream, peer, args)
    })
    .await;
    Ok(())
}

/// `--demo`: the same server, in this process, measured by two clients; prints what a
/// concurrent client saw, then stops.
async fn demo(args: &Args) -> io::Result<()> {
    // Any free port unless `--addr` says otherwise: the demo talks only to itself.
    let listener = TcpListener::bind(args.addr.as_deref().unwrap_or(DEMO_ADDR)).await?;
    let addr = listener.local_addr()?;
    server::announce(addr)?;

    // The clients are ordinary blocking code (std sockets), standing for other programs. On
    // the loop they would block it themselves, so they run where blocking code belongs: on
    // the blocking pool. The accept loop serves them until they are done: they, not a
    // signal, are its stop.
    let work = args.work;
    let clients = tempo::task::spawn_blocking(move || measure(addr, work));
    let mut conns = JoinSet::new();
    let measured = server::accept_until(
        &listener,
        args.server(),
        &mut conns,
        clients,
        |stream, peer| spawn_handler(stream, peer, args),
    )
    .await;
    // Cancels the handlers still open (the demo's clients have closed theirs by now).
    conns.shutdown().await;
    // A JoinError (the clients panicked) becomes an io::Error; then the clients' own.
    let measured = measured.map_err(io::Error::from)??;

    let mode = args.mode;
    println!(
        "{mode}: the slow request took {}",
        human(measured.slow_request)
    );
    println!("{mode}: a concurrent PING took {}", human(measured.ping));
    Ok(())
}

/// Spawns the task of one accepted connection: `create_task(connection(...),
/// name=...)`. A named task: the slow-poll warning, the watchdog and the task dump show
/// this name, and the line below as where it was spawned, instead of an anonymous task id.
fn spawn_handler(stream: TcpStream, peer: SocketAddr, args: &Args) -> JoinHandle<()> {
    tempo::task::Builder::new()
        .name(&format!("handler {peer}"))
        .spawn(connection(stream, peer, args.mode, args.work, args.idle))
}

/// The task of one connection: serve it, then say how it ended.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    mode: Mode,
    work: Duration,
    idle: Duration,
) {
    match handle(stream, mode, work, idle).await {
        Ok(Ending::PeerClosed) => {}
        Ok(Ending::Idle) => eprintln!("blocking_lab: {peer}: idle for {idle:?}, closed"),
        Ok(Ending::TooLong) => eprintln!("blocking_lab: {peer}: line too long, closed"),
        // The peer vanished without a FIN (crashed, or closed with unread data).
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            eprintln!("blocking_lab: {peer}: reset by peer");
        }
        // Broken pipe (we wrote after the peer closed), or the work itself failed (see
        // `handle`): this connection is done, and only it.
        Err(e) => eprintln!("blocking_lab: {peer}: {e}"),
    }
}

/// How a connection ended when no I/O error ended it.
enum Ending {
    /// The client closed its side.
    PeerClosed,
    /// No line came, or our reply was not taken, within the idle timeout.
    Idle,
    /// The client sent a line longer than `LINE_BUF`; we answered that and closed.
    TooLong,
}

/// Answers each line of one connection: `PING` at once, anything else after the work.
async fn handle(
    mut stream: TcpStream,
    mode: Mode,
    work: Duration,
    idle: Duration,
) -> io::Result<Ending> {
    // Replies are a few bytes each and must not wait for Nagle's algorithm; only a latency
    // hint, so a failure is not worth the connection.
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("blocking_lab: set_nodelay: {e} (continuing)");
    }
    let mut lines = LineReader::new();
    loop {
        let line = match lines.next_line(&mut stream, idle).await? {
            Next::Line(line) => line,
            Next::Eof => return Ok(Ending::PeerClosed),
            Next::Idle => return Ok(Ending::Idle),
            Next::TooLong => {
                // Shortcut, labelled: closing with the rest of the long line unread makes
                // the kernel send a reset, which may destroy this reply before the client
                // reads it. The `hex` example's `linger_close` shows the careful close.
                send(&mut stream, b"error: line too long\n", idle).await?;
                return Ok(Ending::TooLong);
            }
        };
        if line == "PING" {
            if !send(&mut stream, b"PONG\n", idle).await? {
                return Ok(Ending::Idle);
            }
            continue;
        }
        // Tell the client we started: the demo times its PING from this line.
        if !send(&mut stream, b"working\n", idle).await? {
            return Ok(Ending::Idle);
        }
        let took = match mode {
            // THE MISTAKE. `do_work` blocks this thread — the loop's only one — for the
            // whole `work`, inside this task's poll: the `time.sleep(2)` in a coroutine.
            Mode::Blocking => do_work(work),
            // The fix: the work runs on a pool thread, and this task *awaits* it, handing
            // the loop to every other task meanwhile — `await asyncio.to_thread(...)`.
            Mode::Fixed => match tempo::task::spawn_blocking(move || do_work(work)).await {
                Ok(took) => took,
                // The closure panicked, or the runtime is shutting down and cancelled the
                // job before it started. Either way this request has no answer; end the
                // connection with the reason (it becomes an io::Error, reported above).
                Err(e) => return Err(io::Error::from(e)),
            },
        };
        if !send(
            &mut stream,
            format!("done in {}\n", human(took)).as_bytes(),
            idle,
        )
        .await?
        {
            return Ok(Ending::Idle);
        }
    }
}

/// The "work": a blocking call that takes `work` to return. Returns how long it took.
fn do_work(work: Duration) -> Duration {
    let started = Instant::now();
    std::thread::sleep(work);
    started.elapsed()
}

/// Writes `bytes`, within `idle`. `Ok(false)` if the client did not take them in time (a
/// client that never reads would otherwise hold the task forever).
async fn send(stream: &mut TcpStream, bytes: &[u8], idle: Duration) -> io::Result<bool> {
    match timeout(idle, stream.write_all(bytes)).await {
        Ok(result) => result.map(|()| true),
        Err(_elapsed) => Ok(false),
    }
}

/// What `LineReader::next_line` found.
enum Next {
    /// A complete line, trimmed of its ending and surrounding whitespace.
    Line(String),
    /// The client closed its side. An unterminated last line is dropped: a request counts
    /// only once its `\n` has come.
    Eof,
    /// Nothing arrived within the idle timeout.
    Idle,
    /// The buffer is full and holds no `\n`: the line is longer than `LINE_BUF`.
    TooLong,
}

/// Splits a connection's bytes into lines in one fixed buffer, so a client cannot make us
/// hold more than `LINE_BUF` bytes however it sends them. (The `hex` example explains the
/// same idea in more detail.)
struct LineReader {
    /// `buf[..filled]` is received and not yet returned.
    buf: [u8; LINE_BUF],
    /// How much of `buf` holds data.
    filled: usize,
}

impl LineReader {
    fn new() -> LineReader {
        LineReader {
            buf: [0; LINE_BUF],
            filled: 0,
        }
    }

    /// The next line: from what is buffered if a `\n` is there, else after reading more.
    async fn next_line(&mut self, stream: &mut TcpStream, idle: Duration) -> io::Result<Next> {
        loop {
            if let Some(newline) = self.buf[..self.filled].iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&self.buf[..newline])
                    .trim()
                    .to_string();
                // Keep what came after the line (a pipelined next line) for next time.
                self.buf.copy_within(newline + 1..self.filled, 0);
                self.filled -= newline + 1;
                return Ok(Next::Line(line));
            }
            if self.filled == self.buf.len() {
                return Ok(Next::TooLong);
            }
            // `timeout` is `asyncio.wait_for`: on expiry the read is dropped (cancelled).
            let n = match timeout(idle, stream.read(&mut self.buf[self.filled..])).await {
                Ok(result) => result?,
                Err(_elapsed) => return Ok(Next::Idle),
            };
            if n == 0 {
                return Ok(Next::Eof);
            }
            self.filled += n;
        }
    }
}

/// What the demo's clients measured.
struct Measured {
    /// From sending the slow request to reading its `done` line.
    slow_request: Duration,
    /// One PING's round trip, sent while the slow request was being worked on.
    ping: Duration,
}

/// The demo's two clients, in plain blocking std code (this runs on the blocking pool).
///
/// The order of events is fixed by what the server says, not by sleeping: the pinger is
/// answered once before the slow request is sent, so its handler is already running and
/// waiting on its socket; the timed PING leaves only after the server said `working`, so it
/// overlaps the work.
fn measure(addr: SocketAddr, work: Duration) -> io::Result<Measured> {
    let mut pinger = DemoClient::connect(addr, work)?;
    pinger.expect("PING", "PONG")?;

    let mut requester = DemoClient::connect(addr, work)?;
    let sent = Instant::now();
    requester.send("make me a report")?;
    requester.expect_reply("working")?;

    let ping_sent = Instant::now();
    pinger.expect("PING", "PONG")?;
    let ping = ping_sent.elapsed();

    let done = requester.line()?;
    if !done.starts_with("done in ") {
        return Err(io::Error::other(format!(
            "expected `done in ...`, got {done:?}"
        )));
    }
    Ok(Measured {
        slow_request: sent.elapsed(),
        ping,
    })
}

/// A blocking line client for the demo, with timeouts so a stuck server fails the demo
/// instead of hanging it.
struct DemoClient {
    /// Buffered reads from the socket.
    reader: BufReader<std::net::TcpStream>,
    /// The same socket, for writes.
    writer: std::net::TcpStream,
}

impl DemoClient {
    /// Connects; every read may take the work plus `DEMO_IO_TIMEOUT`.
    fn connect(addr: SocketAddr, work: Duration) -> io::Result<DemoClient> {
        let stream = std::net::TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(work + DEMO_IO_TIMEOUT))?;
        stream.set_write_timeout(Some(DEMO_IO_TIMEOUT))?;
        Ok(DemoClient {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes())
    }

    /// The next line, without its ending; EOF is an error.
    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(line.trim_end().to_string())
    }

    fn expect_reply(&mut self, want: &str) -> io::Result<()> {
        match self.line()? {
            got if got == want => Ok(()),
            got => Err(io::Error::other(format!("expected {want:?}, got {got:?}"))),
        }
    }

    fn expect(&mut self, line: &str, want: &str) -> io::Result<()> {
        self.send(line)?;
        self.expect_reply(want)
    }
}

/// A duration for people: `2.00 s`, `312 ms`, `0.12 ms`.
fn human(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1e3 {
        format!("{:.2} s", ms / 1e3)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

const USAGE: &str = "usage: blocking_lab [--fixed] [--demo] [--work-ms N] [--addr HOST:PORT] \
                     [--max-conns N] [--idle-secs SECS] [--grace-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
    /// Address to listen on, `HOST:PORT`; `None` for the default (`DEFAULT_ADDR`, or
    /// `DEMO_ADDR` for the demo).
    addr: Option<String>,
    /// Where the work runs.
    mode: Mode,
    /// Run the measured experiment and exit, instead of serving.
    demo: bool,
    /// How long each request's work takes.
    work: Duration,
    /// Most connections served at once.
    max_conns: usize,
    /// Idle timeout for each read and write.
    idle: Duration,
    /// How long open connections get to finish after a stop signal.
    grace: Duration,
}

impl Args {
    /// What the server skeleton needs: our name and our limits.
    fn server(&self) -> server::Config {
        server::Config {
            name: "blocking_lab",
            max_conns: self.max_conns,
            grace: self.grace,
        }
    }

    /// Parses the flags in `USAGE`. An empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: None,
            mode: Mode::Blocking,
            demo: false,
            work: DEFAULT_WORK,
            max_conns: DEFAULT_MAX_CONNS,
            idle: DEFAULT_IDLE,
            grace: DEFAULT_GRACE,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => args.addr = Some(server::parse_addr(value()?)?),
                "--fixed" => args.mode = Mode::Fixed,
                "--demo" => args.demo = true,
                "--work-ms" => {
                    let ms: u64 = value()?.parse().map_err(|e| format!("--work-ms: {e}"))?;
                    args.work = Duration::from_millis(ms);
                }
                "--max-conns" => {
                    args.max_conns = value()?.parse().map_err(|e| format!("--max-conns: {e}"))?;
                }
                "--idle-secs" => args.idle = server::parse_secs("--idle-secs", &value()?)?,
                "--grace-secs" => args.grace = server::parse_secs("--grace-secs", &value()?)?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}
