//! Step 2 of a runtime built up step by step: the executor alone — tempo's real one,
//! `tempo_executor`, with no reactor and no runtime around it.
//!
//! ```text
//! cargo run --example 02_executor                   # the helper thread waits 30 ms
//! cargo run --example 02_executor -- --delay-ms 500 # slow enough to watch
//! ```
//!
//! Reference seed 001 ("Code: The Heartbeat of the Loop") creates tasks and says where they
//! go:
//!
//! ```text
//! # Creating tasks schedules them to run concurrently
//! # They are added to the Event Loop's queue immediately
//! task1 = asyncio.create_task(fetch_data(1, 2))
//! ```
//!
//! Step 1 polled one future and parked the thread between polls. An executor does that for
//! many futures. It keeps every *task* (a spawned future) in a slab and a queue of the ones
//! that are ready. [`Executor::run_ready`] pops and polls them; a task that returns
//! `Pending` leaves the queue, and its waker — which tempo's executor makes for each task —
//! puts it back when someone calls `wake()`. A wake from another thread cannot touch the
//! queue (it belongs to this thread); it travels through a channel, calls the `unpark`
//! function we gave the executor, and is applied by [`Executor::drain_remote`].
//!
//! We write the loop ourselves: run the ready tasks, drain what other threads sent, and
//! park when nothing is ready. The executor announces each step of a task's life to an
//! observer ([`TaskObserver`], the seam tempo's diagnostics use); ours prints them. Each
//! task is wrapped in `Traced`, which prints what its poll returned. The tasks:
//!
//! - `a` yields once (`yield_now`, asyncio's `await asyncio.sleep(0)`): it wakes itself
//!   during its poll, so it goes straight back on the queue;
//! - `b` awaits `a`'s `JoinHandle`: `a` finishing wakes `b`, on this thread;
//! - `c` waits for a `Flag` that a helper thread raises: a wake from another thread;
//! - `d` is spawned by that helper thread through a [`Spawner`](tempo_executor::Spawner).
//!
//! What it prints (the times are measured):
//!
//! ```text
//! [    0.0 ms] a: spawned; ready (on the run queue)
//! [    0.1 ms] b: spawned; ready (on the run queue)
//! [    0.1 ms] c: spawned; ready (on the run queue)
//! -- round 1: 3 ready
//! [    0.2 ms] a: polled -> Pending
//! [    0.2 ms] a: it woke itself during the poll: back on the run queue
//! [    0.2 ms] b: polled -> Pending
//! [    0.2 ms] c: polled -> Pending
//! [    0.2 ms] a: polled -> Ready(1)
//! [    0.2 ms] b: woken; ready (on the run queue)
//! [    0.2 ms] a: finished (Completed)
//! [    0.2 ms] b: polled -> Ready(2)
//! [    0.2 ms] b: finished (Completed)
//! -- round 1: nothing ready; parking the thread
//! [   30.4 ms] helper thread: spawning d, raising c's flag
//! [   30.5 ms] unpark (from thread "helper")
//! [   30.6 ms] unparked after 30.3 ms; drain_remote
//! [   30.6 ms] d: spawned; ready (on the run queue)
//! [   30.6 ms] c: woken; ready (on the run queue)
//! [   30.7 ms] drain_remote applied 2 messages from other threads
//! -- round 2: 2 ready
//! [   30.7 ms] d: polled -> Ready(4)
//! [   30.7 ms] d: finished (Completed)
//! [   30.7 ms] c: polled -> Ready(3)
//! [   30.7 ms] c: finished (Completed)
//! tasks: 4 spawned, 4 finished; polls: 7; rounds: 2; parked 30.3 ms in all
//! ```
//!
//! Seven polls for four tasks: one each, plus one more for each task that waited. `b` is
//! woken *before* the observer hears that `a` finished: retiring `a` — still part of its
//! last poll — is what wakes the task awaiting its handle, and the executor announces the
//! outcome once that step is done. `b` ran again in the same round as `a` finished, since a
//! wake on the executor's own thread goes straight onto the queue `run_ready` is draining.
//! (How the helper's two messages arrive — after one unpark or two — depends on when this
//! thread wakes up; the loop is correct either way.)
//!
//! Next: `03_reactor`, the other half — where the wakes for sockets come from.

use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use tempo_executor::{OwnedExecutor, SpawnMeta, TaskEvent, TaskId, TaskObserver, yield_now};

fn main() -> ExitCode {
    let delay = match parse_args(std::env::args().skip(1)) {
        Ok(delay) => delay,
        Err(msg) => {
            eprintln!("02_executor: {msg}\nusage: 02_executor [--delay-ms MS]");
            return ExitCode::from(2);
        }
    };
    let clock = Clock(Instant::now());

    // The executor. `unpark` is how another thread that sent us a wake or a task gets us
    // out of `park`; it is all the executor knows of how this thread sleeps. (The runtime
    // passes a function that interrupts `epoll_wait` instead: step 4.)
    let unparks = Arc::new(AtomicUsize::new(0));
    let executor = {
        let (me, unparks) = (thread::current(), unparks.clone());
        OwnedExecutor::new(move || {
            unparks.fetch_add(1, Ordering::AcqRel);
            let from = thread::current();
            clock.say(format_args!(
                "unpark (from thread {:?})",
                from.name().unwrap_or("unnamed")
            ));
            me.unpark();
        })
    };
    let printer = Arc::new(Printer {
        clock,
        names: Mutex::default(),
        polls: AtomicUsize::new(0),
        spawned: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
    });
    executor.observe(printer.clone());
    // Make it this thread's current executor, so `spawn_with` finds it and so wakes on
    // this thread go straight onto its queue.
    let _entered = executor.enter();

    // `asyncio.create_task`, four times over. Nothing runs yet: spawning only queues.
    let a = spawn("a", clock, async {
        yield_now().await;
        1
    });
    // Dropping a JoinHandle detaches its task (it still runs), as an un-awaited asyncio
    // Task does; the observer reports how b, c and d end.
    drop(spawn("b", clock, async move {
        match a.await {
            Ok(n) => n + 1,
            Err(e) => panic!("a cannot fail: {e}"),
        }
    }));
    let flag = Flag::default();
    let raised = flag.clone();
    drop(spawn("c", clock, async move {
        raised.await;
        3
    }));
    let spawner = executor.spawner();
    let helper = thread::Builder::new()
        .name("helper".into())
        .spawn(move || {
            // Stands for work done elsewhere: a thread pool job, a blocking call.
            thread::sleep(delay);
            clock.say(format_args!("helper thread: spawning d, raising c's flag"));
            let meta = SpawnMeta {
                name: Some("d".into()),
                location: Location::caller(),
            };
            drop(spawner.spawn_with(Traced::new("d", clock, async { 4 }), meta));
            flag.raise();
        })
        .expect("spawn the helper thread");

    // The loop: the executor's half of the worker's loop of step 4.
    let (mut rounds, mut parked) = (0, Duration::ZERO);
    while executor.live_tasks() > 0 {
        rounds += 1;
        println!("-- round {rounds}: {} ready", executor.ready_len());
        executor.run_ready(usize::MAX);
        let unparks_before = unparks.load(Ordering::Acquire);
        if executor.drain_remote() > 0 {
            // Something came from another thread while we ran: the round goes on.
            clock.say(format_args!(
                "drain_remote applied messages from other threads"
            ));
        }
        if executor.has_ready() || executor.live_tasks() == 0 {
            continue;
        }
        println!("-- round {rounds}: nothing ready; parking the thread");
        let start = Instant::now();
        // `park` may return for no reason; an unpark moves the counter.
        while unparks.load(Ordering::Acquire) == unparks_before {
            thread::park();
        }
        parked += start.elapsed();
        clock.say(format_args!(
            "unparked after {:.1} ms; drain_remote",
            start.elapsed().as_secs_f64() * 1e3
        ));
        let drained = executor.drain_remote();
        clock.say(format_args!(
            "drain_remote applied {drained} messages from other threads"
        ));
    }
    helper.join().expect("the helper thread does not panic");
    println!(
        "tasks: {} spawned, {} finished; polls: {}; rounds: {rounds}; parked {:.1} ms in all",
        printer.spawned.load(Ordering::Acquire),
        printer.finished.load(Ordering::Acquire),
        printer.polls.load(Ordering::Acquire),
        parked.as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}

/// `spawn` with a name the observer can print. The task goes on the current executor.
#[track_caller]
fn spawn<F>(name: &'static str, clock: Clock, future: F) -> tempo_executor::JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: std::fmt::Debug + 'static,
{
    let meta = SpawnMeta {
        name: Some(name.into()),
        location: Location::caller(),
    };
    tempo_executor::spawn_with(Traced::new(name, clock, future), meta)
}

/// Prints what the executor announces about each task. Runs on the executor's thread, in
/// the middle of the executor's work, so it must not call back into it: it only prints
/// and counts.
struct Printer {
    /// Stamps what it prints.
    clock: Clock,
    /// Each live task's name, and whether it has been queued before.
    names: Mutex<HashMap<TaskId, (Arc<str>, bool)>>,
    /// Polls started.
    polls: AtomicUsize,
    /// Tasks spawned.
    spawned: AtomicUsize,
    /// Tasks finished.
    finished: AtomicUsize,
}

impl TaskObserver for Printer {
    fn on_event(&self, task: TaskId, event: TaskEvent<'_>) {
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let name = |names: &HashMap<TaskId, (Arc<str>, bool)>| {
            names
                .get(&task)
                .map_or_else(|| format!("task {task}"), |(n, _)| n.to_string())
        };
        match event {
            TaskEvent::Spawned(meta) => {
                self.spawned.fetch_add(1, Ordering::AcqRel);
                let name: Arc<str> = meta.name.clone().unwrap_or_else(|| "?".into());
                names.insert(task, (name, false));
            }
            TaskEvent::Scheduled => {
                let first = names.get_mut(&task).is_some_and(|(_, queued)| {
                    let first = !*queued;
                    *queued = true;
                    first
                });
                let how = if first { "spawned" } else { "woken" };
                let who = name(&names);
                self.clock
                    .say(format_args!("{who}: {how}; ready (on the run queue)"));
            }
            TaskEvent::PollStarted => {
                self.polls.fetch_add(1, Ordering::AcqRel);
            }
            TaskEvent::PollEnded { requeued: true } => {
                let who = name(&names);
                self.clock.say(format_args!(
                    "{who}: it woke itself during the poll: back on the run queue"
                ));
            }
            TaskEvent::PollEnded { requeued: false } => {}
            TaskEvent::Finished(outcome) => {
                self.finished.fetch_add(1, Ordering::AcqRel);
                let who = name(&names);
                self.clock
                    .say(format_args!("{who}: finished ({outcome:?})"));
                names.remove(&task);
            }
            TaskEvent::CancelRequested(cause) => {
                let who = name(&names);
                self.clock
                    .say(format_args!("{who}: cancel requested ({cause:?})"));
            }
            // A wake of a `block_on` future: this program has none — it runs the queue itself.
            TaskEvent::MainWoken => {}
        }
    }
}

/// A future that prints what each of its polls returned.
struct Traced<F> {
    /// For the lines it prints.
    name: &'static str,
    /// Stamps what it prints.
    clock: Clock,
    /// The task's own future, boxed so that `Traced` is `Unpin` and needs no pin projection.
    inner: Pin<Box<F>>,
}

impl<F: Future> Traced<F> {
    fn new(name: &'static str, clock: Clock, inner: F) -> Traced<F> {
        Traced {
            name,
            clock,
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future<Output: std::fmt::Debug>> Future for Traced<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let polled = self.inner.as_mut().poll(cx);
        match &polled {
            Poll::Pending => self
                .clock
                .say(format_args!("{}: polled -> Pending", self.name)),
            Poll::Ready(v) => self
                .clock
                .say(format_args!("{}: polled -> Ready({v:?})", self.name)),
        }
        polled
    }
}

/// A one-shot flag another thread raises: the `Delay` of step 1 without its timer.
#[derive(Clone, Default)]
struct Flag {
    /// Raised yet, and the waker of the task waiting for it.
    state: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Flag {
    /// Raise the flag and wake the waiting task, from any thread.
    fn raise(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.0 = true;
            state.1.take()
        };
        // Wake outside the lock. This is a task's waker from tempo's executor, called on
        // a thread that is not the executor's: the wake goes through its channel.
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Future for Flag {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.0 {
            return Poll::Ready(());
        }
        state.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The clock every line is stamped against.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    /// Prints `what`, stamped with the milliseconds since the start.
    fn say(self, what: std::fmt::Arguments<'_>) {
        println!("[{:>7.1} ms] {what}", self.0.elapsed().as_secs_f64() * 1e3);
    }
}

/// Reads the optional `--delay-ms MS` (default 30).
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Duration, String> {
    let mut delay = Duration::from_millis(30);
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--delay-ms" => {
                let text = argv.next().ok_or("--delay-ms needs a value")?;
                delay = match text.parse::<u64>() {
                    Ok(ms) if ms <= 60_000 => Duration::from_millis(ms),
                    _ => return Err(format!("--delay-ms {text}: expected 0..=60000")),
                };
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(delay)
}
