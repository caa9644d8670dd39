//! [`select!`](crate::select): the first of several futures of any types, each with its own
//! handler — asyncio's `wait(return_when=FIRST_COMPLETED)` written like a `match`. The
//! functions [`race`](super::race) and [`race_all`](super::race_all) do the same for
//! futures of one output type.
//!
//! The macro is a small parser written with `macro_rules!`: `select!` hands its tokens to
//! `__select_parse`, which splits them into branches; `__select_emit` writes the poll loop;
//! `__select_variant` and `__select_clean` help it name the winner and test its pattern.
//!
//! Dropping the losers is cancelling them; what that means for each kind of operation is
//! the "Cancellation safety" section of the [module docs](super#cancellation-safety).

use std::cell::Cell;

/// Wait for the first of several futures to finish, run its handler, and drop the rest —
/// asyncio's `asyncio.wait(aws, return_when=FIRST_COMPLETED)`, written like a `match`.
///
/// ```text
/// select! {
///     <pattern> = <future> (, if <condition>)? => <handler>,
///     ...
///     (else => <expression>)?
/// }
/// ```
///
/// `select!` must be used inside an `async` block or function. It evaluates every
/// `<future>` (anything [`IntoFuture`](std::future::IntoFuture)) and polls them all *in the current task*. When one
/// finishes with a value that matches its `<pattern>`, the other futures are dropped and
/// then that branch's `<handler>` runs, with the pattern's bindings in scope; the handler's
/// value is the value of the `select!`. Handlers run in the enclosing function, so `return`,
/// `?`, `break`, `continue` and `.await` in them act on it.
///
/// - **A pattern that does not match** disables its branch: the value is dropped and the
///   others keep going, so `Some(item) = rx.recv()` waits for the other branches once the
///   channel gives `None`.
/// - **`, if <condition>`** is evaluated once, before anything is polled; `false` disables
///   the branch. Its future is still evaluated (created), never polled.
/// - **`else`** runs when every branch is disabled. Without it, that case panics.
/// - **`biased;`** as the first token polls the branches in the order written, every
///   time.
///
/// **Poll order.** Without `biased;`, the first poll starts at a branch picked by a
/// per-thread pseudo-random sequence (as tokio's `select!` does), and each later poll starts
/// one branch further round. So when several branches are ready at once, each wins a fair
/// share, and a branch that spends the cooperative budget on every poll cannot leave the
/// others none. With `biased;`, earlier branches win ties: put the one that must not starve
/// first (a shutdown signal, say), and make sure the first ones are not always ready.
///
/// **The losers are dropped, not left running.** This is the difference from
/// `asyncio.wait`, which returns `(done, pending)` and leaves the pending tasks running:
/// here a losing future is cancelled before the winner's handler runs. Losing is harmless
/// for a [`sleep`](crate::time::sleep) (its timer is removed), a
/// [`JoinHandle`](crate::task::JoinHandle) (the task keeps running — the handle is
/// dropped, not the task), a `recv` or `get` that has not yet taken an item, or an
/// `accept` or `read` that has not yet returned; it loses data for futures that make
/// progress across several polls, such as
/// [`TcpStream::read_exact`](crate::net::TcpStream::read_exact) after part of the buffer
/// was filled. See [Cancellation safety](crate::future#cancellation-safety). To keep a
/// future alive across several `select!`s — in a loop, say — pin it outside and select on
/// `&mut` it: then only the borrow is dropped.
///
/// Polling is zero-allocation: the futures are pinned in the enclosing future's state. Up to
/// 64 branches; past about 40, the parse exceeds the compiler's default macro recursion
/// limit, and the crate using `select!` needs `#![recursion_limit = "256"]`.
///
/// Mirrors asyncio's `wait(FIRST_COMPLETED)` and tokio's `select!` (same syntax);
/// differs from asyncio in dropping the losers and in running the futures inside the
/// awaiting task rather than as tasks of their own. Differs from tokio in the poll order
/// (random start, then rotating, rather than random each poll) and in checking a pattern
/// against a copy of it with `mut`, `ref` and `&` removed (tokio does the same with a
/// procedural macro; here a declarative one munches the pattern's tokens).
///
/// # Examples
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::time::sleep;
///
/// let winner = tempo::run(async {
///     tempo::select! {
///         () = sleep(Duration::from_secs(10)) => "slow",
///         n = async { sleep(Duration::from_millis(5)).await; 5 } => if n == 5 { "fast" } else { "?" },
///     }
/// });
/// assert_eq!(winner, "fast");
/// ```
///
/// A loop over two streams of results, with refutable patterns and an `else`: a stream
/// that is done gives `None`, which disables its branch; when both are done, `else` ends
/// the loop. [`AsCompleted::next`](super::AsCompleted::next) is cancellation-safe, so the
/// branch that loses each round loses nothing.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::time::Duration;
/// use tempo::future::as_completed;
/// use tempo::time::sleep;
///
/// async fn after(ms: u64) -> u64 {
///     sleep(Duration::from_millis(ms)).await;
///     ms
/// }
///
/// tempo::run(async {
///     let mut evens = as_completed([after(20), after(40)]);
///     let mut odds = as_completed([after(10), after(30), after(50)]);
///     let mut seen = Vec::new();
///     loop {
///         tempo::select! {
///             Some(ms) = evens.next() => seen.push(ms),
///             Some(ms) = odds.next() => seen.push(ms),
///             else => break,
///         }
///     }
///     // In timer order — unless the loop was too busy to see two timers apart, so:
///     seen.sort();
///     assert_eq!(seen, [10, 20, 30, 40, 50]);
/// });
/// ```
///
/// A future that must survive losing — here a deadline shared by every round — is pinned
/// once, outside, and selected on by `&mut`:
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::pin::pin;
/// use std::time::Duration;
/// use tempo::time::sleep;
///
/// tempo::run(async {
///     let mut deadline = pin!(sleep(Duration::from_millis(30)));
///     let mut ticks = 0;
///     loop {
///         tempo::select! {
///             biased;
///             () = &mut deadline => break,
///             () = sleep(Duration::from_millis(1)) => ticks += 1,
///         }
///     }
///     assert!(ticks <= 30, "each tick takes at least 1 ms");
/// });
/// ```
#[doc(alias = "wait")]
#[doc(alias = "FIRST_COMPLETED")]
#[macro_export]
macro_rules! select {
    (biased; $($branches:tt)*) => {
        $crate::__select_parse!(@pattern { (true) () () () } [] $($branches)*)
    };
    ($($branches:tt)*) => {
        $crate::__select_parse!(@pattern { (false) () () () } [] $($branches)*)
    };
}

/// Parses [`select!`](crate::select)'s branches. Not public API.
///
/// The state is `{ (biased) (skip list of the next branch) (branches so far) (else) }`; a
/// branch is `[(skip list) (pattern tokens) (future) (condition) (handler)]`. A pattern is
/// read as raw tokens up to its `=` (`=>` and `..=` are single tokens), because a `$p:pat`
/// fragment could not be taken apart again to clean it; see `__select_clean`.
///
/// Each step of the parse is one level of macro recursion, and the compiler allows 128 by
/// default: each branch costs two (three if its pattern has more than three top-level
/// tokens), and branch `k`'s `Either` wrapping costs `k` more in `__select_emit`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // `else`, which must come last.
    (@pattern { $biased:tt $skip:tt $branches:tt () } [] else => $else:expr $(,)?) => {
        $crate::__select_emit!($biased $skip $branches ($else))
    };
    (@pattern $state:tt [] else $($rest:tt)*) => {
        ::core::compile_error!("select!: `else => expression` must be the last branch")
    };
    // All branches read.
    (@pattern { $biased:tt $skip:tt $branches:tt $else:tt } []) => {
        $crate::__select_emit!($biased $skip $branches $else)
    };
    (@pattern $state:tt [] = $($rest:tt)*) => {
        ::core::compile_error!("select!: expected a pattern before `=`")
    };
    // The `=` that ends a pattern, within the next four tokens: most patterns (`v`,
    // `Some(v)`, `Ok((a, b))`) are read in one step, which keeps the recursion shallow.
    (@pattern $state:tt [$($pattern:tt)*] = $($rest:tt)*) => {
        $crate::__select_parse!(@branch $state [$($pattern)*] $($rest)*)
    };
    (@pattern $state:tt [$($pattern:tt)*] $a:tt = $($rest:tt)*) => {
        $crate::__select_parse!(@branch $state [$($pattern)* $a] $($rest)*)
    };
    (@pattern $state:tt [$($pattern:tt)*] $a:tt $b:tt = $($rest:tt)*) => {
        $crate::__select_parse!(@branch $state [$($pattern)* $a $b] $($rest)*)
    };
    (@pattern $state:tt [$($pattern:tt)*] $a:tt $b:tt $c:tt = $($rest:tt)*) => {
        $crate::__select_parse!(@branch $state [$($pattern)* $a $b $c] $($rest)*)
    };
    // No `=` in the next four tokens: take them and look further.
    (@pattern $state:tt [$($pattern:tt)*] $a:tt $b:tt $c:tt $d:tt $($rest:tt)*) => {
        $crate::__select_parse!(@pattern $state [$($pattern)* $a $b $c $d] $($rest)*)
    };
    (@pattern $state:tt [$($pattern:tt)*] $($rest:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `pattern = future => handler`, found `",
            ::core::stringify!($($pattern)* $($rest)+),
            "`"
        ))
    };

    // `future, if condition => handler`: a block handler, with or without a comma; an
    // expression handler, with a comma or last. Each records the branch — `[(skip list)
    // (pattern) (future) (condition) (handler)]` — and reads on.
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr, if $cond:expr => $handler:block, $($rest:tt)*) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) ($cond) ($handler)]) $else
        } [] $($rest)*)
    };
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr, if $cond:expr => $handler:block $($rest:tt)*) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) ($cond) ($handler)]) $else
        } [] $($rest)*)
    };
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr, if $cond:expr => $handler:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) ($cond) ($handler)]) $else
        } [] $($rest)*)
    };
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr, if $cond:expr => $handler:expr) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) ($cond) ($handler)]) $else
        } [])
    };
    // The same without a condition.
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr => $handler:block, $($rest:tt)*) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) (true) ($handler)]) $else
        } [] $($rest)*)
    };
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr => $handler:block $($rest:tt)*) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) (true) ($handler)]) $else
        } [] $($rest)*)
    };
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr => $handler:expr, $($rest:tt)*) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) (true) ($handler)]) $else
        } [] $($rest)*)
    };
    (@branch { $biased:tt ($($skip:tt)*) ($($branches:tt)*) $else:tt } [$($pattern:tt)*]
        $future:expr => $handler:expr) => {
        $crate::__select_parse!(@pattern { $biased ($($skip)* _)
            ($($branches)* [($($skip)*) ($($pattern)*) ($future) (true) ($handler)]) $else
        } [])
    };
    (@branch $state:tt [$($pattern:tt)*] $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `",
            ::core::stringify!($($pattern)*),
            " = future => handler,` or `",
            ::core::stringify!($($pattern)*),
            " = future, if condition => handler,`"
        ))
    };
}

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

/// A pattern with `mut`, `ref` and `&` removed, for testing whether a value matches it
/// through a reference (where those would be rejected, or would move out of the
/// reference) without binding anything. Matching through a reference dereferences as
/// needed, so the cleaned pattern matches exactly the values the original does. Not public
/// API.
///
/// A token muncher with an explicit stack of enclosing groups: `[stack] [output so far]
/// tokens left`. Each frame holds the delimiter, the parent's output and the parent's
/// remaining tokens.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_clean {
    // Done.
    (@ [] [$($out:tt)*]) => {
        $($out)*
    };
    // End of a group: close it and resume the parent.
    (@ [(paren [$($parent:tt)*] [$($after:tt)*]) $($stack:tt)*] [$($out:tt)*]) => {
        $crate::__select_clean!(@ [$($stack)*] [$($parent)* ($($out)*)] $($after)*)
    };
    (@ [(bracket [$($parent:tt)*] [$($after:tt)*]) $($stack:tt)*] [$($out:tt)*]) => {
        $crate::__select_clean!(@ [$($stack)*] [$($parent)* [$($out)*]] $($after)*)
    };
    (@ [(brace [$($parent:tt)*] [$($after:tt)*]) $($stack:tt)*] [$($out:tt)*]) => {
        $crate::__select_clean!(@ [$($stack)*] [$($parent)* {$($out)*}] $($after)*)
    };
    // Dropped tokens.
    (@ $stack:tt $out:tt mut $($rest:tt)*) => {
        $crate::__select_clean!(@ $stack $out $($rest)*)
    };
    (@ $stack:tt $out:tt ref $($rest:tt)*) => {
        $crate::__select_clean!(@ $stack $out $($rest)*)
    };
    (@ $stack:tt $out:tt & $($rest:tt)*) => {
        $crate::__select_clean!(@ $stack $out $($rest)*)
    };
    (@ $stack:tt $out:tt && $($rest:tt)*) => {
        $crate::__select_clean!(@ $stack $out $($rest)*)
    };
    // Start of a group: push a frame.
    (@ [$($stack:tt)*] [$($out:tt)*] ($($inner:tt)*) $($rest:tt)*) => {
        $crate::__select_clean!(@ [(paren [$($out)*] [$($rest)*]) $($stack)*] [] $($inner)*)
    };
    (@ [$($stack:tt)*] [$($out:tt)*] [$($inner:tt)*] $($rest:tt)*) => {
        $crate::__select_clean!(@ [(bracket [$($out)*] [$($rest)*]) $($stack)*] [] $($inner)*)
    };
    (@ [$($stack:tt)*] [$($out:tt)*] {$($inner:tt)*} $($rest:tt)*) => {
        $crate::__select_clean!(@ [(brace [$($out)*] [$($rest)*]) $($stack)*] [] $($inner)*)
    };
    // Any other token is kept.
    (@ $stack:tt [$($out:tt)*] $token:tt $($rest:tt)*) => {
        $crate::__select_clean!(@ $stack [$($out)* $token] $($rest)*)
    };
    // Entry.
    ($($pattern:tt)*) => {
        $crate::__select_clean!(@ [] [] $($pattern)*)
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
