//! `tempo::sync::Notify` and `OnceCell` as a specification.
//!
//! As in `sync_signals.rs`: hand-polled [`Probe`]s pin down exactly who is woken and when;
//! tasks on real runtimes are ordered through the runtime and channels, never by sleeping;
//! the tests that race threads run many rounds.

mod common;
mod sync_support;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use common::{with_hang_guard, yield_until};
use sync_support::{Probe, assert_send, assert_send_sync, now};
use tempo::Builder;
use tempo::sync::{Notify, OnceCell, SetError};

/// How many times each race-prone test runs.
const ROUNDS: usize = 100;

#[test]
fn notify_and_once_cell_types_are_send_and_sync() {
    assert_send_sync::<Notify>();
    assert_send_sync::<tempo::sync::Notified<'static>>();
    assert_send_sync::<OnceCell<String>>();
    assert_send_sync::<SetError<String>>();
    // `get_or_init` is an `async fn`; with a Send initialiser its future is Send.
    let cell = OnceCell::<u32>::new();
    assert_send(&cell.get_or_init(|| async { 1 }));
    assert_send(&cell.get_or_try_init(|| async { Ok::<_, ()>(1) }));
}

// ---------------------------------------------------------------------------------------
// Notify
// ---------------------------------------------------------------------------------------

#[test]
fn notify_one_with_nobody_waiting_stores_exactly_one_permit() {
    let notify = Notify::new();
    notify.notify_one();
    notify.notify_one();
    notify.notify_one();
    now(notify.notified()); // the permit
    let mut second = Probe::new(notify.notified());
    second.pending(); // permits do not add up
    notify.notify_one();
    assert_eq!(second.wakes(), 1);
    second.ready();
    Probe::new(notify.notified()).pending(); // consumed by the waiter: no permit left
}

#[test]
fn notify_one_wakes_waiters_first_come_first_served_and_stores_nothing_then() {
    let notify = Notify::new();
    let mut waiters: Vec<_> = (0..3).map(|_| Probe::new(notify.notified())).collect();
    waiters.iter_mut().for_each(Probe::pending);
    notify.notify_one();
    assert_eq!(
        waiters.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 0, 0]
    );
    notify.notify_one();
    assert_eq!(
        waiters.iter().map(Probe::wakes).collect::<Vec<_>>(),
        [1, 1, 0]
    );
    waiters[1].ready();
    waiters[0].ready();
    waiters[2].pending();
    // Handed to a waiter, the notification was not also stored as a permit.
    Probe::new(notify.notified()).pending();
    assert_eq!(
        format!("{notify:?}"),
        "Notify { permit: false, waiters: 1 }"
    );
}

#[test]
fn notify_waiters_releases_every_existing_future_even_unpolled_and_stores_no_permit() {
    let notify = Notify::new();
    let mut polled = Probe::new(notify.notified());
    polled.pending();
    let mut created = Probe::new(notify.notified()); // made before the call, never polled
    notify.notify_waiters();
    assert_eq!(polled.wakes(), 1);
    polled.ready();
    created.ready(); // created before notify_waiters: released by it
    // No permit: a future made afterwards waits.
    let mut later = Probe::new(notify.notified());
    later.pending();
    assert_eq!(later.wakes(), 0);
}

#[test]
fn a_dropped_waiter_passes_its_notify_one_to_the_next_waiter() {
    let notify = Notify::new();
    let mut a = Probe::new(notify.notified());
    let mut b = Probe::new(notify.notified());
    a.pending();
    b.pending();
    notify.notify_one(); // to a
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    drop(a); // cancelled before it returned
    assert_eq!(b.wakes(), 1, "the notification went on to b");
    b.ready();
    Probe::new(notify.notified()).pending(); // passed on, not duplicated into a permit
}

#[test]
fn a_dropped_waiter_with_nobody_behind_it_gives_its_notify_one_back_as_the_permit() {
    let notify = Notify::new();
    let mut a = Probe::new(notify.notified());
    a.pending();
    notify.notify_one();
    drop(a);
    now(notify.notified()); // the permit came back
    Probe::new(notify.notified()).pending(); // exactly one
}

#[test]
fn a_dropped_waiter_released_by_notify_waiters_passes_nothing_on() {
    let notify = Notify::new();
    let mut a = Probe::new(notify.notified());
    a.pending();
    notify.notify_waiters();
    let mut b = Probe::new(notify.notified());
    b.pending();
    drop(a);
    assert_eq!(b.wakes(), 0);
    b.pending();
    // A waiter dropped before any notification leaves nothing behind either.
    drop(b);
    Probe::new(notify.notified()).pending();
}

#[test]
fn enable_queues_without_waiting_so_notify_one_is_addressed_to_it() {
    let notify = Notify::new();
    let mut enabled = std::pin::pin!(notify.notified());
    assert!(!enabled.as_mut().enable());
    let mut later = Probe::new(notify.notified());
    later.pending();
    notify.notify_one(); // to the enabled future, first in line
    assert_eq!(later.wakes(), 0);
    assert!(enabled.as_mut().enable());
    now(enabled);
    // An enabled future that took the permit and is dropped unawaited gives it back.
    let notify = Notify::new();
    notify.notify_one();
    let mut taken = Box::pin(notify.notified());
    assert!(taken.as_mut().enable());
    drop(taken);
    now(notify.notified());
}

#[test]
fn a_static_notify_works_between_tasks_on_two_workers() {
    static PING: Notify = Notify::const_new();
    static PONG: Notify = Notify::const_new();
    with_hang_guard(|| {
        let runtime = Builder::new().workers(2).build().expect("runtime");
        runtime.block_on(async {
            let ponger = tempo::spawn(async {
                for _ in 0..1000 {
                    PING.notified().await;
                    PONG.notify_one();
                }
            });
            for _ in 0..1000 {
                PING.notify_one();
                PONG.notified().await;
            }
            ponger.await.expect("ponger");
        });
    });
}

#[test]
fn notify_one_from_plain_threads_is_never_lost_or_doubled() {
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            let notify = Arc::new(Notify::new());
            let woken = Arc::new(AtomicUsize::new(0));
            let runtime_thread = thread::spawn({
                let (notify, woken) = (notify.clone(), woken.clone());
                move || {
                    tempo::run(async move {
                        let tasks: Vec<_> = (0..4)
                            .map(|_| {
                                let (notify, woken) = (notify.clone(), woken.clone());
                                tempo::spawn(async move {
                                    notify.notified().await;
                                    woken.fetch_add(1, SeqCst);
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.expect("waiter");
                        }
                    })
                }
            });
            // Four notifications from other threads, racing the waiters' arrival, each sent
            // once the previous one was used (permits do not add up, so two sent together
            // could rightly collapse into one): each wakes a waiter or is stored for one.
            for expected in 1..=4 {
                let notify = notify.clone();
                thread::spawn(move || notify.notify_one())
                    .join()
                    .expect("notifier");
                while woken.load(SeqCst) < expected {
                    thread::yield_now();
                }
            }
            runtime_thread.join().expect("runtime thread");
            assert_eq!(woken.load(SeqCst), 4);
        }
    });
}

#[test]
fn cancelling_notified_waiters_while_another_thread_notifies_loses_no_notification() {
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            let notify = Arc::new(Notify::new());
            let notifier = thread::spawn({
                let notify = notify.clone();
                move || notify.notify_one()
            });
            // Waiters come and go while the notification lands.
            let mut released = 0;
            let mut survivors = Vec::new();
            for i in 0..20 {
                let mut probe = Probe::new(notify.notified());
                if probe.poll().is_ready() {
                    released += 1; // took the permit
                } else if i % 2 == 0 {
                    drop(probe); // cancelled, perhaps just after being notified
                } else {
                    survivors.push(probe);
                }
            }
            notifier.join().expect("notifier");
            // Exactly one notification exists somewhere: returned, in a survivor, or as the
            // permit.
            for mut probe in survivors {
                if probe.poll().is_ready() {
                    released += 1;
                }
            }
            let permit = Probe::new(notify.notified()).poll().is_ready();
            assert_eq!(released + usize::from(permit), 1);
        }
    });
}

// ---------------------------------------------------------------------------------------
// OnceCell
// ---------------------------------------------------------------------------------------

#[test]
fn set_get_and_the_two_set_errors() {
    let cell = OnceCell::new();
    assert!(!cell.initialized());
    assert_eq!(cell.get(), None);
    // While an initialiser runs, `set` says so and gives the value back.
    let mut init = Probe::new(cell.get_or_init(std::future::pending::<u32>));
    init.pending();
    assert_eq!(cell.set(1), Err(SetError::InitializingError(1)));
    drop(init); // cancelled: nothing stored
    assert!(!cell.initialized());
    assert_eq!(cell.set(2), Ok(()));
    let error = cell.set(3).unwrap_err();
    assert!(error.is_already_init_err());
    assert_eq!(error.into_inner(), 3);
    assert_eq!(cell.get(), Some(&2));
    assert_eq!(now(cell.get_or_init(|| async { 9 })), &2);
}

#[test]
fn one_initialiser_runs_at_a_time_and_the_rest_get_its_value() {
    let cell = OnceCell::new();
    let runs = AtomicUsize::new(0);
    let init = || async {
        runs.fetch_add(1, SeqCst);
        tempo::task::yield_now().await;
        "value"
    };
    let mut first = Probe::new(cell.get_or_init(init));
    let mut second = Probe::new(cell.get_or_init(init));
    let mut third = Probe::new(cell.get_or_init(init));
    first.pending(); // running its initialiser (yielded once)
    second.pending(); // queued for the permit
    third.pending();
    assert_eq!(runs.load(SeqCst), 1);
    assert_eq!(*first.ready(), "value");
    assert_eq!(
        (second.wakes(), third.wakes()),
        (1, 1),
        "released by the set"
    );
    assert_eq!(*second.ready(), "value");
    assert_eq!(*third.ready(), "value");
    assert_eq!(runs.load(SeqCst), 1, "only the first initialiser ran");
}

#[test]
fn a_cancelled_initialiser_lets_the_next_caller_try() {
    let cell = OnceCell::new();
    let mut first = Probe::new(cell.get_or_init(std::future::pending::<u32>));
    let mut second = Probe::new(cell.get_or_init(|| async { 2 }));
    first.pending();
    second.pending();
    drop(first);
    assert_eq!(second.wakes(), 1, "handed the permit");
    assert_eq!(second.ready(), &2);
    // A waiter that is cancelled after being handed the permit passes it on too.
    let cell = OnceCell::new();
    let mut a = Probe::new(cell.get_or_init(std::future::pending::<u32>));
    let mut b = Probe::new(cell.get_or_init(|| async { 20 }));
    let mut c = Probe::new(cell.get_or_init(|| async { 30 }));
    a.pending();
    b.pending();
    c.pending();
    drop(a); // permit to b
    drop(b); // b never ran: permit to c
    assert_eq!(c.ready(), &30);
}

#[test]
fn a_panicking_initialiser_lets_the_next_caller_try() {
    let cell = OnceCell::<u32>::new();
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| {
        now(cell.get_or_init(|| async { panic!("init failed") }))
    }));
    assert!(panicked.is_err());
    assert!(!cell.initialized());
    assert_eq!(now(cell.get_or_init(|| async { 5 })), &5);
}

#[test]
fn get_or_try_init_stores_nothing_on_error() {
    let cell = OnceCell::new();
    assert_eq!(now(cell.get_or_try_init(|| async { Err("no") })), Err("no"));
    assert!(!cell.initialized());
    assert_eq!(
        now(cell.get_or_try_init(|| async { Ok::<_, &str>(4) })),
        Ok(&4)
    );
    assert_eq!(
        now(cell.get_or_try_init(|| async { Err::<u32, _>("late") })),
        Ok(&4)
    );
}

#[test]
fn take_and_into_inner_and_friends() {
    let mut cell = OnceCell::from(1);
    assert_eq!(cell.take(), Some(1));
    assert!(!cell.initialized());
    assert_eq!(now(cell.get_or_init(|| async { 2 })), &2); // usable again after take
    *cell.get_mut().unwrap() += 1;
    assert_eq!(cell.clone(), OnceCell::new_with(Some(3)));
    assert_eq!(format!("{cell:?}"), "OnceCell { value: Some(3) }");
    assert_eq!(cell.into_inner(), Some(3));
    assert_eq!(OnceCell::<u8>::default().into_inner(), None);
}

#[test]
fn a_static_cell_is_initialised_once_by_tasks_on_two_workers_and_plain_threads() {
    static CELL: OnceCell<usize> = OnceCell::const_new();
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    with_hang_guard(|| {
        let runtime = Builder::new().workers(2).build().expect("runtime");
        let threads: Vec<_> = (0..3)
            .map(|_| {
                thread::spawn(|| {
                    *tempo::run(CELL.get_or_init(|| async {
                        RUNS.fetch_add(1, SeqCst);
                        tempo::task::yield_now().await;
                        42
                    }))
                })
            })
            .collect();
        let values = runtime.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    tempo::spawn(async {
                        *CELL
                            .get_or_init(|| async {
                                RUNS.fetch_add(1, SeqCst);
                                tempo::task::yield_now().await;
                                42
                            })
                            .await
                    })
                })
                .collect();
            let mut values = Vec::new();
            for task in tasks {
                values.push(task.await.expect("task"));
            }
            values
        });
        assert!(values.iter().all(|&v| v == 42));
        for thread in threads {
            assert_eq!(thread.join().expect("thread"), 42);
        }
        assert_eq!(RUNS.load(SeqCst), 1);
    });
}

#[test]
fn aborting_the_initialising_task_hands_the_work_to_a_waiting_one() {
    with_hang_guard(|| {
        tempo::run(async {
            let cell = Arc::new(OnceCell::new());
            let started = Arc::new(AtomicUsize::new(0));
            let stuck = tempo::spawn({
                let (cell, started) = (cell.clone(), started.clone());
                async move {
                    *cell
                        .get_or_init(|| async move {
                            started.fetch_add(1, SeqCst);
                            std::future::pending::<u32>().await
                        })
                        .await
                }
            });
            yield_until("the first initialiser to start", || {
                started.load(SeqCst) == 1
            })
            .await;
            let waiter = tempo::spawn({
                let cell = cell.clone();
                async move { *cell.get_or_init(|| async { 7 }).await }
            });
            tempo::task::yield_now().await;
            stuck.abort();
            assert_eq!(waiter.await.expect("waiter"), 7);
        });
    });
}
