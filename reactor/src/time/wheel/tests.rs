//! The wheel's tests, as one: they arm, cancel, reset and expire through every file of
//! `time/wheel/`, and the last compares the whole wheel with a plain model.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use super::arm::Reset;
use super::slots::{FIRED, SPAN, TimerWheel};

/// A waker that records its number in a shared log when woken.
struct Tagged(usize, Arc<std::sync::Mutex<Vec<usize>>>);

impl Wake for Tagged {
    fn wake(self: Arc<Self>) {
        self.1.lock().unwrap().push(self.0);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Expire at `now` and wake what fired; the tags woken, in order.
fn expire_at(wheel: &mut TimerWheel, now: Instant, log: &Arc<std::sync::Mutex<Vec<usize>>>) {
    let mut to_wake = Vec::new();
    wheel.expire(now, &mut to_wake);
    to_wake.into_iter().for_each(Waker::wake);
    let _ = log;
}

#[test]
fn timers_fire_in_deadline_order_at_every_level_and_never_early() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = TimerWheel::new();
    let o = wheel.origin;
    // One per level and a few within one level, armed out of order.
    let offsets = [5_000_000, 3, 70, 1, 4_100, 300_000, 64, 63, 65, 4_096];
    for (i, &off) in offsets.iter().enumerate() {
        let w = Waker::from(Arc::new(Tagged(i, log.clone())));
        wheel.insert(o + ms(off), w);
    }
    assert_eq!(wheel.len(), offsets.len());
    let mut sorted: Vec<(u64, usize)> = offsets.iter().copied().zip(0..).collect();
    sorted.sort();
    for &(off, i) in &sorted {
        // Just before: nothing new; the nearest deadline is never past it.
        let before = o + ms(off) - Duration::from_nanos(1);
        expire_at(&mut wheel, before, &log);
        assert!(!log.lock().unwrap().contains(&i), "timer {i} fired early");
        assert!(wheel.next_deadline().unwrap() <= o + ms(off));
        expire_at(&mut wheel, o + ms(off), &log);
        assert_eq!(
            log.lock().unwrap().last(),
            Some(&i),
            "timer {i} at {off} ms"
        );
    }
    let want: Vec<usize> = sorted.iter().map(|&(_, i)| i).collect();
    assert_eq!(*log.lock().unwrap(), want);
    assert_eq!(wheel.len(), 0);
    assert_eq!(wheel.next_deadline(), None);
}

/// A loop that comes late — here 200 ms after timers armed in reverse order across
/// level-1 slots — still fires them in deadline order: a higher slot cascades rather
/// than firing its due timers in the order they were armed.
#[test]
fn a_late_expiry_fires_timers_from_higher_levels_in_deadline_order() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = TimerWheel::new();
    let o = wheel.origin;
    let offsets = [130, 100, 70, 66, 65, 128, 5_000];
    for (i, &off) in offsets.iter().enumerate() {
        wheel.insert(o + ms(off), Waker::from(Arc::new(Tagged(i, log.clone()))));
    }
    expire_at(&mut wheel, o + ms(200), &log);
    // By deadline: 65 (4), 66 (3), 70 (2), 100 (1), 128 (5), 130 (0); 5 000 not yet.
    assert_eq!(*log.lock().unwrap(), [4, 3, 2, 1, 5, 0]);
    assert_eq!(wheel.len(), 1);
}

#[test]
fn equal_deadlines_fire_in_arming_order_and_sub_millisecond_deadlines_are_exact() {
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut wheel = TimerWheel::new();
    let o = wheel.origin;
    let at = o + ms(10) + Duration::from_micros(300);
    for i in 0..4 {
        wheel.insert(at, Waker::from(Arc::new(Tagged(i, log.clone()))));
    }
    // The nearest deadline is the exact instant, not the millisecond.
    assert_eq!(wheel.next_deadline(), Some(at));
    expire_at(&mut wheel, at - Duration::from_micros(1), &log);
    assert!(
        log.lock().unwrap().is_empty(),
        "fired within its millisecond, early"
    );
    assert_eq!(wheel.next_deadline(), Some(at), "still armed, still exact");
    expire_at(&mut wheel, at, &log);
    assert_eq!(*log.lock().unwrap(), [0, 1, 2, 3]);
}

#[test]
fn cancel_and_reset_leave_nothing_behind_and_rearm_a_fired_timer() {
    let count = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let waker = || Waker::from(Arc::new(Count(count.clone())));
    let mut wheel = TimerWheel::new();
    let o = wheel.origin;
    let keys: Vec<usize> = (0..100)
        .map(|i| wheel.insert(o + ms(i * 97 % 5000), waker()))
        .collect();
    for &k in keys.iter().step_by(2) {
        wheel.remove(k);
    }
    assert_eq!(wheel.len(), 50);
    // Move one far out and one to the front.
    assert!(matches!(
        wheel.reset(keys[1], o + ms(100_000)),
        Reset::Armed { sooner: false }
    ));
    // Moved to the front: the reactor must look sooner than it planned.
    assert!(matches!(
        wheel.reset(keys[5], o + ms(30)),
        Reset::Armed { sooner: true }
    ));
    // Reset to a deadline already past: fired at once, without waiting for an expiry.
    // Its parked waker comes back, to be woken: nothing else would wake it.
    let Reset::Due(Some(parked)) = wheel.reset(keys[3], o) else {
        panic!("a reset into the past must fire the timer and hand back its waker");
    };
    parked.wake();
    assert!(wheel.has_fired(keys[3]));
    let mut to_wake = Vec::new();
    assert_eq!(wheel.expire(o, &mut to_wake), 0);
    assert_eq!(wheel.expire(o + ms(5000), &mut to_wake), 48);
    assert_eq!(wheel.len(), 1);
    // A fired timer can be armed again; it gave its waker away when it fired, and gets
    // one back as its `Sleep` is polled.
    wheel.reset(keys[3], o + ms(6000));
    wheel.set_waker(keys[3], &waker());
    assert_eq!(wheel.len(), 2);
    assert_eq!(wheel.expire(o + ms(200_000), &mut to_wake), 2);
    to_wake.into_iter().for_each(Waker::wake);
    assert_eq!(count.load(Ordering::SeqCst), 51);
    for k in keys.iter().skip(1).step_by(2) {
        wheel.remove(*k);
    }
    assert!(wheel.entries.is_empty());
    assert!(wheel.levels.iter().all(|l| l.occupied == 0));
}

/// A deadline beyond the wheel's 2.2 years waits in the overflow list, is filed again
/// as each top-level window ends, and still fires only at its own deadline.
#[test]
fn a_deadline_beyond_the_span_is_refiled_not_fired_early() {
    let mut wheel = TimerWheel::new();
    let o = wheel.origin;
    let far = o + ms(SPAN * 3 + 17);
    wheel.insert(far, Waker::noop().clone());
    let mut to_wake = Vec::new();
    let mut now_ms = 0;
    let mut steps = 0;
    while let Some(next) = wheel.next_deadline() {
        assert!(next <= far);
        if next == far && wheel.expire(next, &mut to_wake) == 1 {
            break;
        }
        assert_eq!(wheel.expire(next, &mut to_wake), 0, "fired before {far:?}");
        let t = wheel.tick_of(next);
        assert!(t >= now_ms, "time went backwards");
        now_ms = t;
        steps += 1;
        assert!(steps < 100, "did not converge");
    }
    assert_eq!(wheel.len(), 0);
}

/// The wheel against a plain model — a list of (key, deadline) — under a seeded random
/// mix of arming, cancelling, resetting and expiring at increasing times, with
/// deadlines spread over every level: after each expiry exactly the model's due timers
/// have fired, none early, and the nearest deadline the wheel reports lies after `now`
/// and no later than the model's nearest.
#[test]
fn agrees_with_a_plain_model_under_random_operations() {
    let mut seed = 0x2026_1202_u64;
    let mut next = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut wheel = TimerWheel::new();
    let o = wheel.origin;
    let mut model: Vec<(usize, Instant)> = Vec::new();
    let mut fired_keys: Vec<usize> = Vec::new();
    let mut now = o;
    let steps = if cfg!(miri) { 300 } else { 5_000 };
    for _ in 0..steps {
        // A deadline from now: sub-millisecond up to hours, around level boundaries.
        let ahead = |r: u64, pick: u64| match pick {
            0 => Duration::from_micros(r % 3_000),
            1 => ms(60 + r % 10),
            2 => ms(4_090 + r % 12),
            3 => ms(r % 300_000),
            _ => ms(r % 20_000_000),
        };
        match next(10) {
            0..=3 => {
                let deadline = now + ahead(next(u64::MAX), next(5));
                let key = wheel.insert(deadline, Waker::noop().clone());
                model.push((key, deadline));
            }
            4 | 5 if !model.is_empty() => {
                let (key, _) = model.swap_remove(next(model.len() as u64) as usize);
                wheel.remove(key);
            }
            6 if !model.is_empty() => {
                let i = next(model.len() as u64) as usize;
                let deadline = now + ahead(next(u64::MAX), next(5));
                let key = model[i].0;
                wheel.reset(key, deadline);
                if wheel.has_fired(key) {
                    // Due already by the clock (this test's `now` runs ahead of it).
                    assert!(deadline <= Instant::now(), "reset fired a timer early");
                    model.swap_remove(i);
                    fired_keys.push(key);
                } else {
                    model[i].1 = deadline;
                }
            }
            _ => {
                now += match next(3) {
                    0 => Duration::from_micros(next(2_000)),
                    1 => ms(next(5_000)),
                    _ => ms(next(2_000_000)),
                };
                let mut to_wake = Vec::new();
                let fired = wheel.expire(now, &mut to_wake);
                let (due, kept): (Vec<_>, Vec<_>) = model.iter().partition(|&&(_, d)| d <= now);
                assert_eq!(fired, due.len(), "fired at {:?}", now - o);
                for &(key, _) in &due {
                    assert_eq!(wheel.entries[key].level, FIRED, "due timer not fired");
                    fired_keys.push(key);
                }
                for &(key, _) in &kept {
                    assert_ne!(wheel.entries[key].level, FIRED, "timer fired early");
                }
                model = kept;
                match (wheel.next_deadline(), model.iter().map(|&(_, d)| d).min()) {
                    (None, None) => {}
                    (Some(next), Some(nearest)) => {
                        assert!(next > now && next <= nearest, "next deadline wrong");
                    }
                    other => panic!("next deadline {other:?} disagrees with the model"),
                }
            }
        }
        assert_eq!(wheel.len(), model.len());
    }
    for key in fired_keys {
        wheel.remove(key);
    }
    for (key, _) in model {
        wheel.remove(key);
    }
    assert!(wheel.entries.is_empty());
    assert!(wheel.levels.iter().all(|l| l.occupied == 0));
}
