//! What a [`select!`](crate::select) expands to: `__select_emit` writes the poll loop that
//! drives every branch's future in the awaiting task, `__select_variant` and `__select_else`
//! name the winner, and [`select_start`] picks the branch an unbiased loop polls first.
//!
//! The loop is asyncio's `wait(return_when=FIRST_COMPLETED)` done inside one task: one
//! `poll_fn` polls each enabled branch in turn and returns the first value whose pattern
//! matches (tested with `__select_clean`, `clean.rs`); the losers are dropped before the
//! winner's handler runs.

use std::cell::Cell;

/// Emits [`select!`](crate::select) once parsed. Not public API.
///
/// The futures sit in a tuple of `Pin<&mut _>` (each pinned in the enclosing future, no
/// allocation); a branch finds its own by destructuring with its skip list. The winner's
/// value leaves the poll loop wrapped in nested `Either`s — branch `k` is `k` `Right`s
/// around a `Left`, and "all disabled" is `n` `Right`s around `()` — so that values of
/// different types can leave through one `poll_fn`, and the handlers run outside it, in
/// the enclosing function.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    ($biased:tt $all:tt () $else:tt) => {
        ::core::compile_error!("select! needs at least one `pattern = future => handler` branch")
    };
    (($biased:expr) ($($all:tt)*)
        ($( [($($skip:tt)*) ($($pattern:tt)*) ($future:expr) ($cond:expr) ($handler:tt)] )+)
        ($($else:expr)?)) => {{
        const __N: usize = $crate::__count_skips!($($all)*);
        const { ::core::assert!(__N <= 64, "select! supports at most 64 branches") };
        // 1. Poll until a branch finishes with a value its pattern matches. The block ends
        //    before any handler runs, so the losers are dropped first.
        let __winner = {
            // Bit `k`: branch `k` is disabled (its condition was false, or it finished).
            let mut __disabled: u64 = 0;
            $(
                if !$cond {
                    __disabled |= 1u64 << $crate::__count_skips!($($skip)*);
                }
            )+
            let mut __futures = ($(
                ::core::pin::pin!(::core::future::IntoFuture::into_future($future)),
            )+);
            let mut __start: usize = if $biased {
                0
            } else {
                $crate::future::__private::select_start(__N)
            };
            ::core::future::poll_fn(|__cx| {
                let mut __any_pending = false;
                for __i in 0..__N {
                    // `__start < __N`, so one subtraction wraps it (and no `% 1` for clippy to
                    // flag when there is a single branch).
                    let __branch = if __start + __i < __N {
                        __start + __i
                    } else {
                        __start + __i - __N
                    };
                    if __disabled & (1u64 << __branch) != 0 {
                        continue;
                    }
                    $(
                        if __branch == $crate::__count_skips!($($skip)*) {
                            let ($($skip,)* __future, ..) = &mut __futures;
                            match ::core::future::Future::poll(__future.as_mut(), __cx) {
                                ::core::task::Poll::Pending => __any_pending = true,
                                ::core::task::Poll::Ready(__value) => {
                                    __disabled |= 1u64 << __branch;
                                    #[allow(unused_variables, unreachable_patterns)]
                                    let __matches = match &__value {
                                        $crate::__select_clean!($($pattern)*) => true,
                                        _ => false,
                                    };
                                    if __matches {
                                        return ::core::task::Poll::Ready(
                                            $crate::__select_variant!(($($skip)*) __value),
                                        );
                                    }
                                }
                            }
                        }
                    )+
                }
                if !$biased {
                    __start = if __start + 1 < __N { __start + 1 } else { 0 };
                }
                if __any_pending {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready($crate::__select_variant!(@else ($($all)*)))
                }
            })
            .await
        };
        // 2. Run the winner's handler, here in the enclosing function.
        match __winner {
            $(
                $crate::__select_variant!(($($skip)*) $($pattern)*) => $handler,
            )+
            $crate::__select_variant!(@else ($($all)*)) => $crate::__select_else!($($else)?),
            // Unreachable when every pattern is irrefutable.
            #[allow(unreachable_patterns)]
            _ => ::core::unreachable!("select!: the winner's pattern matched when it was checked"),
        }
    }};
}

/// The `else` arm of [`select!`](crate::select): the user's expression, or a panic.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_else {
    () => {
        ::core::panic!("select!: every branch is disabled and there is no `else`")
    };
    ($else:expr) => {
        $else
    };
}

/// Wraps `$inner` in branch `k`'s `Either` variant (`k` = the length of the skip list), as an
/// expression or as a pattern; `@else` gives the "all disabled" variant. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_variant {
    (@else (_ $($rest:tt)*)) => {
        $crate::future::__private::Either::Right($crate::__select_variant!(@else ($($rest)*)))
    };
    (@else ()) => {
        ()
    };
    ((_ $($rest:tt)*) $($inner:tt)*) => {
        $crate::future::__private::Either::Right($crate::__select_variant!(($($rest)*) $($inner)*))
    };
    (() $($inner:tt)*) => {
        $crate::future::__private::Either::Left($($inner)*)
    };
}

/// Where an unbiased `select!` over `n` branches starts polling: a per-thread xorshift
/// sequence, so that two `select!`s taking turns in a loop do not always start at the same
/// branch (a plain counter would give one of them only even numbers).
pub fn select_start(n: usize) -> usize {
    thread_local! {
        /// xorshift64 state; any non-zero seed will do.
        static STATE: Cell<u64> = const { Cell::new(0x9E37_79B9_7F4A_7C15) };
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        // `n` is at most 64, so the modulo's bias is negligible.
        (x % n as u64) as usize
    })
}
