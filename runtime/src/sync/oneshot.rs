//! A channel for exactly one value: [`channel`] gives a [`Sender`] and a [`Receiver`], and
//! the receiver is a future of the value.
//!
//! asyncio code uses a bare `Future` for this: `fut = loop.create_future()`, one side
//! awaits `fut`, the other calls `fut.set_result(value)` (or `fut.cancel()`). Splitting the
//! future into two handles makes the two roles types: only the sender can resolve it, only
//! once (`send` consumes it), and each side learns when the other is gone — the receiver
//! gets [`RecvError`] if the sender is dropped without sending (asyncio's `CancelledError`
//! from a cancelled future), and the sender gets its value back if the receiver is gone.
//!
//! # States
//!
//! The value slot is an enum, `Slot`, and the receiver's interest a flag:
//!
//! ```text
//!             send(v)                  receiver takes it
//!   Empty ─────────────► Sent(v) ─────────────────────────► Received
//!     │
//!     └── sender dropped unsent ──► SenderDropped      (the receiver gets RecvError)
//!
//!   receiver_closed: set by Receiver::close or drop; send fails from then on
//! ```
//!
//! - `Empty`: nothing sent yet, and the sender is alive. The receiver may wait.
//! - `Sent(v)`: the value is waiting for the receiver. Never entered once the receiver has
//!   closed.
//! - `Received`: the receiver took the value; polling it again is a bug.
//! - `SenderDropped`: the sender went away without sending. Final.
//!
//! Each side has one waker slot, since each side is one handle. Wakers are woken after the
//! lock is released, and the value is never dropped under it.
//!
//! Shortcut: the state sits behind a `std::sync::Mutex`. tokio's oneshot packs it into an
//! atomic word and never blocks; the mutex here is held for a few instructions, by at most
//! two threads, and keeps this file free of `unsafe`.

use std::fmt;
use std::future::{Future, poll_fn};
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop::poll_proceed;

/// Create a one-value channel — what asyncio code does with `loop.create_future()`.
///
/// Allocates once, for the shared state; sending and receiving allocate nothing.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::sync::oneshot;
///
/// tempo::run(async {
///     let (tx, rx) = oneshot::channel();
///     tempo::spawn(async move {
///         // ... some work ...
///         let _ = tx.send(42); // Err only if nobody waits for it any more
///     });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
#[doc(alias = "loop.create_future")]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            slot: Slot::Empty,
            receiver_closed: false,
            receiver_waker: None,
            sender_waker: None,
        }),
    });
    (
        Sender {
            inner: Arc::clone(&inner),
        },
        Receiver { inner },
    )
}

/// The sending half: sends one value, once.
///
/// Mirrors the side of an asyncio `Future` that calls `set_result`; dropping it unsent is
/// the `cancel()`.
#[doc(alias = "set_result")]
pub struct Sender<T> {
    /// The state shared with the receiver.
    inner: Arc<Inner<T>>,
}

/// The receiving half: a future of the value.
///
/// Mirrors `await fut` on an asyncio `Future`; it resolves to `Err(RecvError)` where that
/// would raise `CancelledError`. Awaiting spends one unit of the task's cooperative budget.
///
/// # Panics
/// If polled again after it has returned the value.
#[doc(alias = "asyncio.Future")]
pub struct Receiver<T> {
    /// The state shared with the sender.
    inner: Arc<Inner<T>>,
}

/// What both halves share.
struct Inner<T> {
    /// See the module doc.
    state: Mutex<State<T>>,
}

/// What the lock protects.
struct State<T> {
    /// The value, and whether the sender has had its say; see the module doc.
    slot: Slot<T>,
    /// Set when the receiver closes or is dropped; never cleared.
    receiver_closed: bool,
    /// The receiver's waker while it waits for the value.
    receiver_waker: Option<Waker>,
    /// The sender's waker while it waits in `closed()`.
    sender_waker: Option<Waker>,
}

/// The value slot; one paragraph per state in the module doc.
enum Slot<T> {
    /// Nothing sent yet; the sender is alive.
    Empty,
    /// Sent and not yet received.
    Sent(T),
    /// The receiver took the value.
    Received,
    /// The sender was dropped without sending.
    SenderDropped,
}

impl<T> Inner<T> {
    /// The lock. Nothing here panics under it, and no user code runs under it, so a
    /// poisoned lock is safe to use.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T> Sender<T> {
    /// Send the value and wake the receiver — asyncio's `fut.set_result(value)`.
    ///
    /// Fails, giving the value back, if the receiver has been dropped or closed. Never
    /// waits and never allocates.
    #[doc(alias = "set_result")]
    pub fn send(self, value: T) -> Result<(), T> {
        let mut state = self.inner.lock();
        if state.receiver_closed {
            return Err(value);
        }
        state.slot = Slot::Sent(value);
        let waker = state.receiver_waker.take();
        drop(state);
        wake(waker);
        Ok(())
        // `Drop` now sees `Sent` and does nothing.
    }

    /// True once the receiver has been dropped or closed: a value sent now would be
    /// returned.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().receiver_closed
    }

    /// Wait until the receiver is dropped or closed — for a task that should stop computing
    /// a result nobody wants any more (asyncio code checks `fut.cancelled()` instead).
    pub async fn closed(&mut self) {
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Poll for the receiver being gone; the building block of [`closed`](Sender::closed).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.inner.lock();
        if state.receiver_closed {
            return Poll::Ready(());
        }
        if !state
            .sender_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.sender_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        if !matches!(state.slot, Slot::Empty) {
            return; // we sent
        }
        state.slot = Slot::SenderDropped;
        let waker = state.receiver_waker.take();
        drop(state);
        wake(waker);
    }
}

impl<T> Receiver<T> {
    /// Take the value if it has been sent, without waiting.
    ///
    /// Fails with [`TryRecvError::Empty`] if nothing has been sent yet, or
    /// [`TryRecvError::Closed`] if nothing ever will be: the sender was dropped unsent, the
    /// receiver was closed before a value arrived, or the value was already taken.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.inner.lock();
        match mem::replace(&mut state.slot, Slot::Received) {
            Slot::Sent(value) => Ok(value),
            Slot::Empty => {
                state.slot = Slot::Empty;
                Err(if state.receiver_closed {
                    TryRecvError::Closed
                } else {
                    TryRecvError::Empty
                })
            }
            other => {
                state.slot = other;
                Err(TryRecvError::Closed)
            }
        }
    }

    /// Refuse the value: a later `send` fails and returns it, and the sender's `closed()`
    /// completes. A value sent before the close can still be received. Like cancelling an
    /// asyncio `Future` from the awaiting side.
    #[doc(alias = "cancel")]
    pub fn close(&mut self) {
        let mut state = self.inner.lock();
        state.receiver_closed = true;
        let waker = state.sender_waker.take();
        drop(state);
        wake(waker);
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(poll_proceed(cx));
        let mut state = self.inner.lock();
        match mem::replace(&mut state.slot, Slot::Received) {
            Slot::Sent(value) => Poll::Ready(Ok(value)),
            Slot::Received => panic!("oneshot::Receiver polled after it returned the value"),
            Slot::SenderDropped => {
                state.slot = Slot::SenderDropped;
                Poll::Ready(Err(RecvError))
            }
            Slot::Empty if state.receiver_closed => {
                state.slot = Slot::Empty;
                Poll::Ready(Err(RecvError)) // closed: no value can arrive any more
            }
            Slot::Empty => {
                state.slot = Slot::Empty;
                if !state
                    .receiver_waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    state.receiver_waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.inner.lock();
        state.receiver_closed = true;
        // What we leave behind — our own waker, and a value sent and never received — is
        // taken out to be dropped after unlocking.
        let own_waker = state.receiver_waker.take();
        let unreceived = matches!(state.slot, Slot::Sent(_))
            .then(|| mem::replace(&mut state.slot, Slot::Received));
        let waker = state.sender_waker.take();
        drop(state);
        wake(waker);
        drop((own_waker, unreceived));
    }
}

/// The sender was dropped without sending (or the receiver closed first) — where awaiting
/// a cancelled asyncio `Future` raises `CancelledError`.
#[doc(alias = "CancelledError")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError;

/// Why [`Receiver::try_recv`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is still alive — asyncio's `InvalidStateError` from
    /// `fut.result()` on a pending future.
    #[doc(alias = "InvalidStateError")]
    Empty,
    /// Nothing will ever arrive: the sender was dropped unsent, the receiver was closed, or
    /// the value was already taken.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending")
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no value sent yet"),
            TryRecvError::Closed => f.write_str("no value will arrive"),
        }
    }
}

impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        let slot = match state.slot {
            Slot::Empty => "Empty",
            Slot::Sent(_) => "Sent",
            Slot::Received => "Received",
            Slot::SenderDropped => "SenderDropped",
        };
        f.debug_struct("Receiver")
            .field("slot", &slot)
            .field("closed", &state.receiver_closed)
            .finish_non_exhaustive()
    }
}
