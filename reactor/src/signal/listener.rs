//! [`SignalListener`]: one subscription to one signal, what `tempo::signal` builds its
//! futures on — asyncio's `loop.add_signal_handler(SIGTERM, callback)`, except that the
//! task awaits the signal instead of being called back. A listener registers its own
//! duplicate of the self-pipe's read end with the current reactor, so a byte in the pipe
//! wakes its task through that reactor's turn; its `poll_recv` then dispatches
//! (`fanout.rs`) and compares the signal's generation with the one it last saw. The last
//! file of `signal/`: it uses all the others.
//!
//! The rules cited by number are those of `signal/mod.rs`.

#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker, ready};

use mio::Interest;
use mio::unix::pipe;

use super::fanout::dispatch;
use super::handler::{install, self_pipe};
use super::kind::SignalKind;
use super::registry::SLOTS_TABLE;
use crate::io::{Direction, Registered};
use crate::sync::lock;

/// One listener for one signal: its own duplicate of the self-pipe's read end, registered
/// with the reactor current when it was created, and the last generation it saw.
///
/// Dropping it deregisters and closes the duplicate and leaves the waiter list. The
/// handler stays installed (rule 5).
pub struct SignalListener {
    /// Which signal.
    kind: SignalKind,
    /// Its slot in `SLOTS_TABLE` and `PENDING`: the signal number.
    index: usize,
    /// A duplicate of the pipe's read end in this listener's reactor. Only its readiness is
    /// used; dispatches read through `SelfPipe::receiver`, the same pipe.
    pipe: Registered<pipe::Receiver>,
    /// This listener's key in its slot's `waiters`.
    key: usize,
    /// The slot's generation when this listener last delivered (or was created).
    seen: u64,
}

impl SignalListener {
    /// Listen for `kind`, installing tempo's handler for it if this is the first listener
    /// in the process. Signals raised before this call are not delivered to this listener.
    ///
    /// Fails outside a tempo runtime (there is no reactor to register with), for a signal
    /// that cannot be handled (`SIGKILL`, `SIGSTOP`, the fault signals, numbers out of
    /// range), or when the process is out of file descriptors.
    pub fn new(kind: SignalKind) -> io::Result<SignalListener> {
        let index = kind.slot_index()?;
        let self_pipe = self_pipe()?;
        // Register first: outside a runtime this fails before any handler is installed.
        let dup = pipe::Receiver::from(self_pipe.receiver.as_fd().try_clone_to_owned()?);
        let pipe = Registered::with_interest(dup, Interest::READABLE)?;
        install(index)?;
        // Signals already raised belong to the listeners that existed then: hand them out
        // now, so the generation read below is after them.
        dispatch(self_pipe)?;
        let slot = &SLOTS_TABLE[index];
        let mut waiters = lock(&slot.waiters);
        let key = waiters.insert(None);
        let seen = slot.generation.load(Ordering::SeqCst);
        drop(waiters);
        Ok(SignalListener {
            kind,
            index,
            pipe,
            key,
            seen,
        })
    }

    /// The signal this listener is for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// The signal's generation when this listener last delivered, or was created: how
    /// many dispatches, process-wide, had found the signal pending by then (rule 4).
    ///
    /// Every listener of a signal, in every runtime, reads the same counter, so the
    /// numbers compare: of two listeners, the one with the larger generation has heard a
    /// later delivery. `tempo::process` uses it so that, of all the tasks one `SIGCHLD`
    /// wakes, only the first looks at every child (`runtime/src/process/reaper.rs`).
    pub fn generation(&self) -> u64 {
        self.seen
    }

    /// `Ready(Ok(()))` if the signal arrived (at least once) since the last delivery to this
    /// listener; otherwise park the task's waker and return `Pending`. An error means the
    /// reactor this listener was registered with has shut down (or reading the pipe failed).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            // 1. Has a dispatch — ours or another listener's, in any runtime — found our
            //    signal since we last looked? If not, join the waiter list (rule 4).
            if self.delivered_or_park(cx.waker()) {
                return Poll::Ready(Ok(()));
            }
            // 2. Are bytes waiting in the pipe? If not, the registration parks the waker
            //    too, and the next byte written wakes us through epoll.
            let ev = ready!(self.pipe.registration().poll_ready(cx, Direction::Read))?;
            // 3. Drain and dispatch, forget the readiness (the drain reached `WouldBlock`),
            //    and look at the generation again.
            dispatch(self_pipe()?)?;
            self.pipe.registration().clear_readiness(ev);
        }
    }

    /// Step 1 of `poll_recv`: deliver if the generation moved, else park `waker`.
    fn delivered_or_park(&mut self, waker: &Waker) -> bool {
        let slot = &SLOTS_TABLE[self.index];
        let mut waiters = lock(&slot.waiters);
        let parked = &mut waiters[self.key];
        let now = slot.generation.load(Ordering::SeqCst);
        if now != self.seen {
            self.seen = now;
            *parked = None;
            return true;
        }
        match parked {
            Some(w) if w.will_wake(waker) => {}
            _ => *parked = Some(waker.clone()),
        }
        false
    }
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        lock(&SLOTS_TABLE[self.index].waiters).remove(self.key);
        // `pipe` drops next: deregistered from epoll, the duplicate fd closed.
    }
}

impl fmt::Debug for SignalListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalListener")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish()
    }
}
