//! `tempo::try_join!` as a specification: `Ok` with every value in argument order, or the
//! first `Err` with every other future dropped at that moment; futures run concurrently
//! in the calling task; a finished future is dropped at once.

mod common;

use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll};

use common::with_hang_guard;
use tempo::sync::{Notify, oneshot};

/// Counts its drops into the shared counter.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A future that never finishes and counts its drop.
async fn forever(drops: Arc<AtomicUsize>) -> Result<u8, String> {
    let _guard = DropCount(drops);
    pending().await
}

/// A future that is `Ready` at the `n`th poll, waking itself in between.
struct ReadyAt<T> {
    polls: usize,
    output: Option<T>,
}

impl<T: Unpin> Future for ReadyAt<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.polls <= 1 {
            return Poll::Ready(self.output.take().expect("polled after completion"));
        }
        self.polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn ready_at<T>(polls: usize, output: T) -> ReadyAt<T> {
    ReadyAt {
        polls,
        output: Some(output),
    }
}

#[test]
fn all_ok_gives_the_values_in_argument_order_not_finishing_order() {
    let out = tempo::run(async {
        tempo::try_join!(
            ready_at(3, Ok::<_, String>("slow")),
            ready_at(1, Ok(2u32)),
            async { Ok(vec!['c']) },
        )
    });
    assert_eq!(out, Ok(("slow", 2, vec!['c'])));
    assert_eq!(tempo::run(async { tempo::try_join!() }), Ok::<(), ()>(()));
    let one: Result<(u8,), ()> = tempo::run(async { tempo::try_join!(async { Ok(1) }) });
    assert_eq!(one, Ok((1,)));
}

#[test]
fn the_first_err_returns_at_once_and_drops_every_other_future_before_it_is_seen() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let seen_by_failure = drops.clone();
            let result = tempo::try_join!(
                forever(drops.clone()),
                ready_at(2, Err::<u8, _>("second".to_string())),
                forever(drops.clone()),
                ready_at(5, Err::<u8, _>("later".to_string())),
            );
            assert_eq!(result, Err("second".to_string()));
            // Both `forever`s were dropped by the time the error came out.
            assert_eq!(seen_by_failure.load(SeqCst), 2);
        });
    });
}

#[test]
fn an_err_after_some_oks_still_wins_and_the_oks_are_discarded() {
    let result: Result<(u8, u8), &str> =
        tempo::run(async { tempo::try_join!(async { Ok(1) }, ready_at(3, Err("late"))) });
    assert_eq!(result, Err("late"));
}

#[test]
fn the_futures_run_concurrently_in_the_calling_task() {
    with_hang_guard(|| {
        tempo::run(async {
            // Each waits for the other's signal: run one after the other, they would hang.
            let (a_tx, a_rx) = oneshot::channel::<u8>();
            let (b_tx, b_rx) = oneshot::channel::<u8>();
            let result: Result<(u8, u8), oneshot::RecvError> = tempo::try_join!(
                async move {
                    a_tx.send(1).unwrap();
                    b_rx.await
                },
                async move {
                    let a = a_rx.await?;
                    b_tx.send(a + 1).unwrap();
                    Ok(a)
                },
            );
            assert_eq!(result, Ok((2, 1)));
        });
    });
}

#[test]
fn a_finished_future_is_dropped_at_once_not_when_the_join_completes() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let release = Arc::new(Notify::new());
            let result: Result<((), ()), ()> = tempo::try_join!(
                {
                    let (drops, release) = (drops.clone(), release.clone());
                    async move {
                        let _guard = DropCount(drops);
                        release.notify_one(); // let the other branch finish next
                        Ok(())
                    }
                },
                {
                    let (drops, release) = (drops.clone(), release.clone());
                    async move {
                        release.notified().await;
                        // The first branch finished on an earlier poll: already dropped.
                        assert_eq!(drops.load(SeqCst), 1);
                        Ok(())
                    }
                },
            );
            assert_eq!(result, Ok(((), ())));
        });
    });
}

#[test]
fn dropping_the_enclosing_future_cancels_every_branch() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let joined = {
                let drops = drops.clone();
                async move { tempo::try_join!(forever(drops.clone()), forever(drops)) }
            };
            let timed_out = tempo::time::timeout(std::time::Duration::from_millis(1), joined).await;
            assert!(timed_out.is_err());
            assert_eq!(drops.load(SeqCst), 2);
        });
    });
}
