//! The decimal → hex line server of reference seed 003, the second of its three versions:
//! blocking std sockets, **a thread per client**.
//!
//! Run it, then connect from two terminals at the same time:
//!
//! ```text
//! cargo run --example hex_threads                  # listens on 127.0.0.1:65432
//! nc 127.0.0.1 65432       # terminal 2: type 4312, get 0x10d8; keep it open
//! nc 127.0.0.1 65432       # terminal 3: type 1234, get 0x4d2 at once
//! ```
//!
//! Both are answered, as in the seed's "Threads" section:
//!
//! ```text
//! Using threads is a common way to work around blocking I/O. We can create a thread for
//! each client connection, so that the server can handle multiple clients concurrently.
//! [...] The problem is fixed and we can now connect with multiple clients at the same
//! time. You can open as many netcat connections as you want and they will all work.
//! ```
//!
//! `handle` is the very function of `hex_blocking`, line for line, and so is its blocking
//! `read`: it still puts its thread to sleep until its client sends something. What
//! changed is the accept loop: it hands each connection to a new thread
//! (`std::thread::spawn`) and goes straight back to `accept`, so a sleeping `read` holds
//! only its own client's thread, and the kernel's scheduler switches between them.
//! `diff examples/hex_blocking.rs examples/hex_threads.rs` shows the whole change.
//!
//! The seed's "as many as you want" is where this version stops scaling: each thread has
//! its own stack (Rust's default is 2 MiB of address space; the seed says 1 to 10 MB), a
//! kernel task, and a share of the switching. So even this teaching server caps them:
//! with `--max-threads` (default 100) clients connected, the next one is accepted, told
//! `error: server busy, try again later`, and closed — at once, so a crowd of them cannot
//! stall the accept loop. The server prints each client's coming and going with the
//! number of threads busy:
//!
//! ```text
//! listening on 127.0.0.1:65432
//! client 127.0.0.1:50512 connected (1 of 100 threads busy)
//! client 127.0.0.1:50518 connected (2 of 100 threads busy)
//! client 127.0.0.1:50512 disconnected (1 of 100 threads busy)
//! ```
//!
//! The three versions, side by side — the same protocol, replies and errors, byte for byte
//! (`tests/lessons_cpu_hex.rs` checks it):
//!
//! - `hex_blocking`: one thread, one client at a time — the second waits for the first;
//! - `hex_threads` (this file): a thread per client, up to a cap;
//! - `hex`: the event loop — one thread for every client, `tempo::spawn` per client at
//!   the cost of a task (a few hundred bytes), every `.await` a point where the loop may
//!   switch to whichever client is ready. That is asyncio's answer, and tempo's.
//!
//! The protocol, one reply per line, as `hex` answers:
//!
//! - a decimal integer that fits in an `i64` (spaces, tabs and a `\r\n` ending allowed
//!   around it) is answered with Python's `hex()` of it: `4312` → `0x10d8`, `-255` →
//!   `-0xff`;
//! - any other line is answered `error: not an integer`, and the connection stays open;
//! - a line longer than `MAX_LINE` (1 024) bytes, not counting its `\r\n` or `\n`, is
//!   answered `error: line too long`, and the connection is closed;
//! - a last line the client ends with EOF instead of `\n` is answered, then we close.
//!
//! Each client's limits are `hex_blocking`'s: a line is read into at most `MAX_LINE + 2`
//! bytes, and each whole line must arrive within `--idle-secs` (default 60) of the
//! connection's start or of our previous answer. Here an idle client holds only its own
//! thread — but a thread, and one of `--max-threads`, until its deadline.
//!
//! Ctrl-C stops it at once (std has no signal handling; open connections are closed).
//! Flags: `--addr HOST:PORT`, `--idle-secs SECS`, `--max-threads N`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The post's port, on loopback.
const DEFAULT_ADDR: &str = "127.0.0.1:65432";
/// How long a client has to deliver each whole line, and we to send each answer.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// The longest line we answer, in bytes, without its line ending. The post's `recv(1024)`.
const MAX_LINE: usize = 1024;
/// The most we read for one line: its content and a `\r\n`.
const LINE_BUF: usize = MAX_LINE + 2;
/// How long a client that sent a too-long line gets to finish sending before we close.
const LINGER: Duration = Duration::from_secs(1);
/// How many bytes of such a client's leftover input we are willing to read and discard.
const LINGER_BYTES: u64 = 64 * 1024;
/// How many clients are served at once, each on its own thread, unless `--max-threads`.
const DEFAULT_MAX_THREADS: usize = 100;
/// How long we wait to tell a refused client why, so a crowd cannot stall `accept`.
const REFUSE_TIMEOUT: Duration = Duration::from_millis(100);
/// How long we rest when `accept` fails (out of descriptors, say) before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("hex_threads: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&args.addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("hex_threads: bind {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => {
            eprintln!("hex_threads: {e}");
            return ExitCode::FAILURE;
        }
    }

    // The whole server: accept a client, hand it to a thread of its own, accept the next.
    // `busy` counts the threads serving a client; each one's `Slot` gives its place back.
    let busy = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection that died in the queue: the listener is
            // fine. Rest a moment rather than spin (a still-queued connection would make
            // `accept` fail again at once), then go on.
            Err(e) => {
                eprintln!("hex_threads: accept: {e}");
                thread::sleep(ACCEPT_BACKOFF);
                continue;
            }
        };
        // Only this thread adds to `busy`, so the count cannot grow between the check and
        // the increment; client threads only ever lower it.
        let open = busy.load(Ordering::SeqCst);
        if open >= args.max_threads {
            refuse(stream, open);
            continue;
        }
        busy.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(&busy));
        let (idle, max) = (args.idle, args.max_threads);
        // `threading.Thread(target=handle, args=(conn,)).start()`. If the system refuses a
        // thread, the closure — and with it the stream and the slot — is dropped: the
        // client is closed and its place given back.
        let spawned = thread::Builder::new()
            .name("hex client".to_string())
            .spawn(move || serve(stream, idle, slot, max));
        if let Err(e) = spawned {
            eprintln!("hex_threads: no thread for a new client: {e}");
        }
    }
}

/// A client's place among the `--max-threads`: given back when its thread ends, however it
/// ends (a panic included).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Turns away a client over the cap: tells it why, and closes. Bounded by
/// `REFUSE_TIMEOUT`, since the accept loop — everyone's — waits for it. (A client that had
/// already sent data may see a reset instead of the message: we do not read it.)
fn refuse(stream: TcpStream, open: usize) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "a client".to_string(), |p| p.to_string());
    eprintln!("hex_threads: {peer}: refused, {open} clients connected");
    let _ = stream.set_write_timeout(Some(REFUSE_TIMEOUT));
    let _ = (&stream).write_all(b"error: server busy, try again later\n");
    let _ = stream.shutdown(Shutdown::Both);
}

/// Serves one client to the end, on its own thread, and reports how it ended.
fn serve(stream: TcpStream, idle: Duration, slot: Slot, max: usize) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer.to_string(),
        // It reset before we got to it: nothing to serve.
        Err(_) => return,
    };
    println!(
        "client {peer} connected ({} of {max} threads busy)",
        slot.0.load(Ordering::SeqCst)
    );
    match handle(&stream, idle) {
        Ok(Ending::Done) => {}
        Ok(Ending::Idle) => {
            eprintln!("hex_threads: {peer}: no whole line within {idle:?}, closed");
        }
        Ok(Ending::TooLong) => eprintln!("hex_threads: {peer}: line too long, closed"),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            eprintln!("hex_threads: {peer}: reset by peer");
        }
        Err(e) => eprintln!("hex_threads: {peer}: {e}"),
    }
    // Dropping the stream closes it; say so after, so the order we print is the order
    // things happened.
    drop(stream);
    // Give the place back before saying so: once a client reads this line, a new
    // client is sure to find it free.
    let busy = Arc::clone(&slot.0);
    drop(slot);
    println!(
        "client {peer} disconnected ({} of {max} threads busy)",
        busy.load(Ordering::SeqCst)
    );
}

/// How a connection ended when no I/O error ended it.
#[derive(Debug, PartialEq)]
enum Ending {
    /// The client closed its side and every line it sent was answered.
    Done,
    /// No whole line arrived within the idle timeout, or an answer could not be sent
    /// within it.
    Idle,
    /// The client sent a line longer than `MAX_LINE`; we answered that and closed.
    TooLong,
}

/// Serves one client: read a line, answer it, until EOF.
fn handle(stream: &TcpStream, idle: Duration) -> io::Result<Ending> {
    // Each `write` may block this long; a client that never reads cannot hold us longer.
    stream.set_write_timeout(Some(idle))?;
    let mut reader = BufReader::with_capacity(
        LINE_BUF,
        Deadline {
            stream,
            due: Instant::now() + idle,
        },
    );
    let mut writer = stream;
    let mut line = Vec::with_capacity(LINE_BUF);
    loop {
        // 1. Read one line, but never more than `LINE_BUF` bytes of it: `take` makes
        //    `read_until` stop there even if no `\n` has come.
        line.clear();
        let n = match (&mut reader)
            .take(LINE_BUF as u64)
            .read_until(b'\n', &mut line)
        {
            Ok(n) => n,
            Err(e) if is_timeout(&e) => return Ok(Ending::Idle),
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(Ending::Done);
        }
        let terminated = line.last() == Some(&b'\n');
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        // The limit counts the line's content, so a `\r` of a `\r\n` ending is not counted.
        let content = text.strip_suffix(b"\r").unwrap_or(text);

        // 2. Too long: the content is over the limit, or we read all we allow and still no
        //    `\n`. Answer that and close. (Without a `\n` and short of the limit, the line
        //    ended at EOF: it is the last one, and answered.)
        if content.len() > MAX_LINE || (!terminated && line.len() == LINE_BUF) {
            return match writer.write_all(b"error: line too long\n") {
                Ok(()) => {
                    linger_close(stream);
                    Ok(Ending::TooLong)
                }
                Err(e) if is_timeout(&e) => Ok(Ending::Idle),
                Err(e) => Err(e),
            };
        }

        // 3. Answer it.
        let mut out = Vec::with_capacity(32);
        reply(&mut out, text);
        match writer.write_all(&out) {
            Ok(()) => {}
            Err(e) if is_timeout(&e) => return Ok(Ending::Idle),
            Err(e) => return Err(e),
        }

        // 4. A line was answered: the client has a fresh `idle` for the next one.
        reader.get_mut().due = Instant::now() + idle;
    }
}

/// A reader with one deadline for a whole line, however many reads it takes.
///
/// A socket's read timeout applies to each `read` call, so a client trickling one byte
/// just inside it would never time out. Before each read we set the timeout to what is
/// left until `due`: `asyncio.wait_for(reader.readline(), timeout)`, in blocking form.
struct Deadline<'a> {
    /// The client's socket.
    stream: &'a TcpStream,
    /// When the line being read must be complete.
    due: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.due.saturating_duration_since(Instant::now());
        // `set_read_timeout` refuses a zero duration (it would mean "block for ever").
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "line deadline passed",
            ));
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut stream = self.stream;
        stream.read(buf)
    }
}

/// Whether `e` is a socket timeout: `EAGAIN` (`WouldBlock`) on Unix, or our own `TimedOut`.
fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Closes a connection whose client may still be sending, without losing our last reply.
///
/// Closing a socket with unread input makes the kernel send a reset, which can make the
/// client discard our `error: line too long` before reading it. So we send our FIN first,
/// then read and discard what the client still sends until it closes too — at most
/// `LINGER_BYTES`, for at most `LINGER`.
fn linger_close(stream: &TcpStream) {
    if stream.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let drain = Deadline {
        stream,
        due: Instant::now() + LINGER,
    };
    // EOF, an error or the deadline all end it; we close regardless.
    let _ = io::copy(&mut drain.take(LINGER_BYTES), &mut io::sink());
}

// The converter, as `hex.rs` writes it (each example stands alone, so each has its copy;
// the test sends all three servers the same lines and compares the replies).

/// Appends the reply to one line (without its `\n`) to `out`.
fn reply(out: &mut Vec<u8>, line: &[u8]) {
    let result = match parse_integer(line) {
        Some(n) => writeln!(out, "{}", to_hex(n)),
        None => writeln!(out, "error: not an integer"),
    };
    result.expect("writing to a Vec cannot fail");
}

/// Reads one decimal `i64` from a line: surrounding whitespace (and so a `\r`) is ignored,
/// a leading `+` or `-` allowed, anything else is not an integer.
fn parse_integer(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line.trim_ascii()).ok()?;
    text.parse().ok()
}

/// Python's `hex()`: the sign in front of the prefix, the magnitude in lowercase digits.
fn to_hex(n: i64) -> String {
    if n < 0 {
        format!("-0x{:x}", n.unsigned_abs())
    } else {
        format!("0x{n:x}")
    }
}

const USAGE: &str = "usage: hex_blocking [--addr HOST:PORT] [--idle-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// How long a client has for each whole line, and we for sending each answer.
    idle: Duration,
    /// Most clients served at once, each on a thread.
    max_threads: usize,
}

impl Args {
    /// Parses `--addr`, `--idle-secs` and `--max-threads`, each followed by its value. An empty error
    /// means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: DEFAULT_ADDR.to_string(),
            idle: DEFAULT_IDLE,
            max_threads: DEFAULT_MAX_THREADS,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => {
                    let addr = value()?;
                    if !addr.contains(':') {
                        return Err(format!("--addr {addr}: expected HOST:PORT"));
                    }
                    args.addr = addr;
                }
                "--idle-secs" => args.idle = parse_secs("--idle-secs", &value()?)?,
                "--max-threads" => {
                    let text = value()?;
                    args.max_threads = match text.parse::<usize>() {
                        Ok(n) if (1..=10_000).contains(&n) => n,
                        _ => return Err(format!("--max-threads {text}: expected 1..=10000")),
                    };
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

/// Parses a number of seconds from 1 ms to a day, fractions allowed. (Zero would mean
/// "no timeout" to a socket, and a huge value overflows `Duration`.)
fn parse_secs(flag: &str, text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if (0.001..=86_400.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{flag} {text}: expected seconds in 0.001..=86400")),
    }
}
