//! [`Pool`]: threads that take [`BlockingTask`]s off a crossbeam channel and run them.
//!
//! One `Pool` is the elastic blocking pool; another, with no keep-alive, is the fixed CPU
//! pool. The grow/shrink policy is written down in the [module doc](super), and its rules
//! are the transitions of [`Counts`] (`counts.rs`); this file applies them: it sends jobs,
//! starts threads, and is each pool thread's loop.
//!
//! ```text
//!  submit(job) ── lock: send into the channel; Counts::job_arrives ──► start a thread?
//!  pool thread: recv ─► run the job ─► lock: Counts::job_finished ─► recv ...
//!               recv times out ─► lock: Counts::wait_timed_out ─► exit, or wait again
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use tempo_executor::BlockingTask;

use super::counts::{AfterTimeout, Arrival, Counts};
use super::stats::PoolStats;
use crate::sync::OwnedSemaphorePermit;

/// A job on its way to a pool thread.
pub(crate) struct Job {
    /// The closure, as a task whose JoinHandle someone may be awaiting.
    pub(crate) task: BlockingTask,
    /// The job's place in a bounded queue (`None` when the queue is unbounded). Dropped the
    /// moment a thread takes the job off the channel: the job has left the queue.
    pub(crate) slot: Option<OwnedSemaphorePermit>,
}

/// How a pool thread runs inside its runtime. Called once, at the start of each pool
/// thread, with the thread's whole loop: it makes the runtime current on the thread (so
/// that `Handle::current()` and `tempo::spawn` work inside a job), runs the loop, and leaves
/// the runtime when the loop returns. The runtime supplies it (`runtime/current.rs`, from
/// `runtime/runtime.rs`); the pools sit below the runtime in the crate's reading order and
/// know it only as this callback. Called once per thread, never per job.
pub(crate) type RunInRuntime = Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

/// What kind of pool, and so what its threads are called and whether they time out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The elastic pool behind `spawn_blocking`.
    Blocking,
    /// The fixed pool behind `spawn_cpu`.
    Cpu,
}

impl Kind {
    /// The prefix of the pool's thread names, as `top` and debuggers show them.
    fn thread_name(self) -> &'static str {
        match self {
            Kind::Blocking => "tempo-blocking",
            Kind::Cpu => "tempo-cpu",
        }
    }
}

/// A pool of threads: the configuration, the channel, and the counters. Cloning shares
/// the same pool. Its `Debug` shows its [`PoolStats`].
#[derive(Clone)]
pub(crate) struct Pool {
    /// Everything the pool's threads share with it; each thread holds a clone of the `Arc`,
    /// which is how a detached thread outlives the runtime.
    shared: Arc<Shared>,
}

/// What a pool and its threads share.
struct Shared {
    /// Blocking or CPU.
    kind: Kind,
    /// The most threads this pool runs at once (at least 1).
    max_threads: usize,
    /// How long a thread waits for work before it exits; `None` for ever (the CPU pool).
    keep_alive: Option<Duration>,
    /// The queue's bound, if any: reported in the stats. The permits live in `admission`.
    queue_limit: Option<usize>,
    /// Where pool threads take jobs. The pool keeps this receiver for the whole life of the
    /// `Shared`, so sending never fails; at shutdown it also drains the queue through it.
    receiver: Receiver<Job>,
    /// The counters and the sending half; every decision of the policy is made under it.
    state: Mutex<State>,
    /// Signalled whenever a thread exits, for shutdown's bounded wait.
    exited: Condvar,
    /// Set at shutdown, never cleared. A thread that takes a job after this cancels it
    /// instead of running it.
    shutdown: AtomicBool,
    /// Jobs handed to `spawn` that wait for a place in a full bounded queue (`admission`).
    waiting: AtomicUsize,
    /// How each pool thread enters the runtime, so that `Handle::current()` and
    /// `tempo::spawn` work inside a job (spawned tasks are dealt round-robin over the
    /// workers). It holds the runtime's handle: taken at shutdown, which breaks the
    /// Handle → pools → Handle cycle.
    run_in_runtime: Mutex<Option<RunInRuntime>>,
}

/// What `Shared::state` guards.
struct State {
    /// Where jobs are sent; `None` once the pool has shut down, so later jobs are cancelled.
    sender: Option<Sender<Job>>,
    /// The policy's counters.
    counts: Counts,
}

/// What `submit` decided, carried out after the lock is released.
#[must_use]
enum Submitted {
    /// Sent: an idle thread will take it, or it waits in the queue.
    Sent,
    /// Sent, and a new thread must start for it.
    StartThread(usize),
    /// The pool has shut down: the job comes back, to be cancelled outside the lock.
    Rejected(Job),
}

impl Pool {
    /// A pool with no threads yet; they start on demand.
    pub(crate) fn new(
        kind: Kind,
        max_threads: usize,
        keep_alive: Option<Duration>,
        queue_limit: Option<usize>,
    ) -> Pool {
        let (sender, receiver) = crossbeam_channel::unbounded();
        Pool {
            shared: Arc::new(Shared {
                kind,
                max_threads: max_threads.max(1),
                keep_alive,
                queue_limit,
                receiver,
                state: Mutex::new(State {
                    sender: Some(sender),
                    counts: Counts::default(),
                }),
                exited: Condvar::new(),
                shutdown: AtomicBool::new(false),
                waiting: AtomicUsize::new(0),
                run_in_runtime: Mutex::new(None),
            }),
        }
    }

    /// Hand `job` to a thread, per rule 1 of `counts.rs`. After shutdown the job is
    /// cancelled: its JoinHandle reports `Cancelled`.
    pub(crate) fn submit(&self, job: Job) {
        let submitted = {
            let mut state = self.shared.state();
            match &state.sender {
                None => Submitted::Rejected(job),
                Some(sender) => {
                    sender
                        .send(job)
                        .expect("tempo: the pool holds its own receiver, so the channel is open");
                    match state.counts.job_arrives(self.shared.max_threads) {
                        Arrival::ToNewThread(number) => Submitted::StartThread(number),
                        Arrival::ToIdleThread | Arrival::Queued => Submitted::Sent,
                    }
                }
            }
        };
        match submitted {
            Submitted::Sent => {}
            // Dropped here, outside the lock: cancelling wakes the JoinHandle's waker.
            Submitted::Rejected(job) => drop(job),
            Submitted::StartThread(number) => self.start_thread(number),
        }
    }

    /// How threads started from now on enter the runtime (`None` at shutdown: they then
    /// run outside it).
    pub(crate) fn set_run_in_runtime(&self, run_in_runtime: Option<RunInRuntime>) {
        *self
            .shared
            .run_in_runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = run_in_runtime;
    }

    /// Start pool thread `number`, already counted in `threads` and matched to a job.
    fn start_thread(&self, number: usize) {
        let shared = self.shared.clone();
        let started = thread::Builder::new()
            .name(format!("{}-{number}", self.shared.kind.thread_name()))
            .spawn(move || shared.run_thread());
        let Err(_refused) = started else {
            return;
        };
        // The OS would not give us a thread (out of memory, or a process limit). Rather
        // than strand jobs with no thread to take them, cancel them (tokio panics).
        let stranded: Vec<Job> = {
            let mut state = self.shared.state();
            if state.counts.thread_refused() {
                self.shared.receiver.try_iter().collect()
            } else {
                Vec::new()
            }
        };
        drop(stranded);
    }

    /// Count a job waiting for a place in the queue; the count drops with the guard.
    pub(crate) fn waiting_guard(&self) -> WaitingGuard {
        self.shared.waiting.fetch_add(1, Ordering::Relaxed);
        WaitingGuard {
            shared: self.shared.clone(),
        }
    }

    /// A snapshot of the counters.
    pub(crate) fn stats(&self) -> PoolStats {
        let counts = self.shared.state().counts;
        PoolStats {
            threads: counts.threads,
            idle_threads: counts.idle,
            queued: counts.queued,
            waiting: self.shared.waiting.load(Ordering::Relaxed),
            completed: counts.completed,
            max_threads: self.shared.max_threads,
            queue_limit: self.shared.queue_limit,
            shut_down: self.shared.shutdown.load(Ordering::Relaxed),
        }
    }

    /// Stop taking jobs: later submissions are cancelled, threads exit once idle, and every
    /// job still queued is cancelled now (its handle reports `Cancelled`). Running jobs are
    /// left alone; [`wait_for_threads`](Pool::wait_for_threads) waits for them.
    pub(crate) fn begin_shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let sender = self.shared.state().sender.take();
        // Dropping the last sender wakes every thread waiting in `recv` with `Disconnected`
        // once the channel is empty, which it is about to be.
        drop(sender);
        let queued: Vec<Job> = self.shared.receiver.try_iter().collect();
        self.shared.state().counts.queued = 0;
        // Cancelled outside the lock: each drop wakes a JoinHandle's waker.
        drop(queued);
    }

    /// Wait until every thread has exited, or until `deadline`. Returns true if they all
    /// did; threads still running a job after the deadline are detached — they finish it
    /// on their own and exit, and the job's JoinHandle still gets its output.
    pub(crate) fn wait_for_threads(&self, deadline: Instant) -> bool {
        let mut state = self.shared.state();
        while state.counts.threads > 0 {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            state = self
                .shared
                .exited
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("kind", &self.shared.kind)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Shared {
    /// Lock the counters. Nothing panics while they are held, so a poisoned lock (which
    /// cannot happen) would still hold consistent counts.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A pool thread's life, inside the runtime if it has one to enter.
    fn run_thread(&self) {
        let run_in_runtime = self
            .run_in_runtime
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match run_in_runtime {
            Some(run_in_runtime) => run_in_runtime(&mut || self.take_jobs()),
            None => self.take_jobs(),
        }
    }

    /// Take a job, run it, repeat — rules 2 and 3 of `counts.rs` — until the keep-alive
    /// runs out or the pool shuts down. The thread starts matched to the job that started
    /// it.
    fn take_jobs(&self) {
        loop {
            // 1. Wait for a job: for ever in the CPU pool, at most the keep-alive here.
            let received = match self.keep_alive {
                Some(keep_alive) => self.receiver.recv_timeout(keep_alive),
                None => self
                    .receiver
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(Job { task, slot }) => {
                    // 2. The job has left the queue: free its place, so a producer
                    //    waiting for one can go on while the job runs.
                    drop(slot);
                    // 3. Run it — it catches its own panic — or, after shutdown, cancel it.
                    if self.shutdown.load(Ordering::SeqCst) {
                        drop(task);
                    } else {
                        task.run();
                    }
                    // 4. Rule 2: take a queued job, or be idle.
                    self.state().counts.job_finished();
                }
                Err(RecvTimeoutError::Timeout) => {
                    // 5. Rule 3: exit if some thread is idle; else a job is on its way.
                    let after = self.state().counts.wait_timed_out();
                    if after == AfterTimeout::Exit {
                        self.exited.notify_all();
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // 6. Shut down, and the queue is empty.
                    self.state().counts.thread_shut_down();
                    self.exited.notify_all();
                    return;
                }
            }
        }
    }
}

/// One job counted in [`PoolStats::waiting`] while it waits for a place in the queue.
pub(crate) struct WaitingGuard {
    /// Whose count to decrement.
    shared: Arc<Shared>,
}

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}
