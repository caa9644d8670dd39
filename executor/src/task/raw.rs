//! The task allocation and the type-erased functions that reach into it.
//!
//! Every cast of a task pointer and every touch of a task's stage happens in this file; the
//! rest of the crate's unsafe code calls the `unsafe fn`s below (`executor.rs`, `join.rs`,
//! `registry.rs`, `blocking.rs`), reads or writes `join_waker` under rule 5 (`join.rs`),
//! declares `Send`/`Sync` for the types that carry a task pointer (`join.rs`, `registry.rs`,
//! `blocking.rs`), or builds a `Waker` from a plain integer (`executor.rs`). Everything here
//! follows the rules in the [module doc](super); each `// SAFETY:` comment cites them by
//! number.

use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use super::TaskId;
use super::outcome::{JoinError, Outcome};
use super::state::State;
use crate::wake_ref::WakeRef;

/// The part of a task that does not depend on its future's type.
pub(crate) struct Header {
    /// Completion, join and cancel flags plus the reference count; see `state.rs`.
    pub(crate) state: State,
    /// The functions for this task's concrete future type (rule 1).
    pub(crate) vtable: &'static Vtable,
    /// The task's `WakeRef` (worker index, slot, generation) as bits; written once, before
    /// BOUND (rule 6).
    pub(crate) id: AtomicU64,
    /// Whether the task is queued or running, and whether it was woken while running.
    /// Owner thread only (rules 3 and 7).
    pub(crate) run_state: Cell<RunState>,
    /// The waker of whoever awaits the JoinHandle. Guarded by JOIN_WAKER (rule 5).
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

/// Where a task stands with respect to the run queue (rule 7). Owner thread only.
///
/// Every state and transition is drawn, and each state's entry and exit described, in the
/// [module doc](super) ("The run state").
///
/// A wake during the task's own poll — a future that wakes itself, a budget refusal, a
/// destructor that wakes the task it belongs to — must not put the task in the queue: the
/// poll may yet finish it, and a finished task leaves the slab and may be freed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Waiting for a wake; not in the run queue. Every task starts here.
    Idle,
    /// In the run queue, once.
    Queued,
    /// Being polled (or cancelled) right now.
    Running,
    /// Being polled (or cancelled), and woken meanwhile: queue it again if the poll returns
    /// `Pending`.
    RunningNotified,
}

/// Where the future, then its output, lives.
pub(crate) enum Stage<F: Future> {
    /// Not finished: the future, pinned in place.
    Running(F),
    /// Finished: the output, or why there is none.
    Finished(Result<F::Output, JoinError>),
    /// The output was taken by the JoinHandle, or dropped.
    Consumed,
}

/// The whole allocation: header first, so a `*Header` is a `*Allocation<F>` (rule 1).
#[repr(C)]
struct Allocation<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// Functions monomorphised for one future type, reached through the header.
pub(crate) struct Vtable {
    /// Poll the future once; on Ready or panic, store the output. Returns true if finished.
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> bool,
    /// Drop the future and store `Err(Cancelled)` (or `Err(Panicked)` if its drop panicked).
    cancel: unsafe fn(NonNull<Header>),
    /// Move the output into a `*mut Poll<Result<F::Output, JoinError>>`.
    read_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drop the output nobody will read (logging a panic nobody will see).
    drop_output: unsafe fn(NonNull<Header>),
    /// How the finished task ended, for diagnostics.
    outcome: unsafe fn(NonNull<Header>) -> Outcome,
    /// Free the allocation.
    dealloc: unsafe fn(NonNull<Header>),
}

struct VtableFor<F>(PhantomData<F>);

impl<F: Future> VtableFor<F> {
    const VTABLE: Vtable = Vtable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        read_output: read_output::<F>,
        drop_output: drop_output::<F>,
        outcome: outcome::<F>,
        dealloc: dealloc::<F>,
    };
}

/// A pointer to a task. Copying it does not add a reference: whoever holds a `RawTask`
/// knows which of the task's references it stands for (rule 2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

impl RawTask {
    /// Allocate a task holding `future`, with two references (executor and JoinHandle).
    /// `id` is `Some` when the task is bound to its slab slot right away (a local spawn).
    pub(crate) fn new<F: Future + 'static>(future: F, id: Option<WakeRef>) -> RawTask {
        let cell = Box::new(Allocation {
            header: Header {
                state: State::new(id.is_some()),
                vtable: &VtableFor::<F>::VTABLE,
                id: AtomicU64::new(id.map_or(0, |r| r.to_bits() as u64)),
                run_state: Cell::new(RunState::Idle),
                join_waker: UnsafeCell::new(None),
            },
            stage: UnsafeCell::new(Stage::Running(future)),
        });
        RawTask {
            ptr: NonNull::from(Box::leak(cell)).cast(),
        }
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: whoever holds a RawTask holds one of the task's references, so the
        // allocation is live (rule 2). Shared access to the header is always allowed: its
        // fields are atomics, owner-only Cells, or the UnsafeCell guarded by rule 5.
        unsafe { self.ptr.as_ref() }
    }

    /// Where the task lives: its worker and id. Valid once bound (rule 6).
    pub(crate) fn wake_ref(self) -> WakeRef {
        WakeRef::from_bits(self.header().id.load(Ordering::Relaxed) as usize)
    }

    /// The task's id. Valid once bound (rule 6).
    pub(crate) fn id(self) -> TaskId {
        self.wake_ref().task
    }

    /// Owner: write the id, then publish it with BOUND (rule 6).
    pub(crate) fn bind(self, r: WakeRef) {
        self.header()
            .id
            .store(r.to_bits() as u64, Ordering::Relaxed);
        self.header().state.set_bound();
    }

    /// Poll the future once. Returns true if the task finished (its output is stored).
    ///
    /// # Safety
    /// Called by the task's owner (rule 3, or 3a/3b), on a task that is not complete.
    pub(crate) unsafe fn poll(self, cx: &mut Context<'_>) -> bool {
        // SAFETY: the vtable matches the allocation (rule 1); the caller upholds rule 3
        // (or 3a/3b).
        unsafe { (self.header().vtable.poll)(self.ptr, cx) }
    }

    /// Drop the future; the output becomes `Err(Cancelled)`.
    ///
    /// # Safety
    /// As for [`RawTask::poll`].
    pub(crate) unsafe fn cancel(self) {
        // SAFETY: rules 1 and 3, as in `poll`.
        unsafe { (self.header().vtable.cancel)(self.ptr) }
    }

    /// Owner, after `poll` returned true or after `cancel`: publish completion, hand the
    /// output to the JoinHandle (or drop it), wake the JoinHandle, and give up the
    /// executor's reference.
    ///
    /// # Safety
    /// The stage holds `Finished`, the caller is the owner, and the caller's reference is
    /// the executor's; it must not use the task afterwards.
    pub(crate) unsafe fn complete(self) {
        let prev = self.header().state.transition_to_complete();
        if !prev.has_join_interest() {
            // Nobody will read the output: it is ours to drop (rule 4). A panicking
            // destructor must not unwind into the loop.
            // SAFETY: rule 4 gives the stage to the executor when there is no interest.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe {
                (self.header().vtable.drop_output)(self.ptr)
            }));
        } else if prev.has_join_waker() {
            // SAFETY: JOIN_WAKER was set and we have now set COMPLETE, so the handle will
            // not write join_waker again and it is ours to read (rule 5). The allocation
            // lives until our `drop_ref` below (rule 2).
            let waker = unsafe { &*self.header().join_waker.get() };
            if let Some(waker) = waker {
                let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake_by_ref()));
            }
        }
        // SAFETY: rule 2: the caller hands us the executor's reference.
        unsafe { self.drop_ref() }
    }

    /// How the task ended. Owner, after `poll` returned true or after `cancel`, before
    /// `complete`.
    ///
    /// # Safety
    /// The stage holds `Finished` and the caller is the owner (rules 3 and 4).
    pub(crate) unsafe fn outcome(self) -> Outcome {
        // SAFETY: upheld by the caller; the vtable matches the allocation (rule 1).
        unsafe { (self.header().vtable.outcome)(self.ptr) }
    }

    /// Move the output out.
    ///
    /// # Safety
    /// COMPLETE was observed with JOIN_INTEREST held by the caller (rule 4), and `T` is the
    /// task's output type.
    pub(crate) unsafe fn read_output<T>(self, dst: &mut Poll<Result<T, JoinError>>) {
        // SAFETY: upheld by the caller; the vtable matches the allocation (rule 1).
        unsafe { (self.header().vtable.read_output)(self.ptr, dst as *mut _ as *mut ()) }
    }

    /// Drop the output nobody will read.
    ///
    /// # Safety
    /// The caller owns the stage by rule 4.
    pub(crate) unsafe fn drop_output(self) {
        // SAFETY: upheld by the caller; the vtable matches the allocation (rule 1).
        unsafe { (self.header().vtable.drop_output)(self.ptr) }
    }

    /// Take another reference (for an `AbortHandle`).
    pub(crate) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    /// Give up one reference, freeing the allocation if it was the last.
    ///
    /// # Safety
    /// The caller holds a reference and does not use the task afterwards.
    pub(crate) unsafe fn drop_ref(self) {
        if self.header().state.ref_dec() {
            // SAFETY: that was the last reference (rule 2); the vtable matches (rule 1).
            unsafe { (self.header().vtable.dealloc)(self.ptr) }
        }
    }
}

/// Drop whatever the stage holds, in place (a pinned future must be dropped where it
/// lies), and leave `Consumed` behind even if a destructor panics.
///
/// # Safety
/// The caller has exclusive access to the stage.
unsafe fn drop_stage_in_place<F: Future>(stage: *mut Stage<F>) -> std::thread::Result<()> {
    // SAFETY: rule 3: the caller, the owner, has exclusive access.
    let dropped = panic::catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(stage) }));
    // SAFETY: rule 3, as above; the old value is gone (dropped, or abandoned mid-unwind),
    // and writing does not drop it again.
    unsafe { ptr::write(stage, Stage::Consumed) };
    dropped
}

/// # Safety
/// Rules 1 and 3: `ptr` is an `Allocation<F>` and the caller is its owner; the task is not complete.
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> bool {
    // SAFETY: rule 1.
    let stage = unsafe { ptr.cast::<Allocation<F>>().as_ref() }.stage.get();
    let polled = panic::catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: rule 3: only the owner touches a running stage, and we are it.
        let Stage::Running(future) = (unsafe { &mut *stage }) else {
            unreachable!("tempo: polled a task that already finished");
        };
        // SAFETY: rule 3: the future is never moved while Running: it stays in its allocation
        // until it is dropped in place (`drop_stage_in_place`), so pinning it is sound.
        unsafe { Pin::new_unchecked(future) }.poll(cx)
    }));
    let output = match polled {
        Ok(Poll::Pending) => return false,
        Ok(Poll::Ready(value)) => Ok(value),
        Err(payload) => Err(JoinError::panicked(payload)),
    };
    // SAFETY: rule 3, as above.
    let output = match unsafe { drop_stage_in_place(stage) } {
        Ok(()) => output,
        Err(payload) => Err(JoinError::panicked(payload)),
    };
    // SAFETY: rule 3; the stage is Consumed, so overwriting it leaks nothing.
    unsafe { ptr::write(stage, Stage::Finished(output)) };
    true
}

/// # Safety
/// As for `poll`.
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: rule 1.
    let stage = unsafe { ptr.cast::<Allocation<F>>().as_ref() }.stage.get();
    // SAFETY: rule 3.
    let output = match unsafe { drop_stage_in_place(stage) } {
        Ok(()) => Err(JoinError::cancelled()),
        Err(payload) => Err(JoinError::panicked(payload)),
    };
    // SAFETY: rule 3; the stage is Consumed.
    unsafe { ptr::write(stage, Stage::Finished(output)) };
}

/// # Safety
/// Rule 4: the caller owns the completed stage; `dst` points at a
/// `Poll<Result<F::Output, JoinError>>`.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: rule 1; rule 4 gives the caller the stage.
    let stage = unsafe { &mut *ptr.cast::<Allocation<F>>().as_ref().stage.get() };
    let Stage::Finished(output) = std::mem::replace(stage, Stage::Consumed) else {
        panic!("tempo: JoinHandle polled after it already returned its output");
    };
    // SAFETY: rule 1: `dst` has the type the caller promised — a JoinHandle reads the
    // output of the future it was made with; assignment drops its old Pending.
    unsafe { *dst.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(output) };
}

/// # Safety
/// Rule 4: the caller owns the completed stage.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: rule 1; rule 4. The future is gone, so moving the stage is allowed.
    let cell = unsafe { ptr.cast::<Allocation<F>>().as_ref() };
    // SAFETY: rules 1 and 4, as above.
    let stage = unsafe { &mut *cell.stage.get() };
    if let Stage::Finished(Err(e)) = &*stage {
        if e.is_panic() {
            // asyncio's "Task exception was never retrieved": a panic nobody will see
            // otherwise, because the task was detached or its handle dropped unread.
            // Only a task placed in a worker's slab has an id (rule 6); a blocking job never
            // is, nor is a spawn lost on its way to its worker.
            if cell.header.state.load().is_bound() {
                let id = WakeRef::from_bits(cell.header.id.load(Ordering::Relaxed) as usize).task;
                e.report_unread(format_args!("task {id}"));
            } else {
                e.report_unread(format_args!(
                    "a task run off the workers (a blocking job, or a spawn that never \
                     reached its worker)"
                ));
            }
        }
    }
    *stage = Stage::Consumed;
}

/// # Safety
/// Rules 3 and 4: the caller is the owner and the stage holds `Finished`.
unsafe fn outcome<F: Future>(ptr: NonNull<Header>) -> Outcome {
    // SAFETY: rule 1; the caller owns the finished stage.
    let stage = unsafe { &*ptr.cast::<Allocation<F>>().as_ref().stage.get() };
    match stage {
        Stage::Finished(Ok(_)) => Outcome::Completed,
        Stage::Finished(Err(e)) if e.is_panic() => {
            Outcome::Panicked(e.panic_message().map(str::to_string))
        }
        _ => Outcome::Cancelled(None),
    }
}

/// # Safety
/// Rule 2: no references remain.
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: rule 1 (the allocation is a Box<Allocation<F>>) and rule 2 (nobody else holds it).
    drop(unsafe { Box::from_raw(ptr.cast::<Allocation<F>>().as_ptr()) });
}
