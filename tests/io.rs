//! `tempo::io` over real loopback TCP: tokio's reading and writing methods, with tokio's
//! results — lines with and without a final newline, lines longer than the buffer, exact
//! reads that meet the end, strings that are not UTF-8, buffered writes held until a
//! flush, a large copy, and a proxy that passes each side's half-close on.
//!
//! Every test runs under [`common::with_hang_guard`]; none orders events with a sleep.

mod common;

use std::future::{Future, poll_fn};
use std::io::{ErrorKind, Read as _, Write as _};
use std::pin::pin;
use std::task::Poll;

use common::with_hang_guard;
use tempo::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter,
};
use tempo::net::{TcpListener, TcpStream};

/// Bytes with no short period, so a dropped, repeated or reordered chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Two ends of one loopback connection, both tempo streams.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tempo::spawn(async move { listener.accept().await.unwrap().0 });
    let near = TcpStream::connect(addr).await.unwrap();
    (near, accept.await.unwrap())
}

/// A tempo stream and a std stream at the other end, for peeking at what was sent.
async fn pair_with_std() -> (TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let near = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    // The handshake is done once connect returns: accept does not block.
    let (far, _) = listener.accept().unwrap();
    (near, far)
}

/// Written as it would be for tokio: generic over the poll traits, methods from the
/// extension traits. It compiles unchanged with `tokio::io` in place of `tempo::io`.
async fn tokio_shaped_echo_line<S>(stream: S) -> std::io::Result<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    stream.read_line(&mut line).await?;
    stream.write_all(line.to_uppercase().as_bytes()).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(line)
}

#[test]
fn lines_split_a_protocol_including_an_unterminated_last_line_and_one_longer_than_the_buffer() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair().await;
            let long = "x".repeat(100_000); // over 12 times the 8 KiB BufReader buffer
            let sent = format!("one\r\ntwo\n\n{long}\nlast, no newline");
            let writer = tempo::spawn(async move {
                far.write_all(sent.as_bytes()).await.unwrap();
                AsyncWriteExt::shutdown(&mut far).await.unwrap();
            });
            let mut lines = BufReader::with_capacity(8192, near).lines();
            let mut got = Vec::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                got.push(line);
            }
            assert_eq!(got, ["one", "two", "", long.as_str(), "last, no newline"]);
            // The end stays the end.
            assert_eq!(lines.next_line().await.unwrap(), None);
            writer.await.unwrap();
        })
    });
}

#[test]
fn a_dropped_next_line_keeps_the_part_of_the_line_it_read() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair_with_std().await;
            let mut lines = BufReader::new(near).lines();
            // On loopback the bytes are in our receive queue once write returns.
            far.write_all(b"hal").unwrap();
            {
                let mut next = pin!(lines.next_line());
                // One poll reads "hal", finds no newline and no more bytes: Pending.
                poll_fn(|cx| {
                    assert!(next.as_mut().poll(cx).is_pending());
                    Poll::Ready(())
                })
                .await;
            } // dropped, as a select! or timeout would drop it
            far.write_all(b"f\nrest\n").unwrap();
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("half"));
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("rest"));
        })
    });
}

#[test]
fn a_line_that_is_not_utf8_is_invalid_data() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair_with_std().await;
            far.write_all(b"ok\n\xff\xfe\n").unwrap();
            far.shutdown(std::net::Shutdown::Write).unwrap();
            let mut lines = BufReader::new(near).lines();
            assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ok"));
            let err = lines.next_line().await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
        })
    });
}

#[test]
fn read_line_keeps_the_newline_appends_and_returns_0_at_the_end() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair_with_std().await;
            far.write_all(b"first\nsecond").unwrap();
            far.shutdown(std::net::Shutdown::Write).unwrap();
            let mut reader = BufReader::new(near);
            let mut line = String::from(">");
            assert_eq!(reader.read_line(&mut line).await.unwrap(), 6);
            assert_eq!(line, ">first\n");
            assert_eq!(reader.read_line(&mut line).await.unwrap(), 6);
            assert_eq!(line, ">first\nsecond");
            assert_eq!(reader.read_line(&mut line).await.unwrap(), 0);
            assert_eq!(line, ">first\nsecond");
        })
    });
}

#[test]
fn read_exact_returns_the_count_and_an_early_end_is_unexpected_eof() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut near, mut far) = pair_with_std().await;
            far.write_all(b"abcdefg").unwrap();
            far.shutdown(std::net::Shutdown::Write).unwrap();
            // Through the trait (TcpStream's own read_exact returns `()`).
            let mut four = [0; 4];
            let n: usize = AsyncReadExt::read_exact(&mut near, &mut four)
                .await
                .unwrap();
            assert_eq!((n, &four), (4, b"abcd"));
            let mut five = [0; 5];
            let err = AsyncReadExt::read_exact(&mut near, &mut five)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        })
    });
}

#[test]
fn read_to_end_appends_everything_until_the_peer_shuts_down() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair().await;
            let payload = pattern(1 << 20);
            let sent = payload.clone();
            let writer = tempo::spawn(async move {
                far.write_all(&sent).await.unwrap();
                far.shutdown_std(std::net::Shutdown::Write).unwrap();
            });
            let mut reader = BufReader::new(near);
            let mut all = b"head".to_vec();
            let n = reader.read_to_end(&mut all).await.unwrap();
            assert_eq!(n, payload.len());
            assert_eq!(&all[..4], b"head");
            assert!(all[4..] == payload[..], "the bytes differ");
            writer.await.unwrap();
        })
    });
}

#[test]
fn read_to_string_rejects_bytes_that_are_not_utf8_and_leaves_the_string_as_it_was() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut near, mut far) = pair_with_std().await;
            far.write_all(b"valid, then \xc3\x28").unwrap();
            far.shutdown(std::net::Shutdown::Write).unwrap();
            let mut text = String::from("kept");
            let err = AsyncReadExt::read_to_string(&mut near, &mut text)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData);
            assert_eq!(text, "kept");

            let (mut near, mut far) = pair_with_std().await;
            far.write_all("naïve".as_bytes()).unwrap();
            far.shutdown(std::net::Shutdown::Write).unwrap();
            let n = AsyncReadExt::read_to_string(&mut near, &mut text)
                .await
                .unwrap();
            assert_eq!((n, text.as_str()), (6, "keptnaïve"));
        })
    });
}

#[test]
fn buf_writer_holds_small_writes_until_flush() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair_with_std().await;
            let mut out = BufWriter::new(near);
            out.write_all(b"hello, ").await.unwrap();
            out.write_all(b"world").await.unwrap();
            assert_eq!(out.buffer(), b"hello, world");
            // Nothing was sent: the peer has nothing to read.
            far.set_nonblocking(true).unwrap();
            let mut buf = [0; 64];
            assert_eq!(
                far.read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );

            out.flush().await.unwrap();
            assert!(out.buffer().is_empty());
            far.set_nonblocking(false).unwrap();
            let mut got = [0; 12];
            far.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"hello, world");

            // shutdown flushes first, then sends FIN.
            out.write_all(b"bye").await.unwrap();
            out.shutdown().await.unwrap();
            let mut rest = Vec::new();
            far.read_to_end(&mut rest).unwrap();
            assert_eq!(rest, b"bye");
        })
    });
}

#[test]
fn copy_moves_a_large_payload_through_a_buffered_writer_and_flushes_it() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut source, mut source_peer) = pair().await;
            let (sink, mut sink_peer) = pair().await;
            let payload = pattern(5 << 20);
            let sent = payload.clone();
            let writer = tempo::spawn(async move {
                source_peer.write_all(&sent).await.unwrap();
                source_peer.shutdown_std(std::net::Shutdown::Write).unwrap();
            });
            let reader = tempo::spawn(async move {
                let mut got = Vec::new();
                AsyncReadExt::read_to_end(&mut sink_peer, &mut got)
                    .await
                    .unwrap();
                got
            });
            let mut sink = BufWriter::new(sink);
            let n = tempo::io::copy(&mut source, &mut sink).await.unwrap();
            assert_eq!(n, payload.len() as u64);
            // copy flushed: the BufWriter holds nothing back.
            assert!(sink.buffer().is_empty());
            sink.shutdown().await.unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got.len(), payload.len());
            assert!(got == payload, "the bytes differ");
            writer.await.unwrap();
        })
    });
}

/// Which end of the proxied connection shuts down its write side first.
#[derive(Clone, Copy, Debug)]
enum FirstToFinish {
    Client,
    Server,
}

/// A client talks to a server through a `copy_bidirectional` proxy over two real
/// connections. `first` sends its bytes and shuts down its write side; the other reads to
/// the end (so the half-close passed through the proxy), then sends its own, longer,
/// reply through the direction still open, and shuts down too.
fn relay_with_half_close(first: FirstToFinish) {
    with_hang_guard(move || {
        tempo::run(async move {
            let (mut client, mut proxy_in) = pair().await;
            let (mut proxy_out, mut server) = pair().await;
            let proxy = tempo::spawn(async move {
                tempo::io::copy_bidirectional(&mut proxy_in, &mut proxy_out).await
            });
            let (opening, reply) = (pattern(100_000), pattern(300_000));
            let (first_end, second_end) = match first {
                FirstToFinish::Client => (&mut client, &mut server),
                FirstToFinish::Server => (&mut server, &mut client),
            };
            first_end.write_all(&opening).await.unwrap();
            AsyncWriteExt::shutdown(first_end).await.unwrap();

            let mut heard = Vec::new();
            AsyncReadExt::read_to_end(second_end, &mut heard)
                .await
                .unwrap();
            assert!(heard == opening, "{first:?}'s bytes arrived changed");
            second_end.write_all(&reply).await.unwrap();
            AsyncWriteExt::shutdown(second_end).await.unwrap();

            let mut answer = Vec::new();
            AsyncReadExt::read_to_end(first_end, &mut answer)
                .await
                .unwrap();
            assert!(answer == reply, "the reply arrived changed");

            let (client_to_server, server_to_client) = proxy.await.unwrap().unwrap();
            let (opening, reply) = (opening.len() as u64, reply.len() as u64);
            match first {
                FirstToFinish::Client => {
                    assert_eq!((client_to_server, server_to_client), (opening, reply))
                }
                FirstToFinish::Server => {
                    assert_eq!((client_to_server, server_to_client), (reply, opening))
                }
            }
        })
    });
}

#[test]
fn copy_bidirectional_passes_the_clients_half_close_on_and_keeps_relaying_the_reply() {
    relay_with_half_close(FirstToFinish::Client);
}

#[test]
fn copy_bidirectional_passes_the_servers_half_close_on_and_keeps_relaying_the_request() {
    relay_with_half_close(FirstToFinish::Server);
}

#[test]
fn shutdown_sends_the_end_of_stream_and_leaves_reading_open() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut near, mut far) = pair_with_std().await;
            AsyncWriteExt::write_all(&mut near, b"request")
                .await
                .unwrap();
            AsyncWriteExt::shutdown(&mut near).await.unwrap();
            let mut request = Vec::new();
            far.read_to_end(&mut request).unwrap(); // ends: the FIN arrived
            assert_eq!(request, b"request");
            far.write_all(b"response").unwrap();
            drop(far);
            let mut response = String::new();
            AsyncReadExt::read_to_string(&mut near, &mut response)
                .await
                .unwrap();
            assert_eq!(response, "response");
        })
    });
}

#[test]
fn tokio_shaped_generic_code_runs_on_a_tempo_stream() {
    with_hang_guard(|| {
        tempo::run(async {
            let (near, mut far) = pair().await;
            far.write_all(b"shout this\n").await.unwrap();
            let echoed = tempo::spawn(tokio_shaped_echo_line(near));
            let mut back = String::new();
            // To the end: the FIN that shutdown() sent.
            AsyncReadExt::read_to_string(&mut far, &mut back)
                .await
                .unwrap();
            assert_eq!(back, "SHOUT THIS\n");
            assert_eq!(echoed.await.unwrap().unwrap(), "shout this\n");
        })
    });
}

/// The same on a concrete `TcpStream` and its halves, written as tokio code is — where a
/// type's own method of the same name wins over the trait's, so the type's must have
/// tokio's shape: `shutdown().await`, and `read_exact` giving the count.
#[test]
fn tokio_shaped_code_on_a_concrete_stream_and_its_halves_compiles_and_runs() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut near, mut far) = pair().await;
            near.write_all(b"ping").await.unwrap();
            near.shutdown().await.unwrap();
            let mut buf = [0u8; 4];
            let n: usize = far.read_exact(&mut buf).await.unwrap();
            assert_eq!((n, &buf), (4, b"ping"));
            assert_eq!(
                far.read(&mut buf).await.unwrap(),
                0,
                "the FIN shutdown sent"
            );

            let (near, far) = pair().await;
            let (mut near_read, mut near_write) = near.into_split();
            let (mut far_read, mut far_write) = far.into_split();
            far_write.write_all(b"pong").await.unwrap();
            far_write.shutdown().await.unwrap();
            let n: usize = near_read.read_exact(&mut buf).await.unwrap();
            assert_eq!((n, &buf), (4, b"pong"));
            near_write.shutdown().await.unwrap();
            assert_eq!(far_read.read(&mut buf).await.unwrap(), 0);
        })
    });
}

#[test]
fn the_extension_traits_methods_and_tcp_streams_own_agree() {
    // With the traits imported, `stream.read(..)` and friends still resolve (to the
    // stream's own methods, which Rust prefers); the results are the same.
    with_hang_guard(|| {
        tempo::run(async {
            let (mut near, mut far) = pair().await;
            near.write_all(b"ping").await.unwrap();
            near.flush().await.unwrap();
            let mut buf = [0; 4];
            far.read_exact(&mut buf).await.unwrap();
            let n = AsyncWriteExt::write(&mut far, b"pong").await.unwrap();
            assert_eq!(n, 4);
            let mut got = [0; 4];
            let n = near.read(&mut got).await.unwrap();
            assert_eq!(&got[..n], &b"pong"[..n]);
        })
    });
}
