//! [`Pool`]: threads that take [`BlockingTask`]s off a crossbeam channel and run them.
//!
//! One `Pool` is the elastic blocking pool; another, with no keep-alive, is the fixed CPU
//! pool. The grow/shrink policy is written down in the [module doc](super); this file is
//! that policy and the bookkeeping that makes it exact.
//!
//! ## The bookkeeping
//!
//! Jobs travel through an unbounded crossbeam channel; counters under one mutex
//! (`Counts`, whose methods are the three rules below) decide who takes them. Each job in the channel is either *matched* to a thread that is (or is
//! about to be) waiting in `recv` for it, or *queued*, waiting for a busy thread to finish.
//! Each thread waiting in `recv` is either matched to a job or *idle*.
//!
//! 1. A job arrives. If a thread is idle, the job is matched to it (`idle -= 1`). Else if
//!    fewer than `max_threads` threads exist, a new thread starts, matched to it
//!    (`threads += 1`). Else the job is queued (`queued += 1`).
//! 2. A thread finishes a job. If a job is queued, it takes it (`queued -= 1`) and goes
//!    back to `recv` matched to it. Else it declares itself idle (`idle += 1`).
//! 3. An idle thread's `recv` times out after the keep-alive. If `idle > 0` it withdraws
//!    one idle declaration and exits (`idle -= 1`, `threads -= 1`). If `idle == 0` every
//!    waiting thread is matched — a job is on its way to one of them, perhaps to this one —
//!    so it waits again.
//!
//! Jobs are interchangeable: whichever waiting thread the channel hands a job to, the
//! counts stay right, because only *how many* jobs are matched matters. So the counters
//! keep `matched jobs in the channel = waiting threads − idle`, and two facts follow:
//! `idle > 0` and `queued > 0` never hold at once (a job is queued only when nobody is
//! idle, and a thread declares itself idle only when nothing is queued), and a queued job
//! is never stranded (threads exit only while `idle > 0`, so never while a job is queued).
//!
//! Rule 1 is what lets N jobs that wait on each other — N parties of a `Barrier` — all run
//! at once: each arrival that finds no idle thread starts one, rather than hoping that a
//! thread which looked idle a moment ago will get to it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use tempo_executor::BlockingTask;

use super::PoolStats;
use crate::sync::OwnedSemaphorePermit;

/// A job on its way to a pool thread.
pub(crate) struct Job {
    /// The closure, as a task whose JoinHandle someone may be awaiting.
    pub(crate) task: BlockingTask,
    /// The job's place in a bounded queue (`None` when the queue is unbounded). Dropped the
    /// moment a thread takes the job off the channel: the job has left the queue.
    pub(crate) slot: Option<OwnedSemaphorePermit>,
}

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
    /// The runtime's handle, entered by every pool thread so that `Handle::current()` and
    /// `tempo::spawn` work inside a job (spawned tasks are dealt round-robin over the
    /// workers). Taken at shutdown, which breaks the Handle → pools → Handle cycle.
    context: Mutex<Option<crate::Handle>>,
}

/// What `Shared::state` guards.
struct State {
    /// Where jobs are sent; `None` once the pool has shut down, so later jobs are cancelled.
    sender: Option<Sender<Job>>,
    /// The policy's counters.
    counts: Counts,
}

/// The counters of the policy in the module doc, and its rules as transitions. Plain
/// numbers, so the rules can be tested without threads (see the tests below).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Counts {
    /// Threads alive: running a job, idle, or on their way to `recv`.
    threads: usize,
    /// Threads waiting in `recv` that no job is matched to.
    idle: usize,
    /// Jobs in the channel waiting for a busy thread to finish.
    queued: usize,
    /// Jobs taken off the channel by a pool thread and finished (run, or cancelled).
    completed: u64,
    /// The number of the last thread started, for thread names.
    started: usize,
}

/// Where an arriving job goes: rule 1.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
enum Arrival {
    /// Matched to an idle thread, which will take it.
    ToIdleThread,
    /// A new thread, with this number, must start for it.
    ToNewThread(usize),
    /// Every thread is busy and there are `max_threads`: it waits.
    Queued,
}

/// What a thread whose wait for a job timed out does: rule 3.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
enum AfterTimeout {
    /// Exit: it was idle for the whole keep-alive.
    Exit,
    /// Wait again: a job is on its way to a waiting thread, perhaps to this one.
    WaitAgain,
}

impl Counts {
    /// Rule 1: a job was sent into the channel.
    fn job_arrives(&mut self, max_threads: usize) -> Arrival {
        if self.idle > 0 {
            self.idle -= 1;
            Arrival::ToIdleThread
        } else if self.threads < max_threads {
            self.threads += 1;
            self.started += 1;
            Arrival::ToNewThread(self.started)
        } else {
            self.queued += 1;
            Arrival::Queued
        }
    }

    /// Rule 2: a thread finished a job; it takes a queued one, or becomes idle.
    fn job_finished(&mut self) {
        self.completed += 1;
        if self.queued > 0 {
            self.queued -= 1;
        } else {
            self.idle += 1;
        }
    }

    /// Rule 3: a thread's wait timed out. If some thread is idle, one fewer is: this one
    /// exits. If none is, every waiting thread has a job on its way.
    fn wait_timed_out(&mut self) -> AfterTimeout {
        if self.idle > 0 {
            self.idle -= 1;
            self.threads -= 1;
            AfterTimeout::Exit
        } else {
            AfterTimeout::WaitAgain
        }
    }

    /// The OS refused to start a thread counted by `job_arrives`. With others running, its
    /// job waits for one like a queued job. With none, no thread would ever take the
    /// channel's jobs: returns true, and the caller cancels them all.
    fn thread_refused(&mut self) -> bool {
        self.threads -= 1;
        if self.threads > 0 {
            self.queued += 1;
            false
        } else {
            self.queued = 0;
            true
        }
    }

    /// A thread found the channel closed and empty (shutdown) and exits. Whether it was
    /// counted idle no longer matters; keep `idle <= threads` for the stats.
    fn thread_shut_down(&mut self) {
        self.threads -= 1;
        self.idle = self.idle.min(self.threads);
    }
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
                context: Mutex::new(None),
            }),
        }
    }

    /// Hand `job` to a thread, per rule 1 of the module doc. After shutdown the job is
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

    /// Give pool threads the runtime's handle to enter (`None` at shutdown).
    pub(crate) fn set_context(&self, handle: Option<crate::Handle>) {
        *self
            .shared
            .context
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = handle;
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

    /// A pool thread's life: take a job, run it, repeat — rules 2 and 3 of the module doc.
    /// It starts matched to the job that started it.
    fn run_thread(&self) {
        let context = self
            .context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let _entered = context.map(crate::runtime::enter_pool_thread);
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

#[cfg(test)]
mod tests {
    //! The rules of the module doc, as transitions on plain counters. The threads and the
    //! channel are tested in `tests/blocking.rs`; these pin down the interleavings that
    //! real threads hit too rarely to test from outside.

    use super::{AfterTimeout, Arrival, Counts};

    #[test]
    fn jobs_that_find_no_idle_thread_each_start_one_up_to_the_cap() {
        let mut counts = Counts::default();
        assert_eq!(counts.job_arrives(2), Arrival::ToNewThread(1));
        assert_eq!(counts.job_arrives(2), Arrival::ToNewThread(2));
        assert_eq!(counts.job_arrives(2), Arrival::Queued);
        assert_eq!(counts.job_arrives(2), Arrival::Queued);
        assert_eq!((counts.threads, counts.idle, counts.queued), (2, 0, 2));
        // Rule 2: finishing threads take the queued jobs before going idle.
        counts.job_finished();
        counts.job_finished();
        assert_eq!((counts.threads, counts.idle, counts.queued), (2, 0, 0));
        counts.job_finished();
        counts.job_finished();
        assert_eq!((counts.threads, counts.idle, counts.queued), (2, 2, 0));
        assert_eq!(counts.completed, 4);
    }

    #[test]
    fn an_idle_thread_takes_one_job_and_the_next_starts_a_thread() {
        let mut counts = Counts::default();
        assert_eq!(counts.job_arrives(8), Arrival::ToNewThread(1));
        counts.job_finished();
        assert_eq!(counts.job_arrives(8), Arrival::ToIdleThread);
        // The idle thread is spoken for: a second job must not wait for it.
        assert_eq!(counts.job_arrives(8), Arrival::ToNewThread(2));
    }

    #[test]
    fn a_thread_that_times_out_as_a_job_is_matched_to_it_waits_again() {
        let mut counts = Counts::default();
        assert_eq!(counts.job_arrives(1), Arrival::ToNewThread(1));
        counts.job_finished();
        // The job arrives, matched to the idle thread, just as its keep-alive runs out.
        assert_eq!(counts.job_arrives(1), Arrival::ToIdleThread);
        assert_eq!(counts.wait_timed_out(), AfterTimeout::WaitAgain);
        assert_eq!((counts.threads, counts.idle), (1, 0));
        // Done with that job, idle for a whole keep-alive: it exits.
        counts.job_finished();
        assert_eq!(counts.wait_timed_out(), AfterTimeout::Exit);
        assert_eq!((counts.threads, counts.idle), (0, 0));
    }

    #[test]
    fn a_refused_thread_leaves_its_job_queued_or_cancels_all_if_none_runs() {
        let mut counts = Counts::default();
        assert_eq!(counts.job_arrives(4), Arrival::ToNewThread(1));
        assert!(
            counts.thread_refused(),
            "no thread: cancel what is in the channel"
        );
        assert_eq!((counts.threads, counts.queued), (0, 0));
        assert_eq!(counts.job_arrives(4), Arrival::ToNewThread(2));
        assert_eq!(counts.job_arrives(4), Arrival::ToNewThread(3));
        assert!(
            !counts.thread_refused(),
            "one thread runs: the job waits for it"
        );
        assert_eq!((counts.threads, counts.queued), (1, 1));
    }

    #[test]
    fn idle_and_queued_are_never_both_positive() {
        // A deterministic walk through arrivals, finishes and timeouts, checking the two
        // facts the module doc derives from the rules.
        let mut counts = Counts::default();
        let mut busy = 0usize; // threads running a job, as the walk tracks them
        let mut seed = 0x9e37_79b9_u32;
        for _ in 0..100_000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            match seed % 3 {
                0 => match counts.job_arrives(4) {
                    Arrival::ToIdleThread | Arrival::ToNewThread(_) => busy += 1,
                    Arrival::Queued => {}
                },
                1 if busy > 0 => {
                    let queued = counts.queued;
                    counts.job_finished();
                    if queued == 0 {
                        busy -= 1;
                    }
                }
                _ => {
                    let _ = counts.wait_timed_out();
                }
            }
            assert!(counts.idle == 0 || counts.queued == 0, "{counts:?}");
            assert_eq!(counts.threads, busy + counts.idle, "{counts:?}");
            assert!(
                counts.queued == 0 || counts.threads == 4,
                "stranded: {counts:?}"
            );
        }
    }
}
