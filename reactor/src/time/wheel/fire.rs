//! The reactor's side of the wheel: what its turn asks before and after `epoll_wait` —
//! when must I look next ([`TimerWheel::next_deadline`]), and what is due now
//! ([`TimerWheel::expire`]) — and every waker it holds, taken at shutdown or cloned for a
//! task dump. In asyncio's `_run_once` these are the look at the head of the
//! `_scheduled` heap for the `select` timeout, and the loop that pops the due handles into
//! the ready queue; here a due timer's waker is collected, and the turn wakes it after
//! letting go of the wheel's lock.
//!
//! Expiring is where a higher slot *cascades* (`time/wheel/mod.rs`, "Expiring"): its
//! timers are filed again, into a lower level, through `slots.rs`. Nothing here arms or
//! cancels a timer; that is `arm.rs`, next.

use std::task::Waker;
use std::time::Instant;

use super::slots::{FIRED, NIL, OVERFLOW, SLOT_BITS, SLOTS, SPAN, TimerWheel};
use crate::waiting_on::WaitingOn;

impl TimerWheel {
    /// When the reactor must look at the wheel next, if any timer is armed: the exact
    /// deadline of the nearest timer when it is in level 0, else the start of the slot
    /// it will cascade from — never later than the nearest deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        let (level, slot, start) = self.next_slot()?;
        if level > 0 {
            return Some(self.instant_of(start));
        }
        if let Some(nearest) = self.level0_min[slot] {
            return Some(nearest);
        }
        let mut key = self.levels[0].heads[slot];
        let mut nearest = self.entries[key as usize].deadline;
        while key != NIL {
            let entry = &self.entries[key as usize];
            nearest = nearest.min(entry.deadline);
            key = entry.next;
        }
        self.level0_min[slot] = Some(nearest);
        Some(nearest)
    }

    /// Fire every timer whose deadline is at or before `now`, collecting their wakers, and
    /// cascade the slots whose time has come. Returns how many fired.
    pub(crate) fn expire(&mut self, now: Instant, to_wake: &mut Vec<Waker>) -> usize {
        let now_tick = self.tick_of(now);
        let mut fired = 0;
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            self.elapsed = start;
            // Take the whole list, then file or fire each entry: an entry filed again may
            // land in this very slot (a level-0 timer due later within this millisecond).
            // Only level 0 fires. A higher slot is always cascaded, even when the loop is so
            // late that its timers are all due: filed again by their ticks, they fire from
            // level 0 in tick order, not in the order they were armed.
            let mut key = self.levels[level].heads[slot];
            self.levels[level].heads[slot] = NIL;
            self.levels[level].tails[slot] = NIL;
            self.levels[level].occupied &= !(1 << slot);
            if level == 0 {
                self.level0_min[slot] = None;
            }
            while key != NIL {
                let entry = &mut self.entries[key as usize];
                let next = entry.next;
                self.armed -= 1;
                if level == 0 && entry.deadline <= now {
                    entry.level = FIRED;
                    entry.prev = NIL;
                    entry.next = NIL;
                    to_wake.extend(entry.waker.take());
                    fired += 1;
                } else {
                    self.file(key as usize);
                }
                key = next;
            }
            // The current millisecond is only partly over: what is left in its slot is due
            // later within it, and is not to be looked at again until `now` moves on.
            if level == 0 && start == now_tick {
                break;
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
        fired
    }

    /// Task dumps: a clone of the waker of every armed timer, with its deadline. Fired
    /// timers have given their waker away and are not listed.
    pub(crate) fn collect_waiters(&self, out: &mut Vec<(Waker, WaitingOn)>) {
        for (_, entry) in self.entries.iter() {
            if let (true, Some(waker)) = (entry.level != FIRED, &entry.waker) {
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

    /// The first occupied slot, as `(level, slot, the tick it starts at)`. A lower level's
    /// slots all come before a higher level's (they lie within the higher level's current
    /// slot), so the first level with a slot occupied has the answer. Within a level, no
    /// slot before `elapsed`'s own is ever occupied: a timer is filed in a slot at or
    /// after it, and `expire` empties slots as `elapsed` passes them. The overflow list
    /// comes due when the top level's current window ends.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        for (level, lvl) in self.levels.iter().enumerate() {
            if lvl.occupied == 0 {
                continue;
            }
            if level == OVERFLOW {
                return Some((OVERFLOW, 0, (self.elapsed | (SPAN - 1)) + 1));
            }
            let shift = SLOT_BITS as usize * level;
            let current = ((self.elapsed >> shift) as usize) & (SLOTS - 1);
            debug_assert_eq!(
                lvl.occupied & ((1u64 << current) - 1),
                0,
                "a slot before the current one is occupied"
            );
            let slot = (lvl.occupied >> current).trailing_zeros() as usize + current;
            // The window of this level that holds `elapsed`, then the slot within it.
            let window = self.elapsed & !((1u64 << (shift + SLOT_BITS as usize)) - 1);
            return Some((level, slot, window + ((slot as u64) << shift)));
        }
        None
    }
}
