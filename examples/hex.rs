//! The decimal → hex line server of the asyncio blog post (reference seed 003), served to
//! many clients at once by one thread.
//!
//! Run it, then connect from two terminals at the same time:
//!
//! ```text
//! cargo run --release --example hex                        # listens on 127.0.0.1:65432
//! nc 127.0.0.1 65432
//! 4312
//! 0x10d8
//! -255
//! -0xff
//! hello
//! error: not an integer
//! ```
//!
//! Ctrl-C (or `kill PID`) stops it gracefully: new connections are refused, the open ones
//! are answered until they close or `--grace-secs` (default 5) pass, and the server exits
//! with status 0.
//!
//! The post writes this server three times. Blocking, the second `nc` hangs until the first
//! one quits, because `recv` blocks the only thread. With a thread per client it works, at a
//! stack per client. With asyncio it works on one thread: `await reader.readline()` hands the
//! loop to whichever client is ready. This file is that third version; `tempo::run` is
//! `asyncio.run`, `tempo::spawn` is `asyncio.create_task`, and every `.await` on the socket
//! is a point where the loop may switch to another connection.
//!
//! The protocol, one reply per line:
//!
//! - a line holding a decimal integer that fits in an `i64` (spaces, tabs and a `\r\n`
//!   ending allowed around it) is answered with its hex form as Python's `hex()` writes
//!   it: `4312` → `0x10d8`, `-255` → `-0xff`, `0` → `0x0`;
//! - any other line is answered `error: not an integer`, and the connection stays open;
//! - a line longer than `MAX_LINE` (1 024) bytes, not counting its `\r\n` or `\n`, is
//!   answered `error: line too long`, and the connection is closed;
//! - a last line the client ends with EOF instead of `\n` is answered, then we close.
//!
//! TCP delivers bytes, not lines, so one read may hold half a line or several. `Lines` below
//! does the splitting in a fixed buffer — what asyncio's `StreamReader.readline()` does with
//! its `limit` — and is the part of this file worth reading slowly. The idle timeout is the
//! same as in the `echo` example. The accept loop, the connection cap and the graceful
//! shutdown are the skeleton every example server shares, `common/server.rs`, which
//! explains them. For the shutdown, in short: the accept loop `select!`s on `SIGINT` and
//! `SIGTERM` (`tempo::signal`) as well as on `accept`; when one comes it closes the
//! listener, waits for the connection tasks in its `JoinSet` for up to the grace period,
//! then cancels those still open. A line a client had half sent when the signal came is
//! still answered once its `\n` arrives.

#[path = "common/server.rs"]
mod server;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use tempo::net::TcpStream;
use tempo::time::timeout;

/// The post's port, on loopback.
const DEFAULT_ADDR: &str = "127.0.0.1:65432";
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 10_000;
/// How long a connection may sit without progress, in either direction.
const DEFAULT_IDLE: Duration = Duration::from_secs(60);
/// How long open connections get to finish once the server is asked to stop.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The longest line we answer, in bytes, without its line ending. The post's `recv(1024)`.
const MAX_LINE: usize = 1024;
/// How long a client that sent a too-long line gets to finish sending before we close.
const LINGER: Duration = Duration::from_secs(1);
/// How many bytes of such a client's leftover input we are willing to read and discard.
const LINGER_BYTES: usize = 64 * 1024;

fn main() -> ExitCode {
    let args = match server::parse_args("hex", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    // `asyncio.run(main())`.
    match tempo::run(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hex: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds the listener, announces it, serves until `SIGINT` or `SIGTERM`, then shuts down
/// gracefully: `asyncio.start_server(handle, ...)`, written out in `common/server.rs`.
async fn serve(args: Args) -> io::Result<()> {
    let (listener, stop) = server::listen(&args.addr).await?;
    let config = server::Config {
        name: "hex",
        max_conns: args.max_conns,
        grace: args.grace,
    };
    let idle = args.idle;
    server::serve(listener, config, stop, |stream, peer| {
        // `asyncio.create_task(handle(conn))`; the skeleton keeps it for the shutdown.
        tempo::spawn(connection(stream, peer, idle))
    })
    .await;
    Ok(())
}

/// The task of one connection: serve it, then report how it ended.
async fn connection(stream: TcpStream, peer: SocketAddr, idle: Duration) {
    match handle(stream, idle).await {
        Ok(Ending::Done) => {}
        Ok(Ending::Idle) => eprintln!("hex: {peer}: idle for {idle:?}, closed"),
        Ok(Ending::TooLong) => eprintln!("hex: {peer}: line too long, closed"),
        // The client disappeared without closing cleanly (crash, or it closed with our
        // replies unread): only this connection is affected.
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
            eprintln!("hex: {peer}: reset by peer");
        }
        // Broken pipe (we replied after the client had gone) or anything unexpected: report
        // it; the connection is over either way.
        Err(e) => eprintln!("hex: {peer}: {e}"),
    }
}

/// How a connection ended when no I/O error ended it.
#[derive(Debug, PartialEq)]
enum Ending {
    /// The client closed its side and every line it sent was answered.
    Done,
    /// No read or write made progress within the idle timeout.
    Idle,
    /// The client sent a line longer than `MAX_LINE`; we answered that and closed.
    TooLong,
}

/// Serves one client: read, split into lines, answer each, until EOF.
async fn handle(mut stream: TcpStream, idle: Duration) -> io::Result<Ending> {
    let mut lines = Lines::new();
    // The replies to everything one read brought in, sent with one write. At most one reply
    // per byte read, each at most `error: not an integer\n` (22 bytes) long, so bounded.
    let mut out = Vec::with_capacity(256);
    loop {
        // 1. Read after whatever partial line we kept from last time. `timeout` is
        //    `asyncio.wait_for`: on expiry the read future is dropped, i.e. cancelled.
        let n = match timeout(idle, stream.read(lines.spare())).await {
            Ok(result) => result?,
            Err(_elapsed) => return Ok(Ending::Idle),
        };
        lines.filled(n);

        // 2. Answer every complete line. `n == 0` is EOF: then an unterminated last line
        //    counts as complete, since no `\n` is ever coming for it.
        out.clear();
        let mut too_long = false;
        loop {
            match lines.next_line(n == 0) {
                Next::Line(line) => reply(&mut out, line),
                Next::TooLong => {
                    out.extend_from_slice(b"error: line too long\n");
                    too_long = true;
                    break;
                }
                Next::NeedMore => break,
            }
        }

        // 3. Send the replies, bounded like the read: a client that never reads them would
        //    otherwise hold this task forever once its socket buffers are full.
        if !out.is_empty() {
            match timeout(idle, stream.write_all(&out)).await {
                Ok(result) => result?,
                Err(_elapsed) => return Ok(Ending::Idle),
            }
        }

        if too_long {
            linger_close(stream).await;
            return Ok(Ending::TooLong);
        }
        if n == 0 {
            return Ok(Ending::Done);
        }
    }
}

/// Closes a connection whose client may still be sending, without losing our last reply.
///
/// If we simply dropped the socket while the rest of a too-long line sits unread in it, the
/// kernel would answer with a reset instead of a clean close, and a reset can make the client
/// discard our `error: line too long` before reading it. So we first send our FIN
/// (`shutdown(Write)`), then read and discard what the client still sends until it closes
/// too — but only up to `LINGER_BYTES` and `LINGER`, so a client cannot keep us here.
async fn linger_close(mut stream: TcpStream) {
    // NotConnected here means the client is already gone, which is what we wanted anyway.
    if stream.shutdown(std::net::Shutdown::Write).is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0u8; 4096];
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match stream.read(&mut sink).await {
                // EOF: the client has closed as well; a clean close on both sides.
                Ok(0) => return,
                Ok(n) => discarded += n,
                // A reset or other error: nothing left to protect, stop.
                Err(_) => return,
            }
        }
    };
    // Running out of time is fine too: we close regardless, the dropped stream's FIN
    // (or reset) is the client's problem now.
    let _ = timeout(LINGER, drain).await;
}

/// Appends the reply to one line (without its `\n`) to `out`.
fn reply(out: &mut Vec<u8>, line: &[u8]) {
    let result = match parse_integer(line) {
        Some(n) => writeln!(out, "{}", to_hex(n)),
        None => writeln!(out, "error: not an integer"),
    };
    result.expect("writing to a Vec cannot fail");
}

/// Reads one decimal `i64` from a line: surrounding whitespace (and so a `\r`) is ignored,
/// a leading `+` or `-` allowed, anything else — letters, fractions, numbers beyond `i64` —
/// is not an integer. Python's `int()` also takes `1_000`; we do not.
fn parse_integer(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line.trim_ascii()).ok()?;
    text.parse().ok()
}

/// Python's `hex()`: the sign in front of the prefix, the magnitude in lowercase digits.
/// `unsigned_abs` makes `i64::MIN` safe: its magnitude does not fit in an `i64`.
fn to_hex(n: i64) -> String {
    if n < 0 {
        format!("-0x{:x}", n.unsigned_abs())
    } else {
        format!("0x{n:x}")
    }
}

/// What `Lines::next_line` found in the buffer.
#[derive(Debug, PartialEq)]
enum Next<'a> {
    /// A complete line, without its `\n` (a `\r` before it is left for trimming).
    Line(&'a [u8]),
    /// A line longer than `MAX_LINE`: complete, or so long that the buffer is full and no
    /// `\n` is in it.
    TooLong,
    /// No complete line is buffered; read more.
    NeedMore,
}

/// Splits a byte stream into lines in one fixed buffer, so a client cannot make us hold more
/// than `MAX_LINE` bytes of a line however it sends it.
///
/// The buffer holds the longest allowed line plus its `\r\n`. Bytes go in at `filled`, lines
/// come out from `start`; before each read the unanswered tail is moved to the front
/// (`spare`), so a line that arrived in pieces is contiguous when its `\n` comes. If the
/// buffer is full and holds no `\n`, the line in it is already too long.
struct Lines {
    /// `buf[start..filled]` is received but not yet returned as a line.
    buf: [u8; MAX_LINE + 2],
    /// Start of the first unreturned byte.
    start: usize,
    /// End of the received bytes.
    filled: usize,
}

impl Lines {
    fn new() -> Lines {
        Lines {
            buf: [0; MAX_LINE + 2],
            start: 0,
            filled: 0,
        }
    }

    /// The free space to read into, after moving the unreturned tail to the front.
    ///
    /// Never empty when called after `next_line` returned `NeedMore`: a full buffer with no
    /// `\n` is reported as `TooLong` instead.
    fn spare(&mut self) -> &mut [u8] {
        self.buf.copy_within(self.start..self.filled, 0);
        self.filled -= self.start;
        self.start = 0;
        &mut self.buf[self.filled..]
    }

    /// Records that a read put `n` bytes into the slice `spare` returned.
    fn filled(&mut self, n: usize) {
        self.filled += n;
    }

    /// Returns the next line, if one is complete. At `eof`, unterminated bytes at the end
    /// form the last line.
    fn next_line(&mut self, eof: bool) -> Next<'_> {
        let pending = &self.buf[self.start..self.filled];
        let (line, used) = match pending.iter().position(|&b| b == b'\n') {
            Some(newline) => (&pending[..newline], newline + 1),
            None if pending.is_empty() => return Next::NeedMore,
            // No newline yet, and none will fit: the line is already over the limit.
            None if pending.len() == self.buf.len() => return Next::TooLong,
            None if eof => (pending, pending.len()),
            None => return Next::NeedMore,
        };
        self.start += used;
        // The limit counts the line's content, so strip the `\r` of a `\r\n` ending first.
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        if content.len() > MAX_LINE {
            Next::TooLong
        } else {
            Next::Line(line)
        }
    }
}

const USAGE: &str =
    "usage: hex [--addr HOST:PORT] [--max-conns N] [--idle-secs SECS] [--grace-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
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
            addr: DEFAULT_ADDR.to_string(),
            max_conns: DEFAULT_MAX_CONNS,
            idle: DEFAULT_IDLE,
            grace: DEFAULT_GRACE,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => args.addr = server::parse_addr(value()?)?,
                "--max-conns" => {
                    args.max_conns = value()?.parse().map_err(|e| format!("--max-conns: {e}"))?;
                }
                "--idle-secs" => args.idle = server::parse_secs("--idle-secs", &value()?)?,
                "--grace-secs" => args.grace = server::parse_secs("--grace-secs", &value()?)?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

// The pure parts of the protocol, checked without sockets; `tests/examples.rs` checks the
// server end to end.
#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> String {
        let mut out = Vec::new();
        reply(&mut out, line.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn replies_like_python_hex() {
        assert_eq!(answer("4312"), "0x10d8\n");
        assert_eq!(answer("1234"), "0x4d2\n");
        assert_eq!(answer("-255"), "-0xff\n");
        assert_eq!(answer("0"), "0x0\n");
        assert_eq!(answer("-0"), "0x0\n");
        assert_eq!(answer(" \t+42 \r"), "0x2a\n");
        assert_eq!(answer("9223372036854775807"), "0x7fffffffffffffff\n");
        assert_eq!(answer("-9223372036854775808"), "-0x8000000000000000\n");
    }

    #[test]
    fn everything_else_is_not_an_integer() {
        for line in [
            "",
            " ",
            "hello",
            "12abc",
            "1.5",
            "0x10",
            "1 2",
            "9223372036854775808",
        ] {
            assert_eq!(answer(line), "error: not an integer\n", "line {line:?}");
        }
        let mut out = Vec::new();
        reply(&mut out, b"\xff\xfe");
        assert_eq!(out, b"error: not an integer\n");
    }

    /// Feeds `chunks` to a `Lines` as the client's writes, then EOF, reading them the way
    /// `handle` does (each read takes what fits); collects what `next_line` returns.
    fn split(chunks: &[&[u8]]) -> Vec<Result<String, &'static str>> {
        let mut lines = Lines::new();
        let mut got = Vec::new();
        for chunk in chunks.iter().copied().chain([&b""[..]]) {
            let mut rest = chunk;
            loop {
                let spare = lines.spare();
                let n = rest.len().min(spare.len());
                spare[..n].copy_from_slice(&rest[..n]);
                lines.filled(n);
                rest = &rest[n..];
                loop {
                    match lines.next_line(n == 0) {
                        Next::Line(l) => got.push(Ok(String::from_utf8_lossy(l).into_owned())),
                        Next::TooLong => {
                            got.push(Err("too long"));
                            return got;
                        }
                        Next::NeedMore => break,
                    }
                }
                if rest.is_empty() {
                    break;
                }
            }
        }
        got
    }

    #[test]
    fn lines_split_across_reads_and_several_per_read() {
        assert_eq!(split(&[b"43", b"12\n"]), [Ok("4312".into())]);
        assert_eq!(
            split(&[b"1\n2\r\n3", b"\n4"]),
            [
                Ok("1".into()),
                Ok("2\r".into()),
                Ok("3".into()),
                Ok("4".into())
            ]
        );
        assert_eq!(split(&[b"\n"]), [Ok("".into())]);
        assert_eq!(split(&[]), []);
    }

    #[test]
    fn the_limit_counts_content_not_the_line_ending() {
        let max = "7".repeat(MAX_LINE);
        let over = "7".repeat(MAX_LINE + 1);
        assert_eq!(split(&[format!("{max}\n").as_bytes()]), [Ok(max.clone())]);
        assert_eq!(
            split(&[format!("{max}\r\n").as_bytes()]),
            [Ok(format!("{max}\r"))]
        );
        assert_eq!(split(&[format!("{over}\n").as_bytes()]), [Err("too long")]);
        // Unterminated at EOF: the same limit.
        assert_eq!(split(&[max.as_bytes()]), [Ok(max.clone())]);
        assert_eq!(split(&[over.as_bytes()]), [Err("too long")]);
        // A full buffer without a newline is too long before the rest arrives.
        let full = "7".repeat(MAX_LINE + 2);
        assert_eq!(split(&[full.as_bytes()]), [Err("too long")]);
        // Lines before the long one are still answered.
        let mixed = format!("1\n{over}\n2\n");
        assert_eq!(
            split(&[mixed.as_bytes()]),
            [Ok("1".into()), Err("too long")]
        );
    }
}
