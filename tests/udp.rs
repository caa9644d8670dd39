//! UDP over real loopback sockets: what `tempo::net::UdpSocket` promises.

mod common;

use common::with_hang_guard;
use tempo::net::UdpSocket;

async fn bind_loopback() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.expect("bind")
}

#[test]
fn send_to_and_recv_from_round_trip_with_the_senders_address() {
    with_hang_guard(|| {
        tempo::run(async {
            let a = bind_loopback().await;
            let b = bind_loopback().await;
            let a_addr = a.local_addr().expect("local_addr");
            let b_addr = b.local_addr().expect("local_addr");

            let sent = a.send_to(b"ping", b_addr).await.expect("send_to");
            assert_eq!(sent, 4);
            let mut buf = [0u8; 64];
            let (n, from) = b.recv_from(&mut buf).await.expect("recv_from");
            assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));

            b.send_to(b"pong", from).await.expect("send_to");
            let (n, from) = a.recv_from(&mut buf).await.expect("recv_from");
            assert_eq!((&buf[..n], from), (&b"pong"[..], b_addr));
        })
    });
}

#[test]
fn a_connected_socket_sends_to_and_receives_only_from_its_peer() {
    with_hang_guard(|| {
        tempo::run(async {
            let a = bind_loopback().await;
            let b = bind_loopback().await;
            let stranger = bind_loopback().await;
            let a_addr = a.local_addr().expect("local_addr");
            let b_addr = b.local_addr().expect("local_addr");
            a.connect(b_addr).await.expect("connect");
            b.connect(a_addr).await.expect("connect");
            assert_eq!(a.peer_addr().expect("peer_addr"), b_addr);

            // The kernel drops datagrams to a connected socket from anyone but its peer:
            // the stranger's datagram, sent first, must never be received by `a`.
            stranger.send_to(b"spam", a_addr).await.expect("send_to");
            b.send(b"from b").await.expect("send");
            let mut buf = [0u8; 64];
            let n = a.recv(&mut buf).await.expect("recv");
            assert_eq!(&buf[..n], b"from b");

            a.send(b"from a").await.expect("send");
            let n = b.recv(&mut buf).await.expect("recv");
            assert_eq!(&buf[..n], b"from a");
        })
    });
}

/// Datagram `seq`: its number, then filler whose length varies from 0 to 1 199 bytes, so a
/// bug that merged or split datagrams would show.
fn datagram(seq: u32) -> Vec<u8> {
    let mut d = seq.to_be_bytes().to_vec();
    d.extend(std::iter::repeat_n(seq as u8, (seq as usize * 37) % 1200));
    d
}

#[test]
fn thousands_of_datagrams_arrive_whole_and_in_order() {
    const TOTAL: u32 = 4000;
    // Loopback drops datagrams only when the receive buffer overflows, so the sender waits
    // for an acknowledgement after every window of this many.
    const WINDOW: u32 = 32;
    with_hang_guard(|| {
        tempo::run(async {
            let receiver = bind_loopback().await;
            let sender = bind_loopback().await;
            let receiver_addr = receiver.local_addr().expect("local_addr");
            receiver
                .connect(sender.local_addr().expect("local_addr"))
                .await
                .expect("connect");

            let receiving = tempo::spawn(async move {
                let mut buf = vec![0u8; 2048];
                for seq in 0..TOTAL {
                    let n = receiver.recv(&mut buf).await.expect("recv");
                    assert_eq!(&buf[..n], datagram(seq), "datagram {seq}");
                    if seq % WINDOW == WINDOW - 1 || seq == TOTAL - 1 {
                        receiver.send(&seq.to_be_bytes()).await.expect("ack");
                    }
                }
            });

            let mut ack = [0u8; 4];
            for seq in 0..TOTAL {
                let d = datagram(seq);
                let n = sender.send_to(&d, receiver_addr).await.expect("send_to");
                assert_eq!(n, d.len(), "a datagram is sent whole");
                if seq % WINDOW == WINDOW - 1 || seq == TOTAL - 1 {
                    let (n, _) = sender.recv_from(&mut ack).await.expect("ack");
                    assert_eq!(u32::from_be_bytes(ack[..n].try_into().unwrap()), seq);
                }
            }
            receiving.await.expect("receiving task");
        })
    });
}

#[test]
fn one_socket_shared_by_two_tasks_receives_in_one_while_sending_in_the_other() {
    const N: u32 = 200;
    with_hang_guard(|| {
        tempo::run(async {
            let shared = std::sync::Arc::new(bind_loopback().await);
            let echo = bind_loopback().await;
            let echo_addr = echo.local_addr().expect("local_addr");
            // Echo every datagram straight back.
            drop(tempo::spawn(async move {
                let mut buf = [0u8; 64];
                loop {
                    let (n, from) = echo.recv_from(&mut buf).await.expect("echo recv");
                    echo.send_to(&buf[..n], from).await.expect("echo send");
                }
            }));

            // The receiver waits on the socket's read side while the sender uses its
            // write side: each direction has its own waker.
            let receiver = {
                let socket = shared.clone();
                tempo::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 64];
                    while seen.len() < N as usize {
                        let (n, _) = socket.recv_from(&mut buf).await.expect("recv");
                        seen.push(u32::from_be_bytes(buf[..n].try_into().expect("4 bytes")));
                    }
                    seen
                })
            };
            for seq in 0..N {
                shared
                    .send_to(&seq.to_be_bytes(), echo_addr)
                    .await
                    .expect("send");
                tempo::task::yield_now().await; // one in flight at a time, roughly
            }
            let seen = receiver.await.expect("receiver");
            assert_eq!(seen, (0..N).collect::<Vec<_>>());
        })
    });
}

#[test]
fn a_recv_cancelled_by_a_timeout_loses_no_datagram() {
    with_hang_guard(|| {
        tempo::run(async {
            let a = bind_loopback().await;
            let b = bind_loopback().await;
            let mut buf = [0u8; 16];
            let timed_out =
                tempo::time::timeout(std::time::Duration::from_millis(10), a.recv_from(&mut buf));
            assert!(
                timed_out.await.is_err(),
                "a recv with nothing to receive completed"
            );

            b.send_to(b"late", a.local_addr().unwrap())
                .await
                .expect("send_to");
            let (n, from) = a
                .recv_from(&mut buf)
                .await
                .expect("recv after a cancelled recv");
            assert_eq!((&buf[..n], from), (&b"late"[..], b.local_addr().unwrap()));
        })
    });
}
