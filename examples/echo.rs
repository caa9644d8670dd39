//! A TCP echo server: every byte a client sends comes straight back.
//!
//! Run it, then try it from two or more terminals at once:
//!
//! ```text
//! cargo run --release --example echo                       # listens on 127.0.0.1:7000
//! cargo run --release --example echo -- --addr 127.0.0.1:0 --max-conns 100 --idle-secs 5
//! nc 127.0.0.1 7000                                        # type lines; each comes back
//! ```
//!
//! This is the `asyncio.start_server` lesson of the asyncio texts (reference seed 003: the
//! blocking server that serves one client at a time, then threads, then one event loop): one
//! thread, one task per connection (`asyncio.create_task`), and every `await` hands the loop
//! to whichever connection is ready.
//!
//! A server on the open network must bound what a client can make it hold, so this one has:
//!
//! - a **connection cap** (`--max-conns`, default 10 000): over it, a new connection is
//!   accepted and closed at once. The asyncio texts cap concurrency with a `Semaphore`, which
//!   makes the surplus *wait*; a server sheds load instead, because a waiting connection
//!   still costs a file descriptor and kernel buffers.
//! - a **fixed buffer** per connection (`BUF_SIZE` bytes, inside the task itself): a client
//!   that sends faster than it reads is slowed down by TCP, not buffered by us.
//! - an **idle timeout** (`--idle-secs`, default 60) around every read and every write: the
//!   `asyncio.wait_for` of the texts. A silent client, or one that stops reading our replies,
//!   is cut off instead of pinning its task forever.
//!
//! The default cap is above the usual soft limit of 1 024 open files (`ulimit -n`); there the
//! kernel says no first, `accept` fails with `EMFILE`, and the accept loop below shows what to
//! do about it.

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};
use tempo::time::{sleep, timeout};

/// Where we listen unless `--addr` says otherwise: loopback, so nothing outside this machine
/// can reach the example.
const DEFAULT_ADDR: &str = "127.0.0.1:7000";
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 10_000;
/// How long a connection may sit without progress, in either direction.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// Bytes read per `read` call; the whole of what one connection holds in user space.
const BUF_SIZE: usize = 4096;
/// How long the accept loop rests after an error such as `EMFILE` (see `accept_loop`).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        // `--help` asked for the usage: it is not an error.
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("echo: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // `tempo::run` is `asyncio.run`: build a runtime, drive this future to completion on the
    // current thread, drop the runtime.
    match tempo::run(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the listener, announces it, and accepts forever.
async fn serve(args: Args) -> io::Result<()> {
    // Errors here (address in use, bad address, no permission) end the program: there is no
    // server to run without a listening socket.
    let listener = TcpListener::bind(args.addr.as_str()).await?;
    // Print the address the kernel actually gave us, so `--addr 127.0.0.1:0` reports a real
    // port; tests and scripts wait for exactly this line.
    println!("listening on {}", listener.local_addr()?);
    io::stdout().flush()?;
    accept_loop(listener, args).await;
    Ok(())
}

/// Accepts connections and spawns one task per connection, like the `while True:
/// conn = await accept(); create_task(handle(conn))` of the asyncio texts.
async fn accept_loop(listener: TcpListener, args: Args) {
    // Connections alive right now. Only this loop increments it, so checking and then
    // incrementing cannot race; connection tasks decrement it through `ConnSlot`'s drop.
    let live = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            // The client gave up between the kernel's handshake and our accept, or a signal
            // interrupted the call: nothing is wrong with the listener, take the next one.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            // Anything else is the process or the system running out of something: EMFILE
            // (our open-file limit), ENFILE (the system's), ENOBUFS/ENOMEM (kernel memory).
            // The pending connection stays in the backlog, so the listener stays readable and
            // retrying at once would spin the loop at 100% CPU. Say so, rest briefly — an
            // async sleep, so connections already open keep being served and may close and
            // free descriptors meanwhile — then try again.
            Err(e) => {
                eprintln!("echo: accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };

        if live.load(Ordering::Relaxed) >= args.max_conns {
            // Over the cap: dropping the stream closes it, and the client reads EOF.
            eprintln!("echo: {peer}: refused, {} connections open", args.max_conns);
            drop(stream);
            continue;
        }
        let slot = ConnSlot::take(&live);

        // One task per connection: `asyncio.create_task(handle(reader, writer))`.
        let idle = args.idle;
        let task = tempo::spawn(async move {
            // The slot moves into the task, so the count drops however the task ends:
            // returning, panicking, or being dropped at shutdown.
            let _slot = slot;
            match echo(stream, idle).await {
                // The client closed its side and we echoed everything: the normal ending.
                Ok(Ending::PeerClosed) => {}
                Ok(Ending::Idle) => eprintln!("echo: {peer}: idle for {idle:?}, closed"),
                // The peer vanished without a FIN (crashed, or closed with unread data).
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    eprintln!("echo: {peer}: reset by peer");
                }
                // Broken pipe: we wrote after the peer had closed. Anything else is
                // unexpected on loopback; either way this connection is done and only it.
                Err(e) => eprintln!("echo: {peer}: {e}"),
            }
        });
        // Dropping the JoinHandle detaches the task: it runs on by itself and reports its
        // own ending, as above. Nobody needs its output.
        drop(task);
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

/// One counted connection; dropping it gives the place back.
struct ConnSlot {
    /// The server's count of open connections, shared with the accept loop.
    live: Arc<AtomicUsize>,
}

impl ConnSlot {
    /// Counts one more open connection.
    fn take(live: &Arc<AtomicUsize>) -> ConnSlot {
        live.fetch_add(1, Ordering::Relaxed);
        ConnSlot {
            live: Arc::clone(live),
        }
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

const USAGE: &str = "usage: echo [--addr HOST:PORT] [--max-conns N] [--idle-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// Most connections served at once.
    max_conns: usize,
    /// Idle timeout for each read and write.
    idle: Duration,
}

impl Args {
    /// Parses `--addr`, `--max-conns` and `--idle-secs`, each followed by its value. An
    /// empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: DEFAULT_ADDR.to_string(),
            max_conns: DEFAULT_MAX_CONNS,
            idle: DEFAULT_IDLE,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => {
                    let addr = value()?;
                    // Fail early on a malformed address; host names are left to `bind`.
                    if !addr.contains(':') {
                        return Err(format!("--addr {addr}: expected HOST:PORT"));
                    }
                    args.addr = addr;
                }
                "--max-conns" => {
                    args.max_conns = value()?.parse().map_err(|e| format!("--max-conns: {e}"))?;
                }
                "--idle-secs" => args.idle = parse_secs("--idle-secs", &value()?)?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

/// Parses a positive number of seconds, fractions allowed (`0.5`).
fn parse_secs(flag: &str, text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "{flag} {text}: expected a positive number of seconds"
        )),
    }
}
