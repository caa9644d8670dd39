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
//! kernel says no first, `accept` fails with `EMFILE`, and the accept loop below shows what to
//! do about it.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};
use tempo::signal::{Signal, SignalKind, signal};
use tempo::task::JoinSet;
use tempo::time::{sleep, timeout};

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
/// down gracefully.
async fn serve(args: Args) -> io::Result<()> {
    if args.workers == 1 {
        // Errors here (address in use, bad address, no permission) end the program: there is
        // no server to run without a listening socket.
        let listener = TcpListener::bind(args.addr.as_str()).await?;
        // Listen for the stop signals before saying we are up: from then on, a `SIGTERM`
        // must mean "shut down gracefully", not the default action, which kills at once.
        let stop = StopSignals::listen()?;
        announce(listener.local_addr()?)?;
        return serve_on(listener, &args, stop).await;
    }
    // One socket per worker on one port; each worker runs `serve_on` on its own.
    let sharded = TcpListener::bind_sharded(args.addr.as_str()).await?;
    let addr = sharded.local_addr();
    let shard_args = Args {
        max_conns: args.max_conns.div_ceil(args.workers),
        ..args.clone()
    };
    let handle = tempo::Handle::current();
    let mut shards = JoinSet::new();
    let mut listening = Vec::new();
    for (worker, socket) in sharded.into_std().into_iter().enumerate() {
        let args = shard_args.clone();
        let (ready, is_ready) = tempo::sync::oneshot::channel();
        listening.push(is_ready);
        shards.insert(handle.spawn_on(worker, async move {
            // Adopted here, so it registers with this worker's reactor.
            let listener = TcpListener::from_std(socket)?;
            let stop = StopSignals::listen()?;
            let _ = ready.send(());
            serve_on(listener, &args, stop).await
        }));
    }
    // Every worker listens for the stop signals before we say we are up.
    for shard in listening {
        if shard.await.is_err() {
            break; // that shard failed to start; its error comes out of `shards` below
        }
    }
    announce(addr)?;
    while let Some(shard) = shards.join_next().await {
        shard.map_err(io::Error::from)??;
    }
    Ok(())
}

/// Print the address the kernel actually gave us, so `--addr 127.0.0.1:0` reports a real
/// port; tests and scripts wait for exactly this line.
fn announce(addr: SocketAddr) -> io::Result<()> {
    println!("listening on {addr}");
    io::stdout().flush()
}

/// Serves `listener` until a stop signal, then shuts down gracefully: the whole server, on
/// one worker.
async fn serve_on(listener: TcpListener, args: &Args, mut stop: StopSignals) -> io::Result<()> {
    let mut conns = JoinSet::new();
    let signal = accept_until_stopped(&listener, args, &mut conns, &mut stop).await;
    // Step 1 of the shutdown: closing the listening socket refuses new connections.
    drop(listener);
    drain(conns, args.grace, signal, &mut stop).await;
    Ok(())
}

/// Accepts connections, one task each, into `conns`, like the `while True: conn = await
/// accept(); create_task(handle(conn))` of the asyncio texts — until a stop signal comes,
/// which it returns.
async fn accept_until_stopped(
    listener: &TcpListener,
    args: &Args,
    conns: &mut JoinSet<()>,
    stop: &mut StopSignals,
) -> SignalKind {
    loop {
        let (stream, peer) = tempo::select! {
            // `biased`: the branches are polled in this order. A stop signal wins every tie,
            // so once asked to stop we accept no more; reaping comes before accepting, so
            // the set's length counts only live connections when the cap is checked.
            biased;
            signal = stop.recv() => return signal,
            // A connection task ended. It reported its own ending; we only take it out of
            // the set. An empty set gives `None`, which disables this branch for the round.
            Some(joined) = conns.join_next() => {
                // A task that panicked: a bug in `echo`, but only this connection's.
                if let Err(e) = joined {
                    eprintln!("echo: a connection task failed: {e}");
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // The client gave up between the kernel's handshake and our accept, or a
                // signal interrupted the call: nothing is wrong with the listener, take the
                // next one.
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
                // Anything else is the process or the system running out of something:
                // EMFILE (our open-file limit), ENFILE (the system's), ENOBUFS/ENOMEM (kernel
                // memory). The pending connection stays in the backlog, so the listener stays
                // readable and retrying at once would spin the loop at 100% CPU. Say so, rest
                // briefly — an async sleep, so connections already open keep being served and
                // may close and free descriptors meanwhile — then try again. (A stop signal
                // that comes meanwhile waits for the next round; it is not lost.)
                Err(e) => {
                    eprintln!("echo: accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                    sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };

        if conns.len() >= args.max_conns {
            // Over the cap: dropping the stream closes it, and the client reads EOF.
            eprintln!("echo: {peer}: refused, {} connections open", args.max_conns);
            drop(stream);
            continue;
        }
        // One task per connection: `asyncio.create_task(handle(reader, writer))`, kept in
        // the set so that shutdown can wait for it, and cancel it.
        conns.spawn(connection(stream, peer, args.idle));
    }
}

/// Steps 2 and 3 of the shutdown: the listener is closed; give the open connections up to
/// `grace` to finish, then cancel the rest. A second stop signal ends the wait at once.
async fn drain(
    mut conns: JoinSet<()>,
    grace: Duration,
    signal: SignalKind,
    stop: &mut StopSignals,
) {
    // On stdout, like `listening on`: scripts (and the tests) wait for these lines.
    println!(
        "{signal}: stopped accepting; waiting up to {grace:?} for {} open connection(s)",
        conns.len()
    );
    let all_finished = async { while conns.join_next().await.is_some() {} };
    let cut_short = tempo::select! {
        () = all_finished => None,
        () = sleep(grace) => Some(format!("grace period of {grace:?} over")),
        again = stop.recv() => Some(format!("{again} again")),
    };
    if let Some(why) = cut_short {
        println!("{why}: closing {} connection(s)", conns.len());
        // Cancels every task: each one's future is dropped, which closes its socket.
        conns.shutdown().await;
    }
    println!("stopped");
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

/// The signals that ask the server to stop: `SIGINT` (Ctrl-C) and `SIGTERM` (`kill`).
struct StopSignals {
    /// `SIGINT` deliveries.
    interrupt: Signal,
    /// `SIGTERM` deliveries.
    terminate: Signal,
}

impl StopSignals {
    /// Starts listening. From here on neither signal ends the process by itself.
    fn listen() -> io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::Interrupt)?,
            terminate: signal(SignalKind::Terminate)?,
        })
    }

    /// Waits for either signal and says which. Cancellation-safe, like `Signal::recv`: a
    /// `select!` that drops it loses no signal.
    async fn recv(&mut self) -> SignalKind {
        tempo::select! {
            Some(()) = self.interrupt.recv() => SignalKind::Interrupt,
            Some(()) = self.terminate.recv() => SignalKind::Terminate,
            // A signal stream ends only when its runtime shuts down, and we run on it.
            else => unreachable!("signal streams outlive the runtime they are awaited on"),
        }
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
#[derive(Clone)]
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
                "--workers" => {
                    args.workers = value()?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--workers: expected a positive number")?;
                }
                "--idle-secs" => args.idle = parse_secs("--idle-secs", &value()?)?,
                "--grace-secs" => args.grace = parse_secs("--grace-secs", &value()?)?,
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
