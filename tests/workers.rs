//! Many workers: placement, wakes across workers and threads, primitives across workers,
//! sharded listeners, and shutdown — issue 5's tests.

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use tempo::task::{JoinSet, TaskGroup, current_worker, yield_now};

fn two_workers() -> tempo::Runtime {
    tempo::Builder::new().workers(2).build().unwrap()
}

#[test]
fn tasks_spawned_from_block_on_spread_over_every_worker() {
    let rt = two_workers();
    assert_eq!(rt.handle().workers(), 2);
    let seen: BTreeSet<usize> = rt.block_on(async {
        assert_eq!(current_worker(), None, "block_on's thread is not a worker");
        let handles: Vec<_> = (0..20)
            .map(|_| tempo::spawn(async { current_worker().unwrap() }))
            .collect();
        let mut seen = BTreeSet::new();
        for h in handles {
            seen.insert(h.await.unwrap());
        }
        seen
    });
    assert_eq!(seen, BTreeSet::from([0, 1]));
}

#[test]
fn a_task_spawned_on_a_worker_stays_there_and_spawn_on_chooses() {
    let rt = two_workers();
    rt.block_on(async {
        let handle = tempo::Handle::current();
        for worker in 0..2 {
            let (outer, inner) = handle
                .spawn_on(worker, async {
                    let here = current_worker().unwrap();
                    let child = tempo::spawn(async { current_worker().unwrap() });
                    let local = tempo::spawn_local(async { current_worker().unwrap() });
                    (here, (child.await.unwrap(), local.await.unwrap()))
                })
                .await
                .unwrap();
            assert_eq!(outer, worker);
            assert_eq!(inner, (worker, worker));
        }
    });
}

#[test]
fn a_task_woken_from_another_worker_and_from_a_plain_thread_runs_on_its_own_worker() {
    let rt = two_workers();
    rt.block_on(async {
        let handle = tempo::Handle::current();
        // Woken from worker 1.
        let (tx, rx) = tempo::sync::oneshot::channel::<usize>();
        let waiter = handle.spawn_on(0, async move {
            let before = current_worker();
            let from = rx.await.unwrap();
            (before, current_worker(), from)
        });
        handle
            .spawn_on(1, async move {
                tx.send(current_worker().unwrap()).unwrap();
            })
            .await
            .unwrap();
        assert_eq!(waiter.await.unwrap(), (Some(0), Some(0), 1));

        // Woken from a plain std thread.
        let (tx, rx) = tempo::sync::oneshot::channel::<&str>();
        let waiter = handle.spawn_on(1, async move { (rx.await.unwrap(), current_worker()) });
        std::thread::spawn(move || tx.send("from a std thread").unwrap())
            .join()
            .unwrap();
        assert_eq!(waiter.await.unwrap(), ("from a std thread", Some(1)));
    });
}

#[test]
fn a_mutex_contended_across_workers_keeps_an_exact_count() {
    const TASKS_PER_WORKER: usize = 4;
    const INCREMENTS: u64 = 100_000 / (2 * TASKS_PER_WORKER as u64);
    let rt = two_workers();
    let total = rt.block_on(async {
        let counter = Arc::new(tempo::sync::Mutex::new(0u64));
        let handle = tempo::Handle::current();
        let mut tasks = JoinSet::new();
        for worker in 0..2 {
            for _ in 0..TASKS_PER_WORKER {
                let counter = counter.clone();
                tasks.insert(handle.spawn_on(worker, async move {
                    for i in 0..INCREMENTS {
                        let mut n = counter.lock().await;
                        *n += 1;
                        drop(n);
                        if i % 64 == 0 {
                            yield_now().await;
                        }
                    }
                }));
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        *counter.lock().await
    });
    assert_eq!(total, 100_000);
}

#[test]
fn join_set_and_task_group_work_across_workers() {
    let rt = two_workers();
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..50usize {
            set.spawn(async move { (i, current_worker().unwrap()) });
        }
        let mut workers = BTreeSet::new();
        let mut sum = 0;
        while let Some(out) = set.join_next().await {
            let (i, w) = out.unwrap();
            sum += i;
            workers.insert(w);
        }
        assert_eq!(sum, (0..50).sum::<usize>());
        assert_eq!(workers, BTreeSet::from([0, 1]));

        let mut group = TaskGroup::new();
        let handle = tempo::Handle::current();
        let drops = Arc::new(AtomicUsize::new(0));
        // Dealt round-robin from block_on: one on each worker.
        for _ in 0..2 {
            let guard = DropCount(drops.clone());
            group.spawn(async move {
                let _guard = guard;
                std::future::pending::<Result<(), &str>>().await
            });
        }
        let failing = handle.spawn_on(1, async { Err::<(), _>("failed on worker 1") });
        let failing = failing.await.unwrap();
        group.spawn(async move { failing });
        assert!(group.join().await.is_err());
        assert_eq!(drops.load(SeqCst), 2);
    });
}

#[test]
fn a_sharded_listener_spreads_connections_over_every_worker() {
    const CONNECTIONS: usize = 1_000;
    let rt = two_workers();
    let (addr, per_worker, loops) = rt.block_on(async {
        let per_worker: Arc<[AtomicUsize; 2]> =
            Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
        let listener = tempo::net::TcpListener::bind_sharded("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr();
        let counts = per_worker.clone();
        let loops = listener.spawn_accept_loops(move |mut stream, _peer| {
            let counts = counts.clone();
            async move {
                let worker = current_worker().unwrap();
                counts[worker].fetch_add(1, SeqCst);
                let _ = stream.write_all(&[worker as u8]).await;
            }
        });
        (addr, per_worker, loops)
    });
    // Clients on plain threads, while the workers serve on theirs.
    let clients: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut seen = [0usize; 2];
                for _ in 0..CONNECTIONS / 4 {
                    let mut conn = std::net::TcpStream::connect(addr).unwrap();
                    conn.set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let mut worker = [0u8; 1];
                    conn.read_exact(&mut worker).unwrap();
                    seen[worker[0] as usize] += 1;
                }
                seen
            })
        })
        .collect();
    let mut seen = [0usize; 2];
    for c in clients {
        let s = c.join().unwrap();
        seen[0] += s[0];
        seen[1] += s[1];
    }
    assert_eq!(seen[0] + seen[1], CONNECTIONS);
    assert_eq!(per_worker[0].load(SeqCst), seen[0]);
    assert_eq!(per_worker[1].load(SeqCst), seen[1]);
    if cfg!(target_os = "linux") {
        // SO_REUSEPORT hashes connections over the sockets: both get a fair share.
        assert!(
            seen[0] >= CONNECTIONS / 5 && seen[1] >= CONNECTIONS / 5,
            "{seen:?}"
        );
    }
    drop(loops);
}

struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Records the thread that ran its destructor.
struct DropWhere(Arc<std::sync::Mutex<Vec<String>>>);
impl Drop for DropWhere {
    fn drop(&mut self) {
        let name = std::thread::current().name().unwrap_or("?").to_string();
        self.0.lock().unwrap().push(name);
    }
}

#[test]
fn shutdown_with_two_workers_runs_every_pending_destructor_on_its_own_worker() {
    let drops = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rt = two_workers();
    rt.block_on({
        let drops = drops.clone();
        async move {
            let handle = tempo::Handle::current();
            let mut started = Vec::new();
            for worker in 0..2 {
                for _ in 0..5 {
                    let guard = DropWhere(drops.clone());
                    let (tx, rx) = tempo::sync::oneshot::channel::<()>();
                    drop(handle.spawn_on(worker, async move {
                        let _guard = guard;
                        tx.send(()).unwrap();
                        std::future::pending::<()>().await
                    }));
                    started.push(rx);
                }
            }
            for rx in started {
                rx.await.unwrap();
            }
        }
    });
    assert_eq!(rt.live_tasks(), 10);
    drop(rt);
    let mut drops = drops.lock().unwrap().clone();
    drops.sort();
    let mut expected = vec!["tempo-worker-0".to_string(); 5];
    expected.extend(vec!["tempo-worker-1".to_string(); 5]);
    assert_eq!(drops, expected);
}

#[test]
fn handle_spawn_from_a_plain_thread_deals_round_robin() {
    let rt = two_workers();
    let handle = rt.handle().clone();
    let workers: BTreeSet<usize> = std::thread::spawn(move || {
        let handles: Vec<_> = (0..10)
            .map(|_| handle.spawn(async { current_worker().unwrap() }))
            .collect();
        let mut seen = BTreeSet::new();
        for h in handles {
            // JoinHandles are awaited from this plain thread through a tiny executor.
            let rt = tempo::Runtime::new().unwrap();
            seen.insert(rt.block_on(h).unwrap());
        }
        seen
    })
    .join()
    .unwrap();
    assert_eq!(workers, BTreeSet::from([0, 1]));
}

#[test]
fn many_workers_start_and_stop_cleanly() {
    for workers in [1, 3, 4] {
        let rt = tempo::Builder::new().workers(workers).build().unwrap();
        let n = rt.block_on(async {
            let mut set = JoinSet::new();
            for _ in 0..100 {
                set.spawn(async {
                    tempo::time::sleep(Duration::from_millis(1)).await;
                    current_worker()
                });
            }
            let mut seen = BTreeSet::new();
            while let Some(w) = set.join_next().await {
                seen.insert(w.unwrap());
            }
            seen.len()
        });
        assert_eq!(n, workers, "tasks ran on every one of {workers} workers");
    }
}

#[test]
fn spawn_from_a_blocking_pool_thread_places_the_task_on_a_worker() {
    let rt = two_workers();
    let workers: BTreeSet<usize> = rt.block_on(async {
        tempo::task::spawn_blocking(|| {
            // A plain thread of the blocking pool: no worker here, yet the runtime's context
            // is, so spawn places tasks on the workers, round-robin.
            assert_eq!(current_worker(), None);
            assert_eq!(tempo::Handle::current().workers(), 2);
            let handles: Vec<_> = (0..10)
                .map(|_| tempo::spawn(async { current_worker().unwrap() }))
                .collect();
            handles
        })
        .await
        .unwrap()
        .into_iter()
        .collect::<JoinSet<_>>()
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
    });
    assert_eq!(workers, BTreeSet::from([0, 1]));
}
