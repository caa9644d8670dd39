//! [`JoinSet`]: a set of spawned tasks whose outputs are collected as they finish.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

use super::{AbortHandle, JoinError, JoinHandle};

/// A set of spawned tasks, joined in the order they finish — asyncio's
/// `asyncio.wait(tasks)` / `as_completed(tasks)` over tasks you own.
///
/// [`join_next`](JoinSet::join_next) returns the output of whichever task finishes next.
/// Dropping the set aborts every task still in it, so the tasks cannot outlive the code
/// that owns the set (use [`detach_all`](JoinSet::detach_all) to let them go on).
///
/// It does not poll every task each time one finishes: each task's JoinHandle gets its own
/// waker that records *which* task woke, so `join_next` looks only at those. That waker is
/// the one allocation the set adds per task.
#[doc(alias = "asyncio.wait")]
pub struct JoinSet<T> {
    /// The tasks, each with the waker that reports it by key.
    entries: Slab<Entry<T>>,
    /// Keys of tasks whose JoinHandle may be ready, shared with the entry wakers.
    woken: Arc<Woken>,
    /// Keys taken from `woken` but not yet polled (kept across calls to `join_next`).
    pending: VecDeque<usize>,
}

/// One task of the set.
struct Entry<T> {
    /// Awaits the task's output.
    handle: JoinHandle<T>,
    /// Reports this entry's key to `Woken` when the task finishes.
    waker: Waker,
}

/// The keys of woken entries, and who awaits `join_next`.
#[derive(Default)]
struct Woken {
    inner: Mutex<WokenInner>,
}

#[derive(Default)]
struct WokenInner {
    /// Entry keys to poll (possibly repeated; repeats are harmless).
    keys: Vec<usize>,
    /// The task awaiting `join_next`.
    waiter: Option<Waker>,
}

/// The waker handed to one entry's JoinHandle.
struct EntryWaker {
    key: usize,
    woken: Arc<Woken>,
}

impl Wake for EntryWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waiter = {
            let mut inner = self
                .woken
                .inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            inner.keys.push(self.key);
            inner.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            entries: Slab::new(),
            woken: Arc::default(),
            pending: VecDeque::new(),
        }
    }

    /// How many tasks are in the set (finished ones stay until `join_next` returns them).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Add an already spawned task. Returns a handle that can abort it.
    pub fn insert(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        let entry = self.entries.vacant_entry();
        let key = entry.key();
        let waker = Waker::from(Arc::new(EntryWaker {
            key,
            woken: self.woken.clone(),
        }));
        entry.insert(Entry { handle, waker });
        // Poll it once, so its JoinHandle learns its waker.
        self.pending.push_back(key);
        abort
    }

    /// Wait for the next task to finish and return its output; `None` once the set is
    /// empty. A cancelled or panicked task gives `Some(Err(..))`.
    ///
    /// Cancellation safe: if the returned future is dropped, no output is lost — the task
    /// stays in the set.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// Poll for the next finished task.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        loop {
            if self.entries.is_empty() {
                return Poll::Ready(None);
            }
            // Each JoinHandle poll spends budget; once it is gone, a handle refuses with
            // Pending (waking its entry), and looping on would spin. Yield instead.
            if !tempo_executor::coop::has_budget_remaining() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if let Some(key) = self.pending.pop_front() {
                let Some(entry) = self.entries.get_mut(key) else {
                    continue; // already joined; a late wake
                };
                let mut entry_cx = Context::from_waker(&entry.waker);
                if let Poll::Ready(output) = Pin::new(&mut entry.handle).poll(&mut entry_cx) {
                    self.entries.remove(key);
                    return Poll::Ready(Some(output));
                }
                continue;
            }
            let mut inner = self
                .woken
                .inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if inner.keys.is_empty() {
                match &inner.waiter {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => inner.waiter = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            self.pending.extend(inner.keys.drain(..));
        }
    }

    /// The output of a task that has already finished, if any — without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        let mut cx = Context::from_waker(Waker::noop());
        match self.poll_join_next(&mut cx) {
            Poll::Ready(output) => output,
            Poll::Pending => None,
        }
    }

    /// Wait for every task and return their outputs in completion order.
    pub async fn join_all(mut self) -> Vec<Result<T, JoinError>> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(output) = self.join_next().await {
            outputs.push(output);
        }
        outputs
    }

    /// Abort every task in the set. They stay in the set until joined (each then gives
    /// `Err(JoinError::is_cancelled())`, unless it finished first).
    #[track_caller]
    pub fn abort_all(&mut self) {
        for (_, entry) in self.entries.iter() {
            entry.handle.abort_because("JoinSet::abort_all");
        }
    }

    /// Abort every task and wait until all have stopped.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Remove every task from the set without aborting it: they keep running, detached.
    pub fn detach_all(&mut self) {
        self.entries.clear();
        self.pending.clear();
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawn a task into the set (on the current worker; it inherits this task's context).
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert(super::spawn(future))
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawn a `!Send` task into the set, on the current worker.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.insert(super::spawn_local(future))
    }
}

/// Collects already spawned tasks into a set: `handles.into_iter().collect::<JoinSet<_>>()`.
impl<T> FromIterator<JoinHandle<T>> for JoinSet<T> {
    fn from_iter<I: IntoIterator<Item = JoinHandle<T>>>(handles: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        for handle in handles {
            set.insert(handle);
        }
        set
    }
}

impl<T> Drop for JoinSet<T> {
    /// Tasks still in the set are aborted: they cannot outlive it.
    fn drop(&mut self) {
        for (_, entry) in self.entries.iter() {
            entry.handle.abort_because("its JoinSet was dropped");
        }
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}
