//! Timers and sockets across threads: what must keep working when the reactor's locks are
//! taken out.
//!
//! A `Sleep`, a `Timeout` and a socket future belong to the reactor that armed or
//! registered them — the worker that first polled them — but they are `Send`, and nothing
//! stops a program from moving one, half-way through a wait, to another worker or to a
//! thread that is no worker at all. These tests pin what happens then:
//!
//! - a `Sleep` or `Timeout` armed on worker 0 and then awaited on worker 1, or on a plain
//!   thread polling it with its own waker, completes on time (never early, by the exact
//!   clock; within [`LATE`]) and wakes its *new* owner — exactly once — and never the old;
//! - `Sleep::reset` called on another thread, while the reactor is blocked in
//!   `epoll_wait` waiting for a later deadline, wakes the reactor: it must not oversleep
//!   to the old deadline (in both timer modes);
//! - a TCP read and a UDP receive on a socket registered with worker 0, first polled there
//!   and then moved to worker 1 or to a plain thread, still complete when data arrives and
//!   wake the thread that polled them last. This is supported, not just tolerated: sockets
//!   are `Send` (`tests/tcp.rs` checks it), and the reactor stores whatever waker polled
//!   last. The reactor keeps *every* waker that polled a socket direction (`reactor/src/
//!   io/readiness.rs`: a shared socket's waiters are all woken), so the old owner may be woken once,
//!   spuriously; the tests allow that and pin only that it is not woken more.
//!
//! Where a test needs the reactor to be asleep before it acts (the resets), it does not
//! guess with a wall-clock sleep: on Linux it waits, with a deadline, until the worker's
//! thread is seen blocked in `epoll_wait` in `/proc`.

mod common;

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use common::{OneshotSender, oneshot, with_hang_guard};
use tempo::net::{TcpListener, TcpStream, UdpSocket};
use tempo::task::current_worker;
use tempo::time::{Sleep, sleep, timeout_at};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The most any timer in this file may be late: generous, for a loaded 2-core machine. A
/// reactor that overslept to the old deadline of a reset would be an hour late.
const LATE: Duration = Duration::from_secs(1);

/// How long a plain thread waits for an event the runtime must deliver before it calls
/// the event lost.
const DELIVERY_LIMIT: Duration = Duration::from_secs(10);

/// The one timing assertion of this file: `what` completed at or after `deadline`, and not
/// more than [`LATE`] after it.
#[track_caller]
fn assert_on_time(deadline: Instant, what: &str) {
    let now = Instant::now();
    assert!(
        now >= deadline,
        "{what} completed {:?} before its deadline",
        deadline - now
    );
    assert!(
        now - deadline < LATE,
        "{what} was {:?} late",
        now - deadline
    );
}

fn two_workers() -> tempo::Runtime {
    tempo::Builder::new().workers(2).build().expect("a runtime")
}

/// A waker that counts its wakes and unparks a thread: the waker of [`block_on_counting`].
struct CountingUnparker {
    /// Wakes so far.
    wakes: AtomicUsize,
    /// The thread to unpark.
    thread: Thread,
}

impl Wake for CountingUnparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
        self.thread.unpark();
    }
}

/// Drive `future` to completion on this (plain) thread, parking between polls, as
/// `common::block_on` does; returns its output and how many times its waker was woken.
/// `first_pending` is told when the first poll has returned `Pending` — the waker is parked
/// wherever the future parks it.
fn block_on_counting<F: Future + Unpin>(
    mut future: F,
    first_pending: Option<OneshotSender<()>>,
) -> (F::Output, usize) {
    let unparker = Arc::new(CountingUnparker {
        wakes: AtomicUsize::new(0),
        thread: thread::current(),
    });
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    let mut first_pending = first_pending;
    loop {
        if let Poll::Ready(output) = Pin::new(&mut future).poll(&mut cx) {
            return (output, unparker.wakes.load(SeqCst));
        }
        if let Some(tell) = first_pending.take() {
            tell.send(());
        }
        thread::park(); // may return spuriously: we just poll again
    }
}

/// Polls `future` once — it must stay pending — then gives it away, then stays pending for
/// ever, counting the polls it receives: any after the first is a wake of the old owner.
struct PollOnceThenGiveAway<F> {
    /// The future, until given away.
    future: Option<F>,
    /// Where to give it.
    to: Option<OneshotSender<F>>,
    /// Polls received.
    polls: Arc<AtomicUsize>,
}

impl<F: Future + Unpin> Future for PollOnceThenGiveAway<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, SeqCst);
        if let Some(mut future) = self.future.take() {
            assert!(Pin::new(&mut future).poll(cx).is_pending(), "ready at once");
            self.to.take().expect("given once").send(future);
        }
        Poll::Pending
    }
}

/// On worker 0 of `handle`'s runtime, poll `future` once and give it away; returns it, and
/// the poll counter of the task that gave it (which then waits for ever: abort it).
async fn first_polled_on_worker_0<F>(
    handle: &tempo::Handle,
    future: F,
) -> (F, Arc<AtomicUsize>, tempo::task::JoinHandle<()>)
where
    F: Future + Unpin + Send + 'static,
{
    let polls = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot();
    let giver = handle.spawn_on(
        0,
        PollOnceThenGiveAway {
            future: Some(future),
            to: Some(tx),
            polls: polls.clone(),
        },
    );
    (rx.await, polls, giver)
}

// ---------------------------------------------------------------------------------------
// Timers moved between threads.
// ---------------------------------------------------------------------------------------

/// A 30 ms `Sleep` and a 30 ms `timeout_at` around a future that never finishes, armed on
/// worker 0 and awaited on worker 1: on time, and the task on worker 0 is never woken.
#[test]
fn a_sleep_or_timeout_armed_on_one_worker_completes_on_time_awaited_on_the_other() {
    with_hang_guard(|| {
        two_workers().block_on(async {
            let handle = tempo::Handle::current();

            let nap = sleep(ms(30));
            let deadline = nap.deadline();
            let (nap, old_polls, giver) = first_polled_on_worker_0(&handle, nap).await;
            let worker = handle
                .spawn_on(1, async move {
                    nap.await;
                    assert_on_time(deadline, "a sleep armed on worker 0, awaited on worker 1");
                    current_worker()
                })
                .await
                .expect("the task on worker 1");
            assert_eq!(worker, Some(1));
            assert_eq!(
                old_polls.load(SeqCst),
                1,
                "the old owner of the sleep was woken"
            );
            giver.abort();

            let deadline = Instant::now() + ms(30);
            let limit = timeout_at(deadline, pending::<()>());
            let (limit, old_polls, giver) = first_polled_on_worker_0(&handle, limit).await;
            let worker = handle
                .spawn_on(1, async move {
                    assert!(limit.await.is_err(), "a timeout around pending() ended Ok");
                    assert_on_time(deadline, "a timeout armed on worker 0, awaited on worker 1");
                    current_worker()
                })
                .await
                .expect("the task on worker 1");
            assert_eq!(worker, Some(1));
            assert_eq!(
                old_polls.load(SeqCst),
                1,
                "the old owner of the timeout was woken"
            );
            giver.abort();
        })
    });
}

/// The same `Sleep` and `Timeout`, awaited on a plain thread by a foreign executor with
/// its own waker: on time; the thread's waker is woken — exactly once for the sleep — and
/// the task on worker 0 never.
#[test]
fn a_sleep_or_timeout_armed_on_a_worker_completes_on_time_awaited_on_a_plain_thread() {
    with_hang_guard(|| {
        two_workers().block_on(async {
            let handle = tempo::Handle::current();

            let nap = sleep(ms(30));
            let deadline = nap.deadline();
            let (nap, old_polls, giver) = first_polled_on_worker_0(&handle, nap).await;
            let wakes = thread::spawn(move || {
                let ((), wakes) = block_on_counting(nap, None);
                assert_on_time(deadline, "a sleep armed on worker 0, awaited on a thread");
                wakes
            })
            .join()
            .expect("the plain thread");
            assert_eq!(wakes, 1, "wakes of the thread's waker");
            assert_eq!(
                old_polls.load(SeqCst),
                1,
                "the old owner of the sleep was woken"
            );
            giver.abort();

            let deadline = Instant::now() + ms(30);
            let limit = timeout_at(deadline, pending::<()>());
            let (limit, old_polls, giver) = first_polled_on_worker_0(&handle, limit).await;
            let wakes = thread::spawn(move || {
                let (result, wakes) = block_on_counting(limit, None);
                assert!(result.is_err(), "a timeout around pending() ended Ok");
                assert_on_time(deadline, "a timeout armed on worker 0, awaited on a thread");
                wakes
            })
            .join()
            .expect("the plain thread");
            assert!(wakes >= 1, "the thread's waker was never woken");
            assert_eq!(
                old_polls.load(SeqCst),
                1,
                "the old owner of the timeout was woken"
            );
            giver.abort();
        })
    });
}

// ---------------------------------------------------------------------------------------
// Resets from another thread.
// ---------------------------------------------------------------------------------------

/// This thread's kernel id, to find it in `/proc`.
#[cfg(target_os = "linux")]
fn thread_id() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Wait until thread `tid` of this process is asleep in `epoll_wait` — state `S` in
/// `/proc`, and `wchan` naming an epoll function where the kernel shows it — or panic
/// after [`DELIVERY_LIMIT`]. A bounded spin on an observable state, not a guess.
#[cfg(target_os = "linux")]
fn wait_until_in_epoll_wait(tid: i32) {
    let give_up = Instant::now() + DELIVERY_LIMIT;
    let (stat, wchan) = (
        format!("/proc/self/task/{tid}/stat"),
        format!("/proc/self/task/{tid}/wchan"),
    );
    loop {
        let stat = std::fs::read_to_string(&stat).expect("read the worker's /proc stat");
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.trim_start().chars().next());
        let wchan = std::fs::read_to_string(&wchan).unwrap_or_default();
        let in_epoll = wchan.contains("epoll") || wchan.is_empty() || wchan == "0";
        if state == Some('S') && in_epoll {
            return;
        }
        assert!(
            Instant::now() < give_up,
            "the worker never blocked in epoll_wait (state {state:?}, wchan {wchan:?})"
        );
        thread::yield_now();
    }
}

/// Elsewhere, nothing to look at: the reset may come before the reactor sleeps, which the
/// test tolerates (it then proves less).
#[cfg(not(target_os = "linux"))]
fn thread_id() -> i32 {
    0
}

#[cfg(not(target_os = "linux"))]
fn wait_until_in_epoll_wait(_tid: i32) {}

/// A `Sleep` shared between the task that awaits it and a thread that resets it.
type SharedSleep = Arc<Mutex<Sleep>>;

/// Await a shared sleep, polling it under its lock.
async fn await_shared(nap: &SharedSleep) {
    poll_fn(|cx| Pin::new(&mut *nap.lock().unwrap()).poll(cx)).await
}

/// A task waits on a sleep of `from`; once the worker is blocked in `epoll_wait` for it, a
/// plain thread resets the sleep to `to` from now. The task must complete on time at the
/// new deadline. If the reactor is not woken by an earlier reset, the thread calls it an
/// oversleep after [`DELIVERY_LIMIT`] (and unparks the reactor, so the test ends).
fn reset_from_a_plain_thread(builder: &mut tempo::Builder, from: Duration, to: Duration) {
    let what = format!("a sleep of {from:?} reset to {to:?} from a plain thread");
    let runtime = builder.build().expect("a runtime");
    runtime.block_on(async move {
        let nap: SharedSleep = Arc::new(Mutex::new(sleep(from)));
        let (tid_tx, tid_rx) = mpsc::channel::<i32>();
        let (done_tx, done_rx) = mpsc::channel::<Instant>();
        let reactor = tempo_reactor::ReactorHandle::current().expect("the worker's reactor");
        let resetter = thread::spawn({
            let nap = nap.clone();
            let what = what.clone();
            move || {
                let tid = tid_rx
                    .recv_timeout(DELIVERY_LIMIT)
                    .expect("the worker's id");
                wait_until_in_epoll_wait(tid);
                let deadline = Instant::now() + to;
                nap.lock().unwrap().reset(deadline);
                let done = done_rx.recv_timeout(DELIVERY_LIMIT + to);
                if done.is_err() {
                    reactor.unpark(); // so that the runtime (and the test) can end
                }
                let done = done.unwrap_or_else(|_| {
                    panic!("{what}: still waiting after {DELIVERY_LIMIT:?}: the reactor overslept")
                });
                assert!(
                    done >= deadline,
                    "{what}: completed {:?} early",
                    deadline - done
                );
                assert!(done - deadline < LATE, "{what}: {:?} late", done - deadline);
            }
        });
        // Armed here (the first poll), then the thread may act.
        let mut first = true;
        poll_fn(|cx| {
            let poll = Pin::new(&mut *nap.lock().unwrap()).poll(cx);
            if std::mem::take(&mut first) {
                tid_tx.send(thread_id()).expect("the resetting thread");
            }
            poll
        })
        .await;
        let _ = done_tx.send(Instant::now());
        // The thread's own assertions, or its panic.
        tempo::task::spawn_blocking(move || resetter.join())
            .await
            .expect("the join job")
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        await_shared(&nap).await; // completed: ready again at once
    });
}

/// The reactor is blocked in `epoll_wait` for a sleep an hour away when another thread
/// resets that sleep to 20 ms: it must wake up and fire at 20 ms — in both timer modes.
#[test]
fn a_reset_to_an_earlier_deadline_from_another_thread_wakes_the_blocked_reactor() {
    with_hang_guard(|| {
        let hour = Duration::from_secs(3600);
        reset_from_a_plain_thread(&mut tempo::Builder::new(), hour, ms(20));
        // 100 ms is beyond the wheel's finest level: its timer waits in a 64 ms slot, and
        // the wheel's nearest deadline is that slot's start, before the deadline itself.
        // The reactor must still be woken (found by review: the wheel once compared the
        // new deadline with that slot start and said "not the nearest").
        reset_from_a_plain_thread(&mut tempo::Builder::new(), hour, ms(100));
        let mut fine = tempo::Builder::new();
        fine.timer_resolution(Duration::from_micros(50));
        reset_from_a_plain_thread(&mut fine, hour, ms(20));
        // The timerfd already armed for a nearer deadline (50.3 ms: the millisecond
        // timeout would be 700 µs late), then the deadline moved nearer still.
        reset_from_a_plain_thread(&mut fine, Duration::from_micros(50_300), ms(20));
    });
}

/// Reset to a later deadline from another thread while the reactor waits for the old
/// one: the sleep completes at the new deadline, not the old.
#[test]
fn a_reset_to_a_later_deadline_from_another_thread_is_not_early() {
    with_hang_guard(|| {
        reset_from_a_plain_thread(&mut tempo::Builder::new(), ms(20), ms(60));
        let mut fine = tempo::Builder::new();
        fine.timer_resolution(Duration::from_micros(50));
        reset_from_a_plain_thread(&mut fine, ms(20), ms(60));
    });
}

/// Worker 1 resets a sleep that a task on worker 0 waits on, an hour away, to 20 ms: worker
/// 0's reactor wakes and the task completes on time.
#[test]
fn a_reset_from_another_worker_wakes_the_worker_that_armed_the_sleep() {
    with_hang_guard(|| {
        two_workers().block_on(async {
            let handle = tempo::Handle::current();
            let nap: SharedSleep = Arc::new(Mutex::new(sleep(Duration::from_secs(3600))));
            let (armed_tx, armed_rx) = oneshot::<i32>();
            let waiter = handle.spawn_on(0, {
                let nap = nap.clone();
                async move {
                    let mut armed = Some(armed_tx);
                    poll_fn(|cx| {
                        let poll = Pin::new(&mut *nap.lock().unwrap()).poll(cx);
                        if let Some(tell) = armed.take() {
                            tell.send(thread_id());
                        }
                        poll
                    })
                    .await;
                    (Instant::now(), current_worker())
                }
            });
            let tid = armed_rx.await;
            let deadline = handle
                .spawn_on(1, async move {
                    tempo::task::spawn_blocking(move || wait_until_in_epoll_wait(tid))
                        .await
                        .expect("the /proc watcher");
                    let deadline = Instant::now() + ms(20);
                    nap.lock().unwrap().reset(deadline);
                    deadline
                })
                .await
                .expect("the resetting task");
            let (done, worker) = waiter.await.expect("the waiting task");
            assert_eq!(worker, Some(0));
            assert!(done >= deadline, "completed {:?} early", deadline - done);
            assert!(done - deadline < LATE, "{:?} late", done - deadline);
        })
    });
}

// ---------------------------------------------------------------------------------------
// Sockets moved between threads.
// ---------------------------------------------------------------------------------------

/// A connected pair, both ends created (and registered) on worker 0.
async fn pair_on_worker_0(handle: &tempo::Handle) -> (TcpStream, TcpStream) {
    handle
        .spawn_on(0, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let client = TcpStream::connect(addr).await.expect("connect");
            let (server, _) = listener.accept().await.expect("accept");
            (client, server)
        })
        .await
        .expect("the task on worker 0")
}

/// A read of up to 64 bytes that owns its stream: `Send + Unpin`, so it can be polled on
/// one thread and finished on another.
type OwnedRead = Pin<Box<dyn Future<Output = (TcpStream, Vec<u8>)> + Send>>;

fn owned_read(mut stream: TcpStream) -> OwnedRead {
    Box::pin(async move {
        let mut buf = vec![0; 64];
        let n = stream.read(&mut buf).await.expect("read");
        buf.truncate(n);
        (stream, buf)
    })
}

/// A stream registered on worker 0 and read on worker 1; then a read first polled on
/// worker 0 (its waker parked there) and finished on worker 1. Both get their bytes.
#[test]
fn a_tcp_read_registered_on_one_worker_completes_on_another() {
    with_hang_guard(|| {
        two_workers().block_on(async {
            let handle = tempo::Handle::current();
            let (mut client, server) = pair_on_worker_0(&handle).await;

            let (ready_tx, ready_rx) = oneshot::<()>();
            let reader = handle.spawn_on(1, async move {
                let mut read = owned_read(server);
                let mut ready = Some(ready_tx);
                let got = poll_fn(|cx| {
                    let poll = read.as_mut().poll(cx);
                    if let (Poll::Pending, Some(tell)) = (&poll, ready.take()) {
                        tell.send(());
                    }
                    poll
                })
                .await;
                (got, current_worker())
            });
            ready_rx.await; // parked on worker 1: now the data
            client.write_all(b"to worker 1").await.expect("write");
            let ((server, got), worker) = reader.await.expect("the reader on worker 1");
            assert_eq!((got.as_slice(), worker), (&b"to worker 1"[..], Some(1)));

            let (read, old_polls, giver) =
                first_polled_on_worker_0(&handle, owned_read(server)).await;
            let (ready_tx, ready_rx) = oneshot::<()>();
            let reader = handle.spawn_on(1, async move {
                let mut read = read;
                let mut ready = Some(ready_tx);
                poll_fn(|cx| {
                    let poll = read.as_mut().poll(cx);
                    if let (Poll::Pending, Some(tell)) = (&poll, ready.take()) {
                        tell.send(());
                    }
                    poll
                })
                .await
            });
            ready_rx.await;
            client.write_all(b"moved read").await.expect("write");
            let (_server, got) = reader.await.expect("the reader on worker 1");
            assert_eq!(got, b"moved read");
            assert!(
                old_polls.load(SeqCst) <= 2,
                "the old owner was woken repeatedly"
            );
            giver.abort();
        })
    });
}

/// A TCP read and a UDP receive, first polled on worker 0, then finished on a plain thread
/// by a foreign executor: the thread's waker is woken when the data arrives, and the data
/// is right.
#[test]
fn a_tcp_read_or_udp_receive_first_polled_on_a_worker_completes_on_a_plain_thread() {
    with_hang_guard(|| {
        two_workers().block_on(async {
            let handle = tempo::Handle::current();
            let (mut client, server) = pair_on_worker_0(&handle).await;
            let (read, old_polls, giver) =
                first_polled_on_worker_0(&handle, owned_read(server)).await;
            let (ready_tx, ready_rx) = oneshot::<()>();
            let thread = thread::spawn(move || block_on_counting(read, Some(ready_tx)));
            ready_rx.await; // the thread's waker is parked: now the data
            client.write_all(b"to a plain thread").await.expect("write");
            let ((_server, got), wakes) = thread.join().expect("the plain thread");
            assert_eq!(got, b"to a plain thread");
            assert!(wakes >= 1, "the thread's waker was never woken");
            assert!(
                old_polls.load(SeqCst) <= 2,
                "the old owner was woken repeatedly"
            );
            giver.abort();

            let socket = handle
                .spawn_on(0, async {
                    UdpSocket::bind("127.0.0.1:0").await.expect("bind")
                })
                .await
                .expect("the task on worker 0");
            let to = socket.local_addr().expect("local_addr");
            type OwnedRecv = Pin<Box<dyn Future<Output = Vec<u8>> + Send>>;
            let recv: OwnedRecv = Box::pin(async move {
                let mut buf = vec![0; 64];
                let (n, _) = socket.recv_from(&mut buf).await.expect("recv_from");
                buf.truncate(n);
                buf
            });
            let (recv, old_polls, giver) = first_polled_on_worker_0(&handle, recv).await;
            let (ready_tx, ready_rx) = oneshot::<()>();
            let thread = thread::spawn(move || block_on_counting(recv, Some(ready_tx)));
            ready_rx.await;
            let sender = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            sender.send_to(b"datagram", to).await.expect("send_to");
            let (got, wakes) = thread.join().expect("the plain thread");
            assert_eq!(got, b"datagram");
            assert!(wakes >= 1, "the thread's waker was never woken");
            assert!(
                old_polls.load(SeqCst) <= 2,
                "the old owner was woken repeatedly"
            );
            giver.abort();
        })
    });
}
