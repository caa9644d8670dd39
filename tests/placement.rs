//! Where a spawned task runs: the placement rules, pinned.
//!
//! asyncio has one loop per thread, so `create_task` has nowhere to choose. tempo runs one
//! loop per worker, and a spawn must pick one. The rule (`runtime/src/task/spawn.rs` and
//! `runtime/src/runtime/current.rs`) depends on what the spawning thread is to the
//! runtime:
//!
//! | spawned with            | from                                   | runs on                                  |
//! |-------------------------|----------------------------------------|------------------------------------------|
//! | `tempo::spawn`          | a task on worker `i`                   | worker `i`                               |
//! | `tempo::spawn`          | `block_on`, one worker                 | worker 0, which is the `block_on` thread |
//! | `tempo::spawn`          | `block_on`, `n > 1` workers            | the workers, round-robin                 |
//! | `tempo::spawn`          | a blocking-pool job                    | the workers, round-robin                 |
//! | `Handle::spawn`         | anywhere, a worker included            | the workers, round-robin                 |
//! | `Handle::spawn_on(i)`   | anywhere                               | worker `i`                               |
//! | `Runtime::spawn`        | the runtime's thread                   | worker 0 if one worker, else round-robin |
//! | `tempo::spawn_local`    | a task on worker `i`                   | worker `i`                               |
//! | `tempo::spawn_local`    | `block_on`, `n > 1` workers            | the `block_on` thread's own loop         |
//!
//! "Round-robin" is one cursor per runtime, starting at worker 0, shared by every clone of
//! its `Handle` and advanced by every `Handle::spawn` — which is what `tempo::spawn` calls
//! when there is no worker to stay on — and also by every `spawn_blocking` and `spawn_cpu`
//! (the pools take a worker for the job's admission task, needed or not).
//!
//! With `n > 1` workers, `n + 1` loops run: one per worker thread (named `tempo-worker-i`),
//! and one on the thread in `block_on`, which is none of the workers.
//!
//! Every test synchronises through the runtime itself (join handles, channels) or std
//! barriers, never by sleeping.

use std::sync::{Arc, Barrier};
use std::thread::{self, ThreadId};

use tempo::task::current_worker;

/// A fresh runtime with `n` workers: its round-robin cursor is at worker 0.
fn workers(n: usize) -> tempo::Runtime {
    tempo::Builder::new().workers(n).build().unwrap()
}

/// Where the code calling it runs: the worker's number (`None` if not a worker), the
/// thread's id and the thread's name.
fn here() -> (Option<usize>, ThreadId, Option<String>) {
    let thread = thread::current();
    (
        current_worker(),
        thread.id(),
        thread.name().map(str::to_string),
    )
}

#[test]
fn with_one_worker_block_on_and_every_spawn_run_on_the_calling_thread() {
    let rt = workers(1);
    let caller = thread::current().id();
    let from_block_on = rt.block_on(async {
        let block_on = here();
        let spawned = tempo::spawn(async { here() }).await.unwrap();
        let local = tempo::spawn_local(async { here() }).await.unwrap();
        (block_on, spawned, local)
    });
    for (worker, thread, _) in [from_block_on.0, from_block_on.1, from_block_on.2] {
        assert_eq!((worker, thread), (Some(0), caller));
    }
    // Runtime::spawn and a Handle::spawn from a foreign thread: worker 0 too, run when
    // block_on next runs the loop.
    let from_runtime = rt.spawn(async { here() });
    let handle = rt.handle().clone();
    let from_foreign = thread::spawn(move || handle.spawn(async { here() }))
        .join()
        .unwrap();
    let (a, b) = rt.block_on(async { (from_runtime.await.unwrap(), from_foreign.await.unwrap()) });
    assert_eq!((a.0, a.1), (Some(0), caller));
    assert_eq!((b.0, b.1), (Some(0), caller));
}

#[test]
fn spawn_from_a_task_on_a_worker_stays_on_that_worker() {
    let rt = workers(3);
    rt.block_on(async {
        let handle = tempo::Handle::current();
        for worker in 0..3 {
            let (parent, children) = handle
                .spawn_on(worker, async {
                    let parent = here();
                    let spawned = tempo::spawn(async { here() });
                    let named = tempo::task::Builder::new()
                        .name("child")
                        .spawn(async { here() });
                    let local = tempo::spawn_local(async { here() });
                    let mut set = tempo::task::JoinSet::new();
                    set.spawn(async { here() });
                    let in_set = set.join_next().await.unwrap().unwrap();
                    let children = [
                        spawned.await.unwrap(),
                        named.await.unwrap(),
                        local.await.unwrap(),
                        in_set,
                    ];
                    (parent, children)
                })
                .await
                .unwrap();
            assert_eq!(parent.0, Some(worker));
            assert_eq!(
                parent.2.as_deref(),
                Some(&*format!("tempo-worker-{worker}"))
            );
            for child in children {
                assert_eq!(child, parent, "a child of a task on worker {worker}");
            }
        }
    });
}

#[test]
fn spawn_from_block_on_with_several_workers_deals_round_robin_from_worker_0() {
    let rt = workers(3);
    let caller = thread::current().id();
    let placed = rt.block_on(async {
        assert_eq!(
            current_worker(),
            None,
            "the block_on thread is none of the workers"
        );
        let mut placed = Vec::new();
        // One at a time, so that nothing but these spawns moves the cursor.
        for _ in 0..6 {
            placed.push(tempo::spawn(async { here() }).await.unwrap());
        }
        placed
    });
    let numbers: Vec<Option<usize>> = placed.iter().map(|p| p.0).collect();
    assert_eq!(numbers, [0, 1, 2, 0, 1, 2].map(Some));
    for (worker, thread, name) in placed {
        assert_ne!(
            thread, caller,
            "a task spawned from block_on runs on a worker thread"
        );
        assert_eq!(name, Some(format!("tempo-worker-{}", worker.unwrap())));
    }
}

#[test]
fn handle_spawn_deals_round_robin_from_any_thread_sharing_one_cursor() {
    let rt = workers(2);
    let handle = rt.handle().clone();
    // From a foreign thread: workers 0, 1, 0.
    let foreign = {
        let handle = handle.clone();
        thread::spawn(move || [(); 3].map(|()| handle.spawn(async { current_worker() })))
            .join()
            .unwrap()
    };
    let placed = rt.block_on(async move {
        let mut placed = Vec::new();
        for task in foreign {
            placed.push(task.await.unwrap());
        }
        // From block_on, through the same cursor: worker 1.
        placed.push(tempo::spawn(async { current_worker() }).await.unwrap());
        // From a task on worker 0, Handle::spawn does not stay local: workers 0, then 1.
        let from_worker = handle
            .spawn_on(0, async {
                let handle = tempo::Handle::current();
                let a = handle.spawn(async { current_worker() }).await.unwrap();
                let b = handle.spawn(async { current_worker() }).await.unwrap();
                [a, b]
            })
            .await
            .unwrap();
        placed.extend(from_worker);
        placed
    });
    assert_eq!(placed, [0, 1, 0, 1, 0, 1].map(Some));
}

#[test]
fn spawn_blocking_moves_the_round_robin_cursor_too() {
    let rt = workers(2);
    let placed = rt.block_on(async {
        let first = tempo::spawn(async { current_worker() }).await.unwrap();
        // Takes worker 1 for an admission task it does not need (the queue is unbounded).
        tempo::task::spawn_blocking(|| ()).await.unwrap();
        let second = tempo::spawn(async { current_worker() }).await.unwrap();
        [first, second]
    });
    assert_eq!(placed, [Some(0), Some(0)]);
}

#[test]
fn spawn_from_a_blocking_job_goes_to_the_workers_round_robin() {
    let rt = workers(2);
    let (job, placed) = rt.block_on(async {
        let spawned = tempo::task::spawn_blocking(|| {
            // A pool thread belongs to the runtime but runs no loop.
            let job = (
                current_worker(),
                tempo::Handle::try_current().map(|h| h.workers()),
            );
            let tasks = [(); 2].map(|()| tempo::spawn(async { current_worker() }));
            (job, tasks)
        })
        .await
        .unwrap();
        let (job, tasks) = spawned;
        let mut placed = Vec::new();
        for task in tasks {
            placed.push(task.await.unwrap());
        }
        (job, placed)
    });
    assert_eq!(job, (None, Some(2)));
    // spawn_blocking itself took worker 0 from the cursor; the job's spawns get 1, then 0.
    assert_eq!(placed, [Some(1), Some(0)]);
}

#[test]
fn spawn_local_from_block_on_with_several_workers_stays_on_the_block_on_thread() {
    let rt = workers(2);
    let caller = thread::current().id();
    let local = rt.block_on(async { tempo::spawn_local(async { here() }).await.unwrap() });
    assert_eq!((local.0, local.1), (None, caller));
    // Runtime::spawn_local too: it runs while block_on runs.
    let task = rt.spawn_local(async { here() });
    let placed = rt.block_on(task).unwrap();
    assert_eq!((placed.0, placed.1), (None, caller));
}

#[test]
fn runtime_spawn_with_several_workers_deals_round_robin() {
    let rt = workers(2);
    let tasks = [(); 4].map(|()| rt.spawn(async { current_worker() }));
    let placed = rt.block_on(async move {
        let mut placed = Vec::new();
        for task in tasks {
            placed.push(task.await.unwrap());
        }
        placed
    });
    assert_eq!(placed, [0, 1, 0, 1].map(Some));
}

/// With `n` workers, `n + 1` loops: while every worker is stuck in a poll, the `block_on`
/// thread still accepts a connection, on a reactor of its own.
#[test]
fn with_n_workers_a_loop_of_its_own_runs_in_block_on() {
    let rt = workers(2);
    let stuck = Arc::new(Barrier::new(3));
    let release = Arc::new(Barrier::new(3));
    let mut blockers = Vec::new();
    for worker in 0..2 {
        let (stuck, release) = (stuck.clone(), release.clone());
        blockers.push(rt.handle().spawn_on(worker, async move {
            // Blocks the worker's thread on purpose: no task, socket or timer of this
            // worker can make progress until the barrier opens.
            stuck.wait();
            release.wait();
        }));
    }
    stuck.wait();
    rt.block_on(async {
        let listener = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
        let (_stream, _) = listener.accept().await.unwrap();
        client.join().unwrap();
    });
    release.wait();
    rt.block_on(async {
        for blocker in blockers {
            blocker.await.unwrap();
        }
    });
}
