//! The readiness contract of `reactor/src/io/readiness.rs`, checked on real descriptors:
//! what an I/O future may rely on when it asks a [`Registration`] whether a direction is
//! ready, and what the reactor's turn does with an event. The readiness path was rebuilt
//! for speed (a direction's waiters are taken only when an event makes it ready) and may be
//! again (lock-free waiter slots are a candidate); these tests are the part of its
//! behaviour that must survive any rewrite.
//!
//! Each test drives a [`Reactor`] by hand on its own thread — register, poll, turn, look —
//! with wakers that raise a flag, over a Unix socket pair, so the only events are the ones
//! the test makes. Nothing here needs a timerfd or an IP socket, so the file runs under Miri
//! too (`cargo +nightly miri test -p tempo-reactor`), which emulates `socketpair`, `epoll`
//! and `eventfd` and checks every unsafe block and atomic on the way.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use mio::Interest;
use mio::net::UnixStream;
use mio::unix::SourceFd;
use tempo_reactor::{Direction, Reactor, ReadyEvent, Registration};

/// A waker that counts its wakes. Everything runs on the test's thread (the reactor wakes
/// inside `turn`), so a counter read after the turn sees every wake.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Count {
    fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Checks that a task parked more than once was woken `once` by one event.
///
/// A registration keeps one copy of a waker that [`Waker::will_wake`] says is already
/// parked. `will_wake` is best-effort by its documentation, and under Miri — which gives
/// each use of a vtable an address of its own — it never matches, so there a task that
/// parked twice is stored twice and woken twice. A spurious wake is within the contract; a
/// missing one is not. So natively the count must be exactly one, and under Miri at least
/// one.
#[track_caller]
fn assert_woken_once(task: &Count, what: &str) {
    if cfg!(miri) {
        assert!(task.wakes() >= 1, "{what}: never woken");
    } else {
        assert_eq!(task.wakes(), 1, "{what}");
    }
}

/// One turn that waits for nothing: only events already queued are seen.
fn turn_now(reactor: &mut Reactor) {
    reactor.turn(Some(Duration::ZERO)).expect("turn");
}

/// Ask whether `direction` is ready, parking `waker` if not.
fn poll(reg: &Registration, waker: &Waker, direction: Direction) -> Poll<ReadyEvent> {
    match reg.poll_ready(&mut Context::from_waker(waker), direction) {
        Poll::Ready(result) => Poll::Ready(result.expect("poll_ready")),
        Poll::Pending => Poll::Pending,
    }
}

/// A connected, non-blocking Unix socket pair, each end as a `File`, so that I/O on it is
/// plain `read(2)` and `write(2)` — which Miri emulates on a socket pair, where it has no
/// `send`/`recv`.
/// (mio creates the pair non-blocking with `SOCK_NONBLOCK`, so no `ioctl` is needed
/// either.)
fn socket_pair() -> (File, File) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    (File::from(OwnedFd::from(a)), File::from(OwnedFd::from(b)))
}

/// Registers `end` with `reactor` for `interest`.
fn register(reactor: &Reactor, end: &File, interest: Interest) -> Registration {
    let fd = end.as_raw_fd();
    Registration::new(&mut SourceFd(&fd), interest, &reactor.handle()).expect("register")
}

/// Reads until `WouldBlock`, returning how many bytes there were.
fn drain(stream: &mut File) -> usize {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// A reactor, and a connected pair whose first end is registered with it.
fn setup(interest: Interest) -> (Reactor, Registration, File, File) {
    let reactor = Reactor::new().expect("reactor");
    let (ours, theirs) = socket_pair();
    let reg = register(&reactor, &ours, interest);
    (reactor, reg, ours, theirs)
}

/// The protocol of the module doc, step by step: not ready → park → an edge wakes the
/// parked task → ready until a `WouldBlock` clears it → not ready again.
#[test]
fn a_read_waits_for_an_edge_then_stays_ready_until_a_would_block_clears_it() {
    let (mut reactor, reg, mut ours, mut theirs) = setup(Interest::READABLE);
    let task = Arc::new(Count::default());
    assert!(poll(&reg, &task.waker(), Direction::Read).is_pending());
    turn_now(&mut reactor);
    assert_eq!(task.wakes(), 0, "no data, no wake");

    theirs.write_all(b"ping").expect("write");
    turn_now(&mut reactor);
    assert_eq!(task.wakes(), 1, "the edge wakes the parked task once");

    let Poll::Ready(ev) = poll(&reg, &task.waker(), Direction::Read) else {
        panic!("not ready after the edge");
    };
    assert!(!ev.is_closed());
    assert_eq!(drain(&mut ours), 4);
    // Still ready: only the caller knows the buffer is empty, and says so by clearing.
    assert!(poll(&reg, &task.waker(), Direction::Read).is_ready());
    reg.clear_readiness(ev);
    assert!(poll(&reg, &task.waker(), Direction::Read).is_pending());
    turn_now(&mut reactor);
    assert_eq!(task.wakes(), 1, "nothing new arrived: no second wake");
}

/// The design's decision on a dropped I/O future (docs/DESIGN.md, "Wakers"): nothing takes
/// its waker back. The waker it parked stays in the direction's slot until the next event
/// for that direction, which wakes it once — a spurious wake its task absorbs — and forgets
/// it; a later event does not wake it again. A new waiter parks beside it meanwhile.
#[test]
fn a_waker_left_by_a_dropped_future_is_woken_once_by_the_next_event_then_forgotten() {
    let (mut reactor, reg, mut ours, mut theirs) = setup(Interest::READABLE);
    let gone = Arc::new(Count::default());
    // A read future polled once, then dropped: all that is left of it is its parked waker.
    assert!(poll(&reg, &gone.waker(), Direction::Read).is_pending());
    let next = Arc::new(Count::default());
    assert!(poll(&reg, &next.waker(), Direction::Read).is_pending());

    theirs.write_all(b"one").expect("write");
    turn_now(&mut reactor);
    assert_eq!(
        gone.wakes(),
        1,
        "the left-behind waker is woken by the next event"
    );
    assert_eq!(next.wakes(), 1, "and so is the waiter that parked after it");

    let Poll::Ready(ev) = poll(&reg, &next.waker(), Direction::Read) else {
        panic!("not ready after the edge");
    };
    assert_eq!(drain(&mut ours), 3);
    reg.clear_readiness(ev);
    assert!(poll(&reg, &next.waker(), Direction::Read).is_pending());
    theirs.write_all(b"two").expect("write");
    turn_now(&mut reactor);
    assert_eq!(gone.wakes(), 1, "the event forgot it: no second wake");
    assert_eq!(next.wakes(), 2, "the live waiter is woken again");
}

/// The tick: an event that lands between the syscall that saw `WouldBlock` and the clear
/// must not be wiped out by that clear, or its edge is lost and the task sleeps for ever.
#[test]
fn a_clear_holding_an_old_tick_keeps_the_readiness_a_newer_event_brought() {
    let (mut reactor, reg, mut ours, mut theirs) = setup(Interest::READABLE);
    let task = Arc::new(Count::default());
    theirs.write_all(b"one").expect("write");
    turn_now(&mut reactor);
    let Poll::Ready(stale) = poll(&reg, &task.waker(), Direction::Read) else {
        panic!("not ready");
    };
    assert_eq!(drain(&mut ours), 3);
    // The syscall saw the buffer empty; before the task clears, more arrives.
    theirs.write_all(b"two").expect("write");
    turn_now(&mut reactor);
    reg.clear_readiness(stale);
    assert!(
        poll(&reg, &task.waker(), Direction::Read).is_ready(),
        "the clear with the old tick erased a newer edge"
    );
    assert_eq!(drain(&mut ours), 3);
}

/// A shared socket (an `Arc<UdpSocket>`, a listener several tasks accept on) may have
/// several tasks parked on one direction; each must retry its own syscall, so one event
/// wakes them all — and a task that parks twice is woken once.
#[test]
fn one_event_wakes_every_task_parked_on_the_direction_and_each_once() {
    let (mut reactor, reg, _ours, mut theirs) = setup(Interest::READABLE);
    let tasks: Vec<Arc<Count>> = (0..3).map(|_| Arc::default()).collect();
    let wakers: Vec<Waker> = tasks.iter().map(|t| t.waker()).collect();
    for waker in wakers.iter().chain(&wakers) {
        assert!(poll(&reg, waker, Direction::Read).is_pending());
    }
    theirs.write_all(b"x").expect("write");
    turn_now(&mut reactor);
    for (i, task) in tasks.iter().enumerate() {
        assert_woken_once(task, &format!("task {i}"));
    }
}

/// Reads and writes have separate readiness and separate parked tasks: an event for one
/// direction wakes only its own. In particular a writer parked on a full send buffer is
/// woken when room appears even though the socket was readable meanwhile — the case a
/// reactor that skips "already ready" directions must still get right.
#[test]
fn each_direction_wakes_only_its_own_tasks_and_a_blocked_writer_wakes_when_room_appears() {
    let (mut reactor, reg, mut ours, mut theirs) = setup(Interest::READABLE | Interest::WRITABLE);
    let reader = Arc::new(Count::default());
    let writer = Arc::new(Count::default());
    // A fresh socket is writable: the registration's first edge says so.
    turn_now(&mut reactor);
    let Poll::Ready(mut room) = poll(&reg, &writer.waker(), Direction::Write) else {
        panic!("a fresh socket is not writable");
    };
    assert!(poll(&reg, &reader.waker(), Direction::Read).is_pending());

    // Fill our send buffer until the kernel says WouldBlock, then park the writer.
    let chunk = [7u8; 4096];
    let mut sent = 0;
    loop {
        match ours.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                reg.clear_readiness(room);
                match poll(&reg, &writer.waker(), Direction::Write) {
                    Poll::Pending => break,
                    // An edge came in between (the peer's buffer moved): go on writing.
                    Poll::Ready(again) => room = again,
                }
            }
            Err(e) => panic!("write: {e}"),
        }
    }

    // The peer writes to us: the reader wakes, the blocked writer does not.
    theirs.write_all(b"hello").expect("write");
    turn_now(&mut reactor);
    assert_eq!(reader.wakes(), 1, "readable: the reader wakes");
    assert_eq!(writer.wakes(), 0, "still no room: the writer must not wake");

    // The peer reads everything we sent: room appears, and the writer wakes.
    let mut got = 0;
    while got < sent {
        got += drain(&mut theirs);
        turn_now(&mut reactor);
    }
    assert_eq!(got, sent);
    assert!(
        writer.wakes() >= 1,
        "room appeared but the parked writer was never woken"
    );
    assert!(poll(&reg, &writer.waker(), Direction::Write).is_ready());
}

/// A peer's close is readiness that a `WouldBlock` cannot clear: it is final, and every
/// later read must see it at once.
#[test]
fn a_peer_close_is_readiness_that_no_clear_takes_away() {
    let (mut reactor, reg, mut ours, theirs) = setup(Interest::READABLE);
    let task = Arc::new(Count::default());
    assert!(poll(&reg, &task.waker(), Direction::Read).is_pending());
    drop(theirs);
    turn_now(&mut reactor);
    assert_eq!(task.wakes(), 1, "the close wakes the reader");
    let Poll::Ready(ev) = poll(&reg, &task.waker(), Direction::Read) else {
        panic!("not ready after the peer closed");
    };
    assert!(ev.is_closed());
    assert_eq!(drain(&mut ours), 0, "end of stream");
    reg.clear_readiness(ev);
    let Poll::Ready(again) = poll(&reg, &task.waker(), Direction::Read) else {
        panic!("the clear took the close away");
    };
    assert!(again.is_closed());
}

/// A token carries a generation as well as the slab key, so an event still queued for a
/// registration that was dropped — whose key now belongs to a new one — is not delivered
/// to the newcomer. A spurious wake is allowed by the contract; a wrong one is not.
#[test]
fn an_event_for_a_dropped_registration_never_wakes_the_one_that_reused_its_key() {
    let mut reactor = Reactor::new().expect("reactor");
    let (old, mut old_peer) = socket_pair();
    let first = register(&reactor, &old, Interest::READABLE);
    // Dropped without deregistering `old` from epoll: its events keep coming, carrying the
    // old token.
    drop(first);
    let (new, mut new_peer) = socket_pair();
    let second = register(&reactor, &new, Interest::READABLE);
    let task = Arc::new(Count::default());
    let waker = task.waker();
    assert!(poll(&second, &waker, Direction::Read).is_pending());

    old_peer.write_all(b"for the old one").expect("write");
    turn_now(&mut reactor);
    assert_eq!(
        task.wakes(),
        0,
        "woken by an event for a dropped registration"
    );
    assert!(poll(&second, &waker, Direction::Read).is_pending());

    new_peer.write_all(b"for the new one").expect("write");
    turn_now(&mut reactor);
    assert_woken_once(&task, "the new registration's own event");
    drop((old, new));
}

/// Dropping the reactor wakes every parked task, and from then on the registration
/// answers with an error instead of parking anyone for ever.
#[test]
fn dropping_the_reactor_wakes_every_parked_task_and_fails_later_polls() {
    let (reactor, reg, _ours, _theirs) = setup(Interest::READABLE | Interest::WRITABLE);
    let reader = Arc::new(Count::default());
    assert!(poll(&reg, &reader.waker(), Direction::Read).is_pending());
    drop(reactor);
    assert_eq!(reader.wakes(), 1, "the reader was not woken at shutdown");
    let later = reg.poll_ready(&mut Context::from_waker(&reader.waker()), Direction::Read);
    assert!(
        matches!(later, Poll::Ready(Err(_))),
        "a poll after shutdown must fail, not park"
    );
}

/// `unpark` from another thread ends a turn that would otherwise wait for ever.
#[test]
fn an_unpark_from_another_thread_ends_a_turn_with_no_deadline() {
    let mut reactor = Reactor::new().expect("reactor");
    let handle = reactor.handle();
    let other = std::thread::spawn(move || handle.unpark());
    reactor.turn(None).expect("turn");
    other.join().expect("the unparking thread");
}
