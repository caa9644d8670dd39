//! [`Runtime`], [`Builder`], [`Handle`] and [`run`]: creating a loop and running a future
//! on it.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Context;

use tempo_executor::{JoinHandle, coop};

use crate::diagnostics::Service;
use crate::worker::Worker;

mod builder;
mod handle;
mod threads;

pub use builder::Builder;
pub use handle::Handle;

/// Task polls between two looks at the reactor when tasks are always ready. tokio uses the
/// same default (61: a prime, so it does not fall into step with the application's cycles).
const DEFAULT_EVENT_INTERVAL: usize = 61;

thread_local! {
    /// What this thread is to the runtime it runs, if any.
    static ROLE: Cell<Role> = const { Cell::new(Role::None) };
    /// The handle of that runtime.
    static CURRENT: std::cell::RefCell<Option<Handle>> = const { std::cell::RefCell::new(None) };
}

/// What a thread is to the runtime it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// Runs no runtime.
    None,
    /// Runs worker number `n`: a task spawned here stays here.
    Worker(usize),
    /// Runs the `block_on` of a runtime whose workers are other threads: a task spawned
    /// here is placed on a worker, round-robin.
    Driver,
}

/// The handle to spawn through when this thread is a multi-worker runtime's `block_on`
/// driver (tasks must go to the workers), else `None` (spawn locally).
pub(crate) fn placing_handle() -> Option<Handle> {
    (ROLE.get() == Role::Driver)
        .then(|| CURRENT.with(|c| c.borrow().clone()))
        .flatten()
}

/// Enter `handle`'s runtime on a blocking-pool thread, for the thread's life: spawns from
/// there are placed on the workers, as from a multi-worker `block_on`.
pub(crate) fn enter_pool_thread(handle: Handle) -> PoolEntered {
    ROLE.set(Role::Driver);
    CURRENT.with(|c| *c.borrow_mut() = Some(handle));
    PoolEntered(())
}

/// Leaves the runtime entered by [`enter_pool_thread`].
pub(crate) struct PoolEntered(());

impl Drop for PoolEntered {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
        ROLE.set(Role::None);
    }
}

/// The number of the worker running on this thread, if it is one: `0..workers`.
pub fn current_worker() -> Option<usize> {
    match ROLE.get() {
        Role::Worker(n) => Some(n),
        Role::None | Role::Driver => None,
    }
}

/// Run a future to completion on a new runtime, then shut the runtime down — asyncio's
/// `asyncio.run(main())`.
///
/// ```
/// # use tempo_runtime as tempo;
/// let answer = tempo::run(async {
///     let task = tempo::spawn(async { 6 * 7 });
///     tempo::time::sleep(std::time::Duration::from_millis(1)).await;
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// Tasks still running when the future finishes are cancelled: their futures are dropped.
/// Blocking jobs still running get up to [`Builder::shutdown_timeout`] (10 s) to finish.
///
/// # Panics
/// If the runtime cannot be created (the process is out of file descriptors), or if called
/// from inside a runtime.
#[doc(alias = "asyncio.run")]
pub fn run<F: Future>(future: F) -> F::Output {
    Runtime::new()
        .expect("tempo::run: could not create the runtime")
        .block_on(future)
}

/// An event loop: one worker by default, or several ([`Builder::workers`]).
///
/// With one worker, the worker *is* the thread that calls [`block_on`](Runtime::block_on):
/// tasks run while `block_on` runs, as with tokio's `current_thread` runtime. With `n > 1`,
/// each worker is a thread of its own running a complete loop — executor, reactor, timers —
/// from the moment the runtime is built; `block_on` then drives the given future on the
/// calling thread (with a small loop of its own for the sockets and timers that future uses)
/// and [`spawn`](crate::spawn) from it places tasks on the workers.
///
/// A `Runtime` stays on the thread that built it (it is not `Send`), because the tasks on
/// that thread's loop may be `!Send` ([`spawn_local`](crate::spawn_local)). Give other
/// threads a [`Handle`] instead. Dropping the runtime cancels every task that is still
/// running — each future is dropped on its own worker's thread, so its destructors run
/// there — joins the worker threads and closes the reactors. Then it shuts the blocking and
/// CPU pools: queued jobs are cancelled, and running ones get up to
/// [`Builder::shutdown_timeout`] to finish before their threads are detached.
pub struct Runtime {
    /// The loop `block_on` runs on this thread. With one worker, it is the worker.
    driver: Worker,
    /// With `n > 1` workers, the worker threads.
    threads: Vec<threads::WorkerThread>,
    /// What other threads use.
    handle: Handle,
    /// The diagnostics thread (watchdog, monitor, SIGUSR1), if diagnostics asked for it.
    service: Option<Service>,
    /// Live-task counters of every worker, for `live_tasks`.
    live: Vec<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
    /// Holds the runtime on its thread.
    _not_send: PhantomData<*const ()>,
}

impl Runtime {
    /// A runtime with the default configuration (one worker).
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Run `future` to completion on this thread, running the runtime's tasks, I/O and
    /// timers meanwhile — asyncio's `loop.run_until_complete`.
    ///
    /// # Panics
    /// If this thread is already running a runtime's `block_on`: a loop cannot wait on
    /// itself.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = self.enter();
        let mut future = pin!(future);
        let waker = self.driver.executor.main_waker();
        let mut cx = Context::from_waker(&waker);
        self.driver
            .block_on(|| coop::with_budget(|| future.as_mut().poll(&mut cx)))
    }

    /// Spawn a task. With one worker it runs while some `block_on` runs the loop; with
    /// several, it is placed on a worker round-robin and runs at once.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if self.threads.is_empty() {
            self.driver.executor.spawn(future)
        } else {
            self.handle.spawn(future)
        }
    }

    /// Spawn a task that need not be `Send`, on this thread's loop: it runs while
    /// `block_on` runs.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.driver.executor.spawn(future)
    }

    /// A handle for spawning onto this runtime from other threads.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Where the monitor console listens, if [`Builder::monitor`] asked for one.
    pub fn monitor_addr(&self) -> Option<SocketAddr> {
        self.service.as_ref().and_then(Service::monitor_addr)
    }

    /// How many tasks are alive on all workers: spawned and not finished.
    pub fn live_tasks(&self) -> usize {
        self.live
            .iter()
            .map(|n| n.load(std::sync::atomic::Ordering::Acquire))
            .sum()
    }

    /// Make this runtime current on this thread, for `block_on` and for shutdown.
    fn enter(&self) -> Entered<'_> {
        let role = if self.threads.is_empty() {
            Role::Worker(0)
        } else {
            Role::Driver
        };
        enter(&self.driver, &self.handle, role)
    }
}

/// Make `worker` (of the runtime `handle` reaches) current on this thread, as `role`.
///
/// # Panics
/// If this thread already runs a runtime's loop.
fn enter<'a>(worker: &'a Worker, handle: &Handle, role: Role) -> Entered<'a> {
    assert!(
        ROLE.replace(role) == Role::None,
        "tempo: cannot block_on inside a runtime: the thread is already running an event \
         loop, which would wait on itself. Await the future instead, or spawn it."
    );
    let previous = CURRENT.with(|c| c.borrow_mut().replace(handle.clone()));
    Entered {
        _executor: worker.executor.enter(),
        _reactor: worker.reactor.borrow().enter(),
        previous,
    }
}

/// The runtime's context on this thread; restored when dropped.
struct Entered<'a> {
    _executor: tempo_executor::ExecutorGuard<'a>,
    _reactor: tempo_reactor::ReactorGuard,
    previous: Option<Handle>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        ROLE.set(Role::None);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // 1. This thread's tasks, with the runtime current, so that their destructors can
        //    still deregister sockets and timers (and may even spawn: such tasks are
        //    cancelled at once).
        let enter = (ROLE.get() == Role::None).then(|| self.enter());
        self.driver.executor.shutdown();
        drop(enter);
        // 2. The worker threads: each drops its own tasks on its own thread, then exits.
        for thread in &mut self.threads {
            thread.stop();
        }
        self.threads.clear();
        // 3. The diagnostics thread: it reads the tables the workers have just emptied.
        self.service.take();
        // 4. The pools: queued jobs are cancelled, running ones get `shutdown_timeout` to
        //    finish before their threads are detached (see `blocking`).
        self.handle.blocking.shutdown();
        // Then the fields drop: this thread's executor, then its reactor.
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.handle.workers())
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}
