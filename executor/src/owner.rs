//! The owner of a worker's executor, and the thread's *current* executor.
//!
//! An [`Executor`] lives behind an `Rc` shared by two holders: its one [`OwnedExecutor`],
//! which the runtime's worker keeps, and — while entered — the thread-local
//! `CURRENT_EXECUTOR`, through which [`spawn`](crate::spawn()) and a waker woken on this
//! thread find it. Entering, shutting down and asking "which executor, which task is current
//! here?" are this file's — with the executor's birth and death: registering it in the
//! process-wide table, and cancelling every task at shutdown. Running tasks is
//! `executor.rs`'s.

use std::ops::Deref;
use std::rc::Rc;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use slab::Slab;

use crate::executor::{CURRENT_EXECUTOR, Executor};
use crate::observe::{TaskEvent, TaskObserver};
use crate::registry::{self, Remote};
use crate::task::TaskId;
use crate::task::outcome::{CancelCause, Outcome};
use crate::task::raw::RawTask;

/// The one owner of a worker's [`Executor`]: entering it, and shutting it down when dropped.
/// Derefs to the executor. The thread-local shares the executor while it is entered, which
/// is why the executor sits behind an `Rc` and this type exists.
pub struct OwnedExecutor {
    /// The executor, shared with `CURRENT_EXECUTOR` while entered.
    executor: Rc<Executor>,
}

/// Restores the previous current executor when dropped. Returned by
/// [`OwnedExecutor::enter`].
#[must_use = "the executor is current only while the guard lives"]
pub struct ExecutorGuard<'a> {
    previous: Option<Rc<Executor>>,
    _owner: &'a OwnedExecutor,
}

impl Drop for ExecutorGuard<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: an executor may be dropped from a thread-local destructor, after
        // CURRENT_EXECUTOR's own; there is nothing left to restore then.
        let _ = CURRENT_EXECUTOR.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl OwnedExecutor {
    /// A new executor. `unpark` is called (from any thread) when another thread has sent
    /// this worker a wake or a task while it may be asleep; it must interrupt that sleep.
    pub fn new(unpark: impl Fn() + Send + Sync + 'static) -> OwnedExecutor {
        OwnedExecutor {
            executor: Rc::new(Executor::new(Box::new(unpark))),
        }
    }

    /// Make this the current executor of this thread, so that [`spawn`](crate::spawn()) and
    /// local wakes find it, until the guard is dropped.
    pub fn enter(&self) -> ExecutorGuard<'_> {
        let previous = CURRENT_EXECUTOR
            .try_with(|c| c.borrow_mut().replace(self.executor.clone()))
            .ok()
            .flatten();
        ExecutorGuard {
            previous,
            _owner: self,
        }
    }

    /// Cancel every task: drop each future here, on its own thread, and complete its
    /// JoinHandle with `Cancelled`. Tasks spawned from those destructors are cancelled too.
    /// Afterwards the executor accepts no new tasks.
    pub fn shutdown(&self) {
        let _enter = self.enter();
        self.executor.cancel_all();
    }
}

impl Executor {
    /// Install `observer` to watch this worker's tasks from now on (see `observe.rs`);
    /// tasks spawned before are not announced to it. Returns false, and changes nothing, if
    /// an observer is already installed.
    pub fn observe(&self, observer: Arc<dyn TaskObserver>) -> bool {
        self.remote.observer.set(observer).is_ok()
    }

    /// A new executor, registered in the process-wide table. `unpark` is called (from any
    /// thread) when another thread has sent this worker a wake or a task while it may be
    /// asleep; it must interrupt that sleep.
    pub(crate) fn new(unpark: Box<dyn Fn() + Send + Sync>) -> Executor {
        let (remote, rx) = Remote::new(unpark);
        let (index, next_generation) = registry::register(remote.clone());
        Executor {
            index,
            tasks: RefCell::new(Slab::with_capacity(64)),
            queue: RefCell::new(VecDeque::with_capacity(64)),
            next_generation: Cell::new(next_generation),
            main_woken: Cell::new(false),
            closed: Cell::new(false),
            dropped: Cell::new(false),
            current_task: Cell::new(None),
            remote,
            rx,
            live: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Give the executor's registry index back, remembering where its generations stopped.
    pub(crate) fn unregister(&self) {
        registry::unregister(self.index, self.next_generation.get());
    }

    /// Cancel every task: drop each future here, on its own thread, and complete its
    /// JoinHandle with `Cancelled`. Tasks spawned from those destructors are cancelled too
    /// (the caller has made this executor current, so they come here). Afterwards the
    /// executor accepts no new tasks.
    pub(crate) fn cancel_all(&self) {
        self.closed.set(true);
        loop {
            // Tasks sent from other threads are cancelled by `Unbound`'s drop.
            while self.rx.try_recv().is_ok() {}
            let tasks: Vec<RawTask> = self.tasks.borrow_mut().drain().collect();
            self.live.store(0, Ordering::Release);
            self.queue.borrow_mut().clear();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                // SAFETY: we are the owner (rule 3), the task is not complete (complete
                // tasks leave the slab), and the slab's reference is the executor's.
                unsafe { task.cancel() };
                if let Some(observer) = self.observer() {
                    let outcome = Outcome::Cancelled(Some(CancelCause::Shutdown));
                    observer.on_event(task.id(), TaskEvent::Finished(&outcome));
                }
                // SAFETY: rules 3 and 2, as above; rule 4: the stage now holds Finished.
                unsafe { task.complete() };
            }
        }
    }
}

impl Deref for OwnedExecutor {
    type Target = Executor;

    fn deref(&self) -> &Executor {
        &self.executor
    }
}

impl Drop for OwnedExecutor {
    fn drop(&mut self) {
        self.shutdown();
        self.executor.dropped.set(true);
        self.executor.unregister();
    }
}

/// Runs `f` with this thread's current executor, if there is one and its owner lives.
///
/// The `Rc` is cloned out (a plain, non-atomic increment) rather than borrowed for the
/// call: `f` may run user code — a future dropped by a closed executor, an unpark — that
/// enters or drops an executor, which needs `CURRENT_EXECUTOR` mutably. And `try_with`
/// copes with a waker woken from another thread-local's destructor after
/// `CURRENT_EXECUTOR` is gone: the wake then takes the remote path, as from any foreign
/// thread.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Executor>) -> R) -> R {
    let current = CURRENT_EXECUTOR
        .try_with(|c| c.borrow().clone())
        .ok()
        .flatten();
    f(current.as_deref().filter(|e| !e.dropped.get()))
}

/// The index of the worker running on this thread, if any.
pub fn try_current_worker() -> Option<usize> {
    with_current(|current| current.map(|e| e.index))
}

/// The id of the task being polled on this thread, if any.
pub fn current_task_id() -> Option<TaskId> {
    with_current(|current| current.and_then(|e| e.current_task.get()).map(|(id, _)| id))
}
