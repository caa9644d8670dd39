//! [`ExitWatch`]: how a task waits for a child to exit without blocking its loop — a
//! `SIGCHLD` listener, and the reaper's sweep.
//!
//! asyncio's default child watcher parks a thread in `waitpid` for every child; a hundred
//! children would be a hundred threads. Here a waiting task parks on `SIGCHLD` instead: its
//! listener (`tempo_reactor::signal::SignalListener`) is one more registered file
//! descriptor in its worker's reactor, so step 5 of the loop (`reactor.turn`) wakes the
//! task when a child exits, and a hundred waiting children add no thread at all.
//!
//! One poll, for a child whose exit is found by `done` in the reaper's record:
//!
//! ```text
//!  1. recorded? ──yes──► Ready
//!  2. no listener yet? create it (installing the handler), then look at the child once:
//!     it may have exited before anyone listened, and that SIGCHLD came to nobody.  → 1.
//!  3. listener.poll_recv: Pending? park (the listener holds our waker).
//!     A delivery? sweep for its generation (reaper.rs), which records every exit.  → 1.
//! ```
//!
//! The listener is created at the first poll rather than at spawn, so a child that is
//! never waited for costs no descriptor, and so that it is registered with the reactor of
//! the worker that waits. It is kept between polls, and between waits (it lives in the
//! `Child`), so a dropped `wait` loses nothing: a delivery it missed is still pending in
//! the listener for the next one.

use std::fmt;
use std::io;
use std::task::{Context, Poll, ready};

use tempo_reactor::signal::{SignalKind, SignalListener};

use super::reaper::{self, Ticket};

/// A `SIGCHLD` listener, created at the first poll, and the loop above.
#[derive(Default)]
pub(super) struct ExitWatch {
    /// The listener; `None` until the first poll.
    listener: Option<SignalListener>,
}

impl ExitWatch {
    /// Poll until `done(ticket)` finds in the reaper's record what we wait for. An error
    /// means the listener could not be made (outside a runtime; out of descriptors) or the
    /// runtime it was made in has shut down.
    pub(super) fn poll_until<T>(
        &mut self,
        cx: &mut Context<'_>,
        ticket: Ticket,
        done: fn(Ticket) -> Option<T>,
    ) -> Poll<io::Result<T>> {
        loop {
            // 1. Recorded by a sweep, a `try_wait`, or step 2.
            if let Some(found) = done(ticket) {
                return Poll::Ready(Ok(found));
            }
            match &mut self.listener {
                // 2. From now on every exit reaches the listener; one that came before
                //    reaches us through this look.
                None => {
                    self.listener = Some(SignalListener::new(SignalKind::Child)?);
                    reaper::look(ticket);
                }
                // 3. Any child's exit, in any runtime, ends this wait: it may be ours.
                Some(listener) => {
                    ready!(listener.poll_recv(cx))?;
                    reaper::sweep(listener.generation());
                }
            }
        }
    }
}

impl fmt::Debug for ExitWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExitWatch")
            .field("listening", &self.listener.is_some())
            .finish()
    }
}
