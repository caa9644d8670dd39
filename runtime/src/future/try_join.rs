//! [`try_join!`](crate::try_join): [`join!`](crate::join) for futures of `Result`, stopping
//! at the first error — asyncio's `await asyncio.gather(a, b, c)` with its default
//! `return_exceptions=False`, for a fixed set of futures of any types.
//!
//! It is `join!` with one step more: an output that is an `Err` ends the join at once,
//! dropping (cancelling) every future still running before the error is returned. The
//! machinery is `join!`'s (`join.rs`): each future pinned in the enclosing `async` block,
//! polled in rotating order, picked out of a tuple by its "skip list".

/// Wait for several futures of `Result` at once: `Ok` with all their values, as a tuple in
/// argument order, or the first `Err` — asyncio's `await asyncio.gather(a, b, c)`, which
/// raises the first exception.
///
/// The futures may have different `Ok` types but must share the error type (convert with
/// `map_err` or `?`-friendly `From`s inside each future). They run concurrently in the
/// current task, as with [`join!`](crate::join), which describes the poll order. On the
/// first `Err`, every future still running is dropped — cancelled — at once, before
/// `try_join!` evaluates to the error. **This differs from asyncio**, whose `gather`
/// lets the other awaitables run on after raising; see
/// [`try_join_all`](crate::future::try_join_all).
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::{Duration, Instant};
///
/// async fn fetch(ms: u64, fail: bool) -> Result<u64, String> {
///     tempo::time::sleep(Duration::from_millis(ms)).await;
///     if fail { Err(format!("failed after {ms} ms")) } else { Ok(ms) }
/// }
///
/// tempo::run(async {
///     let both = tempo::try_join!(fetch(20, false), fetch(10, false));
///     assert_eq!(both, Ok((20, 10)));
///
///     // The error at 10 ms ends the wait; the 10 s fetch is cancelled, not waited for.
///     let start = Instant::now();
///     let failed = tempo::try_join!(fetch(10_000, false), fetch(10, true), async { Ok(1) });
///     assert_eq!(failed, Err("failed after 10 ms".to_string()));
///     assert!(start.elapsed() < Duration::from_secs(5));
/// });
/// ```
#[doc(alias = "gather")]
#[macro_export]
macro_rules! try_join {
    () => {
        ::core::result::Result::Ok(())
    };
    ($($future:expr),+ $(,)?) => {
        $crate::__try_join_impl!(@munch {} () $($future,)+)
    };
}

/// The body of [`try_join!`](crate::try_join). Not public API. As `__join_impl!`, with an
/// early return on `Err`.
#[doc(hidden)]
#[macro_export]
macro_rules! __try_join_impl {
    (@munch { $($done:tt)* } ($($skip:tt)*) $future:expr, $($rest:tt)*) => {
        $crate::__try_join_impl!(
            @munch { $($done)* [($($skip)*) $future] } ($($skip)* _) $($rest)*
        )
    };
    (@munch { $( [($($skip:tt)*) $future:expr] )+ } ($($all:tt)*)) => {{
        const __N: usize = $crate::__count_skips!($($all)*);
        // Pinned in place, in an `Option` so each can be dropped the moment it finishes —
        // or, on the first error, all of them at once.
        let mut __futures = ($(
            ::core::pin::pin!(::core::option::Option::Some(
                ::core::future::IntoFuture::into_future($future)
            )),
        )+);
        let mut __outputs = ($( $crate::__none_for!($($skip)*), )+);
        let mut __start: usize = 0;
        ::core::future::poll_fn(|__cx| {
            let mut __all_done = true;
            let mut __error = ::core::option::Option::None;
            for __i in 0..__N {
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
                                ::core::task::Poll::Ready(::core::result::Result::Ok(__value)) => {
                                    let ($($skip,)* __output, ..) = &mut __outputs;
                                    *__output = ::core::option::Option::Some(__value);
                                    __future.set(::core::option::Option::None);
                                }
                                ::core::task::Poll::Ready(::core::result::Result::Err(__e)) => {
                                    __error = ::core::option::Option::Some(__e);
                                }
                                ::core::task::Poll::Pending => __all_done = false,
                            }
                        }
                    }
                )+
                if __error.is_some() {
                    break;
                }
            }
            if let ::core::option::Option::Some(__error) = __error {
                // Fail fast: cancel every future still running, now, before returning.
                $({
                    let ($($skip,)* __future, ..) = &mut __futures;
                    __future.set(::core::option::Option::None);
                })+
                return ::core::task::Poll::Ready(::core::result::Result::Err(__error));
            }
            __start = if __start + 1 < __N { __start + 1 } else { 0 };
            if !__all_done {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(::core::result::Result::Ok(($({
                let ($($skip,)* __output, ..) = &mut __outputs;
                __output.take().expect("try_join!: each output is stored exactly once")
            },)+)))
        })
        .await
    }};
}
