//! The task: one allocation that holds a future, then its output.
//!
//! asyncio wraps a coroutine in a `Task` object that the loop schedules and that other code
//! awaits. tempo does the same with a single heap allocation per spawned future:
//!
//! ```text
//!  ┌────────────────────────── one allocation (raw::Cell<F>) ───────────────────────────┐
//!  │ Header                                                 │ Stage<F>                  │
//!  │  state: AtomicUsize   COMPLETE JOIN_INTEREST JOIN_WAKER │  Running(F)               │
//!  │                       CANCELLED BOUND  refcount         │  Finished(Result<T, E>)   │
//!  │  vtable: poll / cancel / read_output / drop_output /    │  Consumed                 │
//!  │          dealloc, monomorphised for F                   │                           │
//!  │  id: slot + generation (written once, at bind)          │                           │
//!  │  run_state: Idle/Queued/Running (owner thread only)     │                           │
//!  │  join_waker: the JoinHandle's Waker                     │                           │
//!  └─────────────────────────────────────────────────────────┴───────────────────────────┘
//! ```
//!
//! Two parties hold the pointer: the **executor** of the worker that owns the task (through
//! its slab, its run queue, or — before the task reaches its worker — a spawn message in the
//! worker's channel) and the **[`JoinHandle`](crate::JoinHandle)**, which may live on any
//! thread. Wakers do *not* hold the pointer; they hold the task's [`TaskId`], so a waker can
//! outlive the task harmlessly.
//!
//! ## The life of a task
//!
//! ```text
//!   spawn ──► Running ──poll: Pending──► Running (idle until woken, then queued again)
//!                │
//!                ├─poll: Ready(v) / panic──► Finished(Ok(v) | Err(Panicked))  ─┐
//!                └─abort seen at poll, or runtime shutdown──► Finished(Err(Cancelled))
//!                                                                               │
//!        COMPLETE set; executor drops its reference; JoinHandle reads output ◄──┘
//!        (or the executor drops the output when nobody holds a JoinHandle)
//!        last reference gone ──► dealloc
//! ```
//!
//! ## The rules
//!
//! The `// SAFETY:` comments in this crate cite these by number.
//!
//! 1. **Layout.** A task pointer always points at the `Header` at offset 0 of a
//!    `raw::Cell<F>` (`#[repr(C)]`), and `header.vtable` holds the functions for that same
//!    `F`. Only those functions cast the pointer back to `Cell<F>`.
//! 2. **Lifetime.** The allocation lives while its reference count (in `state`) is above
//!    zero. A task starts with two references: the executor's and the JoinHandle's; each
//!    `AbortHandle` adds one. The executor gives up its reference only after the task is
//!    complete (rule 4); a JoinHandle or AbortHandle gives up its reference when it is
//!    dropped. Whoever drops the count to zero deallocates.
//! 3. **The future belongs to its worker.** Only the owning worker's thread polls the future
//!    or drops it, and only while the task is not complete. This is what lets `spawn_local`
//!    accept `!Send` futures. The field `run_state` is likewise touched only by that thread.
//! 4. **Completion hands the output over.** The executor writes `Stage::Finished` and then
//!    sets `COMPLETE` (release). From then on the stage belongs to the JoinHandle if
//!    `JOIN_INTEREST` was set at that moment, else to the executor, which drops the output at
//!    once. Nobody touches the future again.
//! 5. **The join waker.** While `JOIN_WAKER` is clear, only the JoinHandle may write
//!    `join_waker`. While it is set and `COMPLETE` is clear, nobody writes it; the executor may
//!    read it (to wake it) once it has set `COMPLETE`. The JoinHandle sets and clears
//!    `JOIN_WAKER` only with a compare-and-swap that fails if `COMPLETE` is set.
//! 6. **Identity.** `id` is written once, before the `BOUND` bit is set (release), and never
//!    changes afterwards. A thread other than the owner reads it only after seeing `BOUND`
//!    (acquire).
//! 7. **Queued once, and only while alive.** A task is pushed onto the run queue only on the
//!    move `Idle → Queued` of its `run_state`, so it is there at most once. A wake while the
//!    task is being polled only marks it `RunningNotified`; after the poll the executor
//!    queues it again if, and only if, it did not finish. A task leaves the slab only when it
//!    finishes during its own poll (so it is not in the queue), or at shutdown, when the
//!    queue is cleared too. So every pointer in the run queue is live.

pub(crate) mod raw;
pub(crate) mod state;

use std::fmt;

/// The identity of a task: its slot in the worker's slab plus a generation number.
///
/// Slots are reused as tasks come and go; the generation is what tells the task now in a
/// slot from the one that was there before. A [`Waker`](std::task::Waker) carries a
/// `TaskId` (and its worker's index), never a pointer, which is why a waker that outlives
/// its task is harmless: waking it finds a different generation — or an empty slot — and
/// does nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    /// Index into the worker's task slab.
    pub(crate) slot: u32,
    /// Counts tasks spawned on the worker; unique for that slot until it wraps at 2³².
    pub(crate) generation: u32,
}

impl TaskId {
    /// The slot in the worker's slab. A new task may reuse a finished task's slot.
    pub fn slot(self) -> u32 {
        self.slot
    }

    /// The generation: differs between two tasks that occupied the same slot.
    pub fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskId({}.{})", self.slot, self.generation)
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.slot, self.generation)
    }
}
