//! One worker's executor: the task slab, the run queue, and the wakes that fill it.
//!
//! asyncio's loop keeps a deque of ready callbacks (`_ready`) and runs them in
//! `_run_once`. tempo's [`Executor`] keeps a deque of ready *tasks* and polls them in
//! [`Executor::run_ready`]. A task gets back on the deque when its waker is woken:
//!
//! - on this worker's thread, the waker's `wake` (the `VTABLE` below) finds the worker
//!   through the thread-local `CURRENT_EXECUTOR` and pushes the task directly: no lock,
//!   no atomic read-modify-write, no allocation;
//! - from any other thread, the wake goes through the worker's channel (`registry.rs`) and
//!   is applied by [`Executor::drain_remote`].
//!
//! The executor does not decide when to sleep: the runtime's loop calls `run_ready`, then
//! `drain_remote`, then lets the reactor wait for I/O, over and over. Spawning — building a
//! task and handing out its `JoinHandle` — is `spawn.rs`, above this file; this file only
//! files a built task in the slab and schedules it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::ptr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

use crossbeam_channel::Receiver;
use slab::Slab;

use crate::coop;
use crate::observe::{SpawnMeta, TaskEvent, TaskObserver};
use crate::registry::{self, Message, Remote, Unbound};
use crate::task::TaskId;
use crate::task::raw::{RawTask, RunState};
use crate::wake_ref::{MAIN_SLOT, MAX_TASKS, WakeRef};

thread_local! {
    /// The executor running on this thread, if any. Set by `OwnedExecutor::enter` (`owner.rs`). A
    /// strong reference, not a pointer: safe code may `mem::forget` an `ExecutorGuard` and
    /// drop the executor, and this must not dangle then. An executor found here after its
    /// owner dropped it is marked `dropped`, and is treated as absent.
    pub(crate) static CURRENT_EXECUTOR: RefCell<Option<Rc<Executor>>> = const { RefCell::new(None) };
}

/// The executor of one worker: a slab of tasks and the queue of those ready to run.
///
/// It is `!Send`: the tasks it holds may be `!Send` (see [`spawn_local`](crate::spawn_local)),
/// so it stays on the thread that created it. Other threads reach it through a
/// [`Spawner`](crate::Spawner) or a waker. It is created, entered and shut down through its
/// `OwnedExecutor` (`owner.rs`); every field is touched only on its own thread.
pub struct Executor {
    /// This worker's index in the registry; the `worker` part of its wakers.
    pub(crate) index: usize,
    /// Every live task. The key is the task's slot.
    pub(crate) tasks: RefCell<Slab<RawTask>>,
    /// Tasks ready to be polled, in wake order. Each at most once (rule 7 in `task`).
    pub(crate) queue: RefCell<VecDeque<RawTask>>,
    /// The generation the next spawned task gets.
    pub(crate) next_generation: Cell<u32>,
    /// The `block_on` future was woken.
    pub(crate) main_woken: Cell<bool>,
    /// Shutting down: new tasks are cancelled at once.
    pub(crate) closed: Cell<bool>,
    /// The owner is gone; only a forgotten guard can still reach this executor.
    pub(crate) dropped: Cell<bool>,
    /// The task being polled right now, and its pointer (live: it is running).
    pub(crate) current_task: Cell<Option<(TaskId, RawTask)>>,
    /// The half of the worker other threads use; it also holds the task observer.
    pub(crate) remote: Arc<Remote>,
    /// Wakes and spawns from other threads.
    pub(crate) rx: Receiver<Message>,
    /// The number of live tasks, published for other threads (`Runtime::live_tasks` of a
    /// multi-worker runtime). Only this thread writes it: a store, no read-modify-write.
    pub(crate) live: Arc<AtomicUsize>,
}

impl Executor {
    /// This worker's index: the `worker` in its wakers.
    pub fn worker_index(&self) -> usize {
        self.index
    }

    /// True if this executor is the current one on this thread.
    pub fn is_current(&self) -> bool {
        CURRENT_EXECUTOR.with_borrow(|c| c.as_ref().is_some_and(|e| ptr::eq(&**e, self)))
    }

    /// The task observer, if one is installed.
    #[inline]
    pub(crate) fn observer(&self) -> Option<&Arc<dyn TaskObserver>> {
        self.remote.observer.get()
    }

    /// Poll up to `max` ready tasks, in queue order. Returns how many were polled.
    pub fn run_ready(&self, max: usize) -> usize {
        let mut polled = 0;
        while polled < max {
            let Some(task) = self.queue.borrow_mut().pop_front() else {
                break;
            };
            polled += 1;
            self.run(task);
        }
        polled
    }

    /// Apply wakes and spawns sent from other threads. Returns how many messages there were.
    /// Costs one atomic load when there are none.
    pub fn drain_remote(&self) -> usize {
        if !self.remote.take_notified() {
            return 0;
        }
        let mut n = 0;
        while let Ok(msg) = self.rx.try_recv() {
            n += 1;
            match msg {
                Message::Wake(id) => self.wake(id),
                Message::Spawn(task, meta) => self.adopt(task, &meta),
            }
        }
        n
    }

    /// How many tasks are in the run queue.
    pub fn ready_len(&self) -> usize {
        self.queue.borrow().len()
    }

    /// True if a task, or the `block_on` future, is waiting to be polled.
    pub fn has_ready(&self) -> bool {
        self.main_woken.get() || !self.queue.borrow().is_empty()
    }

    /// The waker for the future the runtime's `block_on` polls, which is not a task.
    pub fn main_waker(&self) -> Waker {
        waker(WakeRef {
            worker: self.index,
            task: TaskId {
                slot: MAIN_SLOT,
                generation: 0,
            },
        })
    }

    /// True (once) if the `block_on` future was woken since the last call.
    pub fn take_main_woken(&self) -> bool {
        self.main_woken.replace(false)
    }

    /// How many tasks are alive on this worker (spawned and not yet finished).
    pub fn live_tasks(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// A counter of this worker's live tasks that other threads may read.
    pub fn live_counter(&self) -> Arc<AtomicUsize> {
        self.live.clone()
    }

    /// File a new task in the slab and schedule it; `spawn.rs` wraps the returned task in
    /// its `JoinHandle`. On a closed executor the task is cancelled at once instead.
    pub(crate) fn insert<F>(&self, future: F, meta: &SpawnMeta) -> RawTask
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.closed.get() {
            let task = RawTask::new(future, None);
            // SAFETY: rule 3: a brand-new task on its owner's thread, never polled; rule 2:
            // `complete` takes the executor's reference and the JoinHandle keeps the other.
            unsafe {
                task.cancel();
                task.complete();
            }
            return task;
        }
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let id = self.next_id(entry.key());
        let task = RawTask::new(
            future,
            Some(WakeRef {
                worker: self.index,
                task: id,
            }),
        );
        entry.insert(task);
        self.live.store(tasks.len(), Ordering::Release);
        drop(tasks);
        if let Some(observer) = self.observer() {
            observer.on_event(id, TaskEvent::Spawned(meta));
        }
        self.schedule(task);
        task
    }

    /// Place a task sent from another thread into the slab and schedule it.
    fn adopt(&self, unbound: Unbound, meta: &SpawnMeta) {
        if self.closed.get() {
            return; // dropping `unbound` cancels it
        }
        let task = unbound.into_raw();
        let id = {
            let mut tasks = self.tasks.borrow_mut();
            let entry = tasks.vacant_entry();
            let id = self.next_id(entry.key());
            entry.insert(task);
            self.live.store(tasks.len(), Ordering::Release);
            id
        };
        // Announced before `bind`: once bound, an abort from another thread may announce
        // itself, and it must find the task already known.
        if let Some(observer) = self.observer() {
            observer.on_event(id, TaskEvent::Spawned(meta));
        }
        task.bind(WakeRef {
            worker: self.index,
            task: id,
        });
        self.schedule(task);
    }

    fn next_id(&self, slot: usize) -> TaskId {
        assert!(
            slot < MAX_TASKS,
            "tempo: more than {MAX_TASKS} tasks alive on one worker"
        );
        let generation = self.next_generation.get();
        self.next_generation.set(generation.wrapping_add(1));
        TaskId {
            slot: slot as u32,
            generation,
        }
    }

    /// Put a live task on the run queue unless it is already there, or note the wake for
    /// after its poll if it is running (rule 7).
    fn schedule(&self, task: RawTask) {
        let state = &task.header().run_state;
        match state.get() {
            RunState::Idle => {
                state.set(RunState::Queued);
                self.queue.borrow_mut().push_back(task);
                if let Some(observer) = self.observer() {
                    observer.on_event(task.id(), TaskEvent::Scheduled);
                }
            }
            RunState::Running => state.set(RunState::RunningNotified),
            RunState::Queued | RunState::RunningNotified => {}
        }
    }

    /// A wake for a task of this worker. A finished task or a reused slot is ignored.
    pub(crate) fn wake(&self, id: TaskId) {
        if id.slot == MAIN_SLOT {
            self.main_woken.set(true);
            if let Some(observer) = self.observer() {
                observer.on_event(id, TaskEvent::MainWoken);
            }
            return;
        }
        // Fast path: a task waking itself while it is being polled (`yield_now`, a spent
        // budget, a combinator re-polling a child) needs no slab lookup.
        if let Some((current, task)) = self.current_task.get() {
            if current == id {
                self.schedule(task);
                return;
            }
        }
        let task = match self.tasks.borrow().get(id.slot as usize) {
            Some(&task) if task.id() == id => task,
            _ => return,
        };
        self.schedule(task);
    }

    /// Run one task popped from the run queue: poll it — watched by the observer if there
    /// is one, the only branch diagnostics cost here — then retire it or queue it again.
    fn run(&self, task: RawTask) {
        match self.observer() {
            None => self.settle(task, self.poll(task)),
            Some(observer) => observed(
                &**observer,
                task,
                || self.poll(task),
                |ran| self.settle(task, ran),
            ),
        }
    }

    /// After a poll: free a finished task — which wakes whoever awaits its `JoinHandle` —
    /// or queue it again if it woke itself. Inlined: it is the second half of every task's
    /// run, split out only so that the observed path can call it inside the poll's span.
    #[inline(always)]
    fn settle(&self, task: RawTask, ran: Ran) {
        match ran {
            Ran::Finished => {
                let mut tasks = self.tasks.borrow_mut();
                tasks.remove(task.id().slot as usize);
                self.live.store(tasks.len(), Ordering::Release);
                drop(tasks);
                // SAFETY: rules 3 and 4: we are the owner and the stage is Finished; rule 2:
                // the slab's reference — just removed — is the executor's to give up.
                unsafe { task.complete() };
            }
            Ran::Requeue => {
                task.header().run_state.set(RunState::Queued);
                self.queue.borrow_mut().push_back(task);
            }
            Ran::Pending => {}
        }
    }

    /// Poll the task once (or cancel it, if it was flagged), under the cooperative budget.
    /// Moves its run state from Running back to Idle, and says whether it asked to run
    /// again (rule 7).
    fn poll(&self, task: RawTask) -> Ran {
        let header = task.header();
        header.run_state.set(RunState::Running);
        let finished = if header.state.load().is_cancelled() {
            // SAFETY: we are the owner and the task is not complete (rule 3).
            unsafe { task.cancel() };
            true
        } else {
            let r = task.wake_ref();
            let waker = waker(r);
            let mut cx = Context::from_waker(&waker);
            self.current_task.set(Some((r.task, task)));
            // SAFETY: rule 3, as above: the owner polls a task that is not complete.
            let finished = coop::with_budget(|| unsafe { task.poll(&mut cx) });
            self.current_task.set(None);
            finished
        };
        if finished {
            Ran::Finished
        } else if header.run_state.replace(RunState::Idle) == RunState::RunningNotified {
            Ran::Requeue
        } else {
            Ran::Pending
        }
    }
}

/// What one run of a task left to do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ran {
    /// It finished (its stage holds its output): retire it.
    Finished,
    /// It woke itself while running: queue it again.
    Requeue,
    /// It waits for a wake.
    Pending,
}

/// `poll`, announced to `observer`: the poll's start and end, and the task's outcome if it
/// finished. Kept out of `Executor::run` so that the unwatched path reads as if nobody
/// watched.
///
/// `settle` runs inside the poll's span, before `PollEnded`: a finished task's end wakes
/// whoever awaits its handle, and an observer must see that wake as this task's doing, not
/// as one from nowhere. The outcome is read first, since settling may free the task — and
/// its slot, which code run while it retires may spawn into before `Finished` is announced
/// (the diagnostics table keeps such a task aside until then: `diag.rs`, `retiring`).
#[inline(never)]
fn observed(
    observer: &dyn TaskObserver,
    task: RawTask,
    poll: impl FnOnce() -> Ran,
    settle: impl FnOnce(Ran),
) {
    let id = task.id();
    observer.on_event(id, TaskEvent::PollStarted);
    let ran = poll();
    // SAFETY: rules 3 and 4: we are the owner and the stage is Finished; rule 2: the
    // allocation is alive, as the slab's reference is given up only by `settle`, below.
    let outcome = (ran == Ran::Finished).then(|| unsafe { task.outcome() });
    settle(ran);
    observer.on_event(
        id,
        TaskEvent::PollEnded {
            requeued: ran == Ran::Requeue,
        },
    );
    if let Some(outcome) = outcome {
        observer.on_event(id, TaskEvent::Finished(&outcome));
    }
}

/// The table of functions behind every task's [`Waker`] (see `wake_ref.rs` for its data
/// word): cloning copies the word, dropping does nothing, waking is [`wake`].
pub(crate) static VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_waker, wake_waker, drop);

fn clone_waker(data: *const ()) -> RawWaker {
    RawWaker::new(data, &VTABLE)
}

fn wake_waker(data: *const ()) {
    wake(WakeRef::from_bits(data.addr()));
}

/// The waker for the task `r` names.
pub(crate) fn waker(r: WakeRef) -> Waker {
    let data = ptr::without_provenance::<()>(r.to_bits());
    // SAFETY: rule 8: `data` is a plain integer that the vtable's functions never
    // dereference, so they honour RawWaker's contract — any copy stays valid for ever, on
    // any thread (wakers must be Send + Sync), and clone and drop need no bookkeeping.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// Wake the task `r` names, from whatever thread this is.
///
/// The hot path of the whole executor, so it borrows `CURRENT_EXECUTOR` in place rather
/// than cloning the `Rc` out as `with_current` does: nothing on this path runs user code —
/// a local wake only pushes onto the run queue, and a remote one sends on a channel and
/// writes an eventfd — so nothing can need `CURRENT_EXECUTOR` mutably while it is borrowed.
fn wake(r: WakeRef) {
    let woke_locally = CURRENT_EXECUTOR
        .try_with(|c| match c.borrow().as_deref() {
            Some(executor) if executor.index == r.worker && !executor.dropped.get() => {
                executor.wake(r.task);
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if !woke_locally {
        registry::wake_remote(r);
    }
}
