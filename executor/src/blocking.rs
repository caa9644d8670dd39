//! [`BlockingTask`]: a closure that runs on a thread pool, awaited through a normal
//! [`JoinHandle`] — the executor's half of asyncio's `to_thread` / `run_in_executor`.
//!
//! A blocking job is a task like any other — one allocation holding a header, the job and
//! its output — except that no worker ever polls it. Its future is a closure wrapped to
//! look like one: the first poll runs the closure and is `Ready`. The thread pool (in
//! `tempo-runtime`) holds the `BlockingTask`, which carries the executor's reference to the
//! task, and calls [`BlockingTask::run`] on a pool thread. Rule 3b of `task` makes that
//! thread the task's owner: the closure is `Send`, and is polled once (or cancelled) on the
//! one thread that holds the `BlockingTask`, and dropped there.
//!
//! If the job never runs — the pool shut down with it still queued — dropping the
//! `BlockingTask` cancels it, so its JoinHandle reports `Cancelled`: a job never vanishes
//! silently. An `abort()` before the job starts cancels it the same way; one that comes while
//! the closure runs cannot stop it (nothing can stop a thread in Rust), and the output is
//! kept.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::join::JoinHandle;
use crate::task::raw::RawTask;

/// A closure as a future that is ready on its first poll.
struct RunOnce<F>(Option<F>);

impl<F: FnOnce() -> R, R> Future for RunOnce<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        // `RunOnce` never pins anything of `F`: taking it out is fine, hence `Unpin`.
        let f = self.0.take().expect("tempo: a blocking job ran twice");
        Poll::Ready(f())
    }
}

impl<F> Unpin for RunOnce<F> {}

/// A job for a blocking-pool thread, holding the executor's reference to its task.
pub struct BlockingTask {
    /// The task; its future is a `RunOnce`.
    raw: RawTask,
}

// SAFETY: rule 3b in `task`: `BlockingTask::new` requires the closure and its output to be
// `Send`, and the task is run (polled once) or cancelled on exactly one thread, whichever
// thread holds this.
unsafe impl Send for BlockingTask {}

impl BlockingTask {
    /// Wrap `job` as a task. The pool runs it with [`run`](BlockingTask::run); the handle
    /// awaits its output (or `Err(JoinError)` if it panicked or was cancelled).
    pub fn new<F, R>(job: F) -> (BlockingTask, JoinHandle<R>)
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let raw = RawTask::new(RunOnce(Some(job)), None);
        (BlockingTask { raw }, JoinHandle::new(raw))
    }

    /// True if the job was aborted before it ran: the pool may skip it (dropping it
    /// reports the cancellation).
    pub fn is_cancelled(&self) -> bool {
        self.raw.header().state.load().is_cancelled()
    }

    /// Run the job on this thread — unless it was aborted first — catching a panic, then
    /// complete the task and wake whoever awaits the JoinHandle.
    pub fn run(self) {
        let raw = self.raw;
        std::mem::forget(self);
        let finished = if raw.header().state.load().is_cancelled() {
            // SAFETY: we hold the executor's reference, so this thread owns the task
            // (rule 3b), and it is not complete.
            unsafe { raw.cancel() };
            true
        } else {
            let mut cx = Context::from_waker(Waker::noop());
            // SAFETY: rule 3b, as above; `RunOnce` is ready on its first poll, panics included
            // (caught by `poll` and stored as the output).
            unsafe { raw.poll(&mut cx) }
        };
        debug_assert!(finished, "a blocking job is ready on its first poll");
        // SAFETY: the stage holds Finished, this thread is the owner (rule 3b), and this
        // was the executor's reference (rule 2).
        unsafe { raw.complete() };
    }
}

impl Drop for BlockingTask {
    /// A job dropped without running — the pool shut down — is cancelled, never lost.
    fn drop(&mut self) {
        // SAFETY: as in `run`: the executor's reference, so this thread is the owner
        // (rule 3b); `run` forgets `self`, so a dropped job never ran and is not complete.
        unsafe {
            self.raw.cancel();
            self.raw.complete();
        }
    }
}

impl std::fmt::Debug for BlockingTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingTask")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
