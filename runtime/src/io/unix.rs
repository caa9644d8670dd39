//! [`AsyncFd`]: wait for readiness of any non-blocking file descriptor you own — a pipe, a
//! tty, an inotify or eventfd descriptor, a socket from another library — as tempo's own
//! sockets do. asyncio's `loop.add_reader(fd, callback)` and `add_writer`, turned into
//! futures: instead of a callback, a task awaits [`AsyncFd::readable`].
//!
//! This is the reactor's readiness protocol (docs/DESIGN.md, *Readiness*;
//! `reactor/src/io/registration.rs`) handed to the user, step by step:
//!
//! 1. `fd.readable().await` — parks the task until `epoll_wait` reports the descriptor
//!    readable (the worker's loop, step 5, wakes it), and returns a guard;
//! 2. the user makes the non-blocking call;
//! 3. if it said `WouldBlock`, the readiness was stale: the guard's
//!    [`clear_ready`](AsyncFdReadyGuard::clear_ready) forgets it (only if no newer event
//!    arrived meanwhile — the tick), and the next `readable()` waits for a new edge.
//!    [`try_io`](AsyncFdReadyGuard::try_io) does 2 and 3 in one call.
//!
//! The descriptor is registered edge-triggered, so a guard dropped *without* clearing keeps
//! the readiness: the next `readable()` returns at once. Forgetting to clear after a
//! `WouldBlock` is therefore a busy loop, never a hang; clearing without a `WouldBlock` is
//! a hang (no new edge comes while data waits), which `try_io` cannot get wrong.
//!
//! Built on `tempo_reactor::Registered` over `mio::unix::SourceFd`. The files, in reading
//! order:
//!
//! 1. `unix/interest.rs` — [`Interest`]; the descriptor as a mio source.
//! 2. `unix/async_fd.rs` — [`AsyncFd`], [`AsyncFdReadyGuard`], [`TryIoError`].

// 1. Which directions; the descriptor as a mio source.
mod interest;

// 2. The registered descriptor and its guard.
mod async_fd;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, TryIoError};
pub use interest::Interest;
