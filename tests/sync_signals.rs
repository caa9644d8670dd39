//! `tempo::sync`'s signals as a specification: `Event`, `Condition`, `Barrier`.
//!
//! As in `sync_locks.rs`: hand-polled [`Probe`]s pin down exactly who is woken and when;
//! tasks on real runtimes are ordered by letting the runtime turn, never by sleeping; the
//! tests that race threads, or race cancellation against a notification, run 100 times.

mod common;
mod sync_support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use common::{with_hang_guard, yield_until};
use sync_support::{Probe, assert_send, assert_send_sync, now};
use tempo::sync::{Barrier, BarrierWaitResult, Condition, Event, Mutex, MutexGuard, Semaphore};
use tempo::task::yield_now;
use tempo::time::timeout;

/// How many times each race-prone test runs.
const ROUNDS: usize = 100;

#[test]
fn signal_types_are_send_and_sync() {
    assert_send_sync::<Event>();
    assert_send_sync::<tempo::sync::EventWait<'static>>();
    assert_send_sync::<Condition>();
    assert_send_sync::<tempo::sync::ConditionWait<'static, u64>>();
    assert_send_sync::<Barrier>();
    assert_send_sync::<tempo::sync::BarrierWait<'static>>();
    assert_send_sync::<BarrierWaitResult>();
    // `wait_for` is an `async fn`; its future is Send too, so it can run in `spawn`.
    fn wait_for_is_send(condition: &Condition, guard: MutexGuard<'_, u64>) {
        assert_send(&condition.wait_for(guard, |v| *v > 0));
    }
    let mutex = Mutex::new(1);
    wait_for_is_send(&Condition::new(), mutex.try_lock().unwrap());
}

// ---------------------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------------------

#[test]
fn an_event_is_a_flag_that_wait_waits_for() {
    let event = Event::new();
    assert!(!event.is_set());
    let mut waiter = Probe::new(event.wait());
    waiter.pending();
    waiter.pending(); // polled again before the set: still waiting, not woken twice
    assert_eq!(waiter.wakes(), 0);
    event.set();
    assert!(event.is_set());
    assert_eq!(waiter.wakes(), 1);
    waiter.ready();
    now(event.wait()); // set: returns at once
    event.set(); // setting again changes nothing
    event.clear();
    assert!(!event.is_set());
    Probe::new(event.wait()).pending();
    assert_eq!(format!("{event:?}"), "Event { set: false, waiters: 0 }");
}

#[test]
fn set_then_clear_still_releases_everyone_who_was_waiting() {
    const N: usize = 5;
    with_hang_guard(|| {
        tempo::run(async {
            let event = Arc::new(Event::new());
            let queued = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..N)
                .map(|_| {
                    let (event, queued) = (event.clone(), queued.clone());
                    tempo::spawn(async move {
                        queued.fetch_add(1, SeqCst);
                        event.wait().await;
                    })
                })
                .collect();
            yield_until("every task to wait", || queued.load(SeqCst) == N).await;
            // A pulse: none of the waiters runs between these two lines.
            event.set();
            event.clear();
            // A task that starts waiting after the clear is not released by that pulse.
            let mut late = Probe::new(event.wait());
            late.pending();
            for task in tasks {
                task.await.expect("a waiter from before the pulse returned");
            }
            assert_eq!(late.wakes(), 0);
            event.set();
            assert_eq!(late.wakes(), 1);
            late.ready();
        });
    });
}

#[test]
fn a_dropped_event_waiter_leaves_the_others_alone() {
    let event = Event::new();
    let mut a = Probe::new(event.wait());
    let mut b = Probe::new(event.wait());
    let mut c = Probe::new(event.wait());
    a.pending();
    b.pending();
    c.pending();
    drop(b); // before the set
    event.set();
    drop(a); // after the set, before it ran
    assert_eq!(c.wakes(), 1);
    c.ready();
    assert_eq!(format!("{event:?}"), "Event { set: true, waiters: 0 }");
}

#[test]
fn an_event_set_on_one_thread_releases_runtimes_on_others_100_times() {
    const THREADS: usize = 3;
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            let event = Arc::new(Event::new());
            let queued = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (event, queued) = (event.clone(), queued.clone());
                    thread::spawn(move || {
                        tempo::run(async move {
                            let tasks: Vec<_> = (0..2)
                                .map(|_| {
                                    let (event, queued) = (event.clone(), queued.clone());
                                    tempo::spawn(async move {
                                        queued.fetch_add(1, SeqCst);
                                        event.wait().await;
                                    })
                                })
                                .collect();
                            for task in tasks {
                                task.await.expect("waiter");
                            }
                        })
                    })
                })
                .collect();
            // Set while some are queued and some may still be on their way; clear at once.
            while queued.load(SeqCst) < THREADS {
                thread::yield_now();
            }
            event.set();
            event.clear();
            // Waiters that had not queued by the set need a second one.
            while queued.load(SeqCst) < 2 * THREADS {
                thread::yield_now();
            }
            event.set();
            for handle in handles {
                handle.join().expect("thread");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// Condition
// ---------------------------------------------------------------------------------------

#[test]
fn wait_releases_the_mutex_and_returns_with_it_locked_again() {
    let mutex = Mutex::new(0);
    let condition = Condition::new();
    let mut waiter = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    assert!(mutex.is_locked(), "nothing happens before the first poll");
    waiter.pending();
    *mutex.try_lock().expect("released while waiting") = 1;
    // Notified while the notifier holds the mutex: woken, but it must wait for the lock.
    let mut held = mutex.try_lock().unwrap();
    condition.notify_one();
    assert_eq!(waiter.wakes(), 1);
    waiter.pending();
    *held = 2;
    drop(held);
    assert_eq!(waiter.wakes(), 2, "handed the mutex");
    let guard = waiter.ready();
    assert_eq!(*guard, 2);
    assert!(mutex.try_lock().is_err(), "wait returns holding the mutex");
}

#[test]
fn notify_one_wakes_the_first_waiter_and_notify_n_the_next_n() {
    let mutex = Arc::new(Mutex::new(()));
    let condition = Condition::new();
    let mut waiters: Vec<_> = (0..4)
        .map(|_| {
            let mut probe = Probe::new(condition.wait(now(mutex.lock())));
            probe.pending();
            probe
        })
        .collect();
    let wakes = |waiters: &[Probe<_>]| waiters.iter().map(Probe::wakes).collect::<Vec<_>>();
    condition.notify_one();
    assert_eq!(wakes(&waiters), [1, 0, 0, 0]);
    condition.notify(2);
    assert_eq!(wakes(&waiters), [1, 1, 1, 0]);
    condition.notify(5); // more than are waiting: the rest is dropped, not saved up
    assert_eq!(wakes(&waiters), [1, 1, 1, 1]);
    condition.notify_all();
    for waiter in &mut waiters {
        drop(waiter.ready());
    }
    // A condition has no memory: a notify with nobody waiting is lost, as in asyncio.
    let mut late = Probe::new(condition.wait(now(mutex.lock())));
    late.pending();
    assert_eq!(late.wakes(), 0);
    assert_eq!(format!("{condition:?}"), "Condition { waiters: 1 }");
}

#[test]
fn notify_all_wakes_everyone_waiting() {
    with_hang_guard(|| {
        tempo::run(async {
            let shared = Arc::new((Mutex::new(false), Condition::new()));
            let queued = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..6)
                .map(|_| {
                    let (shared, queued) = (shared.clone(), queued.clone());
                    tempo::spawn(async move {
                        let (go, condition) = &*shared;
                        let mut guard = go.lock().await;
                        queued.fetch_add(1, SeqCst);
                        while !*guard {
                            guard = condition.wait(guard).await;
                        }
                    })
                })
                .collect();
            yield_until("every task to wait", || queued.load(SeqCst) == 6).await;
            let (go, condition) = &*shared;
            *go.lock().await = true;
            condition.notify_all();
            for task in tasks {
                task.await.expect("waiter");
            }
        });
    });
}

#[test]
fn wait_for_checks_the_predicate_first_and_after_each_notify() {
    with_hang_guard(|| {
        tempo::run(async {
            let shared = Arc::new((Mutex::new(0u32), Condition::new()));
            let checks = Arc::new(AtomicUsize::new(0));
            let consumer = tempo::spawn({
                let (shared, checks) = (shared.clone(), checks.clone());
                async move {
                    let (count, condition) = &*shared;
                    let guard = condition
                        .wait_for(count.lock().await, |n| {
                            checks.fetch_add(1, SeqCst);
                            *n >= 3
                        })
                        .await;
                    *guard
                }
            });
            yield_until("the first check", || checks.load(SeqCst) == 1).await;
            let (count, condition) = &*shared;
            for i in 1..=3 {
                *count.lock().await += 1;
                condition.notify_one();
                // Let the consumer re-check before the next change.
                yield_until("the consumer to re-check", || checks.load(SeqCst) == i + 1).await;
            }
            assert_eq!(consumer.await.expect("consumer"), 3);
            assert_eq!(checks.load(SeqCst), 4, "once up front, once per notify");
            // Already true: returns without waiting.
            let guard = now(condition.wait_for(now(count.lock()), |n| *n == 3));
            assert_eq!(*guard, 3);
        });
    });
}

#[test]
fn a_waiter_notified_then_dropped_passes_the_notification_on() {
    // tokio#3892: notify_one picks A; A's future is dropped before it runs; B must wake.
    let mutex = Mutex::new(0);
    let condition = Condition::new();
    let mut a = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    a.pending();
    let mut b = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    b.pending();
    let mut c = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    c.pending();
    condition.notify_one();
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 0, 0));
    drop(a);
    assert_eq!(
        (b.wakes(), c.wakes()),
        (1, 0),
        "the notification went to B, only"
    );
    assert_eq!(*b.ready(), 0);
    assert_eq!(c.wakes(), 0);
}

#[test]
fn a_waiter_dropped_while_relocking_passes_the_notification_on() {
    let mutex = Mutex::new(0);
    let condition = Condition::new();
    let mut a = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    a.pending();
    let mut b = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    b.pending();
    let held = mutex.try_lock().unwrap();
    condition.notify_one();
    a.pending(); // notified; now queued for the mutex we hold
    assert_eq!(b.wakes(), 0);
    drop(a);
    assert_eq!(b.wakes(), 1, "A never returned, so B gets its notification");
    b.pending(); // B now waits for the mutex in turn
    drop(held);
    assert_eq!(b.wakes(), 2);
    drop(b.ready());
    assert!(
        mutex.try_lock().is_ok(),
        "A's place in the mutex queue did not leak it"
    );
}

#[test]
fn a_waiter_dropped_before_any_notify_takes_nothing_with_it() {
    let mutex = Mutex::new(0);
    let condition = Condition::new();
    let mut a = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    a.pending();
    let mut b = Probe::new(condition.wait(mutex.try_lock().unwrap()));
    b.pending();
    drop(a);
    condition.notify_one();
    assert_eq!(b.wakes(), 1);
    drop(b.ready());
    // Never polled: it still held the guard, which unlocks as it drops.
    drop(Probe::new(condition.wait(mutex.try_lock().unwrap())));
    assert!(mutex.try_lock().is_ok());
}

/// How a consumer in [`producer_consumer_with_cancellations`] waits.
#[derive(Clone, Copy)]
enum Consumer {
    /// Waits as long as it takes.
    Steady,
    /// Gives up for good when a timeout this long fires.
    Timeout(Duration),
    /// Gives up for good if its wait is still pending after this many polls: with 2, it
    /// queues, is woken by a notification, finds the mutex held, and is dropped — exactly
    /// the moment tokio#3892 is about.
    Polls(usize),
    /// Aborted for good by a killer task, at a shifting moment.
    Aborted,
}

/// A future polled at most `polls` times; `None` (dropping `future`) if it is still
/// pending after the last.
struct GiveUpAfter<F> {
    /// The future being given its chances.
    future: Pin<Box<F>>,
    /// Polls left.
    polls: usize,
}

impl<F: Future> Future for GiveUpAfter<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        self.polls -= 1;
        match self.polls {
            0 => Poll::Ready(None),
            _ => Poll::Pending,
        }
    }
}

/// A producer on this thread pushes `ITEMS` items one at a time: push and `notify_one`
/// under the mutex, keep holding it for a few turns, release, then wait until the item has
/// been taken before pushing the next. So every item has exactly one notification, and
/// the notified consumer must queue for the mutex after its wake — a wide window.
///
/// On another thread's runtime, steady consumers take items with `wait_for`; the others
/// wait the same way but are cancelled for good (see [`Consumer`]), often inside that
/// window. A notification lost with a cancelled consumer leaves its item untaken with the
/// steady consumers asleep: the producer then waits for ever, and the hang guard turns that
/// into a failure.
///
/// "Taken" is reported through two semaphores (tested in `sync_locks.rs`), one permit per
/// item for the producer and one for the killer, so nobody spins while waiting for it.
fn producer_consumer_with_cancellations(round: usize) {
    const ITEMS: usize = 40;
    let consumers = [
        Consumer::Steady,
        Consumer::Polls(2 + round % 2),
        Consumer::Steady,
        Consumer::Timeout(Duration::from_micros((round % 4) as u64 * 50)),
        Consumer::Steady,
        Consumer::Polls(2),
        Consumer::Steady,
        Consumer::Aborted,
    ];
    let shared = Arc::new((Mutex::new(VecDeque::new()), Condition::new()));
    // One permit per item taken, for the producer and for the killer.
    let taken = Arc::new((Semaphore::new(0), Semaphore::new(0)));
    let done = Arc::new(AtomicBool::new(false));

    let consumer_thread = thread::spawn({
        let (shared, taken, done) = (shared.clone(), taken.clone(), done.clone());
        move || {
            tempo::run(async move {
                let tasks: Vec<_> = consumers
                    .iter()
                    .map(|&kind| {
                        let (shared, taken, done) = (shared.clone(), taken.clone(), done.clone());
                        let task = tempo::spawn(async move {
                            let (queue, condition) = &*shared;
                            loop {
                                let wait = async {
                                    let ready = |q: &mut VecDeque<usize>| {
                                        !q.is_empty() || done.load(SeqCst)
                                    };
                                    condition.wait_for(queue.lock().await, ready).await
                                };
                                let given_up = match kind {
                                    Consumer::Steady | Consumer::Aborted => Some(wait.await),
                                    Consumer::Timeout(patience) => {
                                        timeout(patience, wait).await.ok()
                                    }
                                    Consumer::Polls(polls) => {
                                        let future = Box::pin(wait);
                                        GiveUpAfter { future, polls }.await
                                    }
                                };
                                let Some(mut guard) = given_up else {
                                    return; // cancelled mid-wait: gone for good
                                };
                                if guard.pop_front().is_none() {
                                    return; // done, and nothing left
                                }
                                taken.0.add_permits(1);
                                taken.1.add_permits(1);
                            }
                        });
                        (kind, task)
                    })
                    .collect();
                // The killer: abort the `Aborted` consumer once a shifting number of items
                // has gone, a few turns after the last one.
                let after = (round * 7) % (ITEMS / 2);
                taken
                    .1
                    .acquire_many(after as u32)
                    .await
                    .expect("open")
                    .forget();
                for _ in 0..round % 3 {
                    yield_now().await;
                }
                for (kind, task) in &tasks {
                    if let Consumer::Aborted = kind {
                        task.abort();
                    }
                }
                for (kind, task) in tasks {
                    match (kind, task.await) {
                        (_, Ok(())) => {}
                        (Consumer::Aborted, Err(e)) if e.is_cancelled() => {}
                        (_, Err(e)) => panic!("a consumer failed: {e:?}"),
                    }
                }
            })
        }
    });

    tempo::run(async {
        let (queue, condition) = &*shared;
        for item in 0..ITEMS {
            let mut guard = queue.lock().await;
            guard.push_back(item);
            condition.notify_one();
            for _ in 0..1 + (round + item) % 3 {
                yield_now().await;
            }
            drop(guard);
            // No further notification will come to rescue a lost one.
            taken.0.acquire().await.expect("open").forget();
        }
        done.store(true, SeqCst);
        let _guard = queue.lock().await;
        condition.notify_all();
    });
    consumer_thread.join().expect("consumers");
    assert_eq!(
        taken.0.available_permits(),
        0,
        "each item taken exactly once"
    );
}

#[test]
fn no_notification_is_lost_when_consumers_are_cancelled_100_times() {
    with_hang_guard(|| {
        for round in 0..ROUNDS {
            producer_consumer_with_cancellations(round);
        }
    });
}

// ---------------------------------------------------------------------------------------
// Barrier
// ---------------------------------------------------------------------------------------

#[test]
fn the_last_arrival_trips_the_barrier_and_leads() {
    let barrier = Barrier::new(3);
    assert_eq!(barrier.parties(), 3);
    let mut a = Probe::new(barrier.wait());
    let mut b = Probe::new(barrier.wait());
    a.pending();
    b.pending();
    assert_eq!(barrier.n_waiting(), 2);
    let c = now(barrier.wait());
    assert!(c.is_leader());
    assert_eq!((a.wakes(), b.wakes()), (1, 1));
    assert!(!a.ready().is_leader());
    assert!(!b.ready().is_leader());
    assert_eq!(barrier.n_waiting(), 0);
    // The next generation starts empty.
    let mut d = Probe::new(barrier.wait());
    d.pending();
    assert_eq!(
        format!("{barrier:?}"),
        "Barrier { parties: 3, n_waiting: 1 }"
    );
}

#[test]
fn a_waiter_cancelled_before_the_barrier_trips_does_not_count() {
    let barrier = Barrier::new(2);
    let mut a = Probe::new(barrier.wait());
    a.pending();
    drop(a);
    assert_eq!(barrier.n_waiting(), 0);
    let mut b = Probe::new(barrier.wait());
    b.pending(); // A's arrival was withdrawn: B waits for a partner
    let c = now(barrier.wait());
    assert!(c.is_leader());
    assert!(!b.ready().is_leader());
    // Dropped after the trip, before it ran: the others were released already.
    let mut d = Probe::new(barrier.wait());
    d.pending();
    assert!(now(barrier.wait()).is_leader());
    drop(d);
    assert_eq!(barrier.n_waiting(), 0);
}

#[test]
fn a_barrier_of_zero_or_one_never_waits() {
    for parties in [0, 1] {
        let barrier = Barrier::new(parties);
        assert_eq!(barrier.parties(), 1);
        assert!(now(barrier.wait()).is_leader());
        assert!(now(barrier.wait()).is_leader());
    }
}

#[test]
fn tasks_meet_round_after_round_with_one_leader_each() {
    const PARTIES: usize = 4;
    const GENERATIONS: usize = 10;
    with_hang_guard(|| {
        tempo::run(async {
            let barrier = Arc::new(Barrier::new(PARTIES));
            let arrived: Arc<Vec<AtomicUsize>> =
                Arc::new((0..GENERATIONS).map(|_| AtomicUsize::new(0)).collect());
            let tasks: Vec<_> = (0..PARTIES)
                .map(|_| {
                    let (barrier, arrived) = (barrier.clone(), arrived.clone());
                    tempo::spawn(async move {
                        let mut led = 0;
                        for generation in 0..GENERATIONS {
                            arrived[generation].fetch_add(1, SeqCst);
                            led += barrier.wait().await.is_leader() as usize;
                            // Nobody leaves a generation before all have arrived.
                            assert_eq!(arrived[generation].load(SeqCst), PARTIES);
                            yield_now().await;
                        }
                        led
                    })
                })
                .collect();
            let mut leaders = 0;
            for task in tasks {
                leaders += task.await.expect("task");
            }
            assert_eq!(leaders, GENERATIONS);
        });
    });
}

#[test]
fn runtimes_on_threads_meet_at_one_barrier_100_times() {
    const THREADS: usize = 4;
    const GENERATIONS: usize = 5;
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            let barrier = Arc::new(Barrier::new(THREADS));
            let arrived = Arc::new(AtomicUsize::new(0));
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (barrier, arrived) = (barrier.clone(), arrived.clone());
                    thread::spawn(move || {
                        tempo::run(async move {
                            let mut led = 0;
                            for generation in 1..=GENERATIONS {
                                arrived.fetch_add(1, SeqCst);
                                led += barrier.wait().await.is_leader() as usize;
                                let seen = arrived.load(SeqCst);
                                assert!(seen >= generation * THREADS, "left generation early");
                            }
                            led
                        })
                    })
                })
                .collect();
            let leaders: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
            assert_eq!(leaders, GENERATIONS);
        }
    });
}
