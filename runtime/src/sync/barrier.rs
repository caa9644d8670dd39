//! [`Barrier`]: `n` tasks wait until all `n` have arrived — asyncio's `Barrier`.
//!
//! The barrier counts the tasks waiting in its [`WaitList`]. The `n`th to arrive does not
//! wait at all: it notifies the `n - 1` queued before it and returns at once as the
//! *leader*. The queue is then empty, so the barrier is ready for the next generation with
//! nothing to reset; waiters of the old generation are notified and out of the queue, and
//! cannot be confused with arrivals for the new one.
//!
//! ```text
//!   n = 3:  A waits [A]   B waits [A B]   C arrives → notify A, B; C returns as leader
//!           queue empty: the next three to call wait() form generation 2
//! ```
//!
//! **Cancellation.** A waiter dropped before the barrier trips leaves the queue, and so no
//! longer counts: the barrier still needs `n` live arrivals. One dropped after the barrier
//! tripped (notified but not yet polled) changes nothing — the others were released
//! together with it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::waitlist::{Progress, WaitList};

/// A meeting point for a fixed number of tasks, reusable round after round.
///
/// Mirrors asyncio's `Barrier(parties)`: `wait` returns once `parties` tasks are waiting.
/// Differs in that `wait` returns a [`BarrierWaitResult`] marking one *leader* (the last to
/// arrive) rather than an arrival index, in that there is no `abort`/`reset`/broken state —
/// a cancelled waiter simply stops counting — and in that it works between threads. Names
/// follow tokio's `Barrier`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::Barrier;
///
/// tempo::run(async {
///     let barrier = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             tempo::spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += task.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
#[doc(alias = "asyncio.Barrier")]
pub struct Barrier {
    /// How many tasks make a generation; at least 1.
    parties: usize,
    /// Tasks waiting in the current generation; held for a few instructions, never across a
    /// wake.
    waiters: std::sync::Mutex<WaitList<()>>,
}

/// What [`Barrier::wait`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    /// True for exactly one task per generation: the one whose arrival tripped it.
    is_leader: bool,
}

impl BarrierWaitResult {
    /// True for exactly one task of each generation: the last to arrive.
    pub fn is_leader(&self) -> bool {
        self.is_leader
    }
}

impl Barrier {
    /// A barrier for `parties` tasks. `Barrier::new(0)` behaves as `Barrier::new(1)`: every
    /// `wait` returns at once, as leader. Allocates nothing.
    pub const fn new(parties: usize) -> Barrier {
        Barrier {
            parties: if parties == 0 { 1 } else { parties },
            waiters: std::sync::Mutex::new(WaitList::new()),
        }
    }

    /// Wait until `parties` tasks are waiting, then return — all of them together.
    ///
    /// A task counts from its first poll of this future; dropping the future before the
    /// barrier trips takes it out of the count again (see the module docs).
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            progress: Progress::Idle,
        }
    }

    /// How many tasks each generation needs — asyncio's `barrier.parties`.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks are waiting in the current generation — asyncio's
    /// `barrier.n_waiting`.
    pub fn n_waiting(&self) -> usize {
        self.waiters().len()
    }

    /// Lock the queue. A poisoned queue is still consistent (see `Mutex::state`).
    fn waiters(&self) -> std::sync::MutexGuard<'_, WaitList<()>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .finish()
    }
}

/// The future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct BarrierWait<'a> {
    /// The barrier waited at.
    barrier: &'a Barrier,
    /// Arrived or not, and under which key.
    progress: Progress,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = &mut *self;
        match this.progress {
            Progress::Idle => {
                ready!(coop::poll_proceed(cx));
                let mut waiters = this.barrier.waiters();
                if waiters.len() + 1 < this.barrier.parties {
                    this.progress = Progress::Waiting(waiters.push_back((), cx.waker()));
                    return Poll::Pending;
                }
                // We complete the generation: release the others and lead.
                let mut wakers = Vec::new();
                waiters.notify_all(&mut wakers);
                drop(waiters);
                this.progress = Progress::Done;
                wakers.into_iter().for_each(Waker::wake);
                Poll::Ready(BarrierWaitResult { is_leader: true })
            }
            Progress::Waiting(key) => {
                let mut waiters = this.barrier.waiters();
                if !waiters.is_notified(key) {
                    waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                waiters.remove(key);
                this.progress = Progress::Done;
                Poll::Ready(BarrierWaitResult { is_leader: false })
            }
            Progress::Done => panic!("a Barrier::wait() future was polled after it completed"),
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Progress::Waiting(key) = self.progress {
            // Not yet tripped: we stop counting. Tripped: the others are released already.
            self.barrier.waiters().remove(key);
        }
    }
}
