//! Diagnostics: what a worker records about its tasks, when asked to.
//!
//! asyncio's debug mode names the callback that held the loop too long; `py-spy dump` and
//! aiomonitor list the tasks that exist and what they are doing. tempo's executor feeds the
//! same tools from one table per worker, [`Diagnostics`]:
//!
//! ```text
//!   spawn ──► TaskInfo { id, name, spawn location, spawned_at }      (the table, by slot)
//!   wake  ──► state = Scheduled
//!   poll  ──► state = Running; `current` = (task, started)  ◄── the watchdog reads this
//!         ──► polls += 1, busy += elapsed; elapsed > threshold ⇒ log::warn!("slow poll")
//!   finish ─► moved to the `finished` ring with its outcome (and what cancelled it)
//! ```
//!
//! The table is a [`TaskObserver`]: the executor announces each step of a task's life
//! through that one seam (`observe.rs`) and knows nothing of what is recorded here.
//!
//! **Off by default, and then free.** A worker without diagnostics has no observer: its
//! executor tests one empty slot per spawn, poll and wake, and reads no clock. With them on,
//! each of those takes this table's mutex for a few field updates — uncontended, since only
//! the worker writes and the readers (a dump, the watchdog, the monitor) come rarely.
//!
//! The table is behind a mutex rather than owned by the worker's thread so that a reader on
//! another thread can see it *while the worker is stuck* in a long poll: that is the
//! watchdog's and the monitor's whole point.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::executor::VTABLE;
use crate::observe::{SpawnMeta, TaskEvent, TaskObserver};
use crate::task::TaskId;
use crate::task::outcome::{CancelCause, Outcome};
use crate::wake_ref::{MAIN_SLOT, WakeRef};

/// How many finished tasks the ring remembers.
pub const FINISHED_RING: usize = 64;

/// What a live task is doing, as a dump shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Waiting to be woken.
    Idle,
    /// In the run queue.
    Scheduled,
    /// Being polled right now.
    Running,
}

/// One live task, as the table records it.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    /// Its id.
    pub id: TaskId,
    /// Its worker's number in its runtime.
    pub worker: usize,
    /// Its name, if it was given one.
    pub name: Option<Arc<str>>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// Idle, scheduled or running.
    pub state: TaskState,
    /// How many times it has been polled.
    pub polls: u64,
    /// Total time spent inside its polls.
    pub busy: Duration,
    /// When it was spawned.
    pub spawned_at: Instant,
    /// Set when a cancellation was requested and not yet carried out.
    pub cancel_cause: Option<CancelCause>,
}

impl TaskInfo {
    /// The name if it has one, else the spawn location: how logs name the task.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name:?} ({})", self.location),
            None => format!("spawned at {}", self.location),
        }
    }
}

/// A task that has finished, kept in the ring.
#[derive(Clone, Debug)]
pub struct FinishedTask {
    /// The task as it was when it finished.
    pub info: TaskInfo,
    /// When it finished.
    pub finished_at: Instant,
    /// How.
    pub outcome: Outcome,
}

/// A poll that has been running for a while, as the watchdog sees it.
#[derive(Clone, Debug)]
pub struct RunningPoll {
    /// The task being polled.
    pub task: TaskInfo,
    /// Which poll of that task this is (1 = the first).
    pub poll: u64,
    /// How long it has run so far.
    pub running_for: Duration,
}

/// Counters kept by a worker with diagnostics on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Tasks spawned.
    pub spawned: u64,
    /// Task polls.
    pub polls: u64,
    /// Wakes that put a task on the run queue.
    pub wakes: u64,
    /// Tasks that finished by returning.
    pub completed: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks that were cancelled.
    pub cancelled: u64,
    /// Polls that ran past the slow-poll threshold.
    pub slow_polls: u64,
}

/// One worker's diagnostics table; see the module doc. Shared (`Arc`) between the worker,
/// which writes it, and whoever reads it.
pub struct Diagnostics {
    /// The worker's index.
    worker: usize,
    /// Polls longer than this are logged as slow; `None`: never.
    slow_poll: Option<Duration>,
    /// Everything else.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Live tasks, indexed by slot.
    tasks: Vec<Option<TaskInfo>>,
    /// The most recent finished tasks, oldest first.
    finished: VecDeque<FinishedTask>,
    /// The poll in progress: (task, when it started, its poll number, already reported by
    /// the watchdog).
    current: Option<(TaskId, Instant, u64, bool)>,
    /// A task whose slot was given to a new task before its `Finished` was announced: the
    /// executor frees a finished task's slot, then retires it — which may run user code (its
    /// unread output's `Drop`, its awaiter's waker) that spawns into that very slot — and
    /// only then announces the end. Kept here until that announcement.
    retiring: Option<TaskInfo>,
    /// Counters.
    counters: Counters,
}

impl Diagnostics {
    /// A table for the worker numbered `worker` (its position in its runtime), warning about
    /// polls longer than `slow_poll`.
    pub fn new(worker: usize, slow_poll: Option<Duration>) -> Arc<Diagnostics> {
        Arc::new(Diagnostics {
            worker,
            slow_poll,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// The worker this table describes.
    pub fn worker(&self) -> usize {
        self.worker
    }

    /// The slow-poll threshold.
    pub fn slow_poll_threshold(&self) -> Option<Duration> {
        self.slow_poll
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn on_spawn(&self, id: TaskId, meta: &SpawnMeta) {
        let info = TaskInfo {
            id,
            worker: self.worker,
            name: meta.name.clone(),
            location: meta.location,
            state: TaskState::Scheduled,
            polls: 0,
            busy: Duration::ZERO,
            spawned_at: Instant::now(),
            cancel_cause: None,
        };
        let mut inner = self.lock();
        let slot = id.slot as usize;
        if inner.tasks.len() <= slot {
            inner.tasks.resize(slot + 1, None);
        }
        if let Some(previous) = inner.tasks[slot].replace(info) {
            // Its slot was reused before its end was announced (see `retiring`).
            inner.retiring = Some(previous);
        }
        inner.counters.spawned += 1;
    }

    fn on_schedule(&self, id: TaskId) {
        let mut inner = self.lock();
        inner.counters.wakes += 1;
        if let Some(info) = task_mut(&mut inner, id) {
            info.state = TaskState::Scheduled;
        }
    }

    fn on_cancel_requested(&self, id: TaskId, cause: &CancelCause) {
        let mut inner = self.lock();
        if let Some(info) = task_mut(&mut inner, id) {
            info.cancel_cause.get_or_insert_with(|| cause.clone());
        }
    }

    /// A poll begins: note it, and when, for the watchdog and for `on_poll_end`.
    fn on_poll_start(&self, id: TaskId) {
        let started = Instant::now();
        let mut inner = self.lock();
        inner.counters.polls += 1;
        let poll = match task_mut(&mut inner, id) {
            Some(info) => {
                info.state = TaskState::Running;
                info.polls += 1;
                info.polls
            }
            None => 0,
        };
        inner.current = Some((id, started, poll, false));
    }

    /// A poll ended. Logs it if it was slow (after releasing the lock).
    fn on_poll_end(&self, id: TaskId, requeued: bool) {
        let report = {
            let mut inner = self.lock();
            let Some((_, started, _, _)) = inner.current.take() else {
                return;
            };
            let elapsed = started.elapsed();
            let slow = self.slow_poll.is_some_and(|t| elapsed > t);
            if slow {
                inner.counters.slow_polls += 1;
            }
            match task_mut(&mut inner, id) {
                Some(info) => {
                    info.busy += elapsed;
                    info.state = if requeued {
                        TaskState::Scheduled
                    } else {
                        TaskState::Idle
                    };
                    slow.then(|| (info.label(), info.polls, elapsed))
                }
                None => slow.then(|| (format!("task {id}"), 0, elapsed)),
            }
        };
        if let Some((label, poll, elapsed)) = report {
            warn(format_args!(
                "tempo: slow poll: task {id} {label} ran for {elapsed:?} in its poll #{poll} on \
                 worker {worker}, blocking every other task on that worker; move blocking work \
                 to spawn_blocking",
                worker = self.worker,
            ));
        }
    }

    /// A task finished: move it to the ring.
    fn on_finish(&self, id: TaskId, outcome: &Outcome) {
        let mut inner = self.lock();
        let in_slot = inner
            .tasks
            .get_mut(id.slot as usize)
            .and_then(|slot| slot.take_if(|info| info.id == id));
        let Some(mut info) = in_slot.or_else(|| inner.retiring.take_if(|info| info.id == id))
        else {
            return;
        };
        info.state = TaskState::Idle;
        let outcome = match outcome {
            Outcome::Cancelled(None) => Outcome::Cancelled(info.cancel_cause.clone()),
            other => other.clone(),
        };
        match outcome {
            Outcome::Completed => inner.counters.completed += 1,
            Outcome::Panicked(_) => inner.counters.panicked += 1,
            Outcome::Cancelled(_) => inner.counters.cancelled += 1,
        }
        if inner.finished.len() == FINISHED_RING {
            inner.finished.pop_front();
        }
        inner.finished.push_back(FinishedTask {
            info,
            finished_at: Instant::now(),
            outcome,
        });
    }

    /// Every live task, in slot order.
    pub fn tasks(&self) -> Vec<TaskInfo> {
        self.lock().tasks.iter().flatten().cloned().collect()
    }

    /// The most recently finished tasks, oldest first.
    pub fn finished(&self) -> Vec<FinishedTask> {
        self.lock().finished.iter().cloned().collect()
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        self.lock().counters
    }

    /// The poll running now, if it has run for at least `at_least`.
    pub fn running_poll(&self, at_least: Duration) -> Option<RunningPoll> {
        let mut inner = self.lock();
        let (id, started, poll, _) = inner.current?;
        let running_for = started.elapsed();
        if running_for < at_least {
            return None;
        }
        let task = task_mut(&mut inner, id)?.clone();
        Some(RunningPoll {
            task,
            poll,
            running_for,
        })
    }

    /// For the watchdog: the poll running now if it has run past the threshold and has not
    /// been reported yet; marks it reported.
    pub fn take_stuck_poll(&self) -> Option<RunningPoll> {
        let threshold = self.slow_poll?;
        let mut inner = self.lock();
        let (id, started, poll, reported) = inner.current?;
        let running_for = started.elapsed();
        if reported || running_for < threshold {
            return None;
        }
        inner.current = Some((id, started, poll, true));
        let task = task_mut(&mut inner, id)?.clone();
        Some(RunningPoll {
            task,
            poll,
            running_for,
        })
    }
}

/// The diagnostics table is one observer of the executor's tasks (`observe.rs`): each event
/// updates the table.
impl TaskObserver for Diagnostics {
    fn on_event(&self, task: TaskId, event: TaskEvent<'_>) {
        match event {
            TaskEvent::Spawned(meta) => self.on_spawn(task, meta),
            TaskEvent::Scheduled => self.on_schedule(task),
            // The block_on future is not a task: nothing of it to list.
            TaskEvent::MainWoken => {}
            TaskEvent::CancelRequested(cause) => self.on_cancel_requested(task, cause),
            TaskEvent::PollStarted => self.on_poll_start(task),
            TaskEvent::PollEnded { requeued } => self.on_poll_end(task, requeued),
            TaskEvent::Finished(outcome) => self.on_finish(task, outcome),
        }
    }
}

/// Say one of debug mode's warnings: through `log` if the program has a logger, else on
/// stderr.
///
/// Debug mode is asked for explicitly (`TEMPO_DEBUG=1`, `Builder::slow_poll_threshold`), so it
/// must speak even in a program that installed no logger — `log`'s records go nowhere then.
/// asyncio's debug mode does the same through `logging`'s last-resort handler, which writes
/// warnings to stderr. With a logger, the warning is a `log` record like any other, for the
/// application to route or to filter out: its choice, even if that hides the warning. `log`
/// cannot say whether a logger is installed; its level can — it is `Off` until one is, and
/// a program that turned logging off altogether is treated as having none.
pub fn warn(message: fmt::Arguments<'_>) {
    if log::max_level() != log::LevelFilter::Off {
        log::warn!("{message}");
    } else {
        eprintln!("{message}");
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

/// The task `id`, live in its slot or retiring (see `Inner::retiring`).
fn task_mut(inner: &mut Inner, id: TaskId) -> Option<&mut TaskInfo> {
    let in_slot = inner
        .tasks
        .get_mut(id.slot as usize)
        .and_then(Option::as_mut)
        .filter(|info| info.id == id);
    match in_slot {
        Some(info) => Some(info),
        None => inner.retiring.as_mut().filter(|info| info.id == id),
    }
}

impl fmt::Debug for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostics")
            .field("worker", &self.worker)
            .field("slow_poll", &self.slow_poll)
            .finish_non_exhaustive()
    }
}
