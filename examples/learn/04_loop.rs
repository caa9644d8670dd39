//! Step 4 of a runtime built up step by step: the executor of step 2 and the reactor of
//! step 3 in one loop — tempo's worker, in a page — serving a small echo server.
//!
//! ```text
//! cargo run --example 04_loop                # two clients, one line each
//! cargo run --example 04_loop -- --clients 5 # more connections, more tasks
//! ```
//!
//! Reference seed 001 ("Key Takeaways") describes the loop:
//!
//! ```text
//! The Event Loop is a State Machine: It constantly cycles through checking queues,
//! running tasks, and waiting for I/O events.
//! ```
//!
//! asyncio writes it as `BaseEventLoop._run_once`: wait in `select` for at most the time to
//! the next timer, queue the callbacks of what became ready, run the ready queue. Our
//! [`block_on`] below is the same loop over tempo's real halves: the executor's run queue
//! (step 2) and the reactor's `epoll_wait` (step 3). Its five steps are numbered — and
//! worded — exactly as in tempo's own loop, `Worker::block_on` in `runtime/src/worker.rs`,
//! so that file reads as this one once you have read this (a test, `tests/learn.rs`, fails
//! if the two drift apart). What the real one adds: diagnostics, and an optional spin
//! before sleeping (`Builder::park_spin`).
//!
//! The glue between the halves is two lines in `main`: the executor's `unpark` is the
//! reactor's (a wake from another thread interrupts `epoll_wait`), and both are entered on
//! this thread, so that sockets register with this reactor and wakes land on this queue.
//!
//! The program: a listener on 127.0.0.1 (an ephemeral port), `--clients` client threads
//! that each send one line and wait for its echo, and a task per connection — spawned by
//! the `block_on` future, which then waits for them all. Each loop round prints its steps.
//!
//! What it prints (the times are measured; how the clients' bytes fall into rounds
//! varies from run to run):
//!
//! ```text
//! [    0.1 ms] listening on 127.0.0.1:44585; 2 clients connecting
//! -- round 1
//! [    0.3 ms]   1. block_on future polled -> Pending
//! [    0.3 ms]   2. ran 0 tasks
//! [    0.3 ms]   5. reactor.turn(wait forever): 0.0 ms in epoll_wait, 1 I/O events, 0 timers, 1 woken
//! -- round 2
//! [    0.3 ms] main: accepted connection 1, from 127.0.0.1:39212; spawned its task
//! [    0.3 ms]   1. block_on future polled -> Pending
//! [    0.3 ms]   2. ran 1 tasks
//! [    0.3 ms]   5. reactor.turn(wait forever): 0.0 ms in epoll_wait, 1 I/O events, 0 timers, 1 woken
//! -- round 3
//! [    0.3 ms] conn 1: read 20 bytes; echoing them
//! [    0.4 ms] client 127.0.0.1:39212: got its line back; closing
//! [    0.5 ms] conn 1: end of stream; task done
//! [    0.5 ms]   2. ran 1 tasks
//! [    0.5 ms]   5. reactor.turn(wait forever): 0.0 ms in epoll_wait, 1 I/O events, 0 timers, 1 woken
//! -- round 4
//! [    0.5 ms] main: accepted connection 2, from 127.0.0.1:39222; spawned its task
//! [    0.5 ms]   1. block_on future polled -> Pending
//! [    0.5 ms]   2. ran 1 tasks
//! [    0.5 ms]   5. reactor.turn(wait forever): 0.0 ms in epoll_wait, 1 I/O events, 0 timers, 1 woken
//! -- round 5
//! [    0.6 ms] conn 2: read 20 bytes; echoing them
//! [    0.6 ms] client 127.0.0.1:39222: got its line back; closing
//! [    0.6 ms] conn 2: end of stream; task done
//! [    0.6 ms]   2. ran 1 tasks
//! [    0.6 ms]   4. more is ready: round again, no epoll_wait
//! -- round 6
//! [    0.6 ms]   1. block_on future polled -> Ready
//! rounds: 6, reactor turns: 4, task polls: 4, 0.0 ms in epoll_wait; echoed 40 bytes
//! ```
//!
//! A new connection's first read parks even when its bytes have arrived: a registration
//! starts knowing nothing, and learns of readiness from the next turn (which then returns
//! at once). Step 1 runs only in the rounds where the `block_on` future was woken.
//!
//! Next: `05_timers`, which gives the reactor's turn a deadline.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use tempo_executor::OwnedExecutor;
use tempo_reactor::{Direction, Reactor, Registered};

/// Task polls between two looks at the reactor: tempo's default (`Builder::event_interval`).
const EVENT_INTERVAL: usize = 61;

fn main() -> ExitCode {
    let clients = match parse_args(std::env::args().skip(1)) {
        Ok(clients) => clients,
        Err(msg) => {
            eprintln!("04_loop: {msg}\nusage: 04_loop [--clients N]");
            return ExitCode::from(2);
        }
    };
    match run(clients) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("04_loop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(clients: usize) -> io::Result<()> {
    let clock = Clock(Instant::now());
    // The two halves, and the two lines that join them (see the header).
    let reactor = Reactor::new()?;
    let unpark = reactor.handle();
    let executor = OwnedExecutor::new(move || unpark.unpark());
    let _executor_entered = executor.enter();
    let _reactor_entered = reactor.enter();
    let reactor = RefCell::new(reactor);

    // Bound before the loop starts, so the clients can connect at once: the kernel queues
    // their connections until the server accepts them.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = std_listener.local_addr()?;
    std_listener.set_nonblocking(true)?;
    let listener = Registered::new(TcpListener::from_std(std_listener))?;
    clock.say(format_args!(
        "listening on {addr}; {clients} clients connecting"
    ));
    let client_threads: Vec<_> = (1..=clients)
        .map(|i| thread::spawn(move || client(i, addr, clock)))
        .collect();

    // The `block_on` future: accept every client, a task each, then wait for the tasks.
    let main_future = async {
        let mut tasks = Vec::new();
        for n in 1..=clients {
            let (stream, peer) = accept(&listener).await?;
            let stream = Registered::new(stream)?;
            tasks.push(tempo_executor::spawn_local(serve(n, stream, clock)));
            clock.say(format_args!(
                "main: accepted connection {n}, from {peer}; spawned its task"
            ));
        }
        let mut echoed = 0;
        for task in tasks {
            echoed += task.await.map_err(io::Error::other)??;
        }
        Ok::<usize, io::Error>(echoed)
    };
    let mut main_future = pin!(main_future);
    let main_waker = executor.main_waker();
    let mut cx = Context::from_waker(&main_waker);
    let mut tally = Tally::default();
    let echoed = block_on(
        &executor,
        &reactor,
        EVENT_INTERVAL,
        || main_future.as_mut().poll(&mut cx),
        &mut tally,
        clock,
    )?;
    for thread in client_threads {
        thread.join().expect("a client thread does not panic")?;
    }
    println!(
        "rounds: {}, reactor turns: {}, task polls: {}, {} in epoll_wait; echoed {echoed} bytes",
        tally.rounds,
        tally.turns,
        tally.polls,
        Ms(tally.in_epoll)
    );
    Ok(())
}

/// Run the loop until `poll_main` — the `block_on` future — returns `Ready`: the loop of
/// `runtime/src/worker.rs`, step for step, printing each step as it goes.
fn block_on<T>(
    executor: &OwnedExecutor,
    reactor: &RefCell<Reactor>,
    event_interval: usize,
    mut poll_main: impl FnMut() -> Poll<T>,
    tally: &mut Tally,
    clock: Clock,
) -> T {
    let mut main_woken = true; // poll it once to start
    let mut polled_since_turn = 0;
    loop {
        tally.rounds += 1;
        println!("-- round {}", tally.rounds);
        // 1. The block_on future. It counts against the batch like any task, or a main
        //    future that keeps yielding would never let the reactor turn.
        if main_woken {
            let polled = poll_main();
            let said = if polled.is_ready() {
                "Ready"
            } else {
                "Pending"
            };
            clock.say(format_args!("  1. block_on future polled -> {said}"));
            if let Poll::Ready(output) = polled {
                return output;
            }
            polled_since_turn += 1;
        }
        // 2. A bounded batch of ready tasks. A task that is always ready cannot starve the
        //    reactor: after `event_interval` polls, we look at I/O whatever happens.
        let batch = event_interval.saturating_sub(polled_since_turn);
        let ran = executor.run_ready(batch);
        polled_since_turn += ran;
        tally.polls += ran;
        clock.say(format_args!("  2. ran {ran} tasks"));
        // 3. Wakes and spawns from other threads. They wait in the executor's channel.
        let remote = executor.drain_remote();
        if remote > 0 {
            clock.say(format_args!(
                "  3. {remote} wakes and spawns from other threads"
            ));
        }
        main_woken = executor.take_main_woken();
        // 4. More to run and batch left: go round again without a syscall.
        let ready = main_woken || executor.has_ready();
        if ready && polled_since_turn < event_interval {
            clock.say(format_args!(
                "  4. more is ready: round again, no epoll_wait"
            ));
            continue;
        }
        // 5. Wait for I/O and timers — or, if tasks are ready, just look. The turn wakes
        //    the wakers of every socket that became ready (and every timer that expired,
        //    step 5 of these examples), which puts their tasks on the run queue.
        let max_wait = if ready { Some(Duration::ZERO) } else { None };
        let start = Instant::now();
        let turn = reactor
            .borrow_mut()
            .turn(max_wait)
            .expect("epoll_wait failed; the reactor cannot go on");
        let took = start.elapsed();
        tally.turns += 1;
        tally.in_epoll += took;
        let wait = max_wait.map_or("forever".into(), |w| Ms(w).to_string());
        clock.say(format_args!(
            "  5. reactor.turn(wait {wait}): {} in epoll_wait, {} I/O events, {} timers, {} woken",
            Ms(took),
            turn.events,
            turn.timers,
            turn.woken
        ));
        polled_since_turn = 0;
        executor.drain_remote();
        main_woken |= executor.take_main_woken();
    }
}

/// What the loop counted.
#[derive(Default)]
struct Tally {
    /// Times round the loop.
    rounds: usize,
    /// Reactor turns: `epoll_wait` calls.
    turns: usize,
    /// Task polls (not counting the `block_on` future).
    polls: usize,
    /// Time spent in the reactor's turns, mostly asleep in `epoll_wait`.
    in_epoll: Duration,
}

/// One connection's task: echo every line until the client closes. Returns the bytes
/// echoed.
async fn serve(n: usize, stream: Registered<TcpStream>, clock: Clock) -> io::Result<usize> {
    let mut buf = [0u8; 1024];
    let mut echoed = 0;
    loop {
        let got = read(&stream, &mut buf).await?;
        if got == 0 {
            clock.say(format_args!("conn {n}: end of stream; task done"));
            return Ok(echoed);
        }
        clock.say(format_args!("conn {n}: read {got} bytes; echoing them"));
        write_all(&stream, &buf[..got]).await?;
        echoed += got;
    }
}

/// `accept` as a future: try, and on `WouldBlock` park the waker with the reactor.
async fn accept(listener: &Registered<TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    poll_fn(|cx| listener.poll_io(cx, Direction::Read, |l| l.accept())).await
}

/// `read` as a future, the same way.
async fn read(stream: &Registered<TcpStream>, buf: &mut [u8]) -> io::Result<usize> {
    poll_fn(|cx| stream.poll_io(cx, Direction::Read, |mut s| s.read(buf))).await
}

/// `write_all` as a future: write until everything is out, waiting whenever the kernel's
/// send buffer is full.
async fn write_all(stream: &Registered<TcpStream>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = poll_fn(|cx| stream.poll_io(cx, Direction::Write, |mut s| s.write(bytes))).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
    }
    Ok(())
}

/// A client thread: one line out, its echo back, then close. Blocking std sockets, with
/// timeouts so that a broken server fails the run instead of hanging it.
fn client(i: usize, addr: SocketAddr, clock: Clock) -> io::Result<()> {
    let stream = StdStream::connect(addr)?;
    let me = stream.local_addr()?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let line = format!("hello from client {i}\n");
    (&stream).write_all(line.as_bytes())?;
    let mut echo = String::new();
    BufReader::new(&stream).read_line(&mut echo)?;
    if echo != line {
        return Err(io::Error::other(format!(
            "client {me}: sent {line:?}, got {echo:?}"
        )));
    }
    clock.say(format_args!("client {me}: got its line back; closing"));
    Ok(())
}

/// A duration, printed in milliseconds.
struct Ms(Duration);

impl std::fmt::Display for Ms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1e3)
    }
}

/// The clock every line is stamped against.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Prints `what`, stamped with the milliseconds since the start.
    fn say(self, what: std::fmt::Arguments<'_>) {
        println!("[{:>7.1} ms] {what}", self.0.elapsed().as_secs_f64() * 1e3);
    }
}

/// Reads the optional `--clients N` (default 2).
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<usize, String> {
    let mut clients = 2;
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--clients" => {
                let text = argv.next().ok_or("--clients needs a value")?;
                clients = match text.parse::<usize>() {
                    Ok(n) if (1..=100).contains(&n) => n,
                    _ => return Err(format!("--clients {text}: expected 1..=100")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(clients)
}
