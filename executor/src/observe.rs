//! The one seam through which anything may watch a worker's tasks: [`TaskObserver`].
//!
//! The executor's run, schedule, spawn and abort paths know nothing of diagnostics. At each
//! step of a task's life they announce a [`TaskEvent`] to the worker's observer — if the
//! runtime installed one — and carry on:
//!
//! ```text
//!   spawn ─► Spawned(meta)      wake ─► Scheduled      abort ─► CancelRequested(cause)
//!   wake of the block_on future ─► MainWoken
//!   poll  ─► PollStarted … PollEnded { requeued }      end   ─► Finished(outcome)
//! ```
//!
//! With no observer each announcement is one test of an empty slot: one branch per poll,
//! per wake and per spawn, and no clock read. tempo's diagnostics ([`diag`](crate::diag):
//! slow-poll warnings, task dumps, the watchdog) are one observer; the runtime's trace of
//! the loop (`TEMPO_TRACE`) is another, and [`Fanout`] lets both watch one worker. The
//! observer is chosen at run time ([`Executor::observe`](crate::Executor::observe)),
//! so neither needs a rebuild.
//!
//! asyncio has the same seam in its debug mode: `loop.set_debug(True)` makes `_run_once`
//! time each callback and warn about slow ones, with the rest of the loop unchanged.

use std::panic::Location;
use std::sync::Arc;

use crate::task::TaskId;
use crate::task::outcome::{CancelCause, Outcome};

/// How a task was spawned: the name it was given and where. It travels with a task spawned
/// from another thread, so that the worker that adopts it can announce it.
#[derive(Clone, Debug)]
pub struct SpawnMeta {
    /// The name given with `task::Builder::name`, if any.
    pub name: Option<Arc<str>>,
    /// The `#[track_caller]` location of the spawn.
    pub location: &'static Location<'static>,
}

impl SpawnMeta {
    /// An unnamed task spawned at the caller's location.
    #[track_caller]
    pub fn here() -> SpawnMeta {
        SpawnMeta {
            name: None,
            location: Location::caller(),
        }
    }
}

/// A step in a task's life, as the executor announces it.
#[derive(Clone, Copy, Debug)]
pub enum TaskEvent<'a> {
    /// The task was placed in this worker's slab, spawned like this.
    Spawned(&'a SpawnMeta),
    /// The task was put on the run queue.
    Scheduled,
    /// Not a task: the `block_on` future on this worker's thread was woken (the `task`
    /// given is the id its wakers carry). It has no slab entry and no queue place; the loop
    /// polls it next time round.
    MainWoken,
    /// Someone asked to cancel the task, for this reason. May be announced from any thread.
    CancelRequested(&'a CancelCause),
    /// A poll of the task begins (or, for a task flagged cancelled, its cancellation).
    PollStarted,
    /// That poll ended; `requeued` if the task woke itself during it and runs again soon.
    PollEnded {
        /// The task is back on the run queue.
        requeued: bool,
    },
    /// The task is over, and this is how it ended. Follows its last `PollEnded`.
    Finished(&'a Outcome),
}

/// Watches the tasks of one worker. Installed with
/// [`Executor::observe`](crate::Executor::observe).
///
/// Every event but `CancelRequested` is announced on the worker's own thread, in order, and
/// between `PollStarted` and `PollEnded` the task's own code runs — and, if the poll
/// finished it, its retirement, whose wake of the task awaiting its `JoinHandle` is therefore
/// this task's doing. An observer must be cheap and must not call back into the executor
/// (spawning, waking) from `on_event`.
pub trait TaskObserver: Send + Sync {
    /// `task` took a step: `event`.
    fn on_event(&self, task: TaskId, event: TaskEvent<'_>);
}

/// Several observers watching one worker, each told every event in turn, in the order
/// given: a worker holds one observer, and this is how diagnostics and a trace share it.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tempo_executor::observe::{Fanout, TaskEvent, TaskObserver};
/// use tempo_executor::OwnedExecutor;
///
/// struct Polls(AtomicUsize);
/// impl TaskObserver for Polls {
///     fn on_event(&self, _: tempo_executor::TaskId, event: TaskEvent<'_>) {
///         if let TaskEvent::PollStarted = event {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
///
/// let (a, b) = (Arc::new(Polls(AtomicUsize::new(0))), Arc::new(Polls(AtomicUsize::new(0))));
/// let executor = OwnedExecutor::new(|| {});
/// assert!(executor.observe(Arc::new(Fanout(vec![a.clone(), b.clone()]))));
/// let _guard = executor.enter();
/// let _task = tempo_executor::spawn(async {});
/// executor.run_ready(10);
/// assert_eq!((a.0.load(Ordering::Relaxed), b.0.load(Ordering::Relaxed)), (1, 1));
/// ```
pub struct Fanout(pub Vec<Arc<dyn TaskObserver>>);

impl TaskObserver for Fanout {
    fn on_event(&self, task: TaskId, event: TaskEvent<'_>) {
        for observer in &self.0 {
            observer.on_event(task, event);
        }
    }
}

impl std::fmt::Debug for Fanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout")
            .field("observers", &self.0.len())
            .finish()
    }
}
