//! The `Sleep`'s side of the wheel: arming a timer, asking whether it has fired, moving it
//! to a new deadline, and cancelling it. A `Sleep` (`time/sleep.rs`) calls these through
//! its reactor's handle, from whichever thread polls or drops it — asyncio's `call_at`
//! and `TimerHandle.cancel`. The last file of `time/wheel/`: it files and unlinks through
//! `slots.rs`, and a re-arm asks `fire.rs` for the nearest deadline, to learn whether the
//! reactor must look sooner than it planned.

use std::task::Waker;
use std::time::Instant;

use super::slots::{Entry, FIRED, NIL, TimerWheel};

/// How many ticks past the last expiry a deadline must be for [`TimerWheel::arm`] to take
/// it as not yet due without reading the clock.
const NEAR: u64 = 16;

/// What [`TimerWheel::reset`] did.
pub(crate) enum Reset {
    /// The new deadline has passed: the timer is fired, and here is the waker that was
    /// parked on it, if any, to be woken once the lock is let go.
    Due(Option<Waker>),
    /// The timer is armed for the new deadline; `sooner` if the wheel's nearest deadline
    /// moved earlier, so that a reactor blocked until the old one must be woken.
    Armed {
        /// The reactor must look sooner than it planned.
        sooner: bool,
    },
}

impl TimerWheel {
    /// Arm a timer for `deadline`, waking `waker`, unless it is due already: then `None`,
    /// and nothing is armed. Returns the timer's key.
    ///
    /// Whether it is due is decided without reading the clock when the wheel can tell.
    /// `elapsed` is the tick of the wheel's last expiry, whose `now` was at or after it:
    /// a deadline in an earlier tick has passed. A deadline more than [`NEAR`] ticks past
    /// it — a 60 s idle timeout armed on a read — is taken as still ahead: if the loop has
    /// been busy so long since that it has in fact passed, the timer fires at the next
    /// turn of the loop, late by that turn but never early. Only a deadline in between, or
    /// one armed when no timer is (the turns do not advance `elapsed` then), costs a read
    /// of the clock.
    #[inline]
    pub(crate) fn arm(&mut self, deadline: Instant, waker: &Waker) -> Option<usize> {
        let tick = self.tick_unless_due(deadline)?;
        let key = self.entries.insert(Entry {
            deadline,
            waker: Some(waker.clone()),
            prev: NIL,
            next: NIL,
            level: FIRED,
            slot: 0,
        });
        self.file_at(key, tick);
        Some(key)
    }

    /// `deadline`'s tick, or `None` if it has passed — reading the clock only if the wheel
    /// cannot tell (see [`arm`](Self::arm)).
    #[inline]
    fn tick_unless_due(&mut self, deadline: Instant) -> Option<u64> {
        if self.armed == 0 {
            // Nothing is filed, so the wheel may start again from the present — tick 0 is
            // now — which keeps its idea of the time fresh for the timers that follow, for
            // the price of the one clock read that deciding takes anyway.
            let now = Instant::now();
            if deadline <= now {
                return None;
            }
            self.origin = now;
            self.elapsed = 0;
            return Some(self.tick_of(deadline));
        }
        let tick = self.tick_of(deadline);
        if tick < self.elapsed {
            return None;
        }
        if tick > self.elapsed + NEAR {
            return Some(tick);
        }
        (deadline > Instant::now()).then_some(tick)
    }

    /// True once the timer has fired (or was reset to a deadline already due), until it is
    /// reset to one ahead.
    #[inline]
    pub(crate) fn has_fired(&self, key: usize) -> bool {
        self.entries[key].level == FIRED
    }

    /// [`has_fired`](Self::has_fired), or due by the clock and fired now. The clock is read
    /// only for a timer in level 0 — the wheel's current 64 ms window, where a poll may come
    /// after the deadline but before the next expiry — so that such a `Sleep` polled after
    /// its deadline completes whether or not the loop has turned since, as a timer armed
    /// with the same deadline at that moment would be found due by [`arm`](Self::arm). A
    /// timer in a higher level (a 60 s idle timeout) costs no clock read: polled after its
    /// deadline, it completes at the loop's next turn, late by that turn, never early.
    #[inline]
    pub(crate) fn poll_fired(&mut self, key: usize) -> bool {
        if self.has_fired(key) {
            return true;
        }
        let entry = &self.entries[key];
        match entry.level {
            0 if entry.deadline <= Instant::now() => {
                self.unlink(key);
                true
            }
            _ => false,
        }
    }

    /// Arm a timer, due or not. Returns its key. (Tests build wheels with it; the
    /// reactor arms through [`arm`](Self::arm).)
    #[cfg(test)]
    pub(super) fn insert(&mut self, deadline: Instant, waker: Waker) -> usize {
        let key = self.entries.insert(Entry {
            deadline,
            waker: Some(waker),
            prev: NIL,
            next: NIL,
            level: FIRED,
            slot: 0,
        });
        self.file(key);
        key
    }

    /// Replace a timer's waker, unless it would wake the same task.
    #[inline]
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let entry = &mut self.entries[key];
        match &entry.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => entry.waker = Some(waker.clone()),
        }
    }

    /// Move a timer (armed or fired) to a new deadline. One already due (decided as in
    /// [`arm`](Self::arm)) is left fired, and its waker is handed back: the task parked
    /// on it must be woken, or it would wait for a timer that will never fire again. One
    /// ahead is armed, and the caller learns whether the reactor must now look sooner
    /// than it had planned — on another thread, it has to be woken to do so.
    pub(crate) fn reset(&mut self, key: usize, deadline: Instant) -> Reset {
        let planned = self.next_deadline();
        self.unlink(key);
        self.entries[key].deadline = deadline;
        let Some(tick) = self.tick_unless_due(deadline) else {
            return Reset::Due(self.entries[key].waker.take());
        };
        self.file_at(key, tick);
        let now_planned = self.next_deadline();
        Reset::Armed {
            sooner: planned.is_none_or(|before| now_planned.is_some_and(|after| after < before)),
        }
    }

    /// Cancel a timer, armed or fired. Its key becomes free.
    #[inline]
    pub(crate) fn remove(&mut self, key: usize) {
        self.unlink(key);
        self.entries.remove(key);
    }
}
