//! [`Registration`] and [`Registered`]: a socket's registration with a reactor, and the
//! socket and its registration together — the objects the runtime's `TcpStream`,
//! `TcpListener` and `UdpSocket` are made of. The half of `io` that holds a [`ReactorHandle`]: it
//! registers a source with the handle's `mio::Registry`, files its readiness record in the
//! handle's I/O table, and follows the readiness contract written at the top of
//! `io/readiness.rs` (steps 1–3) on every call. The reactor's turn (`reactor.rs`) is the
//! other side of that contract.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use super::readiness::{
    BITS_MASK, Direction, KEY_BITS, ReadyEvent, SourceRecord, TICK_SHIFT, Waiters,
};
use crate::handle::ReactorHandle;
use crate::sync::lock;

/// A source's registration with a reactor: its readiness and its two waker slots.
///
/// Dropping the registration removes it from the reactor's table. It does not deregister
/// the source from epoll — that needs the source itself; see [`Registered`], which does
/// both.
pub struct Registration {
    /// The reactor the source is registered with.
    handle: ReactorHandle,
    /// Shared with the reactor's table.
    io: Arc<SourceRecord>,
}

impl Registration {
    /// Register `source` with `handle`'s reactor for the given interest, edge-triggered.
    pub fn new(
        source: &mut impl Source,
        interest: Interest,
        handle: &ReactorHandle,
    ) -> io::Result<Self> {
        if handle.is_shut_down() {
            return Err(ReactorHandle::shut_down_error());
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
        let io = Arc::new(SourceRecord {
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
            return Poll::Ready(Err(ReactorHandle::shut_down_error()));
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
    /// waiting for readiness in between (steps 1–3 of the readiness contract,
    /// `io/readiness.rs`).
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
    pub fn handle(&self) -> &ReactorHandle {
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
///
/// tokio calls the same thing `PollEvented`, from mio's old name for a source, `Evented`.
pub struct Registered<S: Source> {
    /// The non-blocking socket.
    source: S,
    /// Its registration.
    registration: Registration,
}

impl<S: Source> Registered<S> {
    /// Register `source` for reads and writes with the current thread's reactor. Fails
    /// outside a tempo runtime.
    pub fn new(source: S) -> io::Result<Self> {
        Self::with_interest(source, Interest::READABLE | Interest::WRITABLE)
    }

    /// Register `source` for the given interest with the current thread's reactor.
    pub fn with_interest(mut source: S, interest: Interest) -> io::Result<Self> {
        let handle = ReactorHandle::current()?;
        let registration = Registration::new(&mut source, interest, &handle)?;
        Ok(Registered {
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

impl<S: Source> Drop for Registered<S> {
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

impl<S: Source + std::fmt::Debug> std::fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("source", &self.source)
            .finish()
    }
}
