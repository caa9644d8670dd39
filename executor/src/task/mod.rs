//! The task: one allocation that holds a future, then its output.
//!
//! asyncio wraps a coroutine in a `Task` object that the loop schedules and that other code
//! awaits. tempo does the same with a single heap allocation per spawned future:
//!
//! ```text
//!  ┌─────────────────────── one allocation (raw::Allocation<F>) ────────────────────────┐
//!  │ Header                                                 │ Stage<F>                  │
//!  │  state: AtomicUsize   COMPLETE JOIN_INTEREST JOIN_WAKER │  Running(F)               │
//!  │                       CANCELLED BOUND  refcount         │  Finished(Result<         │
//!  │  vtable: poll / cancel / read_output / drop_output /    │    F::Output, JoinError>) │
//!  │          outcome / dealloc, monomorphised for F         │  Consumed                 │
//!  │  id: worker + slot + generation (written once, rule 6)  │                           │
//!  │  run_state: Idle/Queued/Running/RunningNotified (owner  │                           │
//!  │             thread only; see "The run state" below)     │                           │
//!  │  join_waker: the JoinHandle's Waker                     │                           │
//!  └─────────────────────────────────────────────────────────┴───────────────────────────┘
//! ```
//!
//! Three kinds of party hold references to the allocation (rule 2):
//! - the **executor**: the slab of the worker that owns the task (its run queue holds the
//!   same pointer, not a reference of its own), a spawn message on its way to that worker,
//!   or, for a blocking job, the [`BlockingTask`](crate::BlockingTask) on a pool thread;
//! - the **[`JoinHandle`](crate::JoinHandle)**, which may live on any thread;
//! - each **[`AbortHandle`](crate::AbortHandle)**, which may live on any thread too.
//!
//! Wakers do *not* hold the pointer; they hold the task's [`TaskId`], so a waker can
//! outlive the task harmlessly.
//!
//! ## The life of a task
//!
//! What the stage holds, from spawn to deallocation:
//!
//! ```text
//!   spawn ──► Running ──poll: Pending──► Running (idle until woken, then queued again)
//!                │
//!                ├─poll: Ready(v) / panic──► Finished(Ok(v) | Err(Panicked))  ─┐
//!                └─cancelled: an abort seen when popped, shutdown, a spawn     │
//!                  refused or lost (rule 3a), a blocking job aborted before    │
//!                  it ran (rule 3b) ──► Finished(Err(Cancelled)), or           │
//!                  Finished(Err(Panicked)) if the future's destructor panicked │
//!                                                                              │
//!        COMPLETE set; executor drops its reference; JoinHandle reads output ◄─┘
//!        (or the executor drops the output when nobody holds a JoinHandle)
//!        last reference gone ──► dealloc
//! ```
//!
//! ## The run state
//!
//! `run_state` says where a task stands with respect to its worker's run queue. Only the
//! owning worker's thread reads or writes it (rule 3), in `executor.rs`: `schedule` (every
//! wake and every spawn comes through it) and `run` with its `poll` (one task popped from
//! the queue).
//!
//! ```text
//!              spawn
//!                │
//!                ▼
//!     ┌──────► Idle
//!     │          │ wake
//!     │          ▼
//!     │        Queued ◄───────── poll returned Pending ───────────┐
//!     │          │              (pushed on the back of the queue) │
//!     │          │ popped by run_ready                            │
//!     │          ▼                                                │
//!     │        Running ───── woken during its poll or drop ──► RunningNotified
//!     │          │  │                                             │
//!     └──────────┘  │ poll returned Ready,                        │ poll returned Ready,
//!   poll returned   │ panicked, or it was                         │ panicked, or it was
//!   Pending, and    │ cancelled instead                           │ cancelled instead
//!   nobody woke it  ▼                                             ▼
//!                 gone: out of the slab, completed; a later wake finds no task
//!
//!   A wake while Queued or RunningNotified changes nothing. At shutdown every task left
//!   in the slab — Idle or Queued — is cancelled and gone, and the run queue is cleared.
//! ```
//!
//! **Idle** — waiting for a wake; not in the run queue. A task is created Idle and stays
//! Idle until its worker schedules it (a local spawn schedules it at once, a remote one when
//! the worker adopts the spawn message). It is entered again from Running when a poll
//! returns `Pending` and nothing woke the task meanwhile. It is left for Queued on a wake,
//! or for good at shutdown. A task that never reaches a slab (spawned onto a closed worker,
//! lost on its way there, or a blocking job) is Idle for its whole life.
//!
//! **Queued** — in the run queue, exactly once (rule 7). Entered from Idle on a wake, or
//! from RunningNotified after a poll returned `Pending`. Further wakes change nothing. Left
//! for Running when `run_ready` pops the task, or at shutdown, when the queue is cleared.
//!
//! **Running** — being polled right now, or being cancelled (an abort seen when the task was
//! popped: its future is dropped instead of polled). Entered only from Queued. Left for
//! RunningNotified if the task is woken during the poll or the drop; for Idle if the poll
//! returns `Pending` without such a wake; for good if the poll finished the task or it was
//! cancelled.
//!
//! **RunningNotified** — being polled (or cancelled), and woken meanwhile by code the task
//! itself runs: its future (`yield_now`, a spent budget, a combinator not sure it is done)
//! or a destructor run during the poll or the cancellation. Wakes from other threads cannot
//! land here: they are applied between polls (`drain_remote`). Entered only from Running.
//! Left for Queued — pushed on the back of the run queue — if the poll returns `Pending`;
//! for good if the task finished or was cancelled, in which case the wake is dropped, as it
//! must be: a finished task leaves the slab, and a pointer left in the queue would outlive
//! the task (rule 7).
//!
//! ## The rules
//!
//! The `// SAFETY:` comments in this crate cite these by number; docs/DESIGN.md ("Unsafe code,
//! and the rules it keeps") lists them with the rest of tempo's safety rules.
//!
//! 1. **Layout.** A task pointer always points at the `Header` at offset 0 of a
//!    `raw::Allocation<F>` (`#[repr(C)]`), and `header.vtable` holds the functions for that
//!    same `F`. Only those functions cast the pointer back to `Allocation<F>`.
//! 2. **Lifetime.** The allocation lives while its reference count (in `state`) is above
//!    zero. A task starts with two references: the executor's and the JoinHandle's; each
//!    `AbortHandle` adds one. The executor gives up its reference only after the task is
//!    complete (rule 4); a JoinHandle or AbortHandle gives up its reference when it is
//!    dropped. Whoever drops the count to zero deallocates.
//! 3. **The future belongs to its owner.** A task's owner is the thread of the worker it
//!    was spawned on; rules 3a and 3b name the only two other owners. Only the owner
//!    polls the future or drops it, and only while the task is not complete. This is what
//!    lets `spawn_local` accept `!Send` futures. The field `run_state` is likewise touched
//!    only by the owning worker's thread.
//!    - 3a. **A task that never reached its worker.** A task spawned from another thread
//!      travels to its worker as a message holding the executor's reference
//!      (`registry::Unbound`). Its future is `Send` (`Spawner::spawn` requires it) and has
//!      never been polled. If the message is dropped instead of adopted — the send failed,
//!      or the worker shut down — the thread that drops it owns the task: it cancels
//!      (drops) the future and completes the task there. Such a task is never polled.
//!    - 3b. **A blocking job.** No worker owns a [`BlockingTask`](crate::BlockingTask):
//!      whichever thread holds it (it holds the executor's reference) owns the task. Its
//!      future, a `Send` closure, is polled once (running the closure) or cancelled, on
//!      that one thread, which then completes the task; `run_state` is never touched.
//! 4. **Completion hands the output over.** The owner writes `Stage::Finished` and then
//!    sets `COMPLETE` (release). From then on the stage belongs to the JoinHandle if
//!    `JOIN_INTEREST` was set at that moment, else to the owner, which drops the output at
//!    once. Nobody touches the future again.
//! 5. **The join waker.** While `JOIN_WAKER` is clear, only the JoinHandle may write
//!    `join_waker`. While it is set and `COMPLETE` is clear, nobody writes it; the owner may
//!    read it (to wake it) once it has set `COMPLETE`. The JoinHandle sets and clears
//!    `JOIN_WAKER` only with a compare-and-swap that fails if `COMPLETE` is set.
//! 6. **Identity.** `id` is written once, before the `BOUND` bit is set (release), and never
//!    changes afterwards. A thread other than the owner reads it only after seeing `BOUND`
//!    (acquire).
//! 7. **Queued once, and only while alive.** A task is pushed onto the run queue only when
//!    its `run_state` moves into `Queued` — from `Idle` on a wake, or from
//!    `RunningNotified` after a poll that returned `Pending` — so it is there at most once.
//!    A wake while the task is being polled or cancelled only marks it `RunningNotified`;
//!    after the poll the executor queues it again if, and only if, it did not finish. A task
//!    leaves the slab only when it finishes while being run (popped from the queue, so not
//!    in it), or at shutdown, when the queue is cleared too. So every pointer in the run
//!    queue is live.
//! 8. **A waker's data is a number.** A tempo task waker's data "pointer" is a
//!    `WakeRef` packed into an integer (`wake_ref.rs`), made without provenance and never
//!    dereferenced: the four functions of its table (`executor.rs`) only unpack it. So any
//!    copy is valid on any thread for ever, and clone and drop keep no count. This is what
//!    makes a waker outliving its task harmless (rule 6's identity check does the rest).

pub(crate) mod state;

pub(crate) mod outcome;

pub(crate) mod raw;

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
