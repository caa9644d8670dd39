//! Multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded_channel`].
//!
//! asyncio has no channel type: asyncio code shares one `asyncio.Queue` between its
//! producers and its consumer. A channel is that queue split into handles, which buys the
//! two things a queue cannot say on its own: the consumer learns that every producer is
//! gone (`recv` returns `None`), and producers learn that the consumer is gone (`send`
//! fails and hands the value back). Use [`Queue`](super::Queue) when several consumers
//! share the work, or for `task_done`/`join`.
//!
//! # How it works
//!
//! One `Chan` per channel, shared through an `Arc` by every handle: a buffer, the one
//! receiver's waker, and — for a bounded channel — a `WaitList` of senders waiting for a
//! slot. The rules, cited in the code by number:
//!
//! 1. **A slot freed by `recv` goes to the first waiting sender**, which is notified and
//!    the slot `reserved` for it; `buffer.len() + reserved <= capacity` always. So senders
//!    wait only while no slot is free, a new `send` queues behind them, and waiting
//!    senders get slots in FIFO order.
//! 2. **A sender cancelled after being given a slot passes it to the next sender** (the
//!    rule in `sync::waitlist`); a cancelled `send` never sends.
//! 3. **Closing is permanent.** The receiver closes the channel by [`Receiver::close`] or
//!    by being dropped: every waiting sender is woken and fails, reservations are dropped,
//!    and no value enters afterwards. Values already buffered can still be received after
//!    `close`; when the receiver is dropped they are dropped with it.
//! 4. **The receiver sees the end** when the buffer is empty and either every sender has
//!    been dropped or the channel is closed: `recv` returns `None`.
//!
//! There is one receiver, so its waker is a single slot, not a list. Wakers are woken after
//! the lock is released, and values are never dropped under it.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::mem;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use futures_core::Stream;

use super::waitlist::{WaitList, WaiterKey};
use crate::task::poll_proceed;

/// A bounded channel's buffer is allocated up front for up to this many values, so that a
/// steady state allocates nothing; beyond it the buffer grows on demand and keeps its
/// capacity.
const PRESIZE_LIMIT: usize = 4096;

/// A bounded channel holding at most `capacity` values: [`Sender::send`] waits while it is
/// full, which slows fast producers down to the consumer's pace (backpressure).
///
/// What asyncio code writes `asyncio.Queue(maxsize=capacity)` for, when one task consumes.
///
/// # Panics
/// If `capacity` is 0 (a channel that can hold nothing could never deliver).
#[doc(alias = "asyncio.Queue")]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "mpsc::channel(0): the capacity must be at least 1"
    );
    let chan = Arc::new(Chan::new(
        Some(capacity),
        VecDeque::with_capacity(capacity.min(PRESIZE_LIMIT)),
    ));
    (
        Sender {
            chan: Arc::clone(&chan),
        },
        Receiver { chan },
    )
}

/// A channel with no bound: [`UnboundedSender::send`] never waits, and is not even async.
///
/// What asyncio code writes `asyncio.Queue()` for, when one task consumes. Nothing slows a
/// producer down, so a consumer that falls behind lets the buffer grow without limit.
/// The buffer grows on demand and keeps its capacity, so once it has reached its
/// high-water mark sending allocates nothing.
#[doc(alias = "asyncio.Queue")]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Arc::new(Chan::new(None, VecDeque::new()));
    (
        UnboundedSender {
            chan: Arc::clone(&chan),
        },
        UnboundedReceiver { chan },
    )
}

/// The sending half of a bounded [`channel`]. Clone it for each producer.
///
/// Mirrors a producer's `await queue.put(item)` on an `asyncio.Queue(maxsize)`; differs in
/// that `send` fails, returning the value, once the receiver is gone.
#[doc(alias = "Queue.put")]
pub struct Sender<T> {
    /// The channel, shared with the other handles.
    chan: Arc<Chan<T>>,
}

/// The receiving half of a bounded [`channel`]. Also a [`Stream`] of the values.
///
/// Mirrors a consumer's `await queue.get()`; differs in that `recv` returns `None` once
/// every sender is gone and the buffer is drained, so no sentinel value is needed.
#[doc(alias = "Queue.get")]
pub struct Receiver<T> {
    /// The channel, shared with the senders.
    chan: Arc<Chan<T>>,
}

/// The sending half of an [`unbounded_channel`]. Clone it for each producer.
///
/// Mirrors `queue.put_nowait(item)` on an unbounded `asyncio.Queue`, which never waits;
/// differs in that `send` fails, returning the value, once the receiver is gone.
#[doc(alias = "Queue.put_nowait")]
pub struct UnboundedSender<T> {
    /// The channel, shared with the other handles.
    chan: Arc<Chan<T>>,
}

/// The receiving half of an [`unbounded_channel`]. Also a [`Stream`] of the values.
///
/// Mirrors a consumer's `await queue.get()`; differs in that `recv` returns `None` once
/// every sender is gone and the buffer is drained.
#[doc(alias = "Queue.get")]
pub struct UnboundedReceiver<T> {
    /// The channel, shared with the senders.
    chan: Arc<Chan<T>>,
}

/// What every handle of one channel shares.
struct Chan<T> {
    /// Values, waiters and counts; see the module doc for its rules.
    state: Mutex<State<T>>,
    /// The most values the buffer holds, or `None` if unbounded. Fixed at creation.
    capacity: Option<usize>,
}

/// What the channel's lock protects.
struct State<T> {
    /// Sent values not yet received, oldest at the front.
    buffer: VecDeque<T>,
    /// Slots promised to notified senders that have not yet used them (rule 1).
    reserved: usize,
    /// Senders waiting for a slot (bounded channels only).
    senders: WaitList<()>,
    /// `Sender::closed` calls waiting for the receiver to close.
    close_watchers: WaitList<()>,
    /// The receiver's waker while it waits for a value.
    rx_waker: Option<Waker>,
    /// How many sender handles exist; the receiver sees the end when it reaches 0.
    senders_alive: usize,
    /// Set when the receiver closes or is dropped; never cleared (rule 3).
    closed: bool,
}

impl<T> Chan<T> {
    fn new(capacity: Option<usize>, buffer: VecDeque<T>) -> Chan<T> {
        Chan {
            state: Mutex::new(State {
                buffer,
                reserved: 0,
                senders: WaitList::new(),
                close_watchers: WaitList::new(),
                rx_waker: None,
                senders_alive: 1,
                closed: false,
            }),
            capacity,
        }
    }

    /// The lock. The rules hold wherever this module's code could panic, and no user code
    /// runs under it, so a poisoned lock is safe to use.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True if a new send may go into the buffer now (rule 1).
    fn has_free_slot(&self, state: &State<T>) -> bool {
        self.capacity
            .is_none_or(|cap| state.buffer.len() + state.reserved < cap)
    }

    /// Push a value that has a slot and wake the receiver, after unlocking.
    fn push(&self, mut state: MutexGuard<'_, State<T>>, value: T) {
        state.buffer.push_back(value);
        let waker = state.rx_waker.take();
        drop(state);
        wake(waker);
    }

    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let state = self.lock();
        if state.closed {
            Err(TrySendError::Closed(value))
        } else if !self.has_free_slot(&state) {
            Err(TrySendError::Full(value))
        } else {
            self.push(state, value);
            Ok(())
        }
    }

    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        ready!(poll_proceed(cx));
        let mut state = self.lock();
        if let Some(value) = state.buffer.pop_front() {
            let waker = free_slot(&mut state);
            drop(state);
            wake(waker);
            return Poll::Ready(Some(value));
        }
        if state.senders_alive == 0 || state.closed {
            return Poll::Ready(None); // rule 4
        }
        if !state
            .rx_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.rx_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        match state.buffer.pop_front() {
            Some(value) => {
                let waker = free_slot(&mut state);
                drop(state);
                wake(waker);
                Ok(value)
            }
            None if state.senders_alive == 0 || state.closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Rule 3.
    fn close(&self) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.closed = true;
        state.reserved = 0;
        let mut wakers = Vec::new();
        state.senders.notify_all(&mut wakers);
        state.close_watchers.notify_all(&mut wakers);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The receiver is gone: close (rule 3), then hand back what it left behind — the
    /// buffered values and its own waker — for the caller to drop after unlocking.
    fn receiver_dropped(&self) -> (VecDeque<T>, Option<Waker>) {
        self.close();
        let mut state = self.lock();
        (mem::take(&mut state.buffer), state.rx_waker.take())
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn len(&self) -> usize {
        self.lock().buffer.len()
    }

    fn add_sender(&self) {
        self.lock().senders_alive += 1;
    }

    fn drop_sender(&self) {
        let mut state = self.lock();
        state.senders_alive -= 1;
        let waker = if state.senders_alive == 0 {
            state.rx_waker.take() // rule 4: the receiver may be waiting for the end
        } else {
            None
        };
        drop(state);
        wake(waker);
    }
}

/// A value left the buffer: its slot goes to the first waiting sender, if any (rule 1).
fn free_slot<T>(state: &mut State<T>) -> Option<Waker> {
    if state.senders.is_empty() {
        return None;
    }
    state.reserved += 1;
    state.senders.notify_front()
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

impl<T> Sender<T> {
    /// Send `value`, waiting while the channel is full.
    ///
    /// Fails with [`SendError`], giving the value back, if the receiver has closed or been
    /// dropped — before the call, or while it waits. Senders that wait get free slots in
    /// the order they started waiting. Spends one unit of the task's cooperative budget,
    /// so a loop that sends into a channel that always has room still yields to the loop.
    ///
    /// Cancel-safe: dropping the future before it completes sends nothing, and a slot that
    /// was freed for it passes to the next waiting sender.
    #[doc(alias = "Queue.put")]
    pub fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            key: None,
        }
    }

    /// Send `value` if there is room now — what asyncio code does with `put_nowait`.
    ///
    /// Fails with [`TrySendError::Full`] if every slot is taken (slots promised to waiting
    /// senders count as taken), or [`TrySendError::Closed`] if the receiver is gone; either
    /// way the value comes back.
    #[doc(alias = "put_nowait")]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// True once the receiver has closed the channel or been dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Wait until the receiver closes the channel or is dropped — for a producer that
    /// should stop working when nobody wants its output any more.
    pub fn closed(&self) -> impl Future<Output = ()> + '_ {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }

    /// The most values the channel holds.
    pub fn max_capacity(&self) -> usize {
        self.chan
            .capacity
            .expect("a bounded channel has a capacity")
    }
}

impl<T> UnboundedSender<T> {
    /// Send `value` at once; it never waits.
    ///
    /// Fails with [`SendError`], giving the value back, if the receiver has closed or been
    /// dropped. It is not async, so it spends no budget: the receiver's `recv` does.
    #[doc(alias = "put_nowait")]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let state = self.chan.lock();
        if state.closed {
            return Err(SendError(value));
        }
        self.chan.push(state, value);
        Ok(())
    }

    /// True once the receiver has closed the channel or been dropped.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Wait until the receiver closes the channel or is dropped.
    pub fn closed(&self) -> impl Future<Output = ()> + '_ {
        Closed {
            chan: &self.chan,
            key: None,
        }
    }
}

/// The receiving operations, written once for both receivers.
macro_rules! receiver_methods {
    () => {
        /// Receive the next value, waiting until one is sent. Returns `None` once the buffer
        /// is empty and every sender has been dropped, or the channel was
        /// [closed](Self::close).
        ///
        /// Spends one unit of the task's cooperative budget, so a loop over a channel that
        /// is always ready still yields to the loop, its I/O and its timers.
        ///
        /// Cancel-safe: the value is taken only in the poll that returns it, so dropping the
        /// future loses nothing.
        #[doc(alias = "Queue.get")]
        pub async fn recv(&mut self) -> Option<T> {
            poll_fn(|cx| self.chan.poll_recv(cx)).await
        }

        /// Poll for the next value; the building block of [`recv`](Self::recv) and of the
        /// [`Stream`] implementation, for hand-written futures.
        pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
            self.chan.poll_recv(cx)
        }

        /// Receive a value if one is buffered — what asyncio code does with `get_nowait`.
        ///
        /// Fails with [`TryRecvError::Empty`] if none is buffered now, or
        /// [`TryRecvError::Disconnected`] if none ever will be (every sender is gone, or the
        /// channel is closed, and the buffer is empty).
        #[doc(alias = "get_nowait")]
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            self.chan.try_recv()
        }

        /// Close the channel: every waiting and future send fails and gets its value back.
        /// Values already buffered can still be received; then `recv` returns `None`.
        /// Closing twice is harmless.
        pub fn close(&mut self) {
            self.chan.close();
        }

        /// How many values are buffered.
        pub fn len(&self) -> usize {
            self.chan.len()
        }

        /// True if no value is buffered.
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
    };
}

impl<T> Receiver<T> {
    receiver_methods!();
}

impl<T> UnboundedReceiver<T> {
    receiver_methods!();
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.get_mut().chan.poll_recv(cx)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        drop(self.chan.receiver_dropped()); // dropped here, after unlocking
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        drop(self.chan.receiver_dropped());
    }
}

/// The future of [`Sender::send`].
struct SendFuture<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// The value, until it is sent or given back.
    value: Option<T>,
    /// Our place among the waiting senders, while we wait.
    key: Option<WaiterKey>,
}

// The value is never pinned: we only move it in and out of the `Option`.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        ready!(poll_proceed(cx));
        let this = self.get_mut();
        let mut state = this.chan.lock();
        if let Some(key) = this.key {
            if !state.senders.is_notified(key) {
                state.senders.set_waker(key, cx.waker());
                return Poll::Pending;
            }
            this.key = None;
            state.senders.remove(key);
            if !state.closed {
                state.reserved -= 1; // the slot we were given (rule 1) is ours to use
            }
        } else if !state.closed && !this.chan.has_free_slot(&state) {
            this.key = Some(state.senders.push_back((), cx.waker()));
            return Poll::Pending;
        }
        let value = this
            .value
            .take()
            .expect("Sender::send polled after completion");
        if state.closed {
            return Poll::Ready(Err(SendError(value)));
        }
        this.chan.push(state, value);
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut state = self.chan.lock();
        let ((), notified) = state.senders.remove(key);
        let waker = if notified && !state.closed {
            state.reserved -= 1; // rule 2: pass the slot on
            free_slot(&mut state)
        } else {
            None
        };
        drop(state);
        wake(waker);
        // `self.value` is dropped after this, outside the lock, and was never sent.
    }
}

/// The future of [`Sender::closed`] and [`UnboundedSender::closed`].
struct Closed<'a, T> {
    /// The channel.
    chan: &'a Chan<T>,
    /// Our place among the watchers, while we wait.
    key: Option<WaiterKey>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut state = this.chan.lock();
        if state.closed {
            if let Some(key) = this.key.take() {
                state.close_watchers.remove(key);
            }
            return Poll::Ready(());
        }
        match this.key {
            Some(key) => state.close_watchers.set_waker(key, cx.waker()),
            None => this.key = Some(state.close_watchers.push_back((), cx.waker())),
        }
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            // Watchers are all released together: nothing to pass on.
            self.chan.lock().close_watchers.remove(key);
        }
    }
}

/// A send failed because the receiver is gone or closed; the value is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// Why [`Sender::try_send`] failed; either way the value is given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// Every slot is taken — asyncio's `QueueFull`.
    #[doc(alias = "QueueFull")]
    Full(T),
    /// The receiver is gone or closed.
    Closed(T),
}

/// Why a `try_recv` failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// No value is buffered now — asyncio's `QueueEmpty`.
    #[doc(alias = "QueueEmpty")]
    Empty,
    /// No value is buffered and none ever will be: every sender is gone, or the channel
    /// was closed.
    Disconnected,
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

// Debug without `T: Debug`, so that `.unwrap()` works on any value type.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on a closed channel")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => f.write_str("send on a closed channel"),
        }
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("the channel is empty"),
            TryRecvError::Disconnected => f.write_str("the channel is empty and closed"),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}
impl<T> std::error::Error for TrySendError<T> {}
impl std::error::Error for TryRecvError {}

macro_rules! debug_handle {
    ($($name:ident),*) => {$(
        impl<T> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let state = self.chan.lock();
                f.debug_struct(stringify!($name))
                    .field("buffered", &state.buffer.len())
                    .field("capacity", &self.chan.capacity)
                    .field("closed", &state.closed)
                    .finish_non_exhaustive()
            }
        }
    )*};
}

debug_handle!(Sender, Receiver, UnboundedSender, UnboundedReceiver);

#[cfg(test)]
mod tests {
    //! The `Stream` implementation, polled by hand: the integration tests in the `tempo`
    //! package cannot name `futures_core::Stream`, which is not one of its dependencies.

    use super::*;

    fn poll_next<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn receivers_are_streams_that_end_when_every_sender_is_gone() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).unwrap();
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(1)));
        assert_eq!(poll_next(&mut rx), Poll::Pending);
        tx.try_send(2).unwrap();
        drop(tx);
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some(2)));
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));

        let (tx, mut rx) = unbounded_channel();
        tx.send("a").unwrap();
        let tx2 = tx.clone();
        drop(tx);
        assert_eq!(poll_next(&mut rx), Poll::Ready(Some("a")));
        assert_eq!(poll_next(&mut rx), Poll::Pending);
        drop(tx2);
        assert_eq!(poll_next(&mut rx), Poll::Ready(None));
    }
}
