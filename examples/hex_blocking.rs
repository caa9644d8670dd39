//! The decimal → hex line server of reference seed 003, the first of its three versions:
//! blocking std sockets, one thread, **one client at a time**.
//!
//! Run it, then connect from two terminals at the same time:
//!
//! ```text
//! cargo run --example hex_blocking                 # listens on 127.0.0.1:65432
//! nc 127.0.0.1 65432       # terminal 2: type 4312, get 0x10d8; keep it open
//! nc 127.0.0.1 65432       # terminal 3: type 1234 ... no answer
//! ```
//!
//! Terminal 3 gets nothing until terminal 2 quits (Ctrl-D or Ctrl-C); then `0x4d2` arrives
//! at once. The seed ("Synchronous code") says it of its Python version:
//!
//! ```text
//! try connecting with two clients at the same time. If we run `nc localhost 65432` in two
//! separate terminals, the second one will hang until the first one closes the connection.
//! The problem is that I/O operations are blocking, which means the server blocks every
//! time it reads or writes data.
//! ```
//!
//! Here too: `read` on a std `TcpStream` is the `read(2)` system call, which puts the only
//! thread to sleep until that one client sends something. Meanwhile the kernel completes
//! the second client's connection and queues it (the listen backlog) and buffers its
//! line, so its `nc` looks connected, but nobody calls `accept` for it until `handle`
//! returns. The server prints who it is serving, so you can watch the queue drain:
//!
//! ```text
//! listening on 127.0.0.1:65432
//! client 127.0.0.1:50512 connected
//! client 127.0.0.1:50512 disconnected
//! client 127.0.0.1:50518 connected
//! ```
//!
//! The three versions, side by side — the same protocol, replies and errors, byte for byte
//! (`tests/lessons_cpu_hex.rs` checks it):
//!
//! - `hex_blocking` (this file): one thread, one client at a time;
//! - `hex_threads`: the same `handle`, called on a new thread per client — everyone is
//!   served, at a thread (and its stack) per client, up to a cap;
//! - `hex`: the event loop — one thread, `tempo::spawn` per client, every `.await` a point
//!   where the loop may switch to whichever client is ready.
//!
//! `diff examples/hex_blocking.rs examples/hex_threads.rs` shows everything that changes
//! between the first two: the accept loop, and the cap.
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
//! Even a teaching server bounds what a client can make it hold. A line is read into at
//! most `MAX_LINE + 2` bytes (`Read::take`, the Python's `recv(1024)`), and each whole line
//! must arrive within `--idle-secs` (default 60) of the connection's start or of our
//! previous answer (`Deadline` below). Here the deadline matters more than anywhere: the
//! client being served holds the *whole server*, so without it one `nc` left open would
//! keep everyone else waiting for ever. With it, the wait is at most `--idle-secs` per
//! client ahead in the queue — which is still the lesson: one slow client delays all.
//!
//! Ctrl-C stops it at once (std has no signal handling; the client being served sees its
//! connection close). Flags: `--addr HOST:PORT`, `--idle-secs SECS`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
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
            eprintln!("hex_blocking: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&args.addr) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("hex_blocking: bind {}: {e}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("listening on {addr}"),
        Err(e) => {
            eprintln!("hex_blocking: {e}");
            return ExitCode::FAILURE;
        }
    }

    // The whole server: accept one client, serve it until it leaves, accept the next.
    // While `serve` runs, nobody calls `accept`.
    loop {
        match listener.accept() {
            Ok((stream, _)) => serve(stream, args.idle),
            // Out of descriptors, or a connection that died in the queue: the listener is
            // fine. Rest a moment rather than spin (a still-queued connection would make
            // `accept` fail again at once), then go on.
            Err(e) => {
                eprintln!("hex_blocking: accept: {e}");
                std::thread::sleep(ACCEPT_BACKOFF);
            }
        }
    }
}

/// Serves one client to the end and reports how it ended.
fn serve(stream: TcpStream, idle: Duration) {
    let peer = match stream.peer_addr() {
        Ok(peer) => peer.to_string(),
        // It reset before we got to it: nothing to serve.
        Err(_) => return,
    };
    println!("client {peer} connected");
    match handle(&stream, idle) {
        Ok(Ending::Done) => {}
        Ok(Ending::Idle) => {
            eprintln!("hex_blocking: {peer}: no whole line within {idle:?}, closed");
        }
        Ok(Ending::TooLong) => eprintln!("hex_blocking: {peer}: line too long, closed"),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            eprintln!("hex_blocking: {peer}: reset by peer");
        }
        Err(e) => eprintln!("hex_blocking: {peer}: {e}"),
    }
    // Dropping the stream closes it; say so after, so the order we print is the order
    // things happened.
    drop(stream);
    println!("client {peer} disconnected");
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
}

impl Args {
    /// Parses `--addr` and `--idle-secs`, each followed by its value. An empty error
    /// means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: DEFAULT_ADDR.to_string(),
            idle: DEFAULT_IDLE,
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
