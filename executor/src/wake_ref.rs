//! A task's address in the process — which worker, which task — packed into one word, the
//! only data a tempo [`Waker`](std::task::Waker) carries.
//!
//! A `Waker` is a data pointer plus a table of four functions (clone, wake, wake_by_ref,
//! drop). tempo's data "pointer" is not a pointer at all: it is a [`WakeRef`] packed into
//! one word:
//!
//! ```text
//!  63            32 31                 10 9         0
//!  ┌──────────────┬─────────────────────┬───────────┐
//!  │  generation  │        slot         │  worker   │
//!  └──────────────┴─────────────────────┴───────────┘
//! ```
//!
//! So cloning a waker copies a word, dropping one does nothing, and waking one looks the
//! worker up (a thread-local on the worker's own thread, the registry from anywhere else)
//! and hands it the slot and generation. The table of functions is in `executor.rs`, beside
//! the wake it calls. No reference count, no
//! allocation. The price is that the data must fit in a `usize`: tempo needs a 64-bit
//! target.

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
}

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
