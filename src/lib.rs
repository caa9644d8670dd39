//! # tempo
//!
//! A small async runtime for Rust, built by hand on epoll/kqueue (through mio): the machinery
//! Python's asyncio tutorials describe, made real — a reactor that waits on non-blocking
//! sockets and timers, an executor that polls futures from a slab of tasks, and the loop
//! that alternates between them.
//!
//! ```
//! use std::time::Duration;
//!
//! let total = tempo::run(async {
//!     let a = tempo::spawn(async {
//!         tempo::time::sleep(Duration::from_millis(20)).await;
//!         1
//!     });
//!     let b = tempo::spawn(async {
//!         tempo::time::sleep(Duration::from_millis(20)).await;
//!         2
//!     });
//!     // Both sleeps run at once: this takes ~20 ms, not 40.
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 3);
//! ```
//!
//! This crate is the facade; the parts are separate crates, each readable on its own:
//!
//! - `tempo-executor` — tasks, wakers, the run queue, `JoinHandle`. Knows no I/O.
//! - `tempo-reactor` — mio `Poll`, socket registrations, timers. Knows no tasks.
//! - `tempo-runtime` — the loop that drives both, and `net`, `time`, `task`; re-exported here.

#![forbid(unsafe_code)]

pub use tempo_runtime::*;

/// The tour's code blocks (`docs/TOUR.md`), compiled and run as doctests, so that the tour
/// cannot show code that no longer builds. `tests/docs.rs` checks the names it gives.
#[cfg(doctest)]
#[doc = include_str!("../docs/TOUR.md")]
pub struct TourDoctests;

/// The asyncio map's code blocks (`docs/ASYNCIO.md`), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/ASYNCIO.md")]
pub struct AsyncioDoctests;
