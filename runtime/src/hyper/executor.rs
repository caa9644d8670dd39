//! [`TempoExecutor`]: hyper's `rt::Executor`, which runs the futures hyper spawns as tempo
//! tasks — what hyper-util calls `TokioExecutor`.
//!
//! HTTP/1 needs no executor: a connection is one future, which the caller polls (or
//! spawns). HTTP/2 multiplexes many streams over one connection and drives each as a
//! background future of its own, and so does a pooled client's connection; hyper hands
//! those futures to an `Executor`, as asyncio code hands coroutines to `create_task`. Here
//! each becomes a task on the current worker ([`spawn`](crate::spawn)), next to the
//! connection that spawned it.

use std::future::Future;

/// Spawns hyper's background futures with [`spawn`](crate::spawn), detached: hyper
/// keeps no `JoinHandle`, and a future it spawns ends on its own when its connection does.
///
/// ```
/// use hyper::rt::Executor;
/// use tempo_runtime::hyper::TempoExecutor;
///
/// tempo_runtime::run(async {
///     let (tx, rx) = tempo_runtime::sync::oneshot::channel();
///     // What hyper does with a stream of an HTTP/2 connection.
///     TempoExecutor::new().execute(async move {
///         tx.send("ran as a tempo task").unwrap();
///     });
///     assert_eq!(rx.await.unwrap(), "ran as a tempo task");
/// });
/// ```
///
/// # Panics
/// `execute` panics outside a tempo runtime, as [`spawn`](crate::spawn) does; hyper calls it
/// from the connection's own poll, which runs on one.
#[derive(Clone, Copy, Debug, Default)]
pub struct TempoExecutor {
    /// Nothing: the runtime to spawn on is the one whose thread calls `execute`.
    _private: (),
}

impl TempoExecutor {
    /// An executor for hyper's builders (`http2::Builder::new(TempoExecutor::new())`).
    ///
    /// ```
    /// let executor = tempo_runtime::hyper::TempoExecutor::new();
    /// # let _ = executor;
    /// ```
    pub fn new() -> TempoExecutor {
        TempoExecutor { _private: () }
    }
}

impl<F> ::hyper::rt::Executor<F> for TempoExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        // Dropping the handle detaches the task; it runs to its end.
        drop(crate::spawn(future));
    }
}
