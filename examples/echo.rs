//! A TCP echo server: every byte a client sends comes straight back.
//!
//! Run it, then try it from two or more terminals at once:
//!
//! ```text
//! cargo run --release --example echo                       # listens on 127.0.0.1:7000
//! cargo run --release --example echo -- --addr 127.0.0.1:0 --max-conns 100 --idle-secs 5
//! cargo run --release --example echo -- --workers 2       # one loop per core
//! nc 127.0.0.1 7000                                        # type lines; each comes back
//! ```
//!
//! Then stop the server with Ctrl-C (or `kill PID` from a third terminal) while an `nc` is
//! still connected: a new `nc` is refused, the open one keeps echoing until you close it or
//! `--grace-secs` (default 5) pass, and the server exits with status 0.
//!
//! This is the `asyncio.start_server` lesson of the asyncio texts (reference seed 003: the
//! blocking server that serves one client at a time, then threads, then one event loop): one
//! thread, one task per connection (`asyncio.create_task`), and every `await` hands the loop
//! to whichever connection is ready.
//!
//! A server on the open network must bound what a client can make it hold, so this one has:
//!
//! - a **connection cap** (`--max-conns`, default 10 000): over it, a new connection is
//!   accepted and closed at once. The count is the length of the `JoinSet` that holds the
//!   connection tasks. The asyncio texts cap concurrency with a `Semaphore`, which
//!   makes the surplus *wait*; a server sheds load instead, because a waiting connection
//!   still costs a file descriptor and kernel buffers.
//! - a **fixed buffer** per connection (`BUF_SIZE` bytes, inside the task itself): a client
//!   that sends faster than it reads is slowed down by TCP, not buffered by us.
//! - an **idle timeout** (`--idle-secs`, default 60) around every read and every write: the
//!   `asyncio.wait_for` of the texts. A silent client, or one that stops reading our replies,
//!   is cut off instead of pinning its task forever.
//!
//! And a server that is asked to stop must not drop its clients mid-sentence, so this one
//! has a **graceful shutdown**. On `SIGINT` (Ctrl-C) or `SIGTERM` (`kill`, systemd, the
//! "Kubernetes kills pods" of the asyncio texts, seed 001) it
//!
//! 1. closes its listening socket: new connections are refused, and any the kernel had
//!    queued but we had not yet accepted are reset;
//! 2. lets the connections already open finish — each is a task in a `tempo::task::JoinSet`
//!    (asyncio would keep a set of tasks and `asyncio.wait` on it) — for up to
//!    `--grace-secs`; a second signal cuts the wait short;
//! 3. cancels whatever is still open (dropping a task's future closes its socket: the
//!    client reads end of stream) and exits with status 0.
//!
//! The asyncio texts do this with `loop.add_signal_handler` and by catching
//! `CancelledError`; here the signals are streams (`tempo::signal`) that the accept loop
//! awaits in a `tempo::select!` alongside `accept`.
//!
//! **Many cores** (`--workers N`): tempo is thread-per-core. Each of the N workers gets its
//! own listening socket on the same port (`TcpListener::bind_sharded`, `SO_REUSEPORT` on
//! Linux), accepts its own connections and serves them itself — the whole server above runs
//! once per worker, connection cap split between them, and a stop signal reaches each.
//!
//! The default cap is above the usual soft limit of 1 024 open files (`ulimit -n`); there the
//! kernel says no first, `accept` fails with `EMFILE`, and the accept loop shows what to do
//! about it.
//!
//! The cap, the accept loop, the shutdown and the sharding are the skeleton every example
//! server shares, in `common/server.rs`, which explains each piece. This file is what is
//! echo's own: the connection's task, its buffer and idle timeout, and the flags.

#[path = "common/server.rs"]
mod server;

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tempo::net::TcpStream;
use tempo::time::timeout;

/// Where we listen unless `--addr` says otherwise: loopback, so nothing outside this machine
/// can reach the example.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 10_000;
/// How long a connection may sit without progress, in either direction.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// How long open connections get to finish once the server is asked to stop.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// Bytes read per `read` call; the whole of what one connection holds in user space.
const BUF_SIZE: usize = 4096;

fn main() -> ExitCode {
    let args = match server::parse_args("echo", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    // `tempo::run` is `asyncio.run`; the Builder is the same with a choice of workers: build
    // a runtime, drive this future to completion on the current thread, drop the runtime.
    let runtime = match tempo::Builder::new().workers(args.workers).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("echo: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the listener(s), announces them, serves until `SIGINT` or `SIGTERM`, then shuts
/// down gracefully: the skeleton of `common/server.rs`, once per worker, with echo's
/// connection task.
async fn serve(args: Args) -> io::Result<()> {
    let config = server::Config {
        name: "echo",
        max_conns: args.max_conns,
        grace: args.grace,
    };
    let idle = args.idle;
    server::serve_sharded(&args.addr, config, move |listener, config, stop| {
        server::serve(listener, config, stop, move |stream, peer| {
            // One task per connection: `asyncio.create_task(handle(reader, writer))`.
            tempo::spawn(connection(stream, peer, idle))
        })
    })
    .await
}

/// The task of one connection: echo, then report how it ended.
async fn connection(stream: TcpStream, peer: SocketAddr, idle: Duration) {
    match echo(stream, idle).await {
        // The client closed its side and we echoed everything: the normal ending.
        Ok(Ending::PeerClosed) => {}
        Ok(Ending::Idle) => eprintln!("echo: {peer}: idle for {idle:?}, closed"),
        // The peer vanished without a FIN (crashed, or closed with unread data).
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            eprintln!("echo: {peer}: reset by peer");
        }
        // Broken pipe: we wrote after the peer had closed. Anything else is unexpected on
        // loopback; either way this connection is done and only it.
        Err(e) => eprintln!("echo: {peer}: {e}"),
    }
}

/// How a connection ended when no I/O error ended it.
enum Ending {
    /// The client closed its writing side (we read EOF).
    PeerClosed,
    /// No read or write made progress within the idle timeout.
    Idle,
}

/// Echoes one connection until EOF, an error, or `idle` without progress.
async fn echo(mut stream: TcpStream, idle: Duration) -> io::Result<Ending> {
    // Small messages should leave at once rather than wait for Nagle's algorithm to batch
    // them. This is only a latency hint, so a failure to set it is not worth the connection.
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("echo: set_nodelay: {e} (continuing)");
    }
    // The one buffer this connection owns. It lives inside the task (a future's locals are
    // its state), so there is one allocation per connection, made by `spawn`.
    let mut buf = [0u8; BUF_SIZE];
    loop {
        // `timeout` is `asyncio.wait_for`: if the read is not done in time, the read future
        // is dropped (cancelled), and we get `Err(Elapsed)`.
        let n = match timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return Ok(Ending::PeerClosed),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => return Ok(Ending::Idle),
        };
        // A client that sends but never reads fills our socket's send buffer, and then this
        // write waits. Bound it too, or such a client would hold the task forever.
        match timeout(idle, stream.write_all(&buf[..n])).await {
            Ok(result) => result?,
            Err(_elapsed) => return Ok(Ending::Idle),
        }
    }
}

const USAGE: &str = "usage: echo [--addr HOST:PORT] [--workers N] [--max-conns N] [--idle-secs SECS] [--grace-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
    /// Workers (event loops, one thread each).
    workers: usize,
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// Most connections served at once.
    max_conns: usize,
    /// Idle timeout for each read and write.
    idle: Duration,
    /// How long open connections get to finish after a stop signal.
    grace: Duration,
}

impl Args {
    /// Parses `--addr`, `--max-conns`, `--idle-secs` and `--grace-secs`, each followed by
    /// its value. An empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            workers: 1,
            addr: DEFAULT_ADDR.to_string(),
            max_conns: DEFAULT_MAX_CONNS,
            idle: DEFAULT_IDLE,
            grace: DEFAULT_GRACE,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => args.addr = server::parse_addr(value()?)?,
                "--max-conns" => {
                    args.max_conns = value()?.parse().map_err(|e| format!("--max-conns: {e}"))?;
                }
                "--workers" => {
                    args.workers = value()?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--workers: expected a positive number")?;
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
