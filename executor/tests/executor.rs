//! The executor's contract, driven by hand on the test thread.
//!
//! These tests use no reactor and no clock. The test thread plays the runtime's loop (see
//! [`block_on`]): `drain_remote`, `run_ready`, and `std::thread::park` when nothing is
//! ready, with an unpark callback that counts its calls and unparks the test thread. Most
//! tests step that loop by hand instead, so that they can assert how many polls, wakes,
//! unparks and drops each step causes. Every count is exact: a spurious poll or a missing
//! destructor run is a failure, not noise.
//!
//! Sections:
//!  1. spawning and joining          7. spawning from other threads (`Spawner`)
//!  2. detaching and aborting        8. shutdown
//!  3. panics                        9. outputs are dropped exactly once
//!  4. wakers                       10. what is `Send` and `Sync`
//!  5. cooperative scheduling       11. regressions (bugs these tests found, now fixed)
//!  6. `spawn` and `spawn_local`     12. regressions: `CURRENT` and thread-local teardown
//!
//! Registry indexes are reused by later executors, and tests run in parallel. So no test
//! here wakes a waker after its executor is dropped: that wake would reach whichever
//! executor took the index next, and spoil another test's unpark count.

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

use tempo_executor::coop::{self, BUDGET_PER_POLL};
use tempo_executor::current_task_id;
use tempo_executor::{
    Executor, JoinError, JoinHandle, OwnedExecutor, Spawner, spawn, spawn_local,
    try_current_worker, yield_now,
};

// ---------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------

/// An executor whose unpark callback unparks the calling (test) thread, and the number of
/// times that callback has been called.
fn executor() -> (OwnedExecutor, Arc<AtomicUsize>) {
    let unparks = Arc::new(AtomicUsize::new(0));
    let counter = unparks.clone();
    let test_thread = thread::current();
    let executor = OwnedExecutor::new(move || {
        counter.fetch_add(1, SeqCst);
        test_thread.unpark();
    });
    (executor, unparks)
}

/// The runtime's loop in miniature: poll `future` (with the executor's main waker) whenever
/// it is woken, apply remote wakes and spawns, run ready tasks, and park when there is
/// nothing to do. Remote senders call the executor's unpark, which unparks this thread.
fn block_on<F: Future>(executor: &OwnedExecutor, future: F) -> F::Output {
    let _enter = executor.enter();
    let mut future = pin!(future);
    let waker = executor.main_waker();
    let mut cx = Context::from_waker(&waker);
    waker.wake_by_ref(); // so that the first turn polls the future
    loop {
        if executor.take_main_woken() {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
        executor.drain_remote();
        executor.run_ready(64);
        if !executor.has_ready() {
            thread::park();
        }
    }
}

/// Run `future` to completion on a thread with no executor, parking between polls: how a
/// plain thread awaits a JoinHandle.
fn block_on_thread<F: Future>(future: F) -> F::Output {
    struct Unparker(thread::Thread);
    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// A hand-written waker that only counts its wakes.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl CountingWaker {
    fn new() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        (counter, waker)
    }

    fn wakes(&self) -> usize {
        self.0.load(SeqCst)
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Poll a JoinHandle once from outside any executor.
fn poll_handle<T>(handle: &mut JoinHandle<T>, waker: &Waker) -> Poll<Result<T, JoinError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

/// A task body that counts its polls, keeps the waker of its latest poll, and stays
/// pending until told to finish.
#[derive(Clone, Default)]
struct Probe {
    polls: Rc<Cell<usize>>,
    waker: Rc<RefCell<Option<Waker>>>,
    done: Rc<Cell<bool>>,
}

impl Probe {
    fn future(&self) -> impl Future<Output = ()> + 'static {
        let probe = self.clone();
        poll_fn(move |cx| {
            probe.polls.set(probe.polls.get() + 1);
            *probe.waker.borrow_mut() = Some(cx.waker().clone());
            if probe.done.get() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    fn polls(&self) -> usize {
        self.polls.get()
    }

    fn waker(&self) -> Waker {
        self.waker
            .borrow()
            .clone()
            .expect("the probe has been polled")
    }

    fn finish(&self) {
        self.done.set(true);
    }
}

/// Counts the drops of the [`Token`]s it hands out.
#[derive(Clone, Default)]
struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    fn token(&self) -> Token {
        Token(self.0.clone())
    }

    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// Adds one to its [`DropCounter`] when dropped. Used as a task's output, or held by a
/// future so that dropping the future drops it.
struct Token(Arc<AtomicUsize>);

impl Drop for Token {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A future that never completes and holds `value` (a [`Token`], a [`PanicOnDrop`]) until
/// it is dropped, whether or not it was ever polled.
async fn pending_holding<T>(value: T) {
    let _value = value;
    pending::<()>().await
}

/// Runs a closure when dropped: where and when a future is destroyed.
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    fn new(f: F) -> OnDrop<F> {
        OnDrop(Some(f))
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// A destructor that panics with `"destructor boom"`.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("destructor boom");
    }
}

/// `future`, counting its polls in `polls`.
fn counting_polls<F: Future>(polls: Rc<Cell<usize>>, future: F) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        future.as_mut().poll(cx)
    })
}

/// Wake `waker` from a freshly spawned std thread, and wait for that thread.
fn wake_from_another_thread(waker: Waker, times: usize) {
    thread::spawn(move || {
        for _ in 0..times {
            waker.wake_by_ref();
        }
    })
    .join()
    .expect("the waking thread panicked");
}

// ---------------------------------------------------------------------------------------
// 1. Spawning and joining
// ---------------------------------------------------------------------------------------

#[test]
fn a_task_awaiting_a_join_handle_gets_the_output_and_is_polled_twice() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let producer = executor.spawn(async {
        yield_now().await;
        42
    });
    let consumer_polls = Rc::new(Cell::new(0));
    let polls = consumer_polls.clone();
    let mut producer = Some(producer);
    let mut consumer = executor.spawn(poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        let handle = producer.as_mut().expect("polled after Ready");
        let output = std::task::ready!(Pin::new(handle).poll(cx));
        producer = None;
        Poll::Ready(output.expect("the producer finished normally") + 1)
    }));

    // producer (yields), consumer (waits), producer (finishes, wakes consumer), consumer.
    assert_eq!(executor.run_ready(64), 4);
    assert_eq!(consumer_polls.get(), 2);
    assert_eq!(executor.live_tasks(), 0);
    assert_eq!(
        poll_handle(&mut consumer, Waker::noop()).map(Result::unwrap),
        Poll::Ready(43)
    );
    assert_eq!(
        unparks.load(SeqCst),
        0,
        "local work never goes through unpark"
    );
}

#[test]
fn a_join_handle_polled_from_outside_wakes_only_its_latest_waker_once() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let mut handle = executor.spawn(async {
        yield_now().await;
        "done"
    });
    let (first, first_waker) = CountingWaker::new();
    let (second, second_waker) = CountingWaker::new();

    assert!(poll_handle(&mut handle, &first_waker).is_pending());
    assert!(poll_handle(&mut handle, &first_waker).is_pending());
    assert!(poll_handle(&mut handle, &second_waker).is_pending());
    assert!(!handle.is_finished());
    assert_eq!(executor.run_ready(64), 2);

    assert!(handle.is_finished());
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(
        poll_handle(&mut handle, &second_waker).map(Result::unwrap),
        Poll::Ready("done")
    );
}

#[test]
fn the_id_seen_inside_a_task_is_the_id_of_its_join_handle() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let mut handle = executor.spawn(async { current_task_id() });
    let id = handle.id().expect("a local spawn is placed at once");
    assert_eq!(current_task_id(), None, "no task is being polled");
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(
        poll_handle(&mut handle, Waker::noop()).map(Result::unwrap),
        Poll::Ready(Some(id))
    );
}

#[test]
fn the_main_waker_woken_on_the_worker_sets_main_woken_once() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    assert!(!executor.take_main_woken());
    assert!(!executor.has_ready());

    let main = executor.main_waker();
    let clone = main.clone();
    main.wake_by_ref();
    clone.wake();
    assert!(executor.has_ready());
    assert_eq!(executor.run_ready(64), 0, "the main future is not a task");
    assert!(executor.take_main_woken());
    assert!(!executor.take_main_woken());
    assert!(!executor.has_ready());
    assert_eq!(unparks.load(SeqCst), 0);
}

#[test]
fn the_main_waker_woken_from_another_thread_unparks_and_counts_once_drained() {
    let (executor, unparks) = executor();
    wake_from_another_thread(executor.main_waker(), 1);
    assert_eq!(unparks.load(SeqCst), 1);
    assert!(
        !executor.has_ready(),
        "remote wakes wait in the channel until drained"
    );
    assert_eq!(executor.drain_remote(), 1);
    assert!(executor.has_ready());
    assert!(executor.take_main_woken());
    assert!(!executor.has_ready());
}

#[test]
fn a_hundred_thousand_tasks_all_complete_and_leave_nothing_behind() {
    let n: u64 = if cfg!(miri) { 1_000 } else { 100_000 };
    let (executor, unparks) = executor();
    let polls = Arc::new(AtomicUsize::new(0));
    let sum = block_on(&executor, async {
        let handles: Vec<JoinHandle<u64>> = (0..n)
            .map(|i| {
                let polls = polls.clone();
                spawn(async move {
                    polls.fetch_add(1, SeqCst);
                    yield_now().await;
                    polls.fetch_add(1, SeqCst);
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.expect("no task fails");
        }
        sum
    });
    assert_eq!(sum, n * (n - 1) / 2);
    assert_eq!(
        polls.load(SeqCst),
        2 * n as usize,
        "each task is polled exactly twice"
    );
    assert_eq!(executor.live_tasks(), 0);
    assert_eq!(unparks.load(SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// 2. Detaching and aborting
// ---------------------------------------------------------------------------------------

#[test]
fn dropping_the_join_handle_detaches_the_task_which_still_runs() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    drop(executor.spawn(async move {
        yield_now().await;
        flag.set(true);
    }));
    assert_eq!(executor.run_ready(64), 2);
    assert!(ran.get());
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn abort_drops_a_pending_future_on_the_worker_without_polling_it_again() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let drops = DropCounter::default();
    let token = drops.token();
    let body = probe.future();
    let mut handle = executor.spawn(async move {
        let _token = token;
        body.await
    });
    assert_eq!(executor.run_ready(64), 1);

    handle.abort();
    assert!(
        executor.has_ready(),
        "abort wakes the task so that its worker sees the flag"
    );
    assert!(!handle.is_finished());
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 1, "a cancelled task is dropped, not polled");
    assert_eq!(drops.count(), 1);
    assert!(handle.is_finished());
    let Poll::Ready(Err(error)) = poll_handle(&mut handle, Waker::noop()) else {
        panic!("expected a JoinError");
    };
    assert!(error.is_cancelled() && !error.is_panic());
    assert_eq!(error.panic_message(), None);
}

#[test]
fn abort_before_the_first_poll_means_the_future_is_never_polled() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let mut handle = executor.spawn(probe.future());
    handle.abort();
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 0);
    assert!(
        matches!(poll_handle(&mut handle, Waker::noop()), Poll::Ready(Err(e)) if e.is_cancelled())
    );
    assert_eq!(executor.live_tasks(), 0);
}

#[test]
fn abort_of_a_finished_task_keeps_its_output() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let mut handle = executor.spawn(async { 5 });
    assert_eq!(executor.run_ready(64), 1);
    handle.abort();
    assert!(!executor.has_ready());
    assert_eq!(
        poll_handle(&mut handle, Waker::noop()).map(Result::unwrap),
        Poll::Ready(5)
    );
}

#[test]
fn abort_from_another_thread_unparks_once_and_drops_the_future_on_the_worker() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let dropped_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
    let record = dropped_on.clone();
    let guard = OnDrop::new(move || *record.lock().unwrap() = Some(thread::current().id()));
    let handle = executor.spawn(async move {
        let _guard = guard;
        pending::<()>().await
    });
    assert_eq!(executor.run_ready(64), 1);

    // The handle is Send: move it to another thread, abort twice there, and bring it back.
    let handle = thread::spawn(move || {
        handle.abort();
        handle.abort();
        handle
    })
    .join()
    .unwrap();
    assert_eq!(
        unparks.load(SeqCst),
        1,
        "only the first abort wakes the task"
    );
    assert!(!executor.has_ready());
    assert_eq!(executor.drain_remote(), 1);
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(*dropped_on.lock().unwrap(), Some(thread::current().id()));
    assert!(block_on_thread(handle).unwrap_err().is_cancelled());
}

// ---------------------------------------------------------------------------------------
// 3. Panics
// ---------------------------------------------------------------------------------------

#[test]
fn a_panicking_task_reports_its_message_and_the_others_keep_running() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let mut literal = executor.spawn(async {
        yield_now().await;
        panic!("boom");
    });
    let mut formatted = executor.spawn(async {
        panic!("boom {}", 7);
    });
    let mut survivor = executor.spawn(async {
        yield_now().await;
        yield_now().await;
        "still here"
    });
    // literal: 2 polls, formatted: 1, survivor: 3.
    assert_eq!(executor.run_ready(64), 6);
    assert_eq!(executor.live_tasks(), 0);

    for (handle, message) in [(&mut literal, "boom"), (&mut formatted, "boom 7")] {
        let Poll::Ready(Err(error)) = poll_handle(handle, Waker::noop()) else {
            panic!("expected a JoinError");
        };
        assert!(error.is_panic() && !error.is_cancelled());
        assert_eq!(error.panic_message(), Some(message));
        assert_eq!(error.to_string(), format!("task panicked: {message}"));
    }
    let output = poll_handle(&mut survivor, Waker::noop()).map(Result::unwrap);
    assert_eq!(output, Poll::Ready("still here"));
}

#[test]
fn a_panic_payload_can_be_taken_back_out_of_the_join_error() {
    let (executor, _) = executor();
    let handle = executor.spawn(async { std::panic::panic_any(17_u32) });
    assert_eq!(executor.run_ready(64), 1);
    let error = block_on_thread(handle).unwrap_err();
    assert_eq!(error.panic_message(), None, "the payload is not a string");
    let payload = error.try_into_panic().expect("a panic, not a cancellation");
    assert_eq!(payload.downcast_ref::<u32>(), Some(&17));
}

#[test]
fn a_panic_in_a_destructor_during_abort_is_reported_not_propagated() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let mut handle = executor.spawn(async {
        let _bomb = PanicOnDrop;
        pending::<()>().await
    });
    let bystander = Probe::default();
    let mut bystander_handle = executor.spawn(bystander.future());
    assert_eq!(executor.run_ready(64), 2);

    handle.abort();
    bystander.finish();
    bystander.waker().wake();
    assert_eq!(
        executor.run_ready(64),
        2,
        "the panic does not escape run_ready"
    );
    let Poll::Ready(Err(error)) = poll_handle(&mut handle, Waker::noop()) else {
        panic!("expected a JoinError");
    };
    assert!(
        error.is_panic(),
        "the destructor's panic is the task's outcome"
    );
    assert_eq!(error.panic_message(), Some("destructor boom"));
    assert!(poll_handle(&mut bystander_handle, Waker::noop()).is_ready());
}

// ---------------------------------------------------------------------------------------
// 4. Wakers
// ---------------------------------------------------------------------------------------

#[test]
fn a_waker_woken_from_another_thread_reschedules_through_the_channel() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);

    let waker = probe.waker();
    thread::spawn(move || {
        let clone = waker.clone();
        drop(waker);
        clone.wake();
    })
    .join()
    .unwrap();
    assert_eq!(unparks.load(SeqCst), 1);
    assert!(!executor.has_ready(), "the wake waits in the channel");
    assert_eq!(executor.drain_remote(), 1);
    assert!(executor.has_ready());
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 2);
    assert_eq!(executor.drain_remote(), 0, "nothing more was sent");
}

#[test]
fn a_burst_of_remote_wakes_before_a_drain_costs_one_unpark() {
    const BURST: usize = 100;
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);

    wake_from_another_thread(probe.waker(), BURST);
    assert_eq!(unparks.load(SeqCst), 1);
    assert_eq!(executor.drain_remote(), BURST);
    assert_eq!(executor.run_ready(64), 1, "a hundred wakes, one poll");
    assert_eq!(probe.polls(), 2);

    // The drain re-armed the flag: the next burst unparks again, once.
    wake_from_another_thread(probe.waker(), BURST);
    assert_eq!(unparks.load(SeqCst), 2);
}

#[test]
fn wakes_on_the_workers_own_thread_are_local_only_while_it_is_entered() {
    let (executor, unparks) = executor();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);

    probe.waker().wake();
    assert_eq!(
        unparks.load(SeqCst),
        1,
        "not entered: the wake took the remote path"
    );
    assert!(!executor.has_ready());
    assert_eq!(executor.drain_remote(), 1);

    let _enter = executor.enter();
    probe.waker().wake();
    assert_eq!(
        unparks.load(SeqCst),
        1,
        "entered: a push onto the run queue"
    );
    assert!(executor.has_ready());
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 2);
}

#[test]
fn a_task_woken_many_times_before_it_runs_is_polled_once() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);

    for _ in 0..10 {
        probe.waker().wake_by_ref();
    }
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 2);

    // Local and remote wakes of the same task still queue it once.
    probe.waker().wake_by_ref();
    wake_from_another_thread(probe.waker(), 10);
    assert_eq!(unparks.load(SeqCst), 1);
    assert_eq!(executor.drain_remote(), 10);
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 3);
}

#[test]
fn a_waker_of_a_finished_task_is_a_no_op() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);
    let stale = probe.waker();
    probe.finish();
    stale.wake_by_ref();
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(executor.live_tasks(), 0);

    stale.wake_by_ref();
    assert!(!executor.has_ready());
    // From another thread the message still travels; the worker finds the slot empty.
    wake_from_another_thread(stale, 1);
    assert_eq!(unparks.load(SeqCst), 1);
    assert_eq!(executor.drain_remote(), 1);
    assert!(!executor.has_ready());
    assert_eq!(probe.polls(), 2);
}

#[test]
fn a_waker_of_a_finished_task_does_not_wake_the_new_task_in_its_slot() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let old = Probe::default();
    let old_handle = executor.spawn(old.future());
    assert_eq!(executor.run_ready(64), 1);
    let stale = old.waker();
    old.finish();
    stale.wake_by_ref();
    assert_eq!(executor.run_ready(64), 1);

    let new = Probe::default();
    let new_handle = executor.spawn(new.future());
    assert_eq!(executor.run_ready(64), 1);
    let (old_id, new_id) = (old_handle.id().unwrap(), new_handle.id().unwrap());
    assert_eq!(
        old_id.slot(),
        new_id.slot(),
        "the slab reuses the freed slot"
    );
    assert_ne!(old_id.generation(), new_id.generation());

    stale.wake_by_ref();
    assert!(!executor.has_ready());
    wake_from_another_thread(stale, 1);
    assert_eq!(unparks.load(SeqCst), 1);
    assert_eq!(executor.drain_remote(), 1);
    assert!(!executor.has_ready());
    assert_eq!(executor.run_ready(64), 0);
    assert_eq!(new.polls(), 1);
}

// ---------------------------------------------------------------------------------------
// 5. Cooperative scheduling
// ---------------------------------------------------------------------------------------

#[test]
fn yield_now_sends_the_task_to_the_back_of_the_queue() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ['a', 'b'] {
        let log = log.clone();
        drop(executor.spawn(async move {
            for i in 0..3 {
                log.borrow_mut().push((name, i));
                yield_now().await;
            }
        }));
    }
    assert_eq!(executor.run_ready(64), 8);
    let expected = [('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2), ('b', 2)];
    assert_eq!(*log.borrow(), expected);
}

#[test]
fn a_task_poll_may_proceed_budget_per_poll_times_then_is_woken_to_run_again() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let first_poll_proceeded = Rc::new(Cell::new(None));
    let record = first_poll_proceeded.clone();
    let _handle = executor.spawn(poll_fn(move |cx| {
        if record.get().is_none() {
            let mut n = 0;
            while coop::poll_proceed(cx).is_ready() {
                n += 1;
                assert!(n <= 1000, "the budget never ran out");
            }
            record.set(Some(n));
            return Poll::Pending; // the refusal woke us
        }
        // A fresh budget: as many units again, stopping short of a refusal.
        for _ in 0..BUDGET_PER_POLL {
            assert!(coop::poll_proceed(cx).is_ready());
        }
        assert!(!coop::has_budget_remaining());
        Poll::Ready(())
    }));
    assert_eq!(executor.run_ready(64), 2, "the refusal woke the task");
    assert_eq!(
        first_poll_proceeded.get(),
        Some(usize::from(BUDGET_PER_POLL))
    );
}

#[test]
fn with_budget_runs_out_after_budget_per_poll_units_and_restores_the_outer_budget() {
    let (wakes, waker) = CountingWaker::new();
    let mut cx = Context::from_waker(&waker);
    coop::with_budget(|| {
        for _ in 0..10 {
            assert!(coop::poll_proceed(&mut cx).is_ready());
        }
        coop::with_budget(|| {
            for _ in 0..BUDGET_PER_POLL {
                assert!(coop::poll_proceed(&mut cx).is_ready());
            }
            assert!(coop::poll_proceed(&mut cx).is_pending());
            assert!(coop::poll_proceed(&mut cx).is_pending());
        });
        assert_eq!(wakes.wakes(), 2, "each refusal wakes the task");
        for _ in 10..BUDGET_PER_POLL {
            assert!(coop::poll_proceed(&mut cx).is_ready());
        }
        assert!(coop::poll_proceed(&mut cx).is_pending());
    });
    // Outside a task poll there is no budget to run out of.
    for _ in 0..1000 {
        assert!(coop::poll_proceed(&mut cx).is_ready());
    }
    assert!(coop::has_budget_remaining());
    assert_eq!(wakes.wakes(), 3);
}

#[test]
fn awaiting_many_finished_join_handles_yields_once_the_budget_is_spent() {
    const HANDLES: usize = 200;
    let (executor, _) = executor();
    let _enter = executor.enter();
    let handles: Vec<_> = (0..HANDLES)
        .map(|i| executor.spawn(async move { i }))
        .collect();
    assert_eq!(executor.run_ready(HANDLES), HANDLES);

    let polls = Rc::new(Cell::new(0));
    let mut sum = executor.spawn(counting_polls(polls.clone(), async move {
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    }));
    // 128 handles in the first poll; the 129th refuses and wakes the task; 72 more next.
    assert_eq!(executor.run_ready(64), 2);
    assert_eq!(polls.get(), 2);
    let expected = HANDLES * (HANDLES - 1) / 2;
    assert_eq!(
        poll_handle(&mut sum, Waker::noop()).map(Result::unwrap),
        Poll::Ready(expected)
    );
}

// ---------------------------------------------------------------------------------------
// 6. spawn and spawn_local
// ---------------------------------------------------------------------------------------

#[test]
fn spawn_local_runs_a_future_holding_an_rc() {
    let (executor, _) = executor();
    let shared = Rc::new(Cell::new(0));
    let output = block_on(&executor, {
        let shared = shared.clone();
        async move {
            let in_task = shared.clone();
            let handle = spawn_local(async move {
                yield_now().await;
                in_task.set(in_task.get() + 1);
                in_task
            });
            handle.await.unwrap()
        }
    });
    assert!(Rc::ptr_eq(&output, &shared));
    assert_eq!(shared.get(), 1);
}

#[test]
fn spawn_goes_to_the_entered_executor() {
    let (executor, _) = executor();
    assert_eq!(try_current_worker(), None);
    {
        let _enter = executor.enter();
        assert!(executor.is_current());
        assert_eq!(try_current_worker(), Some(executor.worker_index()));
        drop(spawn(async {}));
        assert_eq!(executor.live_tasks(), 1);
    }
    assert!(!executor.is_current());
    assert_eq!(try_current_worker(), None);
}

#[test]
#[should_panic(expected = "outside a tempo runtime")]
fn spawn_outside_an_entered_executor_panics() {
    let (_executor, _) = executor();
    drop(spawn(async {}));
}

#[test]
#[should_panic(expected = "outside a tempo runtime")]
fn spawn_local_outside_an_entered_executor_panics() {
    drop(spawn_local(async {}));
}

// ---------------------------------------------------------------------------------------
// 7. Spawning from other threads
// ---------------------------------------------------------------------------------------

#[test]
fn a_task_spawned_from_another_thread_is_adopted_at_drain_remote_and_joined_there() {
    let (executor, unparks) = executor();
    let spawner = executor.spawner();
    let worker_thread = thread::current().id();
    let (spawned_tx, spawned_rx) = mpsc::channel();
    let other = thread::spawn(move || {
        let handle = spawner.spawn(async {
            yield_now().await;
            thread::current().id()
        });
        assert_eq!(
            handle.id(),
            None,
            "not placed until the worker drains its channel"
        );
        spawned_tx.send(()).unwrap();
        block_on_thread(handle)
    });
    spawned_rx.recv().unwrap();
    assert_eq!(unparks.load(SeqCst), 1);
    assert_eq!(executor.live_tasks(), 0);

    let _enter = executor.enter();
    assert_eq!(executor.drain_remote(), 1);
    assert_eq!(executor.live_tasks(), 1);
    assert_eq!(executor.run_ready(64), 2);
    assert_eq!(executor.live_tasks(), 0);
    let ran_on = other.join().unwrap().expect("the task finished");
    assert_eq!(ran_on, worker_thread);
}

#[test]
fn a_spawner_on_the_workers_own_entered_thread_spawns_locally() {
    let (executor, unparks) = executor();
    let spawner = executor.spawner();
    assert_eq!(spawner.worker_index(), executor.worker_index());
    let _enter = executor.enter();
    let mut handle = spawner.spawn(async { 3 });
    assert!(handle.id().is_some(), "placed at once");
    assert_eq!(unparks.load(SeqCst), 0);
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(
        poll_handle(&mut handle, Waker::noop()).map(Result::unwrap),
        Poll::Ready(3)
    );
}

#[test]
fn a_spawner_that_outlives_its_executor_hands_out_cancelled_handles() {
    let (executor, unparks) = executor();
    let spawner = executor.spawner();
    drop(executor);

    let drops = DropCounter::default();
    let polled = Arc::new(AtomicBool::new(false));
    let token = drops.token();
    let flag = polled.clone();
    let handle = spawner.spawn(async move {
        let _token = token;
        flag.store(true, SeqCst);
    });
    assert!(handle.is_finished());
    assert_eq!(
        drops.count(),
        1,
        "the future was dropped where the send failed"
    );
    assert!(block_on_thread(handle).unwrap_err().is_cancelled());
    assert!(!polled.load(SeqCst));
    assert_eq!(unparks.load(SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// 8. Shutdown
// ---------------------------------------------------------------------------------------

#[test]
fn dropping_the_executor_cancels_every_task_and_runs_every_destructor() {
    let (executor, _) = executor();
    let drops = DropCounter::default();
    let mut handles: Vec<_> = (0..5)
        .map(|_| executor.spawn(pending_holding(drops.token())))
        .collect();
    assert_eq!(executor.run_ready(64), 5, "these five are idle");
    handles.extend((0..5).map(|_| executor.spawn(pending_holding(drops.token()))));
    assert!(executor.has_ready(), "these five were never polled");
    let mut bomb = executor.spawn(pending_holding(PanicOnDrop));
    assert_eq!(executor.live_tasks(), 11);
    let (watcher, watcher_waker) = CountingWaker::new();
    assert!(poll_handle(&mut handles[0], &watcher_waker).is_pending());

    drop(executor);
    assert_eq!(drops.count(), 10);
    assert_eq!(watcher.wakes(), 1, "a waiting JoinHandle is woken");
    for handle in handles {
        assert!(handle.is_finished());
        assert!(block_on_thread(handle).unwrap_err().is_cancelled());
    }
    let Poll::Ready(Err(error)) = poll_handle(&mut bomb, Waker::noop()) else {
        panic!("expected a JoinError");
    };
    assert_eq!(error.panic_message(), Some("destructor boom"));
}

/// A future that never completes and whose destructor spawns another like it, `depth`
/// more times, keeping the new task's JoinHandle in `handles`.
struct Respawner {
    depth: u32,
    drops: DropCounter,
    handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Future for Respawner {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Respawner {
    fn drop(&mut self) {
        drop(self.drops.token());
        if self.depth > 0 {
            let handle = spawn(Respawner {
                depth: self.depth - 1,
                drops: self.drops.clone(),
                handles: self.handles.clone(),
            });
            self.handles.lock().unwrap().push(handle);
        }
    }
}

#[test]
fn a_destructor_that_spawns_during_shutdown_neither_hangs_nor_leaks() {
    let (executor, _) = executor();
    let drops = DropCounter::default();
    let handles: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
    let respawner = || Respawner {
        depth: 3,
        drops: drops.clone(),
        handles: handles.clone(),
    };
    let polled = executor.spawn(respawner());
    assert_eq!(executor.run_ready(64), 1);
    let unpolled = executor.spawn(respawner());

    drop(executor);
    assert_eq!(drops.count(), 2 * 4, "two chains of four futures");
    let spawned = std::mem::take(&mut *handles.lock().unwrap());
    assert_eq!(spawned.len(), 2 * 3);
    for handle in spawned.into_iter().chain([polled, unpolled]) {
        assert!(block_on_thread(handle).unwrap_err().is_cancelled());
    }
}

#[test]
fn a_task_sent_but_not_yet_adopted_is_cancelled_on_the_worker_at_shutdown() {
    let (executor, unparks) = executor();
    let spawner = executor.spawner();
    let dropped_on: Arc<Mutex<Option<ThreadId>>> = Arc::default();
    let record = dropped_on.clone();
    let handle = thread::spawn(move || {
        let guard = OnDrop::new(move || *record.lock().unwrap() = Some(thread::current().id()));
        spawner.spawn(async move {
            let _guard = guard;
        })
    })
    .join()
    .unwrap();
    assert_eq!(unparks.load(SeqCst), 1);
    assert_eq!(executor.live_tasks(), 0);

    drop(executor);
    assert_eq!(*dropped_on.lock().unwrap(), Some(thread::current().id()));
    assert!(block_on_thread(handle).unwrap_err().is_cancelled());
}

#[test]
fn after_shutdown_new_tasks_are_cancelled_without_being_polled() {
    let (executor, _) = executor();
    executor.shutdown();
    let drops = DropCounter::default();

    let handle = executor.spawn(pending_holding(drops.token()));
    assert!(handle.is_finished());
    assert_eq!(handle.id(), None);
    assert_eq!(drops.count(), 1);
    assert_eq!(executor.live_tasks(), 0);
    assert!(block_on_thread(handle).unwrap_err().is_cancelled());

    // A task sent from another thread is cancelled when the worker drains it.
    let spawner = executor.spawner();
    let token = drops.token();
    let handle = thread::spawn(move || spawner.spawn(pending_holding(token)))
        .join()
        .unwrap();
    assert!(!handle.is_finished());
    assert_eq!(executor.drain_remote(), 1);
    assert_eq!(drops.count(), 2);
    assert_eq!(executor.live_tasks(), 0);
    assert!(block_on_thread(handle).unwrap_err().is_cancelled());
}

// ---------------------------------------------------------------------------------------
// 9. Outputs are dropped exactly once
// ---------------------------------------------------------------------------------------

#[test]
fn an_output_read_through_the_handle_is_dropped_once_by_the_reader() {
    let (executor, _) = executor();
    let drops = DropCounter::default();
    let token = drops.token();
    let handle = executor.spawn(async move { token });
    assert_eq!(executor.run_ready(64), 1);
    let output = block_on_thread(handle).unwrap();
    assert_eq!(
        drops.count(),
        0,
        "the handle is gone, the output is still ours"
    );
    drop(output);
    assert_eq!(drops.count(), 1);
}

#[test]
fn an_output_of_a_task_detached_before_it_finishes_is_dropped_once_by_the_executor() {
    let (executor, _) = executor();
    let drops = DropCounter::default();
    let token = drops.token();
    drop(executor.spawn(async move { token }));
    assert_eq!(drops.count(), 0);
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(drops.count(), 1);
    drop(executor);
    assert_eq!(drops.count(), 1);
}

#[test]
fn an_output_never_read_is_dropped_once_with_its_handle() {
    let (executor, _) = executor();
    let drops = DropCounter::default();
    let token = drops.token();
    let handle = executor.spawn(async move { token });
    assert_eq!(executor.run_ready(64), 1);
    assert!(handle.is_finished());
    assert_eq!(drops.count(), 0);
    drop(handle);
    assert_eq!(drops.count(), 1);
    drop(executor);
    assert_eq!(drops.count(), 1);
}

#[test]
fn outputs_unread_when_the_executor_drops_stay_with_their_handles() {
    let (executor, _) = executor();
    let drops = DropCounter::default();
    let (first, second) = (drops.token(), drops.token());
    let read_later = executor.spawn(async move { first });
    let never_read = executor.spawn(async move { second });
    assert_eq!(executor.run_ready(64), 2);
    drop(executor);
    assert_eq!(drops.count(), 0);

    let output = thread::spawn(move || block_on_thread(read_later).unwrap())
        .join()
        .unwrap();
    assert_eq!(drops.count(), 0);
    drop(output);
    assert_eq!(drops.count(), 1);
    drop(never_read);
    assert_eq!(drops.count(), 2);
}

// ---------------------------------------------------------------------------------------
// 10. What is Send and Sync
// ---------------------------------------------------------------------------------------

const fn assert_send_sync<T: Send + Sync>() {}

const _: () = {
    assert_send_sync::<JoinHandle<u32>>();
    assert_send_sync::<JoinHandle<String>>();
    assert_send_sync::<JoinHandle<std::cell::Cell<u8>>>(); // Send output, not Sync: still Sync
    assert_send_sync::<JoinError>();
    assert_send_sync::<Spawner>();
    assert_send_sync::<Waker>();
};

/// Compiles only if `T` is *not* `Send`: for a `Send` type both impls apply and the
/// call below is ambiguous (the `static_assertions::assert_not_impl_any!` trick).
trait AmbiguousIfSend<A> {
    fn check() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

const _: fn() = <Executor as AmbiguousIfSend<_>>::check;
const _: fn() = <JoinHandle<Rc<u8>> as AmbiguousIfSend<_>>::check;

#[test]
fn an_executors_wakers_work_when_sent_and_shared_across_threads() {
    let (executor, unparks) = executor();
    let _enter = executor.enter();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);

    let waker = probe.waker();
    thread::scope(|s| {
        s.spawn(|| waker.wake_by_ref()); // shared: &Waker crosses
        s.spawn(|| waker.wake_by_ref());
    });
    assert_eq!(
        unparks.load(SeqCst),
        1,
        "one of the two racing senders unparks"
    );
    assert_eq!(executor.drain_remote(), 2);
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(probe.polls(), 2);
}

// ---------------------------------------------------------------------------------------
// 11. Regressions: bugs these tests found (fixed in 54d96bd)
// ---------------------------------------------------------------------------------------
//
// A wake that arrives while a task's own future is being polled or dropped. `run` used to
// clear a `queued` flag before polling, so such a wake pushed the task onto the run queue;
// if that same poll finished the task, it was removed from the slab and completed with its
// pointer still in the queue, and the next `run_ready` polled a finished task (a
// use-after-free once the JoinHandle was gone). The wake can come from the poll itself
// (directly, or from tempo's own budget refusing a resource while another branch
// completes) or from the future's destructor, on completion or on cancellation. Rule 7 in
// `task` now says how `run_state` rules this out.

#[test]
fn a_task_that_wakes_itself_and_then_completes_is_polled_once() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let polls = Rc::new(Cell::new(0));
    let mut handle = executor.spawn(counting_polls(
        polls.clone(),
        poll_fn(|cx| {
            cx.waker().wake_by_ref(); // e.g. a combinator that is not sure it is done
            Poll::Ready(7)
        }),
    ));
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(polls.get(), 1);
    assert!(!executor.has_ready());
    assert_eq!(
        poll_handle(&mut handle, Waker::noop()).map(Result::unwrap),
        Poll::Ready(7)
    );
}

#[test]
fn a_task_refused_by_the_budget_that_finishes_another_way_is_polled_once() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let polls = Rc::new(Cell::new(0));
    let mut handle = executor.spawn(counting_polls(
        polls.clone(),
        poll_fn(|cx| {
            // Like `select!` over a budgeted resource and a branch that is already done:
            // the resource is refused (which wakes the task), the other branch wins.
            while coop::poll_proceed(cx).is_ready() {}
            Poll::Ready(7)
        }),
    ));
    assert_eq!(executor.run_ready(64), 1);
    assert_eq!(polls.get(), 1);
    assert_eq!(
        poll_handle(&mut handle, Waker::noop()).map(Result::unwrap),
        Poll::Ready(7)
    );
}

#[test]
fn a_future_whose_destructor_wakes_its_own_task_is_not_polled_after_it_finishes() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let own_waker: Rc<RefCell<Option<Waker>>> = Rc::default();
    let slot = own_waker.clone();
    // Like a task that owns both ends of a channel: dropping the sender wakes the receiver.
    let guard = OnDrop::new(move || slot.take().expect("polled").wake());
    let slot = own_waker.clone();
    let mut handle = executor.spawn(async move {
        let _guard = guard;
        poll_fn(|cx| {
            *slot.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        7
    });
    assert_eq!(executor.run_ready(64), 1);
    assert!(!executor.has_ready());
    assert_eq!(
        poll_handle(&mut handle, Waker::noop()).map(Result::unwrap),
        Poll::Ready(7)
    );
}

#[test]
fn a_cancelled_future_whose_destructor_wakes_its_own_task_is_cancelled_once() {
    let (executor, _) = executor();
    let _enter = executor.enter();
    let own_waker: Rc<RefCell<Option<Waker>>> = Rc::default();
    let slot = own_waker.clone();
    let guard = OnDrop::new(move || slot.take().expect("polled").wake());
    let slot = own_waker.clone();
    let mut handle = executor.spawn(async move {
        let _guard = guard;
        poll_fn(|cx| {
            *slot.borrow_mut() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
        .await;
    });
    assert_eq!(executor.run_ready(64), 1);
    handle.abort();
    assert_eq!(executor.run_ready(64), 1);
    assert!(!executor.has_ready());
    assert!(
        matches!(poll_handle(&mut handle, Waker::noop()), Poll::Ready(Err(e)) if e.is_cancelled())
    );
}

// `Spawner::spawn` used to decide "this is my worker's thread, spawn locally" by comparing
// registry indexes, which are reused: a Spawner outliving its executor spawned onto the
// unrelated executor that took the index next, instead of handing out a cancelled handle.

#[test]
fn a_spawner_of_a_dropped_executor_does_not_spawn_onto_its_successor() {
    // Other tests create executors concurrently, so the successor may take another free
    // index; try until it takes the old one (the first attempt nearly always does).
    for _ in 0..1000 {
        let (old, _) = executor();
        let spawner = old.spawner();
        drop(old);
        let (successor, _) = executor();
        if successor.worker_index() != spawner.worker_index() {
            continue;
        }
        let _enter = successor.enter();
        let handle = spawner.spawn(async {});
        assert_eq!(
            successor.live_tasks(),
            0,
            "the task landed on an unrelated executor"
        );
        assert!(handle.is_finished());
        assert!(block_on_thread(handle).unwrap_err().is_cancelled());
        return;
    }
    panic!("no executor reused the dropped executor's index");
}

// `CURRENT` used to hold a raw pointer that only the `Enter` guard's destructor reset.
// `mem::forget` is safe, so safe code could forget a guard, drop the executor, and leave
// `spawn`, `try_current_worker` and local wakes reading freed memory (Miri reported the
// use-after-free). A dropped executor must look absent, however its guards were disposed of.

#[test]
fn forgetting_the_enter_guard_then_dropping_the_executor_leaves_no_current_executor() {
    let (executor, _) = executor();
    std::mem::forget(executor.enter());
    drop(executor);
    assert_eq!(try_current_worker(), None);
}

#[test]
fn a_guard_that_restores_a_dropped_executor_leaves_no_current_executor() {
    let (first, _) = executor();
    let (second, _) = executor();
    std::mem::forget(first.enter());
    let guard = second.enter(); // remembers `first` as the one to restore
    drop(first);
    assert_eq!(try_current_worker(), Some(second.worker_index()));
    drop(guard);
    assert_eq!(try_current_worker(), None);
}

// A lost wakeup. `Remote::send` used to check `notified` with a plain load before its swap;
// with the worker's `take_notified` (clear the flag, then drain) that is the
// store-buffering pattern, and the memory model let the sender read a stale `true` (and
// not unpark) while the worker's drain missed the new message: stranded, with the flag
// clear. x86 cannot show this, so the test passes in a normal run whatever the code does;
// it is a test for Miri, whose weak-memory emulation found it within a few rounds.

#[test]
fn a_remote_wake_racing_with_a_drain_is_never_stranded() {
    let rounds = if cfg!(miri) { 50 } else { 1_000 };
    for round in 0..rounds {
        let (executor, unparks) = executor();
        let probe = Probe::default();
        let _handle = executor.spawn(probe.future());
        assert_eq!(executor.run_ready(64), 1);
        // An earlier wake leaves `notified` set; the worker's drain then races a second.
        wake_from_another_thread(probe.waker(), 1);
        let waker = probe.waker();
        let racer = thread::spawn(move || waker.wake());
        let first = executor.drain_remote();
        racer.join().unwrap();
        // Every message sent is either drained already, or flagged for the next drain.
        let second = executor.drain_remote();
        assert_eq!(
            first + second,
            2,
            "round {round}: a wake is stranded in the channel with `notified` clear \
             (unpark called {} times)",
            unparks.load(SeqCst)
        );
    }
}

// ---------------------------------------------------------------------------------------
// 12. Regressions: `CURRENT` and thread-local teardown (fixed in bf481ff)
// ---------------------------------------------------------------------------------------
//
// 54d96bd made `CURRENT` a `RefCell<Option<Rc<Local>>>` with a destructor, and
// `with_current` called its closure inside `CURRENT.with_borrow`. Two bugs followed:
//
// - Every wake, `spawn`, `try_current_worker` and `Spawner::spawn` touched `CURRENT`, so
//   one made from a thread-local destructor after `CURRENT`'s own destructor had run
//   panicked ("cannot access a Thread Local Storage value during or after destruction"),
//   and a panic escaping a thread-local destructor aborts the process.
// - User code that ran inside the closure ran with `CURRENT` borrowed: `spawn_local` on a
//   closed worker drops the future there (and a remote wake calls the runtime's unpark
//   there). If that code entered an executor — or dropped one, whose `shutdown` enters it —
//   `with_borrow_mut` panicked "already borrowed"; the dropped executor's `Drop` stopped
//   half-way and never unregistered its registry index.
//
// `with_current` now clones the `Rc` out with `CURRENT.try_with` (an access error meaning
// "no current worker") and calls the closure after the borrow ends, and `wake` uses
// `try_with` too, so such a wake takes the remote path. These tests hold it to that.

/// Wakes the waker it holds when dropped, catching (and recording) a panic so that the
/// thread-local destructor it runs in does not abort the test binary.
struct WakeOnDrop {
    waker: Option<Waker>,
    panicked: Option<Arc<AtomicBool>>,
}

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let (Some(waker), Some(panicked)) = (self.waker.take(), self.panicked.take()) {
            let woke = std::panic::catch_unwind(move || waker.wake());
            panicked.store(woke.is_err(), SeqCst);
        }
    }
}

thread_local! {
    static WAKE_AT_THREAD_EXIT: RefCell<WakeOnDrop> =
        const { RefCell::new(WakeOnDrop { waker: None, panicked: None }) };
}

#[test]
fn a_waker_woken_from_a_thread_local_destructor_reaches_its_worker() {
    let (executor, _) = executor();
    let probe = Probe::default();
    let _handle = executor.spawn(probe.future());
    assert_eq!(executor.run_ready(64), 1);
    let waker = probe.waker();
    let panicked = Arc::new(AtomicBool::new(true));
    let flag = panicked.clone();
    thread::spawn(move || {
        // Registered first, so (today) destroyed after the executor's thread-locals.
        WAKE_AT_THREAD_EXIT.with_borrow_mut(|w| {
            *w = WakeOnDrop {
                waker: Some(waker.clone()),
                panicked: Some(flag),
            }
        });
        waker.wake();
    })
    .join()
    .unwrap();
    assert!(!panicked.load(SeqCst), "the wake panicked");
    assert_eq!(executor.drain_remote(), 2);
}

#[test]
fn a_future_dropped_while_spawning_on_a_closed_executor_may_drop_another_executor() {
    let (closed, _) = executor();
    closed.shutdown();
    let _enter = closed.enter();
    let (owned, _) = executor();
    let mut handle = spawn_local(async move {
        let _owned = owned; // dropped at once, inside `spawn_local`: the worker is closed
    });
    let Poll::Ready(Err(error)) = poll_handle(&mut handle, Waker::noop()) else {
        panic!("expected a JoinError");
    };
    assert!(error.is_cancelled(), "{error}");
}

// ---------------------------------------------------------------------------------------
// The observer seam
// ---------------------------------------------------------------------------------------

/// Records every event it is told about tasks, as text, in order, and the tasks they were
/// about; and counts the wakes of the `block_on` future, which is not a task.
#[derive(Default)]
struct Recorder(
    std::sync::Mutex<(Vec<String>, Vec<tempo_executor::TaskId>)>,
    std::sync::atomic::AtomicUsize,
);

impl tempo_executor::TaskObserver for Recorder {
    fn on_event(&self, task: tempo_executor::TaskId, event: tempo_executor::TaskEvent<'_>) {
        use tempo_executor::TaskEvent::*;
        let line = match event {
            MainWoken => {
                self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            Spawned(meta) => format!("spawned at line {}", meta.location.line()),
            Scheduled => "scheduled".to_string(),
            CancelRequested(cause) => format!("cancel requested: {cause}"),
            PollStarted => "poll".to_string(),
            PollEnded { requeued } => format!("polled, requeued: {requeued}"),
            Finished(outcome) => outcome.to_string(),
        };
        let mut recorded = self.0.lock().unwrap();
        recorded.0.push(line);
        recorded.1.push(task);
    }
}

impl Recorder {
    /// The events, for a test with one task: panics if they were about several.
    fn lines(&self) -> Vec<String> {
        let recorded = self.0.lock().unwrap();
        assert!(
            recorded.1.windows(2).all(|w| w[0] == w[1]),
            "events about several tasks: {:?}",
            recorded.1
        );
        recorded.0.clone()
    }
}

/// The executor announces each step of a task's life to its observer, in order: spawn,
/// schedule, each poll (with whether the task woke itself), and how it ended.
#[test]
fn an_observer_is_told_each_step_of_a_tasks_life() {
    let (executor, _) = executor();
    let recorder = Arc::new(Recorder::default());
    assert!(executor.observe(recorder.clone()));
    assert!(
        !executor.observe(Arc::new(Recorder::default())),
        "a second observer is refused"
    );
    let line = line!() + 2;
    let output = block_on(&executor, async {
        let handle = spawn(async {
            yield_now().await;
            7
        });
        handle.await.unwrap()
    });
    assert_eq!(output, 7);
    assert_eq!(
        recorder.lines(),
        [
            &format!("spawned at line {line}"),
            "scheduled",
            "poll",
            "polled, requeued: true",
            "poll",
            "polled, requeued: false",
            "completed",
        ]
    );
    // The block_on future was woken twice: once to start, once by the task's end.
    assert_eq!(
        recorder.1.load(std::sync::atomic::Ordering::Relaxed),
        2,
        "the block_on future's wakes"
    );
}

/// An abort from another thread announces itself there, with its cause, and the task's
/// outcome is then a cancellation.
#[test]
fn an_abort_from_another_thread_is_announced_with_its_cause() {
    let (executor, _) = executor();
    let recorder = Arc::new(Recorder::default());
    executor.observe(recorder.clone());
    let cancelled = block_on(&executor, async {
        let handle = spawn(std::future::pending::<()>());
        let abort = handle.abort_handle();
        thread::spawn(move || abort.abort()).join().unwrap();
        handle.await.unwrap_err().is_cancelled()
    });
    assert!(cancelled);
    let lines = recorder.lines();
    let requested = lines
        .iter()
        .position(|l| l.starts_with("cancel requested: abort() at"))
        .unwrap_or_else(|| panic!("no cancel request in {lines:#?}"));
    assert_eq!(lines.last().unwrap(), "cancelled", "{lines:#?}");
    assert!(requested < lines.len() - 1);
}

/// Shutting an executor down announces each task it cancels.
#[test]
fn shutdown_announces_the_tasks_it_cancels() {
    let (executor, _) = executor();
    let recorder = Arc::new(Recorder::default());
    executor.observe(recorder.clone());
    block_on(&executor, async {
        drop(spawn(std::future::pending::<()>()));
        yield_now().await;
    });
    executor.shutdown();
    assert_eq!(
        recorder.lines().last().unwrap(),
        "cancelled by runtime shutdown"
    );
}

const _: fn() = <OwnedExecutor as AmbiguousIfSend<_>>::check;

/// Records events like [`Recorder`], but takes its time over a cancel request — as an
/// aborting thread preempted at that moment would.
#[derive(Default)]
struct SlowToHearCancel(Recorder);

impl tempo_executor::TaskObserver for SlowToHearCancel {
    fn on_event(&self, task: tempo_executor::TaskId, event: tempo_executor::TaskEvent<'_>) {
        let cancel = matches!(event, tempo_executor::TaskEvent::CancelRequested(_));
        if cancel {
            // Not ordering anything: it widens the window in which a worker that had seen
            // the cancel flag first would finish the task before its cause was told. The
            // order asserted below is the code's, whatever the timing.
            thread::sleep(std::time::Duration::from_millis(50));
        }
        self.0.on_event(task, event);
    }
}

/// A task that keeps running (it wakes itself on every poll) is aborted from another
/// thread: its cause is announced before its end, never after, so a task dump can say what
/// cancelled it.
#[test]
fn an_abort_of_a_running_task_from_another_thread_announces_its_cause_before_its_end() {
    let (executor, _) = executor();
    let recorder = Arc::new(SlowToHearCancel::default());
    executor.observe(recorder.clone());
    let cancelled = block_on(&executor, async {
        let handle = spawn(std::future::poll_fn(|cx| {
            cx.waker().wake_by_ref();
            Poll::<()>::Pending
        }));
        let abort = handle.abort_handle();
        let aborter = thread::spawn(move || abort.abort());
        let cancelled = handle.await.unwrap_err().is_cancelled();
        aborter.join().unwrap();
        cancelled
    });
    assert!(cancelled);
    let lines = recorder.0.lines();
    let requested = lines
        .iter()
        .position(|l| l.starts_with("cancel requested: abort() at"))
        .unwrap_or_else(|| panic!("no cancel request in {lines:#?}"));
    assert_eq!(lines.last().unwrap(), "cancelled", "{lines:#?}");
    assert!(
        requested < lines.len() - 1,
        "the cause came after the end: {lines:#?}"
    );
}
