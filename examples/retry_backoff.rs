//! Retries with exponential backoff and jitter, against a server that really fails.
//!
//! ```text
//! cargo run --example retry_backoff                          # 4 failures, then success
//! cargo run --example retry_backoff -- --fail 10 --attempts 4   # gives up, exit status 1
//! cargo run --example retry_backoff -- --base-ms 20 --cap-ms 100 --timeout-ms 200  # faster
//! ```
//!
//! Reference seed 001 ("Advanced: Retry Logic with Decorators", "Pro-Tip: Exponential
//! Backoff"):
//!
//! ```text
//! Never retry immediately. Use exponential backoff to space out your retries. If the first
//! retry fails, wait 2^1 seconds. If that fails, wait 2^2 seconds.
//! Be careful not to create a "thundering herd" problem where all your services retry
//! simultaneously, overwhelming the server.
//! ```
//!
//! The seed writes the retry as a Python decorator around an `async def`; the Rust shape of
//! a decorator is a function that takes the operation as a closure returning a future —
//! [`retry`] below — so any async operation can be retried without changing it.
//!
//! **The flaky server** runs in this same process, as a tempo task on `127.0.0.1:0`. Its
//! first `--fail` connections fail, in turn, the three ways a real service fails: it closes
//! the connection without a word; it answers `ERR 503 busy`; it accepts and never answers
//! (only a timeout gets the client out of that one). Every later connection gets `OK`.
//!
//! **The client** makes up to `--attempts` attempts, each wrapped in `timeout`
//! (`asyncio.wait_for`): a timed-out attempt's future is dropped, which closes its socket,
//! and the server sees the client go. After failed attempt *n* (counting from 0) it waits
//!
//! ```text
//! backoff = min(cap, base · 2^n)          exponential, but bounded
//! delay   = backoff + jitter,  jitter uniform in [0, backoff/2)
//! ```
//!
//! The jitter is the thundering-herd cure: a thousand clients that failed together would
//! otherwise retry together, at exactly base, 2·base, 4·base... and fail together again.
//! Its randomness comes from std alone: `RandomState`, the seed std draws from the OS for
//! `HashMap`'s keys (each `RandomState::new()` differs), hashing nothing.
//!
//! After the last attempt it gives up with the last error and exit status 1 — a retry loop
//! that never gives up turns an outage into a hang.
//!
//! What it prints (every figure measured in the run; the jitter differs each run):
//!
//! ```text
//! flaky server on 127.0.0.1:40123: the first 4 connections fail
//! policy: 6 attempts, backoff min(2000 ms, 100 ms · 2^n) + jitter in [0, backoff/2), 1000 ms timeout each
//! [0.000 s] attempt 1 ...
//!   server: connection 1: closing it without a reply
//! [0.001 s] attempt 1 failed after 0.8 ms: closed without a reply
//!           backoff 100.0 ms + jitter 31.4 ms = 131.4 ms; slept 131.6 ms
//! [0.133 s] attempt 2 ...
//!   server: connection 2: answering ERR 503 busy
//! [0.134 s] attempt 2 failed after 0.6 ms: server said "ERR 503 busy"
//!           backoff 200.0 ms + jitter 88.0 ms = 288.0 ms; slept 288.2 ms
//! [0.423 s] attempt 3 ...
//!   server: connection 3: never answering
//! [1.424 s] attempt 3 failed after 1000.9 ms: timed out
//!   server: connection 3: the client gave up and closed
//!           backoff 400.0 ms + jitter 12.9 ms = 412.9 ms; slept 413.1 ms
//! ...
//! [2.650 s] attempt 5 succeeded after 0.5 ms
//! succeeded on attempt 5 of 6 after 2.650 s with "OK hello from connection 5"; the server
//! saw 5 connections
//! ```

use std::future::Future;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempo::net::{TcpListener, TcpStream};
use tempo::task::JoinSet;
use tempo::time::{sleep, timeout};

const USAGE: &str =
    "usage: retry_backoff [--fail N] [--attempts N] [--base-ms MS] [--cap-ms MS] [--timeout-ms MS]";

/// The longest reply line the client reads.
const MAX_REPLY: usize = 256;

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("retry_backoff: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match tempo::run(lesson(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("retry_backoff: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the flaky server, retries against it, and says how it went. `Ok(false)` if the
/// client gave up.
async fn lesson(args: Args) -> io::Result<bool> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    println!(
        "flaky server on {addr}: the first {} connections fail",
        args.fail
    );
    let seen = Arc::new(AtomicUsize::new(0));
    let server = tempo::spawn(flaky_server(listener, args.fail, seen.clone()));
    let policy = args.policy;
    println!(
        "policy: {} attempts, backoff min({} ms, {} ms · 2^n) + jitter in [0, backoff/2), {} ms timeout each",
        policy.attempts,
        policy.cap.as_millis(),
        policy.base.as_millis(),
        policy.timeout.as_millis()
    );

    let t0 = Instant::now();
    let outcome = retry(&policy, t0, || fetch(addr)).await;
    let total = t0.elapsed().as_secs_f64();
    // The server is a task of this runtime: it would be cancelled when `run` returns
    // anyway; aborting it says so.
    server.abort();
    let connections = seen.load(Ordering::SeqCst);
    match outcome {
        Ok(Success { attempt, value }) => {
            println!(
                "succeeded on attempt {attempt} of {} after {total:.3} s with {value:?}; the server saw {connections} connections",
                policy.attempts
            );
            Ok(true)
        }
        Err(GaveUp { attempts, last }) => {
            println!(
                "gave up after {attempts} attempts and {total:.3} s; the server saw {connections} connections"
            );
            eprintln!("retry_backoff: gave up after {attempts} attempts; last error: {last}");
            Ok(false)
        }
    }
}

/// How to retry.
#[derive(Clone, Copy, Debug)]
struct Policy {
    /// Most attempts in all, the first included.
    attempts: u32,
    /// The backoff after the first failure.
    base: Duration,
    /// The longest backoff, however many failures.
    cap: Duration,
    /// How long one attempt may take.
    timeout: Duration,
}

impl Policy {
    /// `min(cap, base · 2^n)` after failed attempt `n`, counting from 0.
    fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// The operation's value, and which attempt produced it.
struct Success<T> {
    /// 1-based.
    attempt: u32,
    /// What the successful attempt returned.
    value: T,
}

/// Every attempt failed.
struct GaveUp {
    /// How many were made.
    attempts: u32,
    /// Why the last one failed.
    last: io::Error,
}

/// The decorator of the seed: run `op` until it succeeds, each attempt under the policy's
/// timeout, sleeping `backoff + jitter` between attempts, at most `policy.attempts` times.
/// `op` makes a fresh future per attempt, since a future runs once.
async fn retry<T, F, Fut>(policy: &Policy, t0: Instant, mut op: F) -> Result<Success<T>, GaveUp>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let stamp = || format!("[{:.3} s]", t0.elapsed().as_secs_f64());
    let mut n = 0;
    loop {
        let attempt = n + 1;
        println!("{} attempt {attempt} ...", stamp());
        let started = Instant::now();
        // `asyncio.wait_for(op(), timeout)`: if the attempt is not done in time, its future
        // is dropped — the socket inside it closes — and we get `Err(Elapsed)`.
        let result = match timeout(policy.timeout, op()).await {
            Ok(result) => result,
            Err(_elapsed) => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        };
        let took = ms(started.elapsed());
        let error = match result {
            Ok(value) => {
                println!("{} attempt {attempt} succeeded after {took:.1} ms", stamp());
                return Ok(Success { attempt, value });
            }
            Err(e) => e,
        };
        println!(
            "{} attempt {attempt} failed after {took:.1} ms: {error}",
            stamp()
        );
        if attempt >= policy.attempts {
            return Err(GaveUp {
                attempts: attempt,
                last: error,
            });
        }
        let backoff = policy.backoff(n);
        let jitter = backoff.mul_f64(random_fraction() / 2.0);
        let delay = backoff + jitter;
        let slept = Instant::now();
        sleep(delay).await;
        println!(
            "          backoff {:.1} ms + jitter {:.1} ms = {:.1} ms; slept {:.1} ms",
            ms(backoff),
            ms(jitter),
            ms(delay),
            ms(slept.elapsed())
        );
        n += 1;
    }
}

/// A number in `[0, 1)`, different each call and each run, from std alone: every
/// `RandomState::new()` has fresh keys (seeded from the OS once per thread, then stepped),
/// so hashing nothing with it gives an unpredictable 64-bit value. Not for cryptography;
/// plenty for spreading retries apart.
fn random_fraction() -> f64 {
    let bits = RandomState::new().build_hasher().finish();
    // The top 53 bits, as the mantissa of a double in [0, 1).
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// One attempt: connect, read one line, and call anything but `OK ...` a failure.
async fn fetch(addr: SocketAddr) -> io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut buf = [0u8; MAX_REPLY];
    let mut len = 0;
    // Read until a newline, the end of the stream, or a full buffer.
    while !buf[..len].contains(&b'\n') && len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    if len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed without a reply",
        ));
    }
    let reply = String::from_utf8_lossy(&buf[..len]).trim().to_string();
    if reply.starts_with("OK") {
        Ok(reply)
    } else {
        Err(io::Error::other(format!("server said {reply:?}")))
    }
}

/// The flaky service: connection `k` (from 1) fails if `k <= fail`, in the three ways in
/// turn; later connections succeed. Counts connections in `seen`.
async fn flaky_server(listener: TcpListener, fail: usize, seen: Arc<AtomicUsize>) {
    // The connection tasks; dropping the set (when this task is aborted) cancels them.
    let mut connections = JoinSet::new();
    loop {
        let mut stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // On loopback with a handful of connections this does not happen; if it
                // does, the client's attempt times out and is retried like any failure.
                println!("  server: accept failed: {e}");
                continue;
            }
        };
        let k = seen.fetch_add(1, Ordering::SeqCst) + 1;
        // Forget the connections that have ended.
        while connections.try_join_next().is_some() {}
        // Each connection is a task of its own, so one that hangs does not stop the
        // accept loop (the client's next attempt must still get through).
        connections.spawn(async move {
            if k > fail {
                println!("  server: connection {k}: answering OK");
                let reply = format!("OK hello from connection {k}\n");
                let _ = stream.write_all(reply.as_bytes()).await;
                return;
            }
            match (k - 1) % 3 {
                0 => println!("  server: connection {k}: closing it without a reply"),
                1 => {
                    println!("  server: connection {k}: answering ERR 503 busy");
                    let _ = stream.write_all(b"ERR 503 busy\n").await;
                }
                _ => {
                    println!("  server: connection {k}: never answering");
                    // Hold the connection until the client closes it: the read ends at
                    // its end of stream (or a reset).
                    let mut sink = [0u8; 64];
                    while let Ok(n) = stream.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                    println!("  server: connection {k}: the client gave up and closed");
                }
            }
            // Dropping the stream closes the connection.
        });
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The command line.
struct Args {
    /// How many connections the server fails before it starts answering.
    fail: usize,
    /// The retry policy.
    policy: Policy,
}

impl Args {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            fail: 4,
            policy: Policy {
                attempts: 6,
                base: Duration::from_millis(100),
                cap: Duration::from_millis(2000),
                timeout: Duration::from_millis(1000),
            },
        };
        while let Some(flag) = argv.next() {
            let value = argv.next().ok_or(format!("{flag} needs a value"))?;
            let number = |range: std::ops::RangeInclusive<u64>| -> Result<u64, String> {
                match value.parse::<u64>() {
                    Ok(n) if range.contains(&n) => Ok(n),
                    _ => Err(format!(
                        "{flag} {value}: expected a number in {}..={}",
                        range.start(),
                        range.end()
                    )),
                }
            };
            match flag.as_str() {
                "--fail" => args.fail = number(0..=1000)? as usize,
                "--attempts" => args.policy.attempts = number(1..=30)? as u32,
                "--base-ms" => args.policy.base = Duration::from_millis(number(1..=60_000)?),
                "--cap-ms" => args.policy.cap = Duration::from_millis(number(1..=600_000)?),
                "--timeout-ms" => {
                    args.policy.timeout = Duration::from_millis(number(1..=600_000)?);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if args.policy.cap < args.policy.base {
            return Err("--cap-ms must be at least --base-ms".to_string());
        }
        Ok(args)
    }
}
