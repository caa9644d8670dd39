//! The registry: what the process keeps about each signal number for ordinary code — not
//! the handler, which may touch none of it — in one static table of [`Slot`]s, indexed by
//! signal number. The handler is installed once per slot (`handler.rs`); a dispatch bumps
//! a slot's generation and wakes its listeners (`fanout.rs`); a listener parks its waker
//! in its slot (`listener.rs`). asyncio keeps the same in the loop's `_signal_handlers`
//! dict, one per loop; tempo's is one per process, shared by every runtime.
//!
//! The rules cited by number are those of `signal/mod.rs`.

#![forbid(unsafe_code)]

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::task::Waker;

use slab::Slab;

use super::kind::SLOTS;

/// What the process knows about each signal number, for ordinary (non-handler) code.
pub(super) static SLOTS_TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

/// One signal number's state outside the handler.
pub(super) struct Slot {
    /// Whether tempo's handler is installed for this signal. Locked while installing, so
    /// two first listeners do not both call `sigaction`.
    pub(super) installed: Mutex<bool>,
    /// How many dispatches have found this signal pending. Bumped under `waiters`' lock
    /// (rule 4).
    pub(super) generation: AtomicU64,
    /// The listeners of this signal, keyed by `SignalListener::key` (`listener.rs`): each
    /// one's parked waker, or `None` while it is not waiting.
    pub(super) waiters: Mutex<Slab<Option<Waker>>>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            installed: Mutex::new(false),
            generation: AtomicU64::new(0),
            waiters: Mutex::new(Slab::new()),
        }
    }
}
