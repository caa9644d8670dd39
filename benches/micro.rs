//! Micro-benchmarks: each group runs the same workload on tempo and on tokio, so every
//! report shows both. Workloads and sizes are tokio's own, from its `benches/rt_current_thread.rs`
//! and `benches/rt_multi_threaded.rs`; tempo's single worker runs against tokio's
//! `current_thread` runtime.
//!
//! Run: `cargo bench --bench micro`. On a 2-core machine the numbers are noisy; compare the
//! two lines of a group (a ratio), not absolute times across runs.

// criterion_group!/criterion_main! generate undocumented public functions.
#![allow(missing_docs)]

use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};

/// Tasks spawned by `spawn_many_local` (tokio's `NUM_SPAWN` for current_thread).
const SPAWN_MANY: usize = 1_000;
/// `yield_many`: tasks, each yielding this many times (tokio's values).
const YIELD_TASKS: usize = 200;
const YIELDS_PER_TASK: usize = 1_000;
/// `chained_spawn`: depth of the recursive spawn.
const CHAIN_DEPTH: usize = 1_000;

fn tempo_rt() -> tempo::Runtime {
    tempo::Runtime::new().expect("tempo runtime")
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Spawn `SPAWN_MANY` empty tasks from inside the runtime, then await every handle.
fn spawn_many_local(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = tempo_rt();
    g.bench_function("tempo", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..SPAWN_MANY).map(|_| tempo::spawn(async {})).collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..SPAWN_MANY).map(|_| tokio::spawn(async {})).collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
}

/// `YIELD_TASKS` tasks each calling `yield_now` `YIELDS_PER_TASK` times: a task waking
/// itself, over and over.
fn yield_many(g: &mut BenchmarkGroup<'_, WallTime>) {
    let rt = tempo_rt();
    g.bench_function("tempo", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        tempo::spawn(async {
                            for _ in 0..YIELDS_PER_TASK {
                                tempo::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let handles: Vec<_> = (0..YIELD_TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..YIELDS_PER_TASK {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        })
    });
}

/// Each task spawns the next, `CHAIN_DEPTH` deep; the last reports through a std channel.
fn chained_spawn(g: &mut BenchmarkGroup<'_, WallTime>) {
    fn tempo_chain(left: usize, done: std::sync::mpsc::SyncSender<()>) {
        if left == 0 {
            done.send(()).unwrap();
        } else {
            drop(tempo::spawn(async move { tempo_chain(left - 1, done) }));
        }
    }
    fn tokio_chain(left: usize, done: std::sync::mpsc::SyncSender<()>) {
        if left == 0 {
            done.send(()).unwrap();
        } else {
            drop(tokio::spawn(async move { tokio_chain(left - 1, done) }));
        }
    }
    let rt = tempo_rt();
    g.bench_function("tempo", |b| {
        b.iter(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            rt.block_on(async move {
                tempo_chain(CHAIN_DEPTH, tx);
                // Let the chain run: yield until it has reported.
                while rx.try_recv().is_err() {
                    tempo::task::yield_now().await;
                }
            })
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            rt.block_on(async move {
                tokio_chain(CHAIN_DEPTH, tx);
                while rx.try_recv().is_err() {
                    tokio::task::yield_now().await;
                }
            })
        })
    });
}

/// The cost of debug mode: the same spawn-and-yield workload with diagnostics off (the
/// default) and on (`slow_poll_threshold`, as `TEMPO_DEBUG=1` sets it: task table, slow-poll
/// timing, watchdog thread).
fn debug_mode(g: &mut BenchmarkGroup<'_, WallTime>) {
    let workload = || async {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                tempo::spawn(async {
                    for _ in 0..10 {
                        tempo::task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    };
    let off = tempo_rt();
    g.bench_function("tempo_debug_off", |b| b.iter(|| off.block_on(workload())));
    let on = tempo::Builder::new()
        .slow_poll_threshold(std::time::Duration::from_millis(100))
        .build()
        .expect("tempo runtime");
    g.bench_function("tempo_debug_on", |b| b.iter(|| on.block_on(workload())));
}

fn current_thread(c: &mut Criterion) {
    spawn_many_local(&mut c.benchmark_group("spawn_many_local"));
    yield_many(&mut c.benchmark_group("yield_many"));
    chained_spawn(&mut c.benchmark_group("chained_spawn"));
    debug_mode(&mut c.benchmark_group("debug_mode"));
}

criterion_group!(benches, current_thread);
criterion_main!(benches);
