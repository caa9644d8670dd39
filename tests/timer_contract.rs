//! The timer contract, written down before the timer heap is replaced by a timer wheel:
//! what `Sleep`, `timeout` and `interval` promise, pinned where a wheel is most likely to
//! break it.
//!
//! A hierarchical timer wheel files a timer in a level by how far its deadline is — 64
//! one-millisecond slots at level 0, 64 slots of 64 ms at level 1, 64 of 4 096 ms at
//! level 2 — and cascades it down a level as the deadline comes nearer. Its classic bugs
//! are at those edges: a deadline rounded down to a slot fires *early*; one left behind in
//! a cascade fires a whole slot late, or never; a cancelled one fires anyway, or stays
//! behind. So every test here uses deadlines just before, at and just after 1 ms, 64 ms and
//! 4 096 ms, armed at different moments (the same deadline then lands on different
//! levels), and checks, by the exact clock:
//!
//! 1. **never early** — each sleep, timeout and tick completes at or after its deadline
//!    (exact), and within [`LATE`] of it (generous: a loaded 2-core machine may stall a
//!    thread for hundreds of milliseconds, so a finer bound would flake);
//! 2. **drop is cancel** — a dropped timer never wakes anyone, never expires (the
//!    reactor's own count of expired timers is exact), and is no longer listed by
//!    `ReactorHandle::for_each_waiter`; thousands dropped in random order leave the survivors
//!    firing on time and in deadline order; `Sleep::reset` moves a timer both ways and
//!    re-arms a fired one; an `Interval` keeps to its grid; equal deadlines fire together;
//!    a deadline in the past needs no reactor turn at all;
//! 3. **many timers** — 100 000 armed at once on one reactor all complete, none early, in
//!    a bounded number of reactor turns.
//!
//! Every test runs in both timer modes — the millisecond-rounded `epoll_wait` and the
//! high-resolution timerfd — on a [`Driver`]: one `tempo_reactor::Reactor` driven by hand,
//! as `tests/timers.rs` does, so the test can count the reactor's turns and expired timers
//! exactly. The cross-thread half of the contract is in `tests/timer_threads.rs`.
//!
//! As everywhere in this suite, events are never ordered with a wall-clock sleep: the
//! timers under test are what the tests wait on, and every wait is under
//! [`with_hang_guard`].

mod common;

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use common::with_hang_guard;
use tempo_reactor::WaitingOn;
use tempo_reactor::time::{Sleep, interval_at, sleep, sleep_until, timeout, timeout_at};
use tempo_reactor::{Reactor, ReactorHandle};

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The most any timer in this file may be late: a lost timer, or one filed a level too
/// high (4 s late), is later than this; a busy 2-core machine running a debug build is
/// not (stalls of a few hundred milliseconds were seen under load).
const LATE: Duration = Duration::from_secs(2);

/// What the crowd test allows for lateness and for the whole run: there, lateness measures
/// how fast a debug build gets through 100 000 completions on a machine that may be busy
/// with other things (seconds, under load), not the timers. Its real bounds are the
/// exact counts and the reactor turns.
const CROWD_LATE: Duration = Duration::from_secs(30);

/// The timer modes every test runs in: the default millisecond-rounded `epoll_wait`, and
/// the high-resolution timerfd mode.
const MODES: [Option<Duration>; 2] = [None, Some(Duration::from_micros(50))];

/// Deadlines at the edges of a 1 ms / 64 ms timer wheel's first levels, as offsets from the
/// moment a timer is armed (or from a fixed origin).
const EDGES: [Duration; 17] = [
    Duration::from_nanos(1),
    Duration::from_micros(1),
    Duration::from_micros(500),
    Duration::from_micros(999),
    Duration::from_millis(1),
    Duration::from_nanos(1_000_001),
    Duration::from_micros(1_500),
    Duration::from_millis(2),
    Duration::from_millis(63),
    Duration::from_micros(63_999),
    Duration::from_millis(64),
    Duration::from_nanos(64_000_001),
    Duration::from_micros(64_001),
    Duration::from_millis(65),
    Duration::from_millis(127),
    Duration::from_millis(128),
    Duration::from_millis(129),
];

/// Moments, after the test's origin, at which timers are armed: the same absolute deadline
/// is then at a different distance, so a wheel files it on a different level.
const STAGGERS: [Duration; 7] = [
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_millis(31),
    Duration::from_millis(63),
    Duration::from_millis(64),
    Duration::from_millis(65),
    Duration::from_millis(100),
];

/// When a timer completed, against when it was due.
#[derive(Clone, Copy, Debug)]
struct Completion {
    /// What it was waiting for.
    deadline: Instant,
    /// `Instant::now()` just after it completed.
    at: Instant,
}

impl Completion {
    /// Measure now; panics (naming `what`) if `deadline` has not been reached: the one
    /// exact assertion of this file.
    #[track_caller]
    fn now(deadline: Instant, what: &str) -> Completion {
        let at = Instant::now();
        assert!(
            at >= deadline,
            "{what} completed {:?} before its deadline",
            deadline - at
        );
        Completion { deadline, at }
    }

    fn lateness(&self) -> Duration {
        self.at - self.deadline
    }
}

/// Every completion less than [`LATE`] late. (Never early was checked as each completed.)
#[track_caller]
fn assert_on_time(completions: &[Completion], what: &str) {
    assert_late_by_less_than(completions, LATE, what);
}

/// Every completion less than `bound` late.
#[track_caller]
fn assert_late_by_less_than(completions: &[Completion], bound: Duration, what: &str) {
    assert!(!completions.is_empty(), "{what}: nothing completed");
    let mut late: Vec<Duration> = completions.iter().map(Completion::lateness).collect();
    late.sort();
    let (median, max) = (late[late.len() / 2], late[late.len() - 1]);
    assert!(
        max < bound,
        "{what}: a timer was {max:?} late (median {median:?})"
    );
}

/// A waker that counts its wakes: "did anyone wake this, and how often?"
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Poll `sleep` once with `waker`, which must leave it pending (armed).
#[track_caller]
fn arm_with(sleep: &mut Sleep, waker: &Arc<CountingWaker>) {
    let waker = Waker::from(Arc::clone(waker));
    let polled = Pin::new(sleep).poll(&mut Context::from_waker(&waker));
    assert!(polled.is_pending(), "a sleep due later was ready at once");
}

/// `Ready` or `Pending` at the first poll, without waiting.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// How many timers `handle`'s reactor lists as armed (`for_each_waiter`).
fn armed_timers(handle: &ReactorHandle) -> Vec<Instant> {
    let mut deadlines = Vec::new();
    handle.for_each_waiter(|_, on| {
        if let WaitingOn::Timer { deadline } = on {
            deadlines.push(deadline);
        }
    });
    deadlines
}

/// A deterministic pseudo-random sequence (xorshift64), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A duration in `[low, high)`, to the nanosecond.
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = (high - low).as_nanos() as u64;
        low + Duration::from_nanos(self.next() % span)
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

// ---------------------------------------------------------------------------------------
// A loop by hand: the reactor, a run queue, and counters.
// ---------------------------------------------------------------------------------------

/// A future to run by hand, boxed so that tasks of different types fit one `Vec`.
type Task<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The waker of one task of a [`Driver`]: queues the task's index to be polled. Woken from
/// another thread, it also unparks the reactor, as the runtime's wakers do.
struct TaskWaker {
    /// The task's index in `run_all`'s list.
    index: usize,
    /// True while the index is in the queue (so it is queued once).
    queued: AtomicBool,
    /// The driver's run queue.
    queue: Arc<Mutex<Vec<usize>>>,
    /// The driver's thread, where a wake needs no unpark.
    home: ThreadId,
    /// To interrupt the reactor's wait from elsewhere.
    reactor: ReactorHandle,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, SeqCst) {
            self.queue.lock().unwrap().push(self.index);
            if thread::current().id() != self.home {
                self.reactor.unpark();
            }
        }
    }
}

/// One reactor, driven by hand on the test's thread: poll the tasks that were woken, in
/// the order they were woken; when none was, `turn` the reactor (waiting as long as it
/// takes). The runtime's loop with the executor reduced to a queue of indexes.
struct Driver {
    /// The reactor under test.
    reactor: Reactor,
    /// Reactor turns so far; tasks may read it (through [`Driver::turns`]).
    turns: Arc<AtomicU64>,
    /// Timers the reactor reported expired (`TurnStats::timers`), summed over turns.
    expired: u64,
    /// `TurnStats::timers` of every turn that expired at least one timer, with its turn
    /// number.
    expiring_turns: Vec<(u64, usize)>,
    /// Read just before the reactor was created: where a timer wheel would most likely
    /// start counting its slots, so deadlines at `created + 64 ms` sit on a slot edge.
    created: Instant,
}

impl Driver {
    /// A reactor in the given timer mode (see [`MODES`]).
    fn new(resolution: Option<Duration>) -> Driver {
        let created = Instant::now();
        let mut reactor = Reactor::new().expect("create a reactor");
        reactor
            .set_timer_resolution(resolution)
            .expect("set the timer resolution");
        assert_eq!(reactor.is_high_resolution(), resolution.is_some());
        Driver {
            reactor,
            turns: Arc::default(),
            expired: 0,
            expiring_turns: Vec::new(),
            created,
        }
    }

    fn handle(&self) -> ReactorHandle {
        self.reactor.handle()
    }

    /// The turn counter, for tasks to read.
    fn turns(&self) -> Arc<AtomicU64> {
        self.turns.clone()
    }

    /// Run `tasks` concurrently to completion; returns their outputs in order.
    fn run_all<'a, T>(&mut self, tasks: Vec<Task<'a, T>>) -> Vec<T> {
        let _enter = self.reactor.enter();
        let queue = Arc::new(Mutex::new((0..tasks.len()).collect::<Vec<_>>()));
        let task_wakers: Vec<Arc<TaskWaker>> = (0..tasks.len())
            .map(|index| {
                Arc::new(TaskWaker {
                    index,
                    queued: AtomicBool::new(true),
                    queue: queue.clone(),
                    home: thread::current().id(),
                    reactor: self.reactor.handle(),
                })
            })
            .collect();
        let wakers: Vec<Waker> = task_wakers.iter().cloned().map(Waker::from).collect();
        let mut tasks: Vec<_> = tasks.into_iter().map(Some).collect();
        let mut results: Vec<Option<T>> = tasks.iter().map(|_| None).collect();
        let mut left = tasks.len();
        while left > 0 {
            let batch = std::mem::take(&mut *queue.lock().unwrap());
            if batch.is_empty() {
                let stats = self.reactor.turn(None).expect("turn the reactor");
                let turn = self.turns.fetch_add(1, SeqCst) + 1;
                self.expired += stats.timers as u64;
                if stats.timers > 0 {
                    self.expiring_turns.push((turn, stats.timers));
                }
                continue;
            }
            for i in batch {
                // Clear "queued" before the poll, so a wake during it queues again.
                task_wakers[i].queued.store(false, SeqCst);
                let waker = &wakers[i];
                let Some(task) = tasks[i].as_mut() else {
                    continue;
                };
                if let Poll::Ready(value) = task.as_mut().poll(&mut Context::from_waker(waker)) {
                    results[i] = Some(value);
                    tasks[i] = None;
                    left -= 1;
                }
            }
        }
        results.into_iter().map(Option::unwrap).collect()
    }

    /// Run one future to completion.
    fn block_on<'a, T>(&mut self, future: impl Future<Output = T> + 'a) -> T {
        self.run_all(vec![Box::pin(future)]).pop().unwrap()
    }
}

/// The name of a timer mode, for messages.
fn mode_name(resolution: Option<Duration>) -> String {
    match resolution {
        None => "millisecond mode".to_string(),
        Some(r) => format!("high-resolution mode ({r:?})"),
    }
}

/// Run `test` in each timer mode, one after the other, each on a fresh thread with a fresh
/// reactor, under the hang guard.
fn in_each_mode(test: fn(&mut Driver, &str)) {
    for resolution in MODES {
        with_hang_guard(move || test(&mut Driver::new(resolution), &mode_name(resolution)));
    }
}

/// Like [`in_each_mode`], with both modes at once on two threads: for the test that waits
/// four seconds, so that it waits them once.
fn in_both_modes_at_once(test: fn(&mut Driver, &str)) {
    let runs: Vec<_> = MODES
        .into_iter()
        .map(|resolution| {
            thread::spawn(move || {
                with_hang_guard(move || test(&mut Driver::new(resolution), &mode_name(resolution)))
            })
        })
        .collect();
    for run in runs {
        if let Err(panic) = run.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. Never early, at the edges of every level.
// ---------------------------------------------------------------------------------------

/// A timer's completion, and how far ahead its deadline was when it was armed.
struct Armed {
    /// When it completed against when it was due.
    done: Completion,
    /// `deadline - now` at arming; zero for a deadline already past.
    ahead: Duration,
}

/// Every timer that waited (was armed before its deadline) within [`LATE`]. Deadlines
/// already past when armed, and interval ticks delivered in a burst, are left out.
#[track_caller]
fn assert_waited_on_time(all: &[Armed], what: &str) {
    let waited: Vec<Completion> = all
        .iter()
        .filter(|a| !a.ahead.is_zero())
        .map(|a| a.done)
        .collect();
    assert_on_time(&waited, what);
}

/// 357 sleeps: every edge of [`EDGES`] armed at every moment of [`STAGGERS`], both as a
/// sleep *of* that length and as a sleep *until* that far past the reactor's creation (and
/// 64 ms further) — so the same deadlines are met from every distance and alignment.
#[test]
fn sleeps_at_level_edges_armed_at_staggered_moments_are_never_early() {
    in_each_mode(|driver, mode| {
        let origin = Instant::now();
        let created = driver.created;
        let mut tasks: Vec<Task<'_, Armed>> = Vec::new();
        for stagger in STAGGERS {
            for edge in EDGES {
                let relative = async move {
                    sleep_until(origin + stagger).await;
                    let nap = sleep(edge);
                    let (deadline, ahead) = (nap.deadline(), edge);
                    nap.await;
                    let what = format!("{mode}: sleep({edge:?}) armed at +{stagger:?}");
                    let done = Completion::now(deadline, &what);
                    Armed { done, ahead }
                };
                tasks.push(Box::pin(relative));
                for deadline in [created + edge, created + ms(64) + edge] {
                    let absolute = async move {
                        sleep_until(origin + stagger).await;
                        let ahead = deadline.saturating_duration_since(Instant::now());
                        sleep_until(deadline).await;
                        let what = format!(
                            "{mode}: sleep_until(created + {:?}) armed at +{stagger:?}",
                            deadline - created
                        );
                        let done = Completion::now(deadline, &what);
                        Armed { done, ahead }
                    };
                    tasks.push(Box::pin(absolute));
                }
            }
        }
        let armed = driver.run_all(tasks);
        assert_eq!(armed.len(), STAGGERS.len() * EDGES.len() * 3);
        assert_waited_on_time(&armed, mode);
        assert_eq!(
            armed_timers(&driver.handle()),
            [],
            "{mode}: timers left armed"
        );
    });
}

/// `timeout_at` around a future that never finishes elapses at or after each edge; and an
/// `Interval` of 1, 63, 64 and 65 ms started at each stagger ticks exactly on its grid,
/// never before.
#[test]
fn timeouts_and_interval_ticks_at_level_edges_are_never_early() {
    in_each_mode(|driver, mode| {
        let origin = Instant::now();
        let mut tasks: Vec<Task<'_, Vec<Armed>>> = Vec::new();
        for stagger in STAGGERS {
            for edge in EDGES {
                tasks.push(Box::pin(async move {
                    sleep_until(origin + stagger).await;
                    let deadline = Instant::now() + edge;
                    let elapsed = timeout_at(deadline, pending::<()>()).await;
                    assert!(
                        elapsed.is_err(),
                        "{mode}: a timeout around pending() ended Ok"
                    );
                    let what = format!("{mode}: timeout_at(+{edge:?}) armed at +{stagger:?}");
                    vec![Armed {
                        done: Completion::now(deadline, &what),
                        ahead: edge,
                    }]
                }));
            }
            for period in [ms(1), ms(63), ms(64), ms(65)] {
                tasks.push(Box::pin(async move {
                    let start = origin + stagger;
                    let mut ticker = interval_at(start, period);
                    let ticks = (ms(200).as_nanos() / period.as_nanos()) as u32 + 1;
                    let mut armed = Vec::new();
                    for k in 0..ticks {
                        let before = Instant::now();
                        let scheduled = ticker.tick().await;
                        assert_eq!(
                            scheduled,
                            start + period * k,
                            "{mode}: tick {k} of {period:?}"
                        );
                        let what = format!("{mode}: tick {k} of {period:?} from +{stagger:?}");
                        let ahead = scheduled.saturating_duration_since(before);
                        armed.push(Armed {
                            done: Completion::now(scheduled, &what),
                            ahead,
                        });
                    }
                    armed
                }));
            }
        }
        let armed: Vec<Armed> = driver.run_all(tasks).into_iter().flatten().collect();
        assert_waited_on_time(&armed, mode);
        assert_eq!(
            armed_timers(&driver.handle()),
            [],
            "{mode}: timers left armed"
        );
    });
}

/// The 4 096 ms edge (a wheel's level 2), waited once for both modes: sleeps of 4 095,
/// 4 096 and 4 097 ms armed at once; a deadline 4 096 ms after the reactor's creation armed
/// 65 ms later (so from level 1's distance); and timers far beyond — 4 160 ms, 64³ ms ± 1,
/// an hour, `Duration::MAX` — armed and cancelled before they fire. The cancelled ones
/// never wake their waker, never expire, and are not listed as armed.
#[test]
fn the_four_second_level_edge_is_never_early_and_far_timers_cancelled_never_fire() {
    in_both_modes_at_once(|driver, mode| {
        let origin = Instant::now();
        let created = driver.created;
        let handle = driver.handle();
        let mut tasks: Vec<Task<'_, Option<Armed>>> = Vec::new();
        for edge in [ms(4095), ms(4096), ms(4097)] {
            tasks.push(Box::pin(async move {
                let nap = sleep(edge);
                let deadline = nap.deadline();
                nap.await;
                let done = Completion::now(deadline, &format!("{mode}: sleep({edge:?})"));
                Some(Armed { done, ahead: edge })
            }));
        }
        tasks.push(Box::pin(async move {
            sleep_until(origin + ms(65)).await;
            let deadline = created + ms(4096);
            let ahead = deadline - Instant::now();
            sleep_until(deadline).await;
            let what = format!("{mode}: sleep_until(created + 4096 ms) armed at +65 ms");
            Some(Armed {
                done: Completion::now(deadline, &what),
                ahead,
            })
        }));
        let stalled = Arc::new(AtomicUsize::new(0));
        let stalled_in = stalled.clone();
        tasks.push(Box::pin(async move {
            let far = [
                ms(4160),
                ms(262_143),
                ms(262_144),
                ms(262_145),
                Duration::from_secs(3600),
                Duration::MAX,
            ];
            let wakers: Vec<Arc<CountingWaker>> = far.iter().map(|_| Arc::default()).collect();
            let mut naps: Vec<Sleep> = far.iter().map(|&d| sleep(d)).collect();
            for (nap, waker) in naps.iter_mut().zip(&wakers) {
                arm_with(nap, waker);
            }
            // Cancelled 70 ms before the first of them is due, after a wheel would have
            // cascaded it down from level 2 towards level 0.
            sleep_until(origin + ms(4090)).await;
            let listed = armed_timers(&handle);
            // Only a stall of 70 ms could make one due already; the reactor may then have
            // fired it, and that is no fault.
            let overdue: Vec<bool> = naps.iter().map(Sleep::is_elapsed).collect();
            stalled_in.store(overdue.iter().filter(|&&o| o).count(), SeqCst);
            for (nap, &overdue) in naps.iter().zip(&overdue) {
                let listed = listed.contains(&nap.deadline());
                assert!(listed || overdue, "{mode}: {nap:?} not listed");
            }
            drop(naps);
            sleep_until(origin + ms(4170)).await;
            for (i, waker) in wakers.iter().enumerate() {
                let wakes = if overdue[i] { 0 } else { waker.wakes() };
                assert_eq!(wakes, 0, "{mode}: wakes of the cancelled {:?}", far[i]);
            }
            None
        }));
        let armed: Vec<Armed> = driver.run_all(tasks).into_iter().flatten().collect();
        assert_eq!(armed.len(), 4);
        assert_on_time(&armed.iter().map(|a| a.done).collect::<Vec<_>>(), mode);
        // The 4 sleeps measured, the 65 ms wait before one of them and the canceller's 2:
        // nothing else ever expired (but for any cancelled timer already due when it was
        // dropped, after a 70 ms stall).
        let stalled = stalled.load(SeqCst) as u64;
        assert!(
            (7..=7 + stalled).contains(&driver.expired),
            "{mode}: {} timers expired, expected 7 (+ {stalled} overdue)",
            driver.expired
        );
        assert_eq!(
            armed_timers(&driver.handle()),
            [],
            "{mode}: timers left armed"
        );
    });
}

// ---------------------------------------------------------------------------------------
// 2. Cancellation and reset.
// ---------------------------------------------------------------------------------------

/// A sleep polled once (armed) and dropped — due in 1 ms, 65 ms or an hour — is gone at
/// once: not listed, never woken, never expired, even after its deadline has passed.
#[test]
fn a_dropped_armed_sleep_never_wakes_never_expires_and_is_not_listed() {
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        let wakers: Vec<Arc<CountingWaker>> = (0..3).map(|_| Arc::default()).collect();
        let probe = wakers.clone();
        driver.block_on(async move {
            let mut naps = [
                sleep(ms(1)),
                sleep(ms(65)),
                sleep(Duration::from_secs(3600)),
            ];
            for (nap, waker) in naps.iter_mut().zip(&probe) {
                arm_with(nap, waker);
            }
            assert_eq!(armed_timers(&handle).len(), 3, "{mode}: armed");
            drop(naps);
            assert_eq!(armed_timers(&handle), [], "{mode}: listed after drop");
            sleep(ms(70)).await; // past the first two deadlines
        });
        let wakes: Vec<usize> = wakers.iter().map(|w| w.wakes()).collect();
        assert_eq!(wakes, [0, 0, 0], "{mode}: wakes of dropped sleeps");
        assert_eq!(driver.expired, 1, "{mode}: only the 70 ms sleep expired");
    });
}

/// 4 000 sleeps armed for random durations from 20 ms to 10 s, then dropped in random
/// order — half at once, half 10 ms later — while 1 000 others, due from 15 to 150 ms,
/// wait. No dropped one wakes or expires or stays listed; the 1 000 complete on time, none
/// early, in deadline order (one may overtake another due less than a millisecond before
/// it: a wheel's slot is a millisecond).
#[test]
fn thousands_dropped_in_random_order_leave_the_survivors_on_time_and_in_order() {
    const SURVIVORS: usize = 1000;
    const DROPPED: usize = 4000;
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        let origin = Instant::now();
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let order: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let mut tasks: Vec<Task<'_, Option<Completion>>> = (0..SURVIVORS)
            .map(|i| {
                let deadline = origin + rng.between(ms(15), ms(150));
                let order = order.clone();
                Box::pin(async move {
                    let mut nap = sleep_until(deadline);
                    // Due before its first poll (a slow start): it never waited, so its
                    // place in the order and its lateness say nothing of the timers.
                    if poll_once(&mut nap).await.is_ready() {
                        return None;
                    }
                    nap.await;
                    let done = Completion::now(deadline, &format!("{mode}: survivor #{i}"));
                    order.lock().unwrap().push(deadline);
                    Some(done)
                }) as Task<'_, _>
            })
            .collect();
        let wakers: Vec<Arc<CountingWaker>> = (0..DROPPED).map(|_| Arc::default()).collect();
        let probe = wakers.clone();
        let durations: Vec<Duration> = (0..DROPPED)
            .map(|_| rng.between(ms(20), Duration::from_secs(10)))
            .collect();
        let durations_in = durations.clone();
        let mut drop_order: Vec<usize> = (0..DROPPED).collect();
        rng.shuffle(&mut drop_order);
        // Which dropped sleeps were already due when dropped (the machine stalled): the
        // reactor may have woken those, and only those.
        let overdue: Arc<Mutex<Vec<bool>>> = Arc::new(Mutex::new(vec![false; DROPPED]));
        let overdue_seen = overdue.clone();
        let waited_for_second_batch = Arc::new(AtomicBool::new(false));
        let canceller_waited = waited_for_second_batch.clone();
        tasks.push(Box::pin(async move {
            // Each made just before it is armed: at least 20 ms ahead however slow the
            // start.
            let mut naps: Vec<Option<Sleep>> = durations_in
                .iter()
                .zip(&probe)
                .map(|(&duration, waker)| {
                    let mut nap = sleep(duration);
                    arm_with(&mut nap, waker);
                    Some(nap)
                })
                .collect();
            let (first, second) = drop_order.split_at(DROPPED / 2);
            for (k, batch) in [first, second].into_iter().enumerate() {
                if k == 1 {
                    let mut wait = sleep_until(origin + ms(10));
                    // Ready at once if arming took 10 ms: then it is no expiry.
                    canceller_waited.store(poll_once(&mut wait).await.is_pending(), SeqCst);
                    wait.await;
                }
                let mut overdue = overdue_seen.lock().unwrap();
                for &i in batch {
                    let nap = naps[i].take().expect("dropped once");
                    overdue[i] = nap.is_elapsed();
                }
            }
            None
        }));
        let survivors: Vec<Completion> = driver.run_all(tasks).into_iter().flatten().collect();
        let waited = survivors.len();
        assert!(
            waited >= SURVIVORS / 2,
            "{mode}: only {waited} survivors waited"
        );
        assert_on_time(&survivors, mode);
        let order = order.lock().unwrap();
        let mut latest = origin;
        for (k, &deadline) in order.iter().enumerate() {
            assert!(
                deadline + ms(1) > latest,
                "{mode}: completion #{k} was due {:?} before one that completed ahead of it",
                latest - deadline
            );
            latest = latest.max(deadline);
        }
        let overdue = overdue.lock().unwrap();
        let stalled = overdue.iter().filter(|&&o| o).count();
        for (i, waker) in wakers.iter().enumerate() {
            if !overdue[i] {
                let after = durations[i];
                let wakes = waker.wakes();
                assert_eq!(wakes, 0, "{mode}: dropped sleep #{i}, of {after:?}");
            }
        }
        // The survivors that waited, the canceller's one wait (unless arming took so long
        // that it was over before it began), and at most the dropped sleeps that were
        // overdue when dropped (none, unless the machine stalled).
        let expected = waited as u64 + u64::from(waited_for_second_batch.load(SeqCst));
        assert!(
            (expected..=expected + stalled as u64).contains(&driver.expired),
            "{mode}: {} timers expired, expected {expected} (+ {stalled} overdue)",
            driver.expired
        );
        assert_eq!(armed_timers(&handle), [], "{mode}: timers left armed");
    });
}

/// `Sleep::reset` across levels, each completing at the new deadline — never at the old
/// one, never early — and counted once: from an hour to 65 ms and from 4 097 to 63 ms
/// (earlier), from 2 to 65 ms and from 63 to 129 ms (later), after firing at 1 ms to 64 ms
/// on (re-armed), and 1 000 times in a row to random deadlines up to a minute out, of which
/// only the last counts.
#[test]
fn reset_earlier_later_after_firing_and_many_times_completes_only_at_the_last_deadline() {
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        driver.block_on(async move {
            let cases = [
                ("earlier", Duration::from_secs(3600), ms(65)),
                ("earlier", ms(4097), ms(63)),
                ("later", ms(2), ms(65)),
                ("later", ms(63), ms(129)),
            ];
            for (how, from, to) in cases {
                let mut nap = sleep(from);
                assert!(poll_once(&mut nap).await.is_pending());
                let deadline = Instant::now() + to;
                nap.reset(deadline);
                assert_eq!(nap.deadline(), deadline);
                assert_eq!(
                    armed_timers(&handle),
                    [deadline],
                    "{mode}: one timer, moved"
                );
                nap.await;
                let what = format!("{mode}: reset {how}, {from:?} to {to:?}");
                assert_on_time(&[Completion::now(deadline, &what)], &what);
            }

            // Fired and completed at 1 ms, then reset: armed again, completes again.
            let mut nap = sleep(ms(1));
            (&mut nap).await;
            let again = Instant::now() + ms(64);
            nap.reset(again);
            assert!(poll_once(&mut nap).await.is_pending(), "{mode}: re-armed");
            nap.await;
            let what = format!("{mode}: reset after firing");
            assert_on_time(&[Completion::now(again, &what)], &what);

            // Reset 1 000 times, armed all along: the last deadline is the only one.
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let mut nap = sleep(ms(1));
            assert!(poll_once(&mut nap).await.is_pending());
            for _ in 0..1000 {
                nap.reset(Instant::now() + rng.between(us(1), Duration::from_secs(60)));
            }
            let last = Instant::now() + ms(30);
            nap.reset(last);
            assert_eq!(
                armed_timers(&handle),
                [last],
                "{mode}: one timer after 1 001 resets"
            );
            nap.await;
            let what = format!("{mode}: after 1 001 resets");
            assert_on_time(&[Completion::now(last, &what)], &what);
        });
        // One expiry per wait: 4 cases, the first fire and its re-arm, the last reset.
        assert_eq!(driver.expired, 7, "{mode}: expired timers");
    });
}

/// An `Interval` keeps to its grid over many ticks: 300 ticks of 1 ms and 6 of 65 ms, run
/// at once, each returning exactly `start + k·period`, never before it, and the last one
/// no later than [`LATE`] after it — lateness does not pile up from tick to tick.
#[test]
fn an_interval_keeps_to_its_grid_over_hundreds_of_ticks() {
    in_each_mode(|driver, mode| {
        let start = Instant::now() + ms(1);
        let tasks: Vec<Task<'_, Vec<Completion>>> = [(ms(1), 300), (ms(65), 6)]
            .into_iter()
            .map(|(period, ticks)| {
                Box::pin(async move {
                    let mut ticker = interval_at(start, period);
                    let mut done = Vec::new();
                    for k in 0..ticks {
                        let scheduled = ticker.tick().await;
                        assert_eq!(scheduled, start + period * k, "{mode}: tick {k}");
                        let what = format!("{mode}: tick {k} of {period:?}");
                        done.push(Completion::now(scheduled, &what));
                    }
                    done
                }) as Task<'_, _>
            })
            .collect();
        for ticks in driver.run_all(tasks) {
            assert_on_time(&ticks, mode);
        }
    });
}

/// 1 000 sleeps armed for one deadline, 30 ms out: all complete, none early, and the
/// reactor expires all of them in one turn.
#[test]
fn equal_deadlines_all_expire_in_one_turn() {
    in_each_mode(|driver, mode| {
        let deadline = Instant::now() + ms(30);
        let turns = driver.turns();
        let tasks: Vec<Task<'_, (Completion, u64)>> = (0..1000)
            .map(|i| {
                let turns = turns.clone();
                Box::pin(async move {
                    sleep_until(deadline).await;
                    let done = Completion::now(deadline, &format!("{mode}: sleep #{i}"));
                    (done, turns.load(SeqCst))
                }) as Task<'_, _>
            })
            .collect();
        let results = driver.run_all(tasks);
        let done: Vec<Completion> = results.iter().map(|&(c, _)| c).collect();
        assert_on_time(&done, mode);
        let first_turn = results[0].1;
        assert!(
            results.iter().all(|&(_, turn)| turn == first_turn),
            "{mode}: completed after different turns"
        );
        assert_eq!(driver.expiring_turns, [(first_turn, 1000)], "{mode}");
    });
}

/// A deadline already past is ready at the first poll — 1 ns, 65 ms and 4 097 ms ago —
/// for `sleep_until`, `Sleep::reset`, an `interval_at`'s first tick, and `timeout_at`
/// (which elapses at its second poll, woken by itself, or returns a ready future's value):
/// none of it arms a timer or waits for a reactor turn.
#[test]
fn a_deadline_in_the_past_is_ready_without_a_reactor_turn() {
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        driver.block_on(async move {
            let now = Instant::now();
            for ago in [Duration::from_nanos(1), ms(65), ms(4097)] {
                let Some(past) = now.checked_sub(ago) else {
                    continue; // the clock started less than `ago` ago (a fresh boot)
                };
                let mut nap = sleep_until(past);
                assert!(poll_once(&mut nap).await.is_ready(), "{mode}: {ago:?} ago");

                let mut nap = sleep(Duration::from_secs(3600));
                assert!(poll_once(&mut nap).await.is_pending());
                nap.reset(past);
                assert!(
                    poll_once(&mut nap).await.is_ready(),
                    "{mode}: reset {ago:?} ago"
                );

                let mut ticker = interval_at(past, ms(1));
                let tick = poll_fn(|cx| Poll::Ready(ticker.poll_tick(cx))).await;
                assert_eq!(tick, Poll::Ready(past), "{mode}: first tick, {ago:?} ago");

                let mut late = Box::pin(timeout_at(past, pending::<()>()));
                let mut cx_polls = 0;
                let elapsed = poll_fn(|cx| {
                    cx_polls += 1;
                    late.as_mut().poll(cx)
                })
                .await;
                assert!(elapsed.is_err(), "{mode}: timeout_at {ago:?} ago");
                assert_eq!(cx_polls, 2, "{mode}: polls of a timeout_at {ago:?} ago");
                assert_eq!(timeout_at(past, async { 7 }).await, Ok(7), "{mode}");
            }
            assert_eq!(timeout(Duration::ZERO, async { 8 }).await, Ok(8), "{mode}");
            assert_eq!(armed_timers(&handle), [], "{mode}: a timer was armed");
        });
        assert_eq!(driver.turns.load(SeqCst), 0, "{mode}: the reactor turned");
        assert_eq!(driver.expired, 0, "{mode}");
    });
}

// ---------------------------------------------------------------------------------------
// 3. Many timers.
// ---------------------------------------------------------------------------------------

/// 100 000 sleeps armed on one reactor, each for a random 1 to 200 ms from the moment it
/// is armed: all complete, none early, each expired exactly once; the reactor never spins
/// (every turn but a handful expires at least one timer); those due after the last was
/// armed complete within [`CROWD_LATE`] of their deadline, and the whole run within
/// [`CROWD_LATE`] of the last deadline (both loose: see there).
#[test]
fn a_hundred_thousand_random_sleeps_all_complete_none_early_in_bounded_turns() {
    const TIMERS: usize = 100_000;
    const SPAN: Duration = Duration::from_millis(200);
    in_each_mode(|driver, mode| {
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let started = Instant::now();
        let armed = Arc::new(AtomicUsize::new(0));
        let all_armed: Arc<Mutex<Option<Instant>>> = Arc::default();
        let ready_at_once = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<Task<'_, Completion>> = (0..TIMERS)
            .map(|i| {
                let duration = rng.between(ms(1), SPAN);
                let (armed, all_armed) = (armed.clone(), all_armed.clone());
                let ready_at_once = ready_at_once.clone();
                Box::pin(async move {
                    let mut nap = sleep(duration);
                    let deadline = nap.deadline();
                    let mut polls = 0;
                    poll_fn(|cx| {
                        polls += 1;
                        let poll = Pin::new(&mut nap).poll(cx);
                        if polls == 1 {
                            if poll.is_ready() {
                                // Preempted for a millisecond before the first poll.
                                ready_at_once.fetch_add(1, SeqCst);
                            }
                            if armed.fetch_add(1, SeqCst) + 1 == TIMERS {
                                *all_armed.lock().unwrap() = Some(Instant::now());
                            }
                        }
                        poll
                    })
                    .await;
                    let at = Instant::now();
                    if at < deadline {
                        panic!("{mode}: sleep #{i} completed {:?} early", deadline - at);
                    }
                    Completion { deadline, at }
                }) as Task<'_, _>
            })
            .collect();
        let done = driver.run_all(tasks);
        let took = started.elapsed();
        let turns = driver.turns.load(SeqCst);
        let all_armed = all_armed.lock().unwrap().expect("every sleep was armed");
        let arming = all_armed - started;
        let on_time: Vec<Completion> = done
            .iter()
            .filter(|c| c.deadline > all_armed)
            .copied()
            .collect();
        eprintln!(
            "{mode}: {TIMERS} sleeps of up to {SPAN:?}, armed in {arming:?}: {turns} turns, \
             {took:?} in all; {} due after the last was armed",
            on_time.len()
        );
        assert_eq!(done.len(), TIMERS);
        // Each expired once — but for any whose deadline passed before its first poll
        // (the thread was preempted in between): those were ready without a timer.
        let ready_at_once = ready_at_once.load(SeqCst);
        assert!(
            ready_at_once < TIMERS / 100,
            "{mode}: {ready_at_once} ready at once"
        );
        assert_eq!(
            driver.expired,
            (TIMERS - ready_at_once) as u64,
            "{mode}: expired timers ({ready_at_once} were ready at the first poll)"
        );
        assert_late_by_less_than(&on_time, CROWD_LATE, mode);
        // The loop never spins: a turn ends at a deadline (and expires what is due) or
        // because one was already due; one that expired nothing is a spurious wake-up,
        // and there may be a handful of those (a signal, a stale timerfd), not hundreds.
        let idle_turns = turns - driver.expiring_turns.len() as u64;
        eprintln!("{mode}: {idle_turns} turns expired nothing");
        assert!(
            idle_turns <= 10,
            "{mode}: {idle_turns} of {turns} reactor turns expired nothing"
        );
        assert!(took < arming + SPAN + CROWD_LATE, "{mode}: took {took:?}");
    });
}
