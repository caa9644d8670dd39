//! Registrations: what the reactor knows about each socket.
//!
//! A socket is registered once with the reactor's `Poll` (edge-triggered, for both
//! directions), under a [`Token`] whose low bits are its key in the `IoTable` slab. From
//! then on, epoll reports *edges* — "this socket became readable" — and the reactor records
//! them as readiness bits on the socket's [`Registration`] and wakes whichever task waits on
//! that direction. The protocol an I/O call follows:
//!
//! 1. [`Registration::poll_ready`]: is the direction ready? If not, park the task's waker
//!    in that direction's slot and return `Pending`.
//! 2. Try the syscall.
//! 3. If it returned `WouldBlock`, the readiness was stale: [`Registration::clear_readiness`]
//!    and go back to 1. A *short* read (fewer bytes than asked for) also means the kernel
//!    buffer is now empty, so the caller may clear readiness right away and save the extra
//!    syscall that would only return `WouldBlock`.
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

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use mio::event::{Event, Source};
use mio::{Interest, Token};
use slab::Slab;

use crate::driver::{Handle, WaitingOn, lock};

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
const TICK_SHIFT: u32 = 16;
const BITS_MASK: usize = (1 << TICK_SHIFT) - 1;

impl Direction {
    /// Bits that make this direction worth trying: data (or room), a close, or an error.
    fn ready_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    /// Bits a `WouldBlock` proves stale. Closes stay set: they are final.
    fn clear_mask(self) -> usize {
        match self {
            Direction::Read => READABLE | ERROR,
            Direction::Write => WRITABLE | ERROR,
        }
    }
}

/// Proof that a direction was ready, at a given tick; pass it back to
/// [`Registration::clear_readiness`].
#[derive(Clone, Copy, Debug)]
pub struct ReadyEvent {
    /// The tick the readiness was observed at.
    tick: usize,
    /// The direction it was observed for.
    direction: Direction,
    /// The readiness bits observed.
    bits: usize,
}

impl ReadyEvent {
    /// The peer closed its side (for reads) or ours can no longer send (for writes).
    pub fn is_closed(&self) -> bool {
        self.bits & (READ_CLOSED | WRITE_CLOSED) != 0
    }
}

/// The reactor's record of one registered source.
pub(crate) struct ScheduledIo {
    /// The token the source is registered under (key and generation).
    token: Token,
    /// Readiness bits and tick; written by the reactor, cleared by I/O calls.
    readiness: AtomicUsize,
    /// The tasks waiting to read.
    read_waiters: Mutex<Waiters>,
    /// The tasks waiting to write.
    write_waiters: Mutex<Waiters>,
}

/// The tasks waiting on one direction of a source. Nearly always one (a socket owned by one
/// task), held without allocating; a shared socket — an `Arc<UdpSocket>` or a listener
/// several tasks accept on — may have more, and every one of them is woken by an event, as
/// each must retry its own syscall.
#[derive(Default)]
struct Waiters {
    /// The first waiter.
    first: Option<Waker>,
    /// Any others, in arrival order.
    rest: Vec<Waker>,
}

impl Waiters {
    fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) if self.rest.iter().any(|w| w.will_wake(waker)) => {}
            Some(_) => self.rest.push(waker.clone()),
        }
    }

    fn take_into(&mut self, to_wake: &mut Vec<Waker>) {
        to_wake.extend(self.first.take());
        to_wake.append(&mut self.rest);
    }
}

impl ScheduledIo {
    fn waker_slot(&self, direction: Direction) -> &Mutex<Waiters> {
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
const KEY_BITS: u32 = 32;

/// Every registered source of one reactor, keyed by the low bits of its token.
pub(crate) struct IoTable {
    /// The registrations. The key is the token's low `KEY_BITS` bits.
    slab: Slab<Arc<ScheduledIo>>,
    /// Bumped on every registration; the token's high bits.
    generation: usize,
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

/// A source's registration with a reactor: its readiness and its two waker slots.
///
/// Dropping the registration removes it from the reactor's table. It does not deregister
/// the source from epoll — that needs the source itself; see [`PollEvented`], which does
/// both.
pub struct Registration {
    /// The reactor the source is registered with.
    handle: Handle,
    /// Shared with the reactor's table.
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Register `source` with `handle`'s reactor for the given interest, edge-triggered.
    pub fn new(source: &mut impl Source, interest: Interest, handle: &Handle) -> io::Result<Self> {
        if handle.is_shut_down() {
            return Err(Handle::shut_down_error());
        }
        let mut table = lock(&handle.shared.ios);
        table.generation =
            table.generation.wrapping_add(1) & ((1 << (usize::BITS - KEY_BITS - 1)) - 1);
        let generation = table.generation;
        let entry = table.slab.vacant_entry();
        // Masking the generation's top bit keeps every I/O token's top bit clear, which
        // leaves the tokens with it set to the reactor itself: `usize::MAX` unparks,
        // `usize::MAX - 1` is the high-resolution timerfd.
        let token = Token(entry.key() | (generation << KEY_BITS));
        let io = Arc::new(ScheduledIo {
            token,
            readiness: AtomicUsize::new(0),
            read_waiters: Mutex::new(Waiters::default()),
            write_waiters: Mutex::new(Waiters::default()),
        });
        handle.shared.registry.register(source, token, interest)?;
        entry.insert(io.clone());
        Ok(Registration {
            handle: handle.clone(),
            io,
        })
    }

    /// Is `direction` ready? If not, park the task's waker there and return `Pending`; the
    /// reactor wakes it (and any other task waiting on that direction) on the next event
    /// for that direction. An error means the reactor
    /// has shut down.
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(ev) = self.ready_now(direction) {
            return Poll::Ready(Ok(ev));
        }
        if self.handle.is_shut_down() {
            return Poll::Ready(Err(Handle::shut_down_error()));
        }
        lock(self.io.waker_slot(direction)).register(cx.waker());
        // An event may have landed between the first check and parking the waker; the
        // reactor would then have found the slot empty. Look again.
        match self.ready_now(direction) {
            Some(ev) => Poll::Ready(Ok(ev)),
            None => Poll::Pending,
        }
    }

    fn ready_now(&self, direction: Direction) -> Option<ReadyEvent> {
        let cur = self.io.readiness.load(Ordering::Acquire);
        (cur & direction.ready_mask() != 0).then_some(ReadyEvent {
            tick: cur >> TICK_SHIFT,
            direction,
            bits: cur & BITS_MASK,
        })
    }

    /// The syscall said `WouldBlock` (or read short): forget the readiness `ev` reported,
    /// unless a newer event has arrived since.
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        let _ = self
            .io
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur >> TICK_SHIFT == ev.tick).then_some(cur & !ev.direction.clear_mask())
            });
    }

    /// Run a non-blocking operation in `direction` until it does not return `WouldBlock`,
    /// waiting for readiness in between (steps 1–3 of the module doc).
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = std::task::ready!(self.poll_ready(cx, direction))?;
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                result => return Poll::Ready(result),
            }
        }
    }

    /// The reactor this source is registered with.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = lock(&self.handle.shared.ios);
        let key = self.io.token.0 & ((1 << KEY_BITS) - 1);
        if table
            .slab
            .get(key)
            .is_some_and(|io| Arc::ptr_eq(io, &self.io))
        {
            table.slab.remove(key);
        }
    }
}

/// A mio source registered with the current reactor: the socket and its [`Registration`]
/// together. Dropping it deregisters the source from epoll, then closes it.
pub struct PollEvented<S: Source> {
    /// The non-blocking socket.
    source: S,
    /// Its registration.
    registration: Registration,
}

impl<S: Source> PollEvented<S> {
    /// Register `source` for reads and writes with the current thread's reactor. Fails
    /// outside a tempo runtime.
    pub fn new(source: S) -> io::Result<Self> {
        Self::with_interest(source, Interest::READABLE | Interest::WRITABLE)
    }

    /// Register `source` for the given interest with the current thread's reactor.
    pub fn with_interest(mut source: S, interest: Interest) -> io::Result<Self> {
        let handle = Handle::current()?;
        let registration = Registration::new(&mut source, interest, &handle)?;
        Ok(PollEvented {
            source,
            registration,
        })
    }

    /// The source.
    pub fn get_ref(&self) -> &S {
        &self.source
    }

    /// The registration.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// [`Registration::poll_io`] with the source at hand.
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.registration
            .poll_io(cx, direction, || op(&self.source))
    }
}

impl<S: Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        // Fails only if the reactor is gone, and then there is nothing to undo.
        let _ = self
            .registration
            .handle
            .shared
            .registry
            .deregister(&mut self.source);
    }
}

impl<S: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollEvented")
            .field("source", &self.source)
            .finish()
    }
}
