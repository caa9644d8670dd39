//! [`select!`](crate::select) itself — the first of several futures of any types, each with
//! its own handler, asyncio's `wait(return_when=FIRST_COMPLETED)` written like a `match` —
//! and `__select_parse`, the `macro_rules!` parser that splits its tokens into branches and
//! hands them to `__select_emit` (`emit.rs`).

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
/// the loop. [`AsCompleted::next`](crate::future::AsCompleted::next) is cancellation-safe, so the
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
