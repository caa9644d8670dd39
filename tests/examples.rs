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
//!
//! The child-process helpers and the line client live in `tests/support/`, shared with
//! `tests/hostile.rs`.

mod support;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::IO_TIMEOUT;
use support::LINE_TIMEOUT;
use support::child::{Running, Server};
use support::client::Client;

/// The hex server's limit on a line's length, from `examples/hex.rs`.
const MAX_LINE: usize = 1024;

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

/// Thread-per-core: with `--workers 2` every worker serves its own connections on its own
/// socket, and a stop signal shuts every worker down gracefully.
#[test]
fn echo_with_two_workers_serves_and_stops_on_each() {
    let server = Server::start("echo", &["--workers", "2"]);
    many_clients_at_once(server.addr, |i, k| {
        let line = format!("worker test {i} {k}");
        (line.clone(), line)
    });
    server.signal(libc::SIGTERM);
    let (status, lines) = server.finish();
    assert!(status.success(), "echo --workers 2 exited with {status}");
    let stopped = lines.iter().filter(|l| l.as_str() == "stopped").count();
    assert_eq!(stopped, 2, "each worker drains and stops: {lines:#?}");
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
// Graceful shutdown, for both servers
// ---------------------------------------------------------------------------------------

#[test]
fn echo_stops_gracefully_and_lets_open_connections_finish() {
    open_connections_finish_after_a_stop_signal("echo", ("ping", "ping"), ("hel", "lo", "hello"));
}

#[test]
fn hex_stops_gracefully_and_lets_open_connections_finish() {
    open_connections_finish_after_a_stop_signal("hex", ("5", "0x5"), ("43", "12", "0x10d8"));
}

#[test]
fn echo_cuts_connections_still_open_at_the_grace_deadline() {
    connections_still_open_are_cut_at_the_deadline("echo", ("ping", "ping"));
}

#[test]
fn hex_cuts_connections_still_open_at_the_grace_deadline() {
    connections_still_open_are_cut_at_the_deadline("hex", ("5", "0x5"));
}

#[test]
fn echo_second_signal_ends_the_grace_period() {
    a_second_signal_ends_the_grace_period("echo", ("ping", "ping"));
}

#[test]
fn hex_second_signal_ends_the_grace_period() {
    a_second_signal_ends_the_grace_period("hex", ("5", "0x5"));
}

/// Ctrl-C to a server with no connections: it stops at once, with status 0.
#[test]
fn idle_servers_stop_at_once_on_ctrl_c() {
    for name in ["echo", "hex"] {
        let server = Server::start(name, &[]);
        server.signal(libc::SIGINT);
        let line = server.next_line();
        assert!(
            line.starts_with("SIGINT: stopped accepting")
                && line.ends_with(" 0 open connection(s)"),
            "{name}: {line:?}"
        );
        let (status, rest) = server.finish();
        assert!(status.success(), "{name} exited with {status}");
        assert_eq!(rest, ["stopped"], "{name}");
    }
}

/// `SIGTERM` with a connection open and a request half sent. The server reports that it
/// stopped accepting, and from then on a new connection is refused; the open one still gets
/// its answer once the request is complete; when the client closes, the server exits 0 —
/// long before the 30 s grace period, which it only needed to wait for that connection.
///
/// `exchange` is a request and its reply; `(first, rest, want)` is a request sent in two
/// parts, one before the signal and one after, and the reply to the whole.
fn open_connections_finish_after_a_stop_signal(
    name: &str,
    (line, want): (&str, &str),
    (first, rest, whole): (&str, &str, &str),
) {
    const GRACE: Duration = Duration::from_secs(30);
    let server = Server::start(name, &["--grace-secs", "30"]);
    let addr = server.addr;
    let mut client = Client::connect(addr);
    // The answer proves the connection was accepted: it is one of the server's tasks.
    assert_eq!(client.ask(line), want);
    client.send(first.as_bytes());

    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    // Printed after the listening socket is closed: from here, connecting must fail.
    let stopping = server.next_line();
    assert!(
        stopping.starts_with("SIGTERM: stopped accepting")
            && stopping.ends_with(" 1 open connection(s)"),
        "{stopping:?}"
    );
    match TcpStream::connect(addr) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("{name} accepted a connection after SIGTERM"),
    }

    // The request in flight is answered, and so is another on the same connection.
    client.send(format!("{rest}\n").as_bytes());
    assert_eq!(client.line(), whole);
    assert_eq!(client.ask(line), want);
    client.writer.shutdown(Shutdown::Write).expect("shutdown");
    client.expect_eof();

    let (status, lines) = server.finish();
    let took = signalled.elapsed();
    assert!(status.success(), "{name} exited with {status}");
    assert_eq!(lines, ["stopped"]);
    assert!(took < GRACE, "{name} took {took:?} to stop");
}

/// `--grace-secs 0.5`, and a connection that stays open through it: when the grace period
/// is over, the server closes that connection (the client reads end of stream) — not
/// before — and exits 0.
fn connections_still_open_are_cut_at_the_deadline(name: &str, (line, want): (&str, &str)) {
    const GRACE: Duration = Duration::from_millis(500);
    let server = Server::start(name, &["--grace-secs", "0.5"]);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.ask(line), want);

    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    assert!(server.next_line().starts_with("SIGTERM: stopped accepting"));
    // The connection still works inside the grace period...
    assert_eq!(client.ask(line), want);
    // ...and is closed by the server when it ends.
    client.expect_eof();
    let cut_after = signalled.elapsed();
    assert!(
        cut_after >= GRACE,
        "cut after {cut_after:?}, before the deadline"
    );

    let (status, lines) = server.finish();
    assert!(status.success(), "{name} exited with {status}");
    assert_eq!(
        lines,
        [
            "grace period of 500ms over: closing 1 connection(s)",
            "stopped"
        ]
    );
    let took = signalled.elapsed();
    assert!(took < GRACE + IO_TIMEOUT, "{name} took {took:?} to stop");
}

/// A second stop signal during the grace period ends it: the open connection is closed
/// and the server exits 0 at once, though its grace period is a minute.
fn a_second_signal_ends_the_grace_period(name: &str, (line, want): (&str, &str)) {
    let server = Server::start(name, &["--grace-secs", "60"]);
    let mut client = Client::connect(server.addr);
    assert_eq!(client.ask(line), want);

    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    // Only once the first is handled: two signals before that would be one delivery.
    assert!(server.next_line().starts_with("SIGTERM: stopped accepting"));
    server.signal(libc::SIGINT);
    client.expect_eof();

    let (status, lines) = server.finish();
    assert!(status.success(), "{name} exited with {status}");
    assert_eq!(lines, ["SIGINT again: closing 1 connection(s)", "stopped"]);
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "{name} took {took:?} to stop"
    );
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
// blocking_lab: the handler that blocks the loop, and the tools that catch it.
// ---------------------------------------------------------------------------------------

/// The lesson, measured by the example itself: while a handler calls
/// `std::thread::sleep(300 ms)` on the loop, another client's PING waits for it.
#[test]
fn blocking_lab_a_blocking_handler_stalls_every_other_client() {
    let (status, lines) = Running::start("blocking_lab", &["--demo", "--work-ms", "300"]).finish();
    assert!(status.success(), "blocking_lab exited with {status}");
    let slow = reported(&lines, "blocking: the slow request took ");
    let ping = reported(&lines, "blocking: a concurrent PING took ");
    // The PING leaves once the server said `working`, just before the sleep starts, and is
    // answered only after it: it waits for nearly all of it.
    assert!(
        slow >= Duration::from_millis(300),
        "the slow request took {slow:?}"
    );
    assert!(
        ping >= Duration::from_millis(250),
        "a concurrent PING took only {ping:?} while the loop was blocked"
    );
}

/// The fix: with `--fixed` the sleep runs on the blocking pool, and the PING is answered
/// while it runs.
#[test]
fn blocking_lab_spawn_blocking_keeps_the_loop_free() {
    let (status, lines) =
        Running::start("blocking_lab", &["--demo", "--work-ms", "300", "--fixed"]).finish();
    assert!(status.success(), "blocking_lab exited with {status}");
    let slow = reported(&lines, "fixed: the slow request took ");
    let ping = reported(&lines, "fixed: a concurrent PING took ");
    assert!(
        slow >= Duration::from_millis(300),
        "the slow request took {slow:?}"
    );
    assert!(
        ping < Duration::from_millis(100),
        "a concurrent PING took {ping:?} though the work was off the loop"
    );
}

/// `TEMPO_DEBUG=1`: the runtime's slow-poll warning names the blocking handler (its task
/// name and where it was spawned), and so does the watchdog while the handler is stuck.
#[test]
fn blocking_lab_debug_mode_names_the_handler_that_blocks() {
    let run = Running::start_with_env(
        "blocking_lab",
        &["--demo", "--work-ms", "300"],
        &[("TEMPO_DEBUG", "1")],
    );
    let (status, _, stderr) = run.finish_with_stderr();
    assert!(
        status.success(),
        "blocking_lab exited with {status}; stderr:\n{stderr}"
    );
    let names_the_handler =
        |l: &&str| l.contains("\"handler 127.0.0.1:") && l.contains("examples/blocking_lab.rs:");
    let slow_polls: Vec<&str> = stderr.lines().filter(|l| l.contains("slow poll")).collect();
    assert!(
        slow_polls.iter().any(names_the_handler),
        "no slow-poll warning names the handler; stderr:\n{stderr}"
    );
    assert!(
        stderr
            .lines()
            .filter(|l| l.contains("is blocked now"))
            .any(|l| names_the_handler(&l)),
        "the watchdog did not name the stuck handler; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "something panicked under TEMPO_DEBUG=1; stderr:\n{stderr}"
    );
}

/// And with the fix, debug mode has nothing to report.
#[test]
fn blocking_lab_debug_mode_is_quiet_when_the_work_is_off_the_loop() {
    let run = Running::start_with_env(
        "blocking_lab",
        &["--demo", "--work-ms", "300", "--fixed"],
        &[("TEMPO_DEBUG", "1")],
    );
    let (status, _, stderr) = run.finish_with_stderr();
    assert!(
        status.success(),
        "blocking_lab exited with {status}; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("slow poll") && !stderr.contains("is blocked now"),
        "warnings though nothing blocked the loop; stderr:\n{stderr}"
    );
}

/// `kill -USR1` while a slow request blocks the loop: the dump, printed by the runtime's
/// diagnostics thread, lists the stuck handler as running and the other client's handler
/// as idle, waiting to read its socket.
#[test]
fn blocking_lab_sigusr1_prints_a_task_dump_naming_the_handlers() {
    let server = Server::start("blocking_lab", &["--work-ms", "3000"]);
    let mut idle = Client::connect(server.addr);
    assert_eq!(idle.ask("PING"), "PONG");
    let mut busy = Client::connect(server.addr);
    // `working` is sent just before the handler blocks: from here the loop is stuck.
    assert_eq!(busy.ask("make me a report"), "working");

    server.signal(libc::SIGUSR1);
    // The dump is written by another thread; wait for its last line, boundedly.
    let deadline = Instant::now() + LINE_TIMEOUT;
    let stderr = loop {
        let stderr = server.run.stderr();
        if stderr.contains(" live tasks, ") {
            break stderr;
        }
        assert!(
            Instant::now() < deadline,
            "no task dump on stderr:\n{stderr}"
        );
        // A SIGUSR1 that finds no handler installed kills the process: say so, rather
        // than wait out the deadline.
        if let Some(status) = server.run.exited() {
            panic!("blocking_lab exited ({status}) instead of printing a dump:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    let row = |client: &Client| {
        let name = format!(
            "\"handler {}\"",
            client.writer.local_addr().expect("local_addr")
        );
        stderr
            .lines()
            .find(|l| l.contains(&name))
            .unwrap_or_else(|| panic!("no row for {name} in the dump:\n{stderr}"))
            .to_string()
    };
    assert!(stderr.contains("STATE"), "no table header:\n{stderr}");
    let busy_row = row(&busy);
    assert!(busy_row.contains(" running "), "{busy_row}");
    let idle_row = row(&idle);
    assert!(
        idle_row.contains(" idle ") && idle_row.contains("read on socket"),
        "{idle_row}"
    );
}

/// The server end of the protocol: PING at once, any other line after the work, a long
/// line refused; and the PING connection is answered only after the work, in blocking mode.
#[test]
fn blocking_lab_serves_its_protocol() {
    for mode in [&[][..], &["--fixed"][..]] {
        let mut args = vec!["--work-ms", "50"];
        args.extend(mode);
        let server = Server::start("blocking_lab", &args);
        let mut client = Client::connect(server.addr);
        assert_eq!(client.ask("PING"), "PONG");
        assert_eq!(client.ask("report"), "working");
        let done = client.line();
        assert!(done.starts_with("done in "), "{mode:?}: {done:?}");
        // Two lines in one write: both answered, in order.
        client.send(b"PING\r\nPING\n");
        assert_eq!(client.line(), "PONG");
        assert_eq!(client.line(), "PONG");

        let mut long = Client::connect(server.addr);
        long.send(&[b'x'; 2048]);
        assert_eq!(long.line(), "error: line too long", "{mode:?}");
    }
}

/// The number and unit in a line `{prefix}2.00 s` or `{prefix}0.12 ms`, as a Duration.
fn reported(lines: &[String], prefix: &str) -> Duration {
    let line = lines
        .iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in {lines:#?}"));
    let parsed = line[prefix.len()..].split_once(' ').and_then(|(n, unit)| {
        let n: f64 = n.parse().ok()?;
        match unit {
            "s" => Some(n),
            "ms" => Some(n / 1e3),
            _ => None,
        }
    });
    let secs = parsed.unwrap_or_else(|| panic!("no duration in {line:?}"));
    // The example rounds: 0.3 s may print as `300 ms` for 299.6 ms. Add back half a unit of
    // the last digit so the bounds above are not tripped by rounding.
    Duration::from_secs_f64(secs + 0.000_5)
}

// ---------------------------------------------------------------------------------------
// jobs: 202 Accepted and a job id; the work on the blocking pool.
// ---------------------------------------------------------------------------------------

/// The tip itself: the POST is answered before the job has done any real work, the job is
/// `running` (or `queued`) meanwhile, and `done` with its result afterwards.
#[test]
fn jobs_post_answers_202_at_once_and_the_job_finishes_on_the_pool() {
    const JOB: Duration = Duration::from_secs(1);
    let server = Server::start("jobs", &[]);

    let posted = Instant::now();
    let accepted = http(
        server.addr,
        "POST /jobs?seconds=1 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let answered_after = posted.elapsed();
    assert_eq!(accepted.status, 202, "{accepted:?}");
    assert!(
        answered_after < JOB / 2,
        "the 202 took {answered_after:?}, for a job of {JOB:?}"
    );
    let id = accepted.field("id");
    assert!(id.parse::<u64>().is_ok(), "{accepted:?}");
    assert_eq!(accepted.field("status"), "queued");
    assert_eq!(
        accepted.header("location"),
        Some(format!("/jobs/{id}").as_str())
    );

    // Still within the job's second: it is not finished, and the GET is answered at once,
    // since the job runs on a pool thread and not on the loop.
    let asked = Instant::now();
    let during = get(server.addr, &format!("/jobs/{id}"));
    assert!(
        asked.elapsed() < JOB / 2,
        "the GET took {:?}",
        asked.elapsed()
    );
    assert_eq!(during.status, 200, "{during:?}");
    assert!(
        ["queued", "running"].contains(&during.field("status").as_str()),
        "{during:?}"
    );
    assert_eq!(during.field("result"), "null");

    // The long poll blocks until the job is done; a few bounded tries in case it returns
    // early on a slow machine.
    let done = wait_for_job(server.addr, &id);
    assert_eq!(done.field("status"), "done", "{done:?}");
    assert!(
        done.field("result").starts_with("worked for 1."),
        "{done:?}"
    );
    assert!(
        posted.elapsed() >= JOB,
        "done after only {:?}",
        posted.elapsed()
    );
}

/// A job that returns an error and one that panics both end `failed`, with why; the second
/// also shows parameters sent as a form body instead of a query.
#[test]
fn jobs_that_fail_or_panic_are_reported_failed() {
    let server = Server::start("jobs", &[]);

    let accepted = http(
        server.addr,
        "POST /jobs?seconds=0&fail=error HTTP/1.1\r\n\r\n",
    );
    assert_eq!(accepted.status, 202, "{accepted:?}");
    let failed = wait_for_job(server.addr, &accepted.field("id"));
    assert_eq!(failed.field("status"), "failed", "{failed:?}");
    assert_eq!(failed.field("result"), "null");
    assert!(failed.field("error").contains("fail=error"), "{failed:?}");

    let body = "seconds=0&fail=panic";
    let accepted = http(
        server.addr,
        &format!(
            "POST /jobs HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert_eq!(accepted.status, 202, "{accepted:?}");
    let panicked = wait_for_job(server.addr, &accepted.field("id"));
    assert_eq!(panicked.field("status"), "failed", "{panicked:?}");
    assert!(
        panicked.field("error").starts_with("the job panicked: "),
        "{panicked:?}"
    );
}

/// `--workers 1`: the pool runs one job at a time, and the next waits `queued`.
#[test]
fn jobs_beyond_the_pool_wait_queued() {
    let server = Server::start("jobs", &["--workers", "1"]);
    let first = http(server.addr, "POST /jobs?seconds=1 HTTP/1.1\r\n\r\n");
    let second = http(server.addr, "POST /jobs?seconds=0 HTTP/1.1\r\n\r\n");
    assert_eq!((first.status, second.status), (202, 202));
    // The first holds the only thread for a second.
    let waiting = get(server.addr, &format!("/jobs/{}", second.field("id")));
    assert_eq!(waiting.field("status"), "queued", "{waiting:?}");
    let done = wait_for_job(server.addr, &second.field("id"));
    assert_eq!(done.field("status"), "done", "{done:?}");
    let first = get(server.addr, &format!("/jobs/{}", first.field("id")));
    assert_eq!(
        first.field("status"),
        "done",
        "the first ran first: {first:?}"
    );
}

#[test]
fn jobs_unknown_ids_and_paths_are_404() {
    let server = Server::start("jobs", &[]);
    for path in ["/jobs/999", "/jobs/abc", "/jobs/", "/", "/nope"] {
        let response = get(server.addr, path);
        assert_eq!(response.status, 404, "GET {path}: {response:?}");
        assert!(!response.field("error").is_empty(), "{response:?}");
    }
}

#[test]
fn jobs_malformed_requests_are_400() {
    let server = Server::start("jobs", &[]);
    for request in [
        "GARBAGE\r\n\r\n",
        "GET /jobs/1\r\n\r\n",
        "GET /jobs/1 HTTP/2.0\r\n\r\n",
        "GET /jobs/1 HTTP/1.1\r\nno colon here\r\n\r\n",
        "POST /jobs?seconds=abc HTTP/1.1\r\n\r\n",
        "POST /jobs?seconds=61 HTTP/1.1\r\n\r\n",
        "POST /jobs?fail=maybe HTTP/1.1\r\n\r\n",
        "POST /jobs?bogus=1 HTTP/1.1\r\n\r\n",
        "POST /jobs?seconds HTTP/1.1\r\n\r\n",
        "GET /jobs/1?wait=99 HTTP/1.1\r\n\r\n",
        "POST /jobs HTTP/1.1\r\nContent-Length: two\r\n\r\n",
    ] {
        let response = http(server.addr, request);
        assert_eq!(response.status, 400, "{request:?}: {response:?}");
    }
    // The wrong method is 405, and says which is right.
    let response = get(server.addr, "/jobs");
    assert_eq!(response.status, 405, "{response:?}");
    assert_eq!(response.header("allow"), Some("POST"));
}

/// Over 8 KiB of request line and headers is refused with 431 — whether the head would
/// end later or never — and the answer arrives intact (no reset under it).
#[test]
fn jobs_oversized_heads_are_431_and_oversized_bodies_413() {
    let server = Server::start("jobs", &[]);
    let big_header = format!(
        "GET /jobs/1 HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9 * 1024)
    );
    let response = http(server.addr, &big_header);
    assert_eq!(response.status, 431, "{response:?}");

    let endless = format!("GET /jobs/1 HTTP/1.1\r\nX-Big: {}", "a".repeat(16 * 1024));
    let response = http(server.addr, &endless);
    assert_eq!(response.status, 431, "{response:?}");

    // Just under the limit is fine: an unknown job, not a refusal.
    let under = format!(
        "GET /jobs/1 HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(8 * 1024 - 50)
    );
    assert_eq!(http(server.addr, &under).status, 404);

    let big_body = format!(
        "POST /jobs HTTP/1.1\r\nContent-Length: 2000\r\n\r\n{}",
        "x".repeat(2000)
    );
    let response = http(server.addr, &big_body);
    assert_eq!(response.status, 413, "{response:?}");
}

/// `--max-jobs 2`: a new job evicts the oldest finished one; with none finished, a POST is
/// 503 with `Retry-After`.
#[test]
fn jobs_table_evicts_finished_jobs_and_is_503_when_all_are_unfinished() {
    let server = Server::start("jobs", &["--max-jobs", "2", "--workers", "1"]);
    let post = |seconds: u32| {
        http(
            server.addr,
            &format!("POST /jobs?seconds={seconds} HTTP/1.1\r\n\r\n"),
        )
    };
    let a = post(0);
    assert_eq!(
        wait_for_job(server.addr, &a.field("id")).field("status"),
        "done"
    );
    let b = post(30);
    assert_eq!(b.status, 202, "{b:?}");
    // The table holds a (done) and b (running): c evicts a.
    let c = post(0);
    assert_eq!(c.status, 202, "{c:?}");
    assert_eq!(
        get(server.addr, &format!("/jobs/{}", a.field("id"))).status,
        404
    );
    // b runs and c waits behind it on the one thread: nothing to evict.
    let d = post(0);
    assert_eq!(d.status, 503, "{d:?}");
    assert_eq!(d.header("retry-after"), Some("1"));
    let b_now = get(server.addr, &format!("/jobs/{}", b.field("id")));
    assert!(
        ["queued", "running"].contains(&b_now.field("status").as_str()),
        "{b_now:?}"
    );
}

/// SIGTERM with a job running: the server stops, says the job is lost, gives it the grace
/// period (`--grace-secs 0.5`) and exits 0 — not after the job's 30 s.
#[test]
fn jobs_stop_gracefully_and_do_not_wait_out_a_long_job() {
    let server = Server::start("jobs", &["--grace-secs", "0.5"]);
    let accepted = http(server.addr, "POST /jobs?seconds=30 HTTP/1.1\r\n\r\n");
    assert_eq!(accepted.status, 202);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let (status, lines) = server.finish();
    assert!(status.success(), "jobs exited with {status}");
    // The POST's connection may still be closing (0 or 1 open), so the first line is
    // checked up to its count.
    assert!(
        lines[0].starts_with("SIGTERM: stopped accepting; waiting up to 500ms for "),
        "{lines:?}"
    );
    assert_eq!(lines[1..], ["stopped", "1 unfinished job(s) will be lost"]);
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?} to stop");
}

/// Both new servers stop at once on Ctrl-C when idle, and refuse unknown flags.
#[test]
fn blocking_lab_and_jobs_stop_on_ctrl_c_and_reject_unknown_arguments() {
    for name in ["blocking_lab", "jobs"] {
        let server = Server::start(name, &[]);
        server.signal(libc::SIGINT);
        let (status, lines) = server.finish();
        assert!(status.success(), "{name} exited with {status}");
        assert_eq!(
            lines,
            [
                "SIGINT: stopped accepting; waiting up to 5s for 0 open connection(s)",
                "stopped"
            ],
            "{name}"
        );
        let (status, _) = Running::start(name, &["--bogus"]).finish();
        assert_eq!(status.code(), Some(2), "{name} --bogus");
    }
}

/// An HTTP response, as read by `http`.
#[derive(Debug)]
struct HttpResponse {
    status: u16,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A top-level field of the JSON body, as text: a string's contents, or a number or
    /// `null` as written; empty if absent. Enough for the flat objects `jobs` writes.
    fn field(&self, name: &str) -> String {
        let key = format!("\"{name}\":");
        let Some(start) = self.body.find(&key) else {
            return String::new();
        };
        let rest = &self.body[start + key.len()..];
        match rest.strip_prefix('"') {
            Some(text) => {
                let mut out = String::new();
                let mut chars = text.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => out.extend(chars.next()),
                        c => out.push(c),
                    }
                }
                out
            }
            None => rest
                .split([',', '}'])
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// Sends `request` on a new connection and reads the response to EOF (the server answers
/// one request per connection and closes). Timeouts fail the test instead of hanging it.
fn http(addr: SocketAddr, request: &str) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("send {request:?}: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read the response to {request:?}: {e}"));
    let raw = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {raw:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let response = HttpResponse {
        status,
        headers,
        body: body.to_string(),
    };
    assert_eq!(
        response.header("content-length"),
        Some(body.len().to_string().as_str()),
        "{response:?}"
    );
    response
}

fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, &format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n"))
}

/// Long-polls job `id` until it has finished: each try blocks in the server for up to 5 s
/// (`?wait=5`), so this is a handful of requests, not a busy loop.
fn wait_for_job(addr: SocketAddr, id: &str) -> HttpResponse {
    for _ in 0..6 {
        let response = get(addr, &format!("/jobs/{id}?wait=5"));
        assert_eq!(response.status, 200, "{response:?}");
        if ["done", "failed"].contains(&response.field("status").as_str()) {
            return response;
        }
    }
    panic!("job {id} did not finish within 30 s");
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
