//! The bounded channel: [`channel`] makes a [`Sender`], whose `send` waits while every slot
//! is taken, and a [`Receiver`] — what asyncio code does with `asyncio.Queue(maxsize)` and
//! one consumer.
//!
//! The handles are thin: each holds an `Arc` of the shared `Chan` (`chan.rs`) and calls its
//! methods. What is only here is [`Sender::send`]'s future, which queues for a slot and
//! follows rules 1 and 2 of `mpsc/mod.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::{FusedStream, Stream};
use tempo_executor::coop::poll_proceed;

use super::chan::{Chan, Closed, free_slot, wake};
use super::error::{SendError, TryRecvError, TrySendError};
use super::methods::{debug_handle, receiver_methods, receiver_stream};
use crate::sync::waitlist::WaiterKey;

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

/// The sending half of a bounded [`channel`]. Clone it for each producer.
///
/// Mirrors a producer's `await queue.put(item)` on an `asyncio.Queue(maxsize)`; differs in
/// that `send` fails, returning the value, once the receiver is gone.
#[doc(alias = "Queue.put")]
pub struct Sender<T> {
    /// The channel, shared with the other handles.
    chan: Arc<Chan<T>>,
}

/// The receiving half of a bounded [`channel`]. Also a [`Stream`] of the values (and a
/// `FusedStream`), which ends where [`recv`](Self::recv) returns `None`.
///
/// Mirrors a consumer's `await queue.get()`; differs in that `recv` returns `None` once
/// every sender is gone and the buffer is drained, so no sentinel value is needed.
#[doc(alias = "Queue.get")]
pub struct Receiver<T> {
    /// The channel, shared with the senders.
    chan: Arc<Chan<T>>,
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

impl<T> Receiver<T> {
    receiver_methods!();
}

receiver_stream!(Receiver);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        drop(self.chan.receiver_dropped()); // dropped here, after unlocking
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

debug_handle!(Sender, Receiver);
