//! `__select_clean`: a `select!` branch's pattern with `mut`, `ref` and `&` removed.
//!
//! The poll loop (`emit.rs`) must test whether a finished future's value matches its
//! branch's pattern before it decides that branch has won, and it can only look at the
//! value through a reference, since the value still has to reach the handler. A pattern
//! like `Some(mut x)` would move out of the reference or be rejected; the cleaned
//! `Some(x)` only tests. Python has no such step: a `match` there binds as it tests.

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
