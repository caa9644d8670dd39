//! [`race`] and [`race_all`]: the first of several futures of one output type —
//! asyncio's `wait(return_when=FIRST_COMPLETED)` as functions. For futures of different
//! types, each with its own handler, see [`select!`](crate::select).
//!
//! Both drop the losers: once one future finishes, the others are dropped, which in Rust
//! *is* cancelling them; see [Cancellation safety](super#cancellation-safety).

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use super::set::FutureSet;

/// Wait for the first of two futures with the same output type; drop the other — asyncio's
/// `wait({a, b}, return_when=FIRST_COMPLETED)` for two awaitables.
///
/// Both run inside the calling task. The first poll polls `a` first; after that the two
/// take turns going first, so neither can starve the other of the cooperative budget, and
/// when both are ready each wins about half the ties. The loser is dropped (cancelled)
/// before `race` returns; see [Cancellation safety](crate::future#cancellation-safety).
/// For outputs of different types, or to know which won, use
/// [`select!`](crate::select). No allocation: the futures are pinned inside the returned
/// future.
///
/// Mirrors asyncio's `wait(FIRST_COMPLETED)`; differs in dropping the loser instead of
/// leaving it pending, and in returning the winner's output rather than `(done, pending)`.
///
/// # Examples
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::future::race;
/// use tempo::time::sleep;
///
/// let first = tempo::run(race(
///     async { sleep(Duration::from_secs(10)).await; "slow" },
///     async { sleep(Duration::from_millis(5)).await; "fast" },
/// ));
/// assert_eq!(first, "fast");
/// ```
#[doc(alias = "wait")]
#[doc(alias = "FIRST_COMPLETED")]
pub fn race<T, A, B>(a: A, b: B) -> impl Future<Output = T>
where
    A: IntoFuture<Output = T>,
    B: IntoFuture<Output = T>,
{
    let (a, b) = (a.into_future(), b.into_future());
    async move {
        let mut a = pin!(a);
        let mut b = pin!(b);
        // Which goes first on the next poll.
        let mut a_first = true;
        std::future::poll_fn(|cx| {
            let first_a = a_first;
            a_first = !a_first;
            if first_a {
                if let Poll::Ready(output) = a.as_mut().poll(cx) {
                    return Poll::Ready(output);
                }
                b.as_mut().poll(cx)
            } else {
                if let Poll::Ready(output) = b.as_mut().poll(cx) {
                    return Poll::Ready(output);
                }
                a.as_mut().poll(cx)
            }
        })
        .await
        // `a` and `b` are dropped here, as the async block ends: before the caller sees
        // the output.
    }
}

/// Wait for the first of any number of futures to finish; drop the rest — asyncio's
/// `asyncio.wait(aws, return_when=FIRST_COMPLETED)`. Gives the winner's input index and
/// output.
///
/// The futures run inside the calling task, each with a waker of its own, so a wake polls
/// only the future it was for, in the order they woke (the first poll polls all, in input
/// order). When one finishes, every other is dropped — cancelled — before the output is
/// returned; see [Cancellation safety](crate::future#cancellation-safety).
///
/// # Panics
/// If `iter` is empty, here, at once (an empty race would never finish; asyncio's `wait`
/// raises `ValueError` for an empty set).
///
/// Mirrors asyncio's `wait(FIRST_COMPLETED)`; differs in dropping the others instead of
/// returning them as the `pending` set. To keep the others running, spawn them and race
/// the [`JoinHandle`](crate::task::JoinHandle)s: a dropped handle detaches its task.
///
/// # Examples
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::future::race_all;
///
/// let mirrors = [("eu", 30), ("us", 10), ("ap", 20)];
/// let (index, name) = tempo::run(race_all(mirrors.map(|(name, ms)| async move {
///     tempo::time::sleep(Duration::from_millis(ms)).await;
///     name
/// })));
/// assert_eq!((index, name), (1, "us"));
/// ```
#[doc(alias = "wait")]
#[doc(alias = "FIRST_COMPLETED")]
pub fn race_all<I>(iter: I) -> RaceAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let set = FutureSet::new(iter);
    assert!(set.len() > 0, "race_all: no futures to race");
    RaceAll { set }
}

/// The future returned by [`race_all`].
#[doc(alias = "wait")]
#[must_use = "futures do nothing unless awaited"]
pub struct RaceAll<F> {
    /// The racers, each with its own waker. Cleared when one finishes.
    set: FutureSet<F>,
}

impl<F: Future> Future for RaceAll<F> {
    type Output = (usize, F::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(usize, F::Output)> {
        let this = self.get_mut();
        match this.set.poll_next(cx) {
            Poll::Ready(Some(winner)) => {
                this.set.clear();
                Poll::Ready(winner)
            }
            Poll::Ready(None) => panic!("RaceAll polled after it completed"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for RaceAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaceAll")
            .field("len", &self.set.len())
            .field("running", &self.set.running())
            .finish()
    }
}
