//! [`Builder`]: spawning a task with a name — asyncio's `create_task(coro, name=...)`.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use tempo_executor::SpawnMeta;

use super::{JoinHandle, context};
use crate::runtime::placing_handle;

/// Configures a task before spawning it. Today that is its name, which task dumps, the
/// slow-poll warning and the watchdog show (with the spawn location, which every task
/// has).
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let handle = tempo::task::Builder::new()
///         .name("fetch users")
///         .spawn(async { 42 });
///     assert_eq!(handle.await.unwrap(), 42);
/// });
/// ```
#[derive(Clone, Debug, Default)]
#[doc(alias = "create_task")]
pub struct Builder {
    /// The name to give the task.
    name: Option<Arc<str>>,
}

impl Builder {
    /// A builder for an unnamed task.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Name the task — `create_task(coro, name="...")`, `Task.set_name`.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(Arc::from(name));
        self
    }

    #[track_caller]
    fn meta(self) -> SpawnMeta {
        SpawnMeta {
            name: self.name,
            location: Location::caller(),
        }
    }

    /// Spawn the task where [`spawn`](super::spawn) would: on this worker, or, from a thread
    /// with no worker loop of its own, on the runtime's workers, round-robin.
    ///
    /// # Panics
    /// Outside a tempo runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if let Some(handle) = placing_handle() {
            return handle.spawn_meta(future, self.meta());
        }
        self.spawn_local(future)
    }

    /// Spawn a `!Send` task on the current worker, as [`spawn_local`](super::spawn_local)
    /// does.
    ///
    /// # Panics
    /// Outside a tempo runtime.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let meta = self.meta();
        match context::inherited() {
            None => tempo_executor::spawn_with(future, meta),
            Some(cx) => tempo_executor::spawn_with(context::run_in(cx, future), meta),
        }
    }
}
