//! Living beside tokio: calling tokio-only code from a tempo task.
//!
//! Much of the Rust ecosystem is built on tokio's own sockets and timers (`tokio::net`,
//! `tokio::time`, `tokio::fs`), and those find their reactor in a thread-local that only a
//! tokio runtime sets. Called from a tempo task, where that thread-local is empty, they
//! panic. A Python reader knows the shape: an asyncio library handed a trio event loop.
//!
//! These tests pin the failure a user meets first, and the two ways around it that the
//! README recommends, with real loopback sockets and real threads:
//!
//! - **async-compat's `Compat`**: the tokio-only future is polled *on the tempo thread*,
//!   inside the context of a tokio runtime that async-compat starts once, lazily, on a
//!   thread of its own (`async-compat/tokio-1`). That thread drives tokio's reactor and
//!   timers; their wakes come to the tempo task from there.
//! - **a tokio runtime beside tempo, reached through its `Handle`**: `handle.spawn(fut)`
//!   runs the future on tokio's thread, and the tempo task awaits tokio's `JoinHandle`,
//!   which is an ordinary future whose wake crosses into tempo's worker channel;
//!   `handle.enter()` lends tokio's context for the moment a tokio object is *built*, after
//!   which the object can be awaited anywhere.
//!
//! `tokio::time::sleep` and `tokio::net::{TcpListener, TcpStream}` stand in for "a
//! tokio-only library". Nothing here orders events with a wall-clock sleep: the timers are
//! what is being tested, and ordering goes through channels and the sockets themselves.

mod common;

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::thread;
use std::time::{Duration, Instant};

use async_compat::Compat;
use common::{oneshot, with_hang_guard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What tokio panics with when its sockets or timers are used outside a tokio context
/// (tokio's `CONTEXT_MISSING_ERROR`, `src/util/error.rs`). The README quotes it.
const TOKIO_NO_REACTOR: &str =
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime";

/// A tokio runtime beside tempo: one worker thread, named so a test can tell where a
/// future ran. It owns its thread, so nothing has to hold it open.
fn side_tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("side-tokio")
        .enable_all()
        .build()
        .expect("build the side tokio runtime")
}

/// The name of the thread running this code.
fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_string()
}

/// One echo round trip between two tokio sockets, both ends in this future: bind, connect,
/// accept, send `ping`, echo it, read it back. Returns what came back. Every step needs a
/// tokio reactor in the thread's context.
async fn tokio_echo_round_trip(ping: &[u8]) -> io::Result<Vec<u8>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let (mut client, (mut server, _)) = (client?, accepted?);
    client.write_all(ping).await?;
    let mut buf = vec![0; ping.len()];
    server.read_exact(&mut buf).await?;
    server.write_all(&buf).await?;
    let mut back = vec![0; ping.len()];
    client.read_exact(&mut back).await?;
    Ok(back)
}

// ---- The failure a user meets first ----

#[test]
fn a_tokio_timer_built_in_a_bare_tempo_task_panics_with_tokios_message() {
    with_hang_guard(|| {
        tempo::run(async {
            let task = tempo::spawn(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
            });
            let err = task.await.expect_err("a tokio timer needs a tokio context");
            assert!(
                err.is_panic(),
                "the task panicked, it was not cancelled: {err:?}"
            );
            assert_eq!(err.panic_message(), Some(TOKIO_NO_REACTOR));

            // The panic stayed in its task: the loop goes on running others.
            assert_eq!(
                tempo::spawn(async { 7 }).await.expect("a later task runs"),
                7
            );
        })
    });
}

#[test]
fn a_tokio_socket_in_a_bare_tempo_task_panics_at_its_first_poll_with_the_same_message() {
    with_hang_guard(|| {
        tempo::run(async {
            // `bind` is an async fn: building the future needs nothing, the first poll
            // looks for the reactor and panics.
            let bind = tokio::net::TcpListener::bind("127.0.0.1:0");
            let err = tempo::spawn(bind).await.expect_err("no tokio reactor here");
            assert!(err.is_panic(), "{err:?}");
            assert_eq!(err.panic_message(), Some(TOKIO_NO_REACTOR));
        })
    });

    // The same message from a plain thread, outside every runtime: it says "no tokio
    // context", not "something is wrong with tempo".
    let panic = thread::spawn(|| {
        std::panic::catch_unwind(|| {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            std_listener.set_nonblocking(true).unwrap();
            tokio::net::TcpListener::from_std(std_listener)
        })
    })
    .join()
    .expect("catch_unwind caught it")
    .expect_err("from_std registers with the current tokio reactor");
    assert_eq!(common::panic_text(&*panic), TOKIO_NO_REACTOR);
}

// ---- Way 1: async-compat ----

#[test]
fn compat_runs_tokio_sockets_and_timers_on_the_tempo_thread() {
    with_hang_guard(|| {
        tempo::run(async {
            let tempo_thread = thread::current().id();
            let task = tempo::spawn(Compat::new(async move {
                // Polled here, on tempo's worker, with tokio's context entered around the
                // poll; tokio's reactor and timers are driven by async-compat's thread.
                assert_eq!(thread::current().id(), tempo_thread);
                let back = tokio_echo_round_trip(b"ping").await?;

                let start = Instant::now();
                tokio::time::sleep(Duration::from_millis(5)).await;
                let slept = start.elapsed();
                io::Result::Ok((back, slept, thread::current().id()))
            }));
            let (back, slept, polled_on) = task.await.expect("no panic").expect("no I/O error");
            assert_eq!(back, b"ping");
            assert!(
                slept >= Duration::from_millis(5),
                "a tokio timer is never early: {slept:?}"
            );
            assert_eq!(polled_on, tempo_thread, "Compat polls where it is awaited");
        })
    });
}

#[test]
fn a_tempo_listener_serves_a_tokio_client_in_the_same_loop() {
    with_hang_guard(|| {
        tempo::run(async {
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tempo::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let mut buf = [0; 5];
                stream.read_exact(&mut buf).await?;
                buf.reverse();
                stream.write_all(&buf).await?;
                io::Result::Ok(())
            });

            // A "tokio-only client library", awaited through Compat in a tempo task.
            let mut reply = [0; 5];
            Compat::new(async {
                let mut client = tokio::net::TcpStream::connect(addr).await?;
                client.write_all(b"tempo").await?;
                client.read_exact(&mut reply).await?;
                io::Result::Ok(())
            })
            .await
            .expect("the tokio client talks to the tempo server");
            assert_eq!(&reply, b"opmet");
            server.await.expect("no panic").expect("no I/O error");
        })
    });
}

// ---- Way 2: a tokio runtime beside tempo, through its Handle ----

#[test]
fn handle_spawn_runs_on_tokios_thread_and_its_join_handle_wakes_the_tempo_task() {
    let side = side_tokio();
    let handle = side.handle().clone();
    with_hang_guard(move || {
        // In a spawned task, not the `block_on` future, whose waker is of another kind.
        let tempo_task = async move {
            // The tokio task waits for a go-ahead that the tempo task gives only after it
            // has polled tokio's JoinHandle once and seen it pending: so the task's
            // completion *must* reach tempo as a wake from tokio's thread.
            let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
            let served = handle.spawn(async move {
                go_rx.await.expect("the tempo task sends go");
                let back = tokio_echo_round_trip(b"over there").await?;
                io::Result::Ok((back, thread_name()))
            });
            let mut served = pin!(served);
            let first = poll_fn(|cx| Poll::Ready(served.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "the tokio task is waiting for go");
            go_tx.send(()).expect("the tokio task is waiting");

            let (back, ran_on) = served.await.expect("no panic").expect("no I/O error");
            assert_eq!(back, b"over there");
            assert_eq!(
                ran_on, "side-tokio",
                "handle.spawn runs the future on tokio's thread"
            );
        };
        tempo::run(async { tempo::spawn(tempo_task).await.expect("no panic") })
    });
    drop(side); // outside every async context: shutting tokio down blocks
}

#[test]
fn an_entered_handle_builds_tokio_objects_that_tempo_then_awaits() {
    let side = side_tokio();
    let handle = side.handle().clone();
    with_hang_guard(move || {
        tempo::run(async move {
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let server = tempo::spawn(async move {
                let (mut stream, _) = listener.accept().await?;
                let mut buf = [0; 4];
                stream.read_exact(&mut buf).await?;
                stream.write_all(&buf).await?;
                io::Result::Ok(())
            });

            // Built under the guard: each object keeps the side runtime's handle, so it
            // needs no context when polled. The guard is dropped before the first await
            // (it is `!Send`, and must not outlive this moment on this thread).
            let (sleep, client) = {
                let _tokio = handle.enter();
                let std_client = std::net::TcpStream::connect(addr).unwrap();
                std_client.set_nonblocking(true).unwrap();
                (
                    tokio::time::sleep(Duration::from_millis(5)),
                    tokio::net::TcpStream::from_std(std_client),
                )
            };
            let mut client = client.expect("register with the side runtime's reactor");

            // Awaited in the tempo task: polled here, woken from side-tokio's reactor.
            let start = Instant::now();
            sleep.await;
            assert!(start.elapsed() >= Duration::from_millis(5));
            client.write_all(b"echo").await.unwrap();
            let mut back = [0; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"echo");
            server.await.expect("no panic").expect("no I/O error");
        })
    });
    drop(side);
}

#[test]
fn cancelling_the_tempo_task_leaves_the_tokio_task_running() {
    // tokio's JoinHandle detaches when dropped, as tempo's does: aborting the tempo task
    // that awaits it does not stop the tokio task. Call `abort()` on it yourself.
    let side = side_tokio();
    let handle = side.handle().clone();
    with_hang_guard(move || {
        tempo::run(async move {
            let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
            let (done_tx, done_rx) = oneshot::<String>();
            let (awaiting_tx, awaiting_rx) = oneshot::<()>();
            let waiter = tempo::spawn(async move {
                let tokio_task = handle.spawn(async move {
                    go_rx.await.expect("go");
                    done_tx.send(thread_name());
                });
                awaiting_tx.send(());
                tokio_task.await
            });
            awaiting_rx.await;
            waiter.abort();
            assert!(waiter.await.expect_err("aborted").is_cancelled());

            go_tx
                .send(())
                .expect("the tokio task is still there, waiting");
            assert_eq!(done_rx.await, "side-tokio", "the tokio task ran to its end");
        })
    });
    drop(side);
}

// ---- The README's section "Living beside tokio", compiled and run ----
//
// The code between a `README: <name>` marker and `README: end` is what the README shows;
// the last test below checks that the README quotes it word for word.

#[test]
fn readme_compat() -> io::Result<()> {
    with_hang_guard(|| {
        tempo::run(async {
            // README: compat
            use async_compat::Compat;

            // A tokio-only call (tokio's own timer and sockets), made from a tempo task.
            let port = tempo::spawn(Compat::new(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                io::Result::Ok(listener.local_addr()?.port())
            }))
            .await
            .expect("the task did not panic")?;
            // README: end
            assert_ne!(port, 0);
            Ok(())
        })
    })
}

#[test]
fn readme_handle() -> io::Result<()> {
    with_hang_guard(|| {
        // README: handle
        // Once, beside tempo: a tokio runtime that owns one thread.
        let tokio_rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let tokio_handle = tokio_rt.handle().clone();

        let port = tempo::run(async move {
            // Run the tokio-only call on tokio's thread; await its JoinHandle here.
            let port = tokio_handle
                .spawn(async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    io::Result::Ok(listener.local_addr()?.port())
                })
                .await
                .expect("the tokio task did not panic")?;

            // Or build a tokio object in tokio's context, then await it in tempo.
            let nap = {
                let _entered = tokio_handle.enter(); // never held across an .await
                tokio::time::sleep(Duration::from_millis(1))
            };
            nap.await;
            io::Result::Ok(port)
        })?;
        drop(tokio_rt); // after tempo::run: shutting tokio down blocks
        // README: end
        assert_ne!(port, 0);
        Ok(())
    })
}

/// The regions of this file between `README: NAME` and `README: end` marker comments,
/// each with its common indentation removed.
fn readme_regions() -> Vec<String> {
    let mut regions = vec![];
    let mut current: Option<Vec<&str>> = None;
    for line in include_str!("tokio_compat.rs").lines() {
        match line.trim().strip_prefix("// README: ") {
            Some("end") => regions.push(dedent(&current.take().expect("a region was open"))),
            Some(_) => current = Some(vec![]),
            None => current.iter_mut().for_each(|region| region.push(line)),
        }
    }
    regions
}

fn dedent(lines: &[&str]) -> String {
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let body: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect();
    body.join("\n")
}

#[test]
fn the_readme_quotes_the_code_above_word_for_word() {
    let regions = readme_regions();
    assert_eq!(regions.len(), 2, "the compat and handle regions");
    let readme = include_str!("../README.md");
    let start = readme
        .find("\n## Living beside tokio\n")
        .expect("README.md has its \"Living beside tokio\" section");
    let section = &readme[start + 1..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let blocks: Vec<&str> = section
        .split("```rust\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().expect("a closed code block"))
        .collect();
    assert_eq!(
        blocks.len(),
        regions.len(),
        "one README code block per region"
    );
    for block in blocks {
        assert!(
            regions.iter().any(|r| r == block),
            "README.md's \"Living beside tokio\" block is not in tests/tokio_compat.rs \
             verbatim:\n{block}"
        );
    }
}
