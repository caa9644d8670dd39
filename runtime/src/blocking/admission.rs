//! The door of a pool's queue: how `spawn_blocking` waits, asynchronously, while a bounded
//! queue is full, and the [`QueueSlot`] a producer loop awaits to be slowed to the queue's
//! pace.
//!
//! A bounded queue is a [`Semaphore`] with `limit` permits in front of the pool. A job
//! holds one permit from the moment it is admitted until a pool thread takes it off the
//! channel (`pool::Job::slot`), so the channel — matched and queued jobs together — never
//! holds more than `limit` jobs. The semaphore is strictly first come, first served, so
//! jobs are admitted in the order they were spawned, whichever of the two doors below they
//! came through.
//!
//! ```text
//!  spawn_blocking(f) ──try_acquire──▶ permit? ──yes──▶ pool.submit ──▶ channel ──▶ thread
//!         │                              │no                              (≤ limit jobs)
//!         └──▶ JoinHandle                └──▶ admission task: acquire().await ──▶ submit
//!
//!  blocking_slot().await ──acquire──▶ QueueSlot ──spawn(f)──▶ pool.submit (at once)
//! ```

use std::future::Future;
use std::sync::Arc;

use tempo_executor::{BlockingTask, JoinHandle, Spawner};

use super::pool::{Job, Pool};
use crate::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// A pool and the semaphore that bounds its queue.
#[derive(Clone, Debug)]
pub(crate) struct Gated {
    /// Where admitted jobs go.
    pool: Pool,
    /// One permit per place in the queue; `None` for an unbounded queue. Closed at
    /// shutdown, which fails every waiting admission (its job is cancelled).
    slots: Option<Arc<Semaphore>>,
}

impl Gated {
    /// `pool` behind a queue of at most `queue_limit` jobs (at least 1), or unbounded.
    pub(crate) fn new(pool: Pool, queue_limit: Option<usize>) -> Gated {
        Gated {
            pool,
            slots: queue_limit.map(|limit| Arc::new(Semaphore::new(limit.max(1)))),
        }
    }

    /// Spawn `f` on the pool. With an unbounded queue, or a free place in a bounded one,
    /// the job is submitted now. Otherwise it waits for a place in an *admission task* on
    /// `spawner`'s worker — the one place where a full queue still costs memory: the
    /// closure and one task per waiting job, counted in [`PoolStats::waiting`].
    ///
    /// [`PoolStats::waiting`]: super::PoolStats::waiting
    pub(crate) fn spawn<F, R>(&self, spawner: &Spawner, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (task, handle) = BlockingTask::new(f);
        let Some(slots) = &self.slots else {
            self.pool.submit(Job { task, slot: None });
            return handle;
        };
        match slots.clone().try_acquire_owned() {
            Ok(permit) => self.pool.submit(Job {
                task,
                slot: Some(permit),
            }),
            // Shut down: the job is cancelled here, its handle reports it.
            Err(TryAcquireError::Closed) => drop(task),
            Err(TryAcquireError::NoPermits) => {
                let waiting = self.pool.waiting_guard();
                let pool = self.pool.clone();
                let slots = slots.clone();
                // Detached: the job's own JoinHandle is what the caller awaits. If the
                // runtime shuts down first, this future is dropped with the task in it,
                // and the job is cancelled.
                drop(spawner.spawn(async move {
                    let permit = slots.acquire_owned().await;
                    drop(waiting);
                    match permit {
                        // Aborted while it waited: cancel it now, rather than spend a
                        // place in the queue on it.
                        Ok(_) if task.is_cancelled() => drop(task),
                        Ok(permit) => pool.submit(Job {
                            task,
                            slot: Some(permit),
                        }),
                        Err(_closed) => drop(task),
                    }
                }));
            }
        }
        handle
    }

    /// Wait for a place in the queue; see [`QueueSlot`]. Resolves at once for an
    /// unbounded queue, and after shutdown (the slot's job is then cancelled).
    pub(crate) fn slot(&self) -> impl Future<Output = QueueSlot> + Send + use<> {
        let pool = self.pool.clone();
        let slots = self.slots.clone();
        async move {
            let permit = match slots {
                Some(slots) => slots.acquire_owned().await.ok(),
                None => None,
            };
            QueueSlot { pool, permit }
        }
    }

    /// Shut the door: waiting admissions fail and their jobs are cancelled; later ones
    /// fail at once.
    pub(crate) fn close(&self) {
        if let Some(slots) = &self.slots {
            slots.close();
        }
    }

    /// The pool behind the door.
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// A place reserved in a pool's queue: [`spawn`](QueueSlot::spawn) submits a job into it
/// at once. From [`blocking_slot`](crate::task::blocking_slot) and
/// [`cpu_slot`](crate::task::cpu_slot).
///
/// This is the backpressure half of a bounded queue ([`Builder::blocking_queue_limit`]):
/// a producer that awaits a slot before each job is held at the queue's pace, and nothing
/// piles up anywhere. Dropping the slot unused gives the place back. While held, it counts
/// against the limit like a queued job.
///
/// Mirrors the `await queue.put(item)` of asyncio's bounded `Queue` in a producer loop;
/// asyncio's executors have no bound (their `submit` never waits).
///
/// ```
/// # use tempo_runtime as tempo;
/// let rt = tempo::Builder::new()
///     .max_blocking_threads(2)
///     .blocking_queue_limit(4)
///     .build()
///     .unwrap();
/// let total = rt.block_on(async {
///     let mut jobs = Vec::new();
///     for i in 0..100u64 {
///         // Waits here while 4 jobs are queued: the loop runs at the pool's pace.
///         let slot = tempo::task::blocking_slot().await;
///         jobs.push(slot.spawn(move || i * i));
///     }
///     let mut total = 0;
///     for job in jobs {
///         total += job.await.unwrap();
///     }
///     total
/// });
/// assert_eq!(total, (0..100u64).map(|i| i * i).sum::<u64>());
/// ```
///
/// [`Builder::blocking_queue_limit`]: crate::Builder::blocking_queue_limit
#[must_use = "a slot holds a place in the queue until it is used or dropped"]
#[derive(Debug)]
pub struct QueueSlot {
    /// The pool the place is in.
    pool: Pool,
    /// The place; `None` if the queue is unbounded or the pool shut down.
    permit: Option<OwnedSemaphorePermit>,
}

impl QueueSlot {
    /// Submit `f` into the reserved place — no waiting — and return its handle. If the
    /// runtime shut down meanwhile, the handle reports `Cancelled`.
    pub fn spawn<F, R>(self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (task, handle) = BlockingTask::new(f);
        self.pool.submit(Job {
            task,
            slot: self.permit,
        });
        handle
    }
}
