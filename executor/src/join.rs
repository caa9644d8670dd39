//! [`JoinHandle`]: awaiting a spawned task's output — asyncio's `Task` seen from outside.
//!
//! In asyncio, `create_task` returns a `Task` you can `await` for its result and `cancel()`.
//! tempo's `spawn` returns a `JoinHandle` that does the same, with two differences a
//! Python reader should know:
//!
//! - Awaiting it gives a `Result`: `Err(JoinError)` says whether the task was cancelled
//!   (asyncio raises `CancelledError`) or panicked (asyncio re-raises the exception).
//! - Dropping the handle *detaches* the task — it keeps running — rather than cancelling it.
//!   asyncio keeps only a weak reference to tasks, so a task nobody holds may be garbage
//!   collected mid-flight; in tempo the worker owns every task until it finishes.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::coop;
use crate::observe::TaskEvent;
use crate::owner::with_current;
use crate::registry;
use crate::task::TaskId;
use crate::task::outcome::{CancelCause, JoinError};
use crate::task::raw::RawTask;

/// An owned permission to await a task's output, or to cancel it.
///
/// `JoinHandle<T>` is a future of `Result<T, JoinError>`. It may be awaited from any
/// thread (it is `Send` when `T` is), including from outside the runtime.
#[must_use = "dropping a JoinHandle detaches the task; await it to get its output"]
#[doc(alias = "Task")]
pub struct JoinHandle<T> {
    /// Holds the handle's reference to the task (rule 2 in `task`).
    raw: RawTask,
    _output: PhantomData<T>,
}

// SAFETY: the handle touches only the atomic state, the id once BOUND (rule 6), the join
// waker under rule 5 and, after completion, the output (rule 4). The output crosses threads,
// hence `T: Send`. The future never does: only its owner polls or drops it (rules 3, 3a, 3b).
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: the `&self` methods that touch the task touch only what any thread may:
// `abort` and `abort_because` set CANCELLED (an atomic RMW) and, once BOUND, read the id
// (rule 6) to wake the worker, locally or through its channel; `abort_handle` adds a
// reference (an atomic increment, rule 2); `is_finished` and `id` load the state, and `id`
// reads the id only after seeing BOUND (rule 6); `Debug` calls those two. The one `&self`
// method that writes — `register_join_waker`, which writes `join_waker` (rule 5) — is
// private and called only from `poll`, which holds the handle by `Pin<&mut Self>`, so it
// never runs on a shared handle. The output is reached only through `poll` and `drop`.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(raw: RawTask) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancel the task — asyncio's `Task.cancel()`.
    ///
    /// The task's future is dropped at its next scheduling point on its worker (so its
    /// destructors run there), and awaiting this handle then gives
    /// `Err(JoinError::is_cancelled())`. A task that already finished keeps its output.
    /// Unlike asyncio, the task gets no chance to catch the cancellation and carry on:
    /// in Rust, cancelling a future means dropping it.
    #[track_caller]
    pub fn abort(&self) {
        abort(
            self.raw,
            CancelCause::Abort {
                at: Location::caller(),
            },
        );
    }

    /// Cancel the task, recording `reason` and the caller's location as the cause (shown
    /// by task dumps): for code that cancels tasks on someone else's behalf — a task group,
    /// a timeout, a lost `select!`.
    #[track_caller]
    pub fn abort_because(&self, reason: &'static str) {
        abort(
            self.raw,
            CancelCause::Because {
                reason,
                at: Location::caller(),
            },
        );
    }

    /// True once the task has finished (with an output, a panic, or a cancellation).
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }

    /// Await the task through a handle that aborts it if dropped first — when it loses a
    /// `select!`, or a `timeout` around it elapses. A plain JoinHandle dropped that way only
    /// detaches the task, which runs on; asyncio's `wait_for` cancels the awaited task, and
    /// this gives the same behaviour. Task dumps record the cancellation as caused by the
    /// drop, at the place this method was called.
    #[track_caller]
    pub fn abort_on_drop(self) -> AbortOnDrop<T> {
        AbortOnDrop {
            handle: self,
            at: Location::caller(),
        }
    }

    /// A handle that can cancel the task but not await it; it may be cloned and sent to
    /// other threads, and does not keep the task alive.
    pub fn abort_handle(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }

    /// The task's id, once it has been placed on its worker. A task spawned from the
    /// worker's own thread is placed at once; one sent from another thread is placed when
    /// the worker receives it, and until then this returns `None`.
    pub fn id(&self) -> Option<TaskId> {
        self.raw
            .header()
            .state
            .load()
            .is_bound()
            .then(|| self.raw.id())
    }

    /// Store `waker` as the one to wake on completion. Returns false if the task completed
    /// meanwhile (the caller then reads the output). Protocol: rule 5 in `task`.
    fn register_join_waker(&self, waker: &Waker) -> bool {
        let header = self.raw.header();
        let state = header.state.load();
        if state.is_complete() {
            return false;
        }
        if state.has_join_waker() {
            // SAFETY: JOIN_WAKER is set, so nobody writes join_waker; reading is shared with
            // the owner, which only reads it too (rule 5).
            let current = unsafe { &*header.join_waker.get() };
            if current.as_ref().is_some_and(|w| w.will_wake(waker)) {
                return true;
            }
            if header.state.unset_join_waker().is_err() {
                return false;
            }
        }
        // SAFETY: JOIN_WAKER is clear, so only this handle may write join_waker (rule 5),
        // and only `poll` calls this, holding the handle by `&mut`: no other thread is here.
        unsafe { *header.join_waker.get() = Some(waker.clone()) };
        header.state.set_join_waker().is_ok()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(coop::poll_proceed(cx));
        if self.register_join_waker(cx.waker()) {
            return Poll::Pending;
        }
        let mut out = Poll::Pending;
        // SAFETY: COMPLETE is set and this handle holds JOIN_INTEREST, so the stage is ours
        // (rule 4); `T` is the task's output type by construction in `spawn`.
        unsafe { self.raw.read_output(&mut out) };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if self.raw.header().state.unset_join_interest().is_err() {
            // The task completed while we held interest: its output is ours to drop
            // (rule 4). If we already read it, the stage is Consumed and this is a no-op.
            // SAFETY: rule 4.
            unsafe { self.raw.drop_output() };
        }
        // SAFETY: rule 2: this is the handle's reference; the handle is going away.
        unsafe { self.raw.drop_ref() };
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A JoinHandle that aborts its task when dropped before the task finished; from
/// [`JoinHandle::abort_on_drop`].
#[must_use = "dropping an AbortOnDrop aborts the task"]
pub struct AbortOnDrop<T> {
    /// The handle awaited through this one.
    handle: JoinHandle<T>,
    /// Where `abort_on_drop` was called: the cause task dumps show.
    at: &'static Location<'static>,
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        abort(
            self.handle.raw,
            CancelCause::Because {
                reason: "its abort-on-drop handle was dropped (a lost select! or a timeout)",
                at: self.at,
            },
        );
    }
}

impl<T> fmt::Debug for AbortOnDrop<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AbortOnDrop").field(&self.handle).finish()
    }
}

/// Cancels a task without awaiting it. From [`JoinHandle::abort_handle`].
///
/// It holds a reference to the task's allocation (not to its future or its output), so
/// the memory lives until the last handle goes — the future itself is dropped on its worker
/// as usual.
pub struct AbortHandle {
    /// Holds one reference (rule 2 in `task`).
    raw: RawTask,
}

// SAFETY: an AbortHandle touches only the atomic state and, after BOUND, the id (rule 6);
// it never reaches the future or the output, so it may live on any thread.
unsafe impl Send for AbortHandle {}
// SAFETY: as above: its `&self` methods (`abort`, `abort_because`, `is_finished`, `clone`)
// touch only the atomic state (rule 2 for `clone`'s reference) and, once BOUND, the id
// (rule 6), which `abort` reads to wake the worker, locally or through its channel.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Cancel the task, as [`JoinHandle::abort`] does.
    #[track_caller]
    pub fn abort(&self) {
        abort(
            self.raw,
            CancelCause::Abort {
                at: Location::caller(),
            },
        );
    }

    /// Cancel the task, recording `reason` and the caller's location as the cause (shown
    /// by task dumps): for code that cancels tasks on someone else's behalf — a task group,
    /// a timeout, a lost `select!`.
    #[track_caller]
    pub fn abort_because(&self, reason: &'static str) {
        abort(
            self.raw,
            CancelCause::Because {
                reason,
                at: Location::caller(),
            },
        );
    }

    /// True once the task has finished.
    pub fn is_finished(&self) -> bool {
        self.raw.header().state.load().is_complete()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        self.raw.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: rule 2: this handle's reference; the handle is going away.
        unsafe { self.raw.drop_ref() };
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// `JoinHandle::abort`: tell the worker's observer why, then flag the task and wake it so
/// its worker sees the flag.
///
/// The cause is announced *before* the flag is set: once the flag is up, the worker may
/// cancel the task and announce its end at any moment (it may be running it on another
/// thread right now), and a cause told after that end would find no task to attach to. A
/// cause told for a task that then turns out to be finished already is ignored by the
/// observer (`diag.rs` matches it against the task's id).
fn abort(task: RawTask, cause: CancelCause) {
    let seen = task.header().state.load();
    if seen.is_complete() || seen.is_cancelled() {
        return;
    }
    // An unbound task is on its way to its worker, which will schedule it and see the flag;
    // with no worker yet, there is no observer to tell.
    let bound = seen.is_bound().then(|| task.wake_ref());
    if let Some(r) = bound {
        with_current(|current| match current {
            Some(executor) if executor.index == r.worker => {
                if let Some(observer) = executor.observer() {
                    observer.on_event(r.task, TaskEvent::CancelRequested(&cause));
                }
            }
            _ => registry::announce_remote(r, TaskEvent::CancelRequested(&cause)),
        });
    }
    let prev = task.header().state.request_cancel();
    if prev.is_complete() || prev.is_cancelled() || !prev.is_bound() {
        return;
    }
    let r = task.wake_ref();
    with_current(|current| match current {
        Some(executor) if executor.index == r.worker => executor.wake(r.task),
        _ => registry::wake_remote(r),
    })
}
