//! `tempo::signal`: what a listener is promised, raised in this very process.
//!
//! Signals are process-wide, and the test harness runs tests on parallel threads, so:
//!
//! - every test takes [`serial`]'s lock, so no test's signal, runtime or descriptors
//!   cross another's (the descriptor count in particular needs the process to itself);
//! - each test uses its own signal where it can, so that even a test that failed and left
//!   a pending delivery behind cannot satisfy the next;
//! - a signal is raised only once a listener for it exists, so tempo's handler is
//!   installed: raising `SIGINT` or `SIGTERM` before that would kill the test process.
//!
//! Signals are raised with `raise(3)`, which runs the handler on the raising thread before
//! it returns: when `raise` returns the signal *has* arrived, and no test orders events by
//! sleeping. The deadlines below (`within`) only turn a lost wake-up into a failure instead
//! of a hang.

#![cfg(unix)]

mod common;

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use tempo::signal::{Signal, SignalKind, ctrl_c, signal};
use tempo::time::sleep;

use common::with_hang_guard;

/// How long any one wait for a signal may take before the test calls it lost.
const LOST: Duration = Duration::from_secs(10);

/// Serialises the tests of this file (see the module docs).
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    // A test that failed holding the lock poisons it; the next may still run.
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Send `kind` to this process, from this thread; the handler has run when this returns.
fn raise(kind: SignalKind) {
    // SAFETY: raise(3) has no memory-safety preconditions. Every caller has created a
    // listener for `kind` first, so tempo's handler is installed and the signal's default
    // action (which for most of these ends the process) does not run.
    let rc = unsafe { libc::raise(kind.as_raw()) };
    assert_eq!(rc, 0, "raise({kind})");
}

/// Poll `future` exactly once, in the current task.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// `future`'s output, or a panic naming `what` if it takes longer than [`LOST`].
///
/// The timer is polled first, and wins once due: so a `future` that lost its wake-up fails
/// here, rather than being rescued by the poll that the timer's own wake-up would give it.
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    tempo::select! {
        biased;
        () = sleep(LOST) => panic!("{what}: nothing after {LOST:?}"),
        output = future => output,
    }
}

/// Wait for the next delivery on `signals`, failing the test if none comes.
async fn expect_delivery(signals: &mut Signal) {
    let kind = signals.kind();
    let next = within(&format!("{kind} raised"), signals.recv()).await;
    assert_eq!(next, Some(()), "the {kind} stream ended");
}

/// `signals` has nothing to deliver now: one poll of `recv` (which drains the pipe and
/// dispatches, so a delivery that was on its way would be found) is `Pending`.
async fn expect_nothing(signals: &mut Signal) {
    let mut recv = pin!(signals.recv());
    assert!(
        poll_once(&mut recv).await.is_pending(),
        "a delivery nobody raised"
    );
}

// ---------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------

/// The test: `ctrl_c()` resolves when `SIGINT` is raised in the process. Its
/// listener is created on the first poll, so we poll once (`Pending`), then raise.
#[test]
fn ctrl_c_resolves_when_sigint_is_raised() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut ctrl_c = pin!(ctrl_c());
            assert!(poll_once(&mut ctrl_c).await.is_pending(), "no SIGINT yet");
            raise(SignalKind::Interrupt);
            within("SIGINT raised", ctrl_c)
                .await
                .expect("ctrl_c failed");
        })
    });
}

/// Each named signal a server cares about arrives on its own stream, and only there.
#[test]
fn sigterm_sighup_and_sigusr1_streams_deliver() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let kinds = [SignalKind::Terminate, SignalKind::Hangup, SignalKind::User1];
            let mut streams = Vec::new();
            for kind in kinds {
                let stream = signal(kind).expect("listen");
                assert_eq!(stream.kind(), kind);
                streams.push(stream);
            }
            for (i, kind) in kinds.into_iter().enumerate() {
                raise(kind);
                expect_delivery(&mut streams[i]).await;
                for other in streams.iter_mut().filter(|s| s.kind() != kind) {
                    expect_nothing(other).await;
                }
            }
        })
    });
}

/// `Signal` is a `futures_core::Stream` of `()`, and its `poll_next` delivers like `recv`.
#[test]
fn signal_is_a_stream() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut quits = signal(SignalKind::Quit).expect("listen");
            raise(SignalKind::Quit);
            let next = poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut quits), cx));
            assert_eq!(within("SIGQUIT raised", next).await, Some(()));
        })
    });
}

// ---------------------------------------------------------------------------------------
// Fan-out
// ---------------------------------------------------------------------------------------

/// Two listeners of one signal in one runtime: one `raise`, and each gets exactly one
/// delivery — both are woken, though only one of them drains the pipe.
#[test]
fn two_listeners_in_one_runtime_both_see_one_signal() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut first = signal(SignalKind::User2).expect("listen");
            let mut second = signal(SignalKind::User2).expect("listen");
            let waiting = tempo::spawn(async move {
                expect_delivery(&mut second).await;
                second
            });
            // Give the task a turn to park in `recv`. Whether or not it has, it must see
            // the signal: parked, it is woken; not yet polled, its first poll finds it.
            tempo::task::yield_now().await;
            raise(SignalKind::User2);
            expect_delivery(&mut first).await;
            let mut second = waiting.await.expect("second listener's task");
            expect_nothing(&mut first).await;
            expect_nothing(&mut second).await;
        })
    });
}

/// The case the fan-out exists for: a listener parked in `recv` whose bytes another
/// listener drained first. Its epoll then reports nothing (the pipe is empty again by the
/// time `epoll_wait` looks), so only the dispatch's wake of the waiter list can reach it.
/// Here the draining is done by creating a third listener, which dispatches at once.
#[test]
fn a_parked_listener_is_woken_when_another_drains_the_pipe() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut parked = signal(SignalKind::User1).expect("listen");
            let polled = Arc::new(AtomicBool::new(false));
            let task = tempo::spawn({
                let polled = polled.clone();
                async move {
                    // Set within the same poll that parks `recv` below: once the main
                    // future sees it, the task is parked.
                    polled.store(true, Ordering::SeqCst);
                    parked.recv().await
                }
            });
            common::yield_until("the task's first poll", || polled.load(Ordering::SeqCst)).await;
            raise(SignalKind::User1);
            let _drainer = signal(SignalKind::User1).expect("listen");
            let delivered = within("SIGUSR1 drained by another listener", task).await;
            assert_eq!(delivered.expect("the task"), Some(()));
        })
    });
}

/// Listeners in two runtimes, on two threads, each parked in `recv` in its own epoll:
/// one signal wakes both.
#[test]
fn listeners_in_two_runtimes_both_see_one_signal() {
    let _serial = serial();
    with_hang_guard(|| {
        let (installed_tx, installed_rx) = mpsc::channel();
        let runtimes: Vec<_> = (0..2)
            .map(|_| {
                let installed = installed_tx.clone();
                thread::spawn(move || {
                    tempo::run(async move {
                        let mut alarms = signal(SignalKind::Alarm).expect("listen");
                        installed.send(()).expect("the test is waiting");
                        expect_delivery(&mut alarms).await;
                        expect_nothing(&mut alarms).await;
                    })
                })
            })
            .collect();
        for _ in 0..2 {
            installed_rx
                .recv()
                .expect("a runtime thread died before listening");
        }
        raise(SignalKind::Alarm);
        for runtime in runtimes {
            runtime.join().expect("a listener missed the signal");
        }
    });
}

// ---------------------------------------------------------------------------------------
// Not lost, coalesced, not early
// ---------------------------------------------------------------------------------------

/// A signal raised while nobody polls — before the first `recv`, and again between two —
/// is delivered by the next `recv`.
#[test]
fn a_signal_raised_before_recv_is_polled_is_not_lost() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut hangups = signal(SignalKind::Hangup).expect("listen");
            raise(SignalKind::Hangup);
            expect_delivery(&mut hangups).await;
            raise(SignalKind::Hangup);
            expect_delivery(&mut hangups).await;
        })
    });
}

/// Three signals between two `recv`s are one delivery, as documented: the listener learns
/// that the signal came, not how often.
#[test]
fn several_signals_between_two_recvs_coalesce_into_one_delivery() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut user1 = signal(SignalKind::User1).expect("listen");
            for _ in 0..3 {
                raise(SignalKind::User1);
            }
            expect_delivery(&mut user1).await;
            expect_nothing(&mut user1).await;
        })
    });
}

/// A listener hears the signals raised after it was created, not those before — even when
/// the earlier one has not yet been handed to anyone.
#[test]
fn a_listener_does_not_see_signals_raised_before_it_existed() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut early = signal(SignalKind::WindowChange).expect("listen");
            raise(SignalKind::WindowChange);
            let mut late = signal(SignalKind::WindowChange).expect("listen");
            expect_delivery(&mut early).await;
            expect_nothing(&mut late).await;
        })
    });
}

/// A `recv` future that parked its waker and was then dropped — the loser of a `select!` —
/// takes no delivery with it.
#[test]
fn recv_is_cancellation_safe() {
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            let mut terms = signal(SignalKind::Terminate).expect("listen");
            {
                let mut recv = pin!(terms.recv());
                assert!(poll_once(&mut recv).await.is_pending());
            }
            raise(SignalKind::Terminate);
            // And the loser of a `select!` that was polled after the signal came, found
            // it, but lost the tie to a branch polled before it.
            tempo::select! {
                biased;
                () = std::future::ready(()) => {}
                Some(()) = terms.recv() => panic!("a biased select polls the ready branch first"),
            }
            expect_delivery(&mut terms).await;
            expect_nothing(&mut terms).await;
        })
    });
}

// ---------------------------------------------------------------------------------------
// Lifetime and errors
// ---------------------------------------------------------------------------------------

/// Each listener holds one descriptor (its duplicate of the self-pipe's read end), and
/// dropping it closes that descriptor: many create/drop cycles leak none. The handler stays
/// installed after the last listener is gone, so a signal then is harmless.
#[cfg(target_os = "linux")]
#[test]
fn dropping_listeners_closes_their_descriptors() {
    fn open_fds() -> usize {
        // The directory handle itself is one of the entries, in every count alike.
        std::fs::read_dir("/proc/self/fd")
            .expect("/proc/self/fd")
            .count()
    }
    let _serial = serial();
    with_hang_guard(|| {
        tempo::run(async {
            // The first listener in the process creates the self-pipe, which stays.
            drop(signal(SignalKind::User2).expect("listen"));
            let before = open_fds();

            let alive: Vec<Signal> = (0..100)
                .map(|_| signal(SignalKind::User2).expect("listen"))
                .collect();
            assert_eq!(open_fds(), before + 100, "one descriptor per listener");
            drop(alive);
            assert_eq!(open_fds(), before, "dropping closes them");

            for _ in 0..1_000 {
                drop(signal(SignalKind::User2).expect("listen"));
            }
            assert_eq!(open_fds(), before, "no leak over 1 000 cycles");

            // Nobody listens now: the signal is caught and dropped, the process lives on,
            // and a new listener does not receive it.
            raise(SignalKind::User2);
            let mut fresh = signal(SignalKind::User2).expect("listen");
            expect_nothing(&mut fresh).await;
            raise(SignalKind::User2);
            expect_delivery(&mut fresh).await;
        })
    });
}

/// Outside a runtime there is no reactor to register with: `signal` fails, and fails
/// before installing a handler (the signal keeps its default action).
#[test]
fn signal_outside_a_runtime_is_an_error_and_installs_nothing() {
    let _serial = serial();
    // SIGTTIN: not used by any other test here, and its default is to stop the process,
    // so a handler installed by mistake would be visible below.
    let kind = SignalKind::Raw(libc::SIGTTIN);
    let err = signal(kind).expect_err("no runtime");
    assert!(err.to_string().contains("no reactor"), "{err}");

    // SAFETY: all zeroes is a valid `sigaction` for the kernel to overwrite.
    let mut current: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only queries; `current` is a valid, exclusive out-pointer.
    let rc = unsafe { libc::sigaction(libc::SIGTTIN, std::ptr::null(), &mut current) };
    assert_eq!(rc, 0);
    assert_eq!(
        current.sa_sigaction,
        libc::SIG_DFL,
        "a handler was installed"
    );
}

/// Signals that cannot be caught (`SIGKILL`, `SIGSTOP`), fault signals, and numbers that
/// are no signal are refused with `InvalidInput`.
#[test]
fn uncatchable_and_fault_signals_are_refused() {
    let _serial = serial();
    tempo::run(async {
        for signum in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
            0,
            -1,
            1_000,
        ] {
            let err = signal(SignalKind::Raw(signum)).expect_err("refused");
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::InvalidInput,
                "{signum}: {err}"
            );
        }
    });
}

/// A stream whose runtime has shut down ends: `recv` gives `None` instead of waiting for a
/// reactor that will never turn again.
#[test]
fn a_signal_stream_ends_when_its_runtime_shuts_down() {
    let _serial = serial();
    with_hang_guard(|| {
        let mut orphan = tempo::run(async { signal(SignalKind::Child).expect("listen") });
        let next = tempo::run(async move { orphan.recv().await });
        assert_eq!(next, None);
    });
}

/// Known numbers map to their names and back; others stay `Raw`.
#[test]
fn signal_kinds_round_trip_through_their_numbers() {
    for kind in [
        SignalKind::Interrupt,
        SignalKind::Terminate,
        SignalKind::Hangup,
        SignalKind::Quit,
        SignalKind::User1,
        SignalKind::User2,
        SignalKind::Alarm,
        SignalKind::Child,
        SignalKind::Pipe,
        SignalKind::WindowChange,
    ] {
        assert_eq!(SignalKind::from_raw(kind.as_raw()), kind);
    }
    assert_eq!(SignalKind::from_raw(libc::SIGINT), SignalKind::Interrupt);
    assert_eq!(SignalKind::Terminate.to_string(), "SIGTERM");
    assert_eq!(
        SignalKind::from_raw(libc::SIGTTIN),
        SignalKind::Raw(libc::SIGTTIN)
    );
}

/// A `Signal` may be created in one task and awaited in another, on another thread.
#[test]
fn signal_is_send_sync_and_unpin() {
    fn assert_send_sync_unpin<T: Send + Sync + Unpin>() {}
    assert_send_sync_unpin::<Signal>();
}
