//! The task's atomic state word and its transitions.
//!
//! One `AtomicUsize` is shared by the owning worker and the JoinHandle (which may be on
//! another thread). Each bit below says when it may be set; each transition is a method that
//! performs exactly one atomic operation, so the protocols in `mod.rs` can be read off the
//! call sites.
//!
//! ```text
//!  bit 0 COMPLETE        the stage holds Finished(..) or Consumed; set once, by the owner.
//!  bit 1 JOIN_INTEREST   a JoinHandle exists. Cleared by the handle, only while !COMPLETE.
//!  bit 2 JOIN_WAKER      join_waker holds a waker the owner may wake (rule 5).
//!  bit 3 CANCELLED       abort() was called; the owner cancels at the next poll.
//!  bit 4 BOUND           the task is in its worker's slab and `id` is valid (rule 6).
//!  bits 6.. refcount     references to the allocation (rule 2).
//! ```

use std::sync::atomic::{AtomicUsize, Ordering::*};

pub(crate) const COMPLETE: usize = 1 << 0;
pub(crate) const JOIN_INTEREST: usize = 1 << 1;
pub(crate) const JOIN_WAKER: usize = 1 << 2;
pub(crate) const CANCELLED: usize = 1 << 3;
pub(crate) const BOUND: usize = 1 << 4;
const REF_SHIFT: u32 = 6;
const REF_ONE: usize = 1 << REF_SHIFT;

/// A copy of the state word, for reading bits by name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn has_join_interest(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn has_join_waker(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_bound(self) -> bool {
        self.0 & BOUND != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 >> REF_SHIFT
    }
}

/// The state word of one task.
pub(crate) struct State(AtomicUsize);

impl State {
    /// A new task: a JoinHandle exists and two references are held (executor + handle).
    /// A task spawned on its own worker is bound before anyone else can see it.
    pub(crate) fn new(bound: bool) -> State {
        let bound = if bound { BOUND } else { 0 };
        State(AtomicUsize::new(JOIN_INTEREST | bound | (2 * REF_ONE)))
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Acquire))
    }

    /// Owner, after writing `id` (rule 6).
    pub(crate) fn set_bound(&self) -> Snapshot {
        Snapshot(self.0.fetch_or(BOUND, Release))
    }

    /// Owner, after writing `Stage::Finished` (rule 4). Returns the state before, whose
    /// JOIN_INTEREST and JOIN_WAKER bits decide who owns the output and whom to wake.
    #[must_use]
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.0.fetch_or(COMPLETE, AcqRel));
        debug_assert!(!prev.is_complete(), "a task completed twice");
        prev
    }

    /// Any thread: ask the owner to cancel. Returns the state before.
    pub(crate) fn request_cancel(&self) -> Snapshot {
        Snapshot(self.0.fetch_or(CANCELLED, AcqRel))
    }

    /// JoinHandle drop. Fails (returning the state) if the task already completed, in which
    /// case the output belongs to the handle and must be dropped by it (rule 4).
    pub(crate) fn unset_join_interest(&self) -> Result<(), Snapshot> {
        self.cas_unless_complete(|s| s & !(JOIN_INTEREST | JOIN_WAKER))
            .map(drop)
    }

    /// JoinHandle, after writing `join_waker` while JOIN_WAKER was clear (rule 5).
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.cas_unless_complete(|s| s | JOIN_WAKER)
    }

    /// JoinHandle, before replacing the waker with one for a different task (rule 5).
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.cas_unless_complete(|s| s & !JOIN_WAKER)
    }

    /// Add a reference (an `AbortHandle`). The caller already holds one, so the count
    /// cannot be zero.
    pub(crate) fn ref_inc(&self) {
        let prev = Snapshot(self.0.fetch_add(REF_ONE, Relaxed));
        assert!(
            prev.ref_count() < usize::MAX >> (REF_SHIFT + 1),
            "task reference count overflow"
        );
    }

    /// Drop one reference. Returns true if it was the last: the caller deallocates.
    #[must_use]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.0.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }

    fn cas_unless_complete(&self, f: impl Fn(usize) -> usize) -> Result<Snapshot, Snapshot> {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & COMPLETE != 0 {
                return Err(Snapshot(cur));
            }
            match self.0.compare_exchange_weak(cur, f(cur), AcqRel, Acquire) {
                Ok(_) => return Ok(Snapshot(f(cur))),
                Err(actual) => cur = actual,
            }
        }
    }
}
