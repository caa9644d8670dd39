//! The FIFO of waiting tasks that every primitive in [`sync`](super) is built on.
//!
//! asyncio's `Lock`, `Semaphore`, `Condition` and `Queue` each keep a `collections.deque` of
//! futures (`_waiters`); releasing resolves the first one. tempo's primitives keep a
//! [`WaitList`] inside their `std::sync::Mutex`, and releasing *notifies* the first waiter:
//! unlinks it, marks it notified, and hands its waker back to be woken after the lock is
//! released.
//!
//! ```text
//!   acquire() ──push_back──► [ w1 ]⇄[ w2 ]⇄[ w3 ]     ← queued, FIFO
//!   release() ──notify_front──► w1: Notified (still in the slab, out of the queue)
//!   w1 polled ──is_notified?──► yes: remove, done
//!   w2 dropped (cancelled) ──remove──► unlinked; it was not notified, nothing to pass on
//!   w1 dropped after being notified, before being polled ──remove──► `true`: the caller
//!        must pass the notification on to the next waiter, or a wake-up is lost
//! ```
//!
//! That last line is the rule that makes the primitives cancellation-safe: a waiter that
//! goes away always calls [`WaitList::remove`], which reports whether it had been notified,
//! and a notified waiter that gives up hands what it was given (a lock, permits, an item, a
//! notification) to the next one.
//!
//! Nodes live in a slab and link by index, so the list needs no unsafe code. A node stays in
//! the slab from `push_back` until its waiter calls `remove`, even after being notified, so
//! a waiter's key never names another waiter's node.
//!
//! An uncontended operation never touches the list, and so allocates nothing; the slab
//! grows only when tasks actually wait, and keeps its capacity for the next time.

use std::task::Waker;

use slab::Slab;

/// "No node": the end of a link.
const NIL: usize = usize::MAX;

/// A waiter's place in a [`WaitList`]; held by the waiting future until it calls `remove`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(usize);

/// Where a waiting future (`lock()`, `acquire()`, `wait()`, ...) stands. Its `Drop` looks
/// at this: a future that is `Waiting` must `remove` itself, and pass on whatever it was
/// handed if it had been notified.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Progress {
    /// Not yet polled: not queued.
    Idle,
    /// Queued under this key.
    Waiting(WaiterKey),
    /// Returned its output; must not be polled again.
    Done,
}

/// One waiter.
struct Node<T> {
    /// Whom to wake when notified. Taken when the waiter is notified.
    waker: Option<Waker>,
    /// What the waiter asks for (permits, say) or carries.
    value: T,
    /// True once notified: unlinked from the queue, waiting to be removed by its owner.
    notified: bool,
    /// Queue links; `NIL` at the ends, and both `NIL` once notified.
    prev: usize,
    next: usize,
}

/// A FIFO of waiters, each carrying a `T`. Not synchronised: it lives inside a primitive's
/// mutex.
pub(crate) struct WaitList<T> {
    /// Every waiter not yet removed, queued or notified.
    nodes: Slab<Node<T>>,
    /// First and last queued waiter.
    head: usize,
    tail: usize,
    /// Queued waiters (not counting notified ones).
    queued: usize,
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<T> WaitList<T> {
    /// An empty list. Allocates nothing.
    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            nodes: Slab::new(),
            head: NIL,
            tail: NIL,
            queued: 0,
        }
    }

    /// True if no waiter is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// How many waiters are queued.
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    /// Queue a waiter at the back.
    pub(crate) fn push_back(&mut self, value: T, waker: &Waker) -> WaiterKey {
        let key = self.nodes.insert(Node {
            waker: Some(waker.clone()),
            value,
            notified: false,
            prev: self.tail,
            next: NIL,
        });
        match self.tail {
            NIL => self.head = key,
            tail => self.nodes[tail].next = key,
        }
        self.tail = key;
        self.queued += 1;
        WaiterKey(key)
    }

    /// True if the waiter has been notified.
    pub(crate) fn is_notified(&self, key: WaiterKey) -> bool {
        self.nodes[key.0].notified
    }

    /// Store the waker to use when notifying this waiter (it may have moved to another
    /// task, or been polled with a different waker).
    pub(crate) fn set_waker(&mut self, key: WaiterKey, waker: &Waker) {
        let node = &mut self.nodes[key.0];
        if !node.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            node.waker = Some(waker.clone());
        }
    }

    /// The value a waiter carries, mutably (to hand it something, say).
    pub(crate) fn value_mut(&mut self, key: WaiterKey) -> &mut T {
        &mut self.nodes[key.0].value
    }

    /// The first queued waiter and its value.
    pub(crate) fn front(&self) -> Option<(WaiterKey, &T)> {
        (self.head != NIL).then(|| (WaiterKey(self.head), &self.nodes[self.head].value))
    }

    /// Notify the first queued waiter: unlink it, mark it, and return its waker for the
    /// caller to wake once it has released its lock.
    pub(crate) fn notify_front(&mut self) -> Option<Waker> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        self.unlink(key);
        let node = &mut self.nodes[key];
        node.notified = true;
        node.waker.take()
    }

    /// Notify every queued waiter, collecting their wakers.
    pub(crate) fn notify_all(&mut self, to_wake: &mut Vec<Waker>) {
        while self.head != NIL {
            to_wake.extend(self.notify_front());
        }
    }

    /// The waiter is going away — it finished waiting, or it was cancelled. Returns its value
    /// and whether it had been notified: a notified waiter that is cancelled must pass on
    /// what it was given (see the module doc).
    pub(crate) fn remove(&mut self, key: WaiterKey) -> (T, bool) {
        if !self.nodes[key.0].notified {
            self.unlink(key.0);
        }
        let node = self.nodes.remove(key.0);
        (node.value, node.notified)
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let node = &mut self.nodes[key];
            let links = (node.prev, node.next);
            node.prev = NIL;
            node.next = NIL;
            links
        };
        match prev {
            NIL => self.head = next,
            prev => self.nodes[prev].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next].prev = prev,
        }
        self.queued -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(list: &WaitList<u32>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut at = list.head;
        while at != NIL {
            out.push(list.nodes[at].value);
            at = list.nodes[at].next;
        }
        out
    }

    #[test]
    fn fifo_notify_and_remove_from_the_middle() {
        let w = Waker::noop();
        let mut list = WaitList::new();
        let keys: Vec<_> = (0..5).map(|i| list.push_back(i, w)).collect();
        assert_eq!(order(&list), [0, 1, 2, 3, 4]);
        assert_eq!(list.remove(keys[2]), (2, false));
        assert_eq!(order(&list), [0, 1, 3, 4]);
        assert!(list.notify_front().is_some());
        assert!(list.is_notified(keys[0]));
        assert_eq!(list.len(), 3);
        assert_eq!(order(&list), [1, 3, 4]);
        // A notified waiter is out of the queue but keeps its key until it removes itself.
        assert_eq!(list.remove(keys[0]), (0, true));
        assert_eq!(list.remove(keys[4]), (4, false));
        assert_eq!(order(&list), [1, 3]);
        let mut wakers = Vec::new();
        list.notify_all(&mut wakers);
        assert_eq!(wakers.len(), 2);
        assert!(list.is_empty());
        assert_eq!(list.remove(keys[1]), (1, true));
        assert_eq!(list.remove(keys[3]), (3, true));
        assert_eq!(list.nodes.len(), 0);
        assert_eq!((list.head, list.tail), (NIL, NIL));
    }

    #[test]
    fn front_and_tail_stay_right_through_churn() {
        let w = Waker::noop();
        let mut list = WaitList::new();
        let mut live = std::collections::VecDeque::new();
        for i in 0..200u32 {
            live.push_back((list.push_back(i, w), i));
            if i % 3 == 0 {
                let (key, _) = live.pop_back().unwrap();
                list.remove(key);
            }
            if i % 5 == 0 {
                if let Some((key, _)) = live.pop_front() {
                    assert!(list.notify_front().is_some());
                    assert!(list.remove(key).1);
                } else {
                    assert!(list.notify_front().is_none());
                }
            }
            assert_eq!(
                order(&list),
                live.iter().map(|&(_, v)| v).collect::<Vec<_>>()
            );
            assert_eq!(list.front().map(|(_, &v)| v), live.front().map(|&(_, v)| v));
        }
    }
}
