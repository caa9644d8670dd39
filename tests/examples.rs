//! The examples are lessons, and a lesson that no longer runs teaches nothing. These tests
//! start each example as a child process, the way a reader would (`--addr 127.0.0.1:0`, then
//! wait for its `listening on ADDR` line), and talk to it over loopback with blocking std
//! sockets, so nothing here depends on tempo being right in order to judge tempo.
//!
//! Rules the tests keep:
//!
//! - Events are ordered by what the server says, never by sleeping: we wait for the
//!   `listening on` line before connecting, and for a reply before sending what must arrive
//!   in a later read.
//! - Every socket has read and write timeouts, and every wait on a child has a deadline, so
//!   a bug fails a test instead of hanging it.
//! - A child is killed when its guard drops, and its stderr is printed if the test failed.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Longest we wait for any one read or write on a socket.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest we wait for a child to print a line (the server's `listening on`, say).
const LINE_TIMEOUT: Duration = Duration::from_secs(30);
/// The hex server's limit on a line's length, from `examples/hex.rs`.
const MAX_LINE: usize = 1024;
/// The examples these tests run; all are built together, once.
const EXAMPLES: [&str; 5] = ["echo", "hex", "readme", "request_id", "sleep_gather"];

// ---------------------------------------------------------------------------------------
// hex: the decimal → hex line server of the asyncio blog post.
// ---------------------------------------------------------------------------------------

/// The post's own session, then the edges of `i64` and the whitespace a terminal adds.
#[test]
fn hex_answers_each_integer_like_python_hex() {
    let server = Server::start("hex", &[]);
    let mut client = Client::connect(server.addr);
    for (line, want) in [
        ("4312", "0x10d8"),
        ("1234", "0x4d2"),
        ("0", "0x0"),
        ("-255", "-0xff"),
        ("255", "0xff"),
        ("-1", "-0x1"),
        ("+16", "0x10"),
        ("9223372036854775807", "0x7fffffffffffffff"),
        ("-9223372036854775808", "-0x8000000000000000"),
        ("  42\t", "0x2a"),
        ("42\r", "0x2a"), // what `nc -C` and telnet send: a `\r\n` ending
    ] {
        assert_eq!(client.ask(line), want, "reply to {line:?}");
    }
}

/// A bad line is answered with an error, and the connection goes on: the next valid line
/// on the same connection is still answered.
#[test]
fn hex_non_integer_line_is_an_error_and_the_connection_stays_open() {
    let server = Server::start("hex", &[]);
    let mut client = Client::connect(server.addr);
    for bad in [
        "hello",
        "",
        "12abc",
        "1.5",
        "0x10",
        "1 2",
        "99999999999999999999",
    ] {
        assert_eq!(client.ask(bad), "error: not an integer", "reply to {bad:?}");
        assert_eq!(client.ask("10"), "0xa", "the line after {bad:?}");
    }
}

/// Up to `MAX_LINE` bytes (its line ending not counted) is a line; one byte more is
/// answered `error: line too long` and the server closes the connection.
#[test]
fn hex_too_long_line_is_answered_then_the_connection_closes() {
    let server = Server::start("hex", &[]);

    // Exactly at the limit: a number with leading zeros, which is still 7.
    let longest = format!("{}7", "0".repeat(MAX_LINE - 1));
    let mut client = Client::connect(server.addr);
    assert_eq!(client.ask(&longest), "0x7");
    assert_eq!(
        client.ask(&format!("{longest}\r")),
        "0x7",
        "a \\r\\n ending is not content"
    );

    // One byte over, terminated: the error, then EOF.
    let mut client = Client::connect(server.addr);
    assert_eq!(client.ask(&format!("0{longest}")), "error: line too long");
    client.expect_eof();

    // Far over and never terminated: the server cannot wait for the `\n` with a full
    // buffer, so it answers as soon as the limit is passed.
    let mut client = Client::connect(server.addr);
    client.send(&[b'7'; 5 * MAX_LINE]);
    assert_eq!(client.line(), "error: line too long");
    client.expect_eof();

    // Lines before the long one in the same write are answered first.
    let mut client = Client::connect(server.addr);
    client.send(format!("1\n{}\n2\n", "9".repeat(MAX_LINE + 1)).as_bytes());
    assert_eq!(client.line(), "0x1");
    assert_eq!(client.line(), "error: line too long");
    client.expect_eof();
}

/// Several lines in one write reach the server in one read; each gets its reply, in order.
#[test]
fn hex_answers_several_lines_sent_in_one_write() {
    let server = Server::start("hex", &[]);
    let mut client = Client::connect(server.addr);
    client.send(b"1\n-2\r\nx\n4312\n\n-255\n");
    for want in [
        "0x1",
        "-0x2",
        "error: not an integer",
        "0x10d8",
        "error: not an integer",
    ] {
        assert_eq!(client.line(), want);
    }
    assert_eq!(client.line(), "-0xff");
}

/// A line split across writes (and so across the server's reads) is put back together.
#[test]
fn hex_joins_a_line_split_across_writes() {
    let server = Server::start("hex", &[]);
    let mut client = Client::connect(server.addr);
    // The server answers `1` only after reading it, so it has read `43` by then or will in a
    // later read; `12\n` leaves only after that answer, so it cannot share a read with `1`.
    client.send(b"1\n43");
    assert_eq!(client.line(), "0x1");
    client.send(b"12\n");
    assert_eq!(client.line(), "0x10d8");

    // One byte per write, with Nagle off so each can leave as its own segment.
    client.writer.set_nodelay(true).expect("set_nodelay");
    for byte in b"-255\n" {
        client.send(&[*byte]);
    }
    assert_eq!(client.line(), "-0xff");
}

/// EOF after an unterminated last line: the line is answered, then the server closes.
#[test]
fn hex_answers_an_unterminated_last_line_at_eof() {
    let server = Server::start("hex", &[]);
    let mut client = Client::connect(server.addr);
    client.send(b"7\n255");
    client.writer.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(client.line(), "0x7");
    assert_eq!(client.line(), "0xff");
    client.expect_eof();

    let mut client = Client::connect(server.addr);
    client.send(b"nope");
    client.writer.shutdown(Shutdown::Write).expect("shutdown");
    assert_eq!(client.line(), "error: not an integer");
    client.expect_eof();
}

/// The lesson itself: many clients at once on one thread.
#[test]
fn hex_serves_many_clients_at_once() {
    let server = Server::start("hex", &[]);
    many_clients_at_once(server.addr, |i, k| {
        let n = (i as i64 * 1_000 + k as i64) * if k % 2 == 0 { 1 } else { -1 };
        let want = if n < 0 {
            format!("-0x{:x}", n.unsigned_abs())
        } else {
            format!("0x{n:x}")
        };
        (n.to_string(), want)
    });
}

#[test]
fn hex_closes_idle_connections() {
    idle_connections_are_closed("hex", ("5", "0x5"));
}

#[test]
fn hex_refuses_connections_over_the_cap() {
    connections_over_the_cap_are_refused("hex", ("5", "0x5"));
}

// ---------------------------------------------------------------------------------------
// echo
// ---------------------------------------------------------------------------------------

/// Short lines come back as sent; so does a megabyte streamed while we read, then EOF.
#[test]
fn echo_returns_every_byte() {
    let server = Server::start("echo", &[]);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.ask("hello"), "hello");
    assert_eq!(client.ask(""), "");

    // Write from another thread while this one reads: the server's buffer is 4 KiB, so a
    // client that wrote the whole megabyte before reading would fill every buffer on the way
    // and stall both ends.
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut writer = client.writer.try_clone().expect("clone socket");
    let sent = payload.clone();
    let sender = thread::spawn(move || {
        writer.write_all(&sent).expect("write payload");
        writer.shutdown(Shutdown::Write).expect("shutdown");
    });
    let mut echoed = Vec::new();
    client
        .reader
        .read_to_end(&mut echoed)
        .expect("read the echo to EOF");
    sender.join().expect("writer thread");
    assert!(echoed == payload, "echo differs from what was sent");
}

#[test]
fn echo_serves_many_clients_at_once() {
    let server = Server::start("echo", &[]);
    many_clients_at_once(server.addr, |i, k| {
        let line = format!("client {i} message {k}");
        (line.clone(), line)
    });
}

#[test]
fn echo_closes_idle_connections() {
    idle_connections_are_closed("echo", ("ping", "ping"));
}

#[test]
fn echo_refuses_connections_over_the_cap() {
    connections_over_the_cap_are_refused("echo", ("ping", "ping"));
}

// ---------------------------------------------------------------------------------------
// sleep_gather, readme, and the command lines
// ---------------------------------------------------------------------------------------

/// Two blocking sleeps add up; two tasks' sleeps overlap. Asserted on the times the example
/// prints, with `--secs 0.2` so the test takes about a second.
#[test]
fn sleep_gather_async_sleeps_overlap_and_blocking_ones_add_up() {
    let secs = 0.2;
    let run = Running::start("sleep_gather", &["--secs", "0.2"]);
    let (status, lines) = run.finish();
    assert!(status.success(), "sleep_gather exited with {status}");
    let took = |prefix: &str| -> f64 {
        let line = lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in {lines:#?}"));
        assert!(line.contains("2 sleeps of 0.2 s"), "{line}");
        let secs = line
            .rsplit("took ")
            .next()
            .and_then(|t| t.strip_suffix(" s"))
            .and_then(|t| t.parse().ok());
        secs.unwrap_or_else(|| panic!("no time in {line:?}"))
    };
    let blocking = took("blocking: ");
    let concurrent = took("async:    ");
    // Sleeps never end early (the printed times are rounded to 0.01 s).
    assert!(blocking >= 2.0 * secs - 0.005, "blocking took {blocking} s");
    assert!(concurrent >= secs - 0.005, "async took {concurrent} s");
    // The lesson: the async pair takes about one sleep, the blocking pair two.
    assert!(
        concurrent < 0.8 * blocking,
        "async {concurrent} s is not well under blocking {blocking} s"
    );
}

/// Every log line of a request, including its spawned audit task's, carries that request's
/// id, though three requests interleave on one thread (asyncio's contextvars lesson).
#[test]
fn request_id_follows_each_request_into_its_child_tasks() {
    let (status, lines) =
        Running::start("request_id", &["--addr", "127.0.0.1:0", "--demo"]).finish();
    assert!(status.success(), "request_id exited with {status}");
    let mut id_of = std::collections::HashMap::new();
    for line in lines.iter().filter(|l| l.starts_with("[req ")) {
        let (id, rest) = line["[req ".len()..]
            .split_once("] ")
            .expect("a tagged line");
        if let Some(name) = rest
            .strip_prefix("got \"")
            .and_then(|r| r.split(' ').next())
        {
            let known = id_of
                .entry(name.to_string())
                .or_insert_with(|| id.to_string());
            assert_eq!(known, id, "{name}'s lines carry two ids: {lines:#?}");
        }
    }
    assert_eq!(id_of.len(), 3, "three clients: {lines:#?}");
    for id in id_of.values() {
        let tagged = |what: &str| {
            lines
                .iter()
                .filter(|l| l.starts_with(&format!("[req {id}] {what}")))
                .count()
        };
        assert_eq!(tagged("got "), 2, "{lines:#?}");
        assert_eq!(
            tagged("audit: "),
            2,
            "the child tasks inherit the id: {lines:#?}"
        );
        assert_eq!(tagged("connected"), 1, "{lines:#?}");
    }
}

/// The README's example is `examples/readme.rs` word for word, and it runs.
#[test]
fn readme_example_is_the_readme_snippet_and_runs() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/readme.rs");
    assert!(
        readme.contains(&format!("```rust\n{example}```\n")),
        "README.md's code block must be examples/readme.rs verbatim"
    );

    let (status, lines) = Running::start("readme", &[]).finish();
    assert!(status.success(), "readme exited with {status}");
    assert_eq!(lines, ["hello from tempo"]);
}

/// A mistyped flag is refused with exit code 2, not ignored.
#[test]
fn examples_reject_unknown_arguments() {
    for name in ["echo", "hex", "sleep_gather"] {
        let (status, _) = Running::start(name, &["--bogus"]).finish();
        assert_eq!(status.code(), Some(2), "{name} --bogus");
    }
}

// ---------------------------------------------------------------------------------------
// Checks shared by the two servers
// ---------------------------------------------------------------------------------------

/// Opens 50 connections and holds them all; each gets an answer while the other 49 stay open
/// (a server that served one connection at a time, like the post's blocking version, would
/// time out on the second). Then all 50 talk at once from their own threads.
/// `exchange(client, k)` gives the `k`-th line a client sends and the reply it expects.
fn many_clients_at_once(addr: SocketAddr, exchange: fn(usize, usize) -> (String, String)) {
    const CLIENTS: usize = 50;
    const ROUNDS: usize = 20;
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(addr)).collect();
    for (i, client) in clients.iter_mut().enumerate() {
        let (line, want) = exchange(i, 0);
        assert_eq!(client.ask(&line), want, "client {i}");
    }
    let threads: Vec<JoinHandle<()>> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut client)| {
            thread::spawn(move || {
                for k in 1..=ROUNDS {
                    let (line, want) = exchange(i, k);
                    assert_eq!(client.ask(&line), want, "client {i}, round {k}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a client thread failed");
    }
}

/// With `--idle-secs 0.2`, a connection that goes quiet is closed (we read EOF), and not
/// before it has been quiet for about that long.
fn idle_connections_are_closed(name: &str, (line, want): (&str, &str)) {
    let server = Server::start(name, &["--idle-secs", "0.2"]);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.ask(line), want);
    let quiet_since = Instant::now();
    client.expect_eof();
    let quiet = quiet_since.elapsed();
    // The server's clock started when it sent the reply, a little before we read it.
    assert!(
        quiet >= Duration::from_millis(150),
        "closed after {quiet:?}"
    );
}

/// With `--max-conns 2`, a third connection is accepted and closed at once, and closing one
/// of the two frees its place.
fn connections_over_the_cap_are_refused(name: &str, (line, want): (&str, &str)) {
    let server = Server::start(name, &["--max-conns", "2"]);
    // An answer proves each connection was accepted and counted.
    let mut first = Client::connect(server.addr);
    assert_eq!(first.ask(line), want);
    let mut second = Client::connect(server.addr);
    assert_eq!(second.ask(line), want);

    let mut third = Client::connect(server.addr);
    third.expect_eof();

    // The server frees the place when the first connection's task sees our FIN and ends,
    // which may be after it accepts the next connection. So retry; each refusal is a whole
    // accept-and-close by the server (a loop turn), not a sleep.
    drop(first);
    for attempt in 1.. {
        let mut next = Client::connect(server.addr);
        match next.try_ask(line) {
            Some(reply) => {
                assert_eq!(reply, want);
                break;
            }
            None => assert!(attempt < 1_000, "the cap never freed a place"),
        }
    }
    assert_eq!(
        second.ask(line),
        want,
        "the second connection is unaffected"
    );
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

/// A line-oriented blocking client with timeouts.
struct Client {
    /// Buffered reads from the socket.
    reader: BufReader<TcpStream>,
    /// The same socket, for writes.
    writer: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let writer = stream.try_clone().expect("clone socket");
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to server");
    }

    /// Reads one line, without its `\n`; EOF or a timeout fails the test.
    fn line(&mut self) -> String {
        match self.try_line() {
            Ok(Some(line)) => line,
            Ok(None) => panic!("EOF where a line was expected"),
            Err(e) => panic!("reading a line: {e}"),
        }
    }

    /// Reads one line; `None` at EOF.
    fn try_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        assert!(line.ends_with('\n'), "unterminated reply {line:?}");
        line.pop();
        Ok(Some(line))
    }

    /// Sends `line` and returns the reply.
    fn ask(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes());
        self.line()
    }

    /// Like `ask`, but `None` if the server had closed the connection: EOF, or a reset or
    /// broken pipe from writing into a socket it closed.
    fn try_ask(&mut self, line: &str) -> Option<String> {
        let closed = |e: &io::Error| {
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            )
        };
        match self.writer.write_all(format!("{line}\n").as_bytes()) {
            Ok(()) => {}
            Err(e) if closed(&e) => return None,
            Err(e) => panic!("write to server: {e}"),
        }
        match self.try_line() {
            Ok(reply) => reply,
            Err(e) if closed(&e) => None,
            Err(e) => panic!("reading a line: {e}"),
        }
    }

    /// The server closes the connection: the next read is a clean EOF, with no data before.
    fn expect_eof(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "expected EOF, got {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => panic!("expected EOF, got {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Children
// ---------------------------------------------------------------------------------------

/// A running example server: the child plus the address it announced.
struct Server {
    /// The child; killed when this drops.
    _run: Running,
    /// Where it listens, read from its `listening on ADDR` line.
    addr: SocketAddr,
}

impl Server {
    /// Starts example `name` on an ephemeral loopback port and waits until it listens.
    fn start(name: &str, args: &[&str]) -> Server {
        let mut args = args.to_vec();
        args.extend(["--addr", "127.0.0.1:0"]);
        let run = Running::start(name, &args);
        let line = run
            .next_line()
            .unwrap_or_else(|| panic!("{name} exited before listening; stderr:\n{}", run.stderr()));
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}, not `listening on ADDR`"));
        Server { _run: run, addr }
    }
}

/// A child process running an example, killed on drop. Its stdout arrives line by line on a
/// channel; its stderr is collected, and printed if the test is failing.
struct Running {
    /// Which example, for messages.
    name: String,
    /// The process.
    child: Child,
    /// Lines of its stdout, sent by a reader thread; disconnected at EOF.
    stdout: Receiver<String>,
    /// Its stderr so far, appended to by a reader thread.
    stderr: Arc<Mutex<String>>,
    /// The stderr reader thread, joined once the child is gone.
    stderr_thread: Option<JoinHandle<()>>,
}

impl Running {
    fn start(name: &str, args: &[&str]) -> Running {
        let path = example(name);
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", path.display()));

        let out = child.stdout.take().expect("piped stdout");
        let (tx, stdout) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let stderr_thread = thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]);
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&text);
            }
        });

        Running {
            name: name.to_string(),
            child,
            stdout,
            stderr,
            stderr_thread: Some(stderr_thread),
        }
    }

    /// The next line of stdout; `None` once the child closed it. Fails after `LINE_TIMEOUT`.
    fn next_line(&self) -> Option<String> {
        match self.stdout.recv_timeout(LINE_TIMEOUT) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{} printed nothing for {LINE_TIMEOUT:?}", self.name)
            }
        }
    }

    /// Everything on stderr so far.
    fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits for the child to exit on its own (its stdout closing first), and returns its
    /// status and every line it printed.
    fn finish(mut self) -> (ExitStatus, Vec<String>) {
        let mut lines = Vec::new();
        while let Some(line) = self.next_line() {
            lines.push(line);
        }
        // Stdout is closed, so the process is exiting; `try_wait` in a bounded loop rather
        // than `wait`, so a child that closed stdout but lives on fails instead of hangs.
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            match self.child.try_wait().expect("try_wait") {
                Some(status) => return (status, lines),
                None if Instant::now() > deadline => {
                    panic!("{} closed stdout but did not exit", self.name)
                }
                None => thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Killing an exited child is harmless (`kill` then reports an error we ignore).
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(thread) = self.stderr_thread.take() {
            let _ = thread.join();
        }
        if thread::panicking() {
            eprintln!("--- stderr of {} ---\n{}", self.name, self.stderr());
        }
    }
}

/// The path of the built example `name`.
///
/// Cargo's `CARGO_BIN_EXE_<name>` covers `[[bin]]` targets only, and `cargo test
/// --all-targets` builds examples as test harnesses (`examples/hex-<hash>`), not as the
/// programs themselves. So the first call runs `cargo build --example ...` for all of them,
/// with this test binary's profile, target and target directory; when they are up to date
/// that takes a fraction of a second, and it means we never run a stale binary.
fn example(name: &str) -> PathBuf {
    static EXAMPLES_DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = EXAMPLES_DIR.get_or_init(build_examples);
    dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

fn build_examples() -> PathBuf {
    // This binary is <target dir>[/<triple>]/<profile dir>/deps/examples-<hash>.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in <target>/<profile>/deps");
    let platform_dir = profile_dir.parent().expect("a target directory");
    // Cargo points integration tests at <target dir>/tmp, which names the target dir
    // whether or not this build was for an explicit `--target`.
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is <target dir>/tmp");

    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    for example in EXAMPLES {
        cargo.args(["--example", example]);
    }
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => {}
        Some("release") => {
            cargo.arg("--release");
        }
        Some(custom) => {
            cargo.args(["--profile", custom]);
        }
        None => panic!("unreadable profile directory {}", profile_dir.display()),
    }
    let same_dir = |a: &Path, b: &Path| a.canonicalize().ok() == b.canonicalize().ok();
    if !same_dir(platform_dir, target_dir) {
        cargo
            .arg("--target")
            .arg(platform_dir.file_name().expect("triple"));
    }

    let output = cargo.output().expect("run cargo");
    assert!(
        output.status.success(),
        "building the examples failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    profile_dir.join("examples")
}
