//! Timers you can trust: never early at the edges, in both timer modes; a lateness
//! histogram that counts what it should; a high-resolution mode that really is; and a list
//! of who waits where, for task dumps.
//!
//! Most tests here run twice, once per timer mode. The runtime's `Builder` does not offer
//! the high-resolution mode yet, so those tests drive a `tempo_reactor::Reactor` by hand
//! with [`Driver`]: poll the futures that were woken, `turn` the reactor, repeat — the
//! runtime's loop with the executor taken out. Tests that need tasks and sockets use
//! `tempo::run`.
//!
//! As in `tests/time.rs`, the runtime's own timers are what is under test, so tests await
//! tempo sleeps, but never order events with a wall-clock sleep. Lower bounds are exact
//! ("never early"); upper bounds are generous, because a loaded machine may run any timer
//! late.

mod common;

use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use common::{with_hang_guard, yield_until};
use tempo_reactor::WaitingOn;
use tempo_reactor::time::{
    LatenessHistogram, interval, interval_at, sleep, sleep_until, timeout, timeout_at,
};
use tempo_reactor::{Reactor, ReactorHandle};

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// Far beyond any deadline in this file: "late" by this much means a lost timer.
const SANITY: Duration = Duration::from_secs(10);

/// The timer modes every edge test runs in: the default millisecond-rounded `epoll_wait`,
/// and the high-resolution timerfd mode.
const MODES: [Option<Duration>; 2] = [None, Some(Duration::from_micros(50))];

/// The one assertion of this file, with the numbers when it fails.
#[track_caller]
fn assert_not_early(deadline: Instant, what: &str) {
    let now = Instant::now();
    assert!(
        now >= deadline,
        "{what} returned {:?} before its deadline",
        deadline - now
    );
}

// ---------------------------------------------------------------------------------------
// A loop by hand: the reactor without the executor.
// ---------------------------------------------------------------------------------------

/// A waker that raises a flag. Everything runs on the driver's thread — the reactor wakes
/// wakers inside `turn` — so a flag is all it takes.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A future to run by hand, boxed so that tasks of different types fit one `Vec`.
type Task<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One reactor, driven by hand on the test's thread.
struct Driver {
    /// The reactor under test.
    reactor: Reactor,
}

impl Driver {
    /// A reactor in the given timer mode (see [`MODES`]), with diagnostics on.
    fn new(resolution: Option<Duration>) -> Driver {
        let mut reactor = Reactor::new().expect("create a reactor");
        reactor
            .set_timer_resolution(resolution)
            .expect("set the timer resolution");
        assert_eq!(reactor.is_high_resolution(), resolution.is_some());
        reactor.set_diagnostics(true);
        Driver { reactor }
    }

    fn handle(&self) -> ReactorHandle {
        self.reactor.handle()
    }

    /// Run `tasks` concurrently to completion, polling each only when its waker was woken,
    /// and turning the reactor (waiting as long as it takes) whenever none was.
    fn run_all<'a, T>(&mut self, tasks: Vec<Task<'a, T>>) -> Vec<T> {
        let _enter = self.reactor.enter();
        let mut tasks: Vec<_> = tasks.into_iter().map(Some).collect();
        let flags: Vec<Arc<Flag>> = tasks.iter().map(|_| Arc::default()).collect();
        let wakers: Vec<Waker> = flags.iter().map(|f| Waker::from(f.clone())).collect();
        let mut results: Vec<Option<T>> = tasks.iter().map(|_| None).collect();
        for flag in &flags {
            flag.0.store(true, Ordering::SeqCst); // poll each once to start
        }
        let mut left = tasks.len();
        while left > 0 {
            let mut polled = false;
            for (i, task) in tasks.iter_mut().enumerate() {
                if task.is_none() || !flags[i].0.swap(false, Ordering::SeqCst) {
                    continue;
                }
                polled = true;
                let mut cx = Context::from_waker(&wakers[i]);
                if let Poll::Ready(value) = task.as_mut().unwrap().as_mut().poll(&mut cx) {
                    results[i] = Some(value);
                    *task = None;
                    left -= 1;
                }
            }
            if !polled {
                self.reactor.turn(None).expect("turn the reactor");
            }
        }
        results.into_iter().map(Option::unwrap).collect()
    }

    /// Run one future to completion.
    fn block_on<'a, T>(&mut self, future: impl Future<Output = T> + 'a) -> T {
        self.run_all(vec![Box::pin(future)]).pop().unwrap()
    }
}

/// `Ready` or `Pending` at the first poll, without waiting.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Sleep for `duration`: its deadline, and whether it waited for its timer.
///
/// Only a sleep that waited is timer lateness (`time/lateness.rs`). One whose deadline has
/// already passed at its first poll — the thread was preempted past it between creating the
/// sleep and polling it, which a loaded 2-core machine does — completes at once, and the
/// reactor rightly leaves it out; so a test that counts the histogram counts these.
async fn nap(duration: Duration) -> (Instant, bool) {
    let mut nap = sleep(duration);
    let deadline = nap.deadline();
    let waited = poll_once(&mut nap).await.is_pending();
    if waited {
        nap.await;
    }
    (deadline, waited)
}

/// Run `test` in each timer mode, each on a fresh thread under the hang guard.
fn in_each_mode(test: fn(&mut Driver, &str)) {
    for resolution in MODES {
        with_hang_guard(move || {
            let mode = match resolution {
                None => "millisecond mode".to_string(),
                Some(r) => format!("high-resolution mode ({r:?})"),
            };
            test(&mut Driver::new(resolution), &mode);
        });
    }
}

// ---------------------------------------------------------------------------------------
// Never early, at the edges.
// ---------------------------------------------------------------------------------------

#[test]
fn a_deadline_now_or_past_is_ready_at_the_first_poll_and_is_not_lateness() {
    in_each_mode(|driver, mode| {
        driver.block_on(async {
            let now = Instant::now();
            let past = now.checked_sub(us(1500)).unwrap_or(now);
            for (deadline, what) in [(now, "now"), (past, "1.5 ms ago")] {
                let mut nap = sleep_until(deadline);
                assert!(
                    poll_once(&mut nap).await.is_ready(),
                    "{mode}: sleep_until({what}) was pending"
                );
            }
            let mut zero = sleep(Duration::ZERO);
            assert!(poll_once(&mut zero).await.is_ready(), "{mode}: sleep(0)");
        });
        // None of them waited for the reactor: nothing to count as lateness.
        assert_eq!(driver.handle().timer_lateness().total, 0, "{mode}");
    });
}

#[test]
fn sleeps_a_hair_ahead_never_return_before_their_deadline() {
    const AHEAD: [Duration; 6] = [
        Duration::from_nanos(1),
        Duration::from_micros(1),
        Duration::from_micros(999),
        Duration::from_millis(1),
        Duration::from_nanos(1_000_001),
        Duration::from_micros(1999),
    ];
    in_each_mode(|driver, mode| {
        driver.block_on(async {
            for ahead in AHEAD {
                for _ in 0..20 {
                    let deadline = Instant::now() + ahead;
                    sleep_until(deadline).await;
                    assert_not_early(deadline, &format!("{mode}: sleep_until(+{ahead:?})"));

                    let start = Instant::now();
                    let nap = sleep(ahead);
                    let deadline = nap.deadline();
                    assert!(deadline >= start + ahead, "{mode}: deadline of sleep");
                    nap.await;
                    assert_not_early(deadline, &format!("{mode}: sleep({ahead:?})"));
                }
            }
        });
    });
}

#[test]
fn reset_to_earlier_later_or_past_is_never_early_and_never_at_the_old_deadline() {
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        let recorded = || handle.timer_lateness().total;
        driver.block_on(async {
            // Earlier: an hour, once armed, reset to 300 µs from now.
            let mut nap = sleep(Duration::from_secs(3600));
            assert!(poll_once(&mut nap).await.is_pending());
            let earlier = Instant::now() + us(300);
            nap.reset(earlier);
            assert_eq!(nap.deadline(), earlier);
            let start = Instant::now();
            (&mut nap).await;
            assert_not_early(earlier, &format!("{mode}: reset earlier"));
            assert!(
                start.elapsed() < SANITY,
                "{mode}: the old deadline was kept"
            );

            // Later: 300 µs, once armed, reset to 2 ms: nothing at the old deadline.
            let mut nap = sleep(us(300));
            assert!(poll_once(&mut nap).await.is_pending());
            let later = Instant::now() + us(2000);
            nap.reset(later);
            (&mut nap).await;
            assert_not_early(later, &format!("{mode}: reset later"));
            assert_eq!(recorded(), 2, "{mode}: both waited for the timer");

            // Past: an hour, once armed, reset to a deadline already gone: ready at once.
            let mut nap = sleep(Duration::from_secs(3600));
            assert!(poll_once(&mut nap).await.is_pending());
            nap.reset(Instant::now());
            assert!(
                poll_once(&mut nap).await.is_ready(),
                "{mode}: reset to past"
            );
            assert_eq!(
                recorded(),
                2,
                "{mode}: a reset into the past is not lateness"
            );

            // After completing: a sleep may be reset and awaited again.
            let again = Instant::now() + us(700);
            nap.reset(again);
            assert!(poll_once(&mut nap).await.is_pending(), "{mode}: re-armed");
            nap.await;
            assert_not_early(again, &format!("{mode}: reset after completing"));
            assert_eq!(recorded(), 3, "{mode}");
        });
    });
}

#[test]
fn interval_ticks_are_on_schedule_and_never_early() {
    in_each_mode(|driver, mode| {
        driver.block_on(async {
            for period in [us(700), Duration::from_nanos(1_000_001)] {
                let start = Instant::now() + us(100);
                let mut ticker = interval_at(start, period);
                for k in 0..20 {
                    let scheduled = ticker.tick().await;
                    assert_eq!(scheduled, start + period * k, "{mode}: tick {k}");
                    assert_not_early(scheduled, &format!("{mode}: tick {k} of {period:?}"));
                }
            }
            // The first tick of `interval` is at once.
            let before = Instant::now();
            let first = interval(us(500)).tick().await;
            assert!(first >= before && first <= Instant::now(), "{mode}");
        });
    });
}

#[test]
fn a_timeout_fires_at_its_deadline_and_a_future_ready_then_still_wins() {
    in_each_mode(|driver, mode| {
        driver.block_on(async {
            for ahead in [us(1), us(999), us(1000), Duration::from_nanos(1_000_001)] {
                let deadline = Instant::now() + ahead;
                let result = timeout_at(deadline, pending::<()>()).await;
                assert!(result.is_err(), "{mode}: timeout around pending()");
                assert_not_early(deadline, &format!("{mode}: timeout_at(+{ahead:?})"));

                // The inner future becomes ready exactly at the deadline: it is polled
                // before the clock is checked, so its value wins.
                let deadline = Instant::now() + ahead;
                let result = timeout_at(deadline, sleep_until(deadline)).await;
                assert_eq!(result, Ok(()), "{mode}: ready at the deadline, +{ahead:?}");
                assert_not_early(deadline, &format!("{mode}: inner sleep"));
            }
            assert_eq!(timeout(Duration::ZERO, async { 7 }).await, Ok(7), "{mode}");
        });
    });
}

/// One of [`random_sleeps`]: its lateness, and whether it waited.
type RandomSleep = Pin<Box<dyn Future<Output = (Duration, bool)> + Send>>;

/// `n` sleeps of pseudo-random durations from 10 µs to 20 ms, each checking "never early" as it
/// completes and returning its lateness as the task itself measured it, and whether it
/// waited (see [`nap`]).
fn random_sleeps(n: usize, seed: u64) -> Vec<RandomSleep> {
    let mut x = seed;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let duration = Duration::from_nanos(10_000 + x % 19_990_000);
            Box::pin(async move {
                let (deadline, waited) = nap(duration).await;
                assert_not_early(deadline, &format!("sleep #{i} of {duration:?}"));
                (Instant::now() - deadline, waited)
            }) as RandomSleep
        })
        .collect()
}

#[test]
fn many_concurrent_random_sleeps_all_complete_and_none_early() {
    in_each_mode(|driver, mode| {
        let start = Instant::now();
        let tasks = random_sleeps(500, 0x9e37_79b9_7f4a_7c15);
        let lateness = driver.run_all(tasks.into_iter().map(|t| t as Task<_>).collect());
        assert_eq!(lateness.len(), 500, "{mode}");
        let waited = lateness.iter().filter(|(_, waited)| *waited).count() as u64;
        assert!(
            start.elapsed() < SANITY,
            "{mode}: took {:?}",
            start.elapsed()
        );
        // Every one that waited is in the histogram.
        assert_eq!(driver.handle().timer_lateness().total, waited, "{mode}");
    });
}

#[test]
fn many_concurrent_random_sleeps_in_the_runtime_none_early() {
    with_hang_guard(|| {
        tempo::run(async {
            let handle = ReactorHandle::current().expect("the runtime's reactor");
            handle.set_diagnostics(true);
            let tasks: Vec<_> = random_sleeps(500, 0x2545_f491_4f6c_dd1d)
                .into_iter()
                .map(tempo::spawn)
                .collect();
            let mut waited = 0;
            for task in tasks {
                waited += u64::from(task.await.expect("a sleeping task").1);
            }
            assert_eq!(handle.timer_lateness().total, waited);
        })
    });
}

// ---------------------------------------------------------------------------------------
// The lateness histogram.
// ---------------------------------------------------------------------------------------

#[test]
fn the_histogram_counts_each_timer_that_waited_once_in_a_plausible_bucket() {
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        let mut measured = Vec::new();
        driver.block_on(async {
            for n in 0..40u64 {
                let (deadline, waited) = nap(us(100 + 97 * n)).await; // 0.1 to 3.9 ms
                if waited {
                    measured.push(Instant::now() - deadline);
                }
            }
            // Not lateness: ready at the first poll, or dropped before the deadline.
            sleep(Duration::ZERO).await;
            sleep_until(Instant::now()).await;
            let mut dropped = sleep(us(500));
            assert!(poll_once(&mut dropped).await.is_pending());
            drop(dropped);
        });
        let h = handle.timer_lateness();
        let waited = measured.len() as u64;
        assert_eq!(h.total, waited, "{mode}: {h:#}");
        assert_eq!(h.counts.iter().sum::<u64>(), waited, "{mode}");
        // Each completion was recorded at its poll, just before the task measured it, so
        // the histogram is never above what the tasks saw.
        let seen_max = *measured.iter().max().unwrap();
        assert!(h.max <= seen_max, "{mode}: max {:?} > {seen_max:?}", h.max);
        assert!(h.mean().unwrap() <= h.max);
        assert!(h.p50().unwrap() <= h.p99().unwrap() && h.p99().unwrap() <= h.max);
        // Nothing in the open-ended bucket (≥ 1.05 s) unless the machine stalled a second.
        assert!(h.max < SANITY, "{mode}");
        assert_eq!(h.counts[LatenessHistogram::BUCKETS - 1], 0, "{mode}: {h:#}");
        // Each count sits in the bucket of a lateness some task saw (± a few µs of
        // difference between the poll and the task's measurement).
        for (i, &count) in h.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            let (lower, _) = LatenessHistogram::bucket_range(i);
            assert!(
                measured.iter().any(|&m| m >= lower),
                "{mode}: {count} in bucket {i} (≥ {lower:?}) but no task was that late"
            );
        }
        eprintln!("{mode}: {h:#}");

        handle.reset_timer_lateness();
        assert_eq!(handle.timer_lateness().total, 0, "{mode}: reset");
    });
}

#[test]
fn with_diagnostics_off_nothing_is_recorded() {
    with_hang_guard(|| {
        let mut driver = Driver::new(None);
        let handle = driver.handle();
        // How many of `n` naps waited (see [`nap`]).
        let naps = |n: usize| async move {
            let mut waited = 0;
            for _ in 0..n {
                waited += u64::from(nap(us(300)).await.1);
            }
            waited
        };
        handle.set_diagnostics(false);
        assert!(!handle.diagnostics());
        driver.block_on(naps(10));
        assert_eq!(handle.timer_lateness().total, 0, "recorded while off");

        handle.set_diagnostics(true);
        let waited = driver.block_on(naps(10));
        assert_eq!(
            handle.timer_lateness().total,
            waited,
            "not recorded while on"
        );

        handle.set_diagnostics(false);
        driver.block_on(naps(10));
        assert_eq!(
            handle.timer_lateness().total,
            waited,
            "recorded after switching off"
        );
    });
}

#[test]
fn an_interval_catching_up_on_missed_ticks_is_not_lateness() {
    with_hang_guard(|| {
        let mut driver = Driver::new(None);
        let handle = driver.handle();
        driver.block_on(async {
            // Long enough that the tick after the burst is still ahead on a loaded machine.
            let period = Duration::from_millis(20);
            let mut ticker = interval(period);
            let t0 = ticker.tick().await; // at once: not a wait
            assert_eq!(handle.timer_lateness().total, 0);
            // Busy (not sleeping) past three more ticks: the loop is held up.
            while Instant::now() < t0 + period * 3 + us(1000) {
                std::hint::spin_loop();
            }
            for k in 1..=3 {
                assert_eq!(ticker.tick().await, t0 + period * k);
            }
            assert_eq!(handle.timer_lateness().total, 0, "a burst tick counted");
            // The next tick is in the future: the task waits for it, and that counts — unless
            // a loaded machine preempted this thread past it, when it is due at the first
            // poll and rightly does not count. Poll once by hand to know which.
            let mut next = std::pin::pin!(ticker.tick());
            let (at, waited) = match poll_fn(|cx| Poll::Ready(next.as_mut().poll(cx))).await {
                Poll::Ready(at) => (at, false),
                Poll::Pending => (next.await, true),
            };
            assert_eq!(at, t0 + period * 4);
            assert_eq!(handle.timer_lateness().total, u64::from(waited));
        });
    });
}

#[test]
fn the_histogram_is_readable_from_another_thread() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ReactorHandle>();
    send_sync::<LatenessHistogram>();
    with_hang_guard(|| {
        let mut driver = Driver::new(None);
        let handle = driver.handle();
        // Only a sleep that waited counts (see `lateness_of_short_sleeps`).
        let waited = driver.block_on(async {
            let mut waited = 0;
            for _ in 0..5 {
                waited += u64::from(nap(us(200)).await.1);
            }
            waited
        });
        let here = handle.timer_lateness();
        let there = std::thread::spawn(move || handle.timer_lateness())
            .join()
            .expect("reader thread");
        assert_eq!(here.total, waited);
        assert_eq!(there, here);
    });
}

// ---------------------------------------------------------------------------------------
// The high-resolution mode.
// ---------------------------------------------------------------------------------------

/// 200 sleeps of 200 µs, one after the other: each one's lateness as its task measured it
/// (sorted), how many of them waited for their timer, and the reactor's histogram.
///
/// A sleep counts as timer lateness only if it waited (`time/lateness.rs`): one whose
/// deadline had already passed at its first poll — the thread was preempted for 200 µs
/// between creating it and awaiting it, which a loaded 2-core machine does — completes at
/// once, and the reactor rightly leaves it out. So each sleep is polled once by hand first,
/// to know which kind it was.
fn lateness_of_short_sleeps(
    resolution: Option<Duration>,
) -> (Vec<Duration>, usize, LatenessHistogram) {
    with_hang_guard(move || {
        let mut driver = Driver::new(resolution);
        let (mut lateness, waited) = driver.block_on(async {
            let mut lateness = Vec::new();
            let mut waited = 0;
            for _ in 0..200 {
                let (deadline, did_wait) = nap(us(200)).await;
                waited += usize::from(did_wait);
                assert_not_early(deadline, "a 200 µs sleep");
                lateness.push(Instant::now() - deadline);
            }
            (lateness, waited)
        });
        lateness.sort();
        (lateness, waited, driver.handle().timer_lateness())
    })
}

#[cfg(target_os = "linux")]
#[test]
fn high_resolution_mode_wakes_200us_sleeps_well_within_a_millisecond() {
    let (coarse, coarse_waited, coarse_histogram) = lateness_of_short_sleeps(None);
    let (fine, fine_waited, fine_histogram) = lateness_of_short_sleeps(Some(us(50)));
    let pct = |v: &[Duration], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    eprintln!(
        "200 µs sleeps, lateness p50 / p99 / max: millisecond mode {:?} / {:?} / {:?}; \
         high-resolution mode {:?} / {:?} / {:?}",
        pct(&coarse, 0.5),
        pct(&coarse, 0.99),
        coarse[199],
        pct(&fine, 0.5),
        pct(&fine, 0.99),
        fine[199],
    );
    eprintln!("millisecond mode: {coarse_histogram:#}\nhigh-resolution mode: {fine_histogram:#}");
    // The millisecond mode waits for epoll's 1 ms timeout: ~800 µs late at least.
    assert!(
        pct(&coarse, 0.5) > us(500),
        "millisecond mode: median lateness {:?}: was the timeout not rounded up?",
        pct(&coarse, 0.5)
    );
    // The timerfd ends the wait at the deadline; a noisy 2-core VM still does it in tens
    // of microseconds, so 500 µs is generous.
    assert!(
        pct(&fine, 0.5) < us(500),
        "high-resolution mode: median lateness {:?}",
        pct(&fine, 0.5)
    );
    // The reactors' own histograms tell the same story, counting every sleep that waited.
    assert_eq!(
        (coarse_histogram.total, fine_histogram.total),
        (coarse_waited as u64, fine_waited as u64)
    );
    assert!(
        fine_histogram.p50() < coarse_histogram.p50(),
        "{fine_histogram} vs {coarse_histogram}"
    );
}

// ---------------------------------------------------------------------------------------
// Who waits where: `ReactorHandle::for_each_waiter`.
// ---------------------------------------------------------------------------------------

/// What `for_each_waiter` visited, collected.
type Waiters = Vec<(Waker, WaitingOn)>;

/// Everything parked in the reactor, collected on another thread (as a monitor would).
fn waiters_from_another_thread(handle: &ReactorHandle) -> Waiters {
    let handle = handle.clone();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        handle.for_each_waiter(|waker, on| all.push((waker.clone(), on)));
        all
    })
    .join()
    .expect("the dump thread")
}

/// The waker of the task that polls this, and the time it was polled.
async fn my_waker() -> Waker {
    poll_fn(|cx| Poll::Ready(cx.waker().clone())).await
}

#[test]
fn for_each_waiter_finds_a_task_parked_on_a_read_and_one_on_a_sleep() {
    with_hang_guard(|| {
        tempo::run(async {
            let reactor = ReactorHandle::current().expect("the runtime's reactor");
            let listener = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut client = tempo::net::TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();

            let parked: Arc<Mutex<Vec<Waker>>> = Arc::default();
            let reader = tempo::spawn({
                let parked = parked.clone();
                async move {
                    let me = my_waker().await;
                    parked.lock().unwrap().push(me);
                    let mut buf = [0; 8];
                    server.read(&mut buf).await.unwrap()
                }
            });
            let due = Instant::now() + Duration::from_secs(3600);
            let sleeper = tempo::spawn({
                let parked = parked.clone();
                async move {
                    let me = my_waker().await;
                    parked.lock().unwrap().push(me);
                    sleep_until(due).await;
                }
            });
            yield_until("both tasks to have started", || {
                parked.lock().unwrap().len() == 2
            })
            .await;
            let (reader_waker, sleeper_waker) = {
                let parked = parked.lock().unwrap();
                (parked[0].clone(), parked[1].clone())
            };
            // The reader polled its socket once it started; one more yield and it has
            // parked, but do not count on it: look until it shows.
            let of = |all: &[(Waker, WaitingOn)], task: &Waker| -> Vec<WaitingOn> {
                all.iter()
                    .filter(|(w, _)| w.will_wake(task))
                    .map(|&(_, on)| on)
                    .collect()
            };
            let mut all = Vec::new();
            yield_until("the reader to park on its socket", || {
                all = waiters_from_another_thread(&reactor);
                !of(&all, &reader_waker).is_empty()
            })
            .await;

            let reader_on = of(&all, &reader_waker);
            assert!(
                matches!(reader_on[..], [WaitingOn::Read { .. }]),
                "the reader waits on {reader_on:?}"
            );
            assert!(reader_on[0].to_string().starts_with("read on socket #"));
            let sleeper_on = of(&all, &sleeper_waker);
            assert_eq!(sleeper_on, [WaitingOn::Timer { deadline: due }]);
            let text = sleeper_on[0].to_string();
            assert!(
                ["timer, due in 3600 s", "timer, due in 3599 s"].contains(&text.as_str()),
                "{text}"
            );

            // The visitor may use the reactor: the locks are released before it runs. (A
            // visitor that deadlocked would trip the hang guard.)
            let (mut outer, mut nested) = (0, 0);
            reactor.for_each_waiter(|_, _| {
                outer += 1;
                reactor.for_each_waiter(|_, _| nested += 1);
                let _ = reactor.timer_lateness();
            });
            assert!(outer >= 2 && nested >= outer * 2, "{outer} then {nested}");

            // Woken, a waiter is no longer parked; cancelled, neither is a timer.
            client.write_all(b"hi").await.unwrap();
            assert_eq!(reader.await.unwrap(), 2);
            sleeper.abort();
            assert!(sleeper.await.unwrap_err().is_cancelled());
            let all = waiters_from_another_thread(&reactor);
            assert_eq!(
                of(&all, &reader_waker),
                [],
                "the woken reader is still listed"
            );
            assert_eq!(
                of(&all, &sleeper_waker),
                [],
                "the cancelled sleep is still listed"
            );
        })
    });
}

#[test]
fn for_each_waiter_names_the_exact_waker_and_deadline_by_hand() {
    in_each_mode(|driver, mode| {
        let handle = driver.handle();
        let due = Instant::now() + SANITY;
        let tasks: Vec<Task<'_, Option<Waiters>>> = vec![Box::pin(async move {
            let mut nap = sleep_until(due);
            let pending = poll_once(&mut nap).await;
            assert!(pending.is_pending());
            let me = my_waker().await;
            let all = waiters_from_another_thread(&ReactorHandle::current().unwrap());
            let mine: Vec<_> = all.iter().filter(|(w, _)| w.will_wake(&me)).collect();
            assert_eq!(mine.len(), 1, "{mode}: {all:?}");
            assert_eq!(mine[0].1, WaitingOn::Timer { deadline: due }, "{mode}");
            Some(all)
        })];
        let all = driver.run_all(tasks).pop().flatten().unwrap();
        assert_eq!(all.len(), 1, "{mode}: only the one timer");
        // The sleep was dropped at the end of the task: nothing is parked any more.
        let mut left = 0;
        handle.for_each_waiter(|_, _| left += 1);
        assert_eq!(left, 0, "{mode}");
    });
}

// ---------------------------------------------------------------------------------------
// A waker that panics does not break the turn.
// ---------------------------------------------------------------------------------------

/// A waker whose `wake` panics: what a buggy foreign executor polling a tempo future
/// stores in the reactor.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("PanickingWaker::wake panics, as this test asks");
    }
}

/// The reactor wakes what it collected in a turn one after another. A panic in one `wake`
/// must neither unwind out of `turn` nor leave the wakers after it unwoken: those tasks
/// would wait for ever on readiness or a deadline that has already come. Here a panicking
/// waker sits first in both queues — the earliest timer and the first ready socket — and
/// every flag behind it must still be raised by the same turn, which returns `Ok`.
#[test]
fn a_panicking_waker_is_contained_and_every_other_waker_is_still_woken() {
    with_hang_guard(|| {
        let mut reactor = Reactor::new().expect("create a reactor");
        let handle = reactor.handle();
        let _enter = reactor.enter();
        let panicking = Waker::from(Arc::new(PanickingWaker));

        // Timers: the panicking waker on the earliest deadline, flags on later ones.
        let start = Instant::now();
        let mut first = sleep_until(start + Duration::from_millis(2));
        let mut later: Vec<_> = (3..6)
            .map(|ms| sleep_until(start + Duration::from_millis(ms)))
            .collect();
        let timer_flags: Vec<Arc<Flag>> = later.iter().map(|_| Arc::default()).collect();
        assert!(
            Pin::new(&mut first)
                .poll(&mut Context::from_waker(&panicking))
                .is_pending()
        );
        for (nap, flag) in later.iter_mut().zip(&timer_flags) {
            let waker = Waker::from(Arc::clone(flag));
            assert!(
                Pin::new(nap)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
            );
        }

        // Sockets: three UDP sockets waiting to read, the panicking waker on the first.
        let target = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let mut sockets: Vec<_> = (0..3)
            .map(|_| mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap())
            .collect();
        let registrations: Vec<_> = sockets
            .iter_mut()
            .map(|s| {
                tempo_reactor::Registration::new(s, mio::Interest::READABLE, &handle)
                    .expect("register")
            })
            .collect();
        let io_flags: Vec<Arc<Flag>> = (1..3).map(|_| Arc::default()).collect();
        for (i, registration) in registrations.iter().enumerate() {
            let waker = match i {
                0 => panicking.clone(),
                _ => Waker::from(Arc::clone(&io_flags[i - 1])),
            };
            let ready = registration.poll_ready(
                &mut Context::from_waker(&waker),
                tempo_reactor::Direction::Read,
            );
            assert!(
                ready.is_pending(),
                "socket {i} readable before any datagram"
            );
        }
        for socket in &sockets {
            let to = socket.local_addr().unwrap();
            target.send_to(b"wake", to).expect("send a datagram");
        }

        // Turn until every flag is up; each turn must return, not unwind.
        let raised = |flags: &[Arc<Flag>]| flags.iter().all(|f| f.0.load(Ordering::SeqCst));
        while !(raised(&timer_flags) && raised(&io_flags)) {
            let turned =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reactor.turn(None)));
            match turned {
                Ok(result) => {
                    result.expect("turn the reactor");
                }
                Err(_) => panic!("a waker's panic unwound out of Reactor::turn"),
            }
        }
        drop(registrations);
    });
}

/// A task parked on an armed sleep; whoever else holds the sleep (here the test itself,
/// as a watchdog sharing it would) resets it into the past. The task must be woken to see
/// that it is over: the timer will never fire again to wake it (found by review: the
/// wheel once left the fired timer with the parked waker inside).
#[test]
fn a_reset_into_the_past_wakes_the_task_parked_on_the_sleep() {
    with_hang_guard(|| {
        let mut reactor = Reactor::new().expect("create a reactor");
        let _enter = reactor.enter();
        let parked = Arc::new(Flag::default());
        let waker = Waker::from(parked.clone());
        let mut nap = sleep(Duration::from_secs(10));
        assert!(
            Pin::new(&mut nap)
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        nap.reset(Instant::now() - Duration::from_millis(1));
        // Woken at once by the reset, with no turn of the reactor needed.
        assert!(
            parked.0.load(Ordering::SeqCst),
            "the parked task was not woken"
        );
        assert!(
            Pin::new(&mut nap)
                .poll(&mut Context::from_waker(&waker))
                .is_ready(),
            "a sleep reset into the past is over"
        );
        reactor.turn(Some(Duration::ZERO)).expect("turn");
    });
}
