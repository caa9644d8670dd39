//! [`Counts`]: the blocking pool's bookkeeping — who takes a job, when a thread starts,
//! when it exits — as plain counters whose methods are the policy's three rules.
//!
//! The policy is written down in the [module doc](super); this file makes it exact, and
//! `pool.rs` applies it under the pool's one lock. Plain numbers, with no threads and no
//! channel, so every interleaving can be tested here (see the tests at the bottom).
//!
//! ## The bookkeeping
//!
//! Jobs travel through an unbounded crossbeam channel; these counters, under one mutex,
//! decide who takes them. Each job in the channel is either *matched* to a thread that is
//! (or is about to be) waiting in `recv` for it, or *queued*, waiting for a busy thread to
//! finish. Each thread waiting in `recv` is either matched to a job or *idle*.
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

/// The counters of the policy in the file doc, and its rules as transitions. Plain
/// numbers, so the rules can be tested without threads (see the tests below).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    /// Threads alive: running a job, idle, or on their way to `recv`.
    pub(super) threads: usize,
    /// Threads waiting in `recv` that no job is matched to.
    pub(super) idle: usize,
    /// Jobs in the channel waiting for a busy thread to finish.
    pub(super) queued: usize,
    /// Jobs taken off the channel by a pool thread and finished (run, or cancelled).
    pub(super) completed: u64,
    /// The number of the last thread started, for thread names.
    started: usize,
}

/// Where an arriving job goes: rule 1.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Arrival {
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
pub(super) enum AfterTimeout {
    /// Exit: it was idle for the whole keep-alive.
    Exit,
    /// Wait again: a job is on its way to a waiting thread, perhaps to this one.
    WaitAgain,
}

impl Counts {
    /// Rule 1: a job was sent into the channel.
    pub(super) fn job_arrives(&mut self, max_threads: usize) -> Arrival {
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
    pub(super) fn job_finished(&mut self) {
        self.completed += 1;
        if self.queued > 0 {
            self.queued -= 1;
        } else {
            self.idle += 1;
        }
    }

    /// Rule 3: a thread's wait timed out. If some thread is idle, one fewer is: this one
    /// exits. If none is, every waiting thread has a job on its way.
    pub(super) fn wait_timed_out(&mut self) -> AfterTimeout {
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
    pub(super) fn thread_refused(&mut self) -> bool {
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
    pub(super) fn thread_shut_down(&mut self) {
        self.threads -= 1;
        self.idle = self.idle.min(self.threads);
    }
}

#[cfg(test)]
mod tests {
    //! The rules of the file doc, as transitions on plain counters. The threads and the
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
