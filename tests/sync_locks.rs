//! `tempo::sync`'s locks as a specification: `Mutex`, `RwLock`, `Semaphore`.
//!
//! What each test pins down is in its name. Three kinds of evidence are used:
//!
//! - hand-polled futures ([`Probe`]) for the exact moments of a hand-off — queued, handed
//!   the lock but not yet polled, dropped — with wake counts asserted exactly;
//! - tasks on a real runtime, queued in a known order by letting the runtime turn
//!   (`yield_until`) until each has queued, never by sleeping;
//! - several runtimes on OS threads sharing one lock, with exact final counts. Those, and
//!   the tests where cancellation races a hand-off, run 100 times each.

mod common;
mod sync_support;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::Duration;

use common::{with_hang_guard, yield_until};
use sync_support::{Probe, assert_send, assert_send_sync, now};
use tempo::sync::{
    AcquireError, Mutex, MutexGuard, OwnedMutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
    Semaphore, SemaphorePermit, TryAcquireError,
};
use tempo::task::yield_now;
use tempo::time::timeout;

#[allow(dead_code)] // its `main` is the example's, not ours
#[path = "../examples/backpressure.rs"]
mod backpressure;

/// How many times each race-prone test runs.
const ROUNDS: usize = 100;

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

#[test]
fn lock_types_are_send_and_sync() {
    assert_send_sync::<Mutex<u64>>();
    assert_send_sync::<MutexGuard<'static, u64>>();
    assert_send_sync::<OwnedMutexGuard<u64>>();
    assert_send_sync::<tempo::sync::Lock<'static, u64>>();
    assert_send_sync::<tempo::sync::OwnedLock<u64>>();
    assert_send_sync::<RwLock<u64>>();
    assert_send_sync::<RwLockReadGuard<'static, u64>>();
    assert_send_sync::<RwLockWriteGuard<'static, u64>>();
    assert_send_sync::<tempo::sync::ReadLock<'static, u64>>();
    assert_send_sync::<tempo::sync::WriteLock<'static, u64>>();
    assert_send_sync::<Semaphore>();
    assert_send_sync::<SemaphorePermit<'static>>();
    assert_send_sync::<tempo::sync::OwnedSemaphorePermit>();
    assert_send_sync::<tempo::sync::Acquire<'static>>();
    assert_send_sync::<tempo::sync::AcquireOwned>();
    assert_send_sync::<AcquireError>();
    assert_send_sync::<TryAcquireError>();
    assert_send_sync::<tempo::sync::TryLockError>();
    // A guard moves between threads with its task whenever `T: Send`, even if `T` is not
    // `Sync` — the guard gives one task at a time access.
    fn guard_of_cell_is_send(guard: MutexGuard<'_, Cell<u8>>) {
        assert_send(&guard);
    }
    let mutex = Mutex::new(Cell::new(0));
    guard_of_cell_is_send(mutex.try_lock().unwrap());
}

// ---------------------------------------------------------------------------------------
// Mutex
// ---------------------------------------------------------------------------------------

#[test]
fn a_guard_held_across_awaits_excludes_every_other_task() {
    const TASKS: usize = 10;
    const ROUNDS_EACH: u64 = 50;
    let total = with_hang_guard(|| {
        tempo::run(async {
            let count = Arc::new(Mutex::new(0u64));
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let count = count.clone();
                    tempo::spawn(async move {
                        for _ in 0..ROUNDS_EACH {
                            let mut guard = count.lock().await;
                            let seen = *guard;
                            // Every other task runs here; none may touch the value.
                            yield_now().await;
                            *guard = seen + 1;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
            Arc::try_unwrap(count)
                .expect("all clones gone")
                .into_inner()
        })
    });
    assert_eq!(total, TASKS as u64 * ROUNDS_EACH);
}

#[test]
fn the_lock_is_handed_over_in_arrival_order_and_never_barged() {
    const N: usize = 8;
    with_hang_guard(|| {
        tempo::run(async {
            let order = Arc::new(Mutex::new(Vec::new()));
            let queued = Arc::new(AtomicUsize::new(0));
            let held = order.lock().await;
            let mut tasks = Vec::new();
            for i in 0..N {
                tasks.push(tempo::spawn({
                    let (order, queued) = (order.clone(), queued.clone());
                    async move {
                        // This and lock()'s first poll happen in one task poll: once main
                        // sees the count, task i is in the queue.
                        queued.fetch_add(1, SeqCst);
                        order.lock().await.push(i);
                    }
                }));
                yield_until("the task to queue", || queued.load(SeqCst) == i + 1).await;
            }
            drop(held);
            // Task 0 owns the lock now, though it has not run: nobody can take it between.
            assert!(order.is_locked());
            assert!(order.try_lock().is_err());
            // A newcomer queues behind everyone.
            let mut last = order.lock().await;
            assert_eq!(*last, (0..N).collect::<Vec<_>>());
            last.push(N);
            drop(last);
            for task in tasks {
                task.await.expect("task");
            }
            assert!(!order.is_locked());
        });
    });
}

#[test]
fn a_loop_of_uncontended_locks_still_gives_other_tasks_a_turn() {
    // Every lock() here completes at once; without the cooperative budget the loop would
    // never return to the worker, and the other task would not run until it ended.
    with_hang_guard(|| {
        tempo::run(async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let ticker = tempo::spawn({
                let ticks = ticks.clone();
                async move {
                    loop {
                        ticks.fetch_add(1, SeqCst);
                        yield_now().await;
                    }
                }
            });
            let looper = tempo::spawn({
                let ticks = ticks.clone();
                async move {
                    let mutex = Mutex::new(0);
                    let sem = Semaphore::new(1);
                    let start = ticks.load(SeqCst);
                    for _ in 0..1000 {
                        *mutex.lock().await += 1;
                        drop(sem.acquire().await);
                    }
                    ticks.load(SeqCst) - start
                }
            });
            let ticks_during_loop = looper.await.expect("looper");
            ticker.abort();
            assert!(
                ticks_during_loop >= 5,
                "the other task ran {ticks_during_loop} times"
            );
        });
    });
}

#[test]
fn try_lock_get_mut_into_inner_and_debug() {
    let mut mutex = Mutex::new(String::from("a"));
    assert_eq!(format!("{mutex:?}"), r#"Mutex { data: "a" }"#);
    {
        let mut guard = mutex.try_lock().expect("free");
        guard.push('b');
        assert!(mutex.is_locked());
        assert!(mutex.try_lock().is_err());
        assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
        assert_eq!(format!("{guard} {guard:?}"), r#"ab "ab""#);
        assert!(std::ptr::eq(MutexGuard::mutex(&guard), &mutex));
    }
    assert!(!mutex.is_locked());
    mutex.get_mut().push('c');
    assert_eq!(now(mutex.lock()).as_str(), "abc");
    assert_eq!(mutex.into_inner(), "abc");
    assert_eq!(Mutex::<u8>::default().into_inner(), 0);
}

#[test]
fn an_owned_guard_moves_into_a_spawned_task() {
    with_hang_guard(|| {
        tempo::run(async {
            let mutex = Arc::new(Mutex::new(0));
            let guard = mutex.clone().lock_owned().await;
            assert!(mutex.clone().try_lock_owned().is_err());
            let task = tempo::spawn(async move {
                let mut guard = guard;
                yield_now().await;
                *guard += 1;
                Arc::strong_count(OwnedMutexGuard::mutex(&guard))
            });
            // Locked until the task drops the guard it carries away.
            assert_eq!(*mutex.lock().await, 1);
            assert!(task.await.expect("task") >= 2);
            assert_eq!(*mutex.clone().try_lock_owned().expect("free"), 1);
        });
    });
}

#[test]
fn a_queued_lock_dropped_before_its_turn_leaves_no_trace() {
    let mutex = Mutex::new(0);
    let held = mutex.try_lock().unwrap();
    let mut a = Probe::new(mutex.lock());
    let mut b = Probe::new(mutex.lock());
    a.pending();
    b.pending();
    drop(a); // cancelled while queued
    drop(held);
    assert_eq!(
        b.wakes(),
        1,
        "the release goes to B, not to A's empty place"
    );
    let guard = b.ready();
    drop(guard);
    assert!(mutex.try_lock().is_ok());
}

#[test]
fn a_waiter_handed_the_lock_then_dropped_passes_it_on() {
    let mutex = Mutex::new(0);
    let held = mutex.try_lock().unwrap();
    let mut a = Probe::new(mutex.lock());
    let mut b = Probe::new(mutex.lock());
    let mut c = Probe::new(mutex.lock());
    a.pending();
    b.pending();
    c.pending();
    drop(held);
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 0, 0));
    assert!(
        mutex.try_lock().is_err(),
        "A owns the lock though it has not run"
    );
    drop(a); // handed the lock, cancelled before it ran
    assert_eq!((b.wakes(), c.wakes()), (1, 0), "the lock went to B");
    // B's future is dropped too, after its wake: the lock goes on to C.
    drop(b);
    assert_eq!(c.wakes(), 1);
    *c.ready() += 1;
    assert_eq!(*mutex.try_lock().expect("C released it"), 1);
}

#[test]
fn an_aborted_task_that_was_handed_the_lock_passes_it_on() {
    with_hang_guard(|| {
        tempo::run(async {
            let order = Arc::new(Mutex::new(Vec::new()));
            let queued = Arc::new(AtomicUsize::new(0));
            let held = order.lock().await;
            let mut tasks = Vec::new();
            for i in 0..4 {
                tasks.push(tempo::spawn({
                    let (order, queued) = (order.clone(), queued.clone());
                    async move {
                        queued.fetch_add(1, SeqCst);
                        order.lock().await.push(i);
                    }
                }));
                yield_until("the task to queue", || queued.load(SeqCst) == i + 1).await;
            }
            // Hand the lock to task 0, and abort it (and queued task 1) before it runs.
            drop(held);
            tasks[0].abort();
            tasks[1].abort();
            let results: Vec<_> = {
                let mut out = Vec::new();
                for task in tasks {
                    out.push(task.await.map_err(|e| e.is_cancelled()));
                }
                out
            };
            assert_eq!(results, [Err(true), Err(true), Ok(()), Ok(())]);
            assert_eq!(*order.lock().await, [2, 3]);
        });
    });
}

#[test]
fn lock_futures_cancelled_by_timeouts_never_leak_the_lock_100_times() {
    const CONTENDERS: usize = 12;
    const TRIES: usize = 6;
    let (locked, timed_out) = with_hang_guard(|| {
        let (mut locked, mut timed_out) = (0, 0);
        for round in 0..ROUNDS {
            let (l, t) = tempo::run(async move {
                let count = Arc::new(Mutex::new(0usize));
                let timed_out = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|i| {
                        let (count, timed_out) = (count.clone(), timed_out.clone());
                        // 0 to 150 µs: a zero deadline gives up as soon as it has queued
                        // behind a holder; the longer ones mostly get the lock.
                        let micros = ((round * 7 + i * 31) % 4) as u64 * 50;
                        let patience = Duration::from_micros(micros);
                        tempo::spawn(async move {
                            for _ in 0..TRIES {
                                match timeout(patience, count.lock()).await {
                                    Ok(mut guard) => {
                                        // Hold it across a few turns, so queues build up.
                                        for _ in 0..i % 3 {
                                            yield_now().await;
                                        }
                                        *guard += 1;
                                    }
                                    Err(_) => {
                                        timed_out.fetch_add(1, SeqCst);
                                    }
                                }
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                // Not leaked: free now, and every success was counted exactly once.
                let locked = *count.try_lock().expect("the lock is free at the end");
                assert_eq!(locked + timed_out.load(SeqCst), CONTENDERS * TRIES);
                (locked, timed_out.load(SeqCst))
            });
            locked += l;
            timed_out += t;
        }
        (locked, timed_out)
    });
    // Both outcomes happened, or the test tested nothing.
    assert!(
        locked > 0 && timed_out > 0,
        "{locked} locked, {timed_out} timed out"
    );
}

#[test]
fn aborting_tasks_mid_hand_off_never_loses_the_lock_100_times() {
    const WORKERS: usize = 6;
    with_hang_guard(|| {
        for round in 0..ROUNDS {
            tempo::run(async move {
                let count = Arc::new(Mutex::new(0u64));
                let workers: Vec<_> = (0..WORKERS)
                    .map(|_| {
                        let count = count.clone();
                        tempo::spawn(async move {
                            loop {
                                let mut guard = count.lock().await;
                                *guard += 1;
                                yield_now().await;
                            }
                        })
                    })
                    .collect();
                // Abort the workers one by one at shifting moments: some while queued, some
                // holding the lock, some just handed it and not yet run.
                for (i, worker) in workers.iter().enumerate() {
                    for _ in 0..(round + i) % 4 {
                        yield_now().await;
                    }
                    worker.abort();
                }
                for worker in workers {
                    assert!(worker.await.unwrap_err().is_cancelled());
                }
                // Whatever was in flight, the lock came back.
                let guard = count.try_lock().expect("the lock is free at the end");
                assert!(*guard > 0);
            });
        }
    });
}

/// `threads` runtimes on their own OS threads, `tasks` tasks each, every task adding 1
/// `iterations` times under the lock with a yield in the middle, plus one plain thread
/// locking through a foreign executor. Returns the final count.
fn count_across_threads(threads: usize, tasks: usize, iterations: u64) -> u64 {
    let count = Arc::new(Mutex::new(0u64));
    let start = Arc::new(std::sync::Barrier::new(threads + 1));
    let mut handles: Vec<_> = (0..threads)
        .map(|_| {
            let (count, start) = (count.clone(), start.clone());
            thread::spawn(move || {
                let runtime = tempo::Runtime::new().expect("runtime");
                start.wait();
                runtime.block_on(async {
                    let tasks: Vec<_> = (0..tasks)
                        .map(|_| {
                            let count = count.clone();
                            tempo::spawn(async move {
                                for _ in 0..iterations {
                                    let mut guard = count.lock().await;
                                    let seen = *guard;
                                    yield_now().await;
                                    *guard = seen + 1;
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("task");
                    }
                });
            })
        })
        .collect();
    handles.push({
        let (count, start) = (count.clone(), start.clone());
        thread::spawn(move || {
            start.wait();
            for _ in 0..iterations {
                *common::block_on(count.lock()) += 1;
            }
        })
    });
    for handle in handles {
        handle.join().expect("thread");
    }
    Arc::try_unwrap(count)
        .expect("all clones gone")
        .into_inner()
}

#[test]
fn runtimes_on_four_threads_count_exactly_under_one_mutex() {
    let total = with_hang_guard(|| count_across_threads(4, 4, 200));
    assert_eq!(total, 4 * 4 * 200 + 200);
}

#[test]
fn runtimes_on_threads_count_exactly_under_one_mutex_100_times() {
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            assert_eq!(count_across_threads(3, 2, 20), 3 * 2 * 20 + 20);
        }
    });
}

// ---------------------------------------------------------------------------------------
// RwLock
// ---------------------------------------------------------------------------------------

#[test]
fn readers_share_and_a_writer_excludes() {
    let lock = RwLock::new(1);
    let a = lock.try_read().expect("free");
    let b = now(lock.read());
    assert_eq!(*a + *b, 2);
    assert!(lock.try_write().is_err());
    drop((a, b));
    let mut w = lock.try_write().expect("readers gone");
    *w = 5;
    assert!(lock.try_read().is_err());
    assert!(lock.try_write().is_err());
    drop(w);
    assert_eq!(*lock.try_read().unwrap(), 5);
    assert_eq!(
        format!("{lock:?}"),
        "RwLock { writer: false, readers: 0, waiters: 0 }"
    );
    let mut lock = lock;
    *lock.get_mut() += 1;
    assert_eq!(lock.into_inner(), 6);
}

#[test]
fn a_queued_writer_holds_back_later_readers_then_readers_go_in_together() {
    // The diagram in rwlock.rs: held by R1 R2, queue W1 R3 R4 W2 R5.
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let r2 = lock.try_read().unwrap();
    let mut w1 = Probe::new(lock.write());
    w1.pending();
    assert!(lock.try_read().is_err(), "a queued writer comes first");
    let mut r3 = Probe::new(lock.read());
    let mut r4 = Probe::new(lock.read());
    let mut w2 = Probe::new(lock.write());
    let mut r5 = Probe::new(lock.read());
    for probe in [&mut r3, &mut r4] {
        probe.pending();
    }
    w2.pending();
    r5.pending();

    drop(r1);
    assert_eq!(w1.wakes(), 0, "one reader is still inside");
    drop(r2);
    assert_eq!(w1.wakes(), 1);
    let mut guard = w1.ready();
    *guard = 1;
    assert_eq!(
        (r3.wakes(), r4.wakes(), w2.wakes(), r5.wakes()),
        (0, 0, 0, 0)
    );
    drop(guard);
    assert_eq!(
        (r3.wakes(), r4.wakes(), w2.wakes(), r5.wakes()),
        (1, 1, 0, 0)
    );
    let (g3, g4) = (r3.ready(), r4.ready());
    assert_eq!(*g3 + *g4, 2);
    drop(g3);
    assert_eq!(w2.wakes(), 0);
    drop(g4);
    assert_eq!((w2.wakes(), r5.wakes()), (1, 0));
    drop(w2.ready());
    assert_eq!(r5.wakes(), 1);
    assert_eq!(*r5.ready(), 1);
}

#[test]
fn a_cancelled_writer_at_the_front_lets_the_readers_behind_it_in() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let mut w = Probe::new(lock.write());
    let mut r2 = Probe::new(lock.read());
    w.pending();
    r2.pending();
    drop(w); // never granted; it was all that kept r2 out
    assert_eq!(r2.wakes(), 1);
    let g2 = r2.ready();
    drop((r1, g2));
    assert!(lock.try_write().is_ok());
}

#[test]
fn a_writer_granted_then_dropped_passes_the_lock_on() {
    let lock = RwLock::new(0);
    let r = lock.try_read().unwrap();
    let mut w1 = Probe::new(lock.write());
    let mut w2 = Probe::new(lock.write());
    let mut r2 = Probe::new(lock.read());
    w1.pending();
    w2.pending();
    r2.pending();
    drop(r);
    assert_eq!((w1.wakes(), w2.wakes()), (1, 0));
    drop(w1); // granted, never polled
    assert_eq!((w2.wakes(), r2.wakes()), (1, 0));
    *w2.ready() = 7;
    assert_eq!(r2.wakes(), 1);
    let g = r2.ready();
    assert_eq!(*g, 7);
    drop(r2);
    drop(g);
    assert!(lock.try_write().is_ok());
}

#[test]
fn a_reader_granted_then_dropped_gives_its_share_back() {
    let lock = RwLock::new(0);
    let w = lock.try_write().unwrap();
    let mut r = Probe::new(lock.read());
    let mut w2 = Probe::new(lock.write());
    r.pending();
    w2.pending();
    drop(w);
    assert_eq!((r.wakes(), w2.wakes()), (1, 0));
    drop(r); // granted a share, never polled
    assert_eq!(w2.wakes(), 1, "the writer behind it gets in");
    drop(w2.ready());
    assert!(lock.try_write().is_ok());
}

/// Writers keep the pair equal, with a yield between the two halves; readers check that
/// they never see it half-written. Returns the final pair.
fn rwlock_across_threads(threads: usize, iterations: u64) -> (u64, u64) {
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let start = Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, start) = (lock.clone(), start.clone());
            thread::spawn(move || {
                let runtime = tempo::Runtime::new().expect("runtime");
                start.wait();
                runtime.block_on(async {
                    let writer = tempo::spawn({
                        let lock = lock.clone();
                        async move {
                            for _ in 0..iterations {
                                let mut pair = lock.write().await;
                                pair.0 += 1;
                                yield_now().await;
                                pair.1 += 1;
                            }
                        }
                    });
                    let readers: Vec<_> = (0..2)
                        .map(|_| {
                            let lock = lock.clone();
                            tempo::spawn(async move {
                                for _ in 0..iterations {
                                    let pair = lock.read().await;
                                    assert_eq!(pair.0, pair.1, "a reader saw a half-write");
                                    yield_now().await;
                                    assert_eq!(pair.0, pair.1, "a write began under a reader");
                                }
                            })
                        })
                        .collect();
                    writer.await.expect("writer");
                    for reader in readers {
                        reader.await.expect("reader");
                    }
                });
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread");
    }
    Arc::try_unwrap(lock).expect("all clones gone").into_inner()
}

#[test]
fn readers_and_writers_on_threads_never_overlap_100_times() {
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            assert_eq!(rwlock_across_threads(3, 20), (60, 60));
        }
    });
}

// ---------------------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------------------

#[test]
fn permits_are_counted_out_and_back() {
    let sem = Semaphore::new(3);
    let one = now(sem.acquire()).expect("open");
    assert_eq!((one.num_permits(), sem.available_permits()), (1, 2));
    let two = now(sem.acquire_many(2)).expect("open");
    assert_eq!(sem.available_permits(), 0);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    drop(two);
    assert_eq!(sem.available_permits(), 2);
    let forgotten = sem.try_acquire_many(2).expect("two free");
    forgotten.forget();
    assert_eq!(
        sem.available_permits(),
        0,
        "forgotten permits never come back"
    );
    drop(one);
    sem.add_permits(4);
    assert_eq!(sem.available_permits(), 5);
    let zero = sem.try_acquire_many(0).expect("zero permits always fit");
    assert_eq!(zero.num_permits(), 0);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { permits: 5, closed: false, waiters: 0 }"
    );
}

#[test]
fn a_big_request_at_the_front_blocks_smaller_ones_behind_it() {
    let sem = Semaphore::new(3);
    let mut big = Probe::new(sem.acquire_many(5));
    let mut small = Probe::new(sem.acquire());
    big.pending();
    small.pending();
    assert_eq!(
        sem.available_permits(),
        3,
        "a queued waiter holds nothing yet"
    );
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
    sem.add_permits(1);
    assert_eq!(
        (big.wakes(), small.wakes()),
        (0, 0),
        "4 < 5, and small must wait"
    );
    sem.add_permits(1);
    assert_eq!((big.wakes(), small.wakes()), (1, 0));
    assert_eq!(
        sem.available_permits(),
        0,
        "all five went to the big request"
    );
    let permit = big.ready().expect("open");
    assert_eq!(permit.num_permits(), 5);
    drop(permit);
    assert_eq!(small.wakes(), 1);
    drop(small.ready().expect("open"));
    assert_eq!(sem.available_permits(), 5);
}

#[test]
fn a_cancelled_big_request_lets_the_small_ones_behind_it_through() {
    let sem = Semaphore::new(3);
    let mut big = Probe::new(sem.acquire_many(5));
    let mut small = Probe::new(sem.acquire_many(2));
    big.pending();
    small.pending();
    drop(big);
    assert_eq!(small.wakes(), 1);
    assert_eq!(sem.available_permits(), 1);
    drop(small.ready().expect("open"));
    assert_eq!(sem.available_permits(), 3);
}

#[test]
fn permits_granted_to_a_dropped_waiter_go_to_the_next_one() {
    let sem = Semaphore::new(0);
    let mut a = Probe::new(sem.acquire());
    let mut b = Probe::new(sem.acquire());
    a.pending();
    b.pending();
    sem.add_permits(1);
    assert_eq!((a.wakes(), b.wakes()), (1, 0));
    drop(a); // granted, never polled
    assert_eq!(b.wakes(), 1);
    assert_eq!(sem.available_permits(), 0, "the permit went straight to B");
    drop(b.ready().expect("open"));
    assert_eq!(sem.available_permits(), 1, "and came back: nothing leaked");
}

#[test]
fn tasks_get_permits_in_arrival_order() {
    const N: usize = 8;
    with_hang_guard(|| {
        tempo::run(async {
            let sem = Arc::new(Semaphore::new(0));
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            let queued = Arc::new(AtomicUsize::new(0));
            let mut tasks = Vec::new();
            for i in 0..N {
                tasks.push(tempo::spawn({
                    let (sem, order, queued) = (sem.clone(), order.clone(), queued.clone());
                    async move {
                        queued.fetch_add(1, SeqCst);
                        let _permit = sem.acquire().await.expect("open");
                        order.lock().unwrap().push(i);
                        yield_now().await;
                    }
                }));
                yield_until("the task to queue", || queued.load(SeqCst) == i + 1).await;
            }
            // One permit, passed from task to task in arrival order.
            sem.add_permits(1);
            for task in tasks {
                task.await.expect("task");
            }
            assert_eq!(*order.lock().unwrap(), (0..N).collect::<Vec<_>>());
            assert_eq!(sem.available_permits(), 1);
        });
    });
}

#[test]
fn closing_fails_queued_and_later_acquires_but_keeps_granted_permits() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut granted = Probe::new(sem.acquire());
    let mut queued = Probe::new(sem.acquire());
    granted.pending();
    queued.pending();
    drop(held); // `granted` gets the permit, and is not polled before the close
    sem.close();
    assert!(sem.is_closed());
    assert_eq!(queued.wakes(), 1);
    let closed: AcquireError = queued.ready().unwrap_err();
    assert_eq!(closed.to_string(), "the semaphore is closed");
    let permit = granted.ready().expect("granted before the close");
    assert_eq!(now(sem.acquire()).unwrap_err(), closed);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    drop(permit);
    assert_eq!(
        sem.available_permits(),
        1,
        "returned permits are still counted"
    );
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
}

#[test]
fn owned_permits_move_into_tasks() {
    with_hang_guard(|| {
        tempo::run(async {
            let sem = Arc::new(Semaphore::new(2));
            let a = sem.clone().acquire_owned().await.expect("open");
            let b = sem.clone().try_acquire_owned().expect("one left");
            assert!(sem.clone().try_acquire_many_owned(1).is_err());
            let task = tempo::spawn(async move {
                yield_now().await;
                drop(a);
            });
            let two = sem.clone().acquire_many_owned(2);
            drop(b);
            let two = two.await.expect("open");
            assert_eq!(two.num_permits(), 2);
            assert!(Arc::ptr_eq(two.semaphore(), &sem));
            task.await.expect("task");
        });
    });
}

#[test]
fn acquires_cancelled_by_timeouts_never_leak_permits_100_times() {
    const CONTENDERS: usize = 12;
    const PERMITS: usize = 3;
    let (acquired, timed_out) = with_hang_guard(|| {
        let (mut acquired, mut timed_out) = (0, 0);
        for round in 0..ROUNDS {
            let (a, t) = tempo::run(async move {
                let sem = Arc::new(Semaphore::new(PERMITS));
                let inside = Arc::new(AtomicUsize::new(0));
                let (acquired, timed_out) =
                    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                let tasks: Vec<_> = (0..CONTENDERS)
                    .map(|i| {
                        let (sem, inside) = (sem.clone(), inside.clone());
                        let (acquired, timed_out) = (acquired.clone(), timed_out.clone());
                        let micros = ((round * 5 + i * 13) % 4) as u64 * 50;
                        let patience = Duration::from_micros(micros);
                        let n = 1 + (i % 2) as u32;
                        tempo::spawn(async move {
                            for _ in 0..6 {
                                let Ok(permit) = timeout(patience, sem.acquire_many(n)).await
                                else {
                                    timed_out.fetch_add(1, SeqCst);
                                    continue;
                                };
                                let permit = permit.expect("open");
                                acquired.fetch_add(1, SeqCst);
                                let now = inside.fetch_add(n as usize, SeqCst) + n as usize;
                                assert!(now <= PERMITS, "{now} permits out of {PERMITS}");
                                for _ in 0..i % 3 {
                                    yield_now().await;
                                }
                                inside.fetch_sub(n as usize, SeqCst);
                                drop(permit);
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.expect("task");
                }
                assert_eq!(sem.available_permits(), PERMITS, "no permit leaked");
                // And nobody is left queued with a permit: all of them fit at once.
                drop(sem.acquire_many(PERMITS as u32).await.expect("open"));
                (acquired.load(SeqCst), timed_out.load(SeqCst))
            });
            acquired += a;
            timed_out += t;
        }
        (acquired, timed_out)
    });
    assert!(
        acquired > 0 && timed_out > 0,
        "{acquired} acquired, {timed_out} timed out"
    );
}

#[test]
fn aborting_tasks_mid_grant_never_loses_permits_100_times() {
    const WORKERS: usize = 6;
    const PERMITS: usize = 3;
    with_hang_guard(|| {
        for round in 0..ROUNDS {
            tempo::run(async move {
                let sem = Arc::new(Semaphore::new(PERMITS));
                let workers: Vec<_> = (0..WORKERS)
                    .map(|i| {
                        let sem = sem.clone();
                        tempo::spawn(async move {
                            loop {
                                let _permits = sem.acquire_many(1 + (i % 2) as u32).await;
                                yield_now().await;
                            }
                        })
                    })
                    .collect();
                // As for the mutex: abort at shifting moments, some just after a grant.
                for (i, worker) in workers.iter().enumerate() {
                    for _ in 0..(round + i) % 4 {
                        yield_now().await;
                    }
                    worker.abort();
                }
                for worker in workers {
                    assert!(worker.await.unwrap_err().is_cancelled());
                }
                assert_eq!(sem.available_permits(), PERMITS, "every permit came back");
            });
        }
    });
}

/// Tasks on `threads` runtimes take 1 or 2 of 3 permits, tracking how many are out.
/// Returns the peak it saw.
fn semaphore_across_threads(threads: usize, iterations: usize) -> usize {
    const PERMITS: usize = 3;
    let sem = Arc::new(Semaphore::new(PERMITS));
    let inside = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (sem, inside, peak, start) =
                (sem.clone(), inside.clone(), peak.clone(), start.clone());
            thread::spawn(move || {
                let runtime = tempo::Runtime::new().expect("runtime");
                start.wait();
                runtime.block_on(async {
                    let tasks: Vec<_> = (0..3)
                        .map(|i| {
                            let (sem, inside, peak) = (sem.clone(), inside.clone(), peak.clone());
                            let n = 1 + ((t + i) % 2);
                            tempo::spawn(async move {
                                for _ in 0..iterations {
                                    let permit = sem.acquire_many(n as u32).await.expect("open");
                                    let now = inside.fetch_add(n, SeqCst) + n;
                                    peak.fetch_max(now, SeqCst);
                                    yield_now().await;
                                    inside.fetch_sub(n, SeqCst);
                                    drop(permit);
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.expect("task");
                    }
                });
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread");
    }
    assert_eq!(sem.available_permits(), PERMITS);
    peak.load(SeqCst)
}

#[test]
fn permits_cap_tasks_on_several_threads_100_times() {
    with_hang_guard(|| {
        for _ in 0..ROUNDS {
            let peak = semaphore_across_threads(3, 20);
            assert!((2..=3).contains(&peak), "peak {peak} with 3 permits");
        }
    });
}

// ---------------------------------------------------------------------------------------
// The backpressure example
// ---------------------------------------------------------------------------------------

#[test]
fn the_backpressure_example_peaks_at_exactly_its_limit() {
    let lesson = backpressure::Lesson::default();
    assert_eq!((lesson.tasks, lesson.limit), (1000, 50));
    let report = with_hang_guard(move || backpressure::run(&lesson));
    assert_eq!(report.peak, 50);
    assert_eq!(report.completed, 1000);
    // 20 rounds of the work, at the least.
    assert!(report.elapsed >= lesson.work * 20, "{:?}", report.elapsed);
}
