//! The timer wheel: armed timers filed by when they are due, so that arming and cancelling
//! one costs the same whether a hundred or a million are armed.
//!
//! In the loop: a `Sleep` arms and cancels its timer here, through its reactor's
//! `ReactorHandle`, which keeps the wheel behind a lock; the reactor's turn asks the wheel
//! for the nearest deadline before `epoll_wait` and expires the due timers after it,
//! collecting their wakers. (asyncio keeps its timers in a heap, `loop._scheduled`, and
//! `_run_once` asks it the same two questions.) The wheel itself is plain data — it knows
//! no `ReactorHandle` and wakes no one — and says what its waiters wait on in the words of
//! a task dump ([`WaitingOn`](crate::WaitingOn)).
//!
//! # The files, in reading order
//!
//! This file holds no code; the wheel is one type, [`TimerWheel`], whose methods are
//! grouped by who calls them:
//!
//! 1. `slots.rs` — the storage: entries, the levels of slot lists, the ticks, and filing a
//!    timer into its slot or unlinking it (keeping the level-0 minimum cache up to date).
//! 2. `fire.rs` — the reactor's side: the nearest deadline before `epoll_wait`, expiring
//!    and cascading after it, and every waker at shutdown or for a task dump.
//! 3. `arm.rs` — the `Sleep`'s side: arm, whether it has fired, re-arm ([`Reset`]), cancel.
//!
//! `tests.rs` checks the whole wheel, against a plain model among others.
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
//! There are six levels (`LEVELS`) of 64 slots. A slot of level 0 covers one tick, a slot of
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

mod slots;

mod fire;

mod arm;

#[cfg(test)]
mod tests;

pub(crate) use arm::Reset;
pub(crate) use slots::TimerWheel;
