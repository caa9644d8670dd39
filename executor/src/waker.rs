//! How a task id becomes a [`Waker`] and back.
//!
//! A `Waker` is a data pointer plus a table of four functions (clone, wake, wake_by_ref,
//! drop). tempo's data "pointer" is not a pointer at all: it is the task's address in the
//! process, packed into one word:
//!
//! ```text
//!  63            32 31                 10 9         0
//!  ┌──────────────┬─────────────────────┬───────────┐
//!  │  generation  │        slot         │  worker   │
//!  └──────────────┴─────────────────────┴───────────┘
//! ```
//!
//! So cloning a waker copies a word, dropping one does nothing, and waking one looks the
//! worker up (a thread-local on the worker's own thread, the [`registry`](crate::registry)
//! from anywhere else) and hands it the slot and generation. No reference count, no
//! allocation. The price is that the data must fit in a `usize`: tempo needs a 64-bit
//! target.

use std::ptr;
use std::task::{RawWaker, RawWakerVTable, Waker};

use crate::task::TaskId;

#[cfg(not(target_pointer_width = "64"))]
compile_error!(
    "tempo packs (worker, slot, generation) into a Waker's data word: it needs a 64-bit target"
);

/// Bits of the packed word that name the worker.
const WORKER_BITS: u32 = 10;
/// Bits that name the slot.
const SLOT_BITS: u32 = 22;

/// How many workers may exist at once in one process.
pub const MAX_WORKERS: usize = 1 << WORKER_BITS;
/// The slot number reserved for the future passed to `block_on`, which is not in the slab.
pub(crate) const MAIN_SLOT: u32 = (1 << SLOT_BITS) - 1;
/// How many tasks one worker may hold at once (slots `0..MAX_TASKS`).
pub const MAX_TASKS: usize = MAIN_SLOT as usize;

/// A task's address in the process: which worker, which task.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct WakeRef {
    /// The worker's index in the registry.
    pub(crate) worker: usize,
    /// The task on that worker.
    pub(crate) task: TaskId,
}

impl WakeRef {
    pub(crate) fn to_bits(self) -> usize {
        debug_assert!(self.worker < MAX_WORKERS && self.task.slot <= MAIN_SLOT);
        ((self.task.generation as usize) << 32)
            | ((self.task.slot as usize) << WORKER_BITS)
            | self.worker
    }

    pub(crate) fn from_bits(bits: usize) -> WakeRef {
        WakeRef {
            worker: bits & (MAX_WORKERS - 1),
            task: TaskId {
                slot: ((bits >> WORKER_BITS) as u32) & MAIN_SLOT,
                generation: (bits >> 32) as u32,
            },
        }
    }

    /// The waker for this task.
    pub(crate) fn into_waker(self) -> Waker {
        let data = ptr::without_provenance::<()>(self.to_bits());
        // SAFETY: the vtable's functions honour RawWaker's contract: `data` is a plain
        // integer that they never dereference, so any copy of it stays valid forever, on any
        // thread (wakers must be Send + Sync), and clone/drop need no bookkeeping.
        unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
    }
}

/// The worker and task a waker wakes, if it is one of tempo's task wakers (the block_on
/// future's waker, and wakers of other executors, give `None`). Task dumps use it to tell
/// which task a waker parked in the reactor belongs to.
pub fn decode(waker: &Waker) -> Option<(usize, TaskId)> {
    if !std::ptr::eq(waker.vtable(), &VTABLE) {
        return None;
    }
    let r = WakeRef::from_bits(waker.data().addr());
    (r.task.slot != MAIN_SLOT).then_some((r.worker, r.task))
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop);

fn clone(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

fn wake(data: *const ()) {
    crate::executor::wake(WakeRef::from_bits(data.addr()));
}

fn drop(_: *const ()) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_round_trips() {
        for (worker, slot, generation) in [(0, 0, 0), (1023, MAIN_SLOT, u32::MAX), (7, 12345, 99)] {
            let r = WakeRef {
                worker,
                task: TaskId { slot, generation },
            };
            assert_eq!(WakeRef::from_bits(r.to_bits()), r);
        }
    }
}
