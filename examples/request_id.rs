//! Request ids that follow a request everywhere — asyncio's `contextvars` lesson (seed 004's
//! lab: "request-id ContextVar propagated across awaits").
//!
//! Run it and connect a few clients:
//!
//! ```text
//! cargo run --release --example request_id
//! nc 127.0.0.1 7001        # type a line or two, in two terminals at once
//! ```
//!
//! Each connection gets a request id in a [`ContextVar`]. The handler never passes the id
//! around, yet every log line it prints carries it — across awaits, and in the audit task it
//! spawns, which inherits the handler's context just as asyncio's `create_task` copies the
//! current context. Two connections interleave on one thread without ever seeing each
//! other's id.
//!
//! `--demo` runs three clients against the server in-process and exits, printing the log.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tempo::net::{TcpListener, TcpStream};
use tempo::task::ContextVar;

/// The id of the request being handled — set once per connection, read anywhere below it.
static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");

/// A log line that carries the current request id, like a logging filter reading a
/// ContextVar in Python.
macro_rules! log {
    ($($arg:tt)*) => {
        match REQUEST_ID.get() {
            Some(id) => println!("[req {id}] {}", format_args!($($arg)*)),
            None => println!("[-----] {}", format_args!($($arg)*)),
        }
    };
}

/// Longest line a client may send, and how long a client may stay silent.
const MAX_LINE: usize = 1024;
const IDLE: Duration = Duration::from_secs(30);

async fn handle(mut stream: TcpStream) -> io::Result<()> {
    log!("connected from {}", stream.peer_addr()?);
    let mut buf = [0u8; MAX_LINE];
    loop {
        let n = match tempo::time::timeout(IDLE, stream.read(&mut buf)).await {
            Err(_elapsed) => {
                log!("idle for {IDLE:?}, closing");
                return Ok(());
            }
            Ok(read) => read?,
        };
        if n == 0 {
            log!("client closed the connection");
            return Ok(());
        }
        let line = String::from_utf8_lossy(&buf[..n]).trim().to_string();
        log!("got {line:?}");
        // A child task: it was never told the id, and still logs it.
        let audit = tempo::spawn(async move {
            tempo::time::sleep(Duration::from_millis(5)).await;
            log!("audit: {} bytes", line.len());
        });
        stream.write_all(format!("ok {n}\n").as_bytes()).await?;
        audit.await.map_err(io::Error::from)?;
    }
}

async fn serve(listener: TcpListener, max_connections: Option<u64>) -> io::Result<()> {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let mut served = 0;
    let mut handlers = tempo::task::JoinSet::new();
    while max_connections.is_none_or(|max| served < max) {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                // EMFILE and friends: report, breathe, go on.
                log!("accept failed: {e}");
                tempo::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        served += 1;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        // The one place the id is set: everything the handler does sees it.
        handlers.spawn(REQUEST_ID.scope(id, async move {
            if let Err(e) = handle(stream).await {
                log!("error: {e}");
            }
        }));
    }
    while handlers.join_next().await.is_some() {}
    Ok(())
}

async fn client(addr: std::net::SocketAddr, name: &str) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    for i in 0..2 {
        stream
            .write_all(format!("{name} says hello #{i}\n").as_bytes())
            .await?;
        let mut reply = [0u8; 64];
        let _ = stream.read(&mut reply).await?;
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let mut addr = "127.0.0.1:7001".to_string();
    let mut demo = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => addr = args.next().expect("--addr needs HOST:PORT"),
            "--demo" => demo = true,
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: request_id [--addr HOST:PORT] [--demo]"
                );
                std::process::exit(2);
            }
        }
    }
    tempo::run(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        let local = listener.local_addr()?;
        println!("listening on {local}");
        if !demo {
            return serve(listener, None).await;
        }
        let server = tempo::spawn(serve(listener, Some(3)));
        let clients: Vec<_> = ["ann", "bob", "cyd"]
            .into_iter()
            .map(|name| tempo::spawn(async move { client(local, name).await }))
            .collect();
        for c in clients {
            c.await??;
        }
        server.await?
    })
}
