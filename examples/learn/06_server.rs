//! Step 6 of a runtime built up step by step: the echo server of step 4 on the full
//! runtime. The loop you wrote there is `tempo::run`'s; the sockets you registered by hand
//! are `tempo::net`'s; and the server now bounds what a client can make it hold.
//!
//! ```text
//! cargo run --example 06_server                             # listens on 127.0.0.1:7006
//! cargo run --example 06_server -- --addr 127.0.0.1:0 --max-conns 2 --idle-secs 5
//! nc 127.0.0.1 7006                                         # in two terminals; type lines
//! ```
//!
//! Stop it with Ctrl-C: it prints what its loop did, counted by the real worker.
//!
//! Reference seed 003 ("Asyncio") serves many clients on one thread:
//!
//! ```text
//! Now there's only one thread, but the server has the capabilities to handle multiple
//! clients concurrently. [...] The event loop manages the execution of coroutines,
//! scheduling them and switching between them at await points.
//! ```
//!
//! What changed since step 4, line by line:
//!
//! - `Reactor::new`, `OwnedExecutor::new`, the two `enter`s and our `block_on` are
//!   `tempo::Builder::new().build()?.block_on(..)` — `tempo::run(..)` is that, with
//!   diagnostics left off; we switch them on to print the worker's counters at the end;
//! - `Registered<mio::net::TcpListener>` and our `poll_fn(.. poll_io ..)` are
//!   `tempo::net::TcpListener` and its `accept().await`; the stream's `read`, `write_all`
//!   likewise;
//! - `tempo_executor::spawn_local` is `tempo::spawn`.
//!
//! And what a server on a network needs that step 4 did not have:
//!
//! - a **connection cap** (`--max-conns`, default 100): over it, a connection is accepted,
//!   told `busy`, and closed;
//! - a **fixed buffer** per connection (1 KiB): a client that sends faster than it reads is
//!   slowed down by TCP, not buffered by us;
//! - an **idle timeout** (`--idle-secs`, default 60) on every read and write
//!   (`tempo::time::timeout`, asyncio's `wait_for`): a silent client is cut off.
//!
//! Ctrl-C (`tempo::signal::ctrl_c`, raced against `accept` in a `tempo::select!`) ends
//! the accept loop; connections still open are dropped with the runtime. A graceful
//! shutdown that lets them finish is in `examples/echo.rs`.
//!
//! What it prints, run with `--max-conns 1 --idle-secs 1`, for a client that sends a line
//! and falls silent, a second one over the cap, then Ctrl-C (measured):
//!
//! ```text
//! listening on 127.0.0.1:35389
//! conn 1 from 127.0.0.1:32858: open (1 of at most 1)
//! conn from 127.0.0.1:32868: refused, 1 open is the cap
//! conn 1: idle for 1s: cut off after echoing 6 bytes in 1001.1 ms
//! Ctrl-C: stopping after 1 connections (1 refused, 1 timed out)
//! the loop, as the worker counted it:
//! worker 0:
//!   loop turns 8, in epoll_wait 2.564s, io events 5, timers fired 1, long turns 0, run queue 0
//!   tasks: 0 live, 1 spawned, 4 polls, 3 wakes, 1 completed, 0 panicked, 0 cancelled, 0 slow polls
//!   timer lateness: 1 timers late by p50 ≤ 868 µs, p99 ≤ 868 µs, max 868 µs
//! blocking pool: ...
//! ```
//!
//! The loop turns and the time in `epoll_wait` are step 5 of `04_loop`, counted by tempo's
//! worker (`runtime/src/worker.rs`); the polls are its step 2.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempo::net::{TcpListener, TcpStream};
use tempo::time::timeout;

/// Bytes read per `read` call: everything one connection holds in user space.
const BUF_SIZE: usize = 1024;

const USAGE: &str = "usage: 06_server [--addr ADDR] [--max-conns N] [--idle-secs S]";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("06_server: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // `tempo::run(serve(args))`, with the worker's counters switched on.
    let runtime = match tempo::Builder::new().diagnostics(true).build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("06_server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("06_server: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("the loop, as the worker counted it:");
    print!("{}", runtime.handle().stats_report().unwrap_or_default());
    ExitCode::SUCCESS
}

/// Tallies the accept loop keeps, shared with the connection tasks.
#[derive(Default)]
struct Tally {
    /// Connections open now.
    open: AtomicUsize,
    /// Connections served since the start.
    served: AtomicUsize,
    /// Connections turned away over the cap.
    refused: AtomicUsize,
    /// Connections cut off by the idle timeout.
    timed_out: AtomicUsize,
}

/// Accepts until Ctrl-C, a task per connection.
async fn serve(args: Args) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr).await?;
    // The line the tests (and you) wait for: from here on, connections are accepted.
    println!("listening on {}", listener.local_addr()?);
    let tally = Arc::new(Tally::default());
    let mut ctrl_c = std::pin::pin!(tempo::signal::ctrl_c());
    loop {
        let accepted = tempo::select! {
            // `biased`: Ctrl-C wins a tie, so once asked to stop we accept no more.
            biased;
            stop = &mut ctrl_c => {
                stop?;
                break;
            }
            accepted = listener.accept() => accepted,
        };
        let (mut stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // Out of descriptors, a connection reset while queued, ...: this connection is
            // lost, the listener is fine. (echo.rs also backs off on EMFILE, which would
            // otherwise fail at once, again and again.)
            Err(e) => {
                eprintln!("06_server: accept failed: {e}");
                continue;
            }
        };
        // Check and count in one step; only this loop increments, so no race lets two
        // connections take the last place.
        let open = tally.open.load(Ordering::Acquire);
        if open >= args.max_conns {
            tally.refused.fetch_add(1, Ordering::AcqRel);
            println!("conn from {peer}: refused, {open} open is the cap");
            // Best effort, bounded: a client that does not read must not hold us up.
            let _ = timeout(Duration::from_secs(1), stream.write_all(b"busy\n")).await;
            continue; // dropping the stream closes it
        }
        tally.open.fetch_add(1, Ordering::AcqRel);
        let n = tally.served.fetch_add(1, Ordering::AcqRel) + 1;
        println!(
            "conn {n} from {peer}: open ({} of at most {})",
            open + 1,
            args.max_conns
        );
        let tally = tally.clone();
        // Detached: the task ends on its own (end of stream, error, idle timeout), and
        // dropping the runtime cancels it if it has not.
        drop(tempo::spawn(async move {
            let started = Instant::now();
            let (echoed, ending) = echo(&mut stream, args.idle).await;
            let ending = match ending {
                Ending::Closed => "closed by the client".to_string(),
                Ending::Idle => {
                    tally.timed_out.fetch_add(1, Ordering::AcqRel);
                    format!("idle for {:?}: cut off", args.idle)
                }
                Ending::Failed(e) => format!("failed: {e}"),
            };
            println!(
                "conn {n}: {ending} after echoing {echoed} bytes in {:.1} ms",
                started.elapsed().as_secs_f64() * 1e3
            );
            tally.open.fetch_sub(1, Ordering::AcqRel);
        }));
    }
    println!(
        "Ctrl-C: stopping after {} connections ({} refused, {} timed out)",
        tally.served.load(Ordering::Acquire),
        tally.refused.load(Ordering::Acquire),
        tally.timed_out.load(Ordering::Acquire)
    );
    Ok(())
}

/// How a connection ended.
enum Ending {
    /// The client closed its side.
    Closed,
    /// Nothing moved for the idle timeout.
    Idle,
    /// A read or write failed (a reset, say).
    Failed(io::Error),
}

/// Echoes until the client closes, fails or falls silent. Returns the bytes echoed.
async fn echo(stream: &mut TcpStream, idle: Duration) -> (usize, Ending) {
    let mut buf = [0u8; BUF_SIZE];
    let mut echoed = 0;
    loop {
        let n = match timeout(idle, stream.read(&mut buf)).await {
            Err(_elapsed) => return (echoed, Ending::Idle),
            Ok(Err(e)) => return (echoed, Ending::Failed(e)),
            Ok(Ok(0)) => return (echoed, Ending::Closed),
            Ok(Ok(n)) => n,
        };
        match timeout(idle, stream.write_all(&buf[..n])).await {
            Err(_elapsed) => return (echoed, Ending::Idle),
            Ok(Err(e)) => return (echoed, Ending::Failed(e)),
            Ok(Ok(())) => echoed += n,
        }
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
            addr: SocketAddr::from(([127, 0, 0, 1], 7006)),
            max_conns: 100,
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
