//! Channels: `Queue` (asyncio's `Queue`), `mpsc` and `oneshot`.
//!
//! How these tests decide what happened, without ever sleeping to order events:
//!
//! - **By hand.** Many tests poll the futures themselves, outside any runtime, with
//!   [`Counter`] wakers that count their wakes. The order of waiting is then the order of
//!   the first polls, and "was the right task woken, exactly once?" is an exact assertion.
//! - **With tasks.** Runtime tests synchronise through the primitives under test, through
//!   `yield_until` on a flag a task sets, or by aborting a task at a known point.
//! - **With threads.** Cross-thread tests run each side in its own `tempo::Runtime` on a
//!   std thread (there are no multi-worker runtimes yet), under `with_hang_guard`, so a
//!   lost wake-up fails the test instead of hanging it. The races among them also run 100
//!   times in a loop.
//! - **Allocations** are counted by a `#[global_allocator]` that counts only on the thread
//!   that asked, while it asked, so tests running in parallel do not disturb each other.

mod common;

#[allow(dead_code)] // `main` and the printing helpers are the example's, not ours
#[path = "../examples/producer_consumer.rs"]
mod producer_consumer;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::{DropGuard, block_on, panic_text, with_hang_guard, yield_until};
use tempo::Runtime;
use tempo::sync::mpsc::{self, TryRecvError, TrySendError};
use tempo::sync::oneshot;
use tempo::sync::{GetError, PutError, Queue, TryGetError, TryPutError};
use tempo::task::yield_now;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// How many times each race-prone test repeats its body.
const RACE_ROUNDS: usize = 100;

/// A waker that counts how often it was woken.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A counting waker, and a handle to read its count.
fn counter() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    (Arc::clone(&counter), Waker::from(counter))
}

impl Counter {
    fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// Poll a pinned future once with `waker`.
fn poll<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}

/// Poll `future` up to `polls` times, yielding to the runtime in between, and drop it —
/// cancel it — if it is still pending. The tool for racing a cancellation against a
/// hand-off from another thread.
async fn poll_briefly<F: Future>(future: F, polls: usize) -> Option<F::Output> {
    let mut future = pin!(future);
    for _ in 0..polls {
        if let Poll::Ready(out) = poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
            return Some(out);
        }
        yield_now().await;
    }
    None
}

/// Wraps a future and sets `flag` once a poll of it has returned `Pending`: "it is now
/// waiting", which a test can wait for with `yield_until` instead of guessing.
async fn flag_when_waiting<F: Future>(future: F, flag: Arc<AtomicBool>) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        let poll = future.as_mut().poll(cx);
        if poll.is_pending() {
            flag.store(true, SeqCst);
        }
        poll
    })
    .await
}

/// An item that counts its drops, to tell "dropped" from "delivered" from "lost".
fn tracked(id: u32, drops: &Arc<AtomicUsize>) -> (u32, DropGuard) {
    (id, DropGuard(Arc::clone(drops)))
}

fn drops() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// `tempo::run` on a fresh thread under `with_hang_guard`: a lost wake-up fails the test
/// instead of hanging it. The future is made on that thread, so it need not be `Send`.
fn run_guarded<F>(make: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F: Future + 'static,
    F::Output: Send + 'static,
{
    with_hang_guard(move || tempo::run(make()))
}

/// Run `body` on a fresh thread with its own runtime.
fn on_runtime_thread<T, F>(body: impl FnOnce() -> F + Send + 'static) -> thread::JoinHandle<T>
where
    T: Send + 'static,
    F: Future<Output = T>,
{
    thread::spawn(move || {
        let runtime = Runtime::new().expect("a runtime");
        runtime.block_on(body())
    })
}

// ---------------------------------------------------------------------------------------
// Counting allocations
// ---------------------------------------------------------------------------------------

/// The system allocator, counting allocations made on a thread while that thread counts.
struct CountingAllocator;

thread_local! {
    /// True while this thread counts its allocations. Const-initialised and without a
    /// destructor, so reading it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations counted on this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so it
// upholds whatever `System` does; counting touches only const thread-locals, which neither
// allocate nor unwind.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: our caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: `ptr` was allocated by `System` (every allocation here is), with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `realloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Start counting this thread's allocations from zero.
fn start_counting() {
    ALLOCATIONS.set(0);
    COUNTING.set(true);
}

/// Stop counting; how many allocations this thread made since `start_counting`.
fn stop_counting() -> usize {
    COUNTING.set(false);
    ALLOCATIONS.get()
}

/// Poll every future of `futures` until all are done: a join inside one task, with no
/// allocation (they are pinned by the caller, on its stack).
async fn join_pinned(futures: &mut [Pin<&mut dyn Future<Output = ()>>]) {
    let mut done = [false; 8];
    assert!(futures.len() <= done.len());
    poll_fn(|cx| {
        for (future, done) in futures.iter_mut().zip(done.iter_mut()) {
            if !*done {
                *done = future.as_mut().poll(cx).is_ready();
            }
        }
        if done.iter().take(futures.len()).all(|&d| d) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------
// Compile-time guarantees
// ---------------------------------------------------------------------------------------

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>(_: &T) {}

/// Every handle is `Send + Sync` for a `Send` item, and every future they return is `Send`,
/// so all of it can move to another worker or thread.
#[test]
fn handles_are_send_and_sync_and_their_futures_are_send() {
    assert_send_sync::<Queue<String>>();
    assert_send_sync::<mpsc::Sender<String>>();
    assert_send_sync::<mpsc::Receiver<String>>();
    assert_send_sync::<mpsc::UnboundedSender<String>>();
    assert_send_sync::<mpsc::UnboundedReceiver<String>>();
    assert_send_sync::<oneshot::Sender<String>>();
    assert_send_sync::<oneshot::Receiver<String>>();
    assert_send_sync::<PutError<String>>();
    assert_send_sync::<TryPutError<String>>();

    let queue = Queue::<String>::bounded(1);
    assert_send(&queue.put(String::new()));
    assert_send(&queue.get());
    assert_send(&queue.join());
    let (tx, mut rx) = mpsc::channel::<String>(1);
    assert_send(&tx.send(String::new()));
    assert_send(&tx.closed());
    assert_send(&rx.recv());
    let (utx, mut urx) = mpsc::unbounded_channel::<String>();
    assert_send(&utx.closed());
    assert_send(&urx.recv());
    let (mut otx, orx) = oneshot::channel::<String>();
    assert_send(&otx.closed());
    assert_send(&orx);
}

// ---------------------------------------------------------------------------------------
// Queue: order, capacity, task_done/join, close
// ---------------------------------------------------------------------------------------

/// Items come out in the order they went in, bounded or not, and a bounded queue never
/// holds more than `maxsize` while a producer task races a consumer.
#[test]
fn queue_is_first_in_first_out() {
    run_guarded(|| async {
        for queue in [Queue::new(), Queue::bounded(1000)] {
            for i in 0..1000 {
                queue.put(i).await.unwrap();
            }
            assert_eq!(queue.len(), 1000);
            assert_eq!(queue.is_full(), queue.maxsize().is_some());
            for i in 0..1000 {
                assert_eq!(queue.get().await, Ok(i));
            }
            assert!(queue.is_empty());
            assert_eq!(queue.try_get(), Err(TryGetError::Empty));
        }

        let queue = Arc::new(Queue::bounded(3));
        assert_eq!(queue.maxsize(), Some(3));
        let producer = tempo::spawn({
            let queue = Arc::clone(&queue);
            async move {
                for i in 0..500 {
                    queue.put(i).await.unwrap();
                    assert!(queue.len() <= 3, "a bounded queue over its maxsize");
                }
            }
        });
        for i in 0..500 {
            assert_eq!(queue.get().await, Ok(i));
            if i % 7 == 0 {
                yield_now().await; // let the producer fill the queue up
            }
        }
        producer.await.unwrap();
    });
}

/// Getters that wait are paired with items in the order they started waiting — whoever
/// polls first afterwards — and an item handed to a waiting getter is spoken for.
#[test]
fn queue_waiting_getters_are_served_in_the_order_they_waited() {
    let queue = Queue::new();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let (c3, w3) = counter();
    let mut g1 = pin!(queue.get());
    let mut g2 = pin!(queue.get());
    let mut g3 = pin!(queue.get());
    assert!(poll(g1.as_mut(), &w1).is_pending());
    assert!(poll(g2.as_mut(), &w2).is_pending());
    assert!(poll(g3.as_mut(), &w3).is_pending());

    queue.try_put(10).unwrap();
    assert_eq!((c1.wakes(), c2.wakes(), c3.wakes()), (1, 0, 0));
    queue.try_put(20).unwrap();
    queue.try_put(30).unwrap();
    assert_eq!((c1.wakes(), c2.wakes(), c3.wakes()), (1, 1, 1));

    // All three are counted (asyncio's qsize) but promised to the waiting getters.
    assert_eq!(queue.len(), 3);
    assert_eq!(queue.try_get(), Err(TryGetError::Empty));

    assert_eq!(poll(g3.as_mut(), &w3), Poll::Ready(Ok(30)));
    assert_eq!(poll(g2.as_mut(), &w2), Poll::Ready(Ok(20)));
    assert_eq!(poll(g1.as_mut(), &w1), Poll::Ready(Ok(10)));
    assert!(queue.is_empty());
}

/// A full queue: `put` waits, `try_put` fails with the item back, and waiting putters get
/// the freed slots one at a time, first come first served; a freed slot is held for the
/// putter it was given to, so no newcomer can take it.
#[test]
fn queue_bounded_put_waits_while_full_and_resumes_in_fifo_order() {
    let queue = Queue::bounded(2);
    queue.try_put('a').unwrap();
    queue.try_put('b').unwrap();
    assert!(queue.is_full());

    let (cc, wc) = counter();
    let (cd, wd) = counter();
    let mut put_c = pin!(queue.put('c'));
    let mut put_d = pin!(queue.put('d'));
    assert!(poll(put_c.as_mut(), &wc).is_pending());
    assert!(poll(put_d.as_mut(), &wd).is_pending());
    assert_eq!(queue.try_put('x'), Err(TryPutError::Full('x')));

    assert_eq!(queue.try_get(), Ok('a'));
    assert_eq!((cc.wakes(), cd.wakes()), (1, 0), "the first putter, only");
    // The slot is c's: d, polled first, and a newcomer both find no room.
    assert!(poll(put_d.as_mut(), &wd).is_pending());
    assert_eq!(queue.try_put('x'), Err(TryPutError::Full('x')));
    assert!(queue.is_full());
    assert_eq!(poll(put_c.as_mut(), &wc), Poll::Ready(Ok(())));

    assert_eq!(queue.try_get(), Ok('b'));
    assert_eq!((cc.wakes(), cd.wakes()), (1, 1));
    assert_eq!(poll(put_d.as_mut(), &wd), Poll::Ready(Ok(())));
    assert_eq!(queue.try_get(), Ok('c'));
    assert_eq!(queue.try_get(), Ok('d'));
    assert_eq!(queue.try_get(), Err(TryGetError::Empty));
}

/// The same with tasks: five producer tasks block on a full queue, each known to be
/// waiting before the next starts; their items come out in the order they waited.
#[test]
fn queue_blocked_producer_tasks_resume_in_the_order_they_blocked() {
    run_guarded(|| async {
        let queue = Arc::new(Queue::bounded(1));
        queue.put(usize::MAX).await.unwrap();
        let mut producers = Vec::new();
        for id in 0..5 {
            let waiting = Arc::new(AtomicBool::new(false));
            let queue = Arc::clone(&queue);
            let flag = Arc::clone(&waiting);
            producers.push(tempo::spawn(async move {
                flag_when_waiting(queue.put(id), flag).await.unwrap();
            }));
            yield_until("the producer to wait", || waiting.load(SeqCst)).await;
        }
        let mut got = Vec::new();
        for _ in 0..6 {
            got.push(queue.get().await.unwrap());
        }
        assert_eq!(got, [usize::MAX, 0, 1, 2, 3, 4]);
        for producer in producers {
            producer.await.unwrap();
        }
    });
}

/// `join` returns at once with nothing unfinished, waits through every `task_done` but
/// the last, and is released (all joiners, each woken once) by the last.
#[test]
fn queue_join_waits_for_the_last_task_done() {
    let queue = Queue::new();
    let (c0, w0) = counter();
    assert_eq!(
        poll(pin!(queue.join()), &w0),
        Poll::Ready(()),
        "nothing put"
    );

    for i in 0..3 {
        queue.try_put(i).unwrap();
    }
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let mut join1 = pin!(queue.join());
    let mut join2 = pin!(queue.join());
    assert!(poll(join1.as_mut(), &w1).is_pending());
    assert!(poll(join2.as_mut(), &w2).is_pending());

    for _ in 0..2 {
        queue.try_get().unwrap();
        queue.task_done();
        assert_eq!((c1.wakes(), c2.wakes()), (0, 0));
        assert!(poll(join1.as_mut(), &w1).is_pending());
    }
    // Getting the last item is not enough: it must be marked done.
    queue.try_get().unwrap();
    assert!(poll(join1.as_mut(), &w1).is_pending());
    queue.task_done();
    assert_eq!((c1.wakes(), c2.wakes()), (1, 1));
    assert_eq!(poll(join1.as_mut(), &w1), Poll::Ready(()));
    assert_eq!(poll(join2.as_mut(), &w2), Poll::Ready(()));
    assert_eq!(c0.wakes(), 0);

    // A new put makes a new join wait again.
    queue.try_put(3).unwrap();
    let mut join3 = pin!(queue.join());
    assert!(poll(join3.as_mut(), &w0).is_pending());
    queue.try_get().unwrap();
    queue.task_done();
    assert_eq!(poll(join3.as_mut(), &w0), Poll::Ready(()));
}

/// With tasks: `join` returns only after the consumer has processed every item.
#[test]
fn queue_join_returns_after_a_consumer_task_has_processed_everything() {
    run_guarded(|| async {
        let queue = Arc::new(Queue::bounded(4));
        let processed = Arc::new(AtomicUsize::new(0));
        let consumer = tempo::spawn({
            let (queue, processed) = (Arc::clone(&queue), Arc::clone(&processed));
            async move {
                while let Ok(()) = queue.get().await {
                    yield_now().await; // the "processing"
                    processed.fetch_add(1, SeqCst);
                    queue.task_done();
                }
            }
        });
        for _ in 0..100 {
            queue.put(()).await.unwrap();
        }
        queue.join().await;
        assert_eq!(processed.load(SeqCst), 100);
        queue.close();
        consumer.await.unwrap();
    });
}

/// More `task_done` calls than items is a bug in the caller, as asyncio's `ValueError`
/// says: it panics, and the queue is still usable afterwards (its lock is not poisoned).
#[test]
fn queue_task_done_more_often_than_items_panics() {
    let queue = Queue::new();
    queue.try_put(1).unwrap();
    queue.try_get().unwrap();
    queue.task_done();
    let panic = catch_unwind(AssertUnwindSafe(|| queue.task_done())).unwrap_err();
    assert!(panic_text(&*panic).contains("task_done() called more times"));
    queue.try_put(2).unwrap();
    assert_eq!(queue.try_get(), Ok(2));
    queue.task_done();
    assert_eq!(poll(pin!(queue.join()), Waker::noop()), Poll::Ready(()));
}

/// `close` (Python 3.13's `shutdown`): waiting getters wake and fail; waiting and later
/// putters fail with their item back; getters drain what is left first; `join` still
/// counts.
#[test]
fn queue_close_fails_putters_and_lets_getters_drain_first() {
    // Getters waiting on an empty queue.
    let queue = Queue::<u32>::new();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let mut g1 = pin!(queue.get());
    let mut g2 = pin!(queue.get());
    assert!(poll(g1.as_mut(), &w1).is_pending());
    assert!(poll(g2.as_mut(), &w2).is_pending());
    queue.close();
    assert!(queue.is_closed());
    assert_eq!((c1.wakes(), c2.wakes()), (1, 1));
    assert_eq!(poll(g1.as_mut(), &w1), Poll::Ready(Err(GetError)));
    assert_eq!(poll(g2.as_mut(), &w2), Poll::Ready(Err(GetError)));
    queue.close(); // twice is harmless

    // A full queue with a putter waiting.
    let queue = Queue::bounded(2);
    queue.try_put(1).unwrap();
    queue.try_put(2).unwrap();
    let (c3, w3) = counter();
    let mut put3 = pin!(queue.put(3));
    assert!(poll(put3.as_mut(), &w3).is_pending());
    queue.close();
    assert_eq!(c3.wakes(), 1);
    assert_eq!(poll(put3.as_mut(), &w3), Poll::Ready(Err(PutError(3))));
    assert_eq!(queue.try_put(4), Err(TryPutError::Closed(4)));
    assert_eq!(poll(pin!(queue.put(5)), &w3), Poll::Ready(Err(PutError(5))));
    assert_eq!(poll(pin!(queue.get()), &w3), Poll::Ready(Ok(1)));
    assert_eq!(queue.try_get(), Ok(2));
    assert_eq!(queue.try_get(), Err(TryGetError::Closed));
    assert_eq!(poll(pin!(queue.get()), &w3), Poll::Ready(Err(GetError)));

    // Two items were put and got, none marked done: join still waits for them.
    let mut join = pin!(queue.join());
    assert!(poll(join.as_mut(), &w3).is_pending());
    queue.task_done();
    queue.task_done();
    assert_eq!(poll(join.as_mut(), &w3), Poll::Ready(()));
}

// ---------------------------------------------------------------------------------------
// Queue: cancellation safety
// ---------------------------------------------------------------------------------------

/// A dropped `get` loses no item, in each case: it was only waiting; an item had been
/// handed to it and another getter waits; an item had been handed to it and newer items
/// are queued behind; and on a bounded queue, where the handed item keeps its slot.
#[test]
fn queue_dropped_get_loses_no_item() {
    let (_, w) = counter();

    // 1. Only waiting: the next item goes to the queue, not to a departed getter.
    let queue = Queue::new();
    let mut g = Box::pin(queue.get());
    assert!(poll(g.as_mut(), &w).is_pending());
    drop(g);
    queue.try_put(7).unwrap();
    assert_eq!(queue.try_get(), Ok(7));

    // 2. Handed an item, then dropped before running: the next getter gets it.
    let (c2, w2) = counter();
    let mut g1 = Box::pin(queue.get());
    let mut g2 = pin!(queue.get());
    assert!(poll(g1.as_mut(), &w).is_pending());
    assert!(poll(g2.as_mut(), &w2).is_pending());
    queue.try_put(1).unwrap(); // handed to g1
    assert_eq!(c2.wakes(), 0);
    drop(g1);
    assert_eq!(c2.wakes(), 1, "the item's new owner is woken");
    assert_eq!(poll(g2.as_mut(), &w2), Poll::Ready(Ok(1)));

    // 3. Handed an item, newer items behind it, no other getter: it goes back in front.
    let mut g1 = Box::pin(queue.get());
    assert!(poll(g1.as_mut(), &w).is_pending());
    queue.try_put(1).unwrap(); // handed to g1
    queue.try_put(2).unwrap(); // queued
    assert_eq!(queue.len(), 2);
    drop(g1);
    assert_eq!(queue.len(), 2);
    assert_eq!(queue.try_get(), Ok(1));
    assert_eq!(queue.try_get(), Ok(2));

    // 4. Bounded: the handed item holds its slot until got, so giving it back cannot
    //    overfill the queue.
    let queue = Queue::bounded(1);
    let mut g1 = Box::pin(queue.get());
    assert!(poll(g1.as_mut(), &w).is_pending());
    queue.try_put(1).unwrap();
    assert_eq!(queue.try_put(2), Err(TryPutError::Full(2)));
    drop(g1);
    assert_eq!(queue.len(), 1);
    assert_eq!(queue.try_get(), Ok(1));
    assert_eq!(queue.try_put(2), Ok(()));
}

/// The same with tasks: a getter task is aborted after an item was handed to it but
/// before it ran; the item goes to the next getter task.
#[test]
fn queue_aborting_a_getter_task_after_the_hand_off_loses_nothing() {
    run_guarded(|| async {
        let queue = Arc::new(Queue::new());
        let mut getters = Vec::new();
        for _ in 0..2 {
            let waiting = Arc::new(AtomicBool::new(false));
            let (queue, flag) = (Arc::clone(&queue), Arc::clone(&waiting));
            getters.push(tempo::spawn(async move {
                flag_when_waiting(queue.get(), flag).await
            }));
            yield_until("the getter to wait", || waiting.load(SeqCst)).await;
        }
        // Both wait. The put hands 42 to the first and wakes it; we abort it before it runs.
        queue.put(42).await.unwrap();
        getters[0].abort();
        let second = getters.pop().unwrap();
        let first = getters.pop().unwrap();
        assert!(first.await.unwrap_err().is_cancelled());
        assert_eq!(second.await.unwrap(), Ok(42));
        assert!(queue.is_empty());
    });
}

/// A dropped `put` on a full queue inserts nothing, whether it was only waiting or had
/// already been given a freed slot; in the second case the slot goes to the next putter.
#[test]
fn queue_dropped_put_inserts_nothing_and_passes_its_slot_on() {
    let dropped = drops();
    let (c1, w1) = counter();
    let (c2, w2) = counter();

    // 1. Only waiting.
    let queue = Queue::bounded(1);
    queue.try_put(tracked(0, &dropped)).unwrap();
    let mut p1 = Box::pin(queue.put(tracked(1, &dropped)));
    let mut p2 = pin!(queue.put(tracked(2, &dropped)));
    assert!(poll(p1.as_mut(), &w1).is_pending());
    assert!(poll(p2.as_mut(), &w2).is_pending());
    drop(p1);
    assert_eq!(dropped.load(SeqCst), 1, "item 1 dropped with its put");
    assert_eq!(queue.try_get().unwrap().0, 0);
    assert_eq!(
        (c1.wakes(), c2.wakes()),
        (0, 1),
        "the slot goes to the live putter"
    );
    assert!(poll(p2.as_mut(), &w2).is_ready());
    assert_eq!(queue.try_get().unwrap().0, 2);
    assert!(matches!(queue.try_get(), Err(TryGetError::Empty)));

    // 2. Given the slot, then dropped before using it.
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    queue.try_put(tracked(3, &dropped)).unwrap();
    let mut p1 = Box::pin(queue.put(tracked(4, &dropped)));
    let mut p2 = pin!(queue.put(tracked(5, &dropped)));
    assert!(poll(p1.as_mut(), &w1).is_pending());
    assert!(poll(p2.as_mut(), &w2).is_pending());
    assert_eq!(queue.try_get().unwrap().0, 3);
    assert_eq!((c1.wakes(), c2.wakes()), (1, 0), "the slot is p1's");
    drop(p1);
    assert_eq!((c1.wakes(), c2.wakes()), (1, 1), "p1 passed the slot on");
    assert!(poll(p2.as_mut(), &w2).is_ready());
    assert_eq!(queue.try_get().unwrap().0, 5);
    assert!(matches!(queue.try_get(), Err(TryGetError::Empty)));
    assert!(
        !queue.is_full(),
        "no slot is left reserved for a departed putter"
    );
}

// ---------------------------------------------------------------------------------------
// Queue: threads
// ---------------------------------------------------------------------------------------

/// 4 producers × 10 000 items, each producer in its own runtime on its own thread, and 3
/// consumers likewise: every item is received exactly once, and each consumer sees each
/// producer's items in the order they were put.
#[test]
fn queue_many_producers_and_consumers_on_threads_deliver_each_item_once() {
    const PRODUCERS: usize = 4;
    const ITEMS: usize = 10_000;
    const CONSUMERS: usize = 3;
    with_hang_guard(|| {
        let queue = Arc::new(Queue::bounded(64));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let queue = Arc::clone(&queue);
                on_runtime_thread(move || async move {
                    for i in 0..ITEMS {
                        queue.put((p, i)).await.unwrap();
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let queue = Arc::clone(&queue);
                on_runtime_thread(move || async move {
                    let mut got = Vec::new();
                    while let Ok(item) = queue.get().await {
                        got.push(item);
                        queue.task_done();
                    }
                    got
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        block_on(queue.join()); // from a plain thread: every item processed
        queue.close();

        let mut seen = vec![vec![false; ITEMS]; PRODUCERS];
        let mut total = 0;
        for consumer in consumers {
            let mut last = [None; PRODUCERS];
            for (p, i) in consumer.join().unwrap() {
                assert!(!seen[p][i], "item ({p}, {i}) received twice");
                seen[p][i] = true;
                assert!(last[p] < Some(i), "producer {p}'s items out of order");
                last[p] = Some(i);
                total += 1;
            }
        }
        assert_eq!(total, PRODUCERS * ITEMS);
    });
}

/// Race: getters on one thread keep giving up (dropping `get` after a poll or two) while a
/// producer on another thread puts, so items are often handed to a getter that is then
/// dropped. Every item still arrives exactly once. 100 rounds.
#[test]
fn race_queue_getters_cancelled_during_hand_offs_lose_no_item() {
    const ITEMS: u32 = 300;
    with_hang_guard(|| {
        for _ in 0..RACE_ROUNDS {
            let queue = Arc::new(Queue::bounded(4));
            let dropped = drops();
            let producer = {
                let (queue, dropped) = (Arc::clone(&queue), Arc::clone(&dropped));
                on_runtime_thread(move || async move {
                    for i in 0..ITEMS {
                        queue.put(tracked(i, &dropped)).await.unwrap();
                    }
                    queue.close();
                })
            };
            let consumer = {
                let queue = Arc::clone(&queue);
                on_runtime_thread(move || async move {
                    let got = Rc::new(RefCell::new(Vec::new()));
                    let getters: Vec<_> = (0..3)
                        .map(|k| {
                            let (queue, got) = (Arc::clone(&queue), Rc::clone(&got));
                            tempo::spawn_local(async move {
                                loop {
                                    match poll_briefly(queue.get(), 1 + k).await {
                                        Some(Ok((i, _guard))) => got.borrow_mut().push(i),
                                        Some(Err(GetError)) => break,
                                        None => {} // gave up: cancelled, maybe mid-hand-off
                                    }
                                }
                            })
                        })
                        .collect();
                    for getter in getters {
                        getter.await.unwrap();
                    }
                    Rc::try_unwrap(got).unwrap().into_inner()
                })
            };
            producer.join().unwrap();
            let mut got = consumer.join().unwrap();
            got.sort_unstable();
            assert_eq!(got, (0..ITEMS).collect::<Vec<_>>());
            assert_eq!(dropped.load(SeqCst), ITEMS as usize);
        }
    });
}

/// Race: producers on two threads keep giving up on `put`s to a 2-slot queue while a
/// consumer on a third takes items. An abandoned put never inserts, an accepted one is
/// received exactly once, and afterwards every slot is free again (no slot stranded with
/// a departed putter). 100 rounds.
#[test]
fn race_queue_putters_cancelled_on_a_full_queue_never_insert_or_strand_a_slot() {
    const ATTEMPTS: u32 = 200;
    with_hang_guard(|| {
        for _ in 0..RACE_ROUNDS {
            let queue = Arc::new(Queue::<Option<u32>>::bounded(2));
            let producers: Vec<_> = (0..2u32)
                .map(|p| {
                    let queue = Arc::clone(&queue);
                    on_runtime_thread(move || async move {
                        let mut accepted = Vec::new();
                        for k in 0..ATTEMPTS {
                            let item = p * ATTEMPTS + k;
                            // A final put that must get through proves no slot is lost.
                            let polls = if k == ATTEMPTS - 1 { usize::MAX } else { 1 };
                            if let Some(result) = poll_briefly(queue.put(Some(item)), polls).await {
                                result.unwrap();
                                accepted.push(item);
                            }
                        }
                        accepted
                    })
                })
                .collect();
            let consumer = {
                let queue = Arc::clone(&queue);
                on_runtime_thread(move || async move {
                    let mut got = Vec::new();
                    while let Some(item) = queue.get().await.unwrap() {
                        got.push(item);
                        queue.task_done();
                        if got.len() % 3 == 0 {
                            yield_now().await; // let the queue fill up
                        }
                    }
                    queue.task_done();
                    got
                })
            };
            let mut accepted: Vec<u32> = producers
                .into_iter()
                .flat_map(|p| p.join().unwrap())
                .collect();
            block_on(queue.join());
            block_on(queue.put(None)).unwrap(); // the consumer's signal to stop
            let mut got = consumer.join().unwrap();
            accepted.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, accepted);
            assert!(queue.is_empty());
            assert_eq!(queue.try_put(None), Ok(()));
            assert_eq!(queue.try_put(None), Ok(()));
            assert!(queue.is_full());
        }
    });
}

/// Race: `close` against getters and putters blocked on two other threads. Everyone
/// finishes; every item accepted is received, and every other item comes back in its
/// `PutError`. 100 rounds.
#[test]
fn race_queue_close_against_blocked_getters_and_putters() {
    const PER_PUTTER: u32 = 50;
    with_hang_guard(|| {
        for _ in 0..RACE_ROUNDS {
            let queue = Arc::new(Queue::bounded(1));
            let received = Arc::new(AtomicUsize::new(0));
            let getters = {
                let (queue, received) = (Arc::clone(&queue), Arc::clone(&received));
                on_runtime_thread(move || async move {
                    let tasks: Vec<_> = (0..3)
                        .map(|_| {
                            let (queue, received) = (Arc::clone(&queue), Arc::clone(&received));
                            tempo::spawn(async move {
                                let mut got = Vec::new();
                                while let Ok(item) = queue.get().await {
                                    got.push(item);
                                    received.fetch_add(1, SeqCst);
                                }
                                got
                            })
                        })
                        .collect();
                    let mut got = Vec::new();
                    for task in tasks {
                        got.extend(task.await.unwrap());
                    }
                    got
                })
            };
            let putters = {
                let queue = Arc::clone(&queue);
                on_runtime_thread(move || async move {
                    let tasks: Vec<_> = (0..3u32)
                        .map(|p| {
                            let queue = Arc::clone(&queue);
                            tempo::spawn(async move {
                                let mut refused = Vec::new();
                                for k in 0..PER_PUTTER {
                                    if let Err(PutError(item)) = queue.put(p * PER_PUTTER + k).await
                                    {
                                        refused.push(item);
                                    }
                                }
                                refused
                            })
                        })
                        .collect();
                    let mut refused = Vec::new();
                    for task in tasks {
                        refused.extend(task.await.unwrap());
                    }
                    refused
                })
            };
            // Close mid-stream: once a few items have gone through.
            while received.load(SeqCst) < 10 {
                thread::yield_now();
            }
            queue.close();
            let mut all = getters.join().unwrap();
            all.extend(putters.join().unwrap());
            all.sort_unstable();
            assert_eq!(all, (0..3 * PER_PUTTER).collect::<Vec<_>>());
        }
    });
}

/// `spawn_local` tasks, which need not be `Send`, share a queue through an `Rc`.
#[test]
fn queue_works_between_spawn_local_tasks() {
    run_guarded(|| async {
        let queue = Rc::new(Queue::bounded(2));
        let sum = Rc::new(Cell::new(0));
        let consumer = tempo::spawn_local({
            let (queue, sum) = (Rc::clone(&queue), Rc::clone(&sum));
            async move {
                while let Ok(n) = queue.get().await {
                    sum.set(sum.get() + n);
                }
            }
        });
        let producer = tempo::spawn_local({
            let queue = Rc::clone(&queue);
            async move {
                for n in 1..=100 {
                    queue.put(n).await.unwrap();
                }
                queue.close();
            }
        });
        producer.await.unwrap();
        consumer.await.unwrap();
        assert_eq!(sum.get(), 5050);
    });
}

// ---------------------------------------------------------------------------------------
// mpsc
// ---------------------------------------------------------------------------------------

/// Values arrive in order; a bounded channel's waiting senders get slots first come first
/// served; `try_send` reports Full, with the value back.
#[test]
fn mpsc_bounded_is_fifo_and_waiting_senders_go_in_order() {
    let (tx, mut rx) = mpsc::channel(2);
    let tx2 = tx.clone();
    assert_eq!(tx.max_capacity(), 2);
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));

    let (c3, w3) = counter();
    let (c4, w4) = counter();
    let mut s3 = pin!(tx2.send(3));
    let mut s4 = pin!(tx.send(4));
    assert!(poll(s3.as_mut(), &w3).is_pending());
    assert!(poll(s4.as_mut(), &w4).is_pending());

    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!((c3.wakes(), c4.wakes()), (1, 0));
    assert!(poll(s4.as_mut(), &w4).is_pending(), "the slot is s3's");
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    assert!(poll(s3.as_mut(), &w3).is_ready());
    assert_eq!(poll(pin!(rx.recv()), &w3), Poll::Ready(Some(2)));
    assert_eq!(c4.wakes(), 1);
    assert!(poll(s4.as_mut(), &w4).is_ready());
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// Every sender dropped: the receiver still gets what was buffered, then `None`; a receiver
/// already waiting is woken by the last drop (not by earlier ones). Both flavours.
#[test]
fn mpsc_recv_drains_then_returns_none_once_every_sender_is_gone() {
    let (c, w) = counter();

    let (tx, mut rx) = mpsc::channel(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    drop(tx2);
    assert_eq!(poll(pin!(rx.recv()), &w), Poll::Ready(Some(1)));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(poll(pin!(rx.recv()), &w), Poll::Ready(None));

    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let tx2 = tx.clone();
    {
        let mut recv = pin!(rx.recv());
        assert!(poll(recv.as_mut(), &w).is_pending());
        drop(tx);
        assert_eq!(c.wakes(), 0, "one sender is still alive");
        drop(tx2);
        assert_eq!(c.wakes(), 1);
        assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(None));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// The receiver dropped: sends fail with the value back, waiting senders are woken to
/// fail, `closed()` completes, and values still buffered are dropped with the receiver.
#[test]
fn mpsc_send_fails_with_the_value_back_once_the_receiver_is_gone() {
    let dropped = drops();
    let (tx, rx) = mpsc::channel(1);
    tx.try_send(tracked(0, &dropped)).unwrap();
    let (cs, ws) = counter();
    let (cc, wc) = counter();
    let mut send = pin!(tx.send(tracked(1, &dropped)));
    let mut closed = pin!(tx.closed());
    assert!(poll(send.as_mut(), &ws).is_pending());
    assert!(poll(closed.as_mut(), &wc).is_pending());
    assert!(!tx.is_closed());

    drop(rx);
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "the buffered value went with the receiver"
    );
    assert_eq!((cs.wakes(), cc.wakes()), (1, 1));
    assert!(tx.is_closed());
    match poll(send.as_mut(), &ws) {
        Poll::Ready(Err(mpsc::SendError((1, _)))) => {}
        other => panic!(
            "expected SendError with value 1, got {:?}",
            other.map(|r| r.is_ok())
        ),
    }
    assert_eq!(poll(closed.as_mut(), &wc), Poll::Ready(()));
    assert!(matches!(
        tx.try_send(tracked(2, &dropped)),
        Err(TrySendError::Closed((2, _)))
    ));

    let (utx, urx) = mpsc::unbounded_channel();
    utx.send(tracked(3, &dropped)).unwrap();
    let before = dropped.load(SeqCst);
    drop(urx);
    assert_eq!(dropped.load(SeqCst), before + 1);
    assert!(matches!(
        utx.send(tracked(4, &dropped)),
        Err(mpsc::SendError((4, _)))
    ));
    assert!(utx.is_closed());
    assert_eq!(poll(pin!(utx.closed()), Waker::noop()), Poll::Ready(()));
}

/// `Receiver::close`: new and waiting sends fail, what was buffered is still received, and
/// then `recv` returns `None` although senders are alive.
#[test]
fn mpsc_receiver_close_refuses_new_values_and_drains_the_rest() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(1).unwrap();
    let (c, w) = counter();
    let mut send = pin!(tx.send(2));
    assert!(poll(send.as_mut(), &w).is_pending());
    rx.close();
    assert_eq!(c.wakes(), 1);
    assert!(matches!(
        poll(send.as_mut(), &w),
        Poll::Ready(Err(mpsc::SendError(2)))
    ));
    assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(poll(pin!(rx.recv()), &w), Poll::Ready(None));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    rx.close(); // twice is harmless

    let (tx, mut rx) = mpsc::unbounded_channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(tx.send(2).map_err(|e| e.0), Err(2));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// A dropped `send` sends nothing; one that had been given a slot passes it to the next
/// waiting sender.
#[test]
fn mpsc_dropped_send_sends_nothing_and_passes_its_slot_on() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.try_send(0).unwrap();
    let (c1, w1) = counter();
    let (c2, w2) = counter();
    let mut s1 = Box::pin(tx.send(1));
    let mut s2 = pin!(tx.send(2));
    assert!(poll(s1.as_mut(), &w1).is_pending());
    assert!(poll(s2.as_mut(), &w2).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((c1.wakes(), c2.wakes()), (1, 0));
    drop(s1);
    assert_eq!(c2.wakes(), 1);
    assert!(poll(s2.as_mut(), &w2).is_ready());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(3).unwrap(); // the one slot is free again
}

/// A dropped `recv` loses nothing: the value is taken only by the poll that returns it.
#[test]
fn mpsc_dropped_recv_loses_nothing() {
    let (tx, mut rx) = mpsc::channel(2);
    {
        let mut recv = pin!(rx.recv());
        assert!(poll(recv.as_mut(), Waker::noop()).is_pending());
        tx.try_send(5).unwrap();
    } // dropped after the value arrived, before being polled again
    assert_eq!(rx.try_recv(), Ok(5));
}

/// 4 producers × 10 000 values, each in its own runtime on its own thread, into one
/// receiver: every value arrives exactly once and each producer's in order; `recv` returns
/// `None` when the last producer is done. Bounded and unbounded.
#[test]
fn mpsc_four_producer_threads_deliver_each_value_once_in_order() {
    const PRODUCERS: usize = 4;
    const ITEMS: usize = 10_000;
    with_hang_guard(|| {
        for bounded in [true, false] {
            let (tx, utx, mut rx) = if bounded {
                let (tx, rx) = mpsc::channel(16);
                (Some(tx), None, Receiver::Bounded(rx))
            } else {
                let (tx, rx) = mpsc::unbounded_channel();
                (None, Some(tx), Receiver::Unbounded(rx))
            };
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let (tx, utx) = (tx.clone(), utx.clone());
                    on_runtime_thread(move || async move {
                        for i in 0..ITEMS {
                            match (&tx, &utx) {
                                (Some(tx), _) => tx.send((p, i)).await.unwrap(),
                                (_, Some(utx)) => utx.send((p, i)).unwrap(),
                                _ => unreachable!(),
                            }
                        }
                    })
                })
                .collect();
            drop((tx, utx));
            let next = tempo::run(async move {
                let mut next = [0; PRODUCERS];
                while let Some((p, i)) = rx.recv().await {
                    assert_eq!(i, next[p], "producer {p}'s values out of order");
                    next[p] += 1;
                }
                next
            });
            assert_eq!(next, [ITEMS; PRODUCERS], "bounded: {bounded}");
            for producer in producers {
                producer.join().unwrap();
            }
        }
    });
}

/// Either receiver, so one test body covers both flavours.
enum Receiver<T> {
    Bounded(mpsc::Receiver<T>),
    Unbounded(mpsc::UnboundedReceiver<T>),
}

impl<T> Receiver<T> {
    async fn recv(&mut self) -> Option<T> {
        match self {
            Receiver::Bounded(rx) => rx.recv().await,
            Receiver::Unbounded(rx) => rx.recv().await,
        }
    }
}

/// Race: senders on three threads, some giving up on their sends, race the receiver
/// dropping mid-stream. Every value ends exactly one way — received, returned in a
/// `SendError`, abandoned with its send, or dropped with the receiver's buffer — and is
/// dropped exactly once. 100 rounds.
#[test]
fn race_mpsc_receiver_dropped_while_senders_on_other_threads_wait() {
    const PER_SENDER: u32 = 100;
    with_hang_guard(|| {
        for round in 0..RACE_ROUNDS {
            let dropped = drops();
            let (tx, mut rx) = mpsc::channel(2);
            let senders: Vec<_> = (0..3u32)
                .map(|s| {
                    let (tx, dropped) = (tx.clone(), Arc::clone(&dropped));
                    on_runtime_thread(move || async move {
                        let (mut refused, mut abandoned) = (0, 0);
                        for k in 0..PER_SENDER {
                            let value = tracked(s * PER_SENDER + k, &dropped);
                            match poll_briefly(tx.send(value), 1 + (k % 3) as usize).await {
                                Some(Ok(())) => {}
                                Some(Err(mpsc::SendError(_value))) => refused += 1,
                                None => abandoned += 1,
                            }
                        }
                        (refused, abandoned)
                    })
                })
                .collect();
            drop(tx);
            let stop_after = (round % 50) * 3;
            let received = tempo::run(async move {
                let mut received = 0;
                while received < stop_after {
                    match rx.recv().await {
                        Some(_) => received += 1,
                        None => break,
                    }
                }
                received // `rx` is dropped here, mid-stream, with whatever is buffered
            });
            let (mut refused, mut abandoned) = (0, 0);
            for sender in senders {
                let (r, a) = sender.join().unwrap();
                refused += r;
                abandoned += a;
            }
            assert!(received + refused + abandoned <= 3 * PER_SENDER as usize);
            assert_eq!(dropped.load(SeqCst), 3 * PER_SENDER as usize);
        }
    });
}

// ---------------------------------------------------------------------------------------
// oneshot
// ---------------------------------------------------------------------------------------

/// A value sent is received; one sent from another thread wakes the waiting receiver.
#[test]
fn oneshot_delivers_a_value_within_and_across_threads() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    tx.send(1).unwrap();
    assert_eq!(poll(pin!(rx), Waker::noop()), Poll::Ready(Ok(1)));

    with_hang_guard(|| {
        tempo::run(async {
            let (tx, rx) = oneshot::channel();
            let (ready_tx, ready_rx) = oneshot::channel();
            let sender = thread::spawn(move || {
                block_on(ready_rx).unwrap(); // send only once the receiver waits
                tx.send(String::from("across")).unwrap();
            });
            let waiting = Arc::new(AtomicBool::new(false));
            let receiver = tempo::spawn(flag_when_waiting(rx, Arc::clone(&waiting)));
            yield_until("the receiver to wait", || waiting.load(SeqCst)).await;
            ready_tx.send(()).unwrap();
            assert_eq!(receiver.await.unwrap().as_deref(), Ok("across"));
            sender.join().unwrap();
        })
    });
}

/// The sender dropped unsent: the receiver gets `RecvError`, and a waiting receiver is
/// woken to get it.
#[test]
fn oneshot_sender_dropped_unsent_is_a_recv_error() {
    let (c, w) = counter();
    let (tx, mut rx) = oneshot::channel::<u8>();
    assert!(poll(Pin::new(&mut rx), &w).is_pending());
    drop(tx);
    assert_eq!(c.wakes(), 1);
    assert_eq!(
        poll(Pin::new(&mut rx), &w),
        Poll::Ready(Err(oneshot::RecvError))
    );
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
}

/// The receiver dropped or closed: `send` fails with the value back, `is_closed` says so,
/// `closed()` completes (waking a waiting sender); a value sent but never received is
/// dropped with the receiver; a value sent before `close` can still be received.
#[test]
fn oneshot_receiver_gone_or_closed() {
    let (c, w) = counter();
    let (mut tx, rx) = oneshot::channel::<u8>();
    {
        let mut closed = pin!(tx.closed());
        assert!(poll(closed.as_mut(), &w).is_pending());
        drop(rx);
        assert_eq!(c.wakes(), 1);
        assert_eq!(poll(closed.as_mut(), &w), Poll::Ready(()));
    }
    assert!(tx.is_closed());
    assert_eq!(tx.send(7), Err(7));

    let (tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(8), Err(8));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
    assert_eq!(poll(pin!(rx), &w), Poll::Ready(Err(oneshot::RecvError)));

    let (tx, mut rx) = oneshot::channel();
    tx.send(9).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(9));

    let dropped = drops();
    let (tx, rx) = oneshot::channel();
    assert!(tx.send(tracked(1, &dropped)).is_ok());
    assert_eq!(dropped.load(SeqCst), 0);
    drop(rx);
    assert_eq!(dropped.load(SeqCst), 1);
}

/// Races across threads, 100 rounds each, with the receiving side in a runtime and the
/// other side on a plain thread, unsynchronised: a `send` against a waiting receiver, the
/// sender's drop against a waiting receiver, and the receiver's drop against a sender in
/// `closed()` all wake the waiter (a lost wake-up would trip the hang guard); and a `send`
/// against the receiver's drop leaves the value either returned or dropped with the
/// channel, exactly once.
#[test]
fn race_oneshot_across_threads() {
    with_hang_guard(|| {
        let runtime = Runtime::new().expect("a runtime");
        for round in 0..RACE_ROUNDS {
            let (tx, rx) = oneshot::channel();
            let sender = thread::spawn(move || tx.send(round).unwrap());
            assert_eq!(runtime.block_on(rx), Ok(round));
            sender.join().unwrap();

            let (tx, rx) = oneshot::channel::<usize>();
            let dropper = thread::spawn(move || drop(tx));
            assert_eq!(runtime.block_on(rx), Err(oneshot::RecvError));
            dropper.join().unwrap();

            let (mut tx, rx) = oneshot::channel::<usize>();
            let dropper = thread::spawn(move || drop(rx));
            runtime.block_on(tx.closed());
            assert!(tx.is_closed());
            dropper.join().unwrap();

            let dropped = drops();
            let (tx, mut rx) = oneshot::channel();
            let value = tracked(round as u32, &dropped);
            let sender = thread::spawn(move || tx.send(value).map_err(|(id, _guard)| id));
            let got = rx.try_recv().ok().map(|(id, _guard)| id);
            drop(rx);
            match (got, sender.join().unwrap()) {
                (Some(_), Err(_)) => panic!("the value was both received and returned"),
                (_, Err(id)) | (Some(id), _) => assert_eq!(id, round as u32),
                (None, Ok(())) => {} // sent, then dropped with the receiver
            }
            assert_eq!(dropped.load(SeqCst), 1, "dropped exactly once");
        }
    });
}

/// Race: the last senders are dropped on other threads (one of them having sent a value,
/// or not) while the receiver waits in a runtime. The receiver is always woken to see the
/// end. Bounded and unbounded, 100 rounds each.
#[test]
fn race_mpsc_last_sender_dropped_on_another_thread_wakes_the_receiver() {
    with_hang_guard(|| {
        let runtime = Runtime::new().expect("a runtime");
        for round in 0..RACE_ROUNDS {
            for bounded in [true, false] {
                let sends = round % 2 == 0;
                let (tx, utx, mut rx) = if bounded {
                    let (tx, rx) = mpsc::channel(1);
                    (Some(tx), None, Receiver::Bounded(rx))
                } else {
                    let (tx, rx) = mpsc::unbounded_channel();
                    (None, Some(tx), Receiver::Unbounded(rx))
                };
                let droppers: Vec<_> = (0..3)
                    .map(|s| {
                        let (tx, utx) = (tx.clone(), utx.clone());
                        thread::spawn(move || {
                            if sends && s == round % 3 {
                                match (&tx, &utx) {
                                    (Some(tx), _) => tx.try_send(s).unwrap(),
                                    (_, Some(utx)) => utx.send(s).unwrap(),
                                    _ => unreachable!(),
                                }
                            }
                        })
                    })
                    .collect();
                drop((tx, utx));
                let got = runtime.block_on(async {
                    let mut got = Vec::new();
                    while let Some(value) = rx.recv().await {
                        got.push(value);
                    }
                    got
                });
                let want = if sends { vec![round % 3] } else { vec![] };
                assert_eq!(got, want);
                for dropper in droppers {
                    dropper.join().unwrap();
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------
// The cooperative budget
// ---------------------------------------------------------------------------------------

/// How long a loop over an always-ready channel may run before we call the timer starved.
/// The timer is due after 1 ms; without the budget it would never fire.
const STARVED: Duration = Duration::from_secs(10);

/// Spawn a 1 ms timer and `looping`, which must loop until the timer's flag is set; return
/// how many rounds the loop ran.
async fn beside_a_timer<F, Fut>(looping: F) -> u64
where
    F: FnOnce(Arc<AtomicBool>) -> Fut,
    Fut: Future<Output = u64> + Send + 'static,
{
    let fired = Arc::new(AtomicBool::new(false));
    let timer = tempo::spawn({
        let fired = Arc::clone(&fired);
        async move {
            tempo::time::sleep(Duration::from_millis(1)).await;
            fired.store(true, SeqCst);
        }
    });
    let rounds = tempo::spawn(looping(fired)).await.unwrap();
    timer.await.unwrap();
    rounds
}

/// Panics if the loop has run for `STARVED`: the timer never got its turn.
fn not_starved(started: Instant) {
    assert!(
        started.elapsed() < STARVED,
        "a loop over an always-ready channel starved a 1 ms timer"
    );
}

/// A task that loops on an always-ready `get`, `recv` or `send` never returns `Pending` of
/// its own accord; the budget makes each of them yield now and then, so a timer fires.
#[test]
fn a_loop_over_an_always_ready_channel_does_not_starve_a_timer() {
    with_hang_guard(|| {
        tempo::run(async {
            beside_a_timer(|fired| async move {
                let (queue, started, mut n) = (Queue::bounded(1), Instant::now(), 0);
                while !fired.load(SeqCst) {
                    queue.try_put(n).unwrap();
                    queue.get().await.unwrap();
                    n += 1;
                    not_starved(started);
                }
                n
            })
            .await;

            beside_a_timer(|fired| async move {
                let (queue, started, mut n) = (Queue::new(), Instant::now(), 0);
                while !fired.load(SeqCst) {
                    queue.put(n).await.unwrap();
                    queue.try_get().unwrap();
                    n += 1;
                    not_starved(started);
                }
                n
            })
            .await;

            beside_a_timer(|fired| async move {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let (started, mut n) = (Instant::now(), 0);
                while !fired.load(SeqCst) {
                    tx.send(n).unwrap();
                    rx.recv().await.unwrap();
                    n += 1;
                    not_starved(started);
                }
                n
            })
            .await;

            beside_a_timer(|fired| async move {
                let (tx, mut rx) = mpsc::channel(1);
                let (started, mut n) = (Instant::now(), 0);
                while !fired.load(SeqCst) {
                    tx.send(n).await.unwrap();
                    rx.try_recv().unwrap();
                    n += 1;
                    not_starved(started);
                }
                n
            })
            .await;
        })
    });
}

// ---------------------------------------------------------------------------------------
// Allocations
// ---------------------------------------------------------------------------------------

/// The counter counts: otherwise the zero-allocation tests below could not fail.
#[test]
fn the_allocation_counter_counts() {
    start_counting();
    let boxed = std::hint::black_box(Box::new(1u64));
    let counted = stop_counting();
    drop(boxed);
    assert!(counted >= 1);
}

/// Uncontended operations allocate nothing: `try_put`/`try_get`, a `put`/`get` that need
/// not wait, bounded and pre-grown unbounded `mpsc`, and a oneshot's send and receive
/// (the channel itself is its one allocation).
#[test]
fn uncontended_operations_allocate_nothing() {
    run_guarded(|| async {
        let queue = Queue::bounded(8);
        let unbounded = Queue::new();
        let (tx, mut rx) = mpsc::channel(8);
        let (utx, mut urx) = mpsc::unbounded_channel();
        for i in 0..8 {
            unbounded.try_put(i).unwrap(); // grow the unbounded buffers once
            utx.send(i).unwrap();
        }
        while unbounded.try_get().is_ok() || urx.try_recv().is_ok() {}
        let oneshots: Vec<_> = (0..100).map(|_| oneshot::channel()).collect();

        start_counting();
        for i in 0..1000u64 {
            queue.try_put(i).unwrap();
            queue.put(i).await.unwrap();
            assert_eq!(queue.try_get(), Ok(i));
            assert_eq!(queue.get().await, Ok(i));
            unbounded.put(i).await.unwrap();
            assert_eq!(unbounded.get().await, Ok(i));
            queue.task_done();
            queue.task_done();
            tx.try_send(i).unwrap();
            tx.send(i).await.unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
            assert_eq!(rx.recv().await, Some(i));
            utx.send(i).unwrap();
            assert_eq!(urx.recv().await, Some(i));
        }
        for (k, (tx, rx)) in oneshots.into_iter().enumerate() {
            tx.send(k).unwrap();
            assert_eq!(rx.await, Ok(k));
        }
        queue.join().await;
        assert_eq!(stop_counting(), 0);
    });
}

/// A bounded queue in a steady state with contention — two producers and two consumers in
/// one task, so they take turns waiting on each other — allocates nothing once the wait
/// lists have grown to their working size. The same for a bounded `mpsc` channel.
#[test]
fn a_contended_bounded_steady_state_allocates_nothing() {
    const ITEMS: u64 = 5_000;
    run_guarded(|| async {
        let queue = Queue::bounded(4);
        let round = async || {
            let mut p0 = pin!(async {
                for i in 0..ITEMS {
                    queue.put(i).await.unwrap();
                }
            });
            let mut p1 = pin!(async {
                for i in 0..ITEMS {
                    queue.put(i).await.unwrap();
                }
            });
            let mut c0 = pin!(async {
                for _ in 0..ITEMS {
                    queue.get().await.unwrap();
                }
            });
            let mut c1 = pin!(async {
                for _ in 0..ITEMS {
                    queue.get().await.unwrap();
                }
            });
            join_pinned(&mut [p0.as_mut(), c0.as_mut(), p1.as_mut(), c1.as_mut()]).await;
        };
        round().await; // warm-up: the wait lists reach their working size
        start_counting();
        round().await;
        assert_eq!(stop_counting(), 0, "Queue");
        assert!(queue.is_empty());

        let (tx, mut rx) = mpsc::channel(2);
        let tx2 = tx.clone();
        let round = async |rx: &mut mpsc::Receiver<u64>| {
            let mut s0 = pin!(async {
                for i in 0..ITEMS {
                    tx.send(i).await.unwrap();
                }
            });
            let mut s1 = pin!(async {
                for i in 0..ITEMS {
                    tx2.send(i).await.unwrap();
                }
            });
            let mut r = pin!(async {
                for _ in 0..2 * ITEMS {
                    rx.recv().await.unwrap();
                }
            });
            join_pinned(&mut [s0.as_mut(), r.as_mut(), s1.as_mut()]).await;
        };
        round(&mut rx).await;
        start_counting();
        round(&mut rx).await;
        assert_eq!(stop_counting(), 0, "mpsc");
    });
}

// ---------------------------------------------------------------------------------------
// The example
// ---------------------------------------------------------------------------------------

/// `examples/producer_consumer.rs`, run both ways it can shut down: every job put is
/// processed exactly once and every consumer stops.
#[test]
fn the_producer_consumer_example_adds_up() {
    use producer_consumer::{CONSUMERS, JOBS_PER_PRODUCER, PRODUCERS, Shutdown, Tally, lesson};
    with_hang_guard(|| {
        for shutdown in [Shutdown::Close, Shutdown::Cancel] {
            let tally: Tally = tempo::run(lesson(shutdown));
            assert_eq!(tally.produced, [JOBS_PER_PRODUCER; PRODUCERS]);
            assert_eq!(tally.consumed_from, [JOBS_PER_PRODUCER; PRODUCERS]);
            assert_eq!(
                tally.consumed.iter().sum::<usize>(),
                PRODUCERS * JOBS_PER_PRODUCER
            );
            assert_eq!(tally.stopped, CONSUMERS);
            assert!(tally.adds_up(), "{shutdown:?}: {tally:?}");
        }
    });
}
