//! The process-wide table that lets a waker on any thread reach its worker.
//!
//! A waker carries only a worker index (see `wake_ref.rs`). On the worker's own
//! thread that index matches the thread-local current worker and the wake is a push onto
//! the run queue. From any other thread — a blocking-pool thread, another worker, a plain
//! `std::thread` — the index is looked up here, and the wake becomes a message on the
//! worker's crossbeam channel followed by an *unpark* that interrupts the worker's sleep.
//!
//! A burst of remote wakes costs one unpark, not one each: the `notified` flag is set by
//! the first sender and cleared by the worker just before it drains the channel.
//!
//! Entries are reused by later workers (a test suite creates thousands of runtimes). A stale
//! waker from a worker that is gone may therefore reach a new worker at the same index; the
//! entry's generation counter carries over from one occupant to the next, so the new
//! worker's tasks never share a generation with the old worker's, and the stale wake finds
//! no matching task.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use crossbeam_channel::{Receiver, Sender};

use crate::observe::{SpawnMeta, TaskEvent, TaskObserver};
use crate::task::TaskId;
use crate::task::raw::RawTask;
use crate::wake_ref::{MAX_WORKERS, WakeRef};

/// What other threads send a worker.
pub(crate) enum Message {
    /// Schedule this task if it is still the one in that slot. An abort from another
    /// thread is this too: the task's cancel flag is already set, and its next run sees it.
    Wake(TaskId),
    /// Adopt this task: it was spawned from another thread, from there.
    Spawn(Unbound, SpawnMeta),
}

/// A task on its way to its worker, holding the executor's reference. If it never arrives —
/// the worker shut down and the message is dropped — it is cancelled where it is dropped.
pub(crate) struct Unbound(pub(crate) RawTask);

// SAFETY: rule 3a in `task`: an Unbound task is only created by `Spawner::spawn`, which
// requires `F: Send`, and it has never been polled; so its future may be dropped on
// whichever thread drops the message.
unsafe impl Send for Unbound {}

impl Unbound {
    /// Hand the task over to the worker that received it.
    pub(crate) fn into_raw(self) -> RawTask {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        // SAFETY: rule 3a: we hold the executor's reference to a task that was never polled
        // and whose future is Send, so this thread is its owner and may cancel it here;
        // `complete` consumes the reference (rule 2).
        unsafe {
            self.0.cancel();
            self.0.complete();
        }
    }
}

/// The part of a worker that other threads may touch.
pub(crate) struct Remote {
    /// Messages to the worker.
    tx: Sender<Message>,
    /// Set by a sender that has unparked the worker; cleared by the worker before it drains.
    notified: AtomicBool,
    /// Interrupts the worker's sleep (tempo's runtime passes a `mio::Waker`).
    unpark: Box<dyn Fn() + Send + Sync>,
    /// The worker's task observer, if one is installed (`observe.rs`). Here, in the half
    /// other threads share, because an abort from another thread announces itself.
    pub(crate) observer: OnceLock<Arc<dyn TaskObserver>>,
}

impl Remote {
    pub(crate) fn new(unpark: Box<dyn Fn() + Send + Sync>) -> (Arc<Remote>, Receiver<Message>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let remote = Remote {
            tx,
            notified: AtomicBool::new(false),
            unpark,
            observer: OnceLock::new(),
        };
        (Arc::new(remote), rx)
    }

    /// Send a message and make sure the worker will look at its channel.
    pub(crate) fn send(&self, msg: Message) -> Result<(), Message> {
        self.tx.send(msg).map_err(|e| e.0)?;
        // Always the read-modify-write, never a plain load first: a load could read a stale
        // `true` while the worker's `take_notified` clears the flag and drains a channel that
        // does not yet show our message (the store-buffering pattern), stranding it. A swap
        // reads the latest value: either it sees the worker's clear and we unpark, or the
        // worker's clear comes after it and the worker's drain sees our message.
        if !self.notified.swap(true, Ordering::AcqRel) {
            (self.unpark)();
        }
        Ok(())
    }

    /// Worker: true if someone has sent since the last call. Clears the flag, so a message
    /// sent after this call unparks the worker again.
    ///
    /// The plain load first is safe on this side: if it reads `false` while a sender has just
    /// swapped in `true`, that sender saw `false` and has unparked us, and the unpark
    /// (`mio::Waker`'s write, `Thread::unpark`) synchronises with our wait returning, after
    /// which the next load sees `true`.
    pub(crate) fn take_notified(&self) -> bool {
        self.notified.load(Ordering::Acquire) && self.notified.swap(false, Ordering::AcqRel)
    }
}

/// One row of the table.
struct Entry {
    /// The worker at this index, while it lives.
    remote: RwLock<Option<Arc<Remote>>>,
    /// The next task generation for whoever occupies this index (see the module doc).
    next_generation: AtomicU32,
}

#[allow(clippy::declare_interior_mutable_const)] // each array element is its own Entry
const EMPTY: Entry = Entry {
    remote: RwLock::new(None),
    next_generation: AtomicU32::new(0),
};

static ENTRIES: [Entry; MAX_WORKERS] = [EMPTY; MAX_WORKERS];

/// Claim a free index for a new worker. Returns the index and the first task generation.
///
/// # Panics
/// If [`MAX_WORKERS`] workers already exist in this process.
pub(crate) fn register(remote: Arc<Remote>) -> (usize, u32) {
    for (index, entry) in ENTRIES.iter().enumerate() {
        let mut slot = entry.remote.write().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(remote);
            return (index, entry.next_generation.load(Ordering::Relaxed));
        }
    }
    panic!("tempo: more than {MAX_WORKERS} workers alive in one process");
}

/// Release a worker's index, remembering where its generations stopped.
pub(crate) fn unregister(index: usize, next_generation: u32) {
    let entry = &ENTRIES[index];
    entry
        .next_generation
        .store(next_generation, Ordering::Relaxed);
    *entry.remote.write().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Wake a task that belongs to a worker on another thread.
pub(crate) fn wake_remote(r: WakeRef) {
    with_remote(r.worker, |remote| {
        // A send fails only if the worker is shutting down; then there is nobody to wake.
        let _ = remote.send(Message::Wake(r.task));
    });
}

/// Tell the observer of a worker on another thread (if it has one) that one of its tasks
/// took a step — an abort's cause, announced from the aborting thread.
pub(crate) fn announce_remote(r: WakeRef, event: TaskEvent<'_>) {
    with_remote(r.worker, |remote| {
        if let Some(observer) = remote.observer.get() {
            observer.on_event(r.task, event);
        }
    });
}

/// Call `f` with the worker at `index`, if there is one.
fn with_remote(index: usize, f: impl FnOnce(&Remote)) {
    let entry = ENTRIES[index]
        .remote
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(remote) = entry.as_ref() {
        f(remote);
    }
}
