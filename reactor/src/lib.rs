//! # tempo-reactor: waiting for the outside world
//!
//! The reactor is the half of tempo's loop that waits: for sockets to become readable or
//! writable, for deadlines to pass, and for other threads to say "wake up". It knows no
//! tasks. It stores [`Waker`](std::task::Waker)s and wakes them; what a waker does (put a
//! task back on a run queue) is the executor's business.
//!
//! ```text
//!  socket ──register──► mio Poll (epoll / kqueue)
//!    │                      │  epoll_wait returns events tagged with a Token
//!    ▼                      ▼
//!  Registration ◄── Token = slab key ── IoTable (slab of ScheduledIo)
//!    │  readiness bits (read / write, with a tick)       │
//!    │  read waker slot, write waker slot  ◄── set readiness, take wakers
//!    ▼                                                   │
//!  task's Waker ◄──────────── wake, outside every lock ──┘
//!
//!  Sleep ──insert──► TimerWheel (filed by deadline) ──expired──► wake
//!  another thread ──unpark──► mio::Waker ──► epoll_wait returns early
//! ```
//!
//! asyncio's `selector_events.py` does the same job with `selectors.DefaultSelector`: the
//! loop calls `selector.select(timeout)` with the time to the nearest scheduled callback
//! and turns each ready file descriptor into a callback. tempo turns it into a woken task.
//!
//! What lives where:
//! - [`driver`]: [`Reactor`] and its [`Handle`]; one [`Reactor::turn`] of the wait.
//! - [`io`]: [`Registration`] — a source's readiness and its two waker slots — and the
//!   edge-triggered readiness protocol. [`PollEvented`] ties a mio source to a
//!   registration and deregisters it on drop.
//! - [`time`]: [`sleep`](time::sleep), [`interval`](time::interval),
//!   [`timeout`](time::timeout), the timer wheel behind them, the lateness histogram, and
//!   the timerfd high-resolution mode.
//! - [`driver`]'s [`WaitingOn`]: what each parked waker waits for, for task dumps.
//! - [`signal`] (Unix): the signal handler, the self-pipe it writes to, and the fan-out
//!   that wakes every [`SignalListener`](signal::SignalListener) of a signal. Its
//!   `unsafe` (`sigaction`, the handler's `write`) stays inside that file.

#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod driver;
pub mod io;
#[cfg(unix)]
pub mod signal;
pub mod time;

pub use driver::{Handle, Reactor, TurnStats, WaitingOn};
pub use io::{Direction, PollEvented, ReadyEvent, Registration};
pub use time::LatenessHistogram;
