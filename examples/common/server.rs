//! The skeleton every tempo example server shares: listen, accept under a cap, back off when
//! the process runs out of descriptors, stop gracefully on a signal, and — with several
//! workers — do all of that once per core. `echo`, `hex`, `http_hello`, `jobs` and
//! `blocking_lab` include this file with
//!
//! ```text
//! #[path = "common/server.rs"]
//! mod server;
//! ```
//!
//! and keep in their own file only their lesson: what a connection's task does, and their
//! own flags and limits. (Cargo builds only the files directly in `examples/` as examples,
//! so this one is not a program of its own.)
//!
//! In the asyncio texts all of this is one call, `asyncio.start_server(handle, host, port)`
//! and its `serve_forever()`: asyncio binds, accepts, and `create_task`s `handle` for each
//! connection itself. Here the loop is written out, because a server on the open network
//! must decide things `start_server` decides for you, and because writing it out is how
//! one learns what an event-loop server does.
//!
//! # The pieces, and why each is there
//!
//! 1. **Listen** ([`listen`]). Bind the socket; listen for `SIGINT` and `SIGTERM`
//!    ([`StopSignals`], asyncio's `loop.add_signal_handler`) *before* saying we are up,
//!    since until then a `SIGTERM` still kills the process at once; then print
//!    `listening on ADDR` ([`announce`]) with the address the kernel gave us, so that
//!    `--addr 127.0.0.1:0` reports a real port. Tests and scripts wait for that line.
//! 2. **Accept** ([`accept_until`]). `while True: conn = await accept();
//!    create_task(handle(conn))`, with every connection's task kept in a `JoinSet`, so that
//!    the shutdown can wait for it and cancel it. One `tempo::select!` races, in this order,
//!    the stop signal, a connection task that ended (reaped from the set), and a new
//!    connection.
//! 3. **Cap** ([`Config::max_conns`]). Over the cap a new connection is accepted and closed
//!    at once; the count is the length of the `JoinSet`. The asyncio texts cap concurrency
//!    with a `Semaphore`, which makes the surplus *wait*; a server sheds load instead,
//!    because a waiting connection still costs a file descriptor and kernel buffers.
//! 4. **Back off** ([`ACCEPT_BACKOFF`]). When `accept` fails because the process is out of
//!    descriptors (`EMFILE`) or the kernel out of memory, the connection stays in the
//!    kernel's queue and the listener stays readable: retrying at once would spin at 100 %
//!    CPU. We rest briefly, with an async sleep so that open connections go on being served
//!    (and may close, freeing descriptors). asyncio's own accept loop does the same: it logs
//!    "out of system resource" and stops accepting for a second. We log an episode twice
//!    only — when accepting starts to fail, and when it works again, with how many attempts
//!    failed in between — not every retry, which would be 36 000 lines an hour.
//! 5. **Stop gracefully** ([`serve`], [`drain`]). On `SIGINT` (Ctrl-C) or `SIGTERM`
//!    (`kill`, systemd, the "Kubernetes kills pods" of the asyncio texts) the server
//!    1. closes its listening socket: new connections are refused, and any the kernel had
//!       queued but we had not accepted are reset — asyncio's `server.close()`;
//!    2. lets the open connections finish for up to the grace period (`--grace-secs`) —
//!       `asyncio.wait(tasks, timeout=grace)`; a second signal cuts the wait short;
//!    3. cancels what is still open and returns, so the program exits with status 0.
//!
//!    asyncio cancels with `task.cancel()`, which raises `CancelledError` at the task's
//!    `await` for it to catch and clean up. A Rust future has nothing to catch: cancelling
//!    it is dropping it, and its cleanup is its locals' destructors — the `TcpStream`'s
//!    closes the socket, and the client reads end of stream.
//! 6. **Shard across workers** ([`serve_sharded`]). tempo is thread-per-core: with N
//!    workers, each gets its own listening socket on the same port
//!    (`TcpListener::bind_sharded`, `SO_REUSEPORT` on Linux, where the kernel spreads the
//!    connections) and runs steps 1 to 5 by itself, with the connection cap split between
//!    them. No connection crosses a thread, and a stop signal reaches every worker. asyncio
//!    has one loop per process; its answer to many cores is N processes on one port
//!    (gunicorn's workers), which this is, in one process.
//!
//! # What an example brings
//!
//! A name and two limits ([`Config`]), and a closure `|stream, peer| -> JoinHandle<()>`
//! that *spawns* the connection's task — `create_task(handle(reader, writer))`:
//!
//! ```text
//! let (listener, stop) = server::listen(&args.addr).await?;
//! server::serve(listener, config, stop, |stream, peer| {
//!     tempo::spawn(connection(stream, peer, idle))
//! })
//! .await;
//! ```
//!
//! The example spawns, not the skeleton, so that the task's spawn location — which task
//! dumps and slow-poll warnings print — is the example's own line, and so that it may name
//! the task (`tempo::task::Builder::name`, asyncio's `create_task(coro, name=...)`), as
//! `jobs` and `blocking_lab` do. An example that must act between two steps of the
//! shutdown calls [`accept_until`] and [`drain`] itself (`http_hello` tells its keep-alive
//! connections that the server is stopping); one with a different stop calls
//! [`accept_until`] with its own future (`blocking_lab --demo` stops when its clients are
//! done).
//!
//! | asyncio                                        | here                                   |
//! | ---------------------------------------------- | -------------------------------------- |
//! | `asyncio.start_server(handle, host, port)`     | [`listen`], then [`serve`]             |
//! | `asyncio.create_task(handle(reader, writer))`  | the example's `spawn` closure          |
//! | `loop.add_signal_handler(signal.SIGTERM, ...)` | [`StopSignals`]                        |
//! | `server.close()`                               | dropping the `TcpListener`             |
//! | `asyncio.wait(tasks, timeout=grace)`           | [`drain`], step 5.2                    |
//! | `task.cancel()`, `except CancelledError`       | [`drain`], step 5.3: futures dropped   |
//!
//! Last, the helpers the examples' hand-written command lines share: [`parse_args`] (the
//! `--help` and exit-code conventions), [`parse_addr`] and [`parse_secs`].
//!
//! Shortcuts, labelled: the backoff is a fixed 100 ms, where a production server might
//! instead stop accepting until a connection closes; a connection over the cap is closed
//! without a word, where an HTTP server might first answer `503 Service Unavailable`.

#![allow(
    dead_code,
    reason = "shared by several examples, each of which uses part of it"
)]

use std::future::Future;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempo::net::{TcpListener, TcpStream};
use tempo::signal::{Signal, SignalKind, signal};
use tempo::task::{JoinHandle, JoinSet};
use tempo::time::sleep;

/// How long the accept loop rests after an error such as `EMFILE` (see [`accept_until`]).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the skeleton needs to know about one example's server.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The example's name: every line the skeleton writes to stderr starts with it
    /// (`echo: accept failed: ...`).
    pub name: &'static str,
    /// Most connections served at once, on one worker ([`serve_sharded`] gives each worker
    /// its share).
    pub max_conns: usize,
    /// How long open connections get to finish once a stop signal comes.
    pub grace: Duration,
}

/// Step 1: binds `addr`, listens for the stop signals, then says we are up.
///
/// Errors here (address in use, bad address, no permission) end the program: there is no
/// server to run without a listening socket.
pub async fn listen(addr: &str) -> io::Result<(TcpListener, StopSignals)> {
    let listener = TcpListener::bind(addr).await?;
    // Before announcing: from then on a `SIGTERM` must mean "shut down gracefully", not the
    // default action, which kills at once.
    let stop = StopSignals::listen()?;
    announce(listener.local_addr()?)?;
    Ok((listener, stop))
}

/// Prints the address the kernel actually gave us, so `--addr 127.0.0.1:0` reports a real
/// port; tests and scripts wait for exactly this line, so it is flushed at once.
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    println!("listening on {addr}");
    io::stdout().flush()
}

/// Steps 2 to 5 on one listener: accepts connections, spawning each one's task with
/// `spawn`, until a stop signal comes; then closes the listener and shuts down gracefully.
/// The whole server, on one worker.
pub async fn serve<S>(listener: TcpListener, config: Config, mut stop: StopSignals, spawn: S)
where
    S: FnMut(TcpStream, SocketAddr) -> JoinHandle<()>,
{
    let mut conns = JoinSet::new();
    let signal = accept_until(&listener, config, &mut conns, stop.recv(), spawn).await;
    // Step 5.1: closing the listening socket refuses new connections.
    drop(listener);
    drain(conns, config, signal, &mut stop).await;
}

/// Steps 2 to 4: accepts connections, each into a task that `spawn` starts and `conns`
/// keeps, until `stop` completes; returns its output. `stop` is [`StopSignals::recv`] for
/// a server, and any future a program likes otherwise (`blocking_lab --demo` passes its
/// clients' JoinHandle). The tasks still in `conns` when it returns are the caller's to
/// wait for ([`drain`]) or cancel.
pub async fn accept_until<T, S>(
    listener: &TcpListener,
    config: Config,
    conns: &mut JoinSet<()>,
    stop: impl Future<Output = T>,
    mut spawn: S,
) -> T
where
    S: FnMut(TcpStream, SocketAddr) -> JoinHandle<()>,
{
    let name = config.name;
    // Step 4's episode of failing accepts, while one lasts: how many attempts failed, and
    // since when. Reported once as it starts and once as it ends.
    let mut failing: Option<(u64, Instant)> = None;
    // Pinned once, outside the loop: `stop` must survive every round it loses. (The stop
    // signals' `recv` could be made afresh each round; a JoinHandle must not be dropped.)
    let mut stop = pin!(stop);
    loop {
        let (stream, peer) = tempo::select! {
            // `biased`: the branches are polled in this order. Stopping wins every tie, so
            // once asked to stop we accept no more; reaping comes before accepting, so the
            // set's length counts only live connections when the cap is checked.
            biased;
            out = &mut stop => return out,
            // A connection task ended. It reported its own ending; we only take it out of
            // the set. An empty set gives `None`, which disables this branch for the round.
            Some(joined) = conns.join_next() => {
                // A task that panicked: a bug in the example, but only this connection's.
                if let Err(e) = joined {
                    eprintln!("{name}: a connection task failed: {e}");
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(conn) => {
                    if let Some((failures, since)) = failing.take() {
                        eprintln!(
                            "{name}: accepting again after {failures} failed attempt(s) over \
                             {:.1?}",
                            since.elapsed()
                        );
                    }
                    conn
                }
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
                // Step 4, the backoff. Anything else is the process or the system running
                // out of something: EMFILE (our open-file limit), ENFILE (the system's),
                // ENOBUFS/ENOMEM (kernel memory). The connection stays in the backlog, so
                // the listener stays readable and retrying at once would spin. Say so,
                // rest — an async sleep, so open connections keep being served and may
                // close, freeing descriptors — then try again. (A stop that comes meanwhile
                // waits for the next round; it is not lost.) Said once per episode: the
                // retries are counted, and the recovery reports the count.
                Err(e) => {
                    match &mut failing {
                        Some((failures, _)) => *failures += 1,
                        None => {
                            eprintln!(
                                "{name}: accept failed: {e}; retrying every \
                                 {ACCEPT_BACKOFF:?} until it succeeds"
                            );
                            failing = Some((1, Instant::now()));
                        }
                    }
                    sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };

        // Step 3, the cap. Over it: dropping the stream closes it, and the client reads EOF.
        if conns.len() >= config.max_conns {
            eprintln!(
                "{name}: {peer}: refused, {} connections open",
                config.max_conns
            );
            drop(stream);
            continue;
        }
        // One task per connection — `asyncio.create_task(handle(reader, writer))`, spawned
        // by the example — kept in the set so that the shutdown can wait for it, and cancel
        // it.
        conns.insert(spawn(stream, peer));
    }
}

/// Steps 5.2 and 5.3, once the listener is closed (5.1): gives the open connections up
/// to the grace period to finish, then cancels the rest. A second stop signal ends the wait
/// at once.
pub async fn drain(
    mut conns: JoinSet<()>,
    config: Config,
    signal: SignalKind,
    stop: &mut StopSignals,
) {
    let grace = config.grace;
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

/// Steps 1 to 5 on every worker of the runtime this runs on: one listening socket per
/// worker on `addr`, and on each worker the server `serve_on` — usually [`serve`] with the
/// example's `spawn` — given that worker's listener, its share of the connection cap, and
/// its own stop signals. Announces once, when every worker listens for the signals; returns
/// when every worker has stopped.
///
/// With one worker this is [`listen`], then `serve_on` on the current thread.
pub async fn serve_sharded<W, Fut>(addr: &str, config: Config, serve_on: W) -> io::Result<()>
where
    W: Fn(TcpListener, Config, StopSignals) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let handle = tempo::Handle::current();
    let workers = handle.workers();
    if workers == 1 {
        let (listener, stop) = listen(addr).await?;
        serve_on(listener, config, stop).await;
        return Ok(());
    }
    // One socket per worker on one port; each worker serves its own.
    let sharded = TcpListener::bind_sharded(addr).await?;
    let addr = sharded.local_addr();
    let share = Config {
        max_conns: config.max_conns.div_ceil(workers),
        ..config
    };
    let serve_on = Arc::new(serve_on);
    let mut shards = JoinSet::new();
    let mut listening = Vec::new();
    for (worker, socket) in sharded.into_std().into_iter().enumerate() {
        let serve_on = Arc::clone(&serve_on);
        let (ready, is_ready) = tempo::sync::oneshot::channel();
        listening.push(is_ready);
        shards.insert(handle.spawn_on(worker, async move {
            // Adopted here, so it registers with this worker's reactor.
            let listener = TcpListener::from_std(socket)?;
            let stop = StopSignals::listen()?;
            let _ = ready.send(());
            serve_on(listener, share, stop).await;
            Ok::<(), io::Error>(())
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

/// The signals that ask the server to stop: `SIGINT` (Ctrl-C) and `SIGTERM` (`kill`).
pub struct StopSignals {
    /// `SIGINT` deliveries.
    interrupt: Signal,
    /// `SIGTERM` deliveries.
    terminate: Signal,
}

impl StopSignals {
    /// Starts listening. From here on neither signal ends the process by itself.
    pub fn listen() -> io::Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::Interrupt)?,
            terminate: signal(SignalKind::Terminate)?,
        })
    }

    /// Waits for either signal and says which. Cancellation-safe, like `Signal::recv`: a
    /// `select!` that drops it loses no signal.
    pub async fn recv(&mut self) -> SignalKind {
        tempo::select! {
            Some(()) = self.interrupt.recv() => SignalKind::Interrupt,
            Some(()) = self.terminate.recv() => SignalKind::Terminate,
            // A signal stream ends only when its runtime shuts down, and we run on it.
            else => unreachable!("signal streams outlive the runtime they are awaited on"),
        }
    }
}

/// The command line, parsed by `parse` from the program's arguments — or, when there is
/// nothing to run, the status `main` should return at once: 0 after printing `usage` for
/// `--help` (which `parse` reports as an empty error), 2 after printing the mistake and the
/// usage.
pub fn parse_args<A>(
    name: &str,
    usage: &str,
    parse: impl FnOnce(std::iter::Skip<std::env::Args>) -> Result<A, String>,
) -> Result<A, ExitCode> {
    match parse(std::env::args().skip(1)) {
        Ok(args) => Ok(args),
        // `--help` asked for the usage: it is not an error.
        Err(msg) if msg.is_empty() => {
            println!("{usage}");
            Err(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("{name}: {msg}\n{usage}");
            Err(ExitCode::from(2))
        }
    }
}

/// Checks the value of `--addr`: `HOST:PORT`. Fails early on a malformed address; host
/// names are left to `bind`.
pub fn parse_addr(addr: String) -> Result<String, String> {
    if addr.contains(':') {
        Ok(addr)
    } else {
        Err(format!("--addr {addr}: expected HOST:PORT"))
    }
}

/// Parses a positive number of seconds, fractions allowed (`0.5`), at most a day.
pub fn parse_secs(flag: &str, text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= MAX_SECS => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!(
            "{flag} {text}: expected a positive number of seconds, at most {MAX_SECS} (a day)"
        )),
    }
}

/// The longest any of the servers' durations may be: a day. Past it a deadline is
/// indistinguishable from none, and far past it (`1e300`) `Duration` cannot hold the
/// number and a deadline computed from it would overflow `Instant`.
const MAX_SECS: f64 = 86_400.0;

// The flag helpers, checked without a runtime; these run in every example that includes
// this file (`cargo test --examples`). `tests/examples.rs` and `tests/http.rs` check the
// skeleton end to end: the cap, the shutdown lines, two workers.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_positive_and_at_most_a_day() {
        assert_eq!(parse_secs("--grace-secs", "5"), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_secs("--idle-secs", "0.5"),
            Ok(Duration::from_millis(500))
        );
        for bad in ["0", "-1", "NaN", "inf", "", "five", "1e300", "86401"] {
            assert_eq!(
                parse_secs("--grace-secs", bad),
                Err(format!(
                    "--grace-secs {bad}: expected a positive number of seconds, at most 86400 (a day)"
                )),
            );
        }
    }

    #[test]
    fn an_address_is_host_colon_port() {
        assert_eq!(parse_addr("127.0.0.1:0".into()), Ok("127.0.0.1:0".into()));
        assert_eq!(parse_addr("[::1]:7000".into()), Ok("[::1]:7000".into()));
        assert_eq!(
            parse_addr("localhost".into()),
            Err("--addr localhost: expected HOST:PORT".into())
        );
    }
}
