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
//! its `limit` — and is the part of this file worth reading slowly.
//!
//! A client has `--idle-secs` (default 60) to deliver each **whole line**, counted from the
//! connection's start or from our answer to its previous line; then we close. The clock
//! does not restart on every read, as `echo`'s does: in `echo` each byte is echoed, so each
//! byte is progress, but here only a line is, and a client trickling one byte a second with
//! no `\n` would otherwise hold its connection (and our task, and its buffer) for ever — or,
//! with the 1 KiB line cap, for 17 minutes. This is `asyncio.wait_for(reader.readline(),
//! timeout)`, and what `http_hello` does for a whole request. Sending our answers has its
//! own `--idle-secs` bound, so a client that never reads them cannot hold us either.
//!
//! The accept loop, the connection cap and the graceful shutdown are the skeleton every
//! example server shares, `common/server.rs`, which explains them. For the shutdown, in
//! short: the accept loop `select!`s on `SIGINT` and `SIGTERM` (`tempo::signal`) as well as
//! on `accept`; when one comes it closes the listener, waits for the connection tasks in its
//! `JoinSet` for up to the grace period, then cancels those still open. A line a client had
//! half sent when the signal came is still answered once its `\n` arrives.

#[path = "common/server.rs"]
mod server;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tempo::net::TcpStream;
use tempo::time::{timeout, timeout_at};

/// The post's port, on loopback.
const DEFAULT_ADDR: &str = "127.0.0.1:65432";
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 10_000;
/// How long a client has to deliver each whole line, and we to send its answers.
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
        Ok(Ending::Idle) => eprintln!("hex: {peer}: no whole line within {idle:?}, closed"),
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
    /// No whole line arrived within the idle timeout, or our answers could not be sent
    /// within it.
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
    // When the next line must have arrived by: one deadline for the whole line, however
    // many reads it takes, moved on only once a line has been answered.
    let mut line_due = Instant::now() + idle;
    loop {
        // 1. Read after whatever partial line we kept from last time. `timeout_at` is
        //    `asyncio.wait_for` with a fixed deadline: on expiry the read future is
        //    dropped, i.e. cancelled.
        let n = match timeout_at(line_due, stream.read(lines.spare())).await {
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
        // 4. A line was answered: the client has a fresh `idle` for the next one, counted
        //    from now, after our answers left (a partial line already buffered counts
        //    toward it too).
        if !out.is_empty() {
            line_due = Instant::now() + idle;
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
    if stream.shutdown_std(std::net::Shutdown::Write).is_err() {
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
    /// How long a client has for each whole line, and we for sending its answers.
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

    /// What `Lines` gave back: a line's bytes (without its `\n`), or "too long", after which
    /// the connection is closed and nothing more is read.
    type Split = Vec<Result<Vec<u8>, &'static str>>;

    /// Feeds `chunks` to a `Lines` as the client's writes, then EOF, reading them the way
    /// `handle` does (each read takes what fits); collects what `next_line` returns.
    fn split_raw(chunks: &[&[u8]]) -> Split {
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
                        Next::Line(l) => got.push(Ok(l.to_vec())),
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

    /// [`split_raw`] with the lines as text, for tests written with string literals.
    fn split(chunks: &[&[u8]]) -> Vec<Result<String, &'static str>> {
        split_raw(chunks)
            .into_iter()
            .map(|r| r.map(|l| String::from_utf8_lossy(&l).into_owned()))
            .collect()
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

    // -----------------------------------------------------------------------------------
    // Properties: the line splitter and the integer parser against plain models, on
    // generated input cut into reads at generated points.
    // -----------------------------------------------------------------------------------

    use proptest::prelude::*;

    /// The protocol's definition of the lines in a whole input, written as plainly as
    /// possible and with no buffer: cut at each `\n`; an unterminated tail at EOF is a
    /// last line; a line whose content (one trailing `\r` not counted) is over `MAX_LINE`
    /// ends the stream with "too long".
    fn model_lines(mut input: &[u8]) -> Split {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (line, rest) = match input.iter().position(|&b| b == b'\n') {
                Some(i) => (&input[..i], &input[i + 1..]),
                None => (input, &input[input.len()..]),
            };
            if line.strip_suffix(b"\r").unwrap_or(line).len() > MAX_LINE {
                out.push(Err("too long"));
                return out;
            }
            out.push(Ok(line.to_vec()));
            input = rest;
        }
        out
    }

    /// Python's `int(text)` restricted to what the protocol takes: optional ASCII
    /// whitespace, an optional sign, one or more ASCII digits, whitespace; `None` for
    /// anything else or a value outside `i64`. Checked digit by digit, in `i128`.
    fn model_integer(line: &[u8]) -> Option<i64> {
        let text = line.trim_ascii();
        let (negative, digits) = match text.first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut value: i128 = 0;
        for &d in digits {
            value = value * 10 + i128::from(d - b'0');
            if value > 1 << 64 {
                return None;
            }
        }
        i64::try_from(if negative { -value } else { value }).ok()
    }

    /// Input that looks like what clients send: lines of digits, signs, spaces and the odd
    /// other byte, some empty, some near or over the limit, with `\n` or `\r\n` endings
    /// and sometimes an unterminated tail.
    fn client_input() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            8 => prop::sample::select(b"0123456789".to_vec()),
            2 => prop::sample::select(b"+- \t\r".to_vec()),
            1 => any::<u8>(),
        ];
        let length = prop_oneof![
            6 => 0..24usize,
            1 => (MAX_LINE - 3)..(MAX_LINE + 4),
            1 => 0..(3 * MAX_LINE),
        ];
        let line = length.prop_flat_map(move |n| prop::collection::vec(byte.clone(), n));
        let ending = prop::sample::select(vec![&b"\n"[..], b"\r\n", b""]);
        prop::collection::vec((line, ending), 0..8).prop_map(|lines| {
            let mut input = Vec::new();
            for (line, ending) in lines {
                input.extend_from_slice(&line);
                // Only the last line may go unterminated; elsewhere "" joins two lines.
                input.extend_from_slice(ending);
            }
            input
        })
    }

    /// Cuts `input` into non-empty reads at the given fractions of its length.
    fn cut<'a>(input: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        points.extend([0, input.len()]);
        points.sort_unstable();
        points.dedup();
        points.windows(2).map(|w| &input[w[0]..w[1]]).collect()
    }

    proptest! {
        // No regression files in the source tree: a failure prints its minimal input,
        // which then belongs in a named test of its own.
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// However the input is cut into reads, the splitter gives back exactly the
        /// model's lines — in order, byte for byte, with "too long" exactly where the
        /// model puts it — and never panics or reads outside its buffer (which in safe
        /// Rust would be a panic).
        #[test]
        fn the_splitter_agrees_with_the_model_however_the_reads_fall(
            input in client_input(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            let reads = cut(&input, &cuts);
            prop_assert_eq!(split_raw(&reads), model_lines(&input));
        }

        /// Arbitrary bytes, in arbitrary reads: no panic, and still the model's answer.
        #[test]
        fn arbitrary_bytes_never_break_the_splitter(
            input in prop::collection::vec(any::<u8>(), 0..(4 * MAX_LINE)),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        ) {
            prop_assert_eq!(split_raw(&cut(&input, &cuts)), model_lines(&input));
        }

        /// Every `i64`, written in decimal with optional `+` and surrounding whitespace,
        /// is answered with Python's `hex()` of it.
        #[test]
        fn every_i64_in_decimal_is_answered_with_its_hex(
            n in any::<i64>(),
            plus in any::<bool>(),
            before in "[ \t]{0,3}",
            after in "[ \t\r]{0,3}",
        ) {
            let sign = if plus && n >= 0 { "+" } else { "" };
            let line = format!("{before}{sign}{n}{after}");
            let mut out = Vec::new();
            reply(&mut out, line.as_bytes());
            let want = if n < 0 {
                format!("-0x{:x}\n", n.unsigned_abs())
            } else {
                format!("0x{n:x}\n")
            };
            prop_assert_eq!(String::from_utf8(out).unwrap(), want);
        }

        /// Any line at all is answered by the model's verdict: its hex, or the error.
        #[test]
        fn any_line_is_an_integer_exactly_when_the_model_says_so(
            line in prop::collection::vec(
                prop_oneof![
                    6 => prop::sample::select(b"0123456789".to_vec()),
                    3 => prop::sample::select(b"+- \t\r_.xe".to_vec()),
                    1 => any::<u8>(),
                ],
                0..25,
            ),
        ) {
            prop_assert_eq!(parse_integer(&line), model_integer(&line));
        }
    }
}
