//! `tempo::sync::broadcast` as a specification: every receiver gets every value in order,
//! lag is counted exactly, values are cloned for all receivers but the last, and nothing is
//! lost or stuck when a `recv` is cancelled.
//!
//! Hand-polled [`Probe`]s pin down who is woken and when; tasks and threads are ordered by
//! channels and the runtime, never by sleeping.

mod common;
mod sync_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::thread;

use common::with_hang_guard;
use sync_support::{Probe, assert_send, assert_send_sync, now};
use tempo::Builder;
use tempo::sync::broadcast::{self, Receiver, Sender, error::RecvError, error::TryRecvError};

#[test]
fn broadcast_handles_are_send_and_sync_and_their_futures_are_send() {
    assert_send_sync::<Sender<String>>();
    assert_send_sync::<Receiver<String>>();
    assert_send_sync::<broadcast::Recv<'static, String>>();
    assert_send_sync::<broadcast::Closed<'static, String>>();
    assert_send_sync::<broadcast::error::SendError<String>>();
    let (tx, mut rx) = broadcast::channel::<String>(1);
    assert_send(&rx.recv());
    assert_send(&tx.closed());
}

#[test]
fn every_receiver_gets_every_value_sent_after_it_subscribed_in_order() {
    let (tx, mut first) = broadcast::channel(8);
    assert_eq!(tx.send(1), Ok(1));
    let mut second = tx.subscribe(); // starts at the end: does not get 1
    assert_eq!(tx.send(2), Ok(2));
    assert_eq!(tx.send(3), Ok(2));
    assert_eq!((first.len(), second.len()), (3, 2));
    assert_eq!(tx.len(), 3);
    for expected in [1, 2, 3] {
        assert_eq!(first.try_recv(), Ok(expected));
    }
    assert_eq!(tx.len(), 2, "1 was owed only by `first`, and it has it");
    let mut third = second.resubscribe(); // at the end too
    assert_eq!(second.try_recv(), Ok(2));
    assert_eq!(second.try_recv(), Ok(3));
    assert_eq!(
        tx.len(),
        0,
        "every value received by everyone it was owed to"
    );
    assert_eq!(first.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(third.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn a_lagging_receiver_learns_exactly_how_many_it_missed_then_resumes_at_the_oldest() {
    let (tx, mut slow) = broadcast::channel(3);
    let mut fast = tx.subscribe();
    for i in 0..10 {
        tx.send(i).unwrap();
        assert_eq!(fast.try_recv(), Ok(i));
    }
    assert_eq!(slow.len(), 3);
    assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(7)));
    assert_eq!(slow.try_recv(), Ok(7));
    // Lag again, part way through.
    for i in 10..14 {
        tx.send(i).unwrap();
    }
    // Kept: 11, 12, 13. `slow` was at 8: missed 8, 9 and 10.
    assert_eq!(now(slow.recv()), Err(RecvError::Lagged(3)));
    assert_eq!(now(slow.recv()), Ok(11));
    assert_eq!(now(slow.recv()), Ok(12));
    assert_eq!(now(slow.recv()), Ok(13));
    assert_eq!(slow.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn send_fails_with_the_value_back_when_there_is_no_receiver() {
    let (tx, rx) = broadcast::channel(2);
    assert_eq!(tx.receiver_count(), 1);
    drop(rx);
    assert_eq!(tx.receiver_count(), 0);
    assert_eq!(tx.send("lost").unwrap_err().0, "lost");
    let mut rx = tx.subscribe(); // a receiver again: sends work again
    assert_eq!(tx.send("kept"), Ok(1));
    assert_eq!(rx.try_recv(), Ok("kept"));
}

#[test]
fn receivers_drain_then_see_closed_once_every_sender_is_gone() {
    let (tx, mut rx) = broadcast::channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    let mut waiting = Probe::new(async move {
        let mut got = Vec::new();
        loop {
            match rx.recv().await {
                Ok(v) => got.push(v),
                Err(e) => return (got, e),
            }
        }
    });
    waiting.pending();
    tx2.send(2).unwrap();
    assert_eq!(waiting.wakes(), 1);
    waiting.pending();
    drop(tx2);
    assert_eq!(
        waiting.wakes(),
        2,
        "the last sender going wakes the receiver"
    );
    assert_eq!(waiting.ready(), (vec![1, 2], RecvError::Closed));
}

#[test]
fn the_last_receiver_to_take_a_value_gets_it_moved_and_the_others_clones() {
    static CLONES: AtomicUsize = AtomicUsize::new(0);
    #[derive(Debug, PartialEq)]
    struct Counted(u32);
    impl Clone for Counted {
        fn clone(&self) -> Self {
            CLONES.fetch_add(1, SeqCst);
            Counted(self.0)
        }
    }
    let (tx, mut a) = broadcast::channel(4);
    let mut b = tx.subscribe();
    let mut c = tx.subscribe();
    tx.send(Counted(1)).unwrap();
    assert_eq!(a.try_recv(), Ok(Counted(1)));
    assert_eq!(b.try_recv(), Ok(Counted(1)));
    assert_eq!(c.try_recv(), Ok(Counted(1)));
    assert_eq!(CLONES.load(SeqCst), 2, "three receivers, two clones");
}

#[test]
fn dropping_a_receiver_frees_the_values_only_it_still_owed() {
    let drops = Arc::new(AtomicUsize::new(0));
    #[derive(Clone)]
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let (tx, mut keen) = broadcast::channel(8);
    let idle = tx.subscribe();
    for _ in 0..3 {
        tx.send(Tracked(drops.clone())).unwrap();
    }
    for _ in 0..3 {
        drop(keen.try_recv().unwrap()); // clones: `idle` still owes them
    }
    assert_eq!(
        drops.load(SeqCst),
        3,
        "the clones `keen` received and dropped"
    );
    assert_eq!(tx.len(), 3);
    drop(idle);
    assert_eq!(
        drops.load(SeqCst),
        6,
        "nobody owes the originals now: dropped"
    );
    assert_eq!(tx.len(), 0);
}

#[test]
fn a_dropped_recv_loses_nothing_and_leaves_the_queue() {
    let (tx, mut rx) = broadcast::channel(4);
    let mut other = tx.subscribe();
    {
        let mut pending = Probe::new(rx.recv());
        pending.pending();
        tx.send(1).unwrap();
        assert_eq!(pending.wakes(), 1);
        // Dropped after the wake, before it took the value.
    }
    assert_eq!(
        rx.try_recv(),
        Ok(1),
        "the value is still there for the receiver"
    );
    assert_eq!(other.try_recv(), Ok(1));
    let mut waiting = Probe::new(other.recv());
    waiting.pending();
    tx.send(2).unwrap();
    assert_eq!(
        waiting.wakes(),
        1,
        "the dropped recv left the queue; this one was woken"
    );
    assert_eq!(waiting.ready(), Ok(2));
    assert_eq!(
        format!("{tx:?}"),
        "Sender { kept: 1, capacity: 4, receivers: 2 }"
    );
}

#[test]
fn closed_completes_when_the_last_receiver_goes() {
    let (tx, rx) = broadcast::channel::<u8>(1);
    let rx2 = rx.resubscribe();
    let mut closed = Probe::new(tx.closed());
    closed.pending();
    drop(rx);
    assert_eq!(closed.wakes(), 0);
    drop(rx2);
    assert_eq!(closed.wakes(), 1);
    closed.ready();
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn a_zero_capacity_is_refused_with_a_clear_message() {
    let _ = broadcast::channel::<u8>(0);
}

#[test]
fn many_receivers_on_two_workers_each_see_every_value_in_order() {
    const RECEIVERS: usize = 8;
    const VALUES: u64 = 2_000;
    with_hang_guard(|| {
        let runtime = Builder::new().workers(2).build().expect("runtime");
        runtime.block_on(async {
            // Capacity enough for every value: no receiver may lag.
            let (tx, rx) = broadcast::channel(VALUES as usize);
            let receivers: Vec<_> = (0..RECEIVERS)
                .map(|_| {
                    let mut rx = tx.subscribe();
                    tempo::spawn(async move {
                        let mut expected = 0;
                        loop {
                            match rx.recv().await {
                                Ok(v) => {
                                    assert_eq!(v, expected, "in order, none skipped");
                                    expected += 1;
                                }
                                Err(RecvError::Closed) => return expected,
                                Err(lag) => panic!("unexpected {lag:?}"),
                            }
                        }
                    })
                })
                .collect();
            drop(rx);
            for i in 0..VALUES {
                tx.send(i).unwrap();
                if i % 64 == 0 {
                    tempo::task::yield_now().await;
                }
            }
            drop(tx);
            for receiver in receivers {
                assert_eq!(receiver.await.expect("receiver"), VALUES);
            }
        });
    });
}

#[test]
fn a_small_channel_under_plain_threads_delivers_in_order_and_counts_every_lag() {
    const VALUES: u64 = 20_000;
    with_hang_guard(|| {
        let (tx, rx) = broadcast::channel(16);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let mut rx = tx.subscribe();
                thread::spawn(move || {
                    tempo::run(async move {
                        // Every value is either received, in order, or counted as missed.
                        let (mut next, mut received, mut missed) = (0, 0, 0);
                        loop {
                            match rx.recv().await {
                                Ok(v) => {
                                    assert_eq!(v, next);
                                    next += 1;
                                    received += 1;
                                }
                                Err(RecvError::Lagged(n)) => {
                                    next += n;
                                    missed += n;
                                }
                                Err(RecvError::Closed) => return (received, missed),
                            }
                        }
                    })
                })
            })
            .collect();
        drop(rx);
        for i in 0..VALUES {
            tx.send(i).unwrap();
        }
        drop(tx);
        for receiver in receivers {
            let (received, missed) = receiver.join().expect("receiver thread");
            assert_eq!(received + missed, VALUES);
        }
    });
}
