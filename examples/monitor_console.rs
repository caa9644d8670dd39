//! The monitor console on a running server: connect with `nc` and list its tasks while it
//! serves — seed 004's aiomonitor, built into tempo as `Builder::monitor(addr)`.
//!
//! ```text
//! cargo run --example monitor_console              # serves until Ctrl-C
//! nc 127.0.0.1 7004                                # a client or two; type lines, they echo
//! nc 127.0.0.1 7005                                # the console: type ps, ps-finished, stats
//! cargo run --example monitor_console -- --demo    # does all of that itself, prints, exits
//! ```
//!
//! Reference seed 004 (13.5, "Production Hardening Slice"):
//!
//! ```text
//! Add aiomonitor or aiodebug to your dev environment.
//! ```
//!
//! aiomonitor opens a telnet console into a running asyncio program; its `ps` lists the
//! live tasks with their names and where they wait. tempo's console is the same idea with
//! no extra package: `tempo::Builder::new().monitor("127.0.0.1:7005")` serves it (loopback
//! only) on a thread of its own — a small tempo runtime beside the workers — so it answers
//! even while a worker is blocked, which is when you need it. Its commands:
//!
//! - `ps` — every live task: id (`worker.slot`), worker, state, polls, time spent in
//!   polls, age, name and spawn location, and what it waits on where the reactor knows
//!   (`read on socket #N`, a timer);
//! - `ps-finished` — the recently finished tasks and how each ended (completed,
//!   panicked with its message, or cancelled and by what);
//! - `stats` — per worker: loop turns, time blocked in `epoll_wait`, polls, wakes, queue
//!   depth, timer lateness; then the blocking pools;
//! - `help`, `quit`.
//!
//! The server is a line echo server with tasks worth looking at, each named with
//! `tempo::task::Builder::name` (asyncio's `create_task(coro, name=...)`), since a name
//! is what makes a listing readable: `ticker`, a background task that ticks every
//! `--tick-ms` (default 1000); `accept loop`; and one `conn 127.0.0.1:PORT` per client,
//! waiting on a read. Close a client and its task moves to `ps-finished`.
//!
//! It prints `listening on ADDR` and `monitor on ADDR` (`--addr`, `--monitor`; port 0 picks
//! a free one). With `--demo` it connects two clients of its own, closes one, talks to its
//! own console — `ps`, `ps-finished`, `stats`, `quit` — prints what the console answered,
//! and exits. What `--demo` prints (ids, ports, times and counters are the run's own):
//!
//! ```text
//! listening on 127.0.0.1:7004
//! monitor on 127.0.0.1:7005
//! demo: 2 clients connected; closed the first
//! demo: the console at 127.0.0.1:7005 answered:
//! tempo monitor. commands: ps (live tasks), ps-finished (recently finished tasks and how they ended), stats (per-worker counters), help, quit
//! > ps
//! ID       WKR STATE       POLLS      BUSY       AGE  TASK                                     WAITING ON
//! 0.0        0 idle            1    26.9µs   842.9µs  "ticker" (examples/monitor_console.rs:134:10) timer, due in 999 ms
//! 1.1        0 idle            2    54.5µs   835.7µs  "accept loop" (examples/monitor_console.rs:137:10) read on socket #0
//! 3.3        0 idle            2    16.2µs   571.8µs  "conn 127.0.0.1:40238" (examples/monitor_console.rs:178:18) read on socket #4, timer, due in 300 s
//! 3 live tasks, 1 recently finished
//! > ps-finished
//! ID       WKR   POLLS      BUSY       AGO  TASK                                     HOW IT ENDED
//! 2.2        0       3   109.2µs    44.6ms  "conn 127.0.0.1:40226" (examples/monitor_console.rs:178:18) completed
//! > stats
//! worker 0:
//!   loop turns 11, in epoll_wait 84.589ms, io events 16, timers fired 0, long turns 0, run queue 0
//!   tasks: 3 live, 4 spawned, 8 polls, 8 wakes, 1 completed, 0 panicked, 0 cancelled, 0 slow polls
//!   timer lateness: no timers completed
//! blocking pool: PoolStats { threads: 0, idle_threads: 0, ... }
//! cpu pool: PoolStats { threads: 0, idle_threads: 0, ... }
//! > quit
//! ```
//!
//! Read the `ps` rows as aiomonitor's: the connection task is idle, waiting on its socket
//! and on its idle timeout's timer; the ticker waits on its next tick. A task stuck in a
//! long poll would show `running`, with its poll's busy time growing between two `ps`.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};
use tempo::task::{Builder, JoinSet};
use tempo::time::timeout;

const USAGE: &str =
    "usage: monitor_console [--addr HOST:PORT] [--monitor 127.0.0.1:PORT] [--tick-ms MS] [--demo]";
/// How long a client may stay silent before its connection is closed.
const IDLE: Duration = Duration::from_secs(300);
/// How long the demo waits for any one answer from the server or the console.
const DEMO_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("monitor_console: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // The one line that adds the console. It turns diagnostics on: each worker keeps a
    // table of its tasks, which is what `ps` reads.
    let runtime = match tempo::Builder::new().monitor(args.monitor).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!(
                "monitor_console: cannot start the runtime with a monitor on {}: {e}",
                args.monitor
            );
            return ExitCode::FAILURE;
        }
    };
    let Some(monitor) = runtime.monitor_addr() else {
        eprintln!("monitor_console: the runtime started without its monitor");
        return ExitCode::FAILURE;
    };
    match runtime.block_on(serve(args, monitor)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("monitor_console: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, announces both addresses, starts the named tasks, then serves until Ctrl-C — or,
/// with `--demo`, runs the demo and returns.
async fn serve(args: Args, monitor: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(args.addr.as_str()).await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    println!("monitor on {monitor}");

    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = Builder::new()
        .name("ticker")
        .spawn(ticker(args.tick, ticks.clone()));
    let accept = Builder::new()
        .name("accept loop")
        .spawn(accept_loop(listener, ticks));

    let result = if args.demo {
        demo(addr, monitor).await
    } else {
        // Serve until Ctrl-C; then the runtime's drop cancels every task.
        tempo::signal::ctrl_c().await
    };
    accept.abort();
    ticker.abort();
    result
}

/// The background task: ticks every `period`, counting.
async fn ticker(period: Duration, ticks: Arc<AtomicU64>) {
    let mut interval = tempo::time::interval(period);
    loop {
        interval.tick().await;
        ticks.fetch_add(1, Ordering::Relaxed);
    }
}

/// Accepts clients, one named task each; the set cancels them when this task ends.
async fn accept_loop(listener: TcpListener, ticks: Arc<AtomicU64>) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: report, breathe, go on.
                eprintln!("monitor_console: accept failed: {e}");
                tempo::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Forget the connections that have ended.
        while connections.try_join_next().is_some() {}
        let ticks = ticks.load(Ordering::Relaxed);
        connections.insert(
            Builder::new()
                .name(&format!("conn {peer}"))
                .spawn(connection(stream, peer, ticks)),
        );
    }
}

/// One client: a greeting, then every line back, until it closes or goes idle.
async fn connection(mut stream: TcpStream, peer: SocketAddr, ticks: u64) {
    let hello = format!("hello {peer}; the ticker has ticked {ticks} times; lines echo\n");
    if stream.write_all(hello.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = [0u8; 1024];
    loop {
        let n = match timeout(IDLE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// What a reader would do with two terminals and `nc`: two clients, one closed, then the
/// console's listing commands, their answers printed as they came.
async fn demo(addr: SocketAddr, monitor: SocketAddr) -> io::Result<()> {
    let mut first = TcpStream::connect(addr).await?;
    let mut second = TcpStream::connect(addr).await?;
    // Each greeting proves its connection's task is running.
    read_until(&mut first, b"\n").await?;
    read_until(&mut second, b"\n").await?;
    // Close the first and wait for the server's side to end: the end of stream comes
    // once its task has returned and dropped the socket.
    first.shutdown().await?;
    read_until(&mut first, b"").await?;
    println!("demo: 2 clients connected; closed the first");

    let mut console = TcpStream::connect(monitor).await?;
    println!("demo: the console at {monitor} answered:");
    let mut transcript = read_until(&mut console, b"> ").await?;
    for command in ["ps", "ps-finished", "stats"] {
        transcript.push_str(command);
        transcript.push('\n');
        console.write_all(format!("{command}\n").as_bytes()).await?;
        transcript.push_str(&read_until(&mut console, b"\n> ").await?);
    }
    console.write_all(b"quit\n").await?;
    transcript.push_str("quit\n");
    print!("{transcript}");
    // The second client is still connected here; `serve` returns and the runtime's drop
    // cancels its task, closing it.
    drop(second);
    Ok(())
}

/// Reads until what was read ends with `end` (an empty `end`: until the end of stream),
/// within `DEMO_TIMEOUT`.
async fn read_until(stream: &mut TcpStream, end: &[u8]) -> io::Result<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let reading = async {
        loop {
            let n = stream.read(&mut buf).await?;
            got.extend_from_slice(&buf[..n]);
            let done = if end.is_empty() {
                n == 0
            } else {
                got.ends_with(end)
            };
            if done {
                return Ok(());
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before the answer ended",
                ));
            }
        }
    };
    match timeout(DEMO_TIMEOUT, reading).await {
        Ok(result) => result?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no complete answer within {DEMO_TIMEOUT:?}"),
            ));
        }
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// The command line.
struct Args {
    /// Where the echo server listens.
    addr: String,
    /// Where the console listens; loopback only.
    monitor: SocketAddr,
    /// The ticker's period.
    tick: Duration,
    /// Run the demo and exit.
    demo: bool,
}

impl Args {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: "127.0.0.1:7004".to_string(),
            monitor: SocketAddr::from(([127, 0, 0, 1], 7005)),
            tick: Duration::from_millis(1000),
            demo: false,
        };
        while let Some(flag) = argv.next() {
            match flag.as_str() {
                "--demo" => args.demo = true,
                "--addr" => {
                    let value = argv.next().ok_or("--addr needs HOST:PORT")?;
                    if !value.contains(':') {
                        return Err(format!("--addr {value}: expected HOST:PORT"));
                    }
                    args.addr = value;
                }
                "--monitor" => {
                    let value = argv.next().ok_or("--monitor needs 127.0.0.1:PORT")?;
                    args.monitor = match value.parse::<SocketAddr>() {
                        // The console shows every task and its location: never off the
                        // machine. The runtime refuses it too; saying so here is clearer.
                        Ok(a) if a.ip().is_loopback() => a,
                        _ => {
                            return Err(format!(
                                "--monitor {value}: expected a loopback IP:PORT, such as 127.0.0.1:0"
                            ));
                        }
                    };
                }
                "--tick-ms" => {
                    let value = argv.next().ok_or("--tick-ms needs a value")?;
                    args.tick = match value.parse::<u64>() {
                        Ok(ms) if (1..=3_600_000).contains(&ms) => Duration::from_millis(ms),
                        _ => return Err(format!("--tick-ms {value}: expected 1..=3600000")),
                    };
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}
