//! `http_hello` again, with hyper doing the HTTP: the same "Hello, World!" server, where this
//! file writes no parser, no framing and no keep-alive loop, because hyper — the HTTP library
//! under most of Rust's web servers — does all of that, on tempo (`tempo::hyper`).
//!
//! Run it, then try it:
//!
//! ```text
//! cargo run --release --example hyper_hello                # listens on 127.0.0.1:8080
//! cargo run --release --example hyper_hello -- --addr 127.0.0.1:0 --workers 2 --header-secs 5
//! curl -i http://127.0.0.1:8080/                           # 200, Hello, World!
//! curl -i http://127.0.0.1:8080/nope                       # 404
//! curl -i -X POST http://127.0.0.1:8080/                   # 405
//! nc 127.0.0.1 8080                                        # type nothing: closed after 10 s
//! wrk -t1 -c50 -d5s http://127.0.0.1:8080/                 # the benchmark
//! ```
//!
//! (No `--features hyper` is needed: the examples, tests and benches are built with
//! tempo-runtime's `hyper` feature on, through the root `Cargo.toml`'s dev-dependencies. A
//! program of your own writes `tempo = { ..., features = ["hyper"] }`.)
//!
//! Ctrl-C (or `kill PID`) stops it gracefully, as `http_hello` does: the listener closes,
//! each connection finishes the request it is serving and closes (hyper's
//! `graceful_shutdown`; an idle keep-alive connection closes at once), and after at most
//! `--grace-secs` (default 5) the server exits 0.
//!
//! What hyper asks of a runtime, and where it gets it here:
//!
//! - **bytes**: each connection's `TcpStream`, wrapped in `tempo::hyper::TempoIo`, which
//!   speaks hyper's `rt::Read`/`rt::Write`;
//! - **time**: `tempo::hyper::TempoTimer`, so that `header_read_timeout` works — hyper has
//!   no clock of its own, and panics at the first connection if given a timeout without a
//!   timer;
//! - **tasks**: none for HTTP/1 — the connection is one future, which we spawn ourselves.
//!
//! In asyncio terms: this is `asyncio.start_server` with a protocol someone else wrote,
//! as aiohttp's server is; `service_fn(hello)` is the request handler.
//!
//! The bounds, as every server here has them:
//!
//! - at most `--max-conns` (default 10 000) connections at once (the skeleton's cap, in
//!   `common/server.rs`);
//! - a client must send a whole request head within `--header-secs` (default 10) of the
//!   connection's start or of the previous answer, or hyper closes the connection — this is
//!   also the idle timeout between keep-alive requests;
//! - a request head is at most `MAX_BUF` (16 KiB, hyper's read buffer), or hyper answers
//!   431 and closes;
//! - a body is not read: hyper closes a connection whose request body the service left
//!   unread, rather than reading an unbounded one for us.
//!
//! The accept loop, the cap, the shutdown and the sharding over `--workers` are the
//! skeleton every example server shares, `common/server.rs`; this file is the HTTP.

#[path = "common/server.rs"]
mod server;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use tempo::hyper::{TempoIo, TempoTimer};
use tempo::net::{TcpListener, TcpStream};
use tempo::sync::Event;
use tempo::task::JoinSet;

use server::StopSignals;

/// Where we listen unless `--addr` says otherwise: loopback, so nothing outside this machine
/// can reach the example.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 10_000;
/// How long a client may take to send a request head (and may idle between requests).
const DEFAULT_HEADER: Duration = Duration::from_secs(10);
/// How long open connections get to finish once the server is asked to stop.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// hyper's read buffer, and so the largest request head: hyper's smallest allowed.
const MAX_BUF: usize = 16 * 1024;

fn main() -> ExitCode {
    let args = match server::parse_args("hyper_hello", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    let runtime = match tempo::Builder::new().workers(args.workers).build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hyper_hello: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper_hello: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The skeleton's server (`common/server.rs`), on every worker: listen, accept under the
/// cap, and on a stop signal tell the connections, then drain them.
async fn serve(args: Args) -> io::Result<()> {
    let config = server::Config {
        name: "hyper_hello",
        max_conns: args.max_conns,
        grace: args.grace,
    };
    let header = args.header;
    server::serve_sharded(&args.addr, config, move |listener, config, stop| {
        serve_on(listener, config, stop, header)
    })
    .await
}

/// One worker's server: as `http_hello`'s, the skeleton's accept loop and drain, with one
/// step between them — telling this worker's connections that the server is stopping.
async fn serve_on(
    listener: TcpListener,
    config: server::Config,
    mut stop: StopSignals,
    header: Duration,
) {
    let stopping = Arc::new(Event::new());
    let mut conns = JoinSet::new();
    let signal = server::accept_until(
        &listener,
        config,
        &mut conns,
        stop.recv(),
        |stream, peer| tempo::spawn(connection(stream, peer, header, Arc::clone(&stopping))),
    )
    .await;
    drop(listener);
    stopping.set();
    server::drain(conns, config, signal, &mut stop).await;
}

/// The task of one connection: hand it to hyper, and when the server stops, ask hyper to
/// finish the request in hand and close.
async fn connection(stream: TcpStream, peer: SocketAddr, header: Duration, stopping: Arc<Event>) {
    // Answers should leave at once, not wait for Nagle's algorithm. Only a latency hint.
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("hyper_hello: set_nodelay: {e} (continuing)");
    }
    let mut builder = http1::Builder::new();
    builder
        .timer(TempoTimer::new())
        .header_read_timeout(header)
        .max_buf_size(MAX_BUF);
    let mut conn = pin!(builder.serve_connection(TempoIo::new(stream), service_fn(hello)));
    // Serve until the connection ends, or the server stops first.
    let ended = tempo::select! {
        biased;
        result = conn.as_mut() => Some(result),
        () = stopping.wait() => None,
    };
    let result = match ended {
        Some(result) => result,
        // Stopping: hyper answers a request already arriving (with `Connection: close`),
        // and closes an idle connection at once.
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    match result {
        Ok(()) => {}
        // Routine endings, not errors of ours: a keep-alive client that went quiet past the
        // header timeout, or one that hung up mid-request or with answers unread.
        Err(e) if e.is_timeout() || e.is_incomplete_message() || is_hang_up(&e) => {}
        Err(e) => eprintln!("hyper_hello: {peer}: {e}"),
    }
}

/// True if hyper's error is an I/O error saying the client hung up (reset, broken pipe).
fn is_hang_up(e: &hyper::Error) -> bool {
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<io::Error>());
    io.is_some_and(|io| {
        matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        )
    })
}

/// The service: one request in, one response out. hyper adds `Date` and `Content-Length`.
async fn hello(request: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(answer(request.method(), request.uri().path()))
}

/// The answer to `method path`: routed as `http_hello` routes, less its `OPTIONS`.
fn answer(method: &Method, path: &str) -> Response<String> {
    let (status, body) = match (path, method) {
        ("/" | "/plaintext", &Method::GET | &Method::HEAD) => (StatusCode::OK, "Hello, World!"),
        ("/" | "/plaintext", _) => (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n"),
        _ => (StatusCode::NOT_FOUND, "Not Found\n"),
    };
    let mut response = Response::new(body.to_string());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("tempo+hyper"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}

// ---------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------

const USAGE: &str = "usage: hyper_hello [--addr HOST:PORT] [--workers N] [--max-conns N] \
                     [--header-secs SECS] [--grace-secs SECS]";

/// The command line, parsed by hand as the other examples do.
#[derive(Debug)]
struct Args {
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// Workers (event loops, one thread each).
    workers: usize,
    /// Most connections served at once.
    max_conns: usize,
    /// How long a client may take to send a request head.
    header: Duration,
    /// How long open connections get to finish after a stop signal.
    grace: Duration,
}

impl Args {
    /// Parses the flags in `USAGE`, each followed by its value. An empty error means
    /// `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: DEFAULT_ADDR.to_string(),
            workers: 1,
            max_conns: DEFAULT_MAX_CONNS,
            header: DEFAULT_HEADER,
            grace: DEFAULT_GRACE,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => args.addr = server::parse_addr(value()?)?,
                "--workers" => {
                    let text = value()?;
                    args.workers = match text.parse() {
                        Ok(n) if n >= 1 => n,
                        _ => return Err(format!("--workers {text}: expected a number >= 1")),
                    };
                }
                "--max-conns" => {
                    args.max_conns = value()?.parse().map_err(|e| format!("--max-conns: {e}"))?;
                }
                "--header-secs" => {
                    args.header = server::parse_secs("--header-secs", &value()?)?;
                }
                "--grace-secs" => args.grace = server::parse_secs("--grace-secs", &value()?)?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

// `cargo test --example hyper_hello`: the routes and the flags; `tests/hyper.rs` runs the
// program itself.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        for (method, path, status) in [
            (Method::GET, "/", 200),
            (Method::HEAD, "/plaintext", 200),
            (Method::POST, "/", 405),
            (Method::GET, "/nope", 404),
            (Method::DELETE, "/nope", 404),
        ] {
            let response = answer(&method, path);
            assert_eq!(response.status(), status, "{method} {path}");
        }
        assert_eq!(answer(&Method::GET, "/").body(), "Hello, World!");
        assert_eq!(answer(&Method::PUT, "/").headers()[ALLOW], "GET, HEAD");
    }

    #[test]
    fn command_line() {
        let parse = |args: &[&str]| Args::parse(args.iter().map(|s| s.to_string()));
        let args = parse(&[]).expect("defaults");
        assert_eq!((args.addr.as_str(), args.workers), (DEFAULT_ADDR, 1));
        assert_eq!(args.header, DEFAULT_HEADER);
        let args = parse(&["--header-secs", "0.5", "--max-conns", "3"]).expect("valid");
        assert_eq!(
            (args.header, args.max_conns),
            (Duration::from_millis(500), 3)
        );
        for bad in [
            &["--workers", "0"][..],
            &["--header-secs", "0"],
            &["--max-conns", "many"],
            &["--addr", "localhost"],
            &["--bogus"],
        ] {
            assert!(parse(bad).is_err_and(|e| !e.is_empty()), "{bad:?}");
        }
        assert!(parse(&["--help"]).is_err_and(|e| e.is_empty()));
    }
}
