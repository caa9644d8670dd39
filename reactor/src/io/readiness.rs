//! Readiness: what the reactor knows about each registered socket, and the contract an I/O
//! call follows to use it. The data half of `io`: the [`IoTable`] slab, one
//! [`SourceRecord`] per source, the readiness bits and their tick. It knows no `ReactorHandle`:
//! `Registration` (`io/registration.rs`) is the half that holds one,
//! built on this. In the loop, the reactor's turn calls
//! [`IoTable::dispatch`] for each event `epoll_wait` returns, under the table's lock,
//! collecting the wakers it takes, and wakes them with [`wake_all`] once it has let go.
//! These two are the whole of the turn's wake path inside the crate: from `epoll_wait`'s
//! events to `Waker::wake`, it crosses only `reactor.rs` and this file.
//!
//! A socket is registered once with the reactor's `Poll` (edge-triggered, for both
//! directions), under a [`Token`] whose low bits are its key in the `IoTable` slab. From
//! then on, epoll reports *edges* — "this socket became readable" — and the reactor records
//! them as readiness bits on the socket's registration and wakes whichever task waits on
//! that direction. The protocol an I/O call follows:
//!
//! 1. `Registration::poll_ready`: is the direction
//!    ready? If not, park the task's waker in that direction's slot and return `Pending`.
//! 2. Try the syscall.
//! 3. If it returned `WouldBlock`, the readiness was stale:
//!    `Registration::clear_readiness` and go back
//!    to 1. A *short* read (fewer bytes than asked for) also means the kernel buffer is now
//!    empty, so the caller may clear readiness right away and save the extra syscall that
//!    would only return `WouldBlock`.
//!
//! **The tick.** Clearing is guarded: each event bumps a tick stored with the bits, and
//! `clear_readiness` clears only if the tick is still the one `poll_ready` returned. If an
//! event arrived between the syscall and the clear, the clear is skipped — otherwise that
//! edge would be lost and the task would sleep forever.
//!
//! **Late events.** A token carries a generation as well as the slab key, and the table
//! checks it, so an event for a socket that was deregistered — whose key may already belong
//! to a new socket — is dropped. At worst a registration sees a *spurious* wake, which the
//! protocol above absorbs (the syscall returns `WouldBlock`); it never sees a wrong one.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use mio::Token;
use mio::event::Event;
use slab::Slab;

use crate::sync::lock;
use crate::waiting_on::WaitingOn;

/// Which half of a socket an operation uses. Each has its own readiness and waker slot, so
/// one task may read while another writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reading, accepting, receiving.
    Read,
    /// Writing, connecting, sending.
    Write,
}

// Readiness bits, low 16 bits of the word; the tick lives above them.
const READABLE: usize = 1 << 0;
const WRITABLE: usize = 1 << 1;
const READ_CLOSED: usize = 1 << 2;
const WRITE_CLOSED: usize = 1 << 3;
const ERROR: usize = 1 << 4;
pub(super) const TICK_SHIFT: u32 = 16;
pub(super) const BITS_MASK: usize = (1 << TICK_SHIFT) - 1;

impl Direction {
    /// Bits that make this direction worth trying: data (or room), a close, or an error.
    pub(super) fn ready_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// Bits a `WouldBlock` proves stale. Closes stay set: they are final.
    pub(super) fn clear_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | ERROR,
            Direction::Write => WRITABLE | ERROR,
        }
    }
}

/// Proof that a direction was ready, at a given tick; pass it back to
/// `Registration::clear_readiness`.
#[derive(Clone, Copy, Debug)]
pub struct ReadyEvent {
    /// The tick the readiness was observed at.
    pub(super) tick: usize,
    /// The direction it was observed for.
    pub(super) direction: Direction,
    /// The readiness bits observed.
    pub(super) bits: usize,
}

impl ReadyEvent {
    /// The peer closed its side (for reads) or ours can no longer send (for writes).
    pub fn is_closed(&self) -> bool {
        self.bits & (READ_CLOSED | WRITE_CLOSED) != 0
    }
}

/// The reactor's record of one registered source: its readiness and its waiters, shared
/// (an `Arc`) between the [`IoTable`] and the source's `Registration`. (tokio calls the same
/// thing `ScheduledIo`.)
pub(crate) struct SourceRecord {
    /// The token the source is registered under (key and generation).
    pub(super) token: Token,
    /// Readiness bits and tick; written by the reactor, cleared by I/O calls.
    pub(super) readiness: AtomicUsize,
    /// The tasks waiting to read.
    pub(super) read_waiters: Mutex<Waiters>,
    /// The tasks waiting to write.
    pub(super) write_waiters: Mutex<Waiters>,
}

/// The tasks waiting on one direction of a source. Nearly always one (a socket owned by one
/// task), held without allocating; a shared socket — an `Arc<UdpSocket>` or a listener
/// several tasks accept on — may have more, and every one of them is woken by an event, as
/// each must retry its own syscall.
#[derive(Default)]
pub(super) struct Waiters {
    /// The first waiter.
    first: Option<Waker>,
    /// Any others, in arrival order.
    rest: Vec<Waker>,
}

impl Waiters {
    #[inline]
    pub(super) fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) if self.rest.iter().any(|w| w.will_wake(waker)) => {}
            Some(_) => self.rest.push(waker.clone()),
        }
    }

    #[inline]
    fn take_into(&mut self, to_wake: &mut Vec<Waker>) {
        to_wake.extend(self.first.take());
        to_wake.append(&mut self.rest);
    }
}

impl SourceRecord {
    #[inline]
    pub(super) fn waker_slot(&self, direction: Direction) -> &Mutex<Waiters> {
        match direction {
            Direction::Read => &self.read_waiters,
            Direction::Write => &self.write_waiters,
        }
    }

    /// Reactor: record an event's readiness (bumping the tick) and take the wakers it
    /// concerns.
    fn set_readiness(&self, event: &Event, to_wake: &mut Vec<Waker>) {
        let mut bits = 0;
        if event.is_readable() {
            bits |= READABLE;
        }
        if event.is_writable() {
            bits |= WRITABLE;
        }
        if event.is_read_closed() {
            bits |= READ_CLOSED;
        }
        if event.is_write_closed() {
            bits |= WRITE_CLOSED;
        }
        if event.is_error() {
            bits |= ERROR;
        }
        let before = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let tick = (cur >> TICK_SHIFT).wrapping_add(1);
                Some((tick << TICK_SHIFT) | (cur & BITS_MASK) | bits)
            })
            .unwrap_or_else(|cur| cur);
        for direction in [Direction::Read, Direction::Write] {
            let mask = direction.ready_mask();
            // Wake the direction's waiters only if this event made it ready. If it was
            // ready already, nobody can be parked there waiting for it: a task parks only
            // after registering its waker and then seeing the direction *not* ready, and
            // the event that set the bits since took every waker registered before it; a
            // task that registered after that event sees the bits and does not park. So
            // there is nothing to take, and we skip the slot's lock. This is the common
            // case for writes: epoll reports most events as readable *and* writable, and a
            // socket whose writes never blocked stays writable for its whole life.
            if bits & mask != 0 && before & mask == 0 {
                lock(self.waker_slot(direction)).take_into(to_wake);
            }
        }
    }

    fn take_wakers(&self, to_wake: &mut Vec<Waker>) {
        for direction in [Direction::Read, Direction::Write] {
            lock(self.waker_slot(direction)).take_into(to_wake);
        }
    }
}

/// Bits of a token that hold the slab key; the generation sits above them.
pub(super) const KEY_BITS: u32 = 32;

/// Every registered source of one reactor, keyed by the low bits of its token.
pub(crate) struct IoTable {
    /// The registrations. The key is the token's low `KEY_BITS` bits.
    pub(super) slab: Slab<Arc<SourceRecord>>,
    /// Bumped on every registration; the token's high bits.
    pub(super) generation: usize,
}

impl IoTable {
    pub(crate) fn new() -> IoTable {
        IoTable {
            slab: Slab::new(),
            generation: 0,
        }
    }

    /// Reactor: route one event to its registration, if it still exists.
    pub(crate) fn dispatch(&self, event: &Event, to_wake: &mut Vec<Waker>) {
        let token = event.token();
        let key = token.0 & ((1 << KEY_BITS) - 1);
        match self.slab.get(key) {
            Some(io) if io.token == token => io.set_readiness(event, to_wake),
            _ => {} // a late event for a source already deregistered
        }
    }

    /// Task dumps: a clone of every parked waker, with the direction and the key it waits
    /// on. Locks each registration's waiter slots in turn, as `dispatch` does (table, then
    /// slot: the one lock order).
    pub(crate) fn collect_waiters(&self, out: &mut Vec<(Waker, WaitingOn)>) {
        for (key, io) in self.slab.iter() {
            for direction in [Direction::Read, Direction::Write] {
                let on = match direction {
                    Direction::Read => WaitingOn::Read { token: key },
                    Direction::Write => WaitingOn::Write { token: key },
                };
                let waiters = lock(io.waker_slot(direction));
                let parked = waiters.first.iter().chain(&waiters.rest);
                out.extend(parked.map(|waker| (waker.clone(), on)));
            }
        }
    }

    /// Reactor shutdown: take every parked waker.
    pub(crate) fn drain_wakers(&self, to_wake: &mut Vec<Waker>) {
        for (_, io) in self.slab.iter() {
            io.take_wakers(to_wake);
        }
    }
}

/// Wake every waker in `wakers`, leaving it empty (and its capacity kept for the next turn).
/// The turn wakes what [`IoTable::dispatch`] and the timer wheel collected with it, after
/// every lock is let go; so do the reactor's shutdown and the signal fan-out
/// (`signal/fanout.rs`).
///
/// A `Waker` is not always tempo's: a tempo future polled by another executor (a
/// `futures::executor::block_on`, a test harness) stores that executor's waker here, and
/// its `wake` is code we do not control. If one panics, the panic must not unwind out of
/// the reactor's turn: the wakers after it would be dropped unwoken, and their tasks would
/// wait for ever on readiness that has already come. So each wake runs inside
/// `catch_unwind`; a panic is logged and the rest are still woken. On the path where
/// nothing panics this costs nothing: unwinding tables, no extra instructions.
pub(crate) fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        // `AssertUnwindSafe`: the closure owns the waker it consumes and touches no other
        // state, so nothing half-updated can be observed after a panic.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            log::error!(
                "tempo reactor: a waker panicked while being woken ({}); the other wakers \
                 of this turn are still woken",
                panic_message(&*payload)
            );
        }
    }
}

/// The text of a panic's payload, as `panic!` formats it, or a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "a panic payload that is not a string"
    }
}
