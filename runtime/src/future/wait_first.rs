//! [`wait_first`]: the first of several futures to finish, with the others handed back
//! unfinished — asyncio's `done, pending = await asyncio.wait(aws,
//! return_when=FIRST_COMPLETED)`, and the futures crate's `select_all`.
//!
//! [`race_all`](super::race_all) and [`select!`](crate::select) answer "which finished
//! first?" and drop the rest. `wait_first` answers the same question and gives the rest
//! back, so the caller decides what becomes of them:
//!
//! ```text
//!   wait_first([a, b, c]) ──► b finishes first
//!                             └─► (b's output, 1, [a, c])   a and c not finished, not dropped
//!                                                            │
//!            await them (again wait_first, or join_all) ◄────┤
//!            cancel them: drop them (futures), abort them (JoinHandles) ◄┘
//! ```
//!
//! The shape is futures-util's `select_all`, which tokio users know: `(output, index, rest)`,
//! the rest in input order with the winner taken out, so an index into a parallel list of
//! names stays right after `names.remove(index)`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wait for the first of `futures` to finish; return its output, its index in the input,
/// and every other future, unfinished — asyncio's `asyncio.wait(aws,
/// return_when=FIRST_COMPLETED)` with its `done` and `pending` sets.
///
/// What "the others" are depends on what you pass, and that is the choice to make:
///
/// - **Spawned tasks' [`JoinHandle`](crate::task::JoinHandle)s** behave as asyncio's
///   tasks do. The pending tasks keep running on their own while nobody awaits them;
///   await the handles later for their outputs, or [`abort`](crate::task::JoinHandle::abort)
///   them to cancel (dropping a handle only detaches its task).
/// - **Plain futures** (`Box::pin(async { … })`) run only inside the task awaiting
///   `wait_first`. The ones handed back make no progress until polled again; dropping
///   them cancels them, there and then.
///
/// The futures must be [`Unpin`], because they are handed back by value after being polled:
/// `JoinHandle`s are; for an `async` block or `async fn`, pass `Box::pin(fut)`.
///
/// The futures are polled inside the calling task, in input order on the first poll; each
/// later poll starts one future further round, so that when several become ready together
/// none is always beaten by one listed before it (as [`select!`](crate::select) does).
/// The winner's own future is dropped before `wait_first` returns.
///
/// **Labelled shortcut:** every poll polls every future, so a wake costs `n` polls. That is
/// cheap for the handful of futures `wait_first` is meant for (polling an unfinished
/// `JoinHandle` is an atomic load and a waker comparison), and it is what futures-util's
/// `select_all` does. For hundreds of tasks,
/// collect them in a [`JoinSet`](crate::task::JoinSet) or use
/// [`as_completed`](super::as_completed), whose futures each get a waker naming them, so a
/// wake costs one poll.
///
/// # Cancellation
///
/// Dropping the returned [`WaitFirst`] before it finishes drops every future in it: plain
/// futures are cancelled, `JoinHandle`s detach their tasks. No output is lost, because none
/// was taken. To keep your handles whatever happens (in a `select!` branch, say), pass them
/// by reference — `wait_first(handles.iter_mut())` — and remove the winner yourself
/// (`handles.swap_remove(index)`): a finished handle must not be awaited again.
///
/// # Panics
///
/// If `futures` is empty, here, at once: an empty wait would never finish (asyncio's `wait`
/// raises `ValueError` for an empty set). Polling the `WaitFirst` again after it returned
/// panics too.
///
/// # Examples
///
/// Seed 003's lesson: the first task to finish, and the ones still pending, named.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::future::wait_first;
///
/// async fn fetch_data(ms: u64) -> u64 {
///     tempo::time::sleep(Duration::from_millis(ms)).await;
///     ms
/// }
///
/// tempo::run(async {
///     let mut names = vec!["slow", "fast", "middle"];
///     let tasks = [30, 5, 15].map(|ms| tempo::spawn(fetch_data(ms)));
///
///     // done, pending = await asyncio.wait(tasks, return_when=FIRST_COMPLETED)
///     let (done, index, pending) = wait_first(tasks).await;
///     assert_eq!(done.unwrap(), 5);
///     assert_eq!(names.remove(index), "fast");
///     assert_eq!(names, ["slow", "middle"]); // still lined up with `pending`
///
///     // The pending tasks kept running; wait for the next of them the same way.
///     let (next, index, rest) = wait_first(pending).await;
///     assert_eq!((next.unwrap(), names.remove(index)), (15, "middle"));
///
///     // Or cancel what is left: for task in pending: task.cancel()
///     for task in &rest {
///         task.abort();
///     }
///     for task in rest {
///         assert!(task.await.unwrap_err().is_cancelled());
///     }
/// });
/// ```
#[doc(alias = "wait")]
#[doc(alias = "FIRST_COMPLETED")]
#[doc(alias = "select_all")]
pub fn wait_first<I>(futures: I) -> WaitFirst<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
    <I::Item as IntoFuture>::IntoFuture: Unpin,
{
    let futures: Vec<_> = futures.into_iter().map(IntoFuture::into_future).collect();
    assert!(!futures.is_empty(), "wait_first: no futures to wait for");
    WaitFirst { futures, next: 0 }
}

/// The future returned by [`wait_first`]. Its output is `(output, index, pending)`: the
/// first finished future's output, its index in the input, and the other futures in input
/// order.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitFirst<F> {
    /// The futures, in input order, none finished. Emptied when one finishes and the rest
    /// are handed back; never empty before that (`wait_first` refuses an empty input).
    futures: Vec<F>,
    /// The index the next poll starts at, moving one round each poll so that none is
    /// always polled after the others.
    next: usize,
}

impl<F: Future + Unpin> Future for WaitFirst<F> {
    type Output = (F::Output, usize, Vec<F>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `WaitFirst<F>` is `Unpin` (a `Vec` and a `usize`), and each `F` is `Unpin`.
        let this = self.get_mut();
        let n = this.futures.len();
        assert!(n > 0, "WaitFirst polled after it completed");
        let start = this.next % n;
        this.next = (start + 1) % n;
        for k in 0..n {
            let index = (start + k) % n;
            if let Poll::Ready(output) = Pin::new(&mut this.futures[index]).poll(cx) {
                let mut pending = mem::take(&mut this.futures);
                // The winner has finished: it must not be polled again, so it is not
                // handed back. Its destructor runs here, before the caller sees the output.
                drop(pending.remove(index));
                return Poll::Ready((output, index, pending));
            }
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for WaitFirst<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFirst")
            .field("waiting_on", &self.futures.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::future::{Future, poll_fn, ready};
    use std::pin::{Pin, pin};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::task::{Context, Poll, Waker};

    use super::wait_first;
    use crate::task::yield_now;

    /// Counts its drops: proves a future's destructor ran.
    struct DropCount(Arc<AtomicUsize>);
    impl Drop for DropCount {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// Finishes with `value` after `turns` of yielding: a finish order set without a clock.
    fn after(turns: usize, value: usize) -> Pin<Box<dyn Future<Output = usize> + Send>> {
        Box::pin(async move {
            for _ in 0..turns {
                yield_now().await;
            }
            value
        })
    }

    #[test]
    fn returns_the_first_to_finish_its_index_and_the_rest_in_input_order() {
        crate::run(async {
            let (output, index, pending) =
                wait_first([after(30, 0), after(10, 1), after(20, 2)]).await;
            assert_eq!((output, index, pending.len()), (1, 1, 2));
            // Input order, winner taken out: [0, 2]. Await them in reverse to show each is
            // the future it was.
            let mut pending = pending;
            assert_eq!(pending.pop().expect("two pending").await, 2);
            assert_eq!(pending.pop().expect("one pending").await, 0);
        });
    }

    #[test]
    fn the_pending_can_be_waited_on_again_until_none_is_left() {
        crate::run(async {
            let mut names = vec!["c", "a", "d", "b"];
            let mut pending = vec![after(40, 3), after(10, 1), after(50, 4), after(20, 2)];
            let mut order = Vec::new();
            while !pending.is_empty() {
                let (output, index, rest) = wait_first(pending).await;
                order.push((output, names.remove(index)));
                pending = rest;
            }
            assert_eq!(order, [(1, "a"), (2, "b"), (3, "c"), (4, "d")]);
        });
    }

    #[test]
    fn the_winner_is_dropped_before_its_output_is_returned_and_the_rest_are_not() {
        let drops = Arc::new(AtomicUsize::new(0));
        // The guard lives in the future itself, not in a local of an `async` block (which
        // would drop as the block finished, whoever held the future).
        let guarded = |polls_needed: usize, value: usize| {
            let guard = DropCount(drops.clone());
            let mut polls = 0;
            Box::pin(poll_fn(move |cx: &mut Context<'_>| {
                let _held = &guard;
                polls += 1;
                if polls < polls_needed {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(value)
                }
            }))
        };
        let futures = [guarded(5, 0), guarded(1, 1), guarded(5, 2)];
        crate::run(async {
            let (output, _, pending) = wait_first(futures).await;
            assert_eq!(output, 1);
            assert_eq!(drops.load(SeqCst), 1, "only the winner is gone");
            // Cancelling the pending futures is dropping them: their destructors run now.
            drop(pending);
            assert_eq!(drops.load(SeqCst), 3);
        });
    }

    #[test]
    fn dropping_it_unfinished_drops_every_future_and_loses_no_output() {
        let drops = Arc::new(AtomicUsize::new(0));
        let futures: Vec<_> = (0..3)
            .map(|_| {
                let guard = DropCount(drops.clone());
                Box::pin(async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                })
            })
            .collect();
        // No runtime needed: pending futures and a no-op waker.
        let mut waiting = wait_first(futures);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut waiting).poll(&mut cx).is_pending());
        assert_eq!(drops.load(SeqCst), 0);
        drop(waiting);
        assert_eq!(drops.load(SeqCst), 3);
    }

    #[test]
    fn pending_tasks_keep_running_unawaited_until_aborted() {
        let drops = Arc::new(AtomicUsize::new(0));
        let steps = Arc::new(AtomicUsize::new(0));
        crate::run({
            let (drops, steps) = (drops.clone(), steps.clone());
            async move {
                let quick = crate::spawn(async { "quick" });
                let busy = crate::spawn({
                    let (guard, steps) = (DropCount(drops.clone()), steps.clone());
                    async move {
                        let _guard = guard;
                        loop {
                            steps.fetch_add(1, SeqCst);
                            yield_now().await;
                        }
                    }
                });
                let (output, index, pending) = wait_first([quick, busy]).await;
                assert_eq!((output.expect("quick does not fail"), index), ("quick", 0));
                // Nobody polls the busy task's handle now, yet the task runs: asyncio's
                // pending tasks do the same.
                let before = steps.load(SeqCst);
                for _ in 0..10 {
                    yield_now().await;
                }
                assert!(steps.load(SeqCst) > before, "the pending task stopped");
                assert_eq!(drops.load(SeqCst), 0);
                // Cancel it, as `for t in pending: t.cancel()` does.
                for task in &pending {
                    task.abort();
                }
                for task in pending {
                    assert!(task.await.expect_err("aborted").is_cancelled());
                }
                assert_eq!(drops.load(SeqCst), 1, "its destructor ran");
            }
        });
    }

    #[test]
    fn handles_passed_by_reference_stay_with_the_caller() {
        crate::run(async {
            let mut handles: Vec<_> = [after(20, 0), after(5, 1)]
                .into_iter()
                .map(crate::spawn)
                .collect();
            let (output, index) = {
                // The `WaitFirst` and its `&mut` handles end here.
                let (output, index, pending) = wait_first(handles.iter_mut()).await;
                assert_eq!(pending.len(), 1);
                (output.expect("no panic"), index)
            };
            assert_eq!((output, index), (1, 1));
            // The finished handle must not be awaited again: take it out.
            drop(handles.swap_remove(index));
            assert_eq!(handles.len(), 1);
            assert_eq!(handles.pop().expect("one left").await.expect("no panic"), 0);
        });
    }

    #[test]
    fn each_poll_starts_one_further_round() {
        // Both become ready at their second poll. The first poll starts at 0, the second
        // at 1: so 1 wins the tie. (In plain input order, 0 always would.)
        let ready_second_time = |value: usize| {
            let mut polls = 0;
            poll_fn(move |cx: &mut Context<'_>| {
                polls += 1;
                if polls < 2 {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                } else {
                    Poll::Ready(value)
                }
            })
        };
        let (output, index, _) =
            crate::run(wait_first([ready_second_time(0), ready_second_time(1)]));
        assert_eq!((output, index), (1, 1));
    }

    #[test]
    fn a_future_ready_at_once_wins_on_the_first_poll_in_input_order() {
        let (output, index, pending) = crate::run(wait_first([ready(7), ready(8)]));
        assert_eq!((output, index), (7, 0));
        assert_eq!(pending.len(), 1);
    }

    #[test]
    #[should_panic(expected = "no futures to wait for")]
    fn an_empty_input_panics_at_once() {
        let none: Vec<std::future::Ready<()>> = Vec::new();
        let _never = wait_first(none);
    }

    #[test]
    #[should_panic(expected = "polled after it completed")]
    fn polling_after_completion_panics() {
        let mut waiting = pin!(wait_first([ready(1)]));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_ready());
        let _ = waiting.as_mut().poll(&mut cx);
    }
}
