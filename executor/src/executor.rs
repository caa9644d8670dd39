//! One worker's executor: the task slab, the run queue, and the wake paths.
//!
//! asyncio's loop keeps a deque of ready callbacks (`_ready`) and runs them in
//! `_run_once`. tempo's [`Executor`] keeps a deque of ready *tasks* and polls them in
//! [`Executor::run_ready`]. A task gets back on the deque when its waker is woken:
//!
//! - on this worker's thread, `wake` finds the worker through a thread-local and pushes
//!   the task directly: no lock, no atomic read-modify-write, no allocation;
//! - from any other thread, the wake goes through the worker's channel (see
//!   [`registry`]) and is applied by [`Executor::drain_remote`].
//!
//! The executor does not decide when to sleep: the runtime's loop calls `run_ready`, then
//! `drain_remote`, then lets the reactor wait for I/O, over and over.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use crossbeam_channel::Receiver;
use slab::Slab;

use crate::coop;
use crate::diag::{CancelCause, Diagnostics, Outcome, SpawnMeta};
use crate::join::JoinHandle;
use crate::registry::{self, Message, Remote, Unbound};
use crate::task::TaskId;
use crate::task::raw::{RawTask, RunState};
use crate::waker::{MAIN_SLOT, MAX_TASKS, WakeRef};

thread_local! {
    /// The worker running on this thread, if any. Set by [`Executor::enter`]. A strong
    /// reference, not a pointer: safe code may `mem::forget` an `Enter` guard and drop the
    /// executor, and this must not dangle then. A worker found here after its executor was
    /// dropped is marked `dropped`, and is treated as absent.
    static CURRENT: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// A worker's executor state. Owned by one thread: every field is touched only there.
pub(crate) struct Local {
    /// This worker's index in the registry; the `worker` part of its wakers.
    index: usize,
    /// Every live task. The key is the task's slot.
    tasks: RefCell<Slab<RawTask>>,
    /// Tasks ready to be polled, in wake order. Each at most once (rule 7 in `task`).
    queue: RefCell<VecDeque<RawTask>>,
    /// The generation the next spawned task gets.
    next_generation: Cell<u32>,
    /// The `block_on` future was woken.
    main_woken: Cell<bool>,
    /// Shutting down: new tasks are cancelled at once.
    closed: Cell<bool>,
    /// The executor is gone; only a forgotten `Enter` guard can still reach this `Local`.
    dropped: Cell<bool>,
    /// The task being polled right now, and its pointer (live: it is running).
    current_task: Cell<Option<(TaskId, RawTask)>>,
    /// The half of the worker other threads use.
    remote: Arc<Remote>,
    /// Wakes and spawns from other threads.
    rx: Receiver<Message>,
    /// The diagnostics table, if the runtime turned diagnostics on. Checked once per spawn,
    /// poll and wake; when unset, nothing else is recorded.
    diag: OnceCell<Arc<Diagnostics>>,
    /// The number of live tasks, published for other threads (`Runtime::live_tasks` of a
    /// multi-worker runtime). Only this thread writes it: a store, no read-modify-write.
    live: Arc<AtomicUsize>,
}

/// The executor of one worker: a slab of tasks and the queue of those ready to run.
///
/// It is `!Send`: the tasks it holds may be `!Send` (see [`spawn_local`]), so it stays on
/// the thread that created it. Other threads reach it through a [`Spawner`] or a waker.
pub struct Executor {
    /// Shared with `CURRENT` while entered.
    local: Rc<Local>,
}

/// Restores the previous current worker when dropped. Returned by [`Executor::enter`].
#[must_use = "the executor is current only while the guard lives"]
pub struct Enter<'a> {
    previous: Option<Rc<Local>>,
    _executor: &'a Executor,
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: an executor may be dropped from a thread-local destructor, after
        // CURRENT's own; there is nothing left to restore then.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = previous);
    }
}

impl Executor {
    /// A new executor. `unpark` is called (from any thread) when another thread has sent
    /// this worker a wake or a task while it may be asleep; it must interrupt that sleep.
    pub fn new(unpark: impl Fn() + Send + Sync + 'static) -> Executor {
        let (remote, rx) = Remote::new(Box::new(unpark));
        let (index, next_generation) = registry::register(remote.clone());
        Executor {
            local: Rc::new(Local {
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
                diag: OnceCell::new(),
                live: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// This worker's index: the `worker` in its wakers.
    pub fn worker_index(&self) -> usize {
        self.local.index
    }

    /// Make this the current worker of this thread, so that [`spawn`] and local wakes find
    /// it, until the guard is dropped.
    pub fn enter(&self) -> Enter<'_> {
        let previous = CURRENT
            .try_with(|c| c.borrow_mut().replace(self.local.clone()))
            .ok()
            .flatten();
        Enter {
            previous,
            _executor: self,
        }
    }

    /// True if this executor is the current one on this thread.
    pub fn is_current(&self) -> bool {
        CURRENT.with_borrow(|c| c.as_ref().is_some_and(|l| Rc::ptr_eq(l, &self.local)))
    }

    /// Spawn a task on this worker. The future may be `!Send`: it never leaves this thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.local.spawn(future, SpawnMeta::here())
    }

    /// Turn diagnostics on: from now on this worker records its tasks in a
    /// [`Diagnostics`] table (see [`diag`](crate::diag)), warning about polls longer than
    /// `slow_poll`. `number` is how logs and dumps name the worker (its position in its
    /// runtime). Returns the table, for readers on other threads. Tasks spawned before this
    /// call are not in it. Calling it again returns the existing table.
    pub fn enable_diagnostics(
        &self,
        number: usize,
        slow_poll: Option<Duration>,
    ) -> Arc<Diagnostics> {
        self.local
            .diag
            .get_or_init(|| Diagnostics::new(number, slow_poll))
            .clone()
    }

    /// The diagnostics table, if diagnostics are on.
    pub fn diagnostics(&self) -> Option<Arc<Diagnostics>> {
        self.local.diag.get().cloned()
    }

    /// A handle other threads can use to spawn `Send` futures onto this worker.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            index: self.local.index,
            remote: self.local.remote.clone(),
        }
    }

    /// Poll up to `max` ready tasks, in queue order. Returns how many were polled.
    pub fn run_ready(&self, max: usize) -> usize {
        let mut polled = 0;
        while polled < max {
            let Some(task) = self.local.queue.borrow_mut().pop_front() else {
                break;
            };
            polled += 1;
            self.local.run(task);
        }
        polled
    }

    /// Apply wakes and spawns sent from other threads. Returns how many messages there were.
    /// Costs one atomic load when there are none.
    pub fn drain_remote(&self) -> usize {
        if !self.local.remote.take_notified() {
            return 0;
        }
        let mut n = 0;
        while let Ok(msg) = self.local.rx.try_recv() {
            n += 1;
            match msg {
                Message::Wake(id) => self.local.wake(id),
                Message::Abort(id, cause) => self.local.abort(id, cause),
                Message::Spawn(task, meta) => self.local.adopt(task, meta),
            }
        }
        n
    }

    /// How many tasks are in the run queue.
    pub fn ready_len(&self) -> usize {
        self.local.queue.borrow().len()
    }

    /// True if a task, or the `block_on` future, is waiting to be polled.
    pub fn has_ready(&self) -> bool {
        self.local.main_woken.get() || !self.local.queue.borrow().is_empty()
    }

    /// The waker for the future the runtime's `block_on` polls, which is not a task.
    pub fn main_waker(&self) -> Waker {
        WakeRef {
            worker: self.local.index,
            task: TaskId {
                slot: MAIN_SLOT,
                generation: 0,
            },
        }
        .into_waker()
    }

    /// True (once) if the `block_on` future was woken since the last call.
    pub fn take_main_woken(&self) -> bool {
        self.local.main_woken.replace(false)
    }

    /// How many tasks are alive on this worker (spawned and not yet finished).
    pub fn live_tasks(&self) -> usize {
        self.local.tasks.borrow().len()
    }

    /// A counter of this worker's live tasks that other threads may read.
    pub fn live_counter(&self) -> Arc<AtomicUsize> {
        self.local.live.clone()
    }

    /// Cancel every task: drop each future here, on its own thread, and complete its
    /// JoinHandle with `Cancelled`. Tasks spawned from those destructors are cancelled too.
    /// Afterwards the executor accepts no new tasks.
    pub fn shutdown(&self) {
        let _enter = self.enter();
        self.local.closed.set(true);
        loop {
            // Tasks sent from other threads are cancelled by `Unbound`'s drop.
            while self.local.rx.try_recv().is_ok() {}
            let tasks: Vec<RawTask> = self.local.tasks.borrow_mut().drain().collect();
            self.local.live.store(0, Ordering::Release);
            self.local.queue.borrow_mut().clear();
            if tasks.is_empty() {
                break;
            }
            for task in tasks {
                // SAFETY: we are the owner (rule 3), the task is not complete (complete
                // tasks leave the slab), and the slab's reference is the executor's.
                unsafe { task.cancel() };
                if let Some(diag) = self.local.diag.get() {
                    diag.on_finish(task.id(), Outcome::Cancelled(Some(CancelCause::Shutdown)));
                }
                // SAFETY: as above; the stage now holds Finished.
                unsafe { task.complete() };
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.shutdown();
        self.local.dropped.set(true);
        registry::unregister(self.local.index, self.local.next_generation.get());
    }
}

impl Local {
    fn spawn<F>(&self, future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.closed.get() {
            let task = RawTask::new(future, None);
            // SAFETY: a brand-new task on its owner's thread; `complete` takes the
            // executor's reference and the JoinHandle keeps the other.
            unsafe {
                task.cancel();
                task.complete();
            }
            return JoinHandle::new(task);
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
        if let Some(diag) = self.diag.get() {
            diag.on_spawn(id, meta);
        }
        self.schedule(task);
        JoinHandle::new(task)
    }

    /// Place a task sent from another thread into the slab and schedule it.
    fn adopt(&self, unbound: Unbound, meta: SpawnMeta) {
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
        task.bind(WakeRef {
            worker: self.index,
            task: id,
        });
        if let Some(diag) = self.diag.get() {
            diag.on_spawn(id, meta);
        }
        self.schedule(task);
    }

    /// An abort of one of our tasks: note why, then wake it so it is cancelled.
    fn abort(&self, id: TaskId, cause: CancelCause) {
        if let Some(diag) = self.diag.get() {
            diag.on_cancel_requested(id, cause);
        }
        self.wake(id);
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
                if let Some(diag) = self.diag.get() {
                    diag.on_schedule(task.id());
                }
            }
            RunState::Running => state.set(RunState::RunningNotified),
            RunState::Queued | RunState::RunningNotified => {}
        }
    }

    /// A wake for a task of this worker. A finished task or a reused slot is ignored.
    fn wake(&self, id: TaskId) {
        if id.slot == MAIN_SLOT {
            self.main_woken.set(true);
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

    /// Poll one task popped from the run queue; retire it if it finished, queue it again if
    /// it was woken during the poll (rule 7).
    fn run(&self, task: RawTask) {
        let header = task.header();
        header.run_state.set(RunState::Running);
        let diag = self.diag.get();
        let started = diag.map(|d| d.on_poll_start(task.id()));
        let finished = if header.state.load().is_cancelled() {
            // SAFETY: we are the owner and the task is not complete (rule 3).
            unsafe { task.cancel() };
            true
        } else {
            let r = task.wake_ref();
            let waker = r.into_waker();
            let mut cx = Context::from_waker(&waker);
            self.current_task.set(Some((r.task, task)));
            // SAFETY: as above.
            let finished = coop::with_budget(|| unsafe { task.poll(&mut cx) });
            self.current_task.set(None);
            finished
        };
        let requeue =
            !finished && header.run_state.replace(RunState::Idle) == RunState::RunningNotified;
        if let (Some(diag), Some(started)) = (diag, started) {
            diag.on_poll_end(task.id(), started, requeue);
            if finished {
                // SAFETY: the stage is Finished and we are the owner.
                diag.on_finish(task.id(), unsafe { task.outcome() });
            }
        }
        if finished {
            let mut tasks = self.tasks.borrow_mut();
            tasks.remove(task.id().slot as usize);
            self.live.store(tasks.len(), Ordering::Release);
            drop(tasks);
            // SAFETY: the stage is Finished, we are the owner, and the slab's reference —
            // just removed — is the executor's.
            unsafe { task.complete() };
        } else if requeue {
            header.run_state.set(RunState::Queued);
            self.queue.borrow_mut().push_back(task);
        }
    }
}

/// Runs `f` with this thread's current worker, if there is one and its executor lives.
///
/// The `Rc` is cloned out (a plain, non-atomic increment) rather than borrowed for the
/// call: `f` may run user code — a future dropped by a closed worker, an unpark — that
/// enters or drops an executor, which needs `CURRENT` mutably. And `try_with` copes with a
/// waker woken from another thread-local's destructor after `CURRENT` is gone: the wake then
/// takes the remote path, as from any foreign thread.
fn with_current<R>(f: impl FnOnce(Option<&Local>) -> R) -> R {
    let current = CURRENT.try_with(|c| c.borrow().clone()).ok().flatten();
    f(current.as_deref().filter(|l| !l.dropped.get()))
}

/// Wake the task `r` names, from whatever thread this is.
///
/// The hot path of the whole executor, so it borrows `CURRENT` in place rather than
/// cloning the `Rc` out as `with_current` does: nothing on this path runs user code — a
/// local wake only pushes onto the run queue, and a remote one sends on a channel and
/// writes an eventfd — so nothing can need `CURRENT` mutably while it is borrowed.
pub(crate) fn wake(r: WakeRef) {
    let woke_locally = CURRENT
        .try_with(|c| match c.borrow().as_deref() {
            Some(local) if local.index == r.worker && !local.dropped.get() => {
                local.wake(r.task);
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    if !woke_locally {
        registry::wake_remote(r);
    }
}

/// `JoinHandle::abort`: flag the task, then wake it so its worker sees the flag (and
/// records why, if it keeps diagnostics).
pub(crate) fn abort(task: RawTask, cause: CancelCause) {
    let prev = task.header().state.request_cancel();
    if prev.is_complete() || prev.is_cancelled() {
        return;
    }
    // An unbound task is on its way to its worker, which will schedule it and see the flag.
    if prev.is_bound() {
        let r = task.wake_ref();
        with_current(|local| match local {
            Some(local) if local.index == r.worker => local.abort(r.task, cause),
            _ => registry::send_remote(r.worker, Message::Abort(r.task, cause)),
        })
    }
}

/// Spawn a `Send` future on the current worker — asyncio's `create_task`.
///
/// # Panics
/// If called outside a tempo runtime (no worker on this thread).
#[track_caller]
#[doc(alias = "create_task")]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_local(future)
}

/// Spawn a future that need not be `Send` (it may hold an `Rc`, say) on the current worker.
/// It will be polled and dropped only on this thread.
///
/// # Panics
/// If called outside a tempo runtime (no worker on this thread).
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_with(future, SpawnMeta::here())
}

/// [`spawn_local`] with the name and spawn location to record (if diagnostics are on).
///
/// # Panics
/// If called outside a tempo runtime (no worker on this thread).
pub fn spawn_with<F>(future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current(|local| match local {
        Some(local) => local.spawn(future, meta),
        None => panic!(
            "tempo::spawn called outside a tempo runtime: call it from a task, or inside \
             `tempo::run` / `Runtime::block_on`, or use `Handle::spawn` from other threads"
        ),
    })
}

/// The index of the worker running on this thread, if any.
pub fn try_current_worker() -> Option<usize> {
    with_current(|local| local.map(|l| l.index))
}

/// The id of the task being polled on this thread, if any.
pub fn current_task_id() -> Option<TaskId> {
    with_current(|local| local.and_then(|l| l.current_task.get()).map(|(id, _)| id))
}

/// Spawns `Send` futures onto one worker from any thread.
#[derive(Clone)]
pub struct Spawner {
    /// The worker's registry index.
    index: usize,
    /// Its channel and unpark.
    remote: Arc<Remote>,
}

impl Spawner {
    /// Spawn `future` on this spawner's worker. From the worker's own thread this is a
    /// local spawn; from elsewhere the task travels through the worker's channel. If the
    /// worker has shut down, the task is cancelled and the handle reports it.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, SpawnMeta::here())
    }

    /// [`Spawner::spawn`] with the name and spawn location to record.
    pub fn spawn_with<F>(&self, future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Compare the worker itself, not its index: indexes are reused after a worker is
        // gone, and a spawner outliving its worker must not spawn onto a stranger.
        let on_own_thread =
            with_current(|l| l.is_some_and(|l| Arc::ptr_eq(&l.remote, &self.remote)));
        if on_own_thread {
            return spawn_with(future, meta);
        }
        spawn_remote(self, future, meta)
    }

    /// The worker's index.
    pub fn worker_index(&self) -> usize {
        self.index
    }
}

fn spawn_remote<F>(spawner: &Spawner, future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = RawTask::new(future, None);
    let handle = JoinHandle::new(task);
    // On failure the message — and the Unbound in it — is dropped here, which cancels
    // the task; the handle then reports Cancelled.
    let _ = spawner.remote.send(Message::Spawn(Unbound(task), meta));
    handle
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner")
            .field("worker", &self.index)
            .finish()
    }
}
