//! What every handle of one `broadcast` channel shares — the buffer, the position of its
//! oldest value, the handle counts, the waiting receivers — and the operations that keep
//! the rules numbered in `broadcast/mod.rs`.

use std::collections::VecDeque;
use std::mem;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use super::error::{SendError, TryRecvError};
use crate::sync::waitlist::WaitList;

/// A channel's buffer is allocated up front for up to this many values, so that a steady
/// state allocates nothing; beyond it the buffer grows on demand and keeps its capacity.
const PRESIZE_LIMIT: usize = 4096;

/// What every handle of one channel shares.
pub(super) struct Shared<T> {
    /// Everything but the capacity.
    state: Mutex<State<T>>,
    /// The most values kept. Fixed at creation.
    pub(super) capacity: usize,
}

/// What `Shared::state` protects.
pub(super) struct State<T> {
    /// Values not yet received by every receiver that owes them, oldest first.
    buffer: VecDeque<Slot<T>>,
    /// The position (send number) of `buffer[0]`; of the next value if the buffer is empty.
    head: u64,
    /// Live senders; 0 means closed (rule 4).
    pub(super) senders: usize,
    /// Live receivers; 0 makes `send` fail (rule 4).
    pub(super) receivers: usize,
    /// Receivers waiting in `recv()`.
    pub(super) waiting: WaitList<()>,
    /// Senders waiting in `closed()` for the last receiver to go.
    pub(super) closed: WaitList<()>,
    /// A buffer for wakers, kept for its capacity so that waking many allocates nothing.
    spare: Vec<Waker>,
}

/// One value, and how many receivers still owe it a `recv` (rule 1).
struct Slot<T> {
    /// The value.
    value: T,
    /// Receivers that existed when it was sent and have not received it.
    remaining: usize,
}

impl<T> Shared<T> {
    /// The state of a new channel of `capacity`, with one sender and one receiver.
    pub(super) fn new(capacity: usize) -> Shared<T> {
        Shared {
            state: Mutex::new(State {
                buffer: VecDeque::with_capacity(capacity.min(PRESIZE_LIMIT)),
                head: 0,
                senders: 1,
                receivers: 1,
                waiting: WaitList::new(),
                closed: WaitList::new(),
                spare: Vec::new(),
            }),
            capacity,
        }
    }

    /// The lock. User code runs under it only in `T::clone` (in `take`) and
    /// `Waker::clone`, neither of which leaves the state half-changed, so a poisoned lock is
    /// still consistent.
    pub(super) fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Store `value` for every receiver, dropping the oldest if full (rule 2), and wake the
    /// waiting receivers. Returns how many receivers will see it.
    pub(super) fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let mut state = self.state();
        if state.receivers == 0 {
            return Err(SendError(value));
        }
        let dropped = if state.buffer.len() == self.capacity {
            state.head += 1;
            state.buffer.pop_front()
        } else {
            None
        };
        let receivers = state.receivers;
        state.buffer.push_back(Slot {
            value,
            remaining: receivers,
        });
        self.wake_all(state, |state| &mut state.waiting);
        drop(dropped); // a user's destructor, after the lock is let go
        Ok(receivers)
    }

    /// Notify every waiter of one list, waking them after the lock is released, with the
    /// kept buffer (no allocation once it has grown).
    pub(super) fn wake_all(
        &self,
        mut state: MutexGuard<'_, State<T>>,
        list: fn(&mut State<T>) -> &mut WaitList<()>,
    ) {
        if list(&mut state).is_empty() {
            return;
        }
        let mut wakers = mem::take(&mut state.spare);
        list(&mut state).notify_all(&mut wakers);
        drop(state);
        wakers.drain(..).for_each(Waker::wake);
        let mut state = self.state();
        if wakers.capacity() > state.spare.capacity() {
            state.spare = wakers;
        }
    }
}

impl<T> State<T> {
    /// The position the next value sent will have: where a new receiver starts (rule 3).
    pub(super) fn tail(&self) -> u64 {
        self.head + self.buffer.len() as u64
    }

    /// How many values the receiver at `next` has still to receive (not counting lag).
    pub(super) fn unreceived(&self, next: u64) -> usize {
        (self.tail() - next.max(self.head)) as usize
    }

    /// Values still owed to some receiver.
    pub(super) fn len(&self) -> usize {
        self.buffer.len()
    }

    /// Receive for the receiver whose next position is `next`: its lag (rule 2), its next
    /// value — moved out if it is the last to owe it (rule 1), else cloned — or why not.
    pub(super) fn take(&mut self, next: &mut u64) -> Result<T, TryRecvError>
    where
        T: Clone,
    {
        if *next < self.head {
            let missed = self.head - *next;
            *next = self.head;
            return Err(TryRecvError::Lagged(missed));
        }
        let index = (*next - self.head) as usize;
        let Some(slot) = self.buffer.get_mut(index) else {
            return Err(if self.senders == 0 {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        };
        *next += 1;
        slot.remaining -= 1;
        if slot.remaining > 0 {
            return Ok(slot.value.clone());
        }
        // Rule 1: the last to owe a value owes the oldest one.
        debug_assert_eq!(index, 0, "only the oldest slot can be fully received");
        self.head += 1;
        let slot = self.buffer.pop_front().expect("the slot we just read");
        Ok(slot.value)
    }

    /// A receiver at `next` is going away: give up its claim on every value it had not
    /// received (rule 4). Returns the values nobody owes any more, for the caller to drop
    /// after unlocking.
    pub(super) fn forget_receiver(&mut self, next: u64) -> Vec<T> {
        self.receivers -= 1;
        let from = (next.max(self.head) - self.head) as usize;
        for slot in self.buffer.iter_mut().skip(from) {
            slot.remaining -= 1;
        }
        let done = self
            .buffer
            .iter()
            .take_while(|slot| slot.remaining == 0)
            .count();
        self.head += done as u64;
        self.buffer.drain(..done).map(|slot| slot.value).collect()
    }
}
