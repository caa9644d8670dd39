//! JoinSet, TaskGroup and ContextVar: asyncio's wait-over-tasks, TaskGroup and contextvars.

use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use tempo::task::{ContextVar, JoinSet, TaskGroup, TaskGroupError, yield_now};

/// Counts its drops: proves a future's destructor ran.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Yield `n` times: lets other tasks run a known number of turns, without a clock.
async fn turns(n: usize) {
    for _ in 0..n {
        yield_now().await;
    }
}

// ---------------------------------------------------------------------------------------
// JoinSet

#[test]
fn join_set_returns_outputs_in_completion_order() {
    tempo::run(async {
        let mut set = JoinSet::new();
        // Task i finishes after (5 - i) * 10 turns: spawn order is the reverse of finish order.
        for i in 0..5usize {
            set.spawn(async move {
                turns((5 - i) * 10).await;
                i
            });
        }
        assert_eq!(set.len(), 5);
        let mut order = Vec::new();
        while let Some(out) = set.join_next().await {
            order.push(out.unwrap());
        }
        assert_eq!(order, [4, 3, 2, 1, 0]);
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn join_set_abort_all_cancels_and_runs_destructors() {
    let drops = Arc::new(AtomicUsize::new(0));
    tempo::run({
        let drops = drops.clone();
        async move {
            let mut set = JoinSet::new();
            for _ in 0..10 {
                let guard = DropCount(drops.clone());
                set.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                });
            }
            turns(2).await;
            set.abort_all();
            let mut cancelled = 0;
            while let Some(out) = set.join_next().await {
                assert!(out.unwrap_err().is_cancelled());
                cancelled += 1;
            }
            assert_eq!(cancelled, 10);
            assert_eq!(drops.load(SeqCst), 10);
        }
    });
}

#[test]
fn dropping_a_join_set_aborts_what_is_left() {
    let drops = Arc::new(AtomicUsize::new(0));
    tempo::run({
        let drops = drops.clone();
        async move {
            let mut set = JoinSet::new();
            for _ in 0..3 {
                let guard = DropCount(drops.clone());
                set.spawn(async move {
                    let _guard = guard;
                    pending::<()>().await
                });
            }
            set.spawn(async {});
            drop(set);
            turns(3).await;
            assert_eq!(drops.load(SeqCst), 3);
        }
    });
}

#[test]
fn join_set_finds_the_one_finished_task_among_a_thousand_idle_ones() {
    // The first join_next registers every handle (in batches the budget allows); after
    // that, the one task that finishes is found through its own waker.
    tempo::run(async {
        let mut set = JoinSet::new();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let mut idle = Vec::new();
        for _ in 0..1000 {
            idle.push(set.spawn(pending::<usize>()));
        }
        // The first join_next poll registers every handle (in budgeted batches).
        let first = tempo::time::timeout(Duration::from_millis(5), set.join_next()).await;
        assert!(first.is_err(), "nothing has finished");
        set.spawn(async move {
            rx.recv().unwrap();
            7
        });
        tx.send(()).unwrap();
        assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
        for a in idle {
            a.abort();
        }
        assert_eq!(set.len(), 1000);
        set.shutdown().await;
        assert!(set.is_empty());
    });
}

#[test]
fn join_set_reports_a_panic() {
    tempo::run(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom in a set") });
        let err = set.join_next().await.unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom in a set"));
    });
}

// ---------------------------------------------------------------------------------------
// TaskGroup

#[test]
fn a_group_whose_children_succeed_joins_ok_with_every_value() {
    tempo::run(async {
        let mut group = TaskGroup::<String>::new();
        let tasks: Vec<_> = (0..5u32)
            .map(|i| {
                group.spawn(async move {
                    turns(i as usize * 3).await;
                    Ok(i * i)
                })
            })
            .collect();
        group.join().await.unwrap();
        assert_eq!(group.running(), 0);
        let mut values = Vec::new();
        for t in tasks {
            values.push(t.await.unwrap());
        }
        assert_eq!(values, [0, 1, 4, 9, 16]);
    });
}

#[test]
fn the_first_error_cancels_the_siblings_and_is_returned() {
    let drops = Arc::new(AtomicUsize::new(0));
    tempo::run({
        let drops = drops.clone();
        async move {
            let mut group = TaskGroup::new();
            let mut slow = Vec::new();
            for _ in 0..4 {
                let guard = DropCount(drops.clone());
                slow.push(group.spawn(async move {
                    let _guard = guard;
                    tempo::time::sleep(Duration::from_secs(3600)).await;
                    Ok::<u32, &str>(0)
                }));
            }
            let failing = group.spawn(async {
                turns(5).await;
                Err::<u32, _>("fetch failed")
            });
            let started = std::time::Instant::now();
            match group.join().await {
                Err(TaskGroupError::Failed(e)) => assert_eq!(e, "fetch failed"),
                other => panic!("expected the child's error, got {other:?}"),
            }
            assert!(started.elapsed() < Duration::from_secs(5));
            // join waited for the siblings to stop: their destructors have all run.
            assert_eq!(drops.load(SeqCst), 4);
            for t in slow {
                assert_eq!(t.await, None);
            }
            assert_eq!(failing.await, None);
        }
    });
}

#[test]
fn a_child_that_panics_cancels_the_rest_and_the_panic_is_reported() {
    let drops = Arc::new(AtomicUsize::new(0));
    tempo::run({
        let drops = drops.clone();
        async move {
            let mut group = TaskGroup::<()>::new();
            for _ in 0..3 {
                let guard = DropCount(drops.clone());
                group.spawn(async move {
                    let _guard = guard;
                    pending::<Result<(), ()>>().await
                });
            }
            group.spawn(async {
                turns(2).await;
                if true {
                    panic!("child exploded");
                }
                Ok::<(), ()>(())
            });
            match group.join().await {
                Err(TaskGroupError::Panicked(e)) => {
                    assert!(e.is_panic());
                    assert_eq!(e.panic_message(), Some("child exploded"));
                    // The group's own error type is generic over the children's error;
                    // `()` has no Display, so show it as a group of `&str` errors.
                    assert_eq!(
                        TaskGroupError::<&str>::Panicked(e).to_string(),
                        "a task in the group panicked: child exploded"
                    );
                }
                other => panic!("expected a panic, got {other:?}"),
            }
            assert_eq!(drops.load(SeqCst), 3);
        }
    });
}

#[test]
fn aborting_one_child_runs_its_destructors_and_is_not_a_failure() {
    let drops = Arc::new(AtomicUsize::new(0));
    tempo::run({
        let drops = drops.clone();
        async move {
            let mut group = TaskGroup::<()>::new();
            let guard = DropCount(drops.clone());
            let victim = group.spawn(async move {
                let _guard = guard;
                pending::<Result<(), ()>>().await
            });
            let other = group.spawn(async {
                turns(10).await;
                Ok(5)
            });
            turns(1).await;
            victim.abort();
            group.join().await.unwrap();
            assert_eq!(drops.load(SeqCst), 1);
            assert_eq!(victim.await, None);
            assert_eq!(other.await, Some(5));
        }
    });
}

#[test]
fn cancelling_or_dropping_the_group_cancels_its_children() {
    let drops = Arc::new(AtomicUsize::new(0));
    tempo::run({
        let drops = drops.clone();
        async move {
            // cancel(): join returns Ok once every child has stopped.
            let mut group = TaskGroup::<()>::new();
            for _ in 0..3 {
                let guard = DropCount(drops.clone());
                group.spawn(async move {
                    let _guard = guard;
                    pending::<Result<(), ()>>().await
                });
            }
            group.cancel();
            group.join().await.unwrap();
            assert_eq!(drops.load(SeqCst), 3);
            // A child spawned into a cancelled group is aborted at once.
            let late = group.spawn(async { Ok(1) });
            assert_eq!(late.await, None);

            // Dropping the group, e.g. because the task that owns it was aborted.
            let owner_drops = drops.clone();
            let owner = tempo::spawn(async move {
                let group = TaskGroup::<()>::new();
                for _ in 0..2 {
                    let guard = DropCount(owner_drops.clone());
                    group.spawn(async move {
                        let _guard = guard;
                        pending::<Result<(), ()>>().await
                    });
                }
                pending::<()>().await
            });
            turns(2).await;
            owner.abort();
            assert!(owner.await.unwrap_err().is_cancelled());
            turns(2).await;
            assert_eq!(drops.load(SeqCst), 5);
        }
    });
}

#[test]
fn group_failure_races_run_a_hundred_times() {
    for round in 0..100 {
        let drops = Arc::new(AtomicUsize::new(0));
        tempo::run({
            let drops = drops.clone();
            async move {
                let mut group = TaskGroup::new();
                for i in 0..8usize {
                    let guard = DropCount(drops.clone());
                    group.spawn(async move {
                        let _guard = guard;
                        turns(i).await;
                        if i == 3 {
                            Err(i)
                        } else {
                            pending::<Result<(), usize>>().await
                        }
                    });
                }
                match group.join().await {
                    Err(TaskGroupError::Failed(3)) => {}
                    other => panic!("round {round}: {other:?}"),
                }
                assert_eq!(drops.load(SeqCst), 8, "round {round}");
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// ContextVar

static REQUEST_ID: ContextVar<u64> = ContextVar::new("request_id");
static USER: ContextVar<String> = ContextVar::new("user");

#[test]
fn a_context_var_is_visible_across_awaits_and_inherited_by_spawned_tasks() {
    tempo::run(async {
        assert_eq!(REQUEST_ID.get(), None);
        let seen = REQUEST_ID
            .scope(42, async {
                let before = REQUEST_ID.get();
                tempo::time::sleep(Duration::from_millis(1)).await;
                let after = REQUEST_ID.get();
                let child = tempo::spawn(async {
                    yield_now().await;
                    let grandchild = tempo::spawn(async { REQUEST_ID.get() });
                    (REQUEST_ID.get(), grandchild.await.unwrap())
                });
                (before, after, child.await.unwrap())
            })
            .await;
        assert_eq!(seen, (Some(42), Some(42), (Some(42), Some(42))));
        assert_eq!(REQUEST_ID.get(), None);
    });
}

#[test]
fn concurrent_tasks_see_only_their_own_values() {
    tempo::run(async {
        let mut set = JoinSet::new();
        for id in 0..50u64 {
            set.spawn(REQUEST_ID.scope(id, async move {
                let mut seen = Vec::new();
                for _ in 0..5 {
                    yield_now().await; // interleave with the other 49
                    seen.push(REQUEST_ID.get());
                }
                (id, seen)
            }));
        }
        while let Some(out) = set.join_next().await {
            let (id, seen) = out.unwrap();
            assert!(
                seen.iter().all(|v| *v == Some(id)),
                "task {id} saw {seen:?}"
            );
        }
        // Between polls, nothing leaks into a task with no context.
        assert_eq!(
            tempo::spawn(async { REQUEST_ID.get() }).await.unwrap(),
            None
        );
    });
}

#[test]
fn set_rebinds_for_the_rest_of_the_scope_and_leaves_the_parents_copy_alone() {
    tempo::run(REQUEST_ID.scope(1, async {
        USER.set("ann".to_string());
        let child = tempo::spawn(async {
            REQUEST_ID.set(2); // the child's own copy
            yield_now().await;
            (REQUEST_ID.get(), USER.get())
        });
        assert_eq!(child.await.unwrap(), (Some(2), Some("ann".to_string())));
        assert_eq!(REQUEST_ID.get(), Some(1));
        REQUEST_ID.set(3);
        let later = tempo::spawn(async { REQUEST_ID.get() });
        assert_eq!(later.await.unwrap(), Some(3));
    }));
}

#[test]
fn set_outside_a_scope_panics_with_a_clear_message() {
    let err = std::panic::catch_unwind(|| REQUEST_ID.set(1)).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("outside a context scope"), "{msg}");
}

#[test]
fn group_children_inherit_the_context() {
    tempo::run(REQUEST_ID.scope(9, async {
        let mut group = TaskGroup::<()>::new();
        let child = group.spawn(async { Ok(REQUEST_ID.get()) });
        group.join().await.unwrap();
        assert_eq!(child.await, Some(Some(9)));
    }));
}
