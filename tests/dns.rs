//! Name resolution off the loop: an address literal is parsed in place and never reaches
//! the blocking pool; a host name is looked up on the pool, so the worker's loop goes on
//! serving other tasks meanwhile (asyncio's `loop.getaddrinfo` runs in its executor).
//!
//! The pool's gauges (`Handle::blocking_stats`) are the witness: a literal starts no pool
//! thread and queues no job; a host name does.

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc;

use common::with_hang_guard;
use tempo::Handle;
use tempo::net::{TcpListener, TcpStream, UdpSocket};

/// Jobs the elastic blocking pool has been handed: running, queued or finished.
fn pool_jobs(handle: &Handle) -> (usize, usize, u64) {
    let pool = handle.blocking_stats().blocking;
    (pool.threads, pool.queued, pool.completed)
}

#[test]
fn address_literals_of_every_shape_never_touch_the_blocking_pool() {
    with_hang_guard(|| {
        tempo::run(async {
            let handle = Handle::current();
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let port = addr.port();
            let _a = TcpStream::connect(addr).await.expect("SocketAddr");
            let _b = TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .expect("String");
            let _c = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("(&str, u16)");
            let _d = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
                .await
                .expect("(Ipv4Addr, u16)");
            let _e = TcpStream::connect((IpAddr::from(Ipv4Addr::LOCALHOST), port))
                .await
                .expect("(IpAddr, u16)");
            let _f = TcpStream::connect(&[addr][..])
                .await
                .expect("&[SocketAddr]");
            let udp = UdpSocket::bind("127.0.0.1:0").await.expect("udp bind");
            let to = udp.local_addr().expect("udp addr");
            udp.send_to(b"x", to).await.expect("send_to SocketAddr");
            udp.send_to(b"y", format!("127.0.0.1:{}", to.port()))
                .await
                .expect("send_to str");
            udp.connect(to).await.expect("udp connect");
            let v6 = TcpListener::bind("[::1]:0").await;
            if let Ok(v6) = v6 {
                let _g = TcpStream::connect(v6.local_addr().unwrap())
                    .await
                    .expect("[::1]");
            }
            assert_eq!(
                pool_jobs(&handle),
                (0, 0, 0),
                "no pool thread, no job, for literals"
            );
        })
    });
}

#[test]
fn a_host_name_resolves_on_the_blocking_pool_and_localhost_connects() {
    with_hang_guard(|| {
        tempo::run(async {
            let handle = Handle::current();
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("local_addr").port();
            let accept = tempo::spawn(async move { listener.accept().await.map(|(_, p)| p) });
            let stream = TcpStream::connect(format!("localhost:{port}"))
                .await
                .expect("localhost");
            assert_eq!(
                stream.peer_addr().expect("peer"),
                SocketAddr::from(([127, 0, 0, 1], port))
            );
            accept.await.expect("accept task").expect("accepted");
            let (threads, _, _) = pool_jobs(&handle);
            assert!(threads >= 1, "the lookup started a pool thread");

            let listener = TcpListener::bind("localhost:0")
                .await
                .expect("bind by name");
            assert!(
                listener
                    .local_addr()
                    .expect("local_addr")
                    .ip()
                    .is_loopback()
            );
            let udp = UdpSocket::bind(("localhost", 0))
                .await
                .expect("udp bind by name");
            assert!(udp.local_addr().expect("udp addr").ip().is_loopback());
        })
    });
}

#[test]
fn bad_names_and_addresses_are_clear_io_errors() {
    with_hang_guard(|| {
        tempo::run(async {
            // RFC 6761: `.invalid` never resolves.
            let err = TcpStream::connect("no-such-host.invalid:80")
                .await
                .expect_err("lookup");
            let text = err.to_string();
            assert!(
                text.contains("no-such-host.invalid"),
                "the error names the host: {text}"
            );
            let err = UdpSocket::bind("no-such-host.invalid:0")
                .await
                .expect_err("udp lookup");
            assert!(err.to_string().contains("no-such-host.invalid"));

            // Not addresses at all: refused in place, with std's words, and no lookup.
            let handle = Handle::current();
            let before = pool_jobs(&handle).2;
            let err = TcpStream::connect("localhost").await.expect_err("no port");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let err = TcpStream::connect("localhost:99999")
                .await
                .expect_err("bad port");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let err = TcpListener::bind(&[][..]).await.expect_err("no address");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert_eq!(
                pool_jobs(&handle).2,
                before,
                "no lookup for a malformed address"
            );
        })
    });
}

#[test]
fn name_resolution_outside_a_runtime_is_an_error_not_a_panic() {
    let err = common::block_on(TcpStream::connect("localhost:80")).expect_err("outside");
    assert!(err.to_string().contains("tempo"), "{err}");
}

/// The pool's only thread is held by a job; a lookup queues behind it. Meanwhile the
/// worker — one worker, so the loop is the one that would block — connects and echoes
/// over a literal address, and the lookup waits in the pool's queue, not on the worker.
#[test]
fn a_lookup_waits_on_the_pool_while_the_loop_serves_other_tasks() {
    with_hang_guard(|| {
        let runtime = tempo::Builder::new()
            .workers(1)
            .max_blocking_threads(1)
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let handle = Handle::current();
            let (release_tx, release_rx) = mpsc::channel::<()>();
            let (held_tx, held_rx) = common::oneshot();
            let blocker = handle.spawn_blocking(move || {
                held_tx.send(());
                release_rx.recv().expect("release")
            });
            held_rx.await; // the pool's one thread is busy now

            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let port = listener.local_addr().expect("local_addr").port();
            let by_name = tempo::spawn(TcpStream::connect(format!("localhost:{port}")));
            common::yield_until("the lookup is queued", || pool_jobs(&handle).1 == 1).await;

            // The loop is free: a literal connect, an accept and a round trip complete.
            let mut client = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("literal");
            let (mut served, _) = listener.accept().await.expect("accept");
            client.write_all(b"ping").await.expect("write");
            let mut buf = [0u8; 4];
            served.read_exact(&mut buf).await.expect("read");
            assert_eq!(&buf, b"ping");
            assert!(
                !by_name.is_finished(),
                "the lookup waits for the pool, not the loop"
            );
            assert_eq!(pool_jobs(&handle).1, 1, "still queued");

            release_tx.send(()).expect("release the pool");
            blocker.await.expect("blocker");
            let by_name = by_name
                .await
                .expect("lookup task")
                .expect("connect by name");
            let (_, peer) = listener.accept().await.expect("accept the named client");
            assert_eq!(by_name.local_addr().expect("local"), peer);
        });
    });
}
