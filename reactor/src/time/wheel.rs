//! The timer wheel: armed timers filed by when they are due, so that arming and cancelling
//! one costs the same whether a hundred or a million are armed.
//!
//! In the loop: a `Sleep` arms and cancels its timer here, through its
//! reactor's `ReactorHandle`, which keeps the wheel behind a lock; the reactor's turn asks the wheel for the
//! nearest deadline before `epoll_wait` and expires the due timers after it, collecting
//! their wakers. The wheel itself is plain data — it knows no `ReactorHandle` and wakes no one —
//! and says what its waiters wait on in the words of a task dump ([`WaitingOn`]).
//!
//! # Why a wheel
//!
//! A server arms a timer for nearly every read and cancels it when the read completes —
//! `timeout(idle, stream.read(..))` — so arm and cancel are what must be cheap; a timer
//! that actually fires is the rare case. tempo first kept its timers in an indexed binary
//! heap: O(log n) for both, and with 64 connections the sift loops alone cost about 880
//! instructions per echo, more than the rest of the request (callgrind, `cargo bench
//! --bench versus -- --instructions`). A hierarchical wheel — the structure of the Linux
//! kernel's timers and of tokio's — makes both O(1): arming computes a slot from the
//! deadline and appends to that slot's list; cancelling unlinks the entry from its list.
//!
//! # The shape
//!
//! Time is counted in *ticks* of one millisecond since the wheel was made (`origin`).
//! There are [`LEVELS`] levels of 64 slots. A slot of level 0 covers one tick, a slot of
//! level 1 covers 64, of level 2, 64² = 4 096, and so on; level 5's slots cover about 12
//! days each and the whole wheel about 2.2 years ahead. `elapsed` is the tick up to which
//! the wheel has been processed. A timer due at tick `t` goes in the lowest level whose
//! current 64-slot window also holds `elapsed` — the level of the highest 6-bit group in
//! which `t` and `elapsed` differ — in slot `(t >> 6·level) % 64`:
//!
//! ```text
//! level 0  |0|1|2|…|63|   1 ms per slot     timers due within this 64 ms window
//! level 1  |0|1|2|…|63|   64 ms per slot    …within this 4.1 s window
//! level 2  |0|1|2|…|63|   4.1 s per slot    …within this 4.4 min window
//!   …
//! ```
//!
//! So a 60 s idle timeout lands in level 2 and sits untouched until it is cancelled, which
//! is what nearly all of them are. Each level keeps a 64-bit mask of its occupied slots, so
//! the next slot that is due is found with one `trailing_zeros` per level.
//!
//! # Expiring
//!
//! When the reactor asks the wheel to expire up to `now`, it takes the due slots in time
//! order. A level-0 slot's timers fire (each still checked against its exact deadline: a
//! slot is a millisecond wide, and timers are never early). A higher slot whose time has
//! come is *cascaded*: its timers are filed again relative to the new `elapsed`, each into
//! a lower level, closer to firing — even when the loop comes so late that they are all
//! due, so that they still fire from level 0 in deadline order. A timer moves down at most
//! five times in its life, and only if it lives that long.
//!
//! **Exact deadlines.** Timers keep their exact `Instant`; the tick only decides the slot.
//! For the nearest deadline — the reactor's `epoll_wait` timeout, or the timerfd of the
//! high-resolution mode — the wheel looks into its first occupied level-0 slot and returns
//! the earliest exact deadline there; for a timer further out it returns the start of its
//! slot, when it will cascade.
//!
//! **Order.** Timers fire in tick order; within one millisecond, in the order they were
//! armed (each slot is a first-in first-out list).
//!
//! A timer that has fired stays in the slab, in no list, until its `Sleep` removes it: its
//! key must not be reused while the `Sleep` still holds it.

use std::task::Waker;
use std::time::{Duration, Instant};

use slab::Slab;

use crate::waiting_on::WaitingOn;

/// How many levels the wheel has.
const LEVELS: usize = 6;
/// Bits of a tick per level: 64 slots.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Ticks one window of the top level spans (about 2.2 years). A deadline beyond the top
/// level's current window waits in the overflow list, filed again once that window is over.
const SPAN: u64 = 1 << (SLOT_BITS as usize * LEVELS);
/// The `level` of the overflow list, which has one slot, 0.
const OVERFLOW: usize = LEVELS;
/// "No entry": the end of a list.
const NIL: u32 = u32::MAX;
/// `level` of a timer that has fired and is in no list.
const FIRED: u8 = u8::MAX;
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

/// One armed (or fired) timer.
struct Entry {
    /// When it fires, exactly.
    deadline: Instant,
    /// Who to wake.
    waker: Option<Waker>,
    /// The previous entry in its slot's list, or `NIL`.
    prev: u32,
    /// The next entry in its slot's list, or `NIL`.
    next: u32,
    /// Its level, or `FIRED`.
    level: u8,
    /// Its slot in that level.
    slot: u8,
}

/// One level: 64 slots, each a doubly linked list of entry keys.
struct Level {
    /// First entry of each slot's list.
    heads: [u32; SLOTS],
    /// Last entry of each slot's list, where a newly armed timer is appended.
    tails: [u32; SLOTS],
    /// Bit `s` set: slot `s` is not empty.
    occupied: u64,
}

impl Level {
    const EMPTY: Level = Level {
        heads: [NIL; SLOTS],
        tails: [NIL; SLOTS],
        occupied: 0,
    };
}

/// Armed timers of one reactor.
pub(crate) struct TimerWheel {
    /// Tick 0.
    origin: Instant,
    /// The tick up to which every slot has been processed.
    elapsed: u64,
    /// Every timer that a `Sleep` holds a key to, armed or fired.
    entries: Slab<Entry>,
    /// The levels, finest first; then the overflow list (index `OVERFLOW`, slot 0 only).
    levels: [Level; LEVELS + 1],
    /// The earliest deadline in each level-0 slot, so that the nearest deadline is found
    /// without walking a slot's list on every turn (a slot may hold thousands of timers).
    /// `None` for an empty slot, and for one whose earliest timer was cancelled: then it
    /// is worked out again, once, by the next `next_deadline`.
    level0_min: [Option<Instant>; SLOTS],
    /// How many timers are armed (in some list).
    armed: usize,
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
    fn insert(&mut self, deadline: Instant, waker: Waker) -> usize {
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

    /// How many timers are armed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.armed
    }

    /// The tick `instant` falls in (rounded down), or 0 before the origin.
    #[inline]
    fn tick_of(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        // In u64, not `as_millis`'s u128: this runs for every timer armed. (u64
        // milliseconds overflow after 584 million years.)
        since
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(since.subsec_millis()))
    }

    /// The instant tick `tick` starts at.
    fn instant_of(&self, tick: u64) -> Instant {
        self.origin + Duration::from_millis(tick)
    }

    /// Put entry `key`, which is in no list, into the slot its deadline belongs in, at the
    /// end of the list.
    fn file(&mut self, key: usize) {
        let tick = self.tick_of(self.entries[key].deadline);
        self.file_at(key, tick);
    }

    /// [`file`](Self::file), with the tick of the entry's deadline already worked out.
    #[inline]
    fn file_at(&mut self, key: usize, tick: u64) {
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
    fn unlink(&mut self, key: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that records its number in a shared log when woken.
    struct Tagged(usize, Arc<std::sync::Mutex<Vec<usize>>>);

    impl Wake for Tagged {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Expire at `now` and wake what fired; the tags woken, in order.
    fn expire_at(wheel: &mut TimerWheel, now: Instant, log: &Arc<std::sync::Mutex<Vec<usize>>>) {
        let mut to_wake = Vec::new();
        wheel.expire(now, &mut to_wake);
        to_wake.into_iter().for_each(Waker::wake);
        let _ = log;
    }

    #[test]
    fn timers_fire_in_deadline_order_at_every_level_and_never_early() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = TimerWheel::new();
        let o = wheel.origin;
        // One per level and a few within one level, armed out of order.
        let offsets = [5_000_000, 3, 70, 1, 4_100, 300_000, 64, 63, 65, 4_096];
        for (i, &off) in offsets.iter().enumerate() {
            let w = Waker::from(Arc::new(Tagged(i, log.clone())));
            wheel.insert(o + ms(off), w);
        }
        assert_eq!(wheel.len(), offsets.len());
        let mut sorted: Vec<(u64, usize)> = offsets.iter().copied().zip(0..).collect();
        sorted.sort();
        for &(off, i) in &sorted {
            // Just before: nothing new; the nearest deadline is never past it.
            let before = o + ms(off) - Duration::from_nanos(1);
            expire_at(&mut wheel, before, &log);
            assert!(!log.lock().unwrap().contains(&i), "timer {i} fired early");
            assert!(wheel.next_deadline().unwrap() <= o + ms(off));
            expire_at(&mut wheel, o + ms(off), &log);
            assert_eq!(
                log.lock().unwrap().last(),
                Some(&i),
                "timer {i} at {off} ms"
            );
        }
        let want: Vec<usize> = sorted.iter().map(|&(_, i)| i).collect();
        assert_eq!(*log.lock().unwrap(), want);
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_deadline(), None);
    }

    /// A loop that comes late — here 200 ms after timers armed in reverse order across
    /// level-1 slots — still fires them in deadline order: a higher slot cascades rather
    /// than firing its due timers in the order they were armed.
    #[test]
    fn a_late_expiry_fires_timers_from_higher_levels_in_deadline_order() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = TimerWheel::new();
        let o = wheel.origin;
        let offsets = [130, 100, 70, 66, 65, 128, 5_000];
        for (i, &off) in offsets.iter().enumerate() {
            wheel.insert(o + ms(off), Waker::from(Arc::new(Tagged(i, log.clone()))));
        }
        expire_at(&mut wheel, o + ms(200), &log);
        // By deadline: 65 (4), 66 (3), 70 (2), 100 (1), 128 (5), 130 (0); 5 000 not yet.
        assert_eq!(*log.lock().unwrap(), [4, 3, 2, 1, 5, 0]);
        assert_eq!(wheel.len(), 1);
    }

    #[test]
    fn equal_deadlines_fire_in_arming_order_and_sub_millisecond_deadlines_are_exact() {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut wheel = TimerWheel::new();
        let o = wheel.origin;
        let at = o + ms(10) + Duration::from_micros(300);
        for i in 0..4 {
            wheel.insert(at, Waker::from(Arc::new(Tagged(i, log.clone()))));
        }
        // The nearest deadline is the exact instant, not the millisecond.
        assert_eq!(wheel.next_deadline(), Some(at));
        expire_at(&mut wheel, at - Duration::from_micros(1), &log);
        assert!(
            log.lock().unwrap().is_empty(),
            "fired within its millisecond, early"
        );
        assert_eq!(wheel.next_deadline(), Some(at), "still armed, still exact");
        expire_at(&mut wheel, at, &log);
        assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3]);
    }

    #[test]
    fn cancel_and_reset_leave_nothing_behind_and_rearm_a_fired_timer() {
        let count = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let waker = || Waker::from(Arc::new(Count(count.clone())));
        let mut wheel = TimerWheel::new();
        let o = wheel.origin;
        let keys: Vec<usize> = (0..100)
            .map(|i| wheel.insert(o + ms(i * 97 % 5000), waker()))
            .collect();
        for &k in keys.iter().step_by(2) {
            wheel.remove(k);
        }
        assert_eq!(wheel.len(), 50);
        // Move one far out and one to the front.
        assert!(matches!(
            wheel.reset(keys[1], o + ms(100_000)),
            Reset::Armed { sooner: false }
        ));
        // Moved to the front: the reactor must look sooner than it planned.
        assert!(matches!(
            wheel.reset(keys[5], o + ms(30)),
            Reset::Armed { sooner: true }
        ));
        // Reset to a deadline already past: fired at once, without waiting for an expiry.
        // Its parked waker comes back, to be woken: nothing else would wake it.
        let Reset::Due(Some(parked)) = wheel.reset(keys[3], o) else {
            panic!("a reset into the past must fire the timer and hand back its waker");
        };
        parked.wake();
        assert!(wheel.has_fired(keys[3]));
        let mut to_wake = Vec::new();
        assert_eq!(wheel.expire(o, &mut to_wake), 0);
        assert_eq!(wheel.expire(o + ms(5000), &mut to_wake), 48);
        assert_eq!(wheel.len(), 1);
        // A fired timer can be armed again; it gave its waker away when it fired, and gets
        // one back as its `Sleep` is polled.
        wheel.reset(keys[3], o + ms(6000));
        wheel.set_waker(keys[3], &waker());
        assert_eq!(wheel.len(), 2);
        assert_eq!(wheel.expire(o + ms(200_000), &mut to_wake), 2);
        to_wake.into_iter().for_each(Waker::wake);
        assert_eq!(count.load(Ordering::SeqCst), 51);
        for k in keys.iter().skip(1).step_by(2) {
            wheel.remove(*k);
        }
        assert!(wheel.entries.is_empty());
        assert!(wheel.levels.iter().all(|l| l.occupied == 0));
    }

    /// A deadline beyond the wheel's 2.2 years waits in the overflow list, is filed again
    /// as each top-level window ends, and still fires only at its own deadline.
    #[test]
    fn a_deadline_beyond_the_span_is_refiled_not_fired_early() {
        let mut wheel = TimerWheel::new();
        let o = wheel.origin;
        let far = o + ms(SPAN * 3 + 17);
        wheel.insert(far, Waker::noop().clone());
        let mut to_wake = Vec::new();
        let mut now_ms = 0;
        let mut steps = 0;
        while let Some(next) = wheel.next_deadline() {
            assert!(next <= far);
            if next == far && wheel.expire(next, &mut to_wake) == 1 {
                break;
            }
            assert_eq!(wheel.expire(next, &mut to_wake), 0, "fired before {far:?}");
            let t = wheel.tick_of(next);
            assert!(t >= now_ms, "time went backwards");
            now_ms = t;
            steps += 1;
            assert!(steps < 100, "did not converge");
        }
        assert_eq!(wheel.len(), 0);
    }

    /// The wheel against a plain model — a list of (key, deadline) — under a seeded random
    /// mix of arming, cancelling, resetting and expiring at increasing times, with
    /// deadlines spread over every level: after each expiry exactly the model's due timers
    /// have fired, none early, and the nearest deadline the wheel reports lies after `now`
    /// and no later than the model's nearest.
    #[test]
    fn agrees_with_a_plain_model_under_random_operations() {
        let mut seed = 0x2026_1202_u64;
        let mut next = move |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        let mut wheel = TimerWheel::new();
        let o = wheel.origin;
        let mut model: Vec<(usize, Instant)> = Vec::new();
        let mut fired_keys: Vec<usize> = Vec::new();
        let mut now = o;
        let steps = if cfg!(miri) { 300 } else { 5_000 };
        for _ in 0..steps {
            // A deadline from now: sub-millisecond up to hours, around level boundaries.
            let ahead = |r: u64, pick: u64| match pick {
                0 => Duration::from_micros(r % 3_000),
                1 => ms(60 + r % 10),
                2 => ms(4_090 + r % 12),
                3 => ms(r % 300_000),
                _ => ms(r % 20_000_000),
            };
            match next(10) {
                0..=3 => {
                    let deadline = now + ahead(next(u64::MAX), next(5));
                    let key = wheel.insert(deadline, Waker::noop().clone());
                    model.push((key, deadline));
                }
                4 | 5 if !model.is_empty() => {
                    let (key, _) = model.swap_remove(next(model.len() as u64) as usize);
                    wheel.remove(key);
                }
                6 if !model.is_empty() => {
                    let i = next(model.len() as u64) as usize;
                    let deadline = now + ahead(next(u64::MAX), next(5));
                    let key = model[i].0;
                    wheel.reset(key, deadline);
                    if wheel.has_fired(key) {
                        // Due already by the clock (this test's `now` runs ahead of it).
                        assert!(deadline <= Instant::now(), "reset fired a timer early");
                        model.swap_remove(i);
                        fired_keys.push(key);
                    } else {
                        model[i].1 = deadline;
                    }
                }
                _ => {
                    now += match next(3) {
                        0 => Duration::from_micros(next(2_000)),
                        1 => ms(next(5_000)),
                        _ => ms(next(2_000_000)),
                    };
                    let mut to_wake = Vec::new();
                    let fired = wheel.expire(now, &mut to_wake);
                    let (due, kept): (Vec<_>, Vec<_>) = model.iter().partition(|&&(_, d)| d <= now);
                    assert_eq!(fired, due.len(), "fired at {:?}", now - o);
                    for &(key, _) in &due {
                        assert_eq!(wheel.entries[key].level, FIRED, "due timer not fired");
                        fired_keys.push(key);
                    }
                    for &(key, _) in &kept {
                        assert_ne!(wheel.entries[key].level, FIRED, "timer fired early");
                    }
                    model = kept;
                    match (wheel.next_deadline(), model.iter().map(|&(_, d)| d).min()) {
                        (None, None) => {}
                        (Some(next), Some(nearest)) => {
                            assert!(next > now && next <= nearest, "next deadline wrong");
                        }
                        other => panic!("next deadline {other:?} disagrees with the model"),
                    }
                }
            }
            assert_eq!(wheel.len(), model.len());
        }
        for key in fired_keys {
            wheel.remove(key);
        }
        for (key, _) in model {
            wheel.remove(key);
        }
        assert!(wheel.entries.is_empty());
        assert!(wheel.levels.iter().all(|l| l.occupied == 0));
    }
}
