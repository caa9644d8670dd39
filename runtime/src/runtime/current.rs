//! What this thread is to a runtime: the runtime's two thread-locals, and entering and
//! leaving a runtime on a thread.
//!
//! asyncio keeps one "running loop" per thread (`asyncio.get_running_loop()`); a coroutine
//! finds its loop there instead of being handed it. tempo does the same, in three layers,
//! one thread-local each:
//!
//! - the executor's (in `tempo_executor::executor`): where `spawn` puts a task on this
//!   thread, and which task is being polled;
//! - the reactor's `CURRENT_REACTOR` (in `tempo-reactor`): where a new socket or timer
//!   registers;
//! - and, here, the runtime's [`CURRENT_RUNTIME`]: the [`Handle`] of the runtime this thread
//!   belongs to, with its [`Role`] in it — which decides where [`spawn`](crate::spawn)
//!   places a task.
//!
//! A worker's thread, and the thread inside [`Runtime::block_on`](crate::Runtime::block_on),
//! enter all three with [`enter`], which returns a [`RuntimeGuard`] (tokio calls its own an
//! `EnterGuard`) that leaves them when dropped. A blocking-pool thread enters only the
//! runtime's, with [`run_in_runtime`]: it has no loop of its own, so a task it spawns goes
//! to the workers.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use super::handle::Handle;
use crate::blocking::RunInRuntime;
use crate::worker::Worker;

thread_local! {
    /// What this thread is to the runtime in [`CURRENT_RUNTIME`], if any.
    static ROLE: Cell<Role> = const { Cell::new(Role::None) };
    /// The handle of the runtime this thread belongs to: what [`Handle::current`] returns.
    static CURRENT_RUNTIME: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// What a thread is to the runtime it belongs to, and so where [`spawn`](crate::spawn)
/// puts a task spawned on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Belongs to no runtime.
    None,
    /// Runs worker number `n`'s loop (with one worker, worker 0 is the `block_on` thread):
    /// a task spawned here stays here.
    Worker(usize),
    /// Runs the `block_on` of a runtime with several workers. Its loop — the *block_on
    /// worker* — is not one of them: it runs only the `block_on` future, its `spawn_local`
    /// tasks, and the sockets and timers they use. A task spawned here goes to the workers,
    /// round-robin.
    BlockOn,
    /// A thread of the runtime's blocking or CPU pool: no loop at all. A task spawned here
    /// goes to the workers, round-robin.
    PoolThread,
}

impl Handle {
    /// The handle of the runtime this thread belongs to: a worker's thread, the thread in
    /// `block_on`, or a blocking-pool thread.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn current() -> Handle {
        Handle::try_current().expect("tempo::Handle::current called outside a tempo runtime")
    }

    /// The handle of the runtime this thread belongs to, if any.
    pub fn try_current() -> Option<Handle> {
        CURRENT_RUNTIME.with_borrow(|c| c.clone())
    }
}

/// The handle to spawn through when this thread has no worker loop of its own — the
/// `block_on` thread of a multi-worker runtime, or a pool thread — so that its tasks must
/// go to the workers; `None` when a task spawned here runs here.
pub(crate) fn placing_handle() -> Option<Handle> {
    match ROLE.get() {
        Role::BlockOn | Role::PoolThread => CURRENT_RUNTIME.with_borrow(|c| c.clone()),
        Role::None | Role::Worker(_) => None,
    }
}

/// The number of the worker running on this thread, if it is one: `0..workers`. `None` on
/// the `block_on` thread of a runtime with several workers, on a pool thread, and outside
/// a runtime.
pub fn current_worker() -> Option<usize> {
    match ROLE.get() {
        Role::Worker(n) => Some(n),
        Role::None | Role::BlockOn | Role::PoolThread => None,
    }
}

/// Make `worker`'s loop, of the runtime `handle` reaches, current on this thread as `role`:
/// its executor, its reactor, and the runtime. Dropping the guard leaves all three.
///
/// # Panics
/// If this thread already runs a runtime's loop.
pub(crate) fn enter<'a>(worker: &'a Worker, handle: &Handle, role: Role) -> RuntimeGuard<'a> {
    assert!(
        ROLE.replace(role) == Role::None,
        "tempo: cannot block_on inside a runtime: the thread is already running an event \
         loop, which would wait on itself. Await the future instead, or spawn it."
    );
    let previous = CURRENT_RUNTIME.with_borrow_mut(|c| c.replace(handle.clone()));
    RuntimeGuard {
        _executor: worker.executor.enter(),
        _reactor: worker.reactor.borrow().enter(),
        previous,
    }
}

/// A runtime made current on this thread by [`enter`] — with its executor and reactor —
/// until it is dropped. tokio's `EnterGuard`; named after the runtime, as the reactor's
/// `ReactorGuard` is after the reactor.
pub(crate) struct RuntimeGuard<'a> {
    /// The executor's own guard: leaves the executor's thread-local.
    _executor: tempo_executor::ExecutorGuard<'a>,
    /// The reactor's guard: leaves `CURRENT_REACTOR`.
    _reactor: tempo_reactor::ReactorGuard,
    /// The runtime current before, put back on drop.
    previous: Option<Handle>,
}

impl Drop for RuntimeGuard<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT_RUNTIME.with_borrow_mut(|c| *c = previous);
        ROLE.set(Role::None);
    }
}

/// How a pool thread of the runtime `handle` reaches runs: as [`Role::PoolThread`], with
/// the runtime current for the thread's whole life, so that `Handle::current()` works in a
/// job and `tempo::spawn` there places the task on the workers. Given to the pools, which
/// sit below the runtime in the reading order (see `blocking/pool.rs`).
pub(crate) fn run_in_runtime(handle: Handle) -> RunInRuntime {
    Arc::new(move |pool_thread: &mut dyn FnMut()| {
        let _guard = PoolThreadGuard::enter(handle.clone());
        pool_thread();
    })
}

/// The runtime made current on a pool thread by [`run_in_runtime`], until dropped.
struct PoolThreadGuard(());

impl PoolThreadGuard {
    /// Belong to `handle`'s runtime, as a pool thread.
    fn enter(handle: Handle) -> PoolThreadGuard {
        ROLE.set(Role::PoolThread);
        CURRENT_RUNTIME.with_borrow_mut(|c| *c = Some(handle));
        PoolThreadGuard(())
    }
}

impl Drop for PoolThreadGuard {
    fn drop(&mut self) {
        CURRENT_RUNTIME.with_borrow_mut(|c| *c = None);
        ROLE.set(Role::None);
    }
}
