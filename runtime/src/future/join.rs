//! Waiting for all of several futures — asyncio's `gather`: [`join!`](crate::join) for a
//! fixed set of futures of any types, [`join_all`] for any number of one type, and
//! [`try_join_all`] for futures of `Result` that should stop at the first error.
//!
//! All three run their futures *inside the calling task*: nothing is spawned, and the
//! futures make progress only while the join is being awaited. asyncio's `gather` wraps
//! each coroutine in a `Task`, so they run even while nobody awaits the gather; to get that
//! in tempo, [`spawn`](crate::spawn) the futures and join their
//! [`JoinHandle`](crate::task::JoinHandle)s.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::set::FutureSet;

/// Wait for several futures at once and return all their outputs, as a tuple in argument
/// order — asyncio's `await asyncio.gather(a, b, c)`.
///
/// The futures may have different output types. They run concurrently *in the current
/// task* (nothing is spawned), so `join!` must be used inside an `async` block or function;
/// it evaluates to the tuple, already awaited. Each future is dropped as soon as it
/// finishes; dropping the enclosing future while `join!` waits drops (cancels) all that
/// are still running.
///
/// **Poll order.** The first poll polls the futures in argument order. After that, every
/// poll of the task polls each unfinished future once, starting one place further round
/// each time (`b, c, a`, then `c, a, b`, …). Rotating matters because of the cooperative
/// budget (see [`task::poll_proceed`](crate::task::poll_proceed)): a first future that
/// spends the whole budget on every poll would otherwise leave every later future finding
/// none left, for ever.
///
/// **A labelled shortcut.** `join!` polls *every* unfinished future each time the task is
/// woken, whichever of them the wake was for: O(k) polls per wake for k futures. For the
/// handful of futures `join!` is written with, that is cheaper than the bookkeeping that
/// avoids it (tokio's `join!` makes the same trade). What a runtime does for many futures
/// is what [`join_all`] does: a waker per future, so a wake polls only the future it was
/// for.
///
/// Mirrors asyncio's `gather` of a fixed set of awaitables; differs in that the futures run
/// inside the awaiting task rather than as tasks of their own, and that a panic in one
/// propagates at once (there is no `return_exceptions`: return a `Result` instead).
///
/// # Examples
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
///
/// async fn fetch(name: &str, ms: u64) -> String {
///     tempo::time::sleep(Duration::from_millis(ms)).await;
///     format!("{name} after {ms} ms")
/// }
///
/// tempo::run(async {
///     // ~30 ms in all, not 40: the sleeps overlap.
///     let (a, b, n) = tempo::join!(fetch("a", 30), fetch("b", 10), async { 7 });
///     // Results in argument order, though `b` finished first.
///     assert_eq!(a, "a after 30 ms");
///     assert_eq!(b, "b after 10 ms");
///     assert_eq!(n, 7);
/// });
/// ```
#[doc(alias = "gather")]
#[macro_export]
macro_rules! join {
    () => {
        ()
    };
    ($($future:expr),+ $(,)?) => {
        $crate::__join_impl!(@munch {} () $($future,)+)
    };
}

/// The body of [`join!`](crate::join). Not public API.
///
/// First it gives each future a "skip list" — as many `_` as futures before it — which picks
/// its element out of a tuple by destructuring (`let (_, _, x, ..) = &mut tuple;`), so no
/// index literals or `unsafe` projections are needed. Then it emits the join.
#[doc(hidden)]
#[macro_export]
macro_rules! __join_impl {
    (@munch { $($done:tt)* } ($($skip:tt)*) $future:expr, $($rest:tt)*) => {
        $crate::__join_impl!(@munch { $($done)* [($($skip)*) $future] } ($($skip)* _) $($rest)*)
    };
    (@munch { $( [($($skip:tt)*) $future:expr] )+ } ($($all:tt)*)) => {{
        const __N: usize = $crate::__count_skips!($($all)*);
        // Each future is pinned in place in the enclosing async block (no allocation), in an
        // `Option` so that it can be dropped, with `Pin::set`, the moment it finishes.
        let mut __futures = ($(
            ::core::pin::pin!(::core::option::Option::Some(
                ::core::future::IntoFuture::into_future($future)
            )),
        )+);
        let mut __outputs = ($( $crate::__none_for!($($skip)*), )+);
        // Where the next poll starts; see "Poll order" in `join!`'s docs.
        let mut __start: usize = 0;
        ::core::future::poll_fn(|__cx| {
            let mut __all_done = true;
            for __i in 0..__N {
                // `__start < __N`, so one subtraction wraps it (and no `% 1` for clippy to
                // flag when there is a single branch).
                let __branch = if __start + __i < __N {
                    __start + __i
                } else {
                    __start + __i - __N
                };
                $(
                    if __branch == $crate::__count_skips!($($skip)*) {
                        let ($($skip,)* __future, ..) = &mut __futures;
                        if let ::core::option::Option::Some(__running) =
                            __future.as_mut().as_pin_mut()
                        {
                            match ::core::future::Future::poll(__running, __cx) {
                                ::core::task::Poll::Ready(__value) => {
                                    let ($($skip,)* __output, ..) = &mut __outputs;
                                    *__output = ::core::option::Option::Some(__value);
                                    __future.set(::core::option::Option::None);
                                }
                                ::core::task::Poll::Pending => __all_done = false,
                            }
                        }
                    }
                )+
            }
            __start = if __start + 1 < __N { __start + 1 } else { 0 };
            if !__all_done {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(($({
                let ($($skip,)* __output, ..) = &mut __outputs;
                __output.take().expect("join!: each output is stored exactly once")
            },)+))
        })
        .await
    }};
}

/// Wait for every future from `iter` and return their outputs in input order — asyncio's
/// `await asyncio.gather(*aws)`.
///
/// Over futures of `Result`, `join_all` keeps every outcome, `Ok` and `Err` alike, each in
/// its input position: gather's `return_exceptions=True`, the seeds' "fail-safe gather".
/// To stop at the first error instead, use [`try_join_all`].
///
/// The futures run concurrently inside the calling task (nothing is spawned). Each has a
/// waker of its own, so a wake polls only the future it was for — in the order they woke;
/// the first poll polls them all, in input order. Each future is dropped as soon as it
/// finishes; dropping the `JoinAll` drops (cancels) those still running. Building it
/// allocates (a box and a waker per future, see `set.rs`); polling it does not.
///
/// An empty `iter` gives an empty `Vec` at the first poll, as `gather()` gives `[]`.
///
/// Mirrors asyncio's `gather(*aws)`; differs in that the futures run inside the awaiting
/// task rather than as tasks of their own — spawn them and join the
/// [`JoinHandle`](crate::task::JoinHandle)s for that.
///
/// # Examples
///
/// The seeds' fail-safe gather: three fetches, the second fails, every outcome is kept.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::future::join_all;
///
/// async fn fetch(id: u32, should_fail: bool) -> Result<String, String> {
///     if should_fail {
///         return Err(format!("task {id} encountered a critical error"));
///     }
///     tempo::task::yield_now().await;
///     Ok(format!("data from task {id}"))
/// }
///
/// let outcomes = tempo::run(join_all([fetch(1, false), fetch(2, true), fetch(3, false)]));
/// assert_eq!(
///     outcomes,
///     [
///         Ok("data from task 1".to_string()),
///         Err("task 2 encountered a critical error".to_string()),
///         Ok("data from task 3".to_string()),
///     ]
/// );
/// ```
#[doc(alias = "gather")]
#[doc(alias = "return_exceptions")]
pub fn join_all<I>(iter: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let set = FutureSet::new(iter);
    let outputs = (0..set.len()).map(|_| None).collect();
    JoinAll { set, outputs }
}

/// The future returned by [`join_all`].
#[doc(alias = "gather")]
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<F: Future> {
    /// The futures still running, each with its own waker.
    set: FutureSet<F>,
    /// Outputs by input index, `None` until that future finishes.
    outputs: Vec<Option<F::Output>>,
}

// The futures are boxed (pinned on the heap) and the outputs are never pinned, so moving a
// `JoinAll` moves nothing that is pinned.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        // `JoinAll` is `Unpin` (see above): no pin projection needed.
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((index, output))) => this.outputs[index] = Some(output),
                Poll::Ready(None) => {
                    return Poll::Ready(
                        std::mem::take(&mut this.outputs)
                            .into_iter()
                            .map(|output| output.expect("join_all: every future finished"))
                            .collect(),
                    );
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("len", &self.set.len())
            .field("running", &self.set.running())
            .finish()
    }
}

/// Wait for every future from `iter`, stopping at the first `Err`: `Ok` with every value in
/// input order, or the first error — asyncio's `gather(*aws)` with its default
/// `return_exceptions=False`.
///
/// On the first `Err`, every future still running is dropped — cancelled, its destructors
/// run — before `try_join_all` returns the error. **This differs from asyncio**, where the
/// first exception propagates out of `gather` but the other awaitables *keep running*
/// unless someone cancels them (some tutorials, seed 001 among them, say gather cancels
/// them; it does not). In tempo dropping a future is cancelling it, and the futures live
/// inside the `TryJoinAll`, so there is nothing left to run. To let the others finish,
/// spawn them and join the handles: a dropped [`JoinHandle`](crate::task::JoinHandle)
/// detaches its task instead of cancelling it.
///
/// Otherwise as [`join_all`]: the futures run inside the calling task, each with its own
/// waker, polled in the order they woke.
///
/// # Examples
///
/// The error at 10 ms ends the wait; the 10 s fetch is cancelled, not waited for.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::{Duration, Instant};
/// use tempo::future::try_join_all;
///
/// async fn fetch(ms: u64, fail: bool) -> Result<u64, String> {
///     tempo::time::sleep(Duration::from_millis(ms)).await;
///     if fail { Err(format!("failed after {ms} ms")) } else { Ok(ms) }
/// }
///
/// tempo::run(async {
///     let start = Instant::now();
///     let result = try_join_all([fetch(10_000, false), fetch(10, true)]).await;
///     assert_eq!(result, Err("failed after 10 ms".to_string()));
///     assert!(start.elapsed() < Duration::from_secs(5));
///
///     assert_eq!(try_join_all([fetch(20, false), fetch(10, false)]).await, Ok(vec![20, 10]));
/// });
/// ```
#[doc(alias = "gather")]
pub fn try_join_all<I, T, E>(iter: I) -> TryJoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    let set = FutureSet::new(iter);
    let outputs = (0..set.len()).map(|_| None).collect();
    TryJoinAll { set, outputs }
}

/// The future returned by [`try_join_all`].
#[doc(alias = "gather")]
#[must_use = "futures do nothing unless awaited"]
pub struct TryJoinAll<F: Future> {
    /// The futures still running, each with its own waker. Cleared at the first error.
    set: FutureSet<F>,
    /// Outputs by input index, `None` until that future finishes. Only `Ok`s are stored:
    /// an `Err` is returned at once.
    outputs: Vec<Option<F::Output>>,
}

// As for `JoinAll`: nothing in it is pinned in place.
impl<F: Future> Unpin for TryJoinAll<F> {}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Vec<T>, E>> {
        let this = self.get_mut();
        loop {
            match this.set.poll_next(cx) {
                Poll::Ready(Some((_, Err(error)))) => {
                    // Fail fast: cancel the rest now, before the caller sees the error.
                    this.set.clear();
                    return Poll::Ready(Err(error));
                }
                Poll::Ready(Some((index, ok))) => this.outputs[index] = Some(ok),
                Poll::Ready(None) => {
                    let values = std::mem::take(&mut this.outputs)
                        .into_iter()
                        .map(|output| match output {
                            Some(Ok(value)) => value,
                            // Errors are returned, never stored; a `None` means a poll after
                            // an error was returned (or after the `Ok`: then the Vec is empty).
                            _ => panic!("TryJoinAll polled after it returned an error"),
                        })
                        .collect();
                    return Poll::Ready(Ok(values));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<F: Future> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryJoinAll")
            .field("len", &self.set.len())
            .field("running", &self.set.running())
            .finish()
    }
}
