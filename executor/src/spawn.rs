//! Spawning: turning a future into a task and handing back its [`JoinHandle`] —
//! asyncio's `create_task`.
//!
//! Where a task goes is decided here, and only here:
//!
//! - [`spawn`] and [`spawn_local`] put it on the executor current on *this* thread (the
//!   worker running the calling task); the runtime decides, before calling them, whether
//!   a `spawn` from the thread running `block_on` should go to a worker instead;
//! - [`Executor::spawn`] puts it on that executor, current or not (an `Executor` is
//!   `!Send`, so this is its own thread);
//! - [`Spawner::spawn`] puts it on the spawner's worker, from any thread: locally when
//!   called on that worker's thread, else through the worker's channel (`registry.rs`),
//!   as an `Unbound` task the worker adopts when it next drains its channel.

use std::future::Future;
use std::sync::Arc;

use crate::executor::Executor;
use crate::join::JoinHandle;
use crate::observe::SpawnMeta;
use crate::owner::with_current;
use crate::registry::{Message, Remote, Unbound};
use crate::task::raw::RawTask;

impl Executor {
    /// Spawn a task on this worker. The future may be `!Send`: it never leaves this thread.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        JoinHandle::new(self.insert(future, &SpawnMeta::here()))
    }

    /// A handle other threads can use to spawn `Send` futures onto this worker.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            index: self.worker_index(),
            remote: self.remote.clone(),
        }
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

/// [`spawn_local`] with the name and spawn location to announce to the worker's observer.
///
/// # Panics
/// If called outside a tempo runtime (no worker on this thread).
pub fn spawn_with<F>(future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current(|current| match current {
        Some(executor) => JoinHandle::new(executor.insert(future, &meta)),
        None => panic!(
            "tempo::spawn called outside a tempo runtime: call it from a task, or inside \
             `tempo::run` / `Runtime::block_on`, or use `Handle::spawn` from other threads"
        ),
    })
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

    /// [`Spawner::spawn`] with the name and spawn location to announce.
    pub fn spawn_with<F>(&self, future: F, meta: SpawnMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Compare the worker itself, not its index: indexes are reused after a worker is
        // gone, and a spawner outliving its worker must not spawn onto a stranger.
        let on_own_thread =
            with_current(|e| e.is_some_and(|e| Arc::ptr_eq(&e.remote, &self.remote)));
        if on_own_thread {
            return spawn_with(future, meta);
        }
        let task = RawTask::new(future, None);
        let handle = JoinHandle::new(task);
        // On failure the message — and the Unbound in it — is dropped here, which cancels
        // the task; the handle then reports Cancelled.
        let _ = self.remote.send(Message::Spawn(Unbound(task), meta));
        handle
    }

    /// The worker's index.
    pub fn worker_index(&self) -> usize {
        self.index
    }
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner")
            .field("worker", &self.index)
            .finish()
    }
}
