//! The blocking and CPU pools as a specification: results and panics come back, the
//! blocking pool grows to meet jobs that block together and shrinks after the keep-alive,
//! the caps and queue limits hold (and producers wait), abort and shutdown never lose a
//! job silently.
//!
//! Jobs run on real threads. They are held in place with std `Barrier`s and [`Gate`]s and
//! report that they started through tempo's own channels; counts are read from
//! `Handle::blocking_stats`. Where a count changes on its own (a thread going idle, or
//! exiting after the keep-alive) we poll it with bounded retries on the runtime's timer
//! ([`wait_for_stats`]); nothing is ordered by a wall-clock sleep.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{block_on, panic_text, with_hang_guard};
use tempo::blocking::{BlockingStats, QueueSlot};
use tempo::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tempo::task::{JoinHandle, spawn_blocking, spawn_cpu};
use tempo::{Builder, Handle, Runtime};

/// A door that blocking jobs wait at until the test opens it. Unlike a `Barrier`, opening
/// it does not wait for anyone.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Block this (pool) thread until the gate is open.
    fn wait(&self) {
        let (open, cond) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cond.wait(open).unwrap();
        }
    }

    /// Let every waiter through, now and later.
    fn open(&self) {
        let (open, cond) = &*self.0;
        *open.lock().unwrap() = true;
        cond.notify_all();
    }
}

/// Counts jobs running at once, and the most there ever were.
#[derive(Clone, Default)]
struct Concurrency {
    /// Jobs inside `enter` now.
    now: Arc<AtomicUsize>,
    /// The most at once.
    max: Arc<AtomicUsize>,
}

impl Concurrency {
    /// Count this job in until the returned guard drops.
    fn enter(&self) -> impl Drop + use<> {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        DecOnDrop(self.now.clone())
    }

    fn max(&self) -> usize {
        self.max.load(SeqCst)
    }
}

/// Decrements its counter when dropped.
struct DecOnDrop(Arc<AtomicUsize>);

impl Drop for DecOnDrop {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// How many times [`wait_until`] looks, 5 ms apart: 10 s in all. A bound, not a delay.
const TRIES: usize = 2_000;

/// Poll `condition` until it holds, sleeping 5 ms on the runtime's timer between looks,
/// for at most [`TRIES`] looks. For what pool threads do on their own time; panics naming
/// `what` if it never happens.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..TRIES {
        if condition() {
            return;
        }
        tempo::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("still waiting for {what} after {TRIES} looks");
}

/// [`wait_until`] the stats satisfy `condition`; returns them.
async fn wait_for_stats(
    handle: &Handle,
    what: &str,
    condition: impl Fn(&BlockingStats) -> bool,
) -> BlockingStats {
    let mut last = handle.blocking_stats();
    wait_until(what, || {
        last = handle.blocking_stats();
        condition(&last)
    })
    .await;
    last
}

/// The same, from a plain thread, for when the runtime is being dropped.
fn wait_for_stats_blocking(
    handle: &Handle,
    what: &str,
    condition: impl Fn(&BlockingStats) -> bool,
) {
    const TRIES: usize = 10_000;
    for _ in 0..TRIES {
        if condition(&handle.blocking_stats()) {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
    panic!(
        "still waiting for {what} after {TRIES} looks; last stats: {:?}",
        handle.blocking_stats()
    );
}

/// Receive `n` messages.
async fn recv_n<T>(rx: &mut UnboundedReceiver<T>, n: usize) -> Vec<T> {
    let mut got = Vec::with_capacity(n);
    for _ in 0..n {
        got.push(
            rx.recv()
                .await
                .expect("a job's sender is alive while it runs"),
        );
    }
    got
}

/// This thread's name, for "which pool ran it".
fn thread_name() -> String {
    thread::current().name().unwrap_or("<unnamed>").to_string()
}

fn rt(configure: impl FnOnce(&mut Builder) -> &mut Builder) -> Runtime {
    configure(&mut Builder::new())
        .build()
        .expect("build the runtime")
}

#[test]
fn pool_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Handle>();
    send::<QueueSlot>();
    send_sync::<BlockingStats>();
    send::<JoinHandle<Vec<u8>>>();
    // The slot future can be spawned.
    fn future_is_send(handle: &Handle) {
        fn is_send<T: Send + 'static>(_: &T) {}
        is_send(&handle.blocking_slot());
    }
    let _ = future_is_send;
}

#[test]
fn results_come_back_from_pool_threads() {
    with_hang_guard(|| {
        tempo::run(async {
            let loop_thread = thread::current().id();
            let jobs: Vec<_> = (0..100u64)
                .map(|i| spawn_blocking(move || (i * 2, thread::current().id(), thread_name())))
                .collect();
            for (i, job) in jobs.into_iter().enumerate() {
                let (value, ran_on, name) = job.await.expect("the job returns");
                assert_eq!(value, i as u64 * 2);
                assert_ne!(ran_on, loop_thread, "a blocking job never runs on the loop");
                assert!(name.starts_with("tempo-blocking-"), "ran on {name}");
            }
            // From inside a spawned task, too.
            let task = tempo::spawn(async { spawn_blocking(|| 6 * 7).await.unwrap() });
            assert_eq!(task.await.unwrap(), 42);
        })
    });
}

#[test]
fn a_panic_comes_back_as_a_join_error_and_the_thread_goes_on() {
    with_hang_guard(|| {
        let rt = rt(|b| b.max_blocking_threads(1));
        rt.block_on(async {
            let handle = Handle::current();
            let first = spawn_blocking(|| thread::current().id());
            let first = first.await.unwrap();
            let err = spawn_blocking(|| -> u32 { panic!("boom {}", 7) })
                .await
                .expect_err("the job panicked");
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            assert_eq!(err.panic_message(), Some("boom 7"));
            assert_eq!(panic_text(&*err.into_panic()), "boom 7");
            // The panic did not take the thread with it: the next job runs on it.
            let after = spawn_blocking(|| thread::current().id()).await.unwrap();
            assert_eq!(after, first);
            // A thread counts a job just after handing its output over: poll.
            let stats =
                wait_for_stats(&handle, "three jobs counted", |s| s.blocking.completed == 3).await;
            assert_eq!(stats.blocking.threads, 1);
        })
    });
}

#[test]
fn the_pool_grows_to_one_thread_per_job_blocked_at_once() {
    with_hang_guard(|| {
        tempo::run(async {
            let handle = Handle::current();
            // Each round's jobs wait for each other at a Barrier: they finish only if all
            // run at once, each on a thread of its own.
            for (round, n) in [(1, 3), (2, 6)] {
                let barrier = Arc::new(Barrier::new(n));
                let jobs: Vec<_> = (0..n)
                    .map(|_| {
                        let barrier = barrier.clone();
                        spawn_blocking(move || {
                            barrier.wait();
                            thread::current().id()
                        })
                    })
                    .collect();
                let mut threads = HashSet::new();
                for job in jobs {
                    threads.insert(job.await.unwrap());
                }
                assert_eq!(threads.len(), n, "round {round}: one thread per job");
                // Round 2 found round 1's 3 threads idle and started 3 more, no more.
                let stats = wait_for_stats(&handle, "every thread idle", |s| {
                    s.blocking.idle_threads == n
                })
                .await;
                assert_eq!(stats.blocking.threads, n, "round {round}");
                assert_eq!(stats.blocking.queued, 0);
                assert_eq!(stats.cpu.threads, 0, "spawn_blocking used the CPU pool");
            }
        })
    });
}

#[test]
fn max_blocking_threads_caps_the_pool_and_the_rest_queue() {
    with_hang_guard(|| {
        let rt = rt(|b| b.max_blocking_threads(2));
        rt.block_on(async {
            let handle = Handle::current();
            let gate = Gate::default();
            let running = Concurrency::default();
            let (started_tx, mut started) = unbounded_channel();
            let jobs: Vec<_> = (0..4)
                .map(|i| {
                    let (gate, running, started_tx) =
                        (gate.clone(), running.clone(), started_tx.clone());
                    spawn_blocking(move || {
                        let _running = running.enter();
                        started_tx.send(i).unwrap();
                        gate.wait();
                        (i, thread::current().id())
                    })
                })
                .collect();
            let mut first_two = recv_n(&mut started, 2).await;
            first_two.sort();
            assert_eq!(first_two, [0, 1], "the pool takes jobs in order");
            let stats = handle.blocking_stats().blocking;
            assert_eq!(
                (
                    stats.threads,
                    stats.idle_threads,
                    stats.queued,
                    stats.max_threads
                ),
                (2, 0, 2, 2),
                "{stats:?}"
            );
            assert!(
                started.try_recv().is_err(),
                "a third job started: the cap leaked"
            );

            gate.open();
            let mut threads = HashSet::new();
            for (expected, job) in jobs.into_iter().enumerate() {
                let (i, thread) = job.await.unwrap();
                assert_eq!(i, expected);
                threads.insert(thread);
            }
            assert_eq!(threads.len(), 2);
            assert_eq!(running.max(), 2);
            assert_eq!(handle.blocking_stats().blocking.threads, 2);
        })
    });
}

#[test]
fn idle_threads_exit_after_the_keep_alive() {
    with_hang_guard(|| {
        let rt = rt(|b| b.blocking_keep_alive(Duration::from_millis(50)));
        rt.block_on(async {
            let handle = Handle::current();
            let barrier = Arc::new(Barrier::new(3));
            let jobs: Vec<_> = (0..3)
                .map(|_| {
                    let barrier = barrier.clone();
                    spawn_blocking(move || {
                        barrier.wait();
                    })
                })
                .collect();
            for job in jobs {
                job.await.unwrap();
            }
            let stats =
                wait_for_stats(&handle, "every thread gone", |s| s.blocking.threads == 0).await;
            assert_eq!(stats.blocking.idle_threads, 0);
            // An empty pool starts again on demand, with a new thread.
            assert_eq!(
                spawn_blocking(thread_name).await.unwrap(),
                "tempo-blocking-4"
            );
        })
    });
}

#[test]
fn jobs_racing_threads_that_time_out_are_never_stranded() {
    // The delicate path: a thread whose keep-alive runs out just as a job arrives (rule 3
    // in `blocking/pool.rs`). With a 1 ms keep-alive, four submitting threads and bursts
    // separated by pauses, threads typically exit and start all through the run (15 to 20
    // threads in all); a job stranded with no thread to take it would hang the test. The
    // exact interleaving cannot be forced from outside: the unit tests in `pool.rs` pin
    // it down on the counters.
    const SUBMITTERS: usize = 4;
    const BURSTS: usize = 50;
    const PER_BURST: usize = 8;
    with_hang_guard(|| {
        let rt = rt(|b| {
            b.max_blocking_threads(3)
                .blocking_keep_alive(Duration::from_millis(1))
        });
        let submitters: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let handle = rt.handle().clone();
                thread::spawn(move || {
                    for burst in 0..BURSTS {
                        let jobs: Vec<_> = (0..PER_BURST)
                            .map(|i| handle.spawn_blocking(move || (s, burst, i)))
                            .collect();
                        for (i, job) in jobs.into_iter().enumerate() {
                            assert_eq!(block_on(job).unwrap(), (s, burst, i));
                        }
                        // Not an ordering: a pause of varying length, so that some bursts
                        // find threads idle, some find them gone, and some arrive just as
                        // their keep-alive runs out.
                        thread::sleep(Duration::from_micros((burst % 5 * 300) as u64));
                    }
                })
            })
            .collect();
        for submitter in submitters {
            submitter.join().unwrap();
        }
        let handle = rt.handle().clone();
        let stats = handle.blocking_stats().blocking;
        assert!(stats.threads <= 3, "{stats:?}");
        assert!(stats.idle_threads <= stats.threads, "{stats:?}");
        assert_eq!(stats.queued, 0, "{stats:?}");
        // Every thread times out in the end, and the pool starts again from nothing.
        wait_for_stats_blocking(&handle, "every thread gone", |s| s.blocking.threads == 0);
        assert_eq!(block_on(handle.spawn_blocking(|| 9)).unwrap(), 9);
    });
}

#[test]
fn threads_stay_while_the_keep_alive_has_not_passed() {
    // The counterpart of `idle_threads_exit_after_the_keep_alive`: with the default 10 s,
    // a burst's threads are still there for the next burst.
    with_hang_guard(|| {
        tempo::run(async {
            let handle = Handle::current();
            let barrier = Arc::new(Barrier::new(2));
            let burst = |barrier: Arc<Barrier>| {
                (0..2)
                    .map(|_| {
                        let barrier = barrier.clone();
                        spawn_blocking(move || {
                            barrier.wait();
                            thread::current().id()
                        })
                    })
                    .collect::<Vec<_>>()
            };
            let mut first = HashSet::new();
            for job in burst(barrier.clone()) {
                first.insert(job.await.unwrap());
            }
            wait_for_stats(&handle, "both threads idle", |s| {
                s.blocking.idle_threads == 2
            })
            .await;
            let mut second = HashSet::new();
            for job in burst(barrier) {
                second.insert(job.await.unwrap());
            }
            assert_eq!(
                first, second,
                "the second burst reused the first one's threads"
            );
        })
    });
}

#[test]
fn a_queue_limit_holds_and_a_producer_awaiting_slots_waits() {
    const LIMIT: usize = 2;
    const JOBS: usize = 20;
    with_hang_guard(|| {
        let rt = rt(|b| b.max_blocking_threads(1).blocking_queue_limit(LIMIT));
        rt.block_on(async {
            let handle = Handle::current();
            let gate = Gate::default();
            let produced = Arc::new(AtomicUsize::new(0));
            let most_queued = Arc::new(AtomicUsize::new(0));
            let producer = {
                let (gate, produced, most_queued, handle) = (
                    gate.clone(),
                    produced.clone(),
                    most_queued.clone(),
                    handle.clone(),
                );
                tempo::spawn(async move {
                    let mut jobs = Vec::new();
                    for i in 0..JOBS {
                        let slot = tempo::task::blocking_slot().await;
                        let (gate, job_most_queued, job_handle) =
                            (gate.clone(), most_queued.clone(), handle.clone());
                        jobs.push(slot.spawn(move || {
                            gate.wait();
                            let queued = job_handle.blocking_stats().blocking.queued;
                            job_most_queued.fetch_max(queued, SeqCst);
                            i
                        }));
                        produced.store(i + 1, SeqCst);
                        most_queued.fetch_max(handle.blocking_stats().blocking.queued, SeqCst);
                    }
                    jobs
                })
            };
            // One job runs (held at the gate), LIMIT wait in the queue, and the producer
            // waits for a place: it has made exactly 1 + LIMIT jobs, and stays there.
            wait_until("the producer to fill the queue", || {
                produced.load(SeqCst) == 1 + LIMIT
            })
            .await;
            for _ in 0..1_000 {
                tempo::task::yield_now().await;
            }
            assert_eq!(
                produced.load(SeqCst),
                1 + LIMIT,
                "the producer did not wait"
            );
            let stats = handle.blocking_stats().blocking;
            assert_eq!(
                (stats.threads, stats.queued, stats.waiting),
                (1, LIMIT, 0),
                "{stats:?}"
            );
            assert_eq!(stats.queue_limit, Some(LIMIT));

            gate.open();
            let jobs = producer.await.unwrap();
            for (expected, job) in jobs.into_iter().enumerate() {
                assert_eq!(job.await.unwrap(), expected);
            }
            assert_eq!(produced.load(SeqCst), JOBS);
            assert!(
                most_queued.load(SeqCst) <= LIMIT,
                "the queue held {} jobs",
                most_queued.load(SeqCst)
            );
        })
    });
}

#[test]
fn spawn_blocking_on_a_full_queue_returns_at_once_and_admits_in_order() {
    const JOBS: usize = 10;
    with_hang_guard(|| {
        let rt = rt(|b| b.max_blocking_threads(1).blocking_queue_limit(1));
        rt.block_on(async {
            let handle = Handle::current();
            let gate = Gate::default();
            let order = Arc::new(Mutex::new(Vec::new()));
            let (started_tx, mut started) = unbounded_channel();
            let first = {
                let (gate, order) = (gate.clone(), order.clone());
                spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                    order.lock().unwrap().push(0);
                })
            };
            started.recv().await.unwrap();
            // The thread is busy; the queue has one place. These return at once.
            let rest: Vec<_> = (1..JOBS)
                .map(|i| {
                    let order = order.clone();
                    spawn_blocking(move || order.lock().unwrap().push(i))
                })
                .collect();
            // One takes the place; the others wait in admission tasks.
            let stats = wait_for_stats(&handle, "one queued, the rest waiting", |s| {
                s.blocking.queued == 1 && s.blocking.waiting == JOBS - 2
            })
            .await;
            assert_eq!(stats.blocking.threads, 1);

            gate.open();
            first.await.unwrap();
            for job in rest {
                job.await.unwrap();
            }
            assert_eq!(*order.lock().unwrap(), (0..JOBS).collect::<Vec<_>>());
            let stats = handle.blocking_stats().blocking;
            assert_eq!((stats.queued, stats.waiting), (0, 0));
        })
    });
}

#[test]
fn abort_of_a_queued_job_cancels_it_and_its_closure_never_runs() {
    with_hang_guard(|| {
        let rt = rt(|b| b.max_blocking_threads(1).blocking_queue_limit(1));
        rt.block_on(async {
            let handle = Handle::current();
            let gate = Gate::default();
            let (started_tx, mut started) = unbounded_channel();
            let running = {
                let gate = gate.clone();
                spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                    "ran"
                })
            };
            started.recv().await.unwrap();
            let queued_ran = Arc::new(AtomicBool::new(false));
            let waiting_ran = Arc::new(AtomicBool::new(false));
            let queued = {
                let ran = queued_ran.clone();
                spawn_blocking(move || ran.store(true, SeqCst))
            };
            let waiting = {
                let ran = waiting_ran.clone();
                spawn_blocking(move || ran.store(true, SeqCst))
            };
            wait_for_stats(&handle, "one queued, one waiting", |s| {
                (s.blocking.queued, s.blocking.waiting) == (1, 1)
            })
            .await;
            queued.abort();
            waiting.abort();
            // Abort cannot stop a running closure: the running job keeps its output.
            running.abort();
            gate.open();
            assert_eq!(running.await.unwrap(), "ran");
            assert!(queued.await.unwrap_err().is_cancelled());
            assert!(waiting.await.unwrap_err().is_cancelled());
            assert!(!queued_ran.load(SeqCst), "an aborted queued job ran");
            assert!(!waiting_ran.load(SeqCst), "an aborted waiting job ran");
            // The pool is not stuck: the next job runs.
            assert_eq!(spawn_blocking(|| 1).await.unwrap(), 1);
        })
    });
}

#[test]
fn spawn_cpu_runs_on_at_most_cpu_threads_threads() {
    const JOBS: usize = 6;
    with_hang_guard(|| {
        let rt = rt(|b| b.cpu_threads(2));
        rt.block_on(async {
            let handle = Handle::current();
            let gate = Gate::default();
            let running = Concurrency::default();
            let (started_tx, mut started): (UnboundedSender<usize>, _) = unbounded_channel();
            let jobs: Vec<_> = (0..JOBS)
                .map(|i| {
                    let (gate, running, started_tx) =
                        (gate.clone(), running.clone(), started_tx.clone());
                    spawn_cpu(move || {
                        let _running = running.enter();
                        started_tx.send(i).unwrap();
                        gate.wait();
                        thread_name()
                    })
                })
                .collect();
            recv_n(&mut started, 2).await;
            let stats = handle.blocking_stats();
            assert_eq!(
                (stats.cpu.threads, stats.cpu.queued, stats.cpu.max_threads),
                (2, JOBS - 2, 2),
                "{stats:?}"
            );
            assert_eq!(
                stats.blocking.threads, 0,
                "spawn_cpu used the blocking pool"
            );
            assert!(started.try_recv().is_err(), "a third CPU job started");

            gate.open();
            let mut names = HashSet::new();
            for job in jobs {
                let name = job.await.unwrap();
                assert!(name.starts_with("tempo-cpu-"), "ran on {name}");
                names.insert(name);
            }
            assert_eq!(names.len(), 2);
            assert_eq!(running.max(), 2);
            // No keep-alive: the CPU threads stay.
            let stats = wait_for_stats(&handle, "both CPU threads idle", |s| {
                s.cpu.idle_threads == 2
            })
            .await;
            assert_eq!(stats.cpu.threads, 2);
        })
    });
}

#[test]
fn handle_spawns_onto_the_pools_from_a_plain_thread() {
    with_hang_guard(|| {
        let rt = rt(|b| b);
        let handle = rt.handle().clone();
        // No runtime on this thread, and the runtime's loop is not running: the unbounded
        // pools need neither.
        let (blocking, cpu, slot) = thread::spawn(move || {
            assert!(Handle::try_current().is_none());
            let blocking = block_on(handle.spawn_blocking(thread_name)).unwrap();
            let cpu = block_on(handle.spawn_cpu(thread_name)).unwrap();
            let slot = block_on(handle.blocking_slot());
            let slot = block_on(slot.spawn(|| 3)).unwrap();
            (blocking, cpu, slot)
        })
        .join()
        .unwrap();
        assert!(blocking.starts_with("tempo-blocking-"), "{blocking}");
        assert!(cpu.starts_with("tempo-cpu-"), "{cpu}");
        assert_eq!(slot, 3);
        drop(rt);
    });
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_naming_the_handle() {
    let panic = std::panic::catch_unwind(|| spawn_blocking(|| ())).expect_err("no runtime");
    let text = panic_text(&*panic);
    assert!(text.contains("outside a tempo runtime"), "{text}");
    assert!(text.contains("Handle::spawn_blocking"), "{text}");
}

#[test]
fn shutdown_waits_for_a_running_job_that_finishes_within_the_timeout() {
    with_hang_guard(|| {
        let rt = rt(|b| b.shutdown_timeout(Duration::from_secs(30)));
        let handle = rt.handle().clone();
        let gate = Gate::default();
        let finished = Arc::new(AtomicBool::new(false));
        // The pool runs jobs whether or not the loop does: no block_on needed.
        let (started_tx, started) = std::sync::mpsc::channel();
        let job = {
            let (gate, finished) = (gate.clone(), finished.clone());
            handle.spawn_blocking(move || {
                started_tx.send(()).unwrap();
                gate.wait();
                finished.store(true, SeqCst);
                7
            })
        };
        started.recv().unwrap();
        // The job finishes only once the drop below is under way, so if the drop did not
        // wait for it, `finished` would still be false when it returns.
        let opener = {
            let handle = handle.clone();
            thread::spawn(move || {
                wait_for_stats_blocking(&handle, "the shutdown to start", |s| s.blocking.shut_down);
                gate.open();
            })
        };
        drop(rt);
        assert!(
            finished.load(SeqCst),
            "the drop returned before the running job finished"
        );
        assert_eq!(handle.blocking_stats().blocking.threads, 0);
        opener.join().unwrap();
        assert_eq!(block_on(job).unwrap(), 7);
    });
}

#[test]
fn shutdown_detaches_a_job_still_running_at_the_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(200);
    with_hang_guard(|| {
        let rt = rt(|b| b.shutdown_timeout(TIMEOUT));
        let handle = rt.handle().clone();
        let gate = Gate::default();
        let (started_tx, started) = std::sync::mpsc::channel();
        let job = {
            let gate = gate.clone();
            handle.spawn_blocking(move || {
                started_tx.send(()).unwrap();
                gate.wait();
                "finished on its own"
            })
        };
        started.recv().unwrap();
        let start = Instant::now();
        drop(rt);
        let took = start.elapsed();
        assert!(took >= TIMEOUT, "the drop gave the job only {took:?}");
        assert!(
            took < TIMEOUT + Duration::from_secs(5),
            "the drop took {took:?}"
        );
        let stats = handle.blocking_stats().blocking;
        assert!(stats.shut_down);
        assert_eq!(
            stats.threads, 1,
            "the detached thread is still running the job"
        );
        assert!(!job.is_finished());

        // Detached, not killed: the job finishes, its handle gets the output, and the
        // thread exits.
        gate.open();
        assert_eq!(block_on(job).unwrap(), "finished on its own");
        wait_for_stats_blocking(&handle, "the detached thread to exit", |s| {
            s.blocking.threads == 0
        });
    });
}

#[test]
fn shutdown_cancels_queued_and_waiting_jobs_and_they_never_run() {
    with_hang_guard(|| {
        let rt = rt(|b| {
            b.max_blocking_threads(1)
                .blocking_queue_limit(1)
                .cpu_threads(1)
                .shutdown_timeout(Duration::from_secs(30))
        });
        let handle = rt.handle().clone();
        let gate = Gate::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let (running, running_cpu, cancelled) = rt.block_on(async {
            let (started_tx, mut started) = unbounded_channel();
            let running = {
                let (gate, started_tx) = (gate.clone(), started_tx.clone());
                spawn_blocking(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                    1
                })
            };
            let running_cpu = {
                let gate = gate.clone();
                spawn_cpu(move || {
                    started_tx.send(()).unwrap();
                    gate.wait();
                    2
                })
            };
            recv_n(&mut started, 2).await;
            let cancelled = vec![
                spawn_blocking(counted(&ran)), // queued
                spawn_blocking(counted(&ran)), // waiting for a place
                spawn_cpu(counted(&ran)),      // queued
            ];
            wait_for_stats(&handle, "jobs queued and waiting", |s| {
                (s.blocking.queued, s.blocking.waiting, s.cpu.queued) == (1, 1, 1)
            })
            .await;
            (running, running_cpu, cancelled)
        });
        let opener = {
            let handle = handle.clone();
            let gate = gate.clone();
            thread::spawn(move || {
                wait_for_stats_blocking(&handle, "the shutdown to start", |s| {
                    s.blocking.shut_down && s.cpu.shut_down
                });
                gate.open();
            })
        };
        drop(rt);
        opener.join().unwrap();
        assert_eq!(block_on(running).unwrap(), 1);
        assert_eq!(block_on(running_cpu).unwrap(), 2);
        for job in cancelled {
            assert!(block_on(job).unwrap_err().is_cancelled());
        }
        assert_eq!(ran.load(SeqCst), 0, "a job queued at shutdown ran");

        // After shutdown, spawning through the handle cancels at once.
        let late = handle.spawn_blocking(counted(&ran));
        assert!(block_on(late).unwrap_err().is_cancelled());
        let slot = block_on(handle.blocking_slot());
        assert!(
            block_on(slot.spawn(counted(&ran)))
                .unwrap_err()
                .is_cancelled()
        );
        assert!(
            block_on(handle.spawn_cpu(counted(&ran)))
                .unwrap_err()
                .is_cancelled()
        );
        assert_eq!(ran.load(SeqCst), 0, "a job spawned after shutdown ran");
    });
}

/// A job that counts its runs in `ran`.
fn counted(ran: &Arc<AtomicUsize>) -> impl FnOnce() + Send + 'static {
    let ran = ran.clone();
    move || {
        ran.fetch_add(1, SeqCst);
    }
}
