//! Step 3 of a runtime built up step by step: the reactor alone — tempo's real one,
//! `tempo_reactor` — with no executor: register a socket, turn the reactor, and watch the
//! waker fire when the peer writes.
//!
//! ```text
//! cargo run --example 03_reactor                   # the peer writes 50 ms after asked
//! cargo run --example 03_reactor -- --delay-ms 500 # slow enough to watch
//! ```
//!
//! Reference seed 003 ("How it works") says where the waiting happens:
//!
//! ```text
//! fcntl(fd, F_SETFL, flags | O_NONBLOCK);
//! When reading from such a file descriptor, the kernel returns immediately if there's no
//! data available [...] Using system calls such as poll or epoll one can monitor multiple
//! file descriptors to see if I/O is possible on any of them.
//! ```
//!
//! and seed 001 ("Deep Dive: The Polling Mechanism") what the loop asks: "Which sockets have
//! data ready to read?" A *reactor* is that question, asked for every socket at once. We
//! register our end of a loopback connection with it ([`Registered`]: the socket, made
//! non-blocking, added to epoll edge-triggered, with a slot for a reader's waker). A read
//! that would block parks the waker in that slot and returns `Pending` — the future's half
//! of the contract of step 1. [`Reactor::turn`] is the other half: it sleeps in
//! `epoll_wait` until the kernel reports the socket ready (or the wait we allow runs out),
//! records the readiness and wakes the parked waker. Nobody polls here but us, so the
//! waker only prints and counts; in step 4 it puts a task back on the executor's queue.
//!
//! What it prints (the times are measured):
//!
//! ```text
//! [    0.3 ms] our end of 127.0.0.1:35027 <-> 127.0.0.1:34606 registered for reads
//! [    1.8 ms] read -> Pending (nothing to read: the waker is parked in the registration)
//! [    1.8 ms] turn(wait 0.0 ms): 0 I/O events, 0 wakers woken, 0.0 ms in epoll_wait
//! [   23.9 ms] turn(wait 20.0 ms): 0 I/O events, 0 wakers woken, 22.0 ms in epoll_wait
//! [   23.9 ms] peer: asked to write; writing in 50.0 ms
//! [   74.1 ms] waker: woken (wake #1)
//! [   74.1 ms] turn(wait forever): 1 I/O events, 1 wakers woken, 50.2 ms in epoll_wait
//! [   74.1 ms] read -> Ready: 6 bytes "hello\n"
//! [   74.1 ms] read -> Pending (WouldBlock: readiness cleared, the waker parked again)
//! [   74.1 ms] peer: asked to close; closing
//! [   74.2 ms] waker: woken (wake #2)
//! [   74.2 ms] turn(wait forever): 1 I/O events, 1 wakers woken, 0.0 ms in epoll_wait
//! [   74.2 ms] read -> Ready: 0 bytes: end of stream, the peer closed
//! wakes: 2; turns: 4; 72.2 ms in epoll_wait in all
//! ```
//!
//! The waker fires *inside* the turn (its line comes before the turn's own), in the turn's
//! last step, once every lock is let go.
//!
//! Edge-triggered means epoll reports a change once: after a wake, the reader must read
//! until `WouldBlock` (`Registration::poll_io` does) before it may wait again.
//!
//! Next: `04_loop`, where the executor of step 2 and this reactor take turns.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use mio::Interest;
use tempo_reactor::{Direction, Reactor, Registered};

fn main() -> ExitCode {
    let delay = match parse_args(std::env::args().skip(1)) {
        Ok(delay) => delay,
        Err(msg) => {
            eprintln!("03_reactor: {msg}\nusage: 03_reactor [--delay-ms MS]");
            return ExitCode::from(2);
        }
    };
    match run(delay) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("03_reactor: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(delay: Duration) -> io::Result<()> {
    let clock = Clock(Instant::now());
    let mut reactor = Reactor::new()?;
    // This thread's current reactor: `Registered::new` registers with it.
    let _entered = reactor.enter();

    // A connected pair on loopback: the peer (a plain blocking socket, on its own thread)
    // and our end, which the reactor watches.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let peer = TcpStream::connect(listener.local_addr()?)?;
    let (ours, _) = listener.accept()?;
    ours.set_nonblocking(true)?;
    let (local, remote) = (ours.local_addr()?, ours.peer_addr()?);
    let ours = Registered::with_interest(mio::net::TcpStream::from_std(ours), Interest::READABLE)?;
    clock.say(format_args!(
        "our end of {local} <-> {remote} registered for reads"
    ));
    let peer = Peer::start(peer, delay, clock);

    let counter = Arc::new(Counter {
        wakes: AtomicUsize::new(0),
        clock,
    });
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 64];
    let mut read = |cx: &mut Context<'_>| {
        // One non-blocking read, retried after readiness: steps 1–3 of the readiness
        // contract (reactor/src/io/readiness.rs), in `poll_io`.
        let polled = ours.poll_io(cx, Direction::Read, |mut socket| socket.read(&mut buf));
        match polled {
            Poll::Pending => None,
            Poll::Ready(Ok(n)) => Some(Ok(buf[..n].to_vec())),
            Poll::Ready(Err(e)) => Some(Err(e)),
        }
    };
    let mut in_epoll = Duration::ZERO;
    let mut turns = 0;
    let mut turn = |reactor: &mut Reactor, wait: Option<Duration>| -> io::Result<()> {
        let start = Instant::now();
        let stats = reactor.turn(wait)?;
        let took = start.elapsed();
        in_epoll += took;
        turns += 1;
        let wait = wait.map_or("forever".to_string(), |w| format!("{}", Ms(w)));
        clock.say(format_args!(
            "turn(wait {wait}): {} I/O events, {} wakers woken, {} in epoll_wait",
            stats.events,
            stats.woken,
            Ms(took)
        ));
        Ok(())
    };

    // Nothing has been written: the read parks our waker.
    expect_pending(
        read(&mut cx),
        clock,
        "nothing to read: the waker is parked in the registration",
    )?;
    // A turn that only looks (what the loop does when tasks are ready), and one that waits
    // at most 20 ms: nothing happens, and nobody is woken.
    turn(&mut reactor, Some(Duration::ZERO))?;
    turn(&mut reactor, Some(Duration::from_millis(20)))?;

    // Now the peer writes, `delay` from now; the turn sleeps in epoll_wait until it does.
    peer.ask(Ask::Write);
    let woken = counter.wakes.load(Ordering::Acquire);
    while counter.wakes.load(Ordering::Acquire) == woken {
        turn(&mut reactor, None)?;
    }
    match read(&mut cx) {
        Some(Ok(bytes)) => clock.say(format_args!(
            "read -> Ready: {} bytes {:?}",
            bytes.len(),
            String::from_utf8_lossy(&bytes)
        )),
        other => {
            return Err(io::Error::other(format!(
                "expected the peer's bytes, got {other:?}"
            )));
        }
    }
    // Read again: the socket is drained, so the kernel says WouldBlock; `poll_io` clears the
    // readiness the turn recorded and parks the waker for the next edge.
    expect_pending(
        read(&mut cx),
        clock,
        "WouldBlock: readiness cleared, the waker parked again",
    )?;

    // The peer closes: that is an event too, and the read that follows returns 0.
    peer.ask(Ask::Close);
    let woken = counter.wakes.load(Ordering::Acquire);
    while counter.wakes.load(Ordering::Acquire) == woken {
        turn(&mut reactor, None)?;
    }
    match read(&mut cx) {
        Some(Ok(bytes)) if bytes.is_empty() => {
            clock.say(format_args!(
                "read -> Ready: 0 bytes: end of stream, the peer closed"
            ));
        }
        other => {
            return Err(io::Error::other(format!(
                "expected end of stream, got {other:?}"
            )));
        }
    }
    peer.join();
    println!(
        "wakes: {}; turns: {turns}; {} in epoll_wait in all",
        counter.wakes.load(Ordering::Acquire),
        Ms(in_epoll)
    );
    Ok(())
}

fn expect_pending(polled: Option<io::Result<Vec<u8>>>, clock: Clock, why: &str) -> io::Result<()> {
    match polled {
        None => {
            clock.say(format_args!("read -> Pending ({why})"));
            Ok(())
        }
        Some(other) => Err(io::Error::other(format!("expected Pending, got {other:?}"))),
    }
}

/// The waker: counts and prints. (In step 4 a task's waker queues the task instead.)
struct Counter {
    /// Wakes so far.
    wakes: AtomicUsize,
    /// Stamps what it prints.
    clock: Clock,
}

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let n = self.wakes.fetch_add(1, Ordering::AcqRel) + 1;
        self.clock.say(format_args!("waker: woken (wake #{n})"));
    }
}

/// What the peer thread is asked to do next.
enum Ask {
    /// Wait the delay, then write a line.
    Write,
    /// Close the connection.
    Close,
}

/// The other end of the connection, on its own thread, doing what it is told.
struct Peer {
    /// Where its orders go.
    asks: mpsc::Sender<Ask>,
    /// The thread.
    thread: thread::JoinHandle<()>,
}

impl Peer {
    fn start(mut stream: TcpStream, delay: Duration, clock: Clock) -> Peer {
        let (asks, orders) = mpsc::channel();
        let thread = thread::spawn(move || {
            for ask in orders {
                match ask {
                    Ask::Write => {
                        clock.say(format_args!(
                            "peer: asked to write; writing in {}",
                            Ms(delay)
                        ));
                        thread::sleep(delay);
                        stream.write_all(b"hello\n").expect("write to our end");
                    }
                    Ask::Close => {
                        clock.say(format_args!("peer: asked to close; closing"));
                        return; // dropping the stream closes it
                    }
                }
            }
        });
        Peer { asks, thread }
    }

    fn ask(&self, ask: Ask) {
        self.asks.send(ask).expect("the peer thread is running");
    }

    fn join(self) {
        drop(self.asks);
        self.thread.join().expect("the peer thread does not panic");
    }
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

/// Reads the optional `--delay-ms MS` (default 50).
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Duration, String> {
    let mut delay = Duration::from_millis(50);
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--delay-ms" => {
                let text = argv.next().ok_or("--delay-ms needs a value")?;
                delay = match text.parse::<u64>() {
                    Ok(ms) if ms <= 60_000 => Duration::from_millis(ms),
                    _ => return Err(format!("--delay-ms {text}: expected 0..=60000")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(delay)
}
