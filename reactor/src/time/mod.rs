//! Time: [`sleep`](sleep()), [`interval`](interval()), [`timeout`](timeout()) — asyncio's
//! `sleep`, a periodic loop, and `wait_for` / `asyncio.timeout`.
//!
//! Every timer is an entry in its reactor's timer wheel (`time/wheel/`) — armed the first
//! time its future is polled, removed when the future is dropped, both in O(1). The
//! reactor sleeps in `epoll_wait` until the nearest deadline, then wakes the timers that
//! are due, in deadline order (within a millisecond, in the order they were armed).
//!
//! **Never early.** A [`Sleep`] completes only once its deadline has passed: the wheel
//! fires a timer only when the `now` of an expiry has reached its exact deadline, and a
//! sleep that decides by itself (at its first poll, or in the wheel's finest level, the
//! current 64 ms window)
//! compares with `Instant::now()`. The reactor rounds its `epoll_wait` timeout up to whole
//! milliseconds, so timers are late by at most about a millisecond (plus whatever the loop
//! is busy with), never early. The optional high-resolution mode (`time/hires.rs`,
//! `Reactor::set_timer_resolution`) also arms a
//! `timerfd` for the nearest deadline, and brings that millisecond down to microseconds.
//!
//! **Drop is cancel.** Dropping a `Sleep` removes its timer at once: a dropped timer never
//! wakes its task and costs nothing afterwards.
//!
//! **Measured.** With diagnostics on, each reactor keeps a histogram of how late its
//! timers ran ([`LatenessHistogram`], `time/lateness.rs`).
//!
//! The files, in the crate's reading order (see the crate doc): `lateness.rs` (knows
//! nothing else of the crate); `wheel/` — `slots.rs`, `fire.rs`, `arm.rs`, with its own
//! table of contents in `wheel/mod.rs` — and `hires.rs`, the data a reactor keeps, which
//! know no `ReactorHandle`; then, after `handle.rs`, the futures that hold one — `sleep.rs`, and
//! `timeout.rs` and `interval.rs` built on it.

pub(crate) mod lateness;

pub(crate) mod wheel;

pub(crate) mod hires;

mod sleep;

mod timeout;

mod interval;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use lateness::LatenessHistogram;
pub use sleep::{Sleep, sleep, sleep_until};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};
