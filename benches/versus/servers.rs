//! Every echo server in the race, and how each is started as a process of its own.
//!
//! The Rust servers live in this file and run when the bench binary is re-executed as
//! `versus --serve KIND --addr 127.0.0.1:0`; the Python ones are scripts written to a
//! temporary directory and run with `python3`. Either way the server prints
//! `listening on ADDR` once it accepts connections, and the bench reads that line.
//!
//! What they all share, so that the only difference is the loop: they listen on loopback
//! with a backlog of 1 024, set `TCP_NODELAY` on every accepted socket, and read into a
//! buffer of [`BUF_SIZE`] bytes per connection (tempo's `examples/echo.rs` uses the same).
//! The Python servers read with asyncio's own transport buffer, which is larger; with one
//! message in flight per connection no message is ever split by a buffer anyway.
//!
//! The tempo and tokio servers are the same program, line for line: an accept loop that
//! spawns one task per connection, each `read` into its buffer then `write_all` back. (Not
//! `examples/echo.rs`, which also puts a timeout around every read and write and a signal
//! `select!` around every accept — lessons worth teaching, but costs tokio's plain server
//! would not pay.)
//!
//! One more tokio server is here for the instruction meter (`instructions.rs`), which sets
//! it against `examples/echo.rs` itself: [`serve_other`]'s `tokio-ct-timeout`, echo.rs's
//! connection loop on tokio — a timeout around every read and every write.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

/// Bytes each server reads at once: its one buffer per connection.
pub const BUF_SIZE: usize = 4096;
/// The listen backlog every server asks for.
const BACKLOG: i32 = 1024;
/// How long `tempo-1-spin`'s idle worker keeps looking before it sleeps: a little more than
/// a round trip to a client that is itself asleep takes here, so that the next request of
/// a one-connection client usually finds the worker awake. `VERSUS_PARK_SPIN_US` in the
/// environment overrides it, to try other values.
pub const PARK_SPIN: Duration = Duration::from_micros(100);

/// `PARK_SPIN`, or `$VERSUS_PARK_SPIN_US` microseconds.
fn park_spin() -> Duration {
    std::env::var("VERSUS_PARK_SPIN_US")
        .ok()
        .and_then(|us| us.parse().ok())
        .map_or(PARK_SPIN, Duration::from_micros)
}

/// How long a server may take to say `listening on`.
const STARTUP: Duration = Duration::from_secs(20);

/// The contenders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// tempo, one worker: the accept loop and the connections on one thread.
    Tempo1,
    /// tempo, one worker that spins for [`PARK_SPIN`] before it sleeps
    /// (`Builder::park_spin`): what an idle worker's looking costs and buys.
    Tempo1Spin,
    /// tempo, two workers, sharded: one `SO_REUSEPORT` listener per worker, each worker
    /// accepting and serving its own connections.
    Tempo2,
    /// tokio's `current_thread` runtime: what tempo-1 is compared with.
    TokioCt,
    /// tokio's `multi_thread` runtime with two workers (work stealing; accepts on the
    /// `block_on` thread, as `#[tokio::main]` servers do): what tempo-2 is compared with.
    TokioMt2,
    /// A hand-written mio loop: one thread, edge-triggered, no tasks, no wakers — the
    /// floor every runtime here is built on.
    Mio,
    /// One blocking thread per connection: the design the asyncio texts argue against.
    StdThreads,
    /// asyncio `start_server` with a `StreamReader`/`StreamWriter` per connection.
    AsyncioStreams,
    /// asyncio `create_server` with a `Protocol` whose `data_received` writes back.
    AsyncioProtocol,
    /// The same Protocol server on uvloop's event loop.
    UvloopProtocol,
}

/// How many threads serve: which tokio server a contender is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// One thread runs the whole server.
    One,
    /// Several threads serve connections.
    Many,
}

impl Kind {
    /// Every contender, in the order the tables list them.
    pub const ALL: [Kind; 10] = [
        Kind::Tempo1,
        Kind::Tempo1Spin,
        Kind::TokioCt,
        Kind::Mio,
        Kind::Tempo2,
        Kind::TokioMt2,
        Kind::StdThreads,
        Kind::AsyncioStreams,
        Kind::AsyncioProtocol,
        Kind::UvloopProtocol,
    ];

    /// Its name in tables, JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tempo1 => "tempo-1",
            Kind::Tempo1Spin => "tempo-1-spin",
            Kind::Tempo2 => "tempo-2",
            Kind::TokioCt => "tokio-ct",
            Kind::TokioMt2 => "tokio-mt2",
            Kind::Mio => "mio",
            Kind::StdThreads => "std-threads",
            Kind::AsyncioStreams => "asyncio-streams",
            Kind::AsyncioProtocol => "asyncio-proto",
            Kind::UvloopProtocol => "uvloop-proto",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Served by `python3` rather than by this binary.
    pub fn is_python(self) -> bool {
        matches!(
            self,
            Kind::AsyncioStreams | Kind::AsyncioProtocol | Kind::UvloopProtocol
        )
    }

    /// One thread, or several.
    pub fn threads(self) -> Threads {
        match self {
            Kind::Tempo2 | Kind::TokioMt2 | Kind::StdThreads => Threads::Many,
            _ => Threads::One,
        }
    }

    /// The tokio server it is compared with: the one with as many threads.
    pub fn tokio_peer(self) -> Kind {
        match self.threads() {
            Threads::One => Kind::TokioCt,
            Threads::Many => Kind::TokioMt2,
        }
    }
}

/// A server process, killed when dropped.
pub struct Server {
    /// Which contender it is.
    pub kind: Kind,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The process.
    child: Child,
    /// Its standard output, kept open so a late print cannot fail with a broken pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Start `kind` on a free loopback port and wait until it says it is listening.
    /// `exe` is this bench binary; `python` is needed for the Python contenders.
    pub fn start(kind: Kind, exe: &Path, python: Option<&Python>) -> io::Result<Server> {
        let mut command = if kind.is_python() {
            let python = python.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "python3 is not available")
            })?;
            python.command(kind)
        } else {
            let mut command = Command::new(exe);
            command.args(["--serve", kind.name(), "--addr", "127.0.0.1:0"]);
            command
        };
        command.stdin(Stdio::null()).stdout(Stdio::piped());
        die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        // Read the first line on a helper thread, so a server that hangs before printing
        // it fails the start after `STARTUP` instead of hanging the bench.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let result = reader.read_line(&mut line).map(|_| (line, reader));
            let _ = tx.send(result);
        });
        let started = rx.recv_timeout(STARTUP).map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} did not say `listening on` within {STARTUP:?}",
                    kind.name()
                ),
            )
        });
        let (line, stdout) = match started.and_then(|r| r) {
            Ok(ok) => ok,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let status = child.wait()?;
            return Err(io::Error::other(format!(
                "{} printed {line:?} instead of `listening on ADDR` ({status})",
                kind.name()
            )));
        };
        Ok(Server {
            kind,
            addr,
            child,
            _stdout: stdout,
        })
    }

    /// The server's process id, for `/proc/PID/stat`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the server has exited (crashed) since it started.
    pub fn check_alive(&mut self) -> io::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(io::Error::other(format!(
                "the {} server exited: {status}",
                self.kind.name()
            ))),
        }
    }
}

/// Have the kernel kill the child `command` starts if the bench dies (Ctrl-C, or a panic
/// that skips our destructors), instead of leaving it listening. Linux only; elsewhere a
/// dying bench may leave its servers behind.
pub fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the child between fork and exec, where only
        // async-signal-safe calls are allowed; prctl is a plain system call, and the
        // closure touches no memory of the parent's but its own stack.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// The Python servers.

/// `python3`, and the echo scripts written for it.
#[derive(Debug)]
pub struct Python {
    /// Its version, for the report.
    pub version: String,
    /// Whether `import uvloop` works.
    pub uvloop: bool,
    /// The temporary directory holding the scripts; removed on drop.
    dir: PathBuf,
}

/// asyncio's streams, as the seeds teach `start_server`: a coroutine per connection that
/// awaits `reader.read` and `writer.drain`.
const STREAMS_PY: &str = r#"
import asyncio, socket, sys

BUF = int(sys.argv[3])

async def handle(reader, writer):
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            data = await reader.read(BUF)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, sys.argv[1], int(sys.argv[2]), backlog=1024)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"#;

/// asyncio's transports and protocols, as the seeds teach `create_server`: a callback per
/// chunk of data, no coroutine at all. `uvloop` as a fourth argument runs it on uvloop.
const PROTOCOL_PY: &str = r#"
import asyncio, socket, sys

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, sys.argv[1], int(sys.argv[2]), backlog=1024)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        await server.serve_forever()

if sys.argv[4:] == ["uvloop"]:
    import uvloop
    uvloop.run(main())
else:
    asyncio.run(main())
"#;

impl Python {
    /// `python3` from PATH with the scripts written out, or `None` if there is no python3.
    pub fn find() -> io::Result<Option<Python>> {
        let version = Command::new("python3")
            .args(["-c", "import sys; print(sys.version.split()[0])"])
            .stderr(Stdio::null())
            .output();
        let version = match version {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().into(),
            _ => return Ok(None),
        };
        let uvloop = Command::new("python3")
            .args(["-c", "import uvloop"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let dir = std::env::temp_dir().join(format!("tempo-versus-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("echo_streams.py"), STREAMS_PY)?;
        std::fs::write(dir.join("echo_protocol.py"), PROTOCOL_PY)?;
        Ok(Some(Python {
            version,
            uvloop,
            dir,
        }))
    }

    /// Whether this Python can run `kind`.
    pub fn can_run(&self, kind: Kind) -> bool {
        match kind {
            Kind::AsyncioStreams | Kind::AsyncioProtocol => true,
            Kind::UvloopProtocol => self.uvloop,
            _ => false,
        }
    }

    fn command(&self, kind: Kind) -> Command {
        let script = match kind {
            Kind::AsyncioStreams => "echo_streams.py",
            _ => "echo_protocol.py",
        };
        let mut command = Command::new("python3");
        command
            .arg(self.dir.join(script))
            .args(["127.0.0.1", "0", &BUF_SIZE.to_string()]);
        if kind == Kind::UvloopProtocol {
            command.arg("uvloop");
        }
        command
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------
// The Rust servers: what `versus --serve KIND` runs.

/// Serve `kind` on `addr` until killed. Prints `listening on ADDR` once it accepts.
pub fn serve(kind: Kind, addr: &str) -> io::Result<()> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("--addr {addr}: {e}")))?;
    match kind {
        Kind::Tempo1 => tempo_single(addr, Duration::ZERO),
        Kind::Tempo1Spin => tempo_single(addr, park_spin()),
        Kind::Tempo2 => tempo_sharded(addr, 2),
        Kind::TokioCt => tokio_server(tokio::runtime::Builder::new_current_thread(), addr),
        Kind::TokioMt2 => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            tokio_server(builder, addr)
        }
        Kind::Mio => mio_floor::serve(addr),
        Kind::StdThreads => std_threads(addr),
        python => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is served by python3, not by this binary", python.name()),
        )),
    }
}

/// Tell the bench where we listen: the one line it waits for.
fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// A bound, listening, non-blocking socket with our backlog.
fn listen(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// tempo, one worker: accept on the `block_on` future, one task per connection. An idle
/// worker spins for `spin` before it sleeps.
fn tempo_single(addr: SocketAddr, spin: Duration) -> io::Result<()> {
    let runtime = tempo::Builder::new().workers(1).park_spin(spin).build()?;
    runtime.block_on(async {
        let listener = tempo::net::TcpListener::from_std(listen(addr, false)?)?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => drop(tempo::spawn(tempo_echo(stream))),
                Err(e) => eprintln!("tempo-1: accept: {e}"),
            }
        }
    })
}

/// tempo, `workers` workers: one `SO_REUSEPORT` listener and accept loop per worker, each
/// serving its own connections (`TcpListener::bind_sharded`).
fn tempo_sharded(addr: SocketAddr, workers: usize) -> io::Result<()> {
    let runtime = tempo::Builder::new().workers(workers).build()?;
    runtime.block_on(async {
        let sharded = tempo::net::TcpListener::bind_sharded(addr).await?;
        let local = sharded.local_addr();
        let mut loops = sharded.spawn_accept_loops(|stream, _peer| tempo_echo(stream));
        announce(local)?;
        // An accept loop ends only if its socket cannot be registered.
        match loops.join_next().await {
            Some(Ok(e)) => Err(e),
            Some(Err(e)) => Err(io::Error::other(format!("an accept loop failed: {e}"))),
            None => Ok(()),
        }
    })
}

/// One tempo connection: read, write it all back, until end of stream.
async fn tempo_echo(mut stream: tempo::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; BUF_SIZE];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// tokio: accept on the `block_on` future, one task per connection — the same program as
/// [`tempo_single`], on either of tokio's runtimes.
fn tokio_server(mut builder: tokio::runtime::Builder, addr: SocketAddr) -> io::Result<()> {
    let runtime = builder.enable_io().build()?;
    runtime.block_on(async {
        let std_listener = listen(addr, false)?;
        std_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => drop(tokio::spawn(tokio_echo(stream))),
                Err(e) => eprintln!("tokio: accept: {e}"),
            }
        }
    })
}

/// One tokio connection, as [`tempo_echo`].
async fn tokio_echo(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; BUF_SIZE];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// `versus --serve KIND` for the servers that are not in the echo matrix: `None` unless
/// `KIND` is one of them. Each binds `127.0.0.1:0` and says where, as the others do.
///
/// - `tokio-ct-timeout`: `examples/echo.rs` on tokio's `current_thread` runtime, what the
///   instruction meter compares that example with.
///
/// - `hyper-tempo-N` and `hyper-tokio-N` (N = 1 or 2 workers): the same hyper service,
///   [`hyper_hello`], on tempo (through `tempo::hyper`) and on tokio (through hyper-util's
///   `TokioIo`), for the HTTP part's hyper rows.
pub fn serve_other(kind: &str) -> Option<io::Result<()>> {
    match kind {
        "tokio-ct-timeout" => Some(tokio_timeout_server()),
        "hyper-tempo-1" => Some(hyper_tempo(1)),
        "hyper-tempo-2" => Some(hyper_tempo(2)),
        "hyper-tokio-1" => Some(hyper_tokio(1)),
        "hyper-tokio-2" => Some(hyper_tokio(2)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// hyper: one service, two runtimes (the HTTP part's hyper rows).
//
// Each connection is hyper's HTTP/1 server with the same builder on both sides — a timer
// (tempo's `TempoTimer`, hyper-util's `TokioTimer`), `examples/hyper_hello`'s header
// timeout, and `pipeline_flush`, which answers a batch of pipelined requests with one
// write, as `http_hello` does — and the same service; only the I/O adapter, the timer and
// the runtime differ. Spawning, listening and sharding are as in the echo servers above:
// tempo with one `SO_REUSEPORT` listener per worker, tokio with one listener.

/// `examples/hyper_hello`'s `--header-secs` default.
const HYPER_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The service: `GET /` and `/plaintext` are the hello, anything else 404 — what
/// `examples/hyper_hello` answers to `wrk` and to the probe.
async fn hyper_hello(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<String>, std::convert::Infallible> {
    use hyper::header::{CONTENT_TYPE, HeaderValue, SERVER};
    let (status, body) = match request.uri().path() {
        "/" | "/plaintext" => (hyper::StatusCode::OK, "Hello, World!"),
        _ => (hyper::StatusCode::NOT_FOUND, "Not Found\n"),
    };
    let mut response = hyper::Response::new(body.to_string());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(SERVER, HeaderValue::from_static("tempo+hyper"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

/// The HTTP/1 builder both runtimes use, given their timer.
fn hyper_builder(
    timer: impl hyper::rt::Timer + Send + Sync + 'static,
) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(timer)
        .header_read_timeout(HYPER_HEADER_TIMEOUT)
        .pipeline_flush(true);
    builder
}

/// The hyper service on tempo with `workers` workers, one listener per worker.
fn hyper_tempo(workers: usize) -> io::Result<()> {
    use tempo::hyper::{TempoIo, TempoTimer};
    async fn connection(stream: tempo::net::TcpStream) {
        let _ = stream.set_nodelay(true);
        let service = hyper::service::service_fn(hyper_hello);
        let _ = hyper_builder(TempoTimer::new())
            .serve_connection(TempoIo::new(stream), service)
            .await;
    }
    let runtime = tempo::Builder::new().workers(workers).build()?;
    runtime.block_on(async {
        let sharded = tempo::net::TcpListener::bind_sharded("127.0.0.1:0").await?;
        let local = sharded.local_addr();
        let mut loops = sharded.spawn_accept_loops(|stream, _peer| connection(stream));
        announce(local)?;
        match loops.join_next().await {
            Some(Ok(e)) => Err(e),
            Some(Err(e)) => Err(io::Error::other(format!("an accept loop failed: {e}"))),
            None => Ok(()),
        }
    })
}

/// The hyper service on tokio: `current_thread` for one worker, `multi_thread` otherwise.
fn hyper_tokio(workers: usize) -> io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    let runtime = builder.enable_all().build()?;
    runtime.block_on(async {
        let std_listener = listen("127.0.0.1:0".parse().expect("a valid address"), false)?;
        std_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        announce(listener.local_addr()?)?;
        loop {
            match listener.accept().await {
                Ok((stream, _peer)) => drop(tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let service = hyper::service::service_fn(hyper_hello);
                    let _ = hyper_builder(TokioTimer::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                })),
                Err(e) => eprintln!("hyper-tokio: accept: {e}"),
            }
        }
    })
}

/// `examples/echo.rs`'s idle timeout (`--idle-secs`' default).
const ECHO_IDLE: Duration = Duration::from_secs(60);

/// `examples/echo.rs` on tokio: connection tasks kept in a `JoinSet` that the accept loop
/// reaps, as echo.rs's skeleton (`examples/common/server.rs`) does — less its signals,
/// cap and backoff, which cost nothing while connections are only echoing — and
/// [`tokio_timeout_echo`], echo.rs's connection loop line for line.
fn tokio_timeout_server() -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let std_listener = listen("127.0.0.1:0".parse().expect("a valid address"), false)?;
        std_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        announce(listener.local_addr()?)?;
        let mut conns = tokio::task::JoinSet::new();
        loop {
            let (stream, _peer) = tokio::select! {
                biased;
                Some(_joined) = conns.join_next() => continue,
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        eprintln!("tokio-ct-timeout: accept: {e}");
                        continue;
                    }
                },
            };
            conns.spawn(tokio_timeout_echo(stream, ECHO_IDLE));
        }
    })
}

/// echo.rs's `echo`, on tokio: a fresh `timeout` around every read and every write.
async fn tokio_timeout_echo(mut stream: tokio::net::TcpStream, idle: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    if let Err(e) = stream.set_nodelay(true) {
        eprintln!("tokio-ct-timeout: set_nodelay: {e} (continuing)");
    }
    let mut buf = [0u8; BUF_SIZE];
    loop {
        let n = match timeout(idle, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        match timeout(idle, stream.write_all(&buf[..n])).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// A thread per connection, blocking reads and writes.
fn std_threads(addr: SocketAddr) -> io::Result<()> {
    let listener = listen(addr, false)?;
    announce(listener.local_addr()?)?;
    loop {
        let (mut stream, _peer) = match listener.accept() {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("std-threads: accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let spawned = std::thread::Builder::new()
            // The buffer is the only big thing on the stack.
            .stack_size(64 * 1024)
            .spawn(move || {
                let mut buf = [0u8; BUF_SIZE];
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if stream.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            eprintln!("std-threads: spawn: {e}");
        }
    }
}

/// The floor: what an echo server costs with no runtime at all.
mod mio_floor {
    use std::io::{self, Read, Write};
    use std::net::SocketAddr;

    use mio::net::{TcpListener, TcpStream};
    use mio::{Events, Interest, Poll, Token};

    use super::{BUF_SIZE, announce, listen};

    /// The listening socket's token; connections are numbered from 0.
    const LISTENER: Token = Token(usize::MAX);

    /// One connection: its socket and its buffer, and what of the buffer is still to be
    /// written back.
    struct Conn {
        /// The socket, registered edge-triggered for reads and writes.
        stream: TcpStream,
        /// The one buffer of this connection.
        buf: Box<[u8; BUF_SIZE]>,
        /// `buf[start..end]` was read but not yet written back.
        start: usize,
        /// See `start`.
        end: usize,
    }

    /// What became of a connection after an event.
    enum After {
        /// Still open: wait for its next event.
        Open,
        /// End of stream or an error: close it.
        Closed,
    }

    impl Conn {
        /// Echo all that can be echoed now. Edge-triggered, so we must go on until the
        /// socket says `WouldBlock` — or until a short read, which says the kernel buffer
        /// is empty without the extra syscall (tempo and tokio do the same).
        fn drive(&mut self) -> After {
            loop {
                while self.start < self.end {
                    match self.stream.write(&self.buf[self.start..self.end]) {
                        Ok(0) => return After::Closed,
                        Ok(n) => self.start += n,
                        // The send buffer is full: a writable edge will bring us back.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return After::Open,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return After::Closed,
                    }
                }
                match self.stream.read(&mut self.buf[..]) {
                    Ok(0) => return After::Closed,
                    Ok(n) => {
                        (self.start, self.end) = (0, n);
                        if n < BUF_SIZE {
                            // Short read: write it back, then wait for the next edge.
                            while self.start < self.end {
                                match self.stream.write(&self.buf[self.start..self.end]) {
                                    Ok(0) => return After::Closed,
                                    Ok(n) => self.start += n,
                                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                                    Err(_) => return After::Closed,
                                }
                            }
                            return After::Open;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return After::Open,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return After::Closed,
                }
            }
        }
    }

    /// One thread, one `Poll`, a table of connections indexed by token.
    pub fn serve(addr: SocketAddr) -> io::Result<()> {
        let std_listener = listen(addr, false)?;
        std_listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(std_listener);
        let mut poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        announce(listener.local_addr()?)?;
        let mut events = Events::with_capacity(1024);
        let mut conns: Vec<Option<Conn>> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        loop {
            if let Err(e) = poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            for event in events.iter() {
                if event.token() == LISTENER {
                    accept_all(&listener, &poll, &mut conns, &mut free)?;
                    continue;
                }
                let index = event.token().0;
                let Some(conn) = conns.get_mut(index).and_then(Option::as_mut) else {
                    continue; // an event for a connection closed earlier in this batch
                };
                if let After::Closed = conn.drive() {
                    let mut conn = conns[index].take().expect("it was just there");
                    let _ = poll.registry().deregister(&mut conn.stream);
                    free.push(index);
                }
            }
        }
    }

    /// Accept until `WouldBlock` (edge-triggered: one event may stand for many).
    fn accept_all(
        listener: &TcpListener,
        poll: &Poll,
        conns: &mut Vec<Option<Conn>>,
        free: &mut Vec<usize>,
    ) -> io::Result<()> {
        loop {
            let (mut stream, _peer) = match listener.accept() {
                Ok(conn) => conn,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("mio: accept: {e}");
                    return Ok(());
                }
            };
            let _ = stream.set_nodelay(true);
            let index = free.pop().unwrap_or(conns.len());
            poll.registry().register(
                &mut stream,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            let conn = Conn {
                stream,
                buf: Box::new([0; BUF_SIZE]),
                start: 0,
                end: 0,
            };
            if index == conns.len() {
                conns.push(Some(conn));
            } else {
                conns[index] = Some(conn);
            }
        }
    }
}
