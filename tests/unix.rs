//! Unix-domain sockets over real socket files: what `tempo::net::{UnixListener, UnixStream,
//! UnixDatagram}` promise, tested as their TCP and UDP counterparts are (`tests/tcp.rs`,
//! `tests/udp.rs`).
//!
//! Each test binds under its own directory in `CARGO_TARGET_TMPDIR`, so tests running in
//! parallel never share a path, and runs under [`common::with_hang_guard`], so a lost
//! wake-up fails the test instead of hanging the suite.

mod common;

use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;
use std::sync::Arc;

use common::with_hang_guard;
use futures_util::StreamExt;
use tempo::net::{UnixDatagram, UnixListener, UnixStream};

/// A fresh, empty directory for one test's socket files.
fn test_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("unix-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test's socket directory");
    dir
}

/// Echo everything read on `stream` back until the peer shuts down its write side.
async fn echo(mut stream: UnixStream) -> io::Result<()> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// Read until end of stream.
async fn read_to_end(stream: &mut UnixStream) -> io::Result<Vec<u8>> {
    let mut all = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match stream.read(&mut buf).await? {
            0 => return Ok(all),
            n => all.extend_from_slice(&buf[..n]),
        }
    }
}

/// `len` bytes that differ from client to client and from offset to offset.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed.wrapping_mul(7))) as u8)
        .collect()
}

#[test]
fn fifty_clients_each_get_exactly_their_own_bytes_echoed_over_one_socket_file() {
    const CLIENTS: u32 = 50;
    let path = test_dir("echo").join("echo.sock");
    with_hang_guard(move || {
        tempo::run(async move {
            let listener = UnixListener::bind(&path).expect("bind");
            assert_eq!(
                listener.local_addr().expect("local_addr").as_pathname(),
                Some(path.as_path())
            );
            let server = tempo::spawn(async move {
                for _ in 0..CLIENTS {
                    let (stream, peer) = listener.accept().await.expect("accept");
                    assert!(peer.is_unnamed(), "clients do not bind");
                    drop(tempo::spawn(
                        async move { echo(stream).await.expect("echo") },
                    ));
                }
            });
            let mut clients = Vec::new();
            for id in 0..CLIENTS {
                let path = path.clone();
                clients.push(tempo::spawn(async move {
                    let mut stream = UnixStream::connect(&path).await?;
                    assert_eq!(stream.peer_addr()?.as_pathname(), Some(path.as_path()));
                    let sent = pattern(20_000 + id as usize * 97, id);
                    stream.write_all(&sent).await?;
                    stream.shutdown_std(Shutdown::Write)?;
                    Ok::<_, io::Error>((sent, read_to_end(&mut stream).await?))
                }));
            }
            for client in clients {
                let (sent, got) = client.await.expect("client task").expect("client I/O");
                assert!(
                    sent == got,
                    "a client got {} bytes back for {}",
                    got.len(),
                    sent.len()
                );
            }
            server.await.expect("server task");
        })
    });
}

#[test]
fn a_half_closed_stream_gives_eof_one_way_and_still_carries_the_other() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut a, mut b) = UnixStream::pair().expect("pair");
            a.write_all(b"last words").await.expect("write");
            a.shutdown_std(Shutdown::Write).expect("shutdown");
            assert_eq!(
                read_to_end(&mut b).await.expect("read to EOF"),
                b"last words"
            );
            assert_eq!(b.read(&mut [0; 8]).await.expect("read at EOF"), 0);
            b.write_all(b"reply")
                .await
                .expect("the other direction is open");
            drop(b);
            assert_eq!(read_to_end(&mut a).await.expect("read the reply"), b"reply");
        })
    });
}

#[test]
fn split_halves_on_two_tasks_carry_both_directions_and_dropping_the_writer_sends_eof() {
    let from_server = pattern(256 * 1024, 9); // more than the socket buffers hold at once
    let expected = from_server.clone();
    with_hang_guard(move || {
        tempo::run(async move {
            let (client, server) = UnixStream::pair().expect("pair");
            let client = tempo::spawn(async move {
                let mut client = client;
                client.write_all(b"the whole request").await?;
                client.shutdown_std(Shutdown::Write)?;
                read_to_end(&mut client).await
            });
            let (mut read_half, mut write_half) = server.into_split();
            let reading = tempo::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 5];
                loop {
                    match read_half.read(&mut buf).await.expect("read half") {
                        0 => return (got, read_half),
                        n => got.extend_from_slice(&buf[..n]),
                    }
                }
            });
            let writing = tempo::spawn(async move {
                write_half
                    .write_all(&from_server)
                    .await
                    .expect("write half");
            });
            let (got, _read_half_still_alive) = reading.await.expect("reading task");
            writing.await.expect("writing task");
            assert_eq!(got, b"the whole request");
            let reply = client.await.expect("client task").expect("client I/O");
            assert!(reply == expected, "the client got {} bytes", reply.len());
        })
    });
}

#[test]
fn halves_reunite_only_with_their_own_stream() {
    with_hang_guard(|| {
        tempo::run(async {
            let (a, b) = UnixStream::pair().expect("pair");
            let (read_a, write_a) = a.into_split();
            let (read_b, write_b) = b.into_split();
            let tempo::net::unix::ReuniteError(read_a, write_b) =
                read_a.reunite(write_b).expect_err("halves of two streams");
            let mut a = read_a.reunite(write_a).expect("a's own halves");
            let mut b = read_b.reunite(write_b).expect("b's own halves");
            // Reuniting shut nothing down: both directions still work.
            a.write_all(b"x").await.expect("write after reunite");
            let mut one = [0u8; 1];
            b.read_exact(&mut one).await.expect("read after reunite");
            b.write_all(b"y").await.expect("write back");
            a.read_exact(&mut one).await.expect("read back");
            assert_eq!(&one, b"y");
        })
    });
}

#[test]
fn incoming_yields_each_connection_and_does_not_end_on_its_own() {
    const CLIENTS: usize = 5;
    let path = test_dir("incoming").join("incoming.sock");
    with_hang_guard(move || {
        tempo::run(async move {
            let listener = UnixListener::bind(&path).expect("bind");
            let clients = tempo::spawn({
                let path = path.clone();
                async move {
                    for i in 0..CLIENTS {
                        let mut stream = UnixStream::connect(&path).await?;
                        stream.write_all(&[i as u8]).await?;
                    }
                    Ok::<_, io::Error>(())
                }
            });
            let mut incoming = listener.incoming();
            let mut seen = Vec::new();
            for _ in 0..CLIENTS {
                let mut stream = incoming.next().await.expect("never ends").expect("accept");
                let mut id = [0u8; 1];
                stream.read_exact(&mut id).await.expect("the client's id");
                seen.push(id[0]);
            }
            clients.await.expect("clients task").expect("client I/O");
            assert_eq!(seen, [0, 1, 2, 3, 4]);
            // No client is left: the stream is pending, not ended.
            let next = tempo::time::timeout(std::time::Duration::from_millis(50), incoming.next());
            assert!(
                next.await.is_err(),
                "incoming ended or yielded with no client"
            );
        })
    });
}

#[test]
fn binding_a_path_that_exists_is_addr_in_use_and_connecting_to_none_is_not_found() {
    let dir = test_dir("errors");
    with_hang_guard(move || {
        tempo::run(async move {
            let path = dir.join("taken.sock");
            let _listener = UnixListener::bind(&path).expect("first bind");
            let err = UnixListener::bind(&path).expect_err("second bind");
            assert_eq!(err.kind(), ErrorKind::AddrInUse);
            let err = UnixDatagram::bind(&path).expect_err("datagram bind on a stream's path");
            assert_eq!(err.kind(), ErrorKind::AddrInUse);

            let missing = dir.join("nobody-bound-this.sock");
            let err = UnixStream::connect(&missing).await.expect_err("connect");
            assert_eq!(err.kind(), ErrorKind::NotFound);

            // A socket file whose listener is gone refuses.
            let stale = dir.join("stale.sock");
            drop(UnixListener::bind(&stale).expect("bind, then drop"));
            let err = UnixStream::connect(&stale)
                .await
                .expect_err("connect to stale");
            assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        })
    });
}

#[test]
fn unix_sockets_outside_a_runtime_are_an_io_error_not_a_panic() {
    let path = test_dir("outside").join("outside.sock");
    assert!(UnixListener::bind(&path).is_err());
    assert!(UnixStream::pair().is_err());
    assert!(UnixDatagram::unbound().is_err());
}

#[test]
fn datagrams_round_trip_between_paths_with_the_senders_address() {
    let dir = test_dir("datagram");
    with_hang_guard(move || {
        tempo::run(async move {
            let (a_path, b_path) = (dir.join("a.sock"), dir.join("b.sock"));
            let a = UnixDatagram::bind(&a_path).expect("bind a");
            let b = UnixDatagram::bind(&b_path).expect("bind b");
            // In batches that fit the receiver's queue (`net.unix.max_dgram_qlen`, 10 by
            // default): Linux never tells an unconnected sender that a full peer has room
            // again, so a `send_to` past that would wait for an unrelated event (see
            // `UnixDatagram::send_to`).
            let mut buf = [0u8; 16];
            for batch in 0..100u32 {
                for seq in batch * 8..batch * 8 + 8 {
                    a.send_to(&seq.to_be_bytes(), &b_path)
                        .await
                        .expect("send_to");
                }
                for seq in batch * 8..batch * 8 + 8 {
                    let (n, from) = b.recv_from(&mut buf).await.expect("recv_from");
                    assert_eq!(&buf[..n], seq.to_be_bytes(), "whole and in order");
                    assert_eq!(from.as_pathname(), Some(a_path.as_path()));
                }
            }
            // Connected: send and recv, and peer_addr.
            b.connect(&a_path).expect("connect");
            assert_eq!(
                b.peer_addr().expect("peer").as_pathname(),
                Some(a_path.as_path())
            );
            b.send(b"reply").await.expect("send");
            let n = a.recv(&mut buf).await.expect("recv");
            assert_eq!(&buf[..n], b"reply");
        })
    });
}

#[test]
fn a_datagram_pair_shared_by_two_tasks_receives_in_one_while_sending_in_the_other() {
    with_hang_guard(|| {
        tempo::run(async {
            let (a, b) = UnixDatagram::pair().expect("pair");
            let (a, b) = (Arc::new(a), Arc::new(b));
            let receiver = tempo::spawn({
                let b = b.clone();
                async move {
                    let mut buf = [0u8; 8];
                    let mut sum = 0u64;
                    for _ in 0..500 {
                        let n = b.recv(&mut buf).await.expect("recv");
                        sum += u64::from(u32::from_be_bytes(buf[..n].try_into().unwrap()));
                    }
                    sum
                }
            });
            for i in 0..500u32 {
                a.send(&i.to_be_bytes()).await.expect("send");
            }
            assert_eq!(receiver.await.expect("receiver"), (0..500u64).sum::<u64>());
            let unbound = UnixDatagram::unbound().expect("unbound");
            assert!(unbound.local_addr().expect("local_addr").is_unnamed());
        })
    });
}

#[test]
fn every_socket_exposes_its_descriptor() {
    let path = test_dir("fds").join("fds.sock");
    with_hang_guard(move || {
        tempo::run(async move {
            let listener = UnixListener::bind(&path).expect("bind");
            let (a, b) = UnixStream::pair().expect("pair");
            let datagram = UnixDatagram::unbound().expect("unbound");
            let fds = [
                listener.as_raw_fd(),
                a.as_raw_fd(),
                b.as_raw_fd(),
                datagram.as_raw_fd(),
            ];
            assert_eq!(listener.as_fd().as_raw_fd(), fds[0]);
            assert_eq!(a.as_fd().as_raw_fd(), fds[1]);
            assert_eq!(datagram.as_fd().as_raw_fd(), fds[3]);
            // Distinct, open descriptors: the kernel answers for each.
            for fd in fds {
                assert!(fds.iter().filter(|&&f| f == fd).count() == 1);
                let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("open fd");
                assert!(link.to_string_lossy().starts_with("socket:"), "{link:?}");
            }
        })
    });
}

#[test]
fn public_unix_types_can_move_between_tasks() {
    fn send<T: Send + Sync + 'static>() {}
    send::<UnixStream>();
    send::<UnixListener>();
    send::<UnixDatagram>();
    send::<tempo::net::unix::OwnedReadHalf>();
    send::<tempo::net::unix::OwnedWriteHalf>();
}
