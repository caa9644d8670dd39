//! [`as_completed`]: outputs in the order the futures finish — asyncio's `as_completed`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::{FusedStream, Stream};

use super::set::FutureSet;

/// Run every future from `iter` and yield their outputs in the order they finish —
/// asyncio's `for coro in asyncio.as_completed(aws): result = await coro`.
///
/// The result, [`AsCompleted`], is both a [`Stream`] (from `futures-core`, re-exported as
/// [`tempo::future::Stream`](super::Stream)) and a thing with an inherent
/// [`next`](AsCompleted::next), so it needs no extension trait:
/// `while let Some(output) = completed.next().await { ... }`.
///
/// **It drives the futures itself.** They run inside the task that polls the
/// `AsCompleted`, and only while it is polled: between two calls of `next`, nothing runs.
/// asyncio's `as_completed` schedules its awaitables as tasks, which run on their own
/// whatever the caller does. For that in tempo, [`spawn`](crate::spawn) the work and pass
/// the [`JoinHandle`](crate::task::JoinHandle)s: the tasks run by themselves, scheduled by
/// the runtime, and `as_completed` merely waits on their handles, yielding each task's
/// `Result` (see the second example).
///
/// Each future has a waker of its own, so a wake polls only the future it was for, in the
/// order they woke (the first poll polls all, in input order). A future is dropped as soon
/// as it finishes; dropping the `AsCompleted` drops (cancels) those still running.
/// Building it allocates (a box and a waker per future); polling it does not.
///
/// Mirrors asyncio's `as_completed(aws)`; differs in yielding outputs rather than
/// awaitables, and in running the futures inside the consuming task (as said above).
///
/// # Examples
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::future::as_completed;
///
/// async fn get_data(secs_x100: u64) -> String {
///     tempo::time::sleep(Duration::from_millis(secs_x100 * 10)).await;
///     format!("result {secs_x100}")
/// }
///
/// let order = tempo::run(async {
///     let mut completed = as_completed([get_data(3), get_data(1), get_data(2)]);
///     let mut order = Vec::new();
///     while let Some(result) = completed.next().await {
///         order.push(result);
///     }
///     order
/// });
/// assert_eq!(order, ["result 1", "result 2", "result 3"]);
/// ```
///
/// Over spawned tasks, which run whether or not the loop is polling:
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::future::as_completed;
///
/// tempo::run(async {
///     let tasks = [30, 10, 20].map(|ms| {
///         tempo::spawn(async move {
///             tempo::time::sleep(Duration::from_millis(ms)).await;
///             ms
///         })
///     });
///     let mut done = Vec::new();
///     let mut completed = as_completed(tasks);
///     while let Some(joined) = completed.next().await {
///         // `Err` would mean the task panicked or was aborted.
///         done.push(joined.expect("the task ran to completion"));
///     }
///     assert_eq!(done, [10, 20, 30]);
/// });
/// ```
#[doc(alias = "asyncio.as_completed")]
pub fn as_completed<I>(iter: I) -> AsCompleted<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    AsCompleted {
        set: FutureSet::new(iter),
    }
}

/// The stream returned by [`as_completed`]: each future's output as it finishes.
#[doc(alias = "as_completed")]
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F> {
    /// The futures not yet finished, each with its own waker.
    set: FutureSet<F>,
}

impl<F: Future> AsCompleted<F> {
    /// The next output to be ready, or `None` once every future has finished — the body of
    /// asyncio's `for coro in as_completed(aws): await coro`.
    ///
    /// Cancellation-safe: dropping the returned future (losing a
    /// [`select!`](crate::select), say) loses no output. An output is taken from a finished
    /// future only in the poll that returns it; futures polled meanwhile just stay where
    /// they got to.
    pub async fn next(&mut self) -> Option<F::Output> {
        std::future::poll_fn(|cx| self.set.poll_next(cx))
            .await
            .map(|(_, output)| output)
    }

    /// How many futures have not yet finished.
    pub fn len(&self) -> usize {
        self.set.running()
    }

    /// True once every future has finished (and its output been yielded).
    pub fn is_empty(&self) -> bool {
        self.set.running() == 0
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        // `FutureSet` boxes its futures, so `AsCompleted` is `Unpin`.
        self.get_mut()
            .set
            .poll_next(cx)
            .map(|next| next.map(|(_, output)| output))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.set.running(), Some(self.set.running()))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.set.running() == 0
    }
}

impl<F> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("len", &self.set.len())
            .field("running", &self.set.running())
            .finish()
    }
}
