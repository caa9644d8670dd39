//! `tempo::io::unix::AsyncFd`: the reactor's readiness protocol on descriptors the user owns,
//! tested on real pipes (`mio::unix::pipe`, non-blocking ends) with real writer threads.
//!
//! Every test runs under [`common::with_hang_guard`]: a lost wake-up fails the test.

mod common;

use std::future::{Future, poll_fn};
use std::io::{ErrorKind, Read, Write};
use std::pin::pin;
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use common::with_hang_guard;
use mio::unix::pipe;
use tempo::io::unix::{AsyncFd, Interest};

/// Poll `future` once, from inside a task: `Ready(output)` or `Pending`.
async fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// Read from `fd` until `want` bytes have come, awaiting readiness whenever the pipe is
/// empty. Returns the bytes and how many times `try_io` saw `WouldBlock`.
async fn read_exactly(fd: &AsyncFd<pipe::Receiver>, want: usize) -> (Vec<u8>, usize) {
    let mut got = Vec::new();
    let mut would_block = 0;
    let mut buf = [0u8; 4096];
    while got.len() < want {
        let mut guard = fd.readable().await.expect("readable");
        match guard.try_io(|inner| inner.get_ref().read(&mut buf)) {
            Ok(n) => got.extend_from_slice(&buf[..n.expect("read")]),
            Err(_) => would_block += 1,
        }
    }
    (got, would_block)
}

#[test]
fn a_reader_task_awaits_readable_while_a_writer_thread_fills_the_pipe() {
    const CHUNKS: usize = 20;
    with_hang_guard(|| {
        tempo::run(async {
            let (sender, receiver) = pipe::new().expect("pipe");
            sender.set_nonblocking(false).expect("a blocking writer");
            let fd = AsyncFd::new(receiver).expect("register the read end");
            let (go_tx, go_rx) = mpsc::channel::<usize>();
            let writer = std::thread::spawn(move || {
                let mut sender = sender;
                // One chunk per request: the reader asks only once it has drained the pipe
                // and is about to wait, so each chunk lands while the task is parked.
                for len in go_rx {
                    sender.write_all(&vec![len as u8; len]).expect("write");
                }
            });
            for chunk in 0..CHUNKS {
                let len = 1 + chunk * 1000;
                // The pipe is empty: the first read says WouldBlock and clears the
                // readiness, so the task really waits for the writer's edge below.
                if let Poll::Ready(guard) = poll_once(fd.readable()).await {
                    let mut guard = guard.expect("readable");
                    let read = guard.try_io(|inner| inner.get_ref().read(&mut [0u8; 1]));
                    assert!(read.is_err(), "chunk {chunk}: the pipe should be empty");
                }
                assert!(
                    poll_once(fd.readable()).await.is_pending(),
                    "nothing to read yet"
                );
                go_tx.send(len).expect("ask for a chunk");
                let (got, _) = read_exactly(&fd, len).await;
                assert_eq!(got, vec![len as u8; len], "chunk {chunk}");
            }
            drop(go_tx);
            writer.join().expect("writer thread");
            // The writer is gone: the pipe reads as closed (readable, 0 bytes).
            let mut guard = fd.readable().await.expect("readable at hang-up");
            let eof = guard.try_io(|inner| inner.get_ref().read(&mut [0u8; 8]));
            assert_eq!(eof.expect("not WouldBlock").expect("read"), 0);
        })
    });
}

#[test]
fn try_io_clears_readiness_on_would_block_and_a_kept_guard_does_not() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut sender, receiver) = pipe::new().expect("pipe");
            let fd = AsyncFd::new(receiver).expect("register");
            sender.write_all(b"abc").expect("write");

            // Ready; the guard is dropped without clearing: still ready after.
            fd.readable().await.expect("readable").retain_ready();
            let again = poll_once(fd.readable()).await;
            assert!(
                matches!(again, Poll::Ready(Ok(_))),
                "kept readiness answers at once"
            );

            // Drain, then a WouldBlock: try_io says so and clears the readiness.
            let (got, _) = read_exactly(&fd, 3).await;
            assert_eq!(got, b"abc");
            let mut guard = fd.readable().await.expect("short read cleared nothing yet");
            let blocked = guard.try_io(|inner| inner.get_ref().read(&mut [0u8; 8]));
            assert!(blocked.is_err(), "an empty pipe says WouldBlock");
            guard.retain_ready();
            assert!(
                poll_once(fd.readable()).await.is_pending(),
                "cleared: readable() waits for a new edge"
            );

            // A new write is a new edge.
            let waiting = tempo::spawn(async move {
                let (got, _) = read_exactly(&fd, 1).await;
                got
            });
            tempo::task::yield_now().await;
            sender.write_all(b"z").expect("write");
            assert_eq!(waiting.await.expect("reader task"), b"z");
        })
    });
}

#[test]
fn clear_ready_makes_the_next_wait_park_until_the_kernel_reports_an_edge() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut sender, receiver) = pipe::new().expect("pipe");
            let fd = AsyncFd::with_interest(receiver, Interest::READABLE).expect("register");
            sender.write_all(b"x").expect("write");
            let mut guard = fd.readable().await.expect("readable");
            guard.clear_ready(); // wrongly: the byte is still there
            guard.retain_ready();
            // Edge-triggered: no new edge comes for a byte that already waits. This is why
            // `try_io`, which clears only on WouldBlock, is the way to use the guard.
            let waited = tempo::time::timeout(Duration::from_millis(30), fd.readable()).await;
            assert!(waited.is_err(), "no edge, no wake");
            sender.write_all(b"y").expect("a second write is an edge");
            let (got, _) = read_exactly(&fd, 2).await;
            assert_eq!(got, b"xy");
        })
    });
}

#[test]
fn into_inner_deregisters_so_the_descriptor_can_be_registered_again() {
    with_hang_guard(|| {
        tempo::run(async {
            let (mut sender, receiver) = pipe::new().expect("pipe");
            let fd = AsyncFd::new(receiver).expect("register");
            // Registered twice, epoll says EEXIST: the registration is real.
            let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
            let err = AsyncFd::new(raw).expect_err("a second registration");
            assert_eq!(err.kind(), ErrorKind::AlreadyExists);

            let receiver = fd.into_inner();
            let fd = AsyncFd::new(receiver).expect("registered again after into_inner");
            sender.write_all(b"still open").expect("write");
            let (got, _) = read_exactly(&fd, 10).await;
            assert_eq!(got, b"still open");
        })
    });
}

#[test]
fn bad_registrations_are_clear_errors_not_panics_or_hangs() {
    // Outside a runtime.
    let (_sender, receiver) = pipe::new().expect("pipe");
    assert!(AsyncFd::new(receiver).is_err());
    with_hang_guard(|| {
        tempo::run(async {
            // A regular file: epoll refuses it (EPERM).
            let file = std::fs::File::open(env!("CARGO_MANIFEST_PATH")).expect("open");
            let err = AsyncFd::new(file).expect_err("a regular file");
            assert_eq!(err.kind(), ErrorKind::PermissionDenied);
            // Waiting in a direction it was not registered for.
            let (sender, receiver) = pipe::new().expect("pipe");
            let read_end = AsyncFd::with_interest(receiver, Interest::READABLE).expect("r");
            let write_end = AsyncFd::with_interest(sender, Interest::WRITABLE).expect("w");
            let err = read_end.writable().await.expect_err("no write interest");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let err = write_end.readable().await.expect_err("no read interest");
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            // The write end is writable at once: an empty pipe has room.
            let mut guard = write_end.writable().await.expect("writable");
            let n = guard.try_io(|inner| inner.get_ref().write(b"ok"));
            assert_eq!(n.expect("not WouldBlock").expect("write"), 2);
        })
    });
}
