//! TCP over real loopback sockets: what `tempo::net::{TcpListener, TcpStream}` promise.
//!
//! Every test runs under [`common::with_hang_guard`], so a lost wake-up fails the test
//! instead of hanging the suite, and every std socket used as a peer has a read timeout.

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use common::{block_on, with_hang_guard};
use tempo::net::{TcpListener, TcpStream};

/// A read timeout for std peers: long enough never to fire on a healthy run.
const STD_PEER_TIMEOUT: Duration = Duration::from_secs(20);

/// Echo everything read on `stream` back to it until the peer shuts down its write side.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Start an echo server on an ephemeral loopback port; it serves every connection in its
/// own task until the runtime shuts down.
async fn spawn_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    // Detached: the server runs until the runtime drops it.
    drop(tempo::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            drop(tempo::spawn(
                async move { echo(stream).await.expect("echo") },
            ));
        }
    }));
    addr
}

/// Read until EOF.
async fn read_to_end(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(all),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// A connected pair over loopback: (client side, server side).
async fn connected_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let client = TcpStream::connect(addr).await.expect("connect");
    let (server, _) = listener.accept().await.expect("accept");
    (client, server)
}

/// `len` pseudo-random bytes: no period a reordering or duplication bug could hide in.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1; // xorshift32 must not start at 0
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Assert two byte strings are equal, reporting the first difference rather than
/// printing megabytes.
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str) {
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!(
            "{what}: first difference at byte {i} (got {:#04x}, want {:#04x})",
            got[i], want[i]
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: length");
}

/// What client `id` sends in the many-clients test: five writes, each tagged with the
/// client and the chunk, of a length that differs between clients.
fn client_chunks(id: usize) -> Vec<Vec<u8>> {
    (0..5)
        .map(|chunk| format!("<client {id:03} chunk {chunk}>").repeat(10 + id % 7 * 20))
        .map(String::into_bytes)
        .collect()
}

#[test]
fn hundred_concurrent_clients_each_get_exactly_their_own_bytes_back() {
    with_hang_guard(|| {
        tempo::run(async {
            let addr = spawn_echo_server().await;
            let clients: Vec<_> = (0..100)
                .map(|id| {
                    tempo::spawn(async move {
                        let mut stream = TcpStream::connect(addr).await?;
                        for chunk in client_chunks(id) {
                            stream.write_all(&chunk).await?;
                            tempo::task::yield_now().await; // interleave with other clients
                        }
                        stream.shutdown_std(Shutdown::Write)?;
                        read_to_end(&mut stream).await
                    })
                })
                .collect();
            for (id, client) in clients.into_iter().enumerate() {
                let echoed = client.await.expect("client task").expect("client I/O");
                assert_same_bytes(
                    &echoed,
                    &client_chunks(id).concat(),
                    &format!("client {id}"),
                );
            }
        })
    });
}

#[test]
fn one_mebibyte_written_by_one_task_is_read_back_intact_by_another() {
    const MIB: usize = 1 << 20;
    with_hang_guard(|| {
        tempo::run(async {
            let addr = spawn_echo_server().await;
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut reader, mut writer) = stream.into_split();
            let sent = pattern(MIB, 0x5eed);

            // 1 MiB is more than the loopback buffers hold, so the writer must wait for
            // the reader to drain the echo: both directions are registered at once.
            let to_send = sent.clone();
            let writer_task = tempo::spawn(async move {
                for chunk in to_send.chunks(64 * 1024) {
                    writer.write_all(chunk).await.expect("write_all");
                }
                writer // keep the write side open until the reader is done
            });

            let mut received = vec![0u8; MIB];
            reader.read_exact(&mut received).await.expect("read_exact");
            assert_same_bytes(&received, &sent, "1 MiB echo");

            // Dropping the write half sends FIN; the server's echo loop ends and closes,
            // and the read half sees EOF: not one byte more than was sent.
            drop(writer_task.await.expect("writer task"));
            let mut extra = [0u8; 1];
            assert_eq!(reader.read(&mut extra).await.expect("read at EOF"), 0);
        })
    });
}

#[test]
fn split_halves_of_one_stream_carry_both_directions_from_two_tasks() {
    const FROM_CLIENT: &[u8] = b"the client's whole request";
    let from_server = pattern(256 * 1024, 42); // more than fits in the buffers at once
    let expected_reply = from_server.clone();
    with_hang_guard(move || {
        tempo::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let client = tempo::spawn(async move {
                let mut stream = TcpStream::connect(addr).await?;
                stream.write_all(FROM_CLIENT).await?;
                stream.shutdown_std(Shutdown::Write)?;
                read_to_end(&mut stream).await
            });

            let (conn, _) = listener.accept().await.expect("accept");
            let (mut read_half, mut write_half) = conn.into_split();
            let reading = tempo::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 7]; // small: several reads per message
                loop {
                    match read_half.read(&mut buf).await.expect("read half") {
                        0 => break,
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
                (got, read_half)
            });
            let writing = tempo::spawn(async move {
                write_half
                    .write_all(&from_server)
                    .await
                    .expect("write half");
                // Dropped here: that alone shuts down the write direction.
            });

            let (got, _read_half) = reading.await.expect("reading task");
            writing.await.expect("writing task");
            assert_eq!(got, FROM_CLIENT, "what the read half saw");
            // The read half is still alive, yet the client sees EOF: dropping the write
            // half sent FIN.
            let reply = client.await.expect("client task").expect("client I/O");
            assert_same_bytes(&reply, &expected_reply, "what the write half sent");
        })
    });
}

#[test]
fn halves_reunite_only_with_their_own_stream() {
    with_hang_guard(|| {
        tempo::run(async {
            let (client, mut server) = connected_pair().await;
            let (other, _other_server) = connected_pair().await;
            let (read_half, write_half) = client.into_split();
            let (other_read, other_write) = other.into_split();

            let tempo::net::tcp::ReuniteError(read_half, other_write) = read_half
                .reunite(other_write)
                .expect_err("halves of different streams reunited");
            drop((other_read, other_write));

            let mut client = read_half.reunite(write_half).expect("reunite");
            // Reuniting does not shut the stream down: it still works both ways.
            client.write_all(b"whole again").await.expect("write");
            let mut buf = [0u8; 11];
            server.read_exact(&mut buf).await.expect("read");
            assert_eq!(&buf, b"whole again");
            server.write_all(b"ack").await.expect("write");
            let mut ack = [0u8; 3];
            client.read_exact(&mut ack).await.expect("read");
            assert_eq!(&ack, b"ack");
        })
    });
}

#[test]
fn peer_shutdown_of_its_write_side_gives_eof_while_the_other_direction_still_works() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut client, mut server) = connected_pair().await;
            client.write_all(b"request").await.expect("write");
            client
                .shutdown_std(Shutdown::Write)
                .expect("shutdown(Write)");

            let mut request = [0u8; 7];
            server.read_exact(&mut request).await.expect("read request");
            assert_eq!(&request, b"request");
            let mut buf = [0u8; 16];
            assert_eq!(server.read(&mut buf).await.expect("read at EOF"), 0, "EOF");
            assert_eq!(
                server.read(&mut buf).await.expect("read again"),
                0,
                "EOF stays"
            );

            // Half-closed, like std: the client can no longer write ...
            let err = client
                .write(b"late")
                .await
                .expect_err("write after shutdown(Write)");
            assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
            // ... but the server can still answer, and the client still read.
            server
                .write_all(b"response after half-close")
                .await
                .expect("write");
            drop(server);
            let reply = read_to_end(&mut client).await.expect("read reply");
            assert_eq!(reply, b"response after half-close");
        })
    });
}

#[test]
fn a_connection_reset_by_the_peer_is_an_io_error_not_a_panic() {
    with_hang_guard(|| {
        tempo::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            // A loopback connect completes in the kernel's backlog, without an accept.
            let peer = std::net::TcpStream::connect(addr).expect("std connect");
            let (mut conn, _) = listener.accept().await.expect("accept");

            // SO_LINGER 0 makes close() send RST instead of FIN.
            socket2::SockRef::from(&peer)
                .set_linger(Some(Duration::ZERO))
                .expect("set_linger");
            drop(peer);

            let mut buf = [0u8; 16];
            let err = conn.read(&mut buf).await.expect_err("read after RST");
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
            let err = conn
                .write_all(b"into the void")
                .await
                .expect_err("write after RST");
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                ),
                "write after RST: {err}"
            );
        })
    });
}

/// Closing (`futures-io`'s `poll_close`, which hyper calls as `poll_shutdown` on every
/// connection it finishes) after the peer has reset succeeds, as tokio's `poll_shutdown`
/// does: there is no one left to send a FIN to, and that is not the closer's error. The
/// bare `shutdown(Write)` underneath still reports what the kernel says, `NotConnected`.
#[test]
fn closing_after_the_peer_reset_is_ok_as_in_tokio() {
    use futures_io::AsyncWrite;
    use std::pin::Pin;

    with_hang_guard(|| {
        tempo::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let peer = std::net::TcpStream::connect(addr).expect("std connect");
            let (mut conn, _) = listener.accept().await.expect("accept");

            // SO_LINGER 0 makes close() send RST instead of FIN.
            socket2::SockRef::from(&peer)
                .set_linger(Some(Duration::ZERO))
                .expect("set_linger");
            drop(peer);
            // The reset has arrived once a read says so.
            let mut buf = [0u8; 16];
            let err = conn.read(&mut buf).await.expect_err("read after RST");
            assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");

            for attempt in ["first", "second"] {
                std::future::poll_fn(|cx| Pin::new(&mut conn).poll_close(cx))
                    .await
                    .unwrap_or_else(|e| panic!("{attempt} poll_close after RST: {e}"));
            }
            let err = conn
                .shutdown_std(Shutdown::Write)
                .expect_err("shutdown(Write) after RST");
            assert_eq!(err.kind(), ErrorKind::NotConnected, "{err}");
        })
    });
}

#[test]
fn connecting_to_a_closed_port_is_connection_refused() {
    with_hang_guard(|| {
        tempo::run(async {
            let closed = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                listener.local_addr().expect("local_addr")
            }; // dropped: nothing listens there now
            let err = TcpStream::connect(closed)
                .await
                .expect_err("connect to closed port");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        })
    });
}

#[test]
fn read_exact_on_early_eof_is_unexpected_eof() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut client, mut server) = connected_pair().await;
            client.write_all(b"abc").await.expect("write");
            client.shutdown_std(Shutdown::Write).expect("shutdown");
            let mut buf = [0u8; 8];
            let err = server
                .read_exact(&mut buf)
                .await
                .expect_err("read_exact past EOF");
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{err}");
        })
    });
}

#[test]
fn addresses_and_nodelay_are_those_of_the_socket() {
    with_hang_guard(|| {
        tempo::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let listen_addr = listener.local_addr().expect("local_addr");
            assert!(listen_addr.ip().is_loopback());
            assert_ne!(listen_addr.port(), 0, "bind to port 0 picks a real port");

            let client = TcpStream::connect(listen_addr).await.expect("connect");
            let (server, client_addr) = listener.accept().await.expect("accept");
            assert_eq!(client.peer_addr().expect("peer_addr"), listen_addr);
            assert_eq!(client.local_addr().expect("local_addr"), client_addr);
            assert_eq!(server.local_addr().expect("local_addr"), listen_addr);
            assert_eq!(server.peer_addr().expect("peer_addr"), client_addr);

            client.set_nodelay(true).expect("set_nodelay(true)");
            assert!(client.nodelay().expect("nodelay"));
            client.set_nodelay(false).expect("set_nodelay(false)");
            assert!(!client.nodelay().expect("nodelay"));
        })
    });
}

#[test]
fn a_std_client_on_a_plain_thread_talks_to_a_tempo_server() {
    with_hang_guard(|| {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let client = std::thread::spawn(move || -> io::Result<Vec<u8>> {
            let addr: SocketAddr = addr_rx.recv().expect("server address");
            let mut stream = std::net::TcpStream::connect(addr)?;
            stream.set_read_timeout(Some(STD_PEER_TIMEOUT))?;
            stream.write_all(b"ping from std")?;
            stream.shutdown(Shutdown::Write)?;
            let mut reply = Vec::new();
            stream.read_to_end(&mut reply)?;
            Ok(reply)
        });

        tempo::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let (mut conn, _) = listener.accept().await.expect("accept");
            let request = read_to_end(&mut conn).await.expect("read request");
            conn.write_all(&request.to_ascii_uppercase())
                .await
                .expect("reply");
        });

        let reply = client
            .join()
            .expect("std client thread")
            .expect("std client I/O");
        assert_eq!(reply, b"PING FROM STD");
    });
}

#[test]
fn a_tempo_client_talks_to_a_std_server_on_a_plain_thread() {
    with_hang_guard(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let server = std::thread::spawn(move || -> io::Result<Vec<u8>> {
            let (mut conn, _) = listener.accept()?;
            conn.set_read_timeout(Some(STD_PEER_TIMEOUT))?;
            let mut request = Vec::new();
            conn.read_to_end(&mut request)?;
            conn.write_all(b"pong from std")?;
            Ok(request)
        });

        let reply = tempo::run(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.write_all(b"ping from tempo").await.expect("write");
            stream.shutdown_std(Shutdown::Write).expect("shutdown");
            read_to_end(&mut stream).await.expect("read reply")
        });

        let request = server
            .join()
            .expect("std server thread")
            .expect("std server I/O");
        assert_eq!(request, b"ping from tempo");
        assert_eq!(reply, b"pong from std");
    });
}

#[test]
fn networking_outside_a_runtime_returns_an_io_error() {
    with_hang_guard(|| {
        let live = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let live_addr = live.local_addr().expect("local_addr");

        // Polled by a foreign executor on a thread that runs no tempo runtime.
        let bind = std::panic::catch_unwind(|| block_on(TcpListener::bind("127.0.0.1:0")))
            .expect("TcpListener::bind outside a runtime panicked");
        assert!(
            bind.is_err(),
            "TcpListener::bind outside a runtime succeeded"
        );

        let connect = std::panic::catch_unwind(|| block_on(TcpStream::connect(live_addr)))
            .expect("TcpStream::connect outside a runtime panicked");
        assert!(
            connect.is_err(),
            "TcpStream::connect outside a runtime succeeded"
        );

        let udp = std::panic::catch_unwind(|| block_on(tempo::net::UdpSocket::bind("127.0.0.1:0")))
            .expect("UdpSocket::bind outside a runtime panicked");
        assert!(udp.is_err(), "UdpSocket::bind outside a runtime succeeded");
    });
}

#[test]
fn binding_an_address_already_listened_on_is_addr_in_use() {
    with_hang_guard(|| {
        tempo::run(async {
            let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let addr = taken.local_addr().expect("local_addr");
            // SO_REUSEADDR lets a listener reuse a port in TIME_WAIT, not a live listener's.
            let err = TcpListener::bind(addr)
                .await
                .expect_err("bound a port in use");
            assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
        })
    });
}

#[test]
fn a_read_cancelled_by_a_timeout_loses_no_data_and_the_stream_still_works() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut client, mut server) = connected_pair().await;
            let mut buf = [0u8; 32];
            let timed_out = tempo::time::timeout(Duration::from_millis(10), server.read(&mut buf));
            assert!(
                timed_out.await.is_err(),
                "a read with nothing to read completed"
            );

            // The dropped read lost nothing. (Its waker stays parked until the next event,
            // which wakes this task once, spuriously: docs/DESIGN.md, "Wakers".)
            client.write_all(b"after the timeout").await.expect("write");
            let mut got = [0u8; 17];
            server
                .read_exact(&mut got)
                .await
                .expect("read after a cancelled read");
            assert_eq!(&got, b"after the timeout");
        })
    });
}

#[test]
fn public_net_types_can_move_between_tasks() {
    fn send<T: Send + 'static>() {}
    send::<TcpListener>();
    send::<TcpStream>();
    send::<tempo::net::UdpSocket>();
    send::<tempo::net::tcp::OwnedReadHalf>();
    send::<tempo::net::tcp::OwnedWriteHalf>();
}

#[test]
fn several_tasks_accepting_on_one_shared_listener_each_get_a_connection() {
    const ACCEPTORS: usize = 4;
    with_hang_guard(|| {
        tempo::run(async {
            let listener = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().expect("local_addr");
            let acceptors: Vec<_> = (0..ACCEPTORS)
                .map(|_| {
                    let listener = listener.clone();
                    tempo::spawn(async move {
                        let (mut conn, _) = listener.accept().await.expect("accept");
                        let mut byte = [0u8; 1];
                        conn.read_exact(&mut byte).await.expect("read");
                        byte[0]
                    })
                })
                .collect();
            tempo::task::yield_now().await; // every acceptor is now waiting

            // One connection at a time, the runtime idle in between: every waiting
            // acceptor must be woken, not just the first one that registered.
            let mut clients = Vec::new();
            for id in 0..ACCEPTORS as u8 {
                let mut client = TcpStream::connect(addr).await.expect("connect");
                client.write_all(&[id]).await.expect("write");
                clients.push(client);
            }
            let mut ids = Vec::new();
            for acceptor in acceptors {
                ids.push(acceptor.await.expect("acceptor"));
            }
            ids.sort();
            assert_eq!(ids, (0..ACCEPTORS as u8).collect::<Vec<_>>());
        })
    });
}

#[test]
fn incoming_is_a_stream_of_accepted_connections_that_does_not_end_on_its_own() {
    use futures_util::StreamExt;
    with_hang_guard(|| {
        tempo::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let clients = tempo::spawn(async move {
                let mut streams = Vec::new();
                for i in 0..3u8 {
                    let mut stream = TcpStream::connect(addr).await?;
                    stream.write_all(&[i]).await?;
                    streams.push(stream);
                }
                Ok::<_, io::Error>(streams)
            });
            let mut incoming = listener.incoming();
            let mut ids = Vec::new();
            for _ in 0..3 {
                let mut stream = incoming.next().await.expect("never ends").expect("accept");
                let mut id = [0u8; 1];
                stream.read_exact(&mut id).await.expect("id");
                ids.push(id[0]);
            }
            assert_eq!(ids, [0, 1, 2]);
            let _streams = clients.await.expect("clients").expect("client I/O");
            let next = tempo::time::timeout(Duration::from_millis(50), incoming.next()).await;
            assert!(
                next.is_err(),
                "with no client waiting, incoming is pending, not ended"
            );
        })
    });
}

#[test]
fn tcp_and_udp_sockets_expose_their_descriptors() {
    use std::os::fd::{AsFd, AsRawFd};
    with_hang_guard(|| {
        tempo::run(async {
            let (client, server) = connected_pair().await;
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let udp = tempo::net::UdpSocket::bind("127.0.0.1:0")
                .await
                .expect("udp");
            let fds = [
                client.as_raw_fd(),
                server.as_raw_fd(),
                listener.as_raw_fd(),
                udp.as_raw_fd(),
            ];
            assert_eq!(
                [
                    client.as_fd(),
                    server.as_fd(),
                    listener.as_fd(),
                    udp.as_fd()
                ]
                .map(|fd| fd.as_raw_fd()),
                fds
            );
            // Each is the socket itself: the kernel reports the address we know.
            let borrowed = socket2::SockRef::from(&listener);
            let local = borrowed.local_addr().expect("getsockname").as_socket();
            assert_eq!(local, Some(listener.local_addr().expect("local_addr")));
            let local = socket2::SockRef::from(&client)
                .local_addr()
                .expect("getsockname");
            assert_eq!(
                local.as_socket(),
                Some(client.local_addr().expect("local_addr"))
            );
        })
    });
}
