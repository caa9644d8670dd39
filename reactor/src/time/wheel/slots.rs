//! The wheel's storage: where each armed timer is kept, and how it is filed into a slot and
//! taken out of one. The first file of `time/wheel/`, which knows nothing of when the
//! timers fire or who arms them (`fire.rs` and `arm.rs`, the two after it).
//!
//! A timer is an [`Entry`] in a slab; its key is what its `Sleep` holds. The entries of one
//! slot form a doubly linked list threaded through the slab by key (`prev`, `next`), so a
//! timer is unlinked in O(1) without a search, and a slot is a first-in first-out queue.
//! A [`Level`] is 64 such lists and a bit mask of the non-empty ones. [`TimerWheel::file_at`]
//! picks a timer's level and slot from its tick, as the design in `time/wheel/mod.rs`
//! describes; [`TimerWheel::unlink`] takes it out. Both keep `level0_min`, the earliest
//! deadline of each level-0 slot, so that the nearest deadline (`fire.rs`) is found
//! without walking a slot.

use std::task::Waker;
use std::time::{Duration, Instant};

use slab::Slab;

/// How many levels the wheel has.
pub(super) const LEVELS: usize = 6;
/// Bits of a tick per level: 64 slots.
pub(super) const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks one window of the top level spans (about 2.2 years). A deadline beyond the top
/// level's current window waits in the overflow list, filed again once that window is over.
pub(super) const SPAN: u64 = 1 << (SLOT_BITS as usize * LEVELS);
/// The `level` of the overflow list, which has one slot, 0.
pub(super) const OVERFLOW: usize = LEVELS;
/// "No entry": the end of a list.
pub(super) const NIL: u32 = u32::MAX;
/// `level` of a timer that has fired and is in no list.
pub(super) const FIRED: u8 = u8::MAX;

/// One armed (or fired) timer.
pub(super) struct Entry {
    /// When it fires, exactly.
    pub(super) deadline: Instant,
    /// Who to wake.
    pub(super) waker: Option<Waker>,
    /// The previous entry in its slot's list, or `NIL`.
    pub(super) prev: u32,
    /// The next entry in its slot's list, or `NIL`.
    pub(super) next: u32,
    /// Its level, or `FIRED`.
    pub(super) level: u8,
    /// Its slot in that level.
    pub(super) slot: u8,
}

/// One level: 64 slots, each a doubly linked list of entry keys.
pub(super) struct Level {
    /// First entry of each slot's list.
    pub(super) heads: [u32; SLOTS],
    /// Last entry of each slot's list, where a newly armed timer is appended.
    pub(super) tails: [u32; SLOTS],
    /// Bit `s` set: slot `s` is not empty.
    pub(super) occupied: u64,
}

impl Level {
    pub(super) const EMPTY: Level = Level {
        heads: [NIL; SLOTS],
        tails: [NIL; SLOTS],
        occupied: 0,
    };
}

/// Armed timers of one reactor. Its fields are `pub(super)` because its methods are spread
/// over the three files of `time/wheel/`; nothing outside the wheel touches them, and every
/// caller holds the wheel's lock (`Shared::timers`, `handle.rs`).
pub(crate) struct TimerWheel {
    /// Tick 0.
    pub(super) origin: Instant,
    /// The tick up to which every slot has been processed.
    pub(super) elapsed: u64,
    /// Every timer that a `Sleep` holds a key to, armed or fired.
    pub(super) entries: Slab<Entry>,
    /// The levels, finest first; then the overflow list (index `OVERFLOW`, slot 0 only).
    pub(super) levels: [Level; LEVELS + 1],
    /// The earliest deadline in each level-0 slot, so that the nearest deadline is found
    /// without walking a slot's list on every turn (a slot may hold thousands of timers).
    /// `None` for an empty slot, and for one whose earliest timer was cancelled: then it
    /// is worked out again, once, by the next `next_deadline`.
    pub(super) level0_min: [Option<Instant>; SLOTS],
    /// How many timers are armed (in some list).
    pub(super) armed: usize,
}

impl TimerWheel {
    /// An empty wheel whose tick 0 is now.
    pub(crate) fn new() -> TimerWheel {
        TimerWheel {
            origin: Instant::now(),
            elapsed: 0,
            entries: Slab::new(),
            levels: [Level::EMPTY; LEVELS + 1],
            level0_min: [None; SLOTS],
            armed: 0,
        }
    }

    /// How many timers are armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.armed
    }

    /// The tick `instant` falls in (rounded down), or 0 before the origin.
    #[inline]
    pub(super) fn tick_of(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        // In u64, not `as_millis`'s u128: this runs for every timer armed. (u64
        // milliseconds overflow after 584 million years.)
        since
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(since.subsec_millis()))
    }

    /// The instant tick `tick` starts at.
    #[inline]
    pub(super) fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    /// Put entry `key`, which is in no list, into the slot its deadline belongs in, at the
    /// end of the list.
    #[inline]
    pub(super) fn file(&mut self, key: usize) {
        let tick = self.tick_of(self.entries[key].deadline);
        self.file_at(key, tick);
    }

    /// [`file`](Self::file), with the tick of the entry's deadline already worked out.
    #[inline]
    pub(super) fn file_at(&mut self, key: usize, tick: u64) {
        // Due already: the current slot.
        let tick = tick.max(self.elapsed);
        let (level, slot) = if tick > self.elapsed | (SPAN - 1) {
            (OVERFLOW, 0)
        } else {
            // The highest 6-bit group in which `tick` and `elapsed` differ (0 if none).
            let differ = (self.elapsed ^ tick) | (SLOTS as u64 - 1);
            let level = ((63 - differ.leading_zeros()) / SLOT_BITS) as usize;
            (
                level,
                ((tick >> (SLOT_BITS as usize * level)) as usize) & (SLOTS - 1),
            )
        };

        if level == 0 {
            let deadline = self.entries[key].deadline;
            let known =
                self.levels[0].occupied & (1 << slot) == 0 || self.level0_min[slot].is_some();
            // An empty slot starts its minimum afresh; a slot whose minimum is unknown
            // stays unknown until `next_deadline` walks it.
            if known {
                self.level0_min[slot] =
                    Some(self.level0_min[slot].map_or(deadline, |m| m.min(deadline)));
            }
        }
        let lvl = &mut self.levels[level];
        let tail = lvl.tails[slot];
        // `NIL` (u32::MAX) marks a list's end, so it cannot be a key.
        let k = u32::try_from(key)
            .ok()
            .filter(|&k| k != NIL)
            .expect("fewer than 2^32 - 1 timers");
        let entry = &mut self.entries[key];
        entry.level = level as u8;
        entry.slot = slot as u8;
        entry.prev = tail;
        entry.next = NIL;
        if tail == NIL {
            lvl.heads[slot] = k;
            lvl.occupied |= 1 << slot;
        } else {
            self.entries[tail as usize].next = k;
        }
        lvl.tails[slot] = k;
        self.armed += 1;
    }

    /// Take entry `key` out of its slot's list, if it is in one.
    #[inline]
    pub(super) fn unlink(&mut self, key: usize) {
        let entry = &mut self.entries[key];
        if entry.level == FIRED {
            return;
        }
        let (level, slot, prev, next) = (
            entry.level as usize,
            entry.slot as usize,
            entry.prev,
            entry.next,
        );
        let deadline = entry.deadline;
        entry.level = FIRED;
        entry.prev = NIL;
        entry.next = NIL;
        match prev {
            NIL => self.levels[level].heads[slot] = next,
            p => self.entries[p as usize].next = next,
        }
        match next {
            NIL => self.levels[level].tails[slot] = prev,
            n => self.entries[n as usize].prev = prev,
        }
        if self.levels[level].heads[slot] == NIL {
            self.levels[level].occupied &= !(1 << slot);
            if level == 0 {
                self.level0_min[slot] = None;
            }
        } else if level == 0 && self.level0_min[slot] == Some(deadline) {
            // The slot's earliest timer is gone; the next look walks the slot again.
            self.level0_min[slot] = None;
        }
        self.armed -= 1;
    }
}
