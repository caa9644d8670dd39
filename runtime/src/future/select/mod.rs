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
//!
//! # Reading order
//!
//! Each file uses only the files before it, so they read from the bottom up: the pieces
//! first, the macro a user writes last.
//!
//! 1. `clean.rs` — `__select_clean`: a branch's pattern with `mut`, `ref` and `&` removed,
//!    to test a value against it without binding anything.
//! 2. `emit.rs` — what a `select!` expands to: `__select_emit`, the poll loop, with
//!    `__select_variant` and `__select_else`, and `select_start`, which picks the branch an
//!    unbiased loop polls first.
//! 3. `parse.rs` — `select!` itself, and `__select_parse`, which splits its tokens into
//!    branches and hands them to `__select_emit`.
//!
//! The macros are `#[macro_export]`, so they live at the crate root whichever file defines
//! them: `tempo::select!` is the path, not this module.

// 1. Testing a pattern without binding.
mod clean;

// 2. The poll loop a `select!` becomes.
mod emit;

// 3. The macro, and its parser.
mod parse;

pub use emit::select_start;
