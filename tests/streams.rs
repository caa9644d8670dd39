//! tempo's streams, driven by futures-util's `StreamExt` exactly as user code would drive
//! them: `next`, `take`, `map`, `enumerate`, `collect`, and `select` (the merge of two
//! streams). Each stream is fed from where it is fed in real programs — real time for an
//! interval, other tasks and plain threads for the channels and the queue, the `kill`
//! command for a signal, channels for `as_completed` — and each is checked to end (`None`,
//! and `None` again) exactly when it should.
//!
//! Nothing is ordered by sleeping: a producer that must wait for the consumer waits on a
//! channel that the consumer's `map` answers.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use futures_util::stream::{FusedStream, Stream, StreamExt, select};
use futures_util::{FutureExt, future};

use tempo::future::as_completed;
use tempo::sync::mpsc::{channel, unbounded_channel};
use tempo::sync::{Queue, oneshot};
use tempo::time::{interval, interval_at};

use common::{block_on, with_hang_guard};

// ---------------------------------------------------------------------------------------
// Interval
// ---------------------------------------------------------------------------------------

/// An interval is a stream of its ticks' scheduled times, one period apart, none delivered
/// before it is due, and it never ends.
#[test]
fn an_interval_is_a_stream_of_its_ticks_one_period_apart_never_early() {
    with_hang_guard(|| {
        tempo::run(async {
            let period = Duration::from_millis(3);
            let start = Instant::now();
            let mut ticks = interval_at(start, period);
            let offsets: Vec<Duration> =
                ticks.by_ref().take(4).map(|at| at - start).collect().await;
            assert_eq!(offsets, [Duration::ZERO, period, period * 2, period * 3]);
            assert!(Instant::now() >= start + period * 3, "a tick came early");
            // `take` ended, not the interval: it goes on, on the same schedule.
            assert!(!ticks.is_terminated());
            assert_eq!(ticks.size_hint(), (usize::MAX, None));
            assert_eq!(ticks.next().await, Some(start + period * 4));
        });
    });
}

/// `select` merges an interval's ticks with a channel's values from another thread; the
/// merged stream ends only when both have ended, and each keeps its own order.
#[test]
fn an_interval_merged_with_a_channel_ends_when_both_have_ended() {
    #[derive(Debug, PartialEq)]
    enum Event {
        Tick(Instant),
        Message(u32),
    }
    with_hang_guard(|| {
        tempo::run(async {
            let (tx, rx) = unbounded_channel();
            let producer = thread::spawn(move || {
                for n in 0..3 {
                    tx.send(n).unwrap();
                }
                // `tx` dropped: the channel's stream ends once drained.
            });
            let ticks = interval(Duration::from_millis(2)).take(5).map(Event::Tick);
            let events: Vec<Event> = select(ticks, rx.map(Event::Message)).collect().await;
            producer.join().unwrap();

            let messages: Vec<&Event> = events
                .iter()
                .filter(|e| matches!(e, Event::Message(_)))
                .collect();
            assert_eq!(
                messages,
                [&Event::Message(0), &Event::Message(1), &Event::Message(2)]
            );
            let ticks: Vec<Instant> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Tick(at) => Some(*at),
                    Event::Message(_) => None,
                })
                .collect();
            assert_eq!(ticks.len(), 5);
            assert!(
                ticks
                    .windows(2)
                    .all(|w| w[1] - w[0] == Duration::from_millis(2))
            );
        });
    });
}

// ---------------------------------------------------------------------------------------
// mpsc
// ---------------------------------------------------------------------------------------

/// A bounded receiver collects every value sent from three plain threads (each waiting for
/// room, through a foreign executor), in each sender's order, and ends when the last sender
/// is dropped — and stays ended.
#[test]
fn a_bounded_receiver_streams_values_from_threads_and_ends_with_the_last_sender() {
    with_hang_guard(|| {
        tempo::run(async {
            let (tx, mut rx) = channel(2);
            let producers: Vec<_> = (0..3u32)
                .map(|p| {
                    let tx = tx.clone();
                    thread::spawn(move || {
                        for n in 0..50u32 {
                            block_on(tx.send((p, n))).unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let doubled: Vec<(u32, u32)> = rx.by_ref().map(|(p, n)| (p, n * 2)).collect().await;
            for producer in producers {
                producer.join().unwrap();
            }
            assert_eq!(doubled.len(), 150);
            for p in 0..3 {
                let from_p: Vec<u32> = doubled
                    .iter()
                    .filter(|(q, _)| *q == p)
                    .map(|(_, n)| *n)
                    .collect();
                assert_eq!(from_p, (0..50).map(|n| n * 2).collect::<Vec<_>>());
            }
            assert!(rx.is_terminated());
            assert_eq!(rx.size_hint(), (0, Some(0)));
            assert_eq!(rx.next().await, None, "ended for good");
        });
    });
}

/// An unbounded receiver fed by tasks on two other workers: `take` stops early without
/// ending the channel, and the rest is collected up to the end.
#[test]
fn an_unbounded_receiver_fed_by_tasks_on_other_workers_takes_then_ends() {
    with_hang_guard(|| {
        let rt = tempo::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let (tx, mut rx) = unbounded_channel();
            let senders: Vec<_> = (0..2u32)
                .map(|t| {
                    let tx = tx.clone();
                    tempo::spawn(async move {
                        for n in 0..100u32 {
                            tx.send(t * 1000 + n).unwrap();
                            tempo::task::yield_now().await;
                        }
                    })
                })
                .collect();
            drop(tx);
            let first: Vec<u32> = rx.by_ref().take(10).collect().await;
            assert_eq!(first.len(), 10);
            assert!(!rx.is_terminated(), "take ended, the channel did not");
            let rest: Vec<u32> = rx.by_ref().collect().await;
            for sender in senders {
                sender.await.unwrap();
            }
            let all: BTreeSet<u32> = first.into_iter().chain(rest).collect();
            let expected: BTreeSet<u32> = (0..100).chain(1000..1100).collect();
            assert_eq!(all, expected);
            assert!(rx.is_terminated());
            assert_eq!(rx.next().await, None);
        });
    });
}

/// A closed receiver still yields what was buffered, with an exact size hint, then ends
/// although a sender is alive.
#[test]
fn a_closed_receiver_streams_what_is_buffered_then_ends() {
    with_hang_guard(|| {
        tempo::run(async {
            let (tx, mut rx) = channel(4);
            for n in 0..3 {
                tx.try_send(n).unwrap();
            }
            assert_eq!(rx.size_hint(), (3, None), "a live sender may send more");
            rx.close();
            assert_eq!(
                rx.size_hint(),
                (3, Some(3)),
                "closed: nothing more can enter"
            );
            assert_eq!(rx.by_ref().collect::<Vec<_>>().await, [0, 1, 2]);
            assert!(rx.is_terminated());
            assert!(tx.try_send(9).is_err());
        });
    });
}

// ---------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------

/// Two consumers' streams — one borrowed, one owning an `Arc`, in another task — share the
/// items put by a task and by a plain thread: every item reaches exactly one consumer, in
/// the order it was put (per producer), and both streams end once the queue is closed and
/// drained.
#[test]
fn queue_streams_share_every_item_and_end_when_the_queue_is_closed_and_drained() {
    with_hang_guard(|| {
        let rt = tempo::Builder::new().workers(2).build().unwrap();
        rt.block_on(async {
            let queue = Arc::new(Queue::bounded(3));
            let task_producer = tempo::spawn({
                let queue = Arc::clone(&queue);
                async move {
                    for n in 0..100u32 {
                        queue.put(n).await.unwrap();
                    }
                }
            });
            let thread_producer = thread::spawn({
                let queue = Arc::clone(&queue);
                move || {
                    for n in 1000..1100u32 {
                        block_on(queue.put(n)).unwrap();
                    }
                }
            });
            let closer = tempo::spawn({
                let queue = Arc::clone(&queue);
                async move {
                    task_producer.await.unwrap();
                    tempo::task::spawn_blocking(move || thread_producer.join().unwrap())
                        .await
                        .unwrap();
                    queue.close();
                }
            });
            let mut theirs = Arc::clone(&queue).into_stream();
            let other = tempo::spawn(async move {
                let got: Vec<u32> = theirs.by_ref().collect().await;
                assert!(theirs.is_terminated());
                got
            });
            let mut mine = queue.stream();
            let got_here: Vec<u32> = mine.by_ref().collect().await;
            assert!(mine.is_terminated());
            assert_eq!(mine.size_hint(), (0, Some(0)));
            assert_eq!(mine.next().await, None, "ended for good");
            let got_there = other.await.unwrap();
            closer.await.unwrap();

            for got in [&got_here, &got_there] {
                let low: Vec<u32> = got.iter().copied().filter(|n| *n < 1000).collect();
                let high: Vec<u32> = got.iter().copied().filter(|n| *n >= 1000).collect();
                assert!(low.is_sorted() && high.is_sorted(), "FIFO per producer");
            }
            let mut all: Vec<u32> = got_here.into_iter().chain(got_there).collect();
            all.sort_unstable();
            let expected: Vec<u32> = (0..100).chain(1000..1100).collect();
            assert_eq!(all, expected, "every item exactly once");
            assert!(queue.is_empty());
        });
    });
}

/// `select` over two streams of one queue, in one task, gets every item once; the merged
/// stream ends when both have seen the queue closed and empty.
#[test]
fn two_streams_of_one_queue_merged_by_select_get_every_item_once() {
    with_hang_guard(|| {
        tempo::run(async {
            let queue = Queue::new();
            for n in 0..20u32 {
                queue.try_put(n).unwrap();
            }
            queue.close();
            let merged: Vec<u32> = select(queue.stream(), queue.stream()).collect().await;
            assert_eq!(merged, (0..20).collect::<Vec<_>>());
        });
    });
}

/// Cancel safety. A `next()` dropped while waiting keeps the stream's place in line, and
/// the item handed to it meanwhile is the stream's next item. A stream dropped while an
/// item is handed to it gives the item back to the front of the queue.
#[test]
fn a_queue_stream_loses_no_item_when_a_next_or_the_stream_is_dropped() {
    with_hang_guard(|| {
        tempo::run(async {
            let queue = Queue::new();
            let mut first = queue.stream();
            assert_eq!(first.next().now_or_never(), None, "empty: it waits");
            queue.try_put(1).unwrap(); // handed to `first`, whose `next()` is gone
            assert_eq!(first.next().await, Some(1));

            let mut second = queue.stream();
            assert_eq!(second.next().now_or_never(), None);
            queue.try_put(2).unwrap(); // handed to `second`…
            drop(second); // …which goes away without taking it
            queue.try_put(3).unwrap();
            assert_eq!(queue.try_get(), Ok(2), "given back to the front");
            assert_eq!(queue.try_get(), Ok(3));
        });
    });
}

// ---------------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------------

/// `kill -USR2 <our pid>`, as another process would send it.
fn kill_usr2() {
    let pid = std::process::id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-USR2", &pid])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -USR2 {pid}: {status}");
}

/// A signal stream, driven by `enumerate`, `map`, `take` and `collect`, delivers each of
/// three signals sent by the `kill` command (each sent once the last was seen, so none
/// coalesce). Once its runtime has shut down it ends, and stays ended even when a listener
/// in another runtime hears the signal again. The only test here that uses `SIGUSR2`.
#[test]
fn a_signal_stream_delivers_each_kill_then_ends_for_good_with_its_runtime() {
    use tempo::signal::{SignalKind, signal};

    with_hang_guard(|| {
        let orphan = tempo::run(async {
            let mut user2 = signal(SignalKind::User2).expect("listen for SIGUSR2");
            let (seen_tx, seen_rx) = std_mpsc::channel::<usize>();
            let sender = thread::spawn(move || {
                for i in 0..3 {
                    kill_usr2();
                    assert_eq!(seen_rx.recv(), Ok(i), "delivery {i} seen");
                }
            });
            let seen: Vec<usize> = user2
                .by_ref()
                .enumerate()
                .map(|(i, ())| {
                    seen_tx.send(i).unwrap();
                    i
                })
                .take(3)
                .collect()
                .await;
            assert_eq!(seen, [0, 1, 2]);
            tempo::task::spawn_blocking(move || sender.join().unwrap())
                .await
                .unwrap();
            assert!(!user2.is_terminated());
            user2
        });

        let mut orphan = orphan;
        tempo::run(async move {
            assert_eq!(orphan.next().await, None, "its runtime has shut down");
            assert!(orphan.is_terminated());
            // A live listener hears one more SIGUSR2, and its dispatch moves the signal's
            // generation on; the ended stream still does not report it.
            let mut live = signal(SignalKind::User2).expect("listen for SIGUSR2");
            let sender = thread::spawn(kill_usr2);
            assert_eq!(live.next().await, Some(()));
            tempo::task::spawn_blocking(move || sender.join().unwrap())
                .await
                .unwrap();
            assert_eq!(orphan.next().await, None, "ended for good");
        });
    });
}

// ---------------------------------------------------------------------------------------
// as_completed
// ---------------------------------------------------------------------------------------

/// `as_completed` yields in completion order — here b, c, a, made so by a thread that
/// completes each only once the stream has yielded the one before — with an exact size
/// hint, and ends after the last.
#[test]
fn as_completed_yields_in_completion_order_and_ends_after_the_last() {
    with_hang_guard(|| {
        tempo::run(async {
            let (tx_a, rx_a) = oneshot::channel();
            let (tx_b, rx_b) = oneshot::channel();
            let (tx_c, rx_c) = oneshot::channel();
            let (yielded_tx, yielded_rx) = std_mpsc::channel::<&str>();
            let completer = thread::spawn(move || {
                tx_b.send("b").unwrap();
                assert_eq!(yielded_rx.recv(), Ok("b"));
                tx_c.send("c").unwrap();
                assert_eq!(yielded_rx.recv(), Ok("c"));
                tx_a.send("a").unwrap();
            });

            let mut completed = as_completed([rx_a, rx_b, rx_c]);
            assert_eq!(completed.size_hint(), (3, Some(3)));
            let order: Vec<&str> = completed
                .by_ref()
                .map(|received| {
                    let name = received.expect("each sender sends");
                    let _ = yielded_tx.send(name); // the last has nobody to tell
                    name
                })
                .collect()
                .await;
            assert_eq!(order, ["b", "c", "a"]);
            assert_eq!(completed.size_hint(), (0, Some(0)));
            assert!(completed.is_terminated());
            assert!(completed.next().await.is_none());
            tempo::task::spawn_blocking(move || completer.join().unwrap())
                .await
                .unwrap();
        });
    });
}

/// Every stream here is `Unpin` and `Send` where its items are, so it can be moved into a
/// spawned task and used with `StreamExt` without pinning.
#[test]
fn the_streams_are_unpin_and_send() {
    fn assert_stream<S: Stream + FusedStream + Unpin + Send>() {}
    assert_stream::<tempo::time::Interval>();
    assert_stream::<tempo::signal::Signal>();
    assert_stream::<tempo::sync::mpsc::Receiver<u8>>();
    assert_stream::<tempo::sync::mpsc::UnboundedReceiver<u8>>();
    assert_stream::<tempo::sync::QueueStream<'static, u8>>();
    assert_stream::<tempo::future::AsCompleted<future::Ready<u8>>>();
}
