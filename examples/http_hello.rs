//! A minimal HTTP/1.1 server: the TechEmpower "plaintext" test, where every `GET /` is
//! answered `Hello, World!` and the benchmark measures how many answers a second come back.
//!
//! Run it, then try it with curl, with nc, and under load:
//!
//! ```text
//! cargo run --release --example http_hello                 # listens on 127.0.0.1:8080
//! cargo run --release --example http_hello -- --addr 127.0.0.1:0 --workers 2 --idle-secs 5
//! curl -i http://127.0.0.1:8080/                           # 200, Hello, World!
//! curl -i http://127.0.0.1:8080/nope                       # 404
//! curl -i -X POST http://127.0.0.1:8080/                   # 405
//! curl -i -X OPTIONS --request-target '*' http://127.0.0.1:8080/   # 200, Allow: ...
//! printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
//!     | nc 127.0.0.1 8080                                  # two pipelined requests
//! wrk -t1 -c50 -d5s http://127.0.0.1:8080/                 # the benchmark
//! ```
//!
//! Ctrl-C (or `kill PID`) stops it gracefully, as in `echo`: the listener closes, idle
//! keep-alive connections are closed at once, a request already arriving is answered (with
//! `Connection: close`), and after at most `--grace-secs` (default 5) the server exits 0.
//!
//! In asyncio terms this is an `asyncio.Protocol` whose `data_received` feeds a parser and
//! writes the answers, written here as one task per connection. What it teaches is
//! *framing*: TCP delivers bytes, not requests.
//!
//! - One read may hold half a request, or several. Each connection reads into one fixed
//!   buffer (`READ_BUF`, 16 KiB) and asks the parser (`http/parser.rs`) about the bytes not
//!   yet consumed: a complete request and how many bytes it took, or "partial, read more".
//!   The parser borrows the method, path and headers from that buffer, so a request costs no
//!   allocation.
//! - **Keep-alive**: after an answer the connection stays open for the next request
//!   (HTTP/1.1's default); `Connection: close`, or HTTP/1.0 without `Connection:
//!   keep-alive`, closes it after the answer.
//! - **Pipelining**: a client may send requests without waiting for answers (wrk and
//!   TechEmpower do, 16 at a time). We answer every complete request a read brought in,
//!   append all the answers to one output buffer, and send it with one `write_all`: one
//!   system call for many answers. The fast TechEmpower entries (may_minihttp, hyper with
//!   `pipeline_flush`) do the same.
//!
//! And, as every server here, it bounds what a client can make it hold:
//!
//! - a request head over 8 KiB (`parser::MAX_HEAD`) or with over 32 headers is answered
//!   431 Request Header Fields Too Large, and the connection is closed;
//! - a request that is not HTTP/1.x is answered 400 Bad Request and closed; so is an
//!   HTTP/1.1 request without a host — neither a `Host` header (RFC 9112 §3.2) nor an
//!   absolute-form target, whose authority §3.2.2 makes the host (see `Routes` below) —
//!   and one with two `Host` headers;
//! - a body is read and thrown away (this server has no use for one): a `Content-Length`
//!   body up to `MAX_BODY` (1 MiB) is skipped, so the next request on the connection is
//!   found after it; a larger one is answered 413 Content Too Large, and a
//!   `Transfer-Encoding` body (chunked), which we do not decode, 501 Not Implemented — both
//!   then close, since we cannot find where the body ends without reading it;
//! - a connection that has not completed a request for `--idle-secs` (default 30) is closed
//!   — counted from its last answer, so a client trickling a header a byte at a time is cut
//!   off too;
//! - at most `--max-conns` (default 10 000) connections at once, as in `echo`.
//!
//! Routes, by the path of the request target (RFC 9112 §3.2 names its four forms; the
//! parser tells them apart):
//!
//! - `GET` or `HEAD` of `/` or `/plaintext` is the hello; `OPTIONS` of them is 200 with
//!   `Allow: GET, HEAD, OPTIONS` and `Content-Length: 0` (RFC 9110 §9.3.7); another method
//!   there is 405 Method Not Allowed, with the same `Allow`; any other path is 404.
//! - The path may come in an absolute-form target, `GET http://host/plaintext?x HTTP/1.1`,
//!   which a server MUST accept (§3.2.2): it routes as `/plaintext`, and `http://host` as
//!   `/`. The URI's authority is then the request's host and a `Host` header is ignored, as
//!   §3.2.2 says — so such a request is served without a `Host` header. (§3.2 also says
//!   an HTTP/1.1 request lacking `Host` gets 400; we read §3.2.2 as the more specific rule,
//!   since the target already names the host.) Only `http` and `https` URIs with a host
//!   and no userinfo are accepted; any other scheme is 400.
//! - `OPTIONS *` (the asterisk form, §3.2.4) asks about the server as a whole: the same
//!   200 as `OPTIONS /`. `*` with any other method is 400.
//! - `CONNECT host:443` (the authority form, §3.2.3) asks us to open a tunnel, which only a
//!   proxy does: 501 Not Implemented, and the connection closes, since the client may
//!   already be sending the tunnel's bytes. An authority-form target with another method,
//!   or `CONNECT` with another form, is 400.
//!
//! Every answer carries `Server: tempo`, a `Date` (formatted at most once a second,
//! `http/date.rs`) and a `Content-Length`.
//!
//! **Many cores** (`--workers N`): as in `echo`, each of the N workers gets its own
//! listening socket on the same port (`TcpListener::bind_sharded`, `SO_REUSEPORT` on Linux)
//! and runs the whole server on its own — accept loop, connections, date cache, shutdown —
//! with the connection cap split between them. The output of a stop is then N
//! `stopped accepting` lines and N `stopped`, one per worker.
//!
//! The accept loop, the cap, the shutdown and the sharding are the skeleton every example
//! server shares, in `common/server.rs`, which explains each piece; this file is the HTTP.

#[path = "http/date.rs"]
mod date;
#[path = "http/parser.rs"]
mod parser;
#[path = "common/server.rs"]
mod server;

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};
use tempo::sync::Event;
use tempo::task::JoinSet;
use tempo::time::{Instant, timeout, timeout_at};

use date::DATE_LEN;
use parser::{Body, Form, ParseError, Request, Status, Version};
use server::StopSignals;

/// Where we listen unless `--addr` says otherwise: loopback, so nothing outside this machine
/// can reach the example.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 10_000;
/// How long a connection may go without completing a request.
const DEFAULT_IDLE: Duration = Duration::from_secs(30);
/// How long open connections get to finish once the server is asked to stop.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The per-connection read buffer. Twice the largest head, so that a partial head moved to
/// the front always leaves room to read the rest of it.
const READ_BUF: usize = 16 * 1024;
/// What the output buffer starts with: room for 16 pipelined answers of ~130 bytes. It
/// grows if a read brings more, and keeps its size for the connection's next batches.
const OUT_CAPACITY: usize = 16 * 160;
/// The largest `Content-Length` body we skip; larger ones are refused with 413.
const MAX_BODY: u64 = 1024 * 1024;
/// How long we read and discard when closing a connection whose client may still be
/// sending (see `linger_close`)...
const LINGER: Duration = Duration::from_secs(2);
/// ...and how many bytes at most.
const LINGER_BYTES: usize = 64 * 1024;

fn main() -> ExitCode {
    let args = match server::parse_args("http_hello", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    // `tempo::run` is `asyncio.run`; the Builder is the same with a choice of workers.
    let runtime = match tempo::Builder::new().workers(args.workers).build() {
        Ok(runtime) => runtime,
        // Out of file descriptors or threads before we started: nothing to serve with.
        Err(e) => {
            eprintln!("http_hello: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http_hello: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the listener(s), announces them, serves until `SIGINT` or `SIGTERM`, then shuts
/// down gracefully: the skeleton of `common/server.rs`, which explains each step.
/// Thread-per-core: with `--workers N`, one socket per worker on one port (`SO_REUSEPORT`),
/// and `serve_on` runs once per worker, on it — no connection ever crosses a thread.
async fn serve(args: Args) -> io::Result<()> {
    let config = server::Config {
        name: "http_hello",
        max_conns: args.max_conns,
        grace: args.grace,
    };
    let idle = args.idle;
    server::serve_sharded(&args.addr, config, move |listener, config, stop| {
        serve_on(listener, config, stop, idle)
    })
    .await
}

/// The whole server, on one worker: the skeleton's accept loop and drain, with a step of
/// our own between them — telling this worker's connections that the server is stopping.
async fn serve_on(
    listener: TcpListener,
    config: server::Config,
    mut stop: StopSignals,
    idle: Duration,
) {
    // Set once a stop signal comes; every connection task of this worker holds it (see
    // `serve_http`). One per worker, so the workers share nothing on the request path.
    let stopping = Arc::new(Event::new());
    let mut conns = JoinSet::new();
    let signal = server::accept_until(
        &listener,
        config,
        &mut conns,
        stop.recv(),
        |stream, peer| tempo::spawn(connection(stream, peer, idle, Arc::clone(&stopping))),
    )
    .await;
    // The skeleton's step 5.1: closing the listening socket refuses new connections.
    drop(listener);
    // Ours: connections waiting for a next request close now; one in the middle of a
    // request answers it with `Connection: close`, then closes.
    stopping.set();
    // Steps 5.2 and 5.3: wait for them, up to the grace period; cancel the rest.
    server::drain(conns, config, signal, &mut stop).await;
}

// ---------------------------------------------------------------------------------------
// One connection
// ---------------------------------------------------------------------------------------

/// How a connection ended when no I/O error ended it.
#[derive(Debug, PartialEq, Eq)]
enum Ending {
    /// The client closed its side.
    PeerClosed,
    /// No request completed within the idle timeout (or no answer could be sent in it).
    Idle,
    /// The server is stopping, and the connection was between requests.
    Stopped,
    /// Our last answer said `Connection: close` (the client asked, HTTP/1.0, an error, or
    /// the server is stopping); the client may still be sending.
    Close,
}

/// The task of one connection: serve it, then close it as its ending calls for.
async fn connection(mut stream: TcpStream, peer: SocketAddr, idle: Duration, stopping: Arc<Event>) {
    // Answers should leave at once, not wait for Nagle's algorithm. Only a latency hint.
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("http_hello: set_nodelay: {e} (continuing)");
    }
    // The one read buffer this connection owns, inside the task: allocated once, by `spawn`.
    let mut buf = [0u8; READ_BUF];
    match serve_http(&mut stream, &mut buf, idle, &stopping).await {
        // Dropping the stream closes it. Idle keep-alive connections are routine for HTTP
        // (browsers and wrk keep them), so we do not report them.
        Ok(Ending::PeerClosed | Ending::Idle | Ending::Stopped) => {}
        Ok(Ending::Close) => linger_close(&mut stream, &mut buf).await,
        // The client hung up with answers unread (wrk does, at the end of a run): a reset,
        // or a broken pipe if we were writing. Its loss, not an error of ours.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ) => {}
        // Anything else is unexpected on loopback; either way only this connection ends.
        Err(e) => eprintln!("http_hello: {peer}: {e}"),
    }
}

/// Serves requests on one connection until it should close: read, answer every complete
/// request the buffer holds, send all the answers in one write, repeat.
async fn serve_http(
    stream: &mut TcpStream,
    buf: &mut [u8; READ_BUF],
    idle: Duration,
    stopping: &Event,
) -> io::Result<Ending> {
    let mut unread = Unread::default();
    // The answers to one read's requests; cleared, not freed, after each write.
    let mut out = Vec::with_capacity(OUT_CAPACITY);
    // The idle clock restarts whenever a request is answered, not whenever a byte arrives.
    let mut deadline = Instant::now() + idle;
    loop {
        // 1. Move a partial request to the front of the buffer, to read the rest after it.
        //    It is under `MAX_HEAD`, or the parser would have said `TooLarge`, so at least
        //    half the buffer is free.
        if unread.start > 0 {
            buf.copy_within(unread.start..unread.end, 0);
            unread.end -= unread.start;
            unread.start = 0;
        }
        debug_assert!(unread.end < parser::MAX_HEAD);

        // 2. Read. While we wait between requests, a stop signal closes the connection;
        //    in the middle of one, we wait for the rest of it and answer it first.
        let between_requests = unread.end == 0 && unread.skip == 0;
        let read = tempo::select! {
            biased;
            () = stopping.wait(), if between_requests => return Ok(Ending::Stopped),
            read = timeout_at(deadline, stream.read(&mut buf[unread.end..])) => read,
        };
        let n = match read {
            Ok(Ok(0)) => return Ok(Ending::PeerClosed),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e),
            Err(_elapsed) => return Ok(Ending::Idle),
        };
        unread.end += n;

        // 3. Answer every complete request in the buffer, into `out`. All of one batch
        //    share a `Date`: one clock read per read, one format per second.
        let date = date::now();
        let batch = answer_all(&buf[..], &mut unread, &mut out, &date, stopping.is_set());
        if batch.progressed {
            deadline = Instant::now() + idle;
        }

        // 4. Send the whole batch with one write, bounded like the read: a client that
        //    pipelines requests but never reads the answers would otherwise hold us here.
        if !out.is_empty() {
            match timeout(idle, stream.write_all(&out)).await {
                Ok(result) => result?,
                Err(_elapsed) => return Ok(Ending::Idle),
            }
            out.clear();
        }

        // 5. Close if an answer said so.
        if batch.close {
            return Ok(Ending::Close);
        }
    }
}

/// The bytes of a connection's read buffer not yet consumed, and a body still arriving.
#[derive(Debug, Default, PartialEq, Eq)]
struct Unread {
    /// Where the first unparsed byte is.
    start: usize,
    /// One past the last byte read.
    end: usize,
    /// Bytes of the last request's body not yet arrived; they are skipped as they come.
    skip: u64,
}

/// What [`answer_all`] did with a batch.
#[derive(Debug, PartialEq, Eq)]
struct Batch {
    /// At least one request was answered, or body bytes were skipped: the client is
    /// making progress, so the idle clock restarts.
    progressed: bool,
    /// The last answer said `Connection: close`; bytes after its request are ignored.
    close: bool,
}

/// Skips body bytes, then answers each complete request in `buf[unread.start..unread.end]`,
/// appending the answers to `out` and moving `unread.start` past what it consumed. Stops at
/// a partial request, or after an answer that closes the connection.
///
/// `stopping` (the server is shutting down) makes every answer close its connection.
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
        // The rest of a body, if it is still coming: thrown away as it arrives.
        if unread.skip > 0 {
            let available = (unread.end - unread.start) as u64;
            let skipped = unread.skip.min(available);
            // `skipped` is at most `available`, a buffer length: it fits in a usize.
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
            // HTTP/1.0 closes by default, so keeping it open must be said.
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

/// The answer to one well-formed request, and whether the connection may go on after it
/// (false when we cannot tell where its body ends, or will not read it).
fn route(request: &Request<'_>) -> (Reply, bool) {
    if request.version == Version::Http11 && request.host.is_none() {
        return (Reply::BadRequest, false);
    }
    match request.body {
        Body::TransferEncoded => return (Reply::NotImplemented, false),
        Body::Length(length) if length > MAX_BODY => return (Reply::ContentTooLarge, false),
        Body::None | Body::Length(_) => {}
    }
    // A CONNECT: see the module docs. (The parser let the authority form through with
    // CONNECT only, and the asterisk form with OPTIONS only.)
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

/// The answers this server gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// 200, `Hello, World!`.
    Hello,
    /// 200 to `OPTIONS`, with `Allow` and no body.
    Options,
    /// 400: not a request we accept (see the parser), or HTTP/1.1 without a host.
    BadRequest,
    /// 404: a path other than `/` and `/plaintext`.
    NotFound,
    /// 405: a method other than GET, HEAD and OPTIONS on `/` or `/plaintext`.
    MethodNotAllowed,
    /// 413: a body over `MAX_BODY`.
    ContentTooLarge,
    /// 431: a head over `parser::MAX_HEAD` bytes or `parser::MAX_HEADERS` headers.
    HeadersTooLarge,
    /// 501: a `Transfer-Encoding` body, which we do not decode, or a `CONNECT`.
    NotImplemented,
}

impl Reply {
    /// The status line, with its CRLF.
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

    /// The body: the hello, nothing for `OPTIONS` (all it says is in `Allow`), or the
    /// status in words for a person reading `curl` output.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Connection {
    /// Nothing: HTTP/1.1 stays open by default.
    Default,
    /// `Connection: keep-alive`, for an HTTP/1.0 client that asked for it.
    KeepAlive,
    /// `Connection: close`: we close after this response.
    Close,
}

/// Appends one response to `out`. `head_only` (a HEAD request) leaves out the body but
/// keeps its `Content-Length`, as RFC 9110 §9.3.2 asks. Nothing here allocates once `out`
/// has grown to its working size.
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
    // No body, no type: RFC 9110 §8.3 asks for `Content-Type` only with content.
    if !body.is_empty() {
        out.extend_from_slice(b"Content-Type: text/plain\r\n");
    }
    out.extend_from_slice(b"Content-Length: ");
    push_decimal(out, body.len());
    out.extend_from_slice(b"\r\n");
    // What may be done to `/` and `/plaintext` (RFC 9110 §10.2.1): 405 MUST say it.
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

/// Appends `n` in decimal, without going through `fmt`.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20]; // usize::MAX has 20 digits
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

/// Closes a connection whose client may still be sending, without losing our last answer.
///
/// Closing a socket with unread bytes in it makes the kernel send a reset instead of a
/// clean close, and a reset can make the client discard our answer before reading it (RFC
/// 9112 §9.6 calls for this "lingering" close). So we first send our FIN, then read and
/// discard what the client still sends until it closes too — but only up to `LINGER_BYTES`
/// and `LINGER`, so a client cannot keep us here. `hex` does the same.
async fn linger_close(stream: &mut TcpStream, buf: &mut [u8]) {
    // NotConnected here means the client is already gone, which is what we wanted anyway.
    if stream.shutdown_std(Shutdown::Write).is_err() {
        return;
    }
    let drain = async {
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match stream.read(buf).await {
                // EOF, or a reset: the client is done; nothing left to protect.
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    };
    // Running out of time is fine too: we close regardless.
    let _ = timeout(LINGER, drain).await;
}

// ---------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------

const USAGE: &str = "usage: http_hello [--addr HOST:PORT] [--workers N] [--max-conns N] \
                     [--idle-secs SECS] [--grace-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
#[derive(Debug)]
struct Args {
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// Workers (event loops, one thread each).
    workers: usize,
    /// Most connections served at once.
    max_conns: usize,
    /// How long a connection may go without completing a request.
    idle: Duration,
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
            idle: DEFAULT_IDLE,
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
                "--idle-secs" => args.idle = server::parse_secs("--idle-secs", &value()?)?,
                "--grace-secs" => args.grace = server::parse_secs("--grace-secs", &value()?)?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

// The parser's and the date's own tests are in their files; they run here too, as this
// example's unit tests (`cargo test --example http_hello`).
#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &[u8; DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";
    const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const HELLO: &str = "HTTP/1.1 200 OK\r\nServer: tempo\r\n\
        Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
        Content-Length: 13\r\n\r\nHello, World!";

    /// Runs `answer_all` over `input` as if one read had brought it all.
    fn answer(input: &[u8], stopping: bool) -> (String, Unread, Batch) {
        let mut unread = Unread {
            start: 0,
            end: input.len(),
            skip: 0,
        };
        let mut out = Vec::new();
        let batch = answer_all(input, &mut unread, &mut out, DATE, stopping);
        (String::from_utf8(out).expect("ASCII"), unread, batch)
    }

    /// Everything a read brought in is answered into one buffer, which the caller then
    /// sends with one write; a partial request after them is left for the next read.
    #[test]
    fn pipelined_requests_are_answered_in_one_batch() {
        let mut input = [GET, GET, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"].concat();
        input.extend_from_slice(b"GET / HTTP/1.1\r\nHo");
        let (out, unread, batch) = answer(&input, false);
        assert_eq!(out, HELLO.repeat(3));
        assert_eq!(unread.start, input.len() - 18);
        assert_eq!(
            batch,
            Batch {
                progressed: true,
                close: false
            }
        );
    }

    #[test]
    fn routes() {
        let status_of = |request: &str| {
            let (out, _, _) = answer(request.as_bytes(), false);
            out.lines().next().unwrap_or_default().to_string()
        };
        for (request, status) in [
            ("GET /plaintext?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK"),
            ("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "404 Not Found"),
            ("POST /nope HTTP/1.1\r\nHost: x\r\n\r\n", "404 Not Found"),
            (
                "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n",
                "405 Method Not Allowed",
            ),
            (
                "get / HTTP/1.1\r\nHost: x\r\n\r\n",
                "405 Method Not Allowed",
            ),
            ("GET / HTTP/1.1\r\n\r\n", "400 Bad Request"),
            ("GET / HTTP/1.0\r\n\r\n", "200 OK"),
            ("GET / HTTP/3\r\n\r\n", "400 Bad Request"),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                "501 Not Implemented",
            ),
            (
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n",
                "413 Content Too Large",
            ),
            // The absolute form routes on its path, with or without Host.
            ("GET http://x/plaintext?q HTTP/1.1\r\n\r\n", "200 OK"),
            ("GET http://x HTTP/1.1\r\nHost: y\r\n\r\n", "200 OK"),
            ("GET http://x/nope HTTP/1.1\r\n\r\n", "404 Not Found"),
            (
                "GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
                "400 Bad Request",
            ),
            // OPTIONS, of the server and of a resource.
            ("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK"),
            ("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n", "200 OK"),
            ("OPTIONS /nope HTTP/1.1\r\nHost: x\r\n\r\n", "404 Not Found"),
            ("GET * HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request"),
            ("OPTIONS * HTTP/1.1\r\n\r\n", "400 Bad Request"),
            // CONNECT: not a proxy.
            (
                "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
                "501 Not Implemented",
            ),
            ("GET x:443 HTTP/1.1\r\nHost: x\r\n\r\n", "400 Bad Request"),
        ] {
            assert_eq!(
                status_of(request),
                format!("HTTP/1.1 {status}"),
                "{request:?}"
            );
        }
    }

    #[test]
    fn head_gets_the_headers_without_the_body() {
        let (out, _, _) = answer(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", false);
        assert_eq!(out, HELLO.strip_suffix("Hello, World!").expect("body"));
    }

    #[test]
    fn method_not_allowed_says_what_is() {
        let (out, _, batch) = answer(b"PUT / HTTP/1.1\r\nHost: x\r\n\r\n", false);
        assert_eq!(
            out,
            "HTTP/1.1 405 Method Not Allowed\r\nServer: tempo\r\n\
             Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
             Content-Length: 19\r\nAllow: GET, HEAD, OPTIONS\r\n\r\nMethod Not Allowed\n"
        );
        assert!(!batch.close);
    }

    /// OPTIONS says what may be done, with no body and so no type (RFC 9110 §9.3.7); the
    /// connection goes on.
    #[test]
    fn options_says_what_is_allowed() {
        let options = "HTTP/1.1 200 OK\r\nServer: tempo\r\n\
            Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\n\
            Allow: GET, HEAD, OPTIONS\r\n\r\n";
        for request in ["OPTIONS * HTTP/1.1", "OPTIONS /plaintext HTTP/1.1"] {
            let input = [format!("{request}\r\nHost: x\r\n\r\n").as_bytes(), GET].concat();
            let (out, _, batch) = answer(&input, false);
            assert_eq!(out, format!("{options}{HELLO}"), "{request}");
            assert!(!batch.close);
        }
    }

    /// A CONNECT is refused, and the connection closes: what follows may be the tunnel's
    /// bytes rather than a request.
    #[test]
    fn connect_is_not_implemented_and_closes() {
        let input = [&b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"[..], GET].concat();
        let (out, _, batch) = answer(&input, false);
        assert!(out.starts_with("HTTP/1.1 501 Not Implemented\r\n"), "{out}");
        assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
        assert!(!out.contains("Hello"), "{out}");
        assert!(batch.close);
    }

    /// Bad bytes after good requests: the good ones are answered, then 400, and the batch
    /// closes the connection; nothing after the bad request is looked at.
    #[test]
    fn malformed_request_after_good_ones() {
        let input = [GET, b"GET / HTTP/1.1\r\nno colon\r\n\r\n", GET].concat();
        let (out, _, batch) = answer(&input, false);
        let bad = "HTTP/1.1 400 Bad Request\r\nServer: tempo\r\n\
            Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain\r\n\
            Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n";
        assert_eq!(out, format!("{HELLO}{bad}"));
        assert!(batch.close);
    }

    #[test]
    fn too_large_head_is_431_and_closes() {
        let mut input = b"GET / HTTP/1.1\r\nX: ".to_vec();
        input.resize(READ_BUF, b'a');
        let (out, _, batch) = answer(&input, false);
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        assert!(out.contains("\r\nConnection: close\r\n"), "{out}");
        assert!(batch.close);
    }

    #[test]
    fn connection_close_stops_the_batch() {
        let input = [
            GET,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            GET,
        ]
        .concat();
        let (out, _, batch) = answer(&input, false);
        let closing = HELLO.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
        assert_eq!(out, format!("{HELLO}{closing}"));
        assert!(batch.close);
    }

    #[test]
    fn http_1_0_closes_unless_asked_to_keep_alive() {
        let (out, _, batch) = answer(b"GET / HTTP/1.0\r\n\r\n", false);
        assert!(out.contains("\r\nConnection: close\r\n") && batch.close);
        let (out, _, batch) = answer(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false);
        assert!(out.contains("\r\nConnection: keep-alive\r\n") && !batch.close);
    }

    #[test]
    fn stopping_closes_after_the_answer() {
        let (out, _, batch) = answer(&[GET, GET].concat(), true);
        assert_eq!(
            out,
            HELLO.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
        );
        assert!(batch.close);
    }

    /// A body is skipped, across reads if it is split, and the request after it is found.
    #[test]
    fn bodies_are_skipped() {
        // Whole in one read.
        let input = [
            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            GET,
        ]
        .concat();
        let (out, unread, _) = answer(&input, false);
        assert!(out.starts_with("HTTP/1.1 404 Not Found\r\n"), "{out}");
        assert!(out.ends_with(HELLO), "{out}");
        assert_eq!((unread.start, unread.skip), (input.len(), 0));

        // The body split over three reads, the next request arriving with its end.
        let mut buf = Vec::new();
        let mut unread = Unread::default();
        let mut out = Vec::new();
        for (chunk, skip_after) in [
            (
                &b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"[..],
                7,
            ),
            (b"defg", 3),
            (b"hijGET / HTTP/1.1\r\nHost: x\r\n\r\n", 0),
        ] {
            buf.extend_from_slice(chunk);
            unread.end = buf.len();
            let batch = answer_all(&buf, &mut unread, &mut out, DATE, false);
            assert!(batch.progressed && !batch.close);
            assert_eq!(unread.skip, skip_after);
        }
        assert_eq!(String::from_utf8(out).expect("ASCII"), HELLO.repeat(2));
        assert_eq!(unread.start, buf.len());
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 13, 100, 65_535, usize::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }

    #[test]
    fn command_line() {
        let parse = |args: &[&str]| Args::parse(args.iter().map(|s| s.to_string()));
        let args = parse(&[]).expect("defaults");
        assert_eq!((args.addr.as_str(), args.workers), (DEFAULT_ADDR, 1));
        assert_eq!(args.idle, DEFAULT_IDLE);
        let args =
            parse(&["--workers", "4", "--idle-secs", "0.3", "--addr", "[::1]:0"]).expect("valid");
        assert_eq!(args.workers, 4);
        assert_eq!(args.idle, Duration::from_millis(300));
        assert_eq!(args.addr, "[::1]:0");
        for bad in [
            &["--workers", "0"][..],
            &["--workers", "two"],
            &["--workers"],
            &["--idle-secs", "-1"],
            &["--addr", "localhost"],
            &["--bogus"],
        ] {
            assert!(parse(bad).is_err_and(|e| !e.is_empty()), "{bad:?}");
        }
        assert!(parse(&["--help"]).is_err_and(|e| e.is_empty()));
    }
}
