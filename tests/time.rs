//! Timers: what `tempo::time` promises about when things wake.
//!
//! Here the runtime's own timer is the thing under test, so tests await tempo sleeps; what
//! they never do is order events with a wall-clock sleep. Lower bounds are exact ("never
//! early"); upper bounds are only generous sanity checks, because a loaded machine may run
//! any timer late.

mod common;

use std::future::{Future, pending};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{with_hang_guard, yield_until};
use tempo::time::{
    Elapsed, MissedTickBehavior, Sleep, interval, interval_at, sleep, sleep_until, timeout,
    timeout_at,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Far beyond any deadline in this file: "late" means a lost timer, not a slow machine.
const SANITY: Duration = Duration::from_secs(10);

#[test]
fn timers_fire_in_deadline_order_whatever_order_they_were_set_in() {
    // Deadlines 3 ms apart, spawned shuffled.
    const OFFSETS_MS: [u64; 20] = [
        27, 3, 51, 15, 39, 0, 57, 9, 33, 21, 45, 6, 54, 18, 30, 12, 48, 24, 42, 36,
    ];
    with_hang_guard(|| {
        tempo::run(async {
            let base = Instant::now() + ms(20);
            let fired = Arc::new(Mutex::new(Vec::new()));
            let tasks: Vec<_> = OFFSETS_MS
                .iter()
                .map(|&offset| {
                    let fired = fired.clone();
                    tempo::spawn(async move {
                        sleep_until(base + ms(offset)).await;
                        fired.lock().unwrap().push(offset);
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("timer task");
            }
            let mut expected = OFFSETS_MS.to_vec();
            expected.sort();
            assert_eq!(*fired.lock().unwrap(), expected);
        })
    });
}

#[test]
fn many_concurrent_timers_all_fire_and_none_early() {
    with_hang_guard(|| {
        tempo::run(async {
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let tasks: Vec<_> = (0..1000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let delay = Duration::from_micros(x % 100_000);
                    tempo::spawn(async move {
                        let deadline = Instant::now() + delay;
                        sleep(delay).await;
                        Instant::now() >= deadline
                    })
                })
                .collect();
            for (i, task) in tasks.into_iter().enumerate() {
                assert!(task.await.expect("timer task"), "timer {i} fired early");
            }
        })
    });
}

#[test]
fn sleep_never_returns_before_its_deadline() {
    with_hang_guard(|| {
        tempo::run(async {
            let all = Instant::now();
            for n in 1..=20 {
                let start = Instant::now();
                let nap = sleep(ms(n));
                let deadline = nap.deadline();
                assert!(deadline >= start + ms(n), "deadline of sleep({n} ms)");
                nap.await;
                assert!(Instant::now() >= deadline, "sleep({n} ms) returned early");
                assert!(start.elapsed() >= ms(n), "sleep({n} ms) returned early");
            }
            assert!(
                all.elapsed() < SANITY,
                "210 ms of sleeps took {:?}",
                all.elapsed()
            );
        })
    });
}

/// Polls a `Sleep` exactly once, drops it, and stays pending for ever, counting every poll
/// it receives. Any poll after the first is a wake the dropped timer should not have sent.
struct PollSleepOnceThenDropIt {
    sleep: Option<Pin<Box<Sleep>>>,
    polls: Arc<AtomicUsize>,
}

impl Future for PollSleepOnceThenDropIt {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if let Some(mut sleep) = self.sleep.take() {
            assert!(
                sleep.as_mut().poll(cx).is_pending(),
                "a 10 ms sleep was ready"
            );
            drop(sleep);
        }
        Poll::Pending
    }
}

#[test]
fn a_dropped_sleep_never_wakes_its_task() {
    with_hang_guard(|| {
        tempo::run(async {
            let polls = Arc::new(AtomicUsize::new(0));
            let dropper = tempo::spawn(PollSleepOnceThenDropIt {
                sleep: Some(Box::pin(sleep(ms(10)))),
                polls: polls.clone(),
            });
            yield_until("the task's first poll", || {
                polls.load(Ordering::SeqCst) == 1
            })
            .await;

            sleep(ms(60)).await; // well past the dropped sleep's deadline
            assert_eq!(
                polls.load(Ordering::SeqCst),
                1,
                "polls after the sleep was dropped"
            );

            dropper.abort();
            assert!(dropper.await.unwrap_err().is_cancelled());
        })
    });
}

#[test]
fn a_timeout_around_a_future_that_never_finishes_elapses() {
    with_hang_guard(|| {
        tempo::run(async {
            let start = Instant::now();
            let result: Result<(), Elapsed> = timeout(ms(20), pending()).await;
            let elapsed = result.expect_err("timeout around pending() gave a value");
            assert!(
                start.elapsed() >= ms(20),
                "timed out early: {:?}",
                start.elapsed()
            );
            assert!(!elapsed.to_string().is_empty(), "Elapsed has a message");

            let deadline = Instant::now() + ms(15);
            assert!(timeout_at(deadline, pending::<()>()).await.is_err());
            assert!(
                Instant::now() >= deadline,
                "timeout_at fired before its deadline"
            );
        })
    });
}

#[test]
fn a_timeout_whose_future_finishes_first_returns_the_value() {
    with_hang_guard(|| {
        tempo::run(async {
            let start = Instant::now();
            let value = timeout(SANITY, async {
                sleep(ms(5)).await;
                42
            })
            .await;
            assert_eq!(
                value.expect("timeout fired although the future finished"),
                42
            );
            assert!(start.elapsed() < SANITY);

            let value = timeout_at(Instant::now() + SANITY, async { "ready at once" }).await;
            assert_eq!(value.expect("timeout_at fired"), "ready at once");
        })
    });
}

#[test]
fn sleep_until_an_instant_in_the_past_is_ready_on_its_first_poll() {
    with_hang_guard(|| {
        tempo::run(async {
            let past = Instant::now();
            // Make sure `past` really is in the past by the time we poll.
            while Instant::now() == past {
                std::hint::spin_loop();
            }
            let mut nap = Box::pin(sleep_until(past));
            let first = std::future::poll_fn(|cx| Poll::Ready(nap.as_mut().poll(cx))).await;
            assert!(
                first.is_ready(),
                "sleep_until(past) was pending on its first poll"
            );

            let mut zero = Box::pin(sleep(Duration::ZERO));
            let first = std::future::poll_fn(|cx| Poll::Ready(zero.as_mut().poll(cx))).await;
            assert!(first.is_ready(), "sleep(0) was pending on its first poll");
        })
    });
}

#[test]
fn reset_moves_a_pending_sleep_earlier_or_later() {
    with_hang_guard(|| {
        tempo::run(async {
            // Earlier: a one-hour sleep, once registered, reset to 10 ms from now.
            let mut nap = Box::pin(sleep(Duration::from_secs(3600)));
            let first = std::future::poll_fn(|cx| Poll::Ready(nap.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            let earlier = Instant::now() + ms(10);
            nap.as_mut().reset(earlier);
            assert_eq!(nap.deadline(), earlier);
            nap.await;
            assert!(Instant::now() >= earlier, "reset sleep fired early");

            // Later: a 10 ms sleep, once registered, reset to 40 ms from now must not
            // fire at its old deadline.
            let mut nap = Box::pin(sleep(ms(10)));
            let first = std::future::poll_fn(|cx| Poll::Ready(nap.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            let later = Instant::now() + ms(40);
            nap.as_mut().reset(later);
            nap.await;
            assert!(
                Instant::now() >= later,
                "reset sleep fired at its old deadline"
            );
        })
    });
}

/// What `tick()` returns, and when, after a task fell behind an interval.
///
/// The interval has period 40 ms and first ticks at t0; the task then wakes up late, at
/// t0 + 130 ms, so the ticks due at t0+40, t0+80 and t0+120 were missed.
struct AfterMissedTicks {
    t0: Instant,
    /// When the task came back, measured just before its next `tick()`.
    resumed: Instant,
    /// The next four ticks: (what `tick` returned, when it returned).
    ticks: Vec<(Instant, Instant)>,
}

const PERIOD: Duration = Duration::from_millis(40);

fn miss_three_ticks(behavior: MissedTickBehavior) -> AfterMissedTicks {
    with_hang_guard(move || {
        tempo::run(async move {
            let created = Instant::now();
            let mut ticker = interval(PERIOD);
            ticker.set_missed_tick_behavior(behavior);
            let t0 = ticker.tick().await;
            assert!(created.elapsed() < PERIOD, "the first tick is immediate");
            assert!(t0 <= Instant::now());

            sleep_until(t0 + PERIOD * 3 + ms(10)).await;
            let resumed = Instant::now();
            let mut ticks = Vec::new();
            for _ in 0..4 {
                let returned = ticker.tick().await;
                ticks.push((returned, Instant::now()));
            }
            AfterMissedTicks { t0, resumed, ticks }
        })
    })
}

#[test]
fn interval_burst_catches_up_on_missed_ticks_at_once() {
    let AfterMissedTicks { t0, resumed, ticks } = miss_three_ticks(MissedTickBehavior::Burst);
    let returned: Vec<_> = ticks.iter().map(|&(r, _)| r).collect();
    let expected: Vec<_> = (1..=4).map(|k| t0 + PERIOD * k).collect();
    assert_eq!(
        returned, expected,
        "Burst returns every scheduled tick, in order"
    );
    for &(scheduled, at) in &ticks {
        assert!(at >= scheduled, "a tick returned before its time");
    }
    // The three missed ticks came back without waiting for another period.
    assert!(
        ticks[2].1 < resumed + PERIOD,
        "missed ticks were not burst out"
    );
}

#[test]
fn interval_delay_restarts_the_period_from_the_late_tick() {
    let AfterMissedTicks { t0, resumed, ticks } = miss_three_ticks(MissedTickBehavior::Delay);
    let (late, late_at) = ticks[0];
    assert_eq!(
        late,
        t0 + PERIOD,
        "the first missed tick is returned at once"
    );
    assert!(late_at < resumed + PERIOD, "the late tick waited");
    // The new schedule starts a period after the late tick was taken, off the old grid
    // (whose next point, t0 + 160 ms, is before resumed + 40 ms).
    let (restart, _) = ticks[1];
    assert!(
        restart >= resumed + PERIOD,
        "Delay ticks a full period after the late tick"
    );
    for pair in ticks[1..].windows(2) {
        assert!(
            pair[1].0 >= pair[0].0 + PERIOD,
            "ticks at least a period apart"
        );
    }
    for &(scheduled, at) in &ticks {
        assert!(at >= scheduled, "a tick returned before its time");
    }
}

#[test]
fn interval_skip_drops_missed_ticks_and_keeps_the_original_phase() {
    let AfterMissedTicks { t0, resumed, ticks } = miss_three_ticks(MissedTickBehavior::Skip);
    let (late, late_at) = ticks[0];
    assert_eq!(
        late,
        t0 + PERIOD,
        "the first missed tick is returned at once"
    );
    assert!(late_at < resumed + PERIOD, "the late tick waited");
    let (next, next_at) = ticks[1];
    let phase = (next - t0).as_nanos() % PERIOD.as_nanos();
    assert_eq!(phase, 0, "Skip stays on the t0 + k*period grid");
    assert!(next > resumed, "Skip does not replay missed ticks");
    assert!(
        next <= late_at + PERIOD,
        "Skip ticks at the next grid point"
    );
    assert!(next_at >= next);
    assert_eq!(ticks[2].0, next + PERIOD);
    assert_eq!(ticks[3].0, next + PERIOD * 2);
}

#[test]
fn interval_at_first_ticks_at_its_start() {
    with_hang_guard(|| {
        tempo::run(async {
            let start = Instant::now() + ms(30);
            let mut ticker = interval_at(start, ms(10));
            assert_eq!(ticker.tick().await, start);
            assert!(
                Instant::now() >= start,
                "interval_at ticked before its start"
            );
            assert_eq!(ticker.tick().await, start + ms(10));
        })
    });
}

/// A timer that is dropped while the runtime is idle must not leave it waiting for the
/// dropped deadline, nor strand a task waiting on a later one.
#[test]
fn a_later_timer_still_fires_after_an_earlier_one_is_dropped() {
    with_hang_guard(|| {
        tempo::run(async {
            let mut early = Box::pin(sleep(ms(5)));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(early.as_mut().poll(&mut cx).is_pending());
            drop(early);
            let start = Instant::now();
            sleep(ms(20)).await;
            assert!(start.elapsed() >= ms(20));
        })
    });
}

/// Polls its `Sleep` once, then gives it away, then stays pending for ever, counting polls.
struct PollSleepOnceThenGiveItAway {
    sleep: Option<Sleep>,
    to: Option<common::OneshotSender<Sleep>>,
    polls: Arc<AtomicUsize>,
}

impl Future for PollSleepOnceThenGiveItAway {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if let Some(mut sleep) = self.sleep.take() {
            assert!(Pin::new(&mut sleep).poll(cx).is_pending());
            self.to.take().expect("once").send(sleep);
        }
        Poll::Pending
    }
}

#[test]
fn a_sleep_moved_to_another_task_wakes_the_task_that_polled_it_last() {
    with_hang_guard(|| {
        tempo::run(async {
            let first_polls = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = common::oneshot::<Sleep>();
            let first = tempo::spawn(PollSleepOnceThenGiveItAway {
                sleep: Some(sleep(ms(20))),
                to: Some(tx),
                polls: first_polls.clone(),
            });
            let second = tempo::spawn(async move {
                let nap = rx.await;
                let deadline = nap.deadline();
                nap.await;
                Instant::now() >= deadline
            });
            assert!(
                second.await.expect("second task"),
                "woke before the deadline"
            );
            assert_eq!(
                first_polls.load(Ordering::SeqCst),
                1,
                "the first owner was woken"
            );
            first.abort();
        })
    });
}

/// Each timer future, awaited outside a runtime, panics naming itself — the function the
/// user wrote — and saying what to do, not naming the `Sleep` it is built on.
#[test]
fn polling_a_timer_outside_a_runtime_panics_naming_the_function_that_was_called() {
    fn panic_of(poll: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let payload = std::panic::catch_unwind(poll).expect_err("polled outside a runtime");
        common::panic_text(&*payload).to_string()
    }
    with_hang_guard(|| {
        let cases: [(&str, String); 3] = [
            (
                "tempo::time::sleep",
                panic_of(|| common::block_on(sleep(ms(1)))),
            ),
            (
                "tempo::time::timeout",
                panic_of(|| {
                    let _ = common::block_on(timeout(ms(1), pending::<()>()));
                }),
            ),
            (
                "tempo::time::interval",
                panic_of(|| {
                    let mut every = tempo::time::interval(ms(1));
                    common::block_on(every.tick()); // the first tick is at once
                    common::block_on(every.tick());
                }),
            ),
        ];
        for (name, message) in cases {
            assert_eq!(
                message,
                format!(
                    "{name} polled outside a tempo runtime: await it inside tempo::run, \
                     Runtime::block_on or a task they run"
                ),
            );
        }
    });
}

#[test]
fn huge_durations_saturate_instead_of_overflowing() {
    with_hang_guard(|| {
        tempo::run(async {
            let value = timeout(Duration::MAX, async {
                sleep(ms(5)).await;
                "done"
            })
            .await;
            assert_eq!(value.expect("a Duration::MAX timeout fired"), "done");

            let forever = sleep(Duration::MAX);
            assert!(forever.deadline() > Instant::now() + Duration::from_secs(3600 * 24 * 365));
            let not_yet = timeout(ms(10), forever).await;
            assert!(not_yet.is_err(), "sleep(Duration::MAX) finished");
        })
    });
}
