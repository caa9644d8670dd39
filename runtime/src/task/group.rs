//! [`TaskGroup`]: structured concurrency — asyncio's `asyncio.TaskGroup`.
//!
//! ```text
//!   group.spawn(a) ─┐
//!   group.spawn(b) ─┼─► children run concurrently
//!   group.spawn(c) ─┘        │
//!                            ├─ all succeed ───────────► join() → Ok(())
//!                            └─ b fails (Err or panic) ─► a and c are aborted at once;
//!                                                         join() waits for them to stop,
//!                                                         then → Err(b's failure)
//!   group dropped / cancel() ──► every child aborted
//! ```
//!
//! As in asyncio, the first failure wins and cancels the rest, and the group's `join` does
//! not return while any child is still running. Two differences:
//!
//! - asyncio raises an `ExceptionGroup` of every failure; tempo returns the first and drops
//!   the rest (the siblings' failures are almost always the cancellation itself).
//! - asyncio also cancels the body of the `async with` block; tempo cannot reach into the
//!   code that owns the group, which finds out when it calls [`TaskGroup::join`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::{AbortHandle, JoinError, JoinHandle};

/// A group of tasks that succeed together or fail together — asyncio's `TaskGroup`.
///
/// Children return `Result<T, E>`. The first child to return `Err` or panic aborts all the
/// others, and [`join`](TaskGroup::join) — which waits for every child — reports that first
/// failure. Dropping the group (or [`cancel`](TaskGroup::cancel)) aborts every child, so no
/// child outlives the group unnoticed.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::task::{TaskGroup, TaskGroupError};
///
/// tempo::run(async {
///     let mut group = TaskGroup::new();
///     let a = group.spawn(async { Ok::<_, String>(1) });
///     let b = group.spawn(async { Err::<u32, _>("b failed".to_string()) });
///     let never = group.spawn(std::future::pending::<Result<u32, String>>());
///     match group.join().await {
///         Err(TaskGroupError::Failed(e)) => assert_eq!(e, "b failed"),
///         other => panic!("{other:?}"),
///     }
///     assert_eq!(never.await, None); // aborted by b's failure
///     let _ = (a, b);
/// });
/// ```
#[doc(alias = "asyncio.TaskGroup")]
pub struct TaskGroup<E> {
    /// Shared with every child's wrapper.
    shared: Arc<Shared<E>>,
}

/// What the group and its children share.
struct Shared<E> {
    state: Mutex<State<E>>,
}

struct State<E> {
    /// Children that have not finished (successfully, with a failure, or cancelled).
    running: usize,
    /// The first failure, if any.
    failure: Option<TaskGroupError<E>>,
    /// True once the group has been cancelled or a child has failed: no new children start.
    cancelled: bool,
    /// Abort handles of the children, to cancel them all at once.
    children: Vec<AbortHandle>,
    /// The task awaiting `join`.
    joiner: Option<Waker>,
}

/// How a task group failed: the first child's error, or its panic.
pub enum TaskGroupError<E> {
    /// A child returned `Err(e)`.
    Failed(E),
    /// A child panicked.
    Panicked(JoinError),
}

/// A child of a [`TaskGroup`]. Await it (after the group's `join`, or at any time) for the
/// child's value: `Some(v)` if it succeeded, `None` if it failed, panicked or was cancelled
/// — the group's `join` says which failure came first.
pub struct GroupTask<T> {
    handle: JoinHandle<Option<T>>,
}

impl<E> Default for TaskGroup<E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<E> Shared<E> {
    fn lock(&self) -> MutexGuard<'_, State<E>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record a failure (only the first is kept) and abort every child.
    fn fail(&self, failure: TaskGroupError<E>) {
        let children = {
            let mut state = self.lock();
            if state.failure.is_none() {
                state.failure = Some(failure);
            }
            state.cancelled = true;
            std::mem::take(&mut state.children)
        };
        for child in children {
            child.abort_because("a sibling in its TaskGroup failed");
        }
    }

    /// A child has stopped, however it stopped.
    fn child_done(&self) {
        let joiner = {
            let mut state = self.lock();
            state.running -= 1;
            if state.running == 0 {
                state.joiner.take()
            } else {
                None
            }
        };
        if let Some(joiner) = joiner {
            joiner.wake();
        }
    }
}

impl<E> TaskGroup<E> {
    /// An empty group.
    pub fn new() -> TaskGroup<E> {
        TaskGroup {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    running: 0,
                    failure: None,
                    cancelled: false,
                    children: Vec::new(),
                    joiner: None,
                }),
            }),
        }
    }

    /// Abort every child — cancelling the group. Children spawned afterwards are aborted at
    /// once. `join` then returns `Ok(())` unless a child had already failed.
    #[track_caller]
    pub fn cancel(&self) {
        self.cancel_because("TaskGroup::cancel");
    }

    #[track_caller]
    fn cancel_because(&self, reason: &'static str) {
        let children = {
            let mut state = self.shared.lock();
            state.cancelled = true;
            std::mem::take(&mut state.children)
        };
        for child in children {
            child.abort_because(reason);
        }
    }

    /// How many children have not finished.
    pub fn running(&self) -> usize {
        self.shared.lock().running
    }

    /// Wait until every child has finished. Returns the first failure, if any child failed.
    ///
    /// Cancellation safe: dropping the returned future leaves the group as it was.
    pub async fn join(&mut self) -> Result<(), TaskGroupError<E>> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.running > 0 {
                state.joiner = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(match state.failure.take() {
                Some(failure) => Err(failure),
                None => Ok(()),
            })
        })
        .await
    }

    /// Register a spawned child and arrange for it to be aborted with the group.
    fn adopt<T>(&self, handle: JoinHandle<Option<T>>) -> GroupTask<T> {
        let abort = handle.abort_handle();
        let cancelled = {
            let mut state = self.shared.lock();
            if !state.cancelled {
                state.children.retain(|c| !c.is_finished());
                state.children.push(abort.clone());
            }
            state.cancelled
        };
        if cancelled {
            abort.abort_because("spawned into a cancelled TaskGroup");
        }
        GroupTask { handle }
    }

    /// Wrap a child so that it reports its failure (error or panic) to the group, and its
    /// end — however it ends, cancellation included — to `join`.
    fn wrap<T, F>(&self, future: F) -> impl Future<Output = Option<T>> + use<T, F, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        /// Runs when the child stops for any reason, abort included.
        struct Done<E>(Arc<Shared<E>>);
        impl<E> Drop for Done<E> {
            fn drop(&mut self) {
                self.0.child_done();
            }
        }

        self.shared.lock().running += 1;
        let done = Done(self.shared.clone());
        async move {
            let done = done;
            let mut future = pin!(future);
            // Catch a panic here, not in the executor, so the group learns of it at once.
            let outcome =
                poll_fn(
                    |cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                        Ok(Poll::Pending) => Poll::Pending,
                        Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
                        Err(payload) => Poll::Ready(Err(payload)),
                    },
                )
                .await;
            match outcome {
                Ok(Ok(value)) => Some(value),
                Ok(Err(e)) => {
                    done.0.fail(TaskGroupError::Failed(e));
                    None
                }
                Err(payload) => {
                    done.0
                        .fail(TaskGroupError::Panicked(JoinError::from_panic(payload)));
                    None
                }
            }
        }
    }
}

impl<E: Send + 'static> TaskGroup<E> {
    /// Spawn a child into the group — `tg.create_task(coro)`. It runs on the current worker
    /// and inherits this task's context.
    ///
    /// # Panics
    /// Outside a tempo runtime.
    #[track_caller]
    pub fn spawn<T, F>(&self, future: F) -> GroupTask<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.adopt(super::spawn(self.wrap(future)))
    }

    /// Spawn a named child into the group — `tg.create_task(coro, name="...")`. The name is
    /// what debug mode's warnings, task dumps, the monitor's `ps` and a trace call the
    /// child, instead of its spawn location. Placed as [`spawn`](TaskGroup::spawn) places.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// let rt = tempo::Builder::new().diagnostics(true).build()?;
    /// rt.block_on(async {
    ///     let mut group = tempo::task::TaskGroup::<std::io::Error>::new();
    ///     group.spawn_named("fetch /index", async {
    ///         let dump = tempo::Handle::current().dump();
    ///         assert!(dump.task_named("fetch /index").is_some());
    ///         Ok(())
    ///     });
    ///     assert!(group.join().await.is_ok());
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// Outside a tempo runtime.
    #[track_caller]
    pub fn spawn_named<T, F>(&self, name: &str, future: F) -> GroupTask<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.adopt(super::Builder::new().name(name).spawn(self.wrap(future)))
    }
}

impl<E: 'static> TaskGroup<E> {
    /// Spawn a `!Send` child into the group, on the current worker.
    #[track_caller]
    pub fn spawn_local<T, F>(&self, future: F) -> GroupTask<T>
    where
        T: 'static,
        F: Future<Output = Result<T, E>> + 'static,
    {
        self.adopt(super::spawn_local(self.wrap(future)))
    }
}

impl<E> Drop for TaskGroup<E> {
    /// Children still running are aborted: none outlives the group.
    fn drop(&mut self) {
        self.cancel_because("its TaskGroup was dropped");
    }
}

impl<T> Future for GroupTask<T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.handle)
            .poll(cx)
            .map(|r| r.ok().flatten())
    }
}

impl<T> GroupTask<T> {
    /// True once the child has stopped.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Abort this child alone. This is not a failure of the group.
    pub fn abort(&self) {
        self.handle.abort();
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskGroupError::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            TaskGroupError::Panicked(e) => f.debug_tuple("Panicked").field(e).finish(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskGroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskGroupError::Failed(e) => write!(f, "a task in the group failed: {e}"),
            // Not `{e}`: the JoinError's own text starts "task panicked", which after our
            // prefix read "a task in the group task panicked".
            TaskGroupError::Panicked(e) => match e.panic_message() {
                Some(message) => write!(f, "a task in the group panicked: {message}"),
                None => f.write_str("a task in the group panicked"),
            },
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskGroupError<E> {}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("running", &self.running())
            .finish()
    }
}

impl<T> fmt::Debug for GroupTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("finished", &self.is_finished())
            .finish()
    }
}
