//! The timer heap: armed timers ordered by deadline.
//!
//! An *indexed* binary min-heap. Timers live in a slab; the heap holds their keys ordered by
//! `(deadline, sequence)`, and each timer remembers its position in the heap. That gives:
//!
//! - insert, reset and cancel in O(log n) — a cancelled timer leaves nothing behind, so it
//!   costs nothing later (no stale entry to skip when its deadline comes);
//! - the nearest deadline in O(1), for the reactor's `epoll_wait` timeout;
//! - expiry in deadline order, ties broken by arming order.
//!
//! asyncio keeps its scheduled callbacks in a `heapq` too, but cancels lazily: a cancelled
//! `TimerHandle` stays in the heap until it reaches the top (or until cancelled ones exceed
//! half the heap and it is rebuilt). The index is what lets tempo remove one on the spot.
//!
//! A timer that has fired stays in the slab, out of the heap, until its `Sleep` removes it:
//! its key must not be reused while the `Sleep` still holds it.

use std::task::Waker;
use std::time::Instant;

use slab::Slab;

use crate::driver::WaitingOn;

/// `pos` of a timer that has fired and is no longer in the heap.
const FIRED: usize = usize::MAX;

/// One armed (or fired) timer.
struct Entry {
    /// When it fires.
    deadline: Instant,
    /// Arming order, to break ties between equal deadlines.
    seq: u64,
    /// Who to wake.
    waker: Option<Waker>,
    /// Index in `heap`, or `FIRED`.
    pos: usize,
}

/// Armed timers of one reactor.
pub(crate) struct TimerHeap {
    /// Every timer that a `Sleep` holds a key to.
    entries: Slab<Entry>,
    /// Keys of armed timers, a binary min-heap on `(deadline, seq)`.
    heap: Vec<usize>,
    /// The next `seq`.
    next_seq: u64,
}

impl TimerHeap {
    pub(crate) fn new() -> TimerHeap {
        TimerHeap {
            entries: Slab::new(),
            heap: Vec::new(),
            next_seq: 0,
        }
    }

    /// Arm a timer. Returns its key, and whether it is now the nearest deadline.
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> (usize, bool) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let key = self.entries.insert(Entry {
            deadline,
            seq,
            waker: Some(waker),
            pos: self.heap.len(),
        });
        self.heap.push(key);
        self.sift_up(self.heap.len() - 1);
        (key, self.heap[0] == key)
    }

    /// Replace a timer's waker, unless it would wake the same task.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let entry = &mut self.entries[key];
        match &entry.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => entry.waker = Some(waker.clone()),
        }
    }

    /// Move a timer (armed or fired) to a new deadline. Returns whether it is now the
    /// nearest.
    pub(crate) fn reset(&mut self, key: usize, deadline: Instant, waker: Option<&Waker>) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = &mut self.entries[key];
        entry.deadline = deadline;
        entry.seq = seq;
        if let Some(w) = waker {
            if !entry.waker.as_ref().is_some_and(|old| old.will_wake(w)) {
                entry.waker = Some(w.clone());
            }
        }
        if entry.pos == FIRED {
            entry.pos = self.heap.len();
            self.heap.push(key);
            self.sift_up(self.heap.len() - 1);
        } else {
            let pos = entry.pos;
            self.sift_up(pos);
            let pos = self.entries[key].pos;
            self.sift_down(pos);
        }
        self.heap[0] == key
    }

    /// Cancel a timer, armed or fired. Its key becomes free.
    pub(crate) fn remove(&mut self, key: usize) {
        let pos = self.entries[key].pos;
        if pos != FIRED {
            self.remove_at(pos);
        }
        self.entries.remove(key);
    }

    /// The nearest deadline, if any timer is armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.first().map(|&key| self.entries[key].deadline)
    }

    /// Fire every timer whose deadline is at or before `now`, nearest first, collecting
    /// their wakers. Returns how many fired.
    pub(crate) fn expire(&mut self, now: Instant, to_wake: &mut Vec<Waker>) -> usize {
        let mut fired = 0;
        while let Some(&key) = self.heap.first() {
            if self.entries[key].deadline > now {
                break;
            }
            self.remove_at(0);
            let entry = &mut self.entries[key];
            entry.pos = FIRED;
            to_wake.extend(entry.waker.take());
            fired += 1;
        }
        fired
    }

    /// Task dumps: a clone of the waker of every armed timer, with its deadline. Fired
    /// timers have given their waker away and are not listed.
    pub(crate) fn collect_waiters(&self, out: &mut Vec<(Waker, WaitingOn)>) {
        for &key in &self.heap {
            let entry = &self.entries[key];
            if let Some(waker) = &entry.waker {
                let on = WaitingOn::Timer {
                    deadline: entry.deadline,
                };
                out.push((waker.clone(), on));
            }
        }
    }

    /// Reactor shutdown: take every waker.
    pub(crate) fn drain_wakers(&mut self, to_wake: &mut Vec<Waker>) {
        for (_, entry) in self.entries.iter_mut() {
            to_wake.extend(entry.waker.take());
        }
    }

    /// How many timers are armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    fn less(&self, a: usize, b: usize) -> bool {
        let (a, b) = (&self.entries[self.heap[a]], &self.entries[self.heap[b]]);
        (a.deadline, a.seq) < (b.deadline, b.seq)
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.heap.swap(i, j);
        self.entries[self.heap[i]].pos = i;
        self.entries[self.heap[j]].pos = j;
    }

    fn remove_at(&mut self, pos: usize) {
        let last = self.heap.len() - 1;
        self.swap(pos, last);
        self.heap.pop();
        if pos < self.heap.len() {
            self.sift_up(pos);
            let pos = self.entries[self.heap[pos]].pos;
            self.sift_down(pos);
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.less(i, parent) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut smallest = i;
            if l < self.heap.len() && self.less(l, smallest) {
                smallest = l;
            }
            if r < self.heap.len() && self.less(r, smallest) {
                smallest = r;
            }
            if smallest == i {
                break;
            }
            self.swap(i, smallest);
            i = smallest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;
    use std::time::Duration;

    fn check(h: &TimerHeap) {
        for (i, &key) in h.heap.iter().enumerate() {
            assert_eq!(h.entries[key].pos, i);
            if i > 0 {
                assert!(!h.less(i, (i - 1) / 2), "heap order broken at {i}");
            }
        }
    }

    #[test]
    fn expires_in_deadline_order_and_removal_leaves_nothing() {
        let base = Instant::now();
        let mut h = TimerHeap::new();
        // A deterministic shuffle of 0..200 ms.
        let offsets: Vec<u64> = (0..200).map(|i| (i * 73) % 200).collect();
        let keys: Vec<usize> = offsets
            .iter()
            .map(|&ms| {
                h.insert(base + Duration::from_millis(ms), Waker::noop().clone())
                    .0
            })
            .collect();
        check(&h);
        // Cancel every third timer.
        for (i, &key) in keys.iter().enumerate() {
            if i % 3 == 0 {
                h.remove(key);
                check(&h);
            }
        }
        assert_eq!(h.len(), 200 - 67);
        let mut fired = Vec::new();
        let mut last = base;
        while let Some(d) = h.next_deadline() {
            assert!(d >= last);
            last = d;
            let mut wakers = Vec::new();
            assert_eq!(h.expire(d, &mut wakers), wakers.len());
            fired.push(d);
            check(&h);
        }
        assert_eq!(fired.len(), 200 - 67);
        let expected: Vec<_> = offsets
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, &ms)| base + Duration::from_millis(ms))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(fired, expected);
    }

    #[test]
    fn reset_moves_a_timer_both_ways_and_rearms_a_fired_one() {
        let base = Instant::now();
        let mut h = TimerHeap::new();
        let (a, _) = h.insert(base + Duration::from_millis(10), Waker::noop().clone());
        let (b, _) = h.insert(base + Duration::from_millis(20), Waker::noop().clone());
        assert!(h.reset(b, base + Duration::from_millis(5), None));
        check(&h);
        assert!(!h.reset(b, base + Duration::from_millis(30), None));
        check(&h);
        assert_eq!(h.next_deadline(), Some(base + Duration::from_millis(10)));
        let mut w = Vec::new();
        assert_eq!(h.expire(base + Duration::from_millis(10), &mut w), 1);
        // `a` fired; re-arm it after `b`.
        assert!(!h.reset(a, base + Duration::from_millis(40), None));
        check(&h);
        assert_eq!(h.expire(base + Duration::from_millis(100), &mut w), 2);
        assert_eq!(h.len(), 0);
        h.remove(a);
        h.remove(b);
    }

    #[test]
    fn equal_deadlines_fire_in_arming_order() {
        let at = Instant::now();
        let mut h = TimerHeap::new();
        let keys: Vec<_> = (0..10)
            .map(|_| h.insert(at, Waker::noop().clone()).0)
            .collect();
        let mut order = Vec::new();
        while h.next_deadline().is_some() {
            let key = h.heap[0];
            order.push(key);
            h.remove_at(0);
            h.entries[key].pos = FIRED;
        }
        assert_eq!(order, keys);
    }
}
