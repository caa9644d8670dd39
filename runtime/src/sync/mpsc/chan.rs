//! `Chan`: what every handle of one `mpsc` channel shares through an `Arc` — the buffer, the
//! senders waiting for a slot, the receiver's waker — and the operations on it.
//!
//! An asyncio `Queue` keeps the same things inside one object. Here the channel's handles
//! (`Sender`, `Receiver` and their unbounded twins, in `bounded.rs` and `unbounded.rs`)
//! each hold an `Arc<Chan<T>>` and call the methods below. The rules these methods keep are
//! numbered in `mpsc/mod.rs` and cited here by number. Also here: [`Closed`], the future of
//! `closed()`, which both kinds of sender return.

use std::collections::VecDeque;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop::poll_proceed;

use super::error::{TryRecvError, TrySendError};
use crate::sync::waitlist::{WaitList, WaiterKey};

/// What every handle of one channel shares.
pub(super) struct Chan<T> {
    /// Values, waiters and counts; see `mpsc/mod.rs` for their rules.
    state: Mutex<State<T>>,
    /// The most values the buffer holds, or `None` if unbounded. Fixed at creation.
    pub(super) capacity: Option<usize>,
}

/// What the channel's lock protects.
pub(super) struct State<T> {
    /// Sent values not yet received, oldest at the front.
    pub(super) buffer: VecDeque<T>,
    /// Slots promised to notified senders that have not yet used them (rule 1).
    pub(super) reserved: usize,
    /// Senders waiting for a slot (bounded channels only).
    pub(super) senders: WaitList<()>,
    /// `Sender::closed` calls waiting for the receiver to close.
    pub(super) close_watchers: WaitList<()>,
    /// The receiver's waker while it waits for a value.
    pub(super) rx_waker: Option<Waker>,
    /// How many sender handles exist; the receiver sees the end when it reaches 0.
    pub(super) senders_alive: usize,
    /// Set when the receiver closes or is dropped; never cleared (rule 3).
    pub(super) closed: bool,
}

impl<T> State<T> {
    /// No value will enter the buffer again: every sender is gone, or the channel is
    /// closed. Both are permanent (no sender can be made without one; rule 3).
    fn no_more_sends(&self) -> bool {
        self.senders_alive == 0 || self.closed
    }
}

impl<T> Chan<T> {
    pub(super) fn new(capacity: Option<usize>, buffer: VecDeque<T>) -> Chan<T> {
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

    /// The lock. The rules hold wherever the channel's code could panic, and no user code
    /// runs under it, so a poisoned lock is safe to use.
    pub(super) fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True if a new send may go into the buffer now (rule 1).
    pub(super) fn has_free_slot(&self, state: &State<T>) -> bool {
        self.capacity
            .is_none_or(|cap| state.buffer.len() + state.reserved < cap)
    }

    /// Push a value that has a slot and wake the receiver, after unlocking.
    pub(super) fn push(&self, mut state: MutexGuard<'_, State<T>>, value: T) {
        state.buffer.push_back(value);
        let waker = state.rx_waker.take();
        drop(state);
        wake(waker);
    }

    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
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

    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        ready!(poll_proceed(cx));
        let mut state = self.lock();
        if let Some(value) = state.buffer.pop_front() {
            let waker = free_slot(&mut state);
            drop(state);
            wake(waker);
            return Poll::Ready(Some(value));
        }
        if state.no_more_sends() {
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

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.lock();
        match state.buffer.pop_front() {
            Some(value) => {
                let waker = free_slot(&mut state);
                drop(state);
                wake(waker);
                Ok(value)
            }
            None if state.no_more_sends() => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Rule 3.
    pub(super) fn close(&self) {
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
    pub(super) fn receiver_dropped(&self) -> (VecDeque<T>, Option<Waker>) {
        self.close();
        let mut state = self.lock();
        (mem::take(&mut state.buffer), state.rx_waker.take())
    }

    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// How many more values `poll_recv` will return: at least those buffered, and exactly
    /// those once no more can enter (rule 4's end is in sight). For `Stream::size_hint`.
    pub(super) fn size_hint(&self) -> (usize, Option<usize>) {
        let state = self.lock();
        let buffered = state.buffer.len();
        (buffered, state.no_more_sends().then_some(buffered))
    }

    /// True once `poll_recv` returns `None` and always will (rule 4): nothing is buffered
    /// and nothing can be sent. For `FusedStream::is_terminated`.
    pub(super) fn is_terminated(&self) -> bool {
        let state = self.lock();
        state.buffer.is_empty() && state.no_more_sends()
    }

    pub(super) fn len(&self) -> usize {
        self.lock().buffer.len()
    }

    pub(super) fn add_sender(&self) {
        self.lock().senders_alive += 1;
    }

    pub(super) fn drop_sender(&self) {
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
pub(super) fn free_slot<T>(state: &mut State<T>) -> Option<Waker> {
    if state.senders.is_empty() {
        return None;
    }
    state.reserved += 1;
    state.senders.notify_front()
}

pub(super) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The future of [`Sender::closed`] and [`UnboundedSender::closed`].
pub(super) struct Closed<'a, T> {
    /// The channel.
    pub(super) chan: &'a Chan<T>,
    /// Our place among the watchers, while we wait.
    pub(super) key: Option<WaiterKey>,
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
