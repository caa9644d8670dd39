//! The smallest honest echo server on tempo: one file, nothing shared, every line read
//! before the hardened `echo` example and its `common/server.rs` skeleton.
//!
//! ```text
//! cargo run --example echo_minimal                    # listens on 127.0.0.1:7007
//! cargo run --example echo_minimal -- --addr 127.0.0.1:0 --max-conns 2 --idle-secs 5
//! nc 127.0.0.1 7007                                   # in two terminals; type lines
//! ```
//!
//! Reference seed 003 ("Asyncio") serves every client from one thread, switching between
//! them at each `await`; in asyncio it is `asyncio.start_server(handle, host, port)` and a
//! `handle(reader, writer)` coroutine per client. Here the accept loop is ours: each
//! accepted connection becomes a task (`tempo::spawn`, asyncio's `create_task`), and the
//! task reads and writes back until the client closes.
//!
//! Small, but it bounds what a client can make it hold, as any server on a network must:
//!
//! - a **connection cap** (`--max-conns`, default 1000): over it, a new connection is
//!   accepted and closed at once — the client reads end of stream;
//! - a **fixed buffer** per connection (`BUF_SIZE`): a client that sends faster than it
//!   reads is slowed down by TCP, not buffered by us;
//! - an **idle timeout** (`--idle-secs`, default 60) on every read and write: a client that
//!   falls silent, or stops reading our replies, is cut off.
//!
//! What it prints: `listening on ADDR` once it accepts connections; failures on stderr.
//!
//! What it leaves to `examples/echo.rs`: a graceful shutdown (Ctrl-C here simply ends the
//! process, dropping every connection; echo stops accepting, lets open connections finish
//! for a grace period, then exits 0), backing off when `accept` fails for lack of file
//! descriptors (here the failure is reported and the loop retries at once), one loop per
//! core (`--workers`), and the shared skeleton its sibling servers reuse.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};
use tempo::time::timeout;

/// Bytes read per `read` call: all one connection holds in user space.
const BUF_SIZE: usize = 4096;

const USAGE: &str = "usage: echo_minimal [--addr ADDR] [--max-conns N] [--idle-secs S]";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("echo_minimal: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // `asyncio.run(main())`. `serve` returns only if binding fails.
    match tempo::run(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_minimal: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            // This connection is lost (reset while queued, out of descriptors); the
            // listener is fine, so go on.
            Err(e) => {
                eprintln!("echo_minimal: accept: {e}");
                continue;
            }
        };
        // Only this loop takes places, so checking then adding cannot overshoot the cap.
        if open.load(Ordering::Acquire) >= args.max_conns {
            continue; // dropping the stream closes it: the client reads end of stream
        }
        open.fetch_add(1, Ordering::AcqRel);
        let open = open.clone();
        // Detached: the task ends by itself (end of stream, error, idle timeout).
        drop(tempo::spawn(async move {
            let mut stream = stream;
            if let Err(e) = echo(&mut stream, args.idle).await {
                eprintln!("echo_minimal: connection: {e}");
            }
            // Give the place back. The socket closes as the task ends, in this same poll:
            // on one thread, the accept loop cannot run in between, so a client that saw
            // us close finds its place free.
            open.fetch_sub(1, Ordering::AcqRel);
        }));
    }
}

/// Echoes until the client closes (`Ok`), a read or write fails, or nothing moves for
/// `idle` (a `TimedOut` error).
async fn echo(stream: &mut TcpStream, idle: Duration) -> io::Result<()> {
    let mut buf = [0u8; BUF_SIZE];
    let idle_error = || io::Error::new(io::ErrorKind::TimedOut, "idle: cut off");
    loop {
        let n = timeout(idle, stream.read(&mut buf))
            .await
            .map_err(|_| idle_error())??;
        if n == 0 {
            return Ok(());
        }
        timeout(idle, stream.write_all(&buf[..n]))
            .await
            .map_err(|_| idle_error())??;
    }
}

/// The command line.
#[derive(Clone, Copy)]
struct Args {
    /// Where to listen.
    addr: SocketAddr,
    /// Connections served at once.
    max_conns: usize,
    /// How long a connection may sit without progress.
    idle: Duration,
}

impl Args {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            // Loopback: nothing outside this machine can reach the example.
            addr: SocketAddr::from(([127, 0, 0, 1], 7007)),
            max_conns: 1000,
            idle: Duration::from_secs(60),
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => {
                    let text = value()?;
                    args.addr = text
                        .parse()
                        .map_err(|_| format!("--addr {text}: expected IP:PORT"))?;
                }
                "--max-conns" => {
                    let text = value()?;
                    args.max_conns = match text.parse() {
                        Ok(n) if n >= 1 => n,
                        _ => return Err(format!("--max-conns {text}: expected at least 1")),
                    };
                }
                "--idle-secs" => {
                    let text = value()?;
                    args.idle = match text.parse::<f64>() {
                        Ok(s) if s > 0.0 && s <= 86_400.0 => Duration::from_secs_f64(s),
                        _ => return Err(format!("--idle-secs {text}: expected 0 < S <= 86400")),
                    };
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}
