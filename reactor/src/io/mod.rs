//! I/O: registering a socket with the reactor and waiting for it to become ready.
//!
//! Two files, in reading order:
//! - `io/readiness.rs` — the data: [`Direction`], the readiness bits and their tick,
//!   [`ReadyEvent`], and the reactor's table of registered sources, which the turn fills
//!   from `epoll_wait`'s events, taking the wakers of what became ready; and `wake_all`,
//!   which wakes them once the locks are let go. The readiness contract every I/O call
//!   follows — ready? → syscall → `WouldBlock` clears readiness and waits again — is
//!   written once at its top.
//! - `io/registration.rs` — the objects that hold a reactor's `ReactorHandle`: [`Registration`],
//!   a source's readiness and its two waker slots, and [`Registered`], the socket and its
//!   registration together, deregistered on drop.

pub(crate) mod readiness;
mod registration;

pub use readiness::{Direction, ReadyEvent};
pub use registration::{Registered, Registration};
