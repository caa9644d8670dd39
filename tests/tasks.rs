//! Tasks: spawning, joining, aborting, panicking, waking, and shutting down.
//!
//! Poll and drop counts are asserted exactly: a spurious poll or a missing destructor run
//! is a failure, not noise. Nothing here orders events with a wall-clock sleep; tests
//! synchronise through the runtime itself (awaiting handles, yielding) or through
//! [`common::oneshot`].

mod common;

use std::cell::RefCell;
use std::future::{Future, pending};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::{DropGuard, block_on, oneshot, panic_text, with_hang_guard, yield_until};
use tempo::Runtime;
use tempo::task::{JoinError, JoinHandle, TaskId, yield_now};

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn count(c: &AtomicUsize) -> usize {
    c.load(Ordering::SeqCst)
}

/// A shared place for a task to leave its waker.
type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// Pending for ever. Counts its polls and leaves its latest waker in `waker`.
struct CountPolls {
    polls: Arc<AtomicUsize>,
    waker: WakerSlot,
}

impl Future for CountPolls {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        *self.waker.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Leaves its waker in `slot` and finishes on its first poll.
fn finish_keeping_waker(slot: WakerSlot) -> impl Future<Output = ()> + Send + 'static {
    std::future::poll_fn(move |cx| {
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Ready(())
    })
}

/// Resolves once a fresh std thread has woken each of `wakers`, in order, and then the
/// awaiting task. Wakes from another thread travel through the worker's channel in order,
/// so when this resolves the runtime has already received every one of `wakers`' wakes.
struct WokenFromAnotherThread {
    wakers: Option<Vec<Waker>>,
    done: Arc<AtomicUsize>,
}

fn wake_from_another_thread(wakers: Vec<Waker>) -> WokenFromAnotherThread {
    WokenFromAnotherThread {
        wakers: Some(wakers),
        done: counter(),
    }
}

impl Future for WokenFromAnotherThread {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(wakers) = self.wakers.take() {
            let me = cx.waker().clone();
            let done = self.done.clone();
            thread::spawn(move || {
                for waker in wakers {
                    waker.wake();
                }
                done.store(1, Ordering::SeqCst);
                me.wake();
            });
        }
        if count(&self.done) == 1 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

async fn panic_with_str(message: &'static str) {
    std::panic::panic_any(message)
}

async fn panic_with_string(message: String) {
    std::panic::panic_any(message)
}

/// One round trip through a fresh loopback echo connection: proof the reactor still works.
async fn tcp_echo_round_trip(message: &[u8]) -> Vec<u8> {
    use tempo::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let server = tempo::spawn(async move {
        let (mut conn, _) = listener.accept().await.expect("accept");
        let mut buf = [0u8; 256];
        let n = conn.read(&mut buf).await.expect("server read");
        conn.write_all(&buf[..n]).await.expect("server write");
    });
    let mut client = TcpStream::connect(addr).await.expect("connect");
    client.write_all(message).await.expect("client write");
    let mut reply = vec![0u8; message.len()];
    client.read_exact(&mut reply).await.expect("client read");
    server.await.expect("echo server task");
    reply
}

// ---------------------------------------------------------------------------------------
// Abort, panic and join handles: every combination.
// ---------------------------------------------------------------------------------------

/// What a [`Scripted`] task does on its second poll.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Body {
    Returns,
    Panics,
    PendsForever,
}

/// When the test aborts the task.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Abort {
    Never,
    BeforeFirstPoll,
    AfterFirstPoll,
}

/// What the test does with the JoinHandle.
#[derive(Clone, Copy, Debug, PartialEq)]
enum HandleUse {
    Awaited,
    /// Dropped right after the abort step (or right after spawning, if never aborted).
    Dropped,
}

/// What awaiting the handle gives.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    Value(u32),
    Panic(&'static str),
    Cancelled,
    /// The task never finishes; we check it is still pending and then leave it.
    StillRunning,
    /// The handle was dropped: nothing to await.
    Detached,
}

/// Pending on its first poll (leaving its waker for the test), then does `body`.
struct Scripted {
    body: Body,
    polls: Arc<AtomicUsize>,
    waker: WakerSlot,
    _guard: DropGuard,
}

impl Future for Scripted {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let n = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 1 {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        match self.body {
            Body::Returns => Poll::Ready(7),
            Body::Panics => panic!("scripted panic"),
            Body::PendsForever => Poll::Pending,
        }
    }
}

/// The table: (body, abort, handle) → (outcome, polls, destructor runs).
///
/// When not aborted, the test wakes the task after its first poll, so it is polled twice.
/// An abort before the first poll means the future is never polled, only dropped.
const CASES: [(Body, Abort, HandleUse, Outcome, usize, usize); 18] = {
    use Abort::*;
    use Body::*;
    use HandleUse::*;
    use Outcome::*;
    [
        (Returns, Never, Awaited, Value(7), 2, 1),
        (Panics, Never, Awaited, Panic("scripted panic"), 2, 1),
        (PendsForever, Never, Awaited, StillRunning, 2, 0),
        (Returns, BeforeFirstPoll, Awaited, Cancelled, 0, 1),
        (Panics, BeforeFirstPoll, Awaited, Cancelled, 0, 1),
        (PendsForever, BeforeFirstPoll, Awaited, Cancelled, 0, 1),
        (Returns, AfterFirstPoll, Awaited, Cancelled, 1, 1),
        (Panics, AfterFirstPoll, Awaited, Cancelled, 1, 1),
        (PendsForever, AfterFirstPoll, Awaited, Cancelled, 1, 1),
        (Returns, Never, Dropped, Detached, 2, 1),
        (Panics, Never, Dropped, Detached, 2, 1),
        (PendsForever, Never, Dropped, Detached, 2, 0),
        (Returns, BeforeFirstPoll, Dropped, Detached, 0, 1),
        (Panics, BeforeFirstPoll, Dropped, Detached, 0, 1),
        (PendsForever, BeforeFirstPoll, Dropped, Detached, 0, 1),
        (Returns, AfterFirstPoll, Dropped, Detached, 1, 1),
        (Panics, AfterFirstPoll, Dropped, Detached, 1, 1),
        (PendsForever, AfterFirstPoll, Dropped, Detached, 1, 1),
    ]
};

/// How many times the test yields before deciding a task is left alone for good.
const SETTLE_YIELDS: usize = 50;

async fn run_case(body: Body, abort: Abort, handle_use: HandleUse) -> (Outcome, usize, usize) {
    let polls = counter();
    let drops = counter();
    let waker: WakerSlot = Arc::default();
    let handle = tempo::spawn(Scripted {
        body,
        polls: polls.clone(),
        waker: waker.clone(),
        _guard: DropGuard(drops.clone()),
    });
    match abort {
        Abort::BeforeFirstPoll => handle.abort(),
        Abort::AfterFirstPoll => {
            yield_until("the first poll", || count(&polls) == 1).await;
            handle.abort();
        }
        Abort::Never => {
            yield_until("the first poll", || count(&polls) == 1).await;
            let w = waker
                .lock()
                .unwrap()
                .take()
                .expect("waker left by the first poll");
            w.wake();
        }
    }

    let outcome = match handle_use {
        HandleUse::Dropped => {
            drop(handle);
            Outcome::Detached
        }
        HandleUse::Awaited if body == Body::PendsForever && abort == Abort::Never => {
            yield_until("the second poll", || count(&polls) == 2).await;
            for _ in 0..SETTLE_YIELDS {
                yield_now().await;
            }
            assert!(!handle.is_finished(), "a task pending for ever finished");
            Outcome::StillRunning
        }
        HandleUse::Awaited => match handle.await {
            Ok(v) => Outcome::Value(v),
            Err(e) if e.is_cancelled() => {
                assert!(!e.is_panic() && e.panic_message().is_none(), "{e:?}");
                Outcome::Cancelled
            }
            Err(e) => {
                assert!(e.is_panic() && !e.is_cancelled(), "{e:?}");
                Outcome::Panic(match e.panic_message() {
                    Some("scripted panic") => "scripted panic",
                    other => panic!("unexpected panic message {other:?}"),
                })
            }
        },
    };
    // Let a detached task run its course before counting.
    for _ in 0..SETTLE_YIELDS {
        yield_now().await;
    }
    (outcome, count(&polls), count(&drops))
}

#[test]
fn every_combination_of_body_abort_and_join_handle() {
    with_hang_guard(|| {
        for (body, abort, handle_use, outcome, polls, drops) in CASES {
            let got = tempo::run(run_case(body, abort, handle_use));
            assert_eq!(
                got,
                (outcome, polls, drops),
                "{body:?} × abort {abort:?} × handle {handle_use:?}: (outcome, polls, drops)"
            );
        }
    });
}

#[test]
fn abort_after_completion_keeps_the_output() {
    with_hang_guard(|| {
        tempo::run(async {
            let handle = tempo::spawn(async { 5 });
            yield_until("the task to finish", || handle.is_finished()).await;
            handle.abort();
            assert_eq!(handle.await.expect("abort after completion"), 5);
        })
    });
}

#[test]
fn abort_cancels_a_waiting_task_and_runs_its_destructor_before_the_handle_resolves() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = counter();
            let started = counter();
            let guard = DropGuard(drops.clone());
            let started_in_task = started.clone();
            let handle = tempo::spawn(async move {
                let _guard = guard;
                started_in_task.store(1, Ordering::SeqCst);
                pending::<()>().await;
            });
            yield_until("the task to start", || count(&started) == 1).await;
            assert!(!handle.is_finished());
            handle.abort();
            let err = handle.await.expect_err("an aborted task gave a value");
            assert!(err.is_cancelled(), "{err:?}");
            assert_eq!(
                count(&drops),
                1,
                "destructor runs before the handle resolves"
            );
            assert_eq!(err.to_string(), "task was cancelled");
        })
    });
}

// ---------------------------------------------------------------------------------------
// Panics.
// ---------------------------------------------------------------------------------------

#[test]
fn a_panicking_task_reports_its_message_and_the_runtime_keeps_serving() {
    with_hang_guard(|| {
        tempo::run(async {
            let err = tempo::spawn(panic_with_str("a literal message"))
                .await
                .expect_err("a panicking task gave a value");
            assert!(err.is_panic() && !err.is_cancelled(), "{err:?}");
            assert_eq!(err.panic_message(), Some("a literal message"));

            let err = tempo::spawn(panic_with_string(format!("formatted {}", 42)))
                .await
                .expect_err("a panicking task gave a value");
            assert_eq!(err.panic_message(), Some("formatted 42"));
            assert!(err.to_string().contains("formatted 42"), "{err}");
            let payload = err.into_panic();
            assert_eq!(
                panic_text(&*payload),
                "formatted 42",
                "into_panic gives the payload"
            );

            // The runtime is unharmed: new tasks run ...
            let squares: Vec<JoinHandle<u32>> = (0..10)
                .map(|i| tempo::spawn(async move { i * i }))
                .collect();
            for (i, square) in (0u32..).zip(squares) {
                assert_eq!(square.await.expect("task after a panic"), i * i);
            }
            // ... and sockets still work.
            assert_eq!(
                tcp_echo_round_trip(b"still serving").await,
                b"still serving"
            );
        })
    });
}

#[test]
fn a_panic_in_the_block_on_future_propagates_and_the_thread_can_run_again() {
    with_hang_guard(|| {
        let payload = std::panic::catch_unwind(|| {
            tempo::run(async {
                drop(tempo::spawn(pending::<()>())); // left behind in the runtime
                panic!("the main future panicked");
            })
        })
        .expect_err("tempo::run swallowed its future's panic");
        assert_eq!(panic_text(&*payload), "the main future panicked");

        // No stale runtime context is left on this thread.
        let five = tempo::run(async { tempo::spawn(async { 5 }).await.expect("task") });
        assert_eq!(five, 5);
    });
}

// ---------------------------------------------------------------------------------------
// Wakers.
// ---------------------------------------------------------------------------------------

/// On its first poll, sends a clone of its waker to a std thread that wakes it; finishes on
/// the next poll, returning how many polls it took.
struct WakeMeFromAThread {
    polls: usize,
    by_ref: bool,
}

impl Future for WakeMeFromAThread {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        if self.polls > 1 {
            return Poll::Ready(self.polls);
        }
        let (tx, rx) = std::sync::mpsc::channel::<Waker>();
        let by_ref = self.by_ref;
        thread::spawn(move || {
            let waker = rx.recv().expect("a waker");
            if by_ref {
                waker.wake_by_ref();
            } else {
                waker.wake();
            }
        });
        tx.send(cx.waker().clone())
            .expect("the waking thread is alive");
        Poll::Pending
    }
}

#[test]
fn a_waker_woken_on_another_thread_reschedules_its_task() {
    with_hang_guard(|| {
        tempo::run(async {
            // The runtime is idle while the task waits: the remote wake must unpark it.
            for by_ref in [false, true] {
                let polls = tempo::spawn(WakeMeFromAThread { polls: 0, by_ref })
                    .await
                    .expect("task");
                assert_eq!(
                    polls, 2,
                    "by_ref = {by_ref}: exactly one wake, one more poll"
                );
            }
            // The block_on future itself, woken from another thread.
            let polls = WakeMeFromAThread {
                polls: 0,
                by_ref: false,
            }
            .await;
            assert_eq!(polls, 2);
        })
    });
}

#[test]
fn a_waker_kept_past_its_tasks_end_is_a_harmless_no_op() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            let kept: WakerSlot = Arc::default();
            tempo::spawn(finish_keeping_waker(kept.clone()))
                .await
                .expect("task");
            let stale = kept.lock().unwrap().take().expect("the task's waker");

            // Wake it here, by reference and by value, and from another thread.
            stale.wake_by_ref();
            let by_value = stale.clone();
            by_value.wake();
            wake_from_another_thread(vec![stale.clone(), stale]).await;

            // Everything still works.
            let value = tempo::spawn(async { "after the stale wakes" }).await;
            assert_eq!(value.expect("task"), "after the stale wakes");
            assert_eq!(rt.live_tasks(), 0);
        });
        assert_eq!(rt.live_tasks(), 0);
    });
}

#[test]
fn a_slot_reused_by_a_new_task_is_not_woken_by_the_old_tasks_waker() {
    with_hang_guard(|| {
        tempo::run(async {
            let kept: WakerSlot = Arc::default();
            let a = tempo::spawn(finish_keeping_waker(kept.clone()));
            let a_id = a.id().expect("spawned on this worker, so placed at once");
            a.await.expect("task A");
            let stale = kept.lock().unwrap().take().expect("A's waker");

            let b_polls = counter();
            let b_waker: WakerSlot = Arc::default();
            let b = tempo::spawn(CountPolls {
                polls: b_polls.clone(),
                waker: b_waker.clone(),
            });
            let b_id = b.id().expect("placed at once");
            assert_eq!(b_id.slot(), a_id.slot(), "precondition: B reuses A's slot");
            assert_ne!(
                b_id.generation(),
                a_id.generation(),
                "a reused slot's generation"
            );
            yield_until("B's first poll", || count(&b_polls) == 1).await;

            // A's waker, woken on this thread and from another, must not poll B.
            stale.wake_by_ref();
            wake_from_another_thread(vec![stale.clone()]).await;
            for _ in 0..SETTLE_YIELDS {
                yield_now().await;
            }
            assert_eq!(count(&b_polls), 1, "A's stale waker polled B");

            // The detector works: B's own waker does poll it.
            let own = b_waker.lock().unwrap().take().expect("B's waker");
            own.wake();
            yield_until("B's second poll", || count(&b_polls) == 2).await;

            b.abort();
            assert!(b.await.expect_err("B was aborted").is_cancelled());
        })
    });
}

#[test]
fn a_waker_from_a_dropped_runtime_does_not_wake_a_task_of_a_new_one() {
    with_hang_guard(|| {
        let kept: WakerSlot = Arc::default();
        let first = Runtime::new().expect("runtime");
        let old_id = first.block_on(async {
            let a = tempo::spawn(finish_keeping_waker(kept.clone()));
            let id = a.id().expect("placed");
            a.await.expect("task A");
            id
        });
        drop(first);
        let stale = kept.lock().unwrap().take().expect("A's waker");

        let second = Runtime::new().expect("runtime");
        second.block_on(async {
            let polls = counter();
            let b = tempo::spawn(CountPolls {
                polls: polls.clone(),
                waker: Arc::default(),
            });
            let new_id = b.id().expect("placed");
            assert_ne!(
                new_id, old_id,
                "a new runtime must not reissue a live task id"
            );
            yield_until("B's first poll", || count(&polls) == 1).await;
            stale.wake_by_ref();
            wake_from_another_thread(vec![stale.clone()]).await;
            for _ in 0..SETTLE_YIELDS {
                yield_now().await;
            }
            assert_eq!(
                count(&polls),
                1,
                "a dropped runtime's waker polled a new task"
            );
            b.abort();
        });
    });
}

#[test]
fn the_current_task_id_is_the_id_its_join_handle_reports() {
    with_hang_guard(|| {
        tempo::run(async {
            let (tx, rx) = oneshot::<TaskId>();
            let handle = tempo::spawn(async move { tx.send(tempo::task::id()) });
            let id = handle.id().expect("placed");
            assert_eq!(rx.await, id);
            handle.await.expect("task");
            assert!(!id.to_string().is_empty());
        })
    });
}

// ---------------------------------------------------------------------------------------
// Many tasks, shutdown, detaching.
// ---------------------------------------------------------------------------------------

#[test]
fn a_hundred_thousand_tasks_all_complete_and_leave_nothing_behind() {
    const N: usize = 100_000;
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        let ran = counter();
        let sum = rt.block_on(async {
            let handles: Vec<_> = (0..N)
                .map(|i| {
                    let ran = ran.clone();
                    tempo::spawn(async move {
                        ran.fetch_add(1, Ordering::Relaxed);
                        i
                    })
                })
                .collect();
            assert_eq!(rt.live_tasks(), N, "spawned but not yet run");
            let mut sum = 0;
            for handle in handles {
                sum += handle.await.expect("task");
            }
            sum
        });
        assert_eq!(count(&ran), N);
        assert_eq!(sum, N * (N - 1) / 2);
        assert_eq!(rt.live_tasks(), 0);

        // The same with every handle dropped at once (detached tasks).
        let ran = counter();
        rt.block_on(async {
            for _ in 0..N {
                let ran = ran.clone();
                drop(tempo::spawn(async move {
                    yield_now().await;
                    ran.fetch_add(1, Ordering::Relaxed);
                }));
            }
            yield_until("every detached task", || count(&ran) == N).await;
        });
        assert_eq!(rt.live_tasks(), 0);
    });
}

#[test]
fn dropping_the_runtime_drops_every_pending_task_and_cancels_their_handles() {
    with_hang_guard(|| {
        let drops = counter();
        let started = counter();
        let local_drop_thread: Arc<Mutex<Option<ThreadId>>> = Arc::default();
        let rt = Runtime::new().expect("runtime");
        let (handles, _peer) = rt.block_on(async {
            let guard = || DropGuard(drops.clone());
            let mut handles: Vec<JoinHandle<()>> = Vec::new();

            // Waiting on nothing at all.
            let (g, s) = (guard(), started.clone());
            handles.push(tempo::spawn(async move {
                let _g = g;
                s.fetch_add(1, Ordering::SeqCst);
                pending::<()>().await
            }));
            // Waiting on a timer an hour away.
            let (g, s) = (guard(), started.clone());
            handles.push(tempo::spawn(async move {
                let _g = g;
                s.fetch_add(1, Ordering::SeqCst);
                tempo::time::sleep(Duration::from_secs(3600)).await
            }));
            // Waiting on a socket that never sends.
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (mut conn, _) = listener.accept().await.expect("accept");
            let (g, s) = (guard(), started.clone());
            handles.push(tempo::spawn(async move {
                let _g = g;
                s.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 1];
                let _ = conn.read(&mut buf).await;
                unreachable!("the peer never sends");
            }));
            // A !Send task, whose destructor must run on the runtime's thread.
            let (g, s) = (guard(), started.clone());
            let rc = Rc::new(());
            let where_dropped = local_drop_thread.clone();
            handles.push(tempo::spawn_local(async move {
                struct RecordThread(Arc<Mutex<Option<ThreadId>>>);
                impl Drop for RecordThread {
                    fn drop(&mut self) {
                        *self.0.lock().unwrap() = Some(thread::current().id());
                    }
                }
                let _g = (g, RecordThread(where_dropped), rc);
                s.fetch_add(1, Ordering::SeqCst);
                pending::<()>().await
            }));
            yield_until("all four tasks to start", || count(&started) == 4).await;
            // And one spawned but never polled.
            let g = guard();
            handles.push(tempo::spawn(async move {
                let _g = g;
                unreachable!("never polled: the runtime is dropped first");
            }));
            (handles, peer)
        });
        assert_eq!(count(&drops), 0, "block_on's return drops no task");
        drop(rt);
        assert_eq!(count(&drops), 5, "every task's destructor ran");
        assert_eq!(
            *local_drop_thread.lock().unwrap(),
            Some(thread::current().id()),
            "a !Send task is dropped on its own thread"
        );
        for handle in handles {
            let err = block_on(handle).expect_err("a task dropped at shutdown gave a value");
            assert!(err.is_cancelled(), "{err:?}");
        }
    });
}

#[test]
fn dropping_a_join_handle_detaches_the_task_which_runs_to_completion() {
    with_hang_guard(|| {
        tempo::run(async {
            let (go_tx, go_rx) = oneshot::<()>();
            let (done_tx, done_rx) = oneshot::<&str>();
            let handle = tempo::spawn(async move {
                go_rx.await;
                done_tx.send("finished after its handle was dropped");
            });
            drop(handle);
            go_tx.send(());
            assert_eq!(done_rx.await, "finished after its handle was dropped");
        })
    });
}

#[test]
fn spawn_local_tasks_share_an_rc() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let writer = |name: &'static str| {
                let log = log.clone();
                tempo::spawn_local(async move {
                    for i in 0..3 {
                        log.borrow_mut().push((name, i));
                        yield_now().await;
                    }
                })
            };
            let (a, b) = (writer("a"), writer("b"));
            a.await.expect("task a");
            b.await.expect("task b");
            assert_eq!(
                Rc::strong_count(&log),
                1,
                "finished tasks dropped their futures"
            );
            let log = log.borrow();
            for name in ["a", "b"] {
                let mine: Vec<_> = log.iter().filter(|e| e.0 == name).map(|e| e.1).collect();
                assert_eq!(mine, [0, 1, 2], "task {name}'s entries");
            }
        })
    });
}

#[test]
fn spawning_outside_a_runtime_panics_with_a_message_that_says_so() {
    with_hang_guard(|| {
        // A fresh thread: certainly no runtime here.
        let attempts: [(&str, fn()); 3] = [
            ("tempo::spawn", || drop(tempo::spawn(async {}))),
            ("tempo::spawn_local", || drop(tempo::spawn_local(async {}))),
            ("Handle::current", || drop(tempo::Handle::current())),
        ];
        for (what, attempt) in attempts {
            match std::panic::catch_unwind(attempt) {
                Ok(()) => panic!("{what} outside a runtime did not panic"),
                Err(payload) => {
                    let message = panic_text(&*payload);
                    assert!(
                        message.contains("runtime"),
                        "{what} panicked with {message:?}"
                    );
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Fairness: an always-ready task cannot starve timers or sockets.
// ---------------------------------------------------------------------------------------

/// How long a 5 ms sleep may take while something spins, before we call it starved.
const STARVED: Duration = Duration::from_secs(2);

/// Await a 5 ms sleep and an echo round trip while some other task spins.
async fn timers_and_sockets_still_work() {
    let start = Instant::now();
    tempo::time::sleep(Duration::from_millis(5)).await;
    let took = start.elapsed();
    assert!(took < STARVED, "a 5 ms sleep took {took:?}: starved");
    assert_eq!(tcp_echo_round_trip(b"not starved").await, b"not starved");
}

#[test]
fn a_task_spinning_on_yield_now_does_not_starve_timers_or_sockets() {
    with_hang_guard(|| {
        tempo::run(async {
            let spins = counter();
            let spins_in_task = spins.clone();
            let spinner = tempo::spawn(async move {
                loop {
                    spins_in_task.fetch_add(1, Ordering::Relaxed);
                    yield_now().await;
                }
            });
            timers_and_sockets_still_work().await;
            assert!(count(&spins) > 0, "the spinner never ran");
            spinner.abort();
            assert!(spinner.await.expect_err("aborted").is_cancelled());
        })
    });
}

/// The future passed to `block_on` is not a task, but it must not be able to starve the
/// tasks that wait on timers and sockets either: asyncio's main coroutine is a task like any
/// other.
#[test]
fn the_block_on_future_spinning_on_yield_now_does_not_starve_timers_or_sockets() {
    with_hang_guard(|| {
        tempo::run(async {
            let timer = tempo::spawn(tempo::time::sleep(Duration::from_millis(5)));
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            // A loopback connect completes in the kernel's backlog, without an accept.
            let mut peer =
                std::net::TcpStream::connect(listener.local_addr().unwrap()).expect("std connect");
            std::io::Write::write_all(&mut peer, b"x").expect("std write");
            let socket = tempo::spawn(async move {
                let (mut conn, _) = listener.accept().await.expect("accept");
                let mut buf = [0u8; 1];
                conn.read_exact(&mut buf).await.expect("read");
            });

            // Busy, but yielding after every step of its work.
            let start = Instant::now();
            while !(timer.is_finished() && socket.is_finished()) && start.elapsed() < STARVED {
                yield_now().await;
            }
            assert!(
                timer.is_finished(),
                "a 5 ms timer had not fired after {:?} of yield_now in block_on",
                start.elapsed()
            );
            assert!(
                socket.is_finished(),
                "a ready socket was not served after {:?} of yield_now in block_on",
                start.elapsed()
            );
        })
    });
}

#[test]
fn a_task_reading_an_always_ready_socket_does_not_starve_timers_or_sockets() {
    with_hang_guard(|| {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<std::net::SocketAddr>();
        // A peer that keeps the socket full until the reader goes away.
        let flood = thread::spawn(move || {
            let addr = addr_rx.recv().expect("the listener's address");
            let mut peer = std::net::TcpStream::connect(addr).expect("connect");
            peer.set_write_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let chunk = vec![0xabu8; 64 * 1024];
            let mut sent = 0usize;
            loop {
                match std::io::Write::write(&mut peer, &chunk) {
                    Ok(n) => sent += n,
                    Err(e) => return (sent, e.kind()),
                }
            }
        });

        tempo::run(async move {
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            addr_tx
                .send(listener.local_addr().expect("local_addr"))
                .unwrap();
            let (mut conn, _) = listener.accept().await.expect("accept");
            let (going_tx, going_rx) = oneshot::<()>();
            let spinner = tempo::spawn(async move {
                // Small reads that fill the buffer: the socket stays readable, so the
                // read almost never has to wait.
                let mut buf = [0u8; 16];
                let mut going = Some(going_tx);
                for reads in 0usize.. {
                    conn.read(&mut buf).await.expect("read");
                    if reads == 1000 {
                        going.take().expect("sent once").send(());
                    }
                }
            });
            going_rx.await; // the reader is in full flow
            timers_and_sockets_still_work().await;
            spinner.abort();
            assert!(spinner.await.expect_err("aborted").is_cancelled());
        });

        // Closing a socket with unread data resets it: the flood ends with an error.
        let (sent, why) = flood.join().expect("flood thread");
        assert!(sent > 0);
        assert!(
            matches!(
                why,
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "the flood ended with {why:?}"
        );
    });
}

#[test]
fn a_task_writing_to_an_always_writable_socket_does_not_starve_timers_or_sockets() {
    with_hang_guard(|| {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<std::net::SocketAddr>();
        // A peer that drains everything as fast as it can, until end of stream.
        let drain = thread::spawn(move || {
            let addr = addr_rx.recv().expect("the listener's address");
            let mut peer = std::net::TcpStream::connect(addr).expect("connect");
            peer.set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut total = 0usize;
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match std::io::Read::read(&mut peer, &mut buf) {
                    Ok(0) => return Ok(total),
                    Ok(n) => total += n,
                    Err(e) => return Err(e),
                }
            }
        });

        tempo::run(async move {
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            addr_tx
                .send(listener.local_addr().expect("local_addr"))
                .unwrap();
            let (mut conn, _) = listener.accept().await.expect("accept");
            let (going_tx, going_rx) = oneshot::<()>();
            let spinner = tempo::spawn(async move {
                // Small writes into a socket whose peer keeps draining it: the write
                // almost never has to wait.
                let mut going = Some(going_tx);
                for writes in 0usize.. {
                    conn.write_all(&[0x5a; 16]).await.expect("write");
                    if writes == 1000 {
                        going.take().expect("sent once").send(());
                    }
                }
            });
            going_rx.await;
            timers_and_sockets_still_work().await;
            spinner.abort(); // drops the stream: the peer reads end of stream
            assert!(spinner.await.expect_err("aborted").is_cancelled());
        });

        let total = drain.join().expect("drain thread").expect("drain I/O");
        assert!(total >= 16 * 1000, "the peer got {total} bytes");
    });
}

// ---------------------------------------------------------------------------------------
// Other threads: Handle::spawn, and JoinHandles awaited elsewhere.
// ---------------------------------------------------------------------------------------

#[test]
fn handle_spawn_from_a_plain_thread_runs_the_task_on_the_runtime() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        let runtime_thread = thread::current().id();
        let from_rt = rt.handle().clone();
        rt.block_on(async {
            let from_inside = tempo::Handle::current();
            for handle in [from_rt, from_inside] {
                // A JoinHandle handed back to the runtime, and awaited there.
                let (tx, rx) = oneshot::<JoinHandle<ThreadId>>();
                let spawner = handle.clone();
                thread::spawn(move || {
                    tx.send(spawner.spawn(async { thread::current().id() }));
                });
                let ran_on = rx.await.await.expect("task spawned from a thread");
                assert_eq!(ran_on, runtime_thread);

                // A detached task that reports back by itself while the runtime is idle:
                // the spawn alone must wake the worker.
                let (tx, rx) = oneshot::<ThreadId>();
                thread::spawn(move || {
                    drop(handle.spawn(async move { tx.send(thread::current().id()) }));
                });
                assert_eq!(rx.await, runtime_thread);
            }
        });
    });
}

/// Polls a JoinHandle; after its first `Pending`, releases the task through `go`, so the
/// task finishes only after this future's waker was registered with the handle.
struct JoinThenRelease {
    handle: JoinHandle<u32>,
    go: Option<common::OneshotSender<()>>,
}

impl Future for JoinThenRelease {
    type Output = Result<u32, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = Pin::new(&mut self.handle).poll(cx) {
            return Poll::Ready(out);
        }
        if let Some(go) = self.go.take() {
            go.send(());
        }
        Poll::Pending
    }
}

#[test]
fn a_join_handle_awaited_on_a_plain_thread_with_another_executor() {
    with_hang_guard(|| {
        tempo::run(async {
            let (go_tx, go_rx) = oneshot::<()>();
            let task = tempo::spawn(async move {
                go_rx.await;
                99
            });
            let (result_tx, result_rx) = oneshot();
            thread::spawn(move || {
                result_tx.send(block_on(JoinThenRelease {
                    handle: task,
                    go: Some(go_tx),
                }));
            });
            assert_eq!(result_rx.await.expect("task"), 99);
        })
    });
}

#[test]
fn public_task_types_have_the_promised_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn clone<T: Clone>() {}
    fn unpin<T: Unpin>() {}
    fn error<T: std::error::Error + Send + Sync + 'static>() {}
    fn id<T: Copy + Eq + std::fmt::Debug + std::fmt::Display + Send + Sync>() {}
    send_sync::<tempo::Handle>();
    clone::<tempo::Handle>();
    send_sync::<JoinHandle<u32>>();
    unpin::<JoinHandle<u32>>();
    unpin::<JoinHandle<Rc<u32>>>(); // Unpin whatever the output
    error::<JoinError>();
    id::<TaskId>();
}

// ---------------------------------------------------------------------------------------
// More edges: other threads, other runtimes, several block_on calls, shutdown.
// ---------------------------------------------------------------------------------------

#[test]
fn abort_from_another_thread_while_the_runtime_is_idle_cancels_the_task() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = counter();
            let guard = DropGuard(drops.clone());
            let handle = tempo::spawn(async move {
                let _guard = guard;
                pending::<()>().await
            });
            yield_now().await; // let it start
            let (tx, rx) = oneshot();
            thread::spawn(move || {
                handle.abort();
                tx.send(block_on(handle));
            });
            // The runtime sleeps in the reactor until the abort's wake arrives.
            let result = rx.await;
            assert!(result.expect_err("aborted").is_cancelled());
            assert_eq!(count(&drops), 1);
        })
    });
}

#[test]
fn tasks_outlive_one_block_on_and_carry_on_in_the_next() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        let (go_tx, go_rx) = oneshot::<u32>();
        let mut waiting = None;
        rt.block_on(async {
            waiting = Some(tempo::spawn(async move { go_rx.await + 1 }));
            yield_now().await; // it starts waiting
        });
        let waiting = waiting.expect("spawned");
        // Spawned between two block_on calls, from the runtime's own thread.
        let between = rt.spawn(async { "spawned between block_ons" });
        assert_eq!(rt.live_tasks(), 2);
        // Woken on the runtime's thread while no block_on runs.
        go_tx.send(41);
        rt.block_on(async {
            assert_eq!(waiting.await.expect("task from the first block_on"), 42);
            assert_eq!(between.await.expect("task"), "spawned between block_ons");
        });
        assert_eq!(rt.live_tasks(), 0);
    });
}

#[test]
fn a_task_whose_destructor_panics_reports_the_panic_and_the_runtime_carries_on() {
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            if !thread::panicking() {
                panic!("destructor panicked");
            }
        }
    }
    with_hang_guard(|| {
        let drops = counter();
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            // Cancelled by abort: the drop of its future panics.
            let aborted = tempo::spawn(async {
                let _p = PanicsOnDrop;
                pending::<()>().await
            });
            yield_now().await;
            aborted.abort();
            let err = aborted.await.expect_err("aborted");
            assert!(err.is_panic(), "{err:?}");
            assert_eq!(err.panic_message(), Some("destructor panicked"));
            assert_eq!(tempo::spawn(async { 3 }).await.expect("task after"), 3);

            // Left for shutdown: one that panics on drop, next to one that counts.
            let g = DropGuard(drops.clone());
            drop(tempo::spawn(async move {
                let _p = PanicsOnDrop;
                pending::<()>().await
            }));
            drop(tempo::spawn(async move {
                let _g = g;
                pending::<()>().await
            }));
            yield_now().await;
        });
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rt)));
        assert!(
            dropped.is_ok(),
            "a task's panicking destructor escaped the runtime's drop"
        );
        assert_eq!(count(&drops), 1, "the other task's destructor still ran");
    });
}

#[test]
fn a_task_spawned_by_a_destructor_during_shutdown_is_dropped_too() {
    /// On drop, spawns a task holding a guard on `0`.
    struct SpawnsOnDrop(Arc<AtomicUsize>);
    impl Drop for SpawnsOnDrop {
        fn drop(&mut self) {
            let guard = DropGuard(self.0.clone());
            drop(tempo::spawn(async move {
                let _guard = guard;
                pending::<()>().await
            }));
        }
    }
    with_hang_guard(|| {
        let drops = counter();
        let rt = Runtime::new().expect("runtime");
        let spawner = SpawnsOnDrop(drops.clone());
        rt.block_on(async {
            drop(tempo::spawn(async move {
                let _s = spawner;
                pending::<()>().await
            }));
            yield_now().await;
        });
        drop(rt);
        assert_eq!(
            count(&drops),
            1,
            "the task spawned during shutdown was dropped"
        );
    });
}

#[test]
fn handle_spawn_after_the_runtime_is_gone_reports_cancelled_and_drops_the_future() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        let handle = rt.handle().clone();
        drop(rt);
        let drops = counter();
        let guard = DropGuard(drops.clone());
        let late = handle.spawn(async move {
            let _guard = guard;
            "never runs"
        });
        let err = block_on(late).expect_err("a task spawned onto a dropped runtime ran");
        assert!(err.is_cancelled(), "{err:?}");
        assert_eq!(count(&drops), 1);
    });
}

/// Polls a JoinHandle once (registering this task's waker with it), then hands it on.
struct PollOnceThenHandOver {
    handle: Option<JoinHandle<u32>>,
    to: Option<common::OneshotSender<JoinHandle<u32>>>,
}

impl Future for PollOnceThenHandOver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut handle = self.handle.take().expect("polled once");
        assert!(
            Pin::new(&mut handle).poll(cx).is_pending(),
            "target finished early"
        );
        self.to.take().expect("polled once").send(handle);
        Poll::Ready(())
    }
}

#[test]
fn a_join_handle_moved_to_another_task_after_a_poll_wakes_its_new_owner() {
    with_hang_guard(|| {
        tempo::run(async {
            let (go_tx, go_rx) = oneshot::<()>();
            let target = tempo::spawn(async move {
                go_rx.await;
                7
            });
            let (handle_tx, handle_rx) = oneshot();
            tempo::spawn(PollOnceThenHandOver {
                handle: Some(target),
                to: Some(handle_tx),
            })
            .await
            .expect("first owner");
            let new_owner = tempo::spawn(async move { handle_rx.await.await });
            yield_now().await; // let the new owner register its waker
            go_tx.send(());
            let result = new_owner.await.expect("new owner");
            assert_eq!(result.expect("target"), 7);
        })
    });
}

#[test]
fn a_join_handle_awaited_by_a_task_of_another_runtime() {
    with_hang_guard(|| {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel::<JoinHandle<u32>>();
        let (go_tx, go_rx) = oneshot::<()>();
        // Runtime B, on its own thread, awaits a task of runtime A.
        let other = thread::spawn(move || {
            tempo::run(async move {
                let handle = handle_rx.recv().expect("a handle");
                let awaiting = tempo::spawn(handle);
                yield_now().await; // registered with the foreign task
                go_tx.send(());
                awaiting.await.expect("awaiting task")
            })
        });
        tempo::run(async move {
            let task = tempo::spawn(async move {
                go_rx.await;
                11
            });
            handle_tx.send(task).expect("runtime B is alive");
            // Stay alive (and idle) until B has released and received the result.
            let (done_tx, done_rx) = oneshot::<()>();
            thread::spawn(move || {
                let result = other.join().expect("runtime B's thread");
                assert_eq!(result.expect("task of runtime A"), 11);
                done_tx.send(());
            });
            done_rx.await;
        });
    });
}

/// Polls a JoinHandle; after its first `Pending`, says so on `registered`.
struct JoinAndSayWhenWaiting {
    handle: JoinHandle<u32>,
    registered: Option<std::sync::mpsc::Sender<()>>,
}

impl Future for JoinAndSayWhenWaiting {
    type Output = Result<u32, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = Pin::new(&mut self.handle).poll(cx) {
            return Poll::Ready(out);
        }
        if let Some(registered) = self.registered.take() {
            registered.send(()).expect("the test is listening");
        }
        Poll::Pending
    }
}

#[test]
fn a_join_handle_waited_on_elsewhere_resolves_cancelled_when_its_runtime_is_dropped() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        let mut task = None;
        rt.block_on(async {
            task = Some(tempo::spawn(pending::<u32>()));
            yield_now().await;
        });
        let handle = task.expect("spawned");
        let (registered_tx, registered_rx) = std::sync::mpsc::channel();
        let joiner = thread::spawn(move || {
            block_on(JoinAndSayWhenWaiting {
                handle,
                registered: Some(registered_tx),
            })
        });
        registered_rx.recv().expect("the joiner is waiting");
        drop(rt); // must wake the joiner on its thread
        let result = joiner.join().expect("joiner thread");
        assert!(
            result
                .expect_err("a dropped task gave a value")
                .is_cancelled()
        );
    });
}

#[test]
fn a_task_aborted_before_it_reaches_its_worker_is_never_polled() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        let handle = rt.handle().clone();
        let polls = counter();
        let drops = counter();
        let (p, d) = (polls.clone(), drops.clone());
        // Spawned and aborted from another thread while the runtime is not running, so
        // the task is still in the worker's channel when it is aborted.
        let task = thread::spawn(move || {
            let guard = DropGuard(d);
            let task = handle.spawn(async move {
                let _guard = guard;
                p.fetch_add(1, Ordering::SeqCst);
            });
            assert_eq!(task.id(), None, "not yet placed on its worker");
            task.abort();
            task
        })
        .join()
        .expect("spawning thread");
        let result = rt.block_on(task);
        assert!(result.expect_err("aborted").is_cancelled());
        assert_eq!((count(&polls), count(&drops)), (0, 1), "(polls, drops)");
        assert_eq!(rt.live_tasks(), 0);
    });
}

#[test]
fn many_wakes_before_a_task_runs_queue_it_once() {
    with_hang_guard(|| {
        tempo::run(async {
            let polls = counter();
            let waker: WakerSlot = Arc::default();
            let task = tempo::spawn(CountPolls {
                polls: polls.clone(),
                waker: waker.clone(),
            });
            yield_until("the first poll", || count(&polls) == 1).await;
            let w = waker.lock().unwrap().take().expect("waker");
            for _ in 0..1000 {
                w.wake_by_ref();
            }
            for _ in 0..SETTLE_YIELDS {
                yield_now().await;
            }
            assert_eq!(count(&polls), 2, "1000 wakes before it ran: one more poll");
            task.abort();
        })
    });
}

#[test]
fn a_handle_outliving_its_runtime_never_spawns_onto_a_successor_on_the_same_thread() {
    with_hang_guard(|| {
        let old = Runtime::new().expect("runtime");
        let stale_handle = old.handle().clone();
        drop(old);
        let successor = Runtime::new().expect("runtime");
        successor.block_on(async {
            let polls = counter();
            let p = polls.clone();
            let late = stale_handle.spawn(async move {
                p.fetch_add(1, Ordering::SeqCst);
            });
            let err = late
                .await
                .expect_err("a dropped runtime's handle spawned a task");
            assert!(err.is_cancelled(), "{err:?}");
            assert_eq!(count(&polls), 0, "the task ran on the successor runtime");
        });
        assert_eq!(successor.live_tasks(), 0);
    });
}

/// Wakes itself during its poll, `wakes` times over its life, and finishes on the last.
struct WakesItselfThenFinishes {
    polls: usize,
    last: usize,
}

impl Future for WakesItselfThenFinishes {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls += 1;
        cx.waker().wake_by_ref(); // even on the poll that finishes
        if self.polls == self.last {
            Poll::Ready(self.polls)
        } else {
            Poll::Pending
        }
    }
}

/// Wakes its task from its destructor.
struct WakesOnDrop(WakerSlot);

impl Drop for WakesOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.0.lock().unwrap().take() {
            w.wake();
        }
    }
}

#[test]
fn a_task_that_wakes_itself_as_it_finishes_is_polled_no_more() {
    with_hang_guard(|| {
        let rt = Runtime::new().expect("runtime");
        rt.block_on(async {
            for round in 0..20 {
                let handles: Vec<_> = (1..=50)
                    .map(|last| tempo::spawn(WakesItselfThenFinishes { polls: 0, last }))
                    .collect();
                for (last, handle) in (1..).zip(handles) {
                    assert_eq!(handle.await.expect("task"), last, "round {round}");
                }
                // Finishing while a destructor wakes the task.
                let slot: WakerSlot = Arc::default();
                let keeps = slot.clone();
                let handle = tempo::spawn(async move {
                    let _wakes = WakesOnDrop(keeps.clone());
                    std::future::poll_fn(|cx| {
                        *keeps.lock().unwrap() = Some(cx.waker().clone());
                        Poll::Ready(())
                    })
                    .await;
                });
                handle.await.expect("task");
            }
            for _ in 0..SETTLE_YIELDS {
                yield_now().await;
            }
            assert_eq!(rt.live_tasks(), 0);
        });
    });
}

#[test]
fn fifty_thousand_wakes_from_another_thread_are_none_of_them_lost() {
    const ROUNDS: usize = 50_000;
    with_hang_guard(|| {
        tempo::run(async {
            let (to_thread, from_task) = std::sync::mpsc::channel::<common::OneshotSender<usize>>();
            let ponger = thread::spawn(move || {
                for (i, reply) in from_task.iter().enumerate() {
                    reply.send(i);
                }
            });
            // The runtime goes idle in the reactor each round, so each reply's wake has to
            // unpark it.
            for i in 0..ROUNDS {
                let (tx, rx) = oneshot();
                to_thread.send(tx).expect("ponger alive");
                assert_eq!(rx.await, i);
            }
            drop(to_thread);
            ponger.join().expect("ponger");
        })
    });
}
