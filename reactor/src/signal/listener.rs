//! [`SignalListener`]: one subscription to one signal, what `tempo::signal` builds its
//! futures on — asyncio's `loop.add_signal_handler(SIGTERM, callback)`, except that the
//! task awaits the signal instead of being called back. A listener registers its own
//! duplicate of the self-pipe's read end with the current reactor, so a byte in the pipe
//! wakes its task through that reactor's turn; its `poll_recv` then dispatches
//! (`fanout.rs`) and compares the signal's generation with the one it last saw. The last
//! file of `signal/`: it uses all the others.
//!
//! A listener is also a [`Stream`] of deliveries, `Item = io::Result<()>`: `poll_next` is
//! `poll_recv`, and after the one error that says the reactor is gone, the stream ends.
//!
//! The rules cited by number are those of `signal/mod.rs`.

#![forbid(unsafe_code)]

use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker, ready};

use futures_core::{FusedStream, Stream};
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
///
/// It is a [`Stream`] of deliveries: `Some(Ok(()))` each time the signal has arrived at
/// least once since the last one (as [`poll_recv`](SignalListener::poll_recv) returns), one
/// `Some(Err(_))` if the reactor it was registered with shuts down (or reading the pipe
/// fails), and `None` from then on. Polling it as a stream keeps `poll_recv`'s promises: a
/// `next()` dropped before it completes loses no delivery. `tempo::signal::Signal` is this
/// stream with the error turned into its end.
///
/// Here a reactor is driven by hand, as the runtime's loop does between task polls, and
/// the signal is sent by the `kill` command:
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// use futures_core::Stream;
/// use tempo_reactor::Reactor;
/// use tempo_reactor::signal::{SignalKind, SignalListener};
///
/// # if cfg!(miri) { return Ok(()); } // Miri runs no `kill` command and installs no handler
/// let mut reactor = Reactor::new()?;
/// let _current = reactor.enter(); // the listener registers with this reactor
/// let mut hangups = SignalListener::new(SignalKind::Hangup)?;
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(Pin::new(&mut hangups).poll_next(&mut cx).is_pending());
///
/// let pid = std::process::id().to_string();
/// std::process::Command::new("kill").args(["-HUP", &pid]).status()?;
/// loop {
///     match Pin::new(&mut hangups).poll_next(&mut cx) {
///         Poll::Ready(Some(delivery)) => break delivery?,
///         Poll::Ready(None) => unreachable!("the reactor is still running"),
///         Poll::Pending => {
///             reactor.turn(None)?; // until the self-pipe is readable
///         }
///     }
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
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
    /// Set when the stream has yielded its error: `poll_next` returns `None` from then on.
    /// `poll_recv` does not look at it.
    ended: bool,
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
            ended: false,
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

impl Stream for SignalListener {
    type Item = io::Result<()>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<()>>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let delivery = ready!(this.poll_recv(cx));
        // A reactor that shut down never turns again: say so once, then end. (Without the
        // flag a later poll could still report a delivery found by another runtime's
        // dispatch, which would make the end not an end.)
        this.ended = delivery.is_err();
        Poll::Ready(Some(delivery))
    }
}

impl FusedStream for SignalListener {
    fn is_terminated(&self) -> bool {
        self.ended
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
