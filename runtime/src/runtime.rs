//! [`Runtime`], [`Builder`], [`Handle`] and [`run`]: creating a loop and running a future
//! on it.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::pin;
use std::task::Context;

use tempo_executor::{JoinHandle, Spawner, coop};

use crate::worker::Worker;

/// Task polls between two looks at the reactor when tasks are always ready. tokio uses the
/// same default (61: a prime, so it does not fall into step with the application's cycles).
const DEFAULT_EVENT_INTERVAL: usize = 61;

thread_local! {
    /// True while this thread runs a runtime's `block_on`.
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
    /// The handle of that runtime.
    static CURRENT: std::cell::RefCell<Option<Handle>> = const { std::cell::RefCell::new(None) };
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

/// Configures and builds a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    /// See [`Builder::event_interval`].
    event_interval: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default configuration: one worker.
    pub fn new() -> Builder {
        Builder {
            event_interval: DEFAULT_EVENT_INTERVAL,
        }
    }

    /// How many task polls the worker runs before it looks at the reactor again, when tasks
    /// are always ready. Lower is fairer to I/O and timers; higher spends fewer syscalls.
    /// Default 61.
    pub fn event_interval(&mut self, polls: usize) -> &mut Builder {
        self.event_interval = polls.max(1);
        self
    }

    /// Build the runtime.
    pub fn build(&self) -> io::Result<Runtime> {
        let worker = Worker::new(self.event_interval)?;
        let handle = Handle {
            spawner: worker.executor.spawner(),
        };
        Ok(Runtime {
            worker,
            handle,
            _not_send: PhantomData,
        })
    }
}

/// An event loop: one worker, which is the thread that calls [`block_on`](Runtime::block_on).
///
/// A `Runtime` stays on the thread that built it (it is not `Send`), because the tasks it
/// holds may be `!Send` ([`spawn_local`](crate::spawn_local)). Give other threads a
/// [`Handle`] instead. Dropping the runtime cancels every task that is still running — each
/// future is dropped here, so its destructors run — and closes the reactor.
pub struct Runtime {
    /// The one worker.
    worker: Worker,
    /// What other threads use.
    handle: Handle,
    /// Holds the runtime on its thread.
    _not_send: PhantomData<*const ()>,
}

impl Runtime {
    /// A runtime with the default configuration.
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
        let waker = self.worker.executor.main_waker();
        let mut cx = Context::from_waker(&waker);
        self.worker
            .block_on(|| coop::with_budget(|| future.as_mut().poll(&mut cx)))
    }

    /// Spawn a task; it runs while some `block_on` runs the loop.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.worker.executor.spawn(future)
    }

    /// Spawn a task that need not be `Send`.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.worker.executor.spawn(future)
    }

    /// A handle for spawning onto this runtime from other threads.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// How many tasks are alive: spawned and not finished.
    pub fn live_tasks(&self) -> usize {
        self.worker.executor.live_tasks()
    }

    /// Make this runtime current on this thread, for `block_on` and for shutdown.
    fn enter(&self) -> Entered<'_> {
        assert!(
            !IN_RUNTIME.replace(true),
            "tempo: cannot block_on inside a runtime: the thread is already running an event \
             loop, which would wait on itself. Await the future instead, or spawn it."
        );
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.handle.clone()));
        Entered {
            _executor: self.worker.executor.enter(),
            _reactor: self.worker.reactor.borrow().enter(),
            previous,
        }
    }
}

/// The runtime's context on this thread; restored when dropped.
struct Entered<'a> {
    _executor: tempo_executor::executor::Enter<'a>,
    _reactor: tempo_reactor::driver::Enter,
    previous: Option<Handle>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
        IN_RUNTIME.set(false);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Drop every task's future here, with the runtime current, so that their destructors
        // can still deregister sockets and timers (and may even spawn: such tasks are
        // cancelled at once). Then the fields drop: the executor, then the reactor.
        let in_runtime = IN_RUNTIME.get();
        let _enter = (!in_runtime).then(|| self.enter());
        self.worker.executor.shutdown();
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("live_tasks", &self.live_tasks())
            .finish()
    }
}

/// A handle to a runtime: `Send + Sync`, cheap to clone. Spawns `Send` futures onto the
/// runtime from any thread.
#[derive(Clone, Debug)]
pub struct Handle {
    /// Spawns onto the worker.
    spawner: Spawner,
}

impl Handle {
    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside a runtime.
    pub fn current() -> Handle {
        Handle::try_current().expect("tempo::Handle::current called outside a tempo runtime")
    }

    /// The handle of the runtime running on this thread, if any.
    pub fn try_current() -> Option<Handle> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Spawn a task onto the runtime, from any thread. If the runtime has shut down, the
    /// task is dropped and its handle reports it cancelled. Called from inside a task, the
    /// new task inherits that task's [context](crate::task::ContextVar).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        crate::task::spawn_via(&self.spawner, future)
    }
}
