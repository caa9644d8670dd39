//! Producers and consumers around a bounded [`Queue`]: backpressure, `task_done`/`join`,
//! and a clean shutdown.
//!
//! ```text
//! cargo run --example producer_consumer              # shut down by closing the queue
//! cargo run --example producer_consumer -- --cancel  # shut down by cancelling consumers
//! ```
//!
//! Three producers each put ten jobs into a queue that holds four; four consumers take
//! jobs out and "process" them (a short sleep). What to watch:
//!
//! - **Backpressure.** The producers are faster than the consumers, so the queue fills:
//!   `queue full, waiting` lines appear, and a producer's next `put` returns only when a
//!   consumer has taken a job out. Memory stays bounded however fast the producers are.
//! - **`join`.** `main` waits for the producers, then for `queue.join()`, which returns
//!   only once every job has been marked `task_done` — processed, not merely taken.
//! - **Shutdown.** The consumers loop for ever; something must stop them. By default
//!   `main` closes the queue (Python 3.13's `queue.shutdown()`): each consumer's next
//!   `get` fails once the queue is drained, and the consumer returns on its own. With
//!   `--cancel`, `main` aborts the consumers instead, the way the asyncio documentation's
//!   queue example cancels its workers; each consumer's cleanup then runs from a
//!   destructor, where the Python catches `CancelledError`.
//! - **The count.** The last lines add up what was put and what was processed, per task
//!   and in total; the program exits with an error if they differ.
//!
//! It is the lesson of seed 004 (§13.2's `asyncio.Queue`) and seed 001 ("The Worker Pool
//! Architecture" and "Graceful Shutdown & Cancellation"), in Python:
//!
//! ```text
//! async def producer(queue, p):
//!     for i in range(JOBS):
//!         await asyncio.sleep(...)           # making a job takes a while
//!         await queue.put((p, i))            # waits while the queue is full
//!
//! async def consumer(queue, c):
//!     try:
//!         while True:
//!             job = await queue.get()        # 3.13: raises QueueShutDown once shut down and drained
//!             await asyncio.sleep(...)       # processing
//!             queue.task_done()
//!     except asyncio.CancelledError:
//!         print(f"consumer {c} shutting down") # cleanup; then re-raise
//!         raise
//!
//! async def main():
//!     queue = asyncio.Queue(maxsize=4)
//!     consumers = [asyncio.create_task(consumer(queue, c)) for c in range(4)]
//!     await asyncio.gather(*(producer(queue, p) for p in range(3)))
//!     await queue.join()                     # every job processed
//!     queue.shutdown()                       # or: for t in consumers: t.cancel()
//!     await asyncio.gather(*consumers, return_exceptions=True)
//! ```
//!
//! Here `tempo::sync::Queue` is `asyncio.Queue`, `tempo::spawn` is `create_task`,
//! `Queue::close` is `shutdown()`, and `JoinHandle::abort` is `Task.cancel()`.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempo::sync::Queue;

/// How many producer tasks.
pub const PRODUCERS: usize = 3;
/// How many consumer tasks.
pub const CONSUMERS: usize = 4;
/// How many jobs each producer puts.
pub const JOBS_PER_PRODUCER: usize = 10;
/// How many jobs the queue holds before `put` waits.
pub const MAXSIZE: usize = 4;

/// How `main` stops the consumers once every job is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// Close the queue; each consumer's `get` fails and it returns.
    Close,
    /// Abort the consumer tasks; their destructors do the cleanup.
    Cancel,
}

/// One unit of work: who made it, and its number among that producer's jobs.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    /// The producer that put it.
    pub producer: usize,
    /// Its position in that producer's sequence, from 0.
    pub seq: usize,
}

/// What every task did, filled in as they run; the lesson's final count.
#[derive(Debug, Default)]
pub struct Tally {
    /// Jobs put, per producer.
    pub produced: [usize; PRODUCERS],
    /// Jobs processed (and marked `task_done`), per consumer.
    pub consumed: [usize; CONSUMERS],
    /// Jobs processed, per producer that made them.
    pub consumed_from: [usize; PRODUCERS],
    /// Consumers that finished their cleanup, by either kind of shutdown.
    pub stopped: usize,
}

impl Tally {
    /// True if every job put was processed exactly once and every consumer stopped.
    pub fn adds_up(&self) -> bool {
        let produced: usize = self.produced.iter().sum();
        let consumed: usize = self.consumed.iter().sum();
        produced == PRODUCERS * JOBS_PER_PRODUCER
            && consumed == produced
            && self.consumed_from == self.produced
            && self.stopped == CONSUMERS
    }
}

fn main() -> ExitCode {
    let shutdown = match std::env::args().nth(1).as_deref() {
        None => Shutdown::Close,
        Some("--cancel") => Shutdown::Cancel,
        Some(other) => {
            eprintln!(
                "producer_consumer: unknown argument {other:?}\n\
                 usage: producer_consumer [--cancel]"
            );
            return ExitCode::from(2);
        }
    };
    let tally = tempo::run(lesson(shutdown));

    println!("--- the count ({shutdown:?}) ---");
    for (p, n) in tally.produced.iter().enumerate() {
        println!(
            "producer {p}: put {n} jobs, {} of them processed",
            tally.consumed_from[p]
        );
    }
    for (c, n) in tally.consumed.iter().enumerate() {
        println!("consumer {c}: processed {n} jobs");
    }
    let produced: usize = tally.produced.iter().sum();
    let consumed: usize = tally.consumed.iter().sum();
    println!(
        "total: {produced} put, {consumed} processed, {} of {CONSUMERS} consumers stopped",
        tally.stopped
    );
    if tally.adds_up() {
        println!("it adds up");
        ExitCode::SUCCESS
    } else {
        // Cannot happen unless the queue loses or duplicates a job: that is a tempo bug.
        eprintln!("the count does not add up: {tally:?}");
        ExitCode::FAILURE
    }
}

/// `main()` of the Python: run the producers and consumers, wait for every job to be
/// processed, shut the consumers down, and return what everyone did.
pub async fn lesson(shutdown: Shutdown) -> Tally {
    let t0 = Instant::now();
    let queue = Arc::new(Queue::bounded(MAXSIZE));
    let tally = Arc::new(Mutex::new(Tally::default()));

    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|c| tempo::spawn(consumer(c, Arc::clone(&queue), Arc::clone(&tally), t0)))
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| tempo::spawn(producer(p, Arc::clone(&queue), Arc::clone(&tally), t0)))
        .collect();

    // `await asyncio.gather(*producers)`. A JoinError would mean a producer panicked (nobody
    // aborts them): a bug, so we let it surface.
    for producer in producers {
        producer
            .await
            .expect("producers neither panic nor get cancelled");
    }
    log(t0, "main: every job is in the queue; waiting for join()");
    queue.join().await;
    log(
        t0,
        &format!("main: join() returned: every job processed; shutdown by {shutdown:?}"),
    );

    match shutdown {
        Shutdown::Close => queue.close(),
        Shutdown::Cancel => consumers.iter().for_each(|c| c.abort()),
    }
    for consumer in consumers {
        match consumer.await {
            Ok(()) => {}                                         // returned after the queue closed
            Err(e) if e.is_cancelled() => {}                     // aborted: what --cancel asked for
            Err(e) => std::panic::resume_unwind(e.into_panic()), // a consumer's bug
        }
    }
    Arc::try_unwrap(tally)
        .expect("every task that held the tally has finished")
        .into_inner()
        .expect("no task panicked while holding the tally")
}

/// Makes `JOBS_PER_PRODUCER` jobs, one every `p + 1` ms, and puts each in the queue.
async fn producer(p: usize, queue: Arc<Queue<Job>>, tally: Arc<Mutex<Tally>>, t0: Instant) {
    for seq in 0..JOBS_PER_PRODUCER {
        tempo::time::sleep(Duration::from_millis(p as u64 + 1)).await; // making the job
        if queue.is_full() {
            log(t0, &format!("producer {p}: queue full, waiting"));
        }
        // `put` fails only on a closed queue, and `main` closes it only after `join`, which
        // cannot return before this job is in and processed.
        queue
            .put(Job { producer: p, seq })
            .await
            .expect("the queue is closed only after every job is done");
        tally.lock().unwrap().produced[p] += 1;
        log(
            t0,
            &format!(
                "producer {p}: put job {p}.{seq} ({}/{MAXSIZE} queued)",
                queue.len()
            ),
        );
    }
    log(t0, &format!("producer {p}: done"));
}

/// Takes jobs until the queue is closed and drained (or until aborted); each takes
/// `2 * (c + 1)` ms to process, and is marked `task_done` after.
async fn consumer(c: usize, queue: Arc<Queue<Job>>, tally: Arc<Mutex<Tally>>, t0: Instant) {
    // The `except CancelledError:` block: runs whether the loop ends or the task is
    // aborted at its `await`.
    let _farewell = Farewell {
        c,
        tally: Arc::clone(&tally),
        t0,
    };
    // `Err` means closed and drained: nothing more will come.
    while let Ok(job) = queue.get().await {
        tempo::time::sleep(Duration::from_millis(2 * (c as u64 + 1))).await; // processing
        {
            let mut tally = tally.lock().unwrap();
            tally.consumed[c] += 1;
            tally.consumed_from[job.producer] += 1;
        }
        log(
            t0,
            &format!("consumer {c}: processed job {}.{}", job.producer, job.seq),
        );
        queue.task_done();
    }
    log(
        t0,
        &format!("consumer {c}: queue closed and empty, returning"),
    );
}

/// A consumer's cleanup, in a destructor so that it also runs when the task is aborted.
struct Farewell {
    /// Which consumer.
    c: usize,
    /// Where it reports that it stopped.
    tally: Arc<Mutex<Tally>>,
    /// The lesson's clock.
    t0: Instant,
}

impl Drop for Farewell {
    fn drop(&mut self) {
        // A poisoned tally means another task panicked; it will be reported there.
        if let Ok(mut tally) = self.tally.lock() {
            tally.stopped += 1;
        }
        let how = if std::thread::panicking() {
            "panicking"
        } else {
            "stopped"
        };
        log(self.t0, &format!("consumer {}: {how}, cleaned up", self.c));
    }
}

fn log(t0: Instant, what: &str) {
    println!("[{:6.1} ms] {what}", t0.elapsed().as_secs_f64() * 1000.0);
}
