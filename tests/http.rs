//! The `http_hello` example, tested from outside: we start it as a child process the way a
//! reader would (`--addr 127.0.0.1:0`, then wait for its `listening on ADDR` line) and speak
//! HTTP/1.1 to it over loopback with blocking std sockets and hand-written requests, so we
//! see the exact bytes it sends.
//!
//! The rules of `tests/examples.rs` hold here too: events are ordered by what the server
//! says (a response, a line on stdout), never by sleeping; every socket has timeouts and
//! every wait on the child has a deadline; the child is killed when its guard drops, and
//! its stderr is printed if the test failed. The process helpers are the ones every
//! example test shares, in `tests/support/child.rs`.
//!
//! Responses are compared byte for byte, except the `Date` value, which changes every
//! second: [`Client::response`] checks that it is an IMF-fixdate and replaces it with
//! `<date>` before the comparison.

mod support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use support::IO_TIMEOUT;
use support::child::{Running, Server};

/// The parser's limit on a request head, from `examples/http/parser.rs`.
const MAX_HEAD: usize = 8 * 1024;

/// A plain `GET /`.
const GET: &str = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
/// The answer to it, and to `GET /plaintext`.
const HELLO: &str = "HTTP/1.1 200 OK\r\nServer: tempo\r\nDate: <date>\r\n\
    Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
/// The same, closing the connection.
const HELLO_CLOSE: &str = "HTTP/1.1 200 OK\r\nServer: tempo\r\nDate: <date>\r\n\
    Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\nServer: tempo\r\nDate: <date>\r\n\
    Content-Type: text/plain\r\nContent-Length: 10\r\n\r\nNot Found\n";
const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request\r\nServer: tempo\r\nDate: <date>\r\n\
    Content-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n";
const TOO_LARGE: &str = "HTTP/1.1 431 Request Header Fields Too Large\r\nServer: tempo\r\n\
    Date: <date>\r\nContent-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\
    \r\nRequest Header Fields Too Large\n";

// ---------------------------------------------------------------------------------------
// Keep-alive and pipelining
// ---------------------------------------------------------------------------------------

/// Two requests, one after the other, on one connection: both answered byte-exactly, and
/// the connection is still open after them.
#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    client.send(GET);
    assert_eq!(client.response(), HELLO);
    client.send("GET /plaintext HTTP/1.1\r\nHost: test\r\nUser-Agent: t\r\n\r\n");
    assert_eq!(client.response(), HELLO);
    client.send(GET);
    assert_eq!(client.response(), HELLO, "a third: still open");
}

/// Three requests in one write are answered in order, each exactly once; the connection
/// then goes on.
#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    client.send(&format!(
        "{GET}GET /nope HTTP/1.1\r\nHost: test\r\n\r\n\
         HEAD /plaintext HTTP/1.1\r\nHost: test\r\n\r\n"
    ));
    assert_eq!(client.response(), HELLO);
    assert_eq!(client.response(), NOT_FOUND);
    assert_eq!(
        client.response_to_head(),
        HELLO.strip_suffix("Hello, World!").expect("body")
    );
    // Exactly three: had there been a fourth, it would be read here instead of this one.
    client.send("GET /again HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(client.response(), NOT_FOUND);
}

/// Many pipelined requests at once, more than one read buffer holds (16 KiB), and a
/// request split between two writes: all answered, in order.
#[test]
fn a_long_pipeline_is_answered_in_full() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    let count = 1_000;
    let batch = GET.repeat(count);
    assert!(batch.len() > 16 * 1024);
    // Write from another thread while this one reads: the answers outweigh the requests,
    // and a client that wrote everything before reading could fill both directions.
    let mut writer = client.stream.try_clone().expect("clone socket");
    let sender = thread::spawn(move || {
        writer.write_all(batch.as_bytes()).expect("write");
        writer.write_all(b"GET / HTTP/1.1\r\nHo").expect("write");
        writer.write_all(b"st: test\r\n\r\n").expect("write");
    });
    for i in 0..=count {
        assert_eq!(client.response(), HELLO, "response {i}");
    }
    sender.join().expect("writer thread");
}

/// Bodies with a `Content-Length` are skipped, even split across writes, and the request
/// after one is found and answered.
#[test]
fn request_bodies_are_skipped() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    client.send("POST /nope HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(client.response(), NOT_FOUND);
    // A body that looks like a request, split between two writes.
    client.send("GET / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nGET / HT");
    client.send(&format!("TP{GET}"));
    assert_eq!(client.response(), HELLO, "the GET with a body");
    assert_eq!(client.response(), HELLO, "the GET after the body");
}

/// Fifty connections at once, each with 20 keep-alive requests from its own thread: the
/// shape of `wrk -c50`.
#[test]
fn many_connections_at_once() {
    let server = Server::start("http_hello", &[]);
    let threads: Vec<JoinHandle<()>> = (0..50)
        .map(|i| {
            let addr = server.addr;
            thread::spawn(move || {
                let mut client = Client::connect(addr);
                for k in 0..20 {
                    client.send(GET);
                    assert_eq!(client.response(), HELLO, "client {i}, request {k}");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a client thread failed");
    }
}

// ---------------------------------------------------------------------------------------
// Closing
// ---------------------------------------------------------------------------------------

/// `Connection: close` is answered with `Connection: close`, then the server closes; a
/// request sent after it in the same write is not answered.
#[test]
fn connection_close_is_honoured() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    client.send(GET);
    assert_eq!(client.response(), HELLO);
    client.send(&format!(
        "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n{GET}"
    ));
    assert_eq!(client.response(), HELLO_CLOSE);
    client.expect_eof();
}

/// HTTP/1.0 closes after the answer, unless the client asks for keep-alive; then the
/// answer says `Connection: keep-alive` and the connection stays open.
#[test]
fn http_1_0_closes_unless_asked_to_keep_alive() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    client.send("GET / HTTP/1.0\r\n\r\n");
    assert_eq!(client.response(), HELLO_CLOSE);
    client.expect_eof();

    let mut client = Client::connect(server.addr);
    let keep_alive = HELLO_CLOSE.replace("Connection: close", "Connection: keep-alive");
    for _ in 0..2 {
        client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(client.response(), keep_alive);
    }
}

/// A malformed request is answered 400, then the server closes. Requests before it in the
/// same write are answered first.
#[test]
fn malformed_requests_get_400_and_the_connection_closes() {
    let server = Server::start("http_hello", &[]);
    for bad in [
        "GET /\r\n\r\n",                                             // no version
        "GET / HTTP/2.0\r\nHost: test\r\n\r\n",                      // not HTTP/1.x
        "GET / HTTP/1.1\r\nHost test\r\n\r\n",                       // a header without a colon
        "GET / HTTP/1.1\r\nHost: test\r\nContent-Length: x\r\n\r\n", // a bad Content-Length
        "GET / HTTP/1.1\r\n\r\n",                                    // HTTP/1.1 without Host
        "hello\r\n\r\n",                                             // not HTTP
    ] {
        let mut client = Client::connect(server.addr);
        client.send(bad);
        assert_eq!(client.response(), BAD_REQUEST, "{bad:?}");
        client.expect_eof();
    }

    let mut client = Client::connect(server.addr);
    client.send(&format!(
        "{GET}GET / HTTP/1.1\r\nHost: test\r\nbad\r\n\r\n{GET}"
    ));
    assert_eq!(client.response(), HELLO);
    assert_eq!(client.response(), BAD_REQUEST);
    client.expect_eof();
}

/// A request head over 8 KiB is answered 431, then the server closes; so is one with too
/// many headers. One just at the limit is served.
#[test]
fn oversized_header_blocks_get_431_and_the_connection_closes() {
    let server = Server::start("http_hello", &[]);
    let head = |len: usize| {
        let mut head = "GET / HTTP/1.1\r\nHost: test\r\nX-Pad: ".to_string();
        head.push_str(&"a".repeat(len - head.len() - 4));
        head.push_str("\r\n\r\n");
        head
    };

    let mut client = Client::connect(server.addr);
    client.send(&head(MAX_HEAD));
    assert_eq!(client.response(), HELLO, "a head of exactly 8 KiB");

    for (what, request) in [
        ("one byte over", head(MAX_HEAD + 1)),
        ("far over", head(4 * MAX_HEAD)),
        ("33 headers", {
            let headers: String = (0..33).map(|i| format!("X-{i}: {i}\r\n")).collect();
            format!("GET / HTTP/1.1\r\n{headers}\r\n")
        }),
    ] {
        let mut client = Client::connect(server.addr);
        client.send(&request);
        assert_eq!(client.response(), TOO_LARGE, "{what}");
        client.expect_eof();
    }
}

/// With `--idle-secs 0.3`, a connection is closed once it has gone that long without
/// completing a request: after an answer, straight after connecting, and in the middle of
/// a request head. Not before: the times are lower bounds, measured from before the
/// server's clock can have started.
#[test]
fn idle_connections_are_closed() {
    const IDLE: Duration = Duration::from_millis(300);
    let server = Server::start("http_hello", &["--idle-secs", "0.3"]);
    let closed_after_idle = |mut client: Client, since: Instant, what: &str| {
        client.expect_eof();
        let quiet = since.elapsed();
        assert!(quiet >= IDLE, "{what}: closed after {quiet:?}");
    };

    let mut client = Client::connect(server.addr);
    let since = Instant::now();
    client.send(GET);
    assert_eq!(client.response(), HELLO);
    closed_after_idle(client, since, "after an answer");

    let since = Instant::now();
    let client = Client::connect(server.addr);
    closed_after_idle(client, since, "silent from the start");

    let since = Instant::now();
    let mut client = Client::connect(server.addr);
    client.send("GET / HTTP/1.1\r\nHost: te");
    closed_after_idle(client, since, "in the middle of a head");
}

// ---------------------------------------------------------------------------------------
// Hostile requests: each is answered with the right status, or closed cleanly (a FIN,
// never a reset), and the server goes on serving everyone else byte for byte
// ---------------------------------------------------------------------------------------

/// The answer to `OPTIONS` of the server or of a route: what may be done, and no body.
const OPTIONS: &str = "HTTP/1.1 200 OK\r\nServer: tempo\r\nDate: <date>\r\n\
    Content-Length: 0\r\nAllow: GET, HEAD, OPTIONS\r\n\r\n";
/// The answer to a chunked body or a `CONNECT`.
const NOT_IMPLEMENTED: &str = "HTTP/1.1 501 Not Implemented\r\nServer: tempo\r\n\
    Date: <date>\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\
    \r\nNot Implemented\n";
/// The answer to a `Content-Length` over the 1 MiB the server skips.
const CONTENT_TOO_LARGE: &str = "HTTP/1.1 413 Content Too Large\r\nServer: tempo\r\n\
    Date: <date>\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nConnection: close\r\n\
    \r\nContent Too Large\n";

/// Sends `request` on a new connection and expects `answer`, then a clean close; then a
/// well-behaved client on another connection is still served byte for byte.
fn refused(server: &Server, what: &str, request: &[u8], answer: &str) {
    let mut client = Client::connect(server.addr);
    client.send_bytes(request);
    assert_eq!(client.response(), answer, "{what}");
    client.expect_eof();
    still_serves(server, what);
}

/// The same for a request too big to write before reading: another thread writes it
/// while this one reads the answer and the close. The server stops reading once it has
/// answered (it reads and throws away up to 64 KiB more, to close without a reset while
/// the client is still sending), so the writer may see its connection reset or its pipe
/// broken: that is the server's right, and not checked.
fn refused_while_sending(server: &Server, what: &str, request: Vec<u8>, answer: &str) {
    let mut client = Client::connect(server.addr);
    let mut writer = client.stream.try_clone().expect("clone socket");
    let sender = thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    assert_eq!(client.response(), answer, "{what}");
    client.expect_eof();
    sender.join().expect("writer thread");
    still_serves(server, what);
}

/// A well-behaved client gets its hello: the server survived whatever came before.
fn still_serves(server: &Server, after: &str) {
    let mut client = Client::connect(server.addr);
    client.send(GET);
    assert_eq!(client.response(), HELLO, "a plain GET after {after}");
}

/// Bytes that are not HTTP at all — a TLS hello, NULs, binary noise — are 400, then a
/// clean close. (A random-looking payload, generated from a fixed seed so a failure
/// reproduces.)
#[test]
fn garbage_bytes_get_400_and_a_clean_close() {
    let server = Server::start("http_hello", &[]);
    let mut noise = Vec::with_capacity(4096);
    let mut state = 0x2026_1202_u64;
    while noise.len() < 4096 {
        // xorshift64: any fixed sequence of bytes will do.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        noise.extend_from_slice(&state.to_le_bytes());
    }
    for (what, bytes) in [
        (
            "a TLS client hello",
            &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x5e\x00\x00\r\n\r\n"[..],
        ),
        ("NUL bytes", b"\0\0\0\0\0\0\0\0\r\n\r\n"),
        (
            "a NUL inside a request",
            b"GET /\0 HTTP/1.1\r\nHost: test\r\n\r\n",
        ),
        ("not UTF-8", b"\xff\xfe\xfd\r\n\r\n"),
        ("a bare CR", b"GET / HTTP/1.1\rHost: test\r\n\r\n"),
        ("random bytes", &noise),
    ] {
        refused(&server, what, bytes, BAD_REQUEST);
    }
}

/// A request line of 100 KB, 1 000 headers, and one header of 1 MB are each 431 with a
/// clean close, however much the client still has to send.
#[test]
fn huge_heads_get_431_and_a_clean_close() {
    let server = Server::start("http_hello", &[]);
    let long_target = format!(
        "GET /{} HTTP/1.1\r\nHost: test\r\n\r\n",
        "a".repeat(100_000)
    );
    refused_while_sending(
        &server,
        "a 100 KB request line",
        long_target.into_bytes(),
        TOO_LARGE,
    );

    let headers: String = (0..1_000).map(|i| format!("X-{i}: {i}\r\n")).collect();
    let many = format!("GET / HTTP/1.1\r\nHost: test\r\n{headers}\r\n");
    refused_while_sending(&server, "1 000 headers", many.into_bytes(), TOO_LARGE);

    let huge = format!(
        "GET / HTTP/1.1\r\nHost: test\r\nX-Huge: {}\r\n\r\n",
        "h".repeat(1 << 20)
    );
    refused_while_sending(&server, "a 1 MB header", huge.into_bytes(), TOO_LARGE);
}

/// Framing the server cannot trust is refused before any body is read: two different
/// lengths, a length with `Transfer-Encoding` (the request-smuggling pair of RFC 9112
/// §6.1), a negative length, one that overflows 64 bits. A length the server will not
/// skip is 413; a chunked body, which it does not decode, is 501; both then close, since
/// it cannot tell where the body ends without reading it.
#[test]
fn untrustworthy_framing_is_refused() {
    let server = Server::start("http_hello", &[]);
    for (what, headers, answer) in [
        (
            "conflicting lengths",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            BAD_REQUEST,
        ),
        (
            "a length and chunked",
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
            BAD_REQUEST,
        ),
        (
            "chunked and a length",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
            BAD_REQUEST,
        ),
        ("a negative length", "Content-Length: -1\r\n", BAD_REQUEST),
        (
            "an overflowing length",
            "Content-Length: 18446744073709551616\r\n",
            BAD_REQUEST,
        ),
        (
            "the largest length",
            "Content-Length: 18446744073709551615\r\n",
            CONTENT_TOO_LARGE,
        ),
        (
            "a chunked body",
            "Transfer-Encoding: chunked\r\n",
            NOT_IMPLEMENTED,
        ),
    ] {
        let request = format!("POST / HTTP/1.1\r\nHost: test\r\n{headers}\r\nhello\r\n0\r\n\r\n");
        refused(&server, what, request.as_bytes(), answer);
    }
    // The same length twice is one length: the body is skipped and the next request found.
    let mut client = Client::connect(server.addr);
    client.send(&format!(
        "POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello{GET}"
    ));
    assert_eq!(
        client.response(),
        "HTTP/1.1 405 Method Not Allowed\r\nServer: tempo\r\nDate: <date>\r\n\
         Content-Type: text/plain\r\nContent-Length: 19\r\nAllow: GET, HEAD, OPTIONS\r\n\r\n\
         Method Not Allowed\n"
    );
    assert_eq!(client.response(), HELLO);
}

/// Bytes over 0x7F: not allowed in a target (a URI is ASCII), allowed in a header value
/// (RFC 9110's obs-text), where the server pays them no attention.
#[test]
fn non_ascii_bytes_in_the_target_and_in_header_values() {
    let server = Server::start("http_hello", &[]);
    refused(
        &server,
        "Latin-1 in the target",
        b"GET /caf\xe9 HTTP/1.1\r\nHost: test\r\n\r\n",
        BAD_REQUEST,
    );
    refused(
        &server,
        "UTF-8 in the target",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: test\r\n\r\n",
        BAD_REQUEST,
    );

    let mut client = Client::connect(server.addr);
    client.send_bytes(
        b"GET / HTTP/1.1\r\nHost: test\r\nX-Latin: caf\xe9\r\nX-Bytes: \xff\x80\xc3\r\n\r\n",
    );
    assert_eq!(client.response(), HELLO);
    client.send(GET);
    assert_eq!(client.response(), HELLO, "the connection goes on");
}

/// Absolute-form targets (RFC 9112 §3.2.2) route on their path; the URI's host stands in
/// for `Host`, which may be missing or say something else. Other schemes are 400.
#[test]
fn absolute_form_targets_route_on_their_path() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    for request in [
        "GET http://test/plaintext?x=1 HTTP/1.1\r\n\r\n",
        "GET http://test HTTP/1.1\r\nHost: elsewhere\r\n\r\n",
        "GET HTTPS://test:8443/ HTTP/1.1\r\nHost: test\r\n\r\n",
    ] {
        client.send(request);
        assert_eq!(client.response(), HELLO, "{request:?}");
    }
    client.send("GET http://test/nope HTTP/1.1\r\n\r\n");
    assert_eq!(client.response(), NOT_FOUND);

    for (what, request) in [
        (
            "another scheme",
            "GET ftp://test/ HTTP/1.1\r\nHost: test\r\n\r\n",
        ),
        (
            "an empty host",
            "GET http:///plaintext HTTP/1.1\r\nHost: test\r\n\r\n",
        ),
        (
            "userinfo",
            "GET http://me@test/ HTTP/1.1\r\nHost: test\r\n\r\n",
        ),
    ] {
        refused(&server, what, request.as_bytes(), BAD_REQUEST);
    }
}

/// `OPTIONS *` and `OPTIONS /` say what may be done (RFC 9110 §9.3.7) and keep the
/// connection; `*` with another method is 400; `CONNECT` is 501 and closes.
#[test]
fn options_asterisk_and_connect() {
    let server = Server::start("http_hello", &[]);
    let mut client = Client::connect(server.addr);
    client.send("OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n");
    assert_eq!(client.response(), OPTIONS);
    client.send(&format!("OPTIONS / HTTP/1.1\r\nHost: test\r\n\r\n{GET}"));
    assert_eq!(client.response(), OPTIONS);
    assert_eq!(client.response(), HELLO, "the connection goes on");

    refused(
        &server,
        "GET *",
        b"GET * HTTP/1.1\r\nHost: test\r\n\r\n",
        BAD_REQUEST,
    );
    refused(
        &server,
        "CONNECT",
        format!("CONNECT test:443 HTTP/1.1\r\nHost: test:443\r\n\r\n{GET}").as_bytes(),
        NOT_IMPLEMENTED,
    );
}

// ---------------------------------------------------------------------------------------
// Shutdown, curl, the command line
// ---------------------------------------------------------------------------------------

/// `SIGTERM` with an idle keep-alive connection open: the server closes it at once rather
/// than waiting out the 30 s grace period, and exits 0.
#[test]
fn stop_signal_closes_idle_keep_alive_connections() {
    let server = Server::start("http_hello", &["--grace-secs", "30"]);
    let mut client = Client::connect(server.addr);
    client.send(GET);
    // The answer proves the connection is one of the server's tasks.
    assert_eq!(client.response(), HELLO);

    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    assert_eq!(
        server.next_line(),
        "SIGTERM: stopped accepting; waiting up to 30s for 1 open connection(s)"
    );
    client.expect_eof();
    let (status, lines) = server.finish();
    assert!(status.success(), "exited with {status}");
    assert_eq!(lines, ["stopped"]);
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(20), "took {took:?} to stop");
}

/// A request half sent when the stop signal comes is still answered once complete, with
/// `Connection: close`, and then the server closes the connection and exits 0.
#[test]
fn stop_signal_lets_a_request_in_flight_finish() {
    let server = Server::start("http_hello", &["--grace-secs", "30"]);
    let mut client = Client::connect(server.addr);
    // One small write is one segment on loopback, and one read takes all of it: once the
    // first request is answered, the server holds the start of the second.
    client.send(&format!("{GET}GET / HTTP/1.1\r\nHo"));
    assert_eq!(client.response(), HELLO);

    server.signal(libc::SIGTERM);
    assert!(server.next_line().starts_with("SIGTERM: stopped accepting"));
    match TcpStream::connect(server.addr) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}"),
        Ok(_) => panic!("accepted a connection after SIGTERM"),
    }
    client.send("st: test\r\n\r\n");
    assert_eq!(client.response(), HELLO_CLOSE);
    client.expect_eof();
    let (status, lines) = server.finish();
    assert!(status.success(), "exited with {status}");
    assert_eq!(lines, ["stopped"]);
}

/// `curl -s http://ADDR/` prints `Hello, World!`. Skipped, with a note, where there is no
/// curl on PATH.
#[test]
fn curl_gets_hello_world() {
    let found = Command::new("which")
        .arg("curl")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("note: curl is not on PATH; skipping the curl check");
        return;
    }
    let server = Server::start("http_hello", &[]);
    let curl = |args: &[&str]| {
        let output = Command::new("curl")
            .args(["-s", "--max-time", "10"])
            .args(args)
            .output()
            .expect("run curl");
        assert!(output.status.success(), "curl {args:?}: {}", output.status);
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let url = format!("http://{}/", server.addr);
    assert_eq!(curl(&[&url]), "Hello, World!");
    let missing = format!("http://{}/missing", server.addr);
    assert_eq!(
        curl(&["-o", "/dev/null", "-w", "%{http_code}", &missing]),
        "404"
    );
    // Two URLs: curl reuses the connection for the second.
    assert_eq!(curl(&[&url, &url]), "Hello, World!Hello, World!");
}

/// `--workers 2`: two whole servers on one port, one per worker. Twenty keep-alive
/// connections are served; on `SIGTERM` each worker reports its own shutdown, the open
/// connections they report add up to the twenty, all are closed at once, and the process
/// exits 0.
#[test]
fn two_workers_serve_and_stop_together() {
    const CONNS: usize = 20;
    let server = Server::start("http_hello", &["--workers", "2", "--grace-secs", "30"]);
    let mut clients: Vec<Client> = (0..CONNS).map(|_| Client::connect(server.addr)).collect();
    for client in &mut clients {
        client.send(&GET.repeat(3));
        for _ in 0..3 {
            assert_eq!(client.response(), HELLO);
        }
    }

    server.signal(libc::SIGTERM);
    let mut lines = vec![server.next_line()];
    for client in &mut clients {
        client.expect_eof();
    }
    let (status, rest) = server.finish();
    assert!(status.success(), "exited with {status}");
    lines.extend(rest);
    let mut open = 0;
    let mut stopping = 0;
    for line in lines.iter().filter(|l| *l != "stopped") {
        let count = line
            .strip_prefix("SIGTERM: stopped accepting; waiting up to 30s for ")
            .and_then(|l| l.strip_suffix(" open connection(s)"))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("unexpected line {line:?} in {lines:?}"));
        open += count;
        stopping += 1;
    }
    assert_eq!(stopping, 2, "{lines:?}");
    assert_eq!(lines.iter().filter(|l| *l == "stopped").count(), 2);
    assert_eq!(open, CONNS, "{lines:?}");
}

/// A bad `--workers` or an unknown flag is refused with exit code 2.
#[test]
fn bad_command_lines_are_refused() {
    for args in [&["--workers", "0"][..], &["--workers", "x"], &["--bogus"]] {
        let (status, _) = Running::start("http_hello", args).finish();
        assert_eq!(status.code(), Some(2), "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------
// The HTTP client
// ---------------------------------------------------------------------------------------

/// A blocking HTTP/1.1 client that sends raw bytes and reads responses one at a time.
struct Client {
    /// The connection, with read and write timeouts.
    stream: TcpStream,
    /// Bytes read but not yet part of a response returned.
    buffered: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        Client {
            stream,
            buffered: Vec::new(),
        }
    }

    fn send(&mut self, request: &str) {
        self.send_bytes(request.as_bytes());
    }

    /// Sends bytes that need not be text: binary noise, Latin-1.
    fn send_bytes(&mut self, request: &[u8]) {
        self.stream.write_all(request).expect("write to server");
    }

    /// Reads one response, its body as long as its `Content-Length` says; returns it as
    /// text with the `Date` value replaced by `<date>`, after checking its format.
    fn response(&mut self) -> String {
        self.read_response(true)
    }

    /// Reads the response to a HEAD request: a `Content-Length`, but no body.
    fn response_to_head(&mut self) -> String {
        self.read_response(false)
    }

    fn read_response(&mut self, with_body: bool) -> String {
        let head_len = loop {
            if let Some(end) = find(&self.buffered, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill();
        };
        let head = String::from_utf8(self.buffered[..head_len].to_vec()).expect("ASCII head");
        let body_len: usize = head
            .split("\r\n")
            .find_map(|line| line.strip_prefix("Content-Length: "))
            .unwrap_or_else(|| panic!("no Content-Length in {head:?}"))
            .parse()
            .expect("a number");
        let len = head_len + if with_body { body_len } else { 0 };
        while self.buffered.len() < len {
            self.fill();
        }
        let response: Vec<u8> = self.buffered.drain(..len).collect();
        let text = String::from_utf8(response).expect("ASCII response");
        without_date(&text)
    }

    /// Reads more bytes into `buffered`; EOF or a timeout fails the test.
    fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!(
                "EOF in the middle of a response; had {:?}",
                String::from_utf8_lossy(&self.buffered)
            ),
            Ok(n) => self.buffered.extend_from_slice(&chunk[..n]),
            Err(e) => panic!("reading a response: {e}"),
        }
    }

    /// The server closes the connection: a clean EOF, with no bytes before it.
    fn expect_eof(&mut self) {
        assert!(
            self.buffered.is_empty(),
            "unread bytes {:?}",
            String::from_utf8_lossy(&self.buffered)
        );
        let mut rest = Vec::new();
        match self.stream.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "expected EOF, got {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => panic!("expected EOF, got {e}"),
        }
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `response` with its one `Date` header's value checked and replaced by `<date>`.
fn without_date(response: &str) -> String {
    let start = response
        .find("\r\nDate: ")
        .unwrap_or_else(|| panic!("no Date header in {response:?}"))
        + "\r\nDate: ".len();
    let end = start + response[start..].find("\r\n").expect("a header line ends");
    let date = &response[start..end];
    assert!(is_imf_fixdate(date), "Date: {date:?}");
    format!("{}<date>{}", &response[..start], &response[end..])
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`: RFC 7231's IMF-fixdate, field by field.
fn is_imf_fixdate(date: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let number = |s: &str, max: u32| {
        s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u32>().is_ok_and(|n| n <= max)
    };
    let b = date.as_bytes();
    date.len() == 29
        && DAYS.contains(&&date[0..3])
        && &date[3..5] == ", "
        && number(&date[5..7], 31)
        && &date[5..7] != "00"
        && b[7] == b' '
        && MONTHS.contains(&&date[8..11])
        && b[11] == b' '
        && number(&date[12..16], 9999)
        && b[16] == b' '
        && number(&date[17..19], 23)
        && b[19] == b':'
        && number(&date[20..22], 59)
        && b[22] == b':'
        && number(&date[23..25], 60) // a leap second
        && &date[25..] == " GMT"
}
