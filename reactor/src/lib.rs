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
//!  Registration ◄── Token = slab key ── IoTable (slab of SourceRecord)
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
//! # A reading order
//!
//! Each file uses only files before it in this list, so the crate can be read in this
//! order, from the bottom up: from how the reactor locks, through the tables it keeps (and
//! how it wakes what they hold) and the handle that shares them, to the one
//! [`Reactor::turn`] that drives them all:
//!
//! 1. `sync.rs` — the lock discipline: locks ignore poison.
//! 2. `time/lateness.rs` — the timer-lateness histogram ([`LatenessHistogram`]);
//!    `waiting_on.rs` — [`WaitingOn`], what a parked waker waits for, for task dumps.
//! 3. The data structures, which know no handle:
//!    - the timer wheel, `time/wheel/`: `slots.rs`, where a timer is kept; `fire.rs`,
//!      what the turn asks of the wheel (the nearest deadline, what has expired);
//!      `arm.rs`, what a `Sleep` asks (arm, re-arm, cancel);
//!    - `io/readiness.rs` — the readiness bits, their tick and the table of registered
//!      sources, with the readiness contract every I/O call follows at its top; the
//!      dispatch that takes the wakers of what became ready, and `wake_all`, which wakes
//!      what a turn collected once every lock is let go and contains a panicking waker;
//!    - `time/hires.rs` — the timerfd of the high-resolution timer mode.
//! 4. `handle.rs` — [`ReactorHandle`], what I/O objects, timers and other threads hold to
//!    reach a reactor; the thread's current reactor; the waiter listing for task dumps.
//! 5. What holds a handle:
//!    - `io/registration.rs` ([`Registration`], [`Registered`]);
//!    - `time/sleep.rs`, `time/timeout.rs`, `time/interval.rs` ([`sleep`](time::sleep),
//!      [`timeout`](time::timeout), [`interval`](time::interval));
//!    - on Unix, [`signal`], in `signal/`: `kind.rs`, the signals by name; `registry.rs`,
//!      each signal's listeners and generation; `handler.rs`, the signal handler and its
//!      self-pipe; `fanout.rs`, which wakes every listener of a signal; `listener.rs`,
//!      [`SignalListener`](signal::SignalListener). Its `unsafe` (`sigaction`, the
//!      handler's `write`, `errno`) stays inside `handler.rs`; the other four forbid it.
//! 6. `reactor.rs` — the [`Reactor`]: the `mio::Poll`, and one [`Reactor::turn`] of the
//!    wait ([`TurnStats`] says what it did).
//!
//! The turn's wake path for I/O, from `epoll_wait` to `Waker::wake`, crosses two files:
//! `reactor.rs` (`Reactor::turn`) and `io/readiness.rs` (`IoTable::dispatch`,
//! `SourceRecord::set_readiness`, `Waiters::take_into`, then `wake_all`); it takes its
//! locks with `sync::lock`, step 1. Expired timers join it from `TimerWheel::expire`
//! (`time/wheel/fire.rs`), and are woken by the same `wake_all`.
//!
//! `time/mod.rs`, `time/wheel/mod.rs`, `io/mod.rs` and `signal/mod.rs` are tables of
//! contents, like this file.

//! # Unsafe code, and the rules it keeps
//!
//! The reactor's `unsafe` sits in three files: `signal/handler.rs` (the signal handler and
//! its self-pipe), `time/hires.rs` (the timerfd) and `time/timeout.rs` (a pin projection).
//! The signal handler keeps the five rules numbered in `signal/mod.rs`; every other
//! `// SAFETY:` comment cites one of these:
//!
//! - **Rule C1 — a C call** gets only pointers to valid, initialised memory that we hold
//!   for the length of the call, and only descriptors that we own and keep open through it.
//! - **Rule C2 — a new descriptor**, returned by a successful create call, is open and
//!   owned by nobody else: wrapping it in an `OwnedFd` gives it the one owner that closes
//!   it.
//! - **Rule C3 — an all-zero C struct**: `mem::zeroed` only for a C struct of integers (and
//!   pointers held as integers), for which all-zero bits are a valid value.
//! - **Rule C4 — errno** is the calling thread's own slot, valid for the thread's life;
//!   reading and writing it is what C's `errno` macro does.
//! - **Rule P1 — structural pinning**: a future that holds another future pins it in place.
//!   It never moves it out while pinned, has no `Drop` impl that could, and is `Unpin` only
//!   when the inner future is; so a `Pin<&mut Outer>` may hand out a `Pin<&mut Inner>`.
//!
//! docs/DESIGN.md ("Unsafe code, and the rules it keeps") lists these with the executor's rules.

#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

// 1. How the reactor locks.
mod sync;

// 2. What a parked waker waits for, in a task dump's words.
mod waiting_on;

// 2, 3, 5. Timers: lateness (2); the wheel and the timerfd (3); sleep, timeout, interval (5).
pub mod time;

// 3, 5. Sockets: the readiness table (3); registrations (5).
pub mod io;

// 4. The handle to a reactor, and the thread's current one.
mod handle;

// 5. Unix signals: names, registry, handler and self-pipe, fan-out, listener.
#[cfg(unix)]
pub mod signal;

// 6. The reactor and its turn.
pub mod reactor;

pub use handle::{ReactorGuard, ReactorHandle};
pub use io::{Direction, ReadyEvent, Registered, Registration};
pub use reactor::{Reactor, TurnStats};
pub use time::LatenessHistogram;
pub use waiting_on::WaitingOn;
