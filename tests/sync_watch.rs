//! `tempo::sync::watch` as a specification: receivers see the latest value, sends coalesce,
//! `changed` is woken exactly when the version moves and fails once the senders are gone,
//! and a cancelled `changed` loses nothing.

mod common;
mod sync_support;

use std::thread;

use common::with_hang_guard;
use sync_support::{Probe, assert_send, assert_send_sync, now};
use tempo::Builder;
use tempo::sync::watch::{self, Receiver, Sender};

#[test]
fn watch_handles_are_send_and_sync_and_their_futures_are_send() {
    assert_send_sync::<Sender<String>>();
    assert_send_sync::<Receiver<String>>();
    assert_send_sync::<watch::Changed<'static, String>>();
    assert_send_sync::<watch::Closed<'static, String>>();
    let (tx, mut rx) = watch::channel(String::new());
    assert_send(&rx.changed());
    assert_send(&tx.closed());
    assert_send(&rx.wait_for(|s| s.is_empty()));
}

#[test]
fn sends_coalesce_and_changed_reports_the_latest_once() {
    let (tx, mut rx) = watch::channel(0);
    assert!(!rx.has_changed().unwrap());
    Probe::new(rx.changed()).pending(); // nothing new since the channel was made
    for i in 1..=3 {
        tx.send(i).unwrap();
    }
    assert!(rx.has_changed().unwrap());
    let seen = rx.borrow();
    assert_eq!((*seen, seen.has_changed()), (3, true));
    drop(seen);
    now(rx.changed()).unwrap(); // three sends, one change
    assert_eq!(*rx.borrow(), 3);
    assert!(!rx.has_changed().unwrap());
    Probe::new(rx.changed()).pending();
}

#[test]
fn changed_is_woken_by_each_way_of_changing_the_value_and_only_by_those() {
    let (tx, mut rx) = watch::channel(vec![1]);
    let mut waiting = Probe::new(rx.changed());
    waiting.pending();
    assert!(!tx.send_if_modified(|_| false)); // no change: nobody woken
    assert_eq!(waiting.wakes(), 0);
    tx.send_modify(|v| v.push(2));
    assert_eq!(waiting.wakes(), 1);
    assert_eq!(waiting.ready(), Ok(()));
    drop(waiting);
    assert_eq!(*rx.borrow_and_update(), [1, 2]);
    assert_eq!(tx.send_replace(vec![3]), [1, 2]);
    assert_eq!(now(rx.changed()), Ok(()));
    assert_eq!(*rx.borrow(), [3]);
    rx.mark_changed();
    assert_eq!(now(rx.changed()), Ok(()));
    tx.send(vec![4]).unwrap();
    rx.mark_unchanged();
    Probe::new(rx.changed()).pending();
}

#[test]
fn each_clone_and_subscriber_keeps_its_own_place() {
    let (tx, mut a) = watch::channel('a');
    tx.send('b').unwrap();
    let mut b = a.clone(); // has not seen 'b' either
    let mut c = tx.subscribe(); // has seen 'b'
    assert_eq!(tx.receiver_count(), 3);
    assert!(a.has_changed().unwrap() && b.has_changed().unwrap());
    assert!(!c.has_changed().unwrap());
    assert_eq!(*a.borrow_and_update(), 'b');
    assert!(b.has_changed().unwrap(), "a's update is a's alone");
    now(b.changed()).unwrap();
    Probe::new(c.changed()).pending();
    assert!(a.same_channel(&c));
}

#[test]
fn the_last_sender_going_wakes_changed_which_reports_a_last_change_before_failing() {
    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    let mut waiting = Probe::new(rx.changed());
    waiting.pending();
    drop(tx);
    assert_eq!(waiting.wakes(), 0, "a sender remains");
    tx2.send(1).unwrap();
    assert_eq!(waiting.ready(), Ok(()));
    drop(waiting);
    tx2.send(2).unwrap();
    drop(tx2);
    assert!(
        rx.has_changed().is_err(),
        "tokio's rule: closed wins in has_changed"
    );
    assert_eq!(
        now(rx.changed()),
        Ok(()),
        "the last change is still reported"
    );
    assert_eq!(*rx.borrow(), 2);
    assert!(now(rx.changed()).is_err());
    let mut late = Probe::new(rx.changed());
    assert!(late.ready().is_err());
}

#[test]
fn a_waiting_changed_is_woken_when_the_last_sender_goes() {
    let (tx, mut rx) = watch::channel(0);
    let mut waiting = Probe::new(rx.changed());
    waiting.pending();
    drop(tx);
    assert_eq!(waiting.wakes(), 1);
    assert!(waiting.ready().is_err());
}

#[test]
fn send_fails_with_no_receiver_but_send_replace_stores_anyway() {
    let (tx, rx) = watch::channel(1);
    let mut closed = Probe::new(tx.closed());
    closed.pending();
    drop(rx);
    assert_eq!(closed.wakes(), 1);
    closed.ready();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2).unwrap_err().0, 2);
    assert_eq!(*tx.borrow(), 1, "a failed send changes nothing");
    assert_eq!(tx.send_replace(3), 1);
    let rx = tx.subscribe();
    assert_eq!(*rx.borrow(), 3);
}

#[test]
fn a_dropped_changed_loses_nothing_and_leaves_the_queue() {
    let (tx, mut rx) = watch::channel(0);
    let mut other = rx.clone();
    {
        let mut pending = Probe::new(rx.changed());
        pending.pending();
        tx.send(1).unwrap();
        assert_eq!(pending.wakes(), 1);
        // Dropped after the wake, before it marked the version seen.
    }
    assert!(rx.has_changed().unwrap(), "the change is still unseen");
    now(rx.changed()).unwrap();
    now(other.changed()).unwrap();
    let mut waiting = Probe::new(other.changed());
    waiting.pending();
    tx.send(2).unwrap();
    assert_eq!(waiting.wakes(), 1);
    waiting.ready().unwrap();
}

#[test]
fn wait_for_returns_the_value_the_predicate_held_for() {
    with_hang_guard(|| {
        tempo::run(async {
            let (tx, mut rx) = watch::channel(0u32);
            assert_eq!(*rx.wait_for(|&v| v == 0).await.unwrap(), 0); // holds now
            let sender = tempo::spawn(async move {
                for i in 1..=10 {
                    tx.send(i).unwrap();
                    tempo::task::yield_now().await;
                }
            });
            // Sends coalesce, so 7 itself may be skipped; whatever is returned satisfies the
            // predicate (the value it was checked on, not a later re-read). Even if the
            // sender is gone by then, the current value is checked first.
            let value = *rx.wait_for(|&v| v >= 7).await.unwrap();
            assert!(value >= 7);
            sender.await.unwrap();
            assert!(
                rx.wait_for(|&v| v > 100).await.is_err(),
                "the sender is gone"
            );
        });
    });
}

#[test]
fn receivers_on_two_workers_and_plain_threads_see_values_in_order_ending_with_the_last() {
    const VALUES: u64 = 5_000;
    with_hang_guard(|| {
        let (tx, rx) = watch::channel(0u64);
        let watch_until_closed = |mut rx: Receiver<u64>| async move {
            let mut last = 0;
            while rx.changed().await.is_ok() {
                let value = *rx.borrow_and_update();
                assert!(value > last, "values only move forward");
                last = value;
            }
            last
        };
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || tempo::run(watch_until_closed(rx)))
            })
            .collect();
        let runtime = Builder::new().workers(2).build().expect("runtime");
        let tasks: Vec<_> = (0..4)
            .map(|_| runtime.spawn(watch_until_closed(rx.clone())))
            .collect();
        drop(rx);
        for i in 1..=VALUES {
            tx.send(i).unwrap();
        }
        drop(tx);
        runtime.block_on(async {
            for task in tasks {
                assert_eq!(task.await.expect("task"), VALUES, "the last value is seen");
            }
        });
        for thread in threads {
            assert_eq!(thread.join().expect("thread"), VALUES);
        }
    });
}
