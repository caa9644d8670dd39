//! hyper on tempo (`tempo::hyper`): hyper's client and server, over tempo's `TcpStream`s,
//! through `TempoIo`, with `TempoTimer`'s deadlines — and `examples/hyper_hello` as a
//! program, fetched by hyper's client on tempo and by `curl`.
//!
//! No `#![cfg(feature = "hyper")]` here: the root `Cargo.toml` switches tempo-runtime's
//! `hyper` feature on for every test through its dev-dependencies, so these tests run under
//! a plain `cargo test --workspace --all-targets`. (A `cfg(feature = "hyper")` would ask
//! about the *facade's* feature, which that command leaves off: the file would compile to
//! nothing, and pass in silence.)
//!
//! Every test runs under [`common::with_hang_guard`]; the example runs as a child process
//! (`tests/support/child.rs`'s `Server`), killed if the test fails, and its `listening on`
//! line, not a sleep, says when to connect.

mod common;
mod support;

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hyper::body::{Body, Incoming};
use hyper::client::conn::http1 as client;
use hyper::rt::Timer;
use hyper::server::conn::http1 as server;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use tempo::hyper::{TempoIo, TempoTimer};
use tempo::net::{TcpListener, TcpStream};

use common::with_hang_guard;
use support::child::Server;

/// The service of the in-process tests: `GET /` is the hello; any other request gets its
/// own body back, so that what crossed the adapter can be compared byte for byte.
async fn service(request: Request<Incoming>) -> Result<Response<String>, Infallible> {
    if request.method() == Method::GET {
        return Ok(Response::new("Hello, World!".to_string()));
    }
    let body = collect(request.into_body()).await.expect("request body");
    Ok(Response::new(String::from_utf8(body).expect("ASCII body")))
}

/// All of a body's data frames, in order.
async fn collect(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut bytes = Vec::new();
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
}

/// A server on an ephemeral loopback port: each connection served by hyper over
/// `TempoIo`, with `TempoTimer` and a header timeout of `header`. Returns its address, the
/// count of connections it accepted, and a channel on which each connection's result
/// arrives when it ends.
async fn spawn_server(
    header: Duration,
) -> (
    SocketAddr,
    Arc<AtomicUsize>,
    tempo::sync::mpsc::UnboundedReceiver<Result<(), hyper::Error>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let accepted = Arc::new(AtomicUsize::new(0));
    let (ended, endings) = tempo::sync::mpsc::unbounded_channel();
    let count = Arc::clone(&accepted);
    drop(tempo::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            count.fetch_add(1, Ordering::SeqCst);
            let ended = ended.clone();
            drop(tempo::spawn(async move {
                let mut builder = server::Builder::new();
                builder.timer(TempoTimer::new()).header_read_timeout(header);
                let result = builder
                    .serve_connection(TempoIo::new(stream), service_fn(service))
                    .await;
                let _ = ended.send(result);
            }));
        }
    }));
    (addr, accepted, endings)
}

/// hyper's client on tempo: a handshake over a tempo `TcpStream`, its connection future
/// spawned as a task; requests go through the returned sender.
async fn connect(addr: SocketAddr) -> client::SendRequest<String> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = client::handshake(TempoIo::new(stream))
        .await
        .expect("handshake");
    drop(tempo::spawn(async move {
        // Ends when the sender is dropped, or the server closes.
        let _ = conn.await;
    }));
    sender
}

/// Sends `method path` with `body`; the status and the whole response body.
async fn fetch(
    sender: &mut client::SendRequest<String>,
    method: Method,
    path: &str,
    body: String,
) -> (StatusCode, Vec<u8>) {
    poll_fn(|cx| sender.poll_ready(cx)).await.expect("ready");
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "tempo.test")
        .body(body)
        .expect("a valid request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    (status, collect(response.into_body()).await.expect("body"))
}

/// Five requests on one keep-alive connection, client and server both hyper on tempo:
/// every answer right, and the server accepted exactly one connection.
#[test]
fn hyper_client_and_server_on_tempo_keep_alive() {
    with_hang_guard(|| {
        tempo::run(async {
            let (addr, accepted, _endings) = spawn_server(Duration::from_secs(30)).await;
            let mut sender = connect(addr).await;
            for i in 0..5 {
                let (status, body) = fetch(&mut sender, Method::GET, "/", String::new()).await;
                assert_eq!(status, StatusCode::OK, "request {i}");
                assert_eq!(body, b"Hello, World!", "request {i}");
            }
            assert_eq!(
                accepted.load(Ordering::SeqCst),
                1,
                "one connection for all five"
            );
        })
    });
}

/// A body many times `TempoIo`'s 8 KiB read chunk crosses the adapter both ways intact:
/// the server reads it in pieces into hyper's buffer, the client reads the echo back.
#[test]
fn a_large_body_crosses_the_adapter_intact() {
    with_hang_guard(|| {
        tempo::run(async {
            let (addr, _, _endings) = spawn_server(Duration::from_secs(30)).await;
            let mut sender = connect(addr).await;
            let sent: String = (0..300_000u32)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect();
            let (status, body) = fetch(&mut sender, Method::POST, "/", sent.clone()).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body.len(), sent.len());
            assert!(body == sent.as_bytes(), "the echoed body differs");
            // And the connection goes on after it.
            let (_, body) = fetch(&mut sender, Method::GET, "/", String::new()).await;
            assert_eq!(body, b"Hello, World!");
        })
    });
}

/// `header_read_timeout` runs on `TempoTimer`: a client that connects and sends half a
/// request head is cut off once the timeout passes — not before — and hyper reports a
/// timeout.
#[test]
fn header_read_timeout_closes_a_slow_client() {
    const HEADER: Duration = Duration::from_millis(200);
    with_hang_guard(|| {
        tempo::run(async {
            let (addr, _, mut endings) = spawn_server(HEADER).await;
            let start = Instant::now();
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream
                .write_all(b"GET / HTTP/1.1\r\nHo")
                .await
                .expect("write");
            let mut buf = [0u8; 64];
            let n = stream.read(&mut buf).await.expect("read");
            assert_eq!(n, 0, "closed without an answer");
            assert!(
                start.elapsed() >= HEADER,
                "closed after {:?}",
                start.elapsed()
            );
            let ended = endings.recv().await.expect("the connection's result");
            let err = ended.expect_err("a timeout");
            assert!(err.is_timeout(), "{err}");
        })
    });
}

/// `TempoTimer::reset` moves hyper's sleep: an hour-long sleep reset to 20 ms completes at
/// about 20 ms, and one reset later again waits for the later deadline.
#[test]
fn tempo_timer_reset_moves_the_deadline_both_ways() {
    with_hang_guard(|| {
        tempo::run(async {
            let timer = TempoTimer::new();
            let start = Instant::now();
            let mut sooner = timer.sleep(Duration::from_secs(3600));
            timer.reset(&mut sooner, start + Duration::from_millis(20));
            sooner.await;
            assert!(start.elapsed() >= Duration::from_millis(20));
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{:?}",
                start.elapsed()
            );

            let start = Instant::now();
            let mut later = timer.sleep_until(start + Duration::from_millis(1));
            timer.reset(&mut later, start + Duration::from_millis(50));
            later.await;
            assert!(
                start.elapsed() >= Duration::from_millis(50),
                "{:?}",
                start.elapsed()
            );
        })
    });
}

// ---------------------------------------------------------------------------------------
// examples/hyper_hello, as a program
// ---------------------------------------------------------------------------------------

/// The example, fetched by hyper's client on tempo over one keep-alive connection: its
/// three answers, then a clean stop on Ctrl-C with the skeleton's lines.
#[test]
fn hyper_hello_answers_a_hyper_client_on_tempo() {
    let example = Server::start("hyper_hello", &[]);
    let addr = example.addr;
    with_hang_guard(move || {
        tempo::run(async move {
            let mut sender = connect(addr).await;
            for (method, path, status, body) in [
                (Method::GET, "/", 200, &b"Hello, World!"[..]),
                (Method::GET, "/nope", 404, b"Not Found\n"),
                (Method::DELETE, "/", 405, b"Method Not Allowed\n"),
                (Method::GET, "/plaintext", 200, b"Hello, World!"),
            ] {
                let got = fetch(&mut sender, method.clone(), path, String::new()).await;
                assert_eq!(
                    (got.0.as_u16(), &got.1[..]),
                    (status, body),
                    "{method} {path}"
                );
            }
        })
    });
    let (status, lines, _) = example.interrupt();
    assert!(status.success(), "{status}; stdout {lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("stopped"),
        "{lines:?}"
    );
}

/// The example under `curl`, the way its header says to try it, when `curl` is installed:
/// two URLs in one `curl` run share one connection (keep-alive), and each is answered.
#[test]
fn hyper_hello_answers_curl() {
    let curl_found = Command::new("curl").arg("--version").output().is_ok();
    if !curl_found {
        println!("hyper_hello_answers_curl: curl is not installed; this test checked nothing");
        return;
    }
    let example = Server::start("hyper_hello", &["--header-secs", "5"]);
    let url = |path: &str| format!("http://{}{path}", example.addr);
    // `num_connects` after each transfer: 1 for the first URL, 0 for the second if curl
    // kept the connection open and the server served both on it.
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20", "--include"])
        .args(["--write-out", "[%{num_connects}]"])
        .arg(url("/"))
        .arg(url("/nope"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains("\r\n\r\nHello, World![1]HTTP/1.1 404 Not Found\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nNot Found\n[0]"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nserver: tempo+hyper\r\n"),
        "{text}"
    );
    let (status, lines, _) = example.interrupt();
    assert!(status.success(), "{status}; stdout {lines:?}");
}
