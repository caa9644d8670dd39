//! `tempo::future`: join!, join_all, try_join_all, select!, race, race_all, as_completed.
//!
//! Rules these tests keep:
//!
//! - Events are ordered by gates the test opens (a [`Gate`] completes when told to) or by
//!   futures that wake themselves a set number of times — never by wall-clock sleeps —
//!   except where the order of `tempo::time::sleep`s of different lengths is the point:
//!   timers fire in deadline order.
//! - Poll, wake, drop and allocation counts are asserted exactly.
//! - Every body that runs the runtime runs under `with_hang_guard`, so a lost wake fails
//!   instead of hanging.

mod common;

#[allow(dead_code)] // `main` and the argument parser are the binary's, not the test's
#[path = "../examples/gather.rs"]
mod gather_example;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn, ready};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use common::{DropGuard, panic_text, with_hang_guard, yield_until};
use tempo::future::{FusedStream, Stream, as_completed, join_all, race, race_all, try_join_all};
use tempo::time::sleep;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Counts allocations made on the current thread, so a test can assert that polling and
/// waking allocate nothing. Other threads (parallel tests) do not disturb the count.
struct CountingAllocator;

thread_local! {
    /// Allocations by this thread. `const`-initialised and without a destructor, so the
    /// allocator may touch it at any time.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` unchanged; counting touches only a
// thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Allocations made on this thread so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

/// The state a [`Gate`] shares with its [`GateOpener`].
#[derive(Default)]
struct GateState {
    /// Set by `open`.
    open: AtomicBool,
    /// The waker of the last poll, woken by `open`.
    waker: Mutex<Option<Waker>>,
    /// How many times the gate was polled.
    polls: AtomicUsize,
}

/// A future that stays pending until its opener opens it, then gives its value, counting
/// its polls. Storing a waker clones it, which for a combinator's per-child waker is an
/// `Arc` increment: no allocation.
struct Gate<T> {
    /// Shared with the opener.
    state: Arc<GateState>,
    /// What the gate gives when open.
    value: Option<T>,
}

/// Opens a [`Gate`] and reads its poll count.
#[derive(Clone)]
struct GateOpener(Arc<GateState>);

fn gate<T>(value: T) -> (GateOpener, Gate<T>) {
    let state = Arc::new(GateState::default());
    (
        GateOpener(state.clone()),
        Gate {
            state,
            value: Some(value),
        },
    )
}

impl GateOpener {
    /// Open the gate and wake whoever polled it last (outside the lock).
    fn open(&self) {
        self.0.open.store(true, Ordering::SeqCst);
        let waker = self.0.waker.lock().unwrap().take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// How many times the gate has been polled.
    fn polls(&self) -> usize {
        self.0.polls.load(Ordering::SeqCst)
    }
}

impl<T: Unpin> Future for Gate<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.state.polls.fetch_add(1, Ordering::SeqCst);
        if self.state.open.load(Ordering::SeqCst) {
            return Poll::Ready(self.value.take().expect("a gate gives its value once"));
        }
        {
            let mut slot = self.state.waker.lock().unwrap();
            match &mut *slot {
                Some(stored) if stored.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        // Look again: an opener that ran between the first check and parking the waker found
        // the slot empty and woke nobody (the check-park-recheck of the reactor's poll_ready).
        if self.state.open.load(Ordering::SeqCst) {
            return Poll::Ready(self.value.take().expect("a gate gives its value once"));
        }
        Poll::Pending
    }
}

/// Counts the polls of the future it wraps: how often a task (or a child) ran.
struct Counted<F> {
    /// The wrapped future, boxed so any future will do.
    inner: Pin<Box<F>>,
    /// Polls so far.
    polls: Arc<AtomicUsize>,
}

fn counted<F: Future>(inner: F) -> (Arc<AtomicUsize>, Counted<F>) {
    let polls = Arc::new(AtomicUsize::new(0));
    (
        polls.clone(),
        Counted {
            inner: Box::pin(inner),
            polls,
        },
    )
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Pending (waking itself at once) for `pending_polls` polls, then ready with `value`;
/// logs `id` on every poll.
struct SelfWaking<T> {
    /// Name written to the log.
    id: usize,
    /// Pending polls left.
    pending_polls: usize,
    /// The output.
    value: Option<T>,
    /// Where each poll is recorded.
    log: Rc<RefCell<Vec<usize>>>,
}

impl<T: Unpin> Future for SelfWaking<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.log.borrow_mut().push(self.id);
        if self.pending_polls == 0 {
            return Poll::Ready(self.value.take().expect("polled after completion"));
        }
        self.pending_polls -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn self_waking<T>(
    id: usize,
    pending_polls: usize,
    value: T,
    log: &Rc<RefCell<Vec<usize>>>,
) -> SelfWaking<T> {
    SelfWaking {
        id,
        pending_polls,
        value: Some(value),
        log: log.clone(),
    }
}

/// Sleeps `n` ms, logs `name`, returns `name`.
async fn after(n: u64, name: &'static str, log: &RefCell<Vec<&'static str>>) -> &'static str {
    sleep(ms(n)).await;
    log.borrow_mut().push(name);
    name
}

/// Ready at once, holding a guard that counts its drop: its destructor runs when the
/// future is dropped, not when it completes.
struct ReadyHolding {
    /// Dropped with the future.
    _guard: DropGuard,
}

impl Future for ReadyHolding {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

/// `future` with a guard that lives exactly as long as it does.
async fn guarded<F: Future>(guard: DropGuard, future: F) -> F::Output {
    let _guard = guard;
    future.await
}

/// The next item of a stream, through `Stream::poll_next` by hand.
async fn next_via_stream<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

fn count(counter: &Arc<AtomicUsize>) -> usize {
    counter.load(Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------------
// join!
// ---------------------------------------------------------------------------------------

/// asyncio.gather: results in argument order, whatever the completion order.
#[test]
fn join_macro_returns_outputs_in_argument_order_not_completion_order() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = RefCell::new(Vec::new());
            let start = Instant::now();
            // Wide gaps: join! polls every branch on each wake, rotating its start, so two
            // timers seen in the same turn of a busy loop could finish in either order.
            let (a, b, c, n) = tempo::join!(
                after(150, "a", &log),
                after(10, "b", &log),
                after(80, "c", &log),
                async { 7 },
            );
            assert_eq!((a, b, c, n), ("a", "b", "c", 7));
            // Run one after another, they would have finished a, b, c.
            assert_eq!(*log.borrow(), ["b", "c", "a"], "completion order");
            let took = start.elapsed();
            assert!(
                took >= ms(150),
                "finished before its slowest future: {took:?}"
            );
        })
    });
}

/// Every poll polls each unfinished branch once, starting one further round each time.
#[test]
fn join_macro_polls_every_branch_on_each_wake_rotating_the_start() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let out = tempo::join!(
                self_waking(0, 2, 'a', &log),
                self_waking(1, 2, 'b', &log),
                self_waking(2, 2, 'c', &log),
            );
            assert_eq!(out, ('a', 'b', 'c'));
            assert_eq!(*log.borrow(), [0, 1, 2, 1, 2, 0, 2, 0, 1]);

            // A finished branch is not polled again.
            log.borrow_mut().clear();
            tempo::join!(self_waking(0, 0, (), &log), self_waking(1, 2, (), &log));
            assert_eq!(*log.borrow(), [0, 1, 1, 1]);
        })
    });
}

/// A finished future is dropped at once, not when the whole join! completes.
#[test]
fn join_macro_drops_each_future_as_it_finishes() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let first = ReadyHolding {
                _guard: DropGuard(drops.clone()),
            };
            let seen = drops.clone();
            // Would run out of yields (and panic) if `first` lived until the join's end.
            let ((), ()) = tempo::join!(first, async move {
                yield_until("the finished future's drop", || count(&seen) == 1).await
            });
            assert_eq!(count(&drops), 1);
        })
    });
}

/// One future, and none, are fine too.
#[test]
fn join_macro_of_one_and_of_none() {
    with_hang_guard(|| {
        tempo::run(async {
            let (only,) = tempo::join!(async { "only" });
            assert_eq!(only, "only");
            let () = tempo::join!();
        })
    });
}

// ---------------------------------------------------------------------------------------
// join_all and try_join_all
// ---------------------------------------------------------------------------------------

#[test]
fn join_all_returns_outputs_in_input_order_not_completion_order() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = RefCell::new(Vec::new());
            let start = Instant::now();
            let out = join_all([
                after(30, "a", &log),
                after(10, "b", &log),
                after(20, "c", &log),
            ])
            .await;
            assert_eq!(out, ["a", "b", "c"]);
            // Run one after another, they would have finished a, b, c.
            assert_eq!(*log.borrow(), ["b", "c", "a"], "completion order");
            assert!(
                start.elapsed() >= ms(30),
                "finished before its slowest future"
            );

            let none: Vec<u8> = join_all(Vec::<std::future::Ready<u8>>::new()).await;
            assert!(none.is_empty(), "gather() of nothing is []");
        })
    });
}

/// gather(return_exceptions=True): an early failure neither ends the wait nor loses the
/// other outcomes.
#[test]
fn join_all_over_results_keeps_every_outcome_in_order() {
    with_hang_guard(|| {
        tempo::run(async {
            let start = Instant::now();
            let fetch = |id: u32, fail: bool| async move {
                if fail {
                    return Err(format!("task {id} failed"));
                }
                sleep(ms(20)).await;
                Ok(id)
            };
            let outcomes = join_all([fetch(1, false), fetch(2, true), fetch(3, false)]).await;
            assert_eq!(outcomes, [Ok(1), Err("task 2 failed".to_string()), Ok(3)]);
            assert!(
                start.elapsed() >= ms(20),
                "returned before the successful fetches finished"
            );
        })
    });
}

/// gather's default: the first error ends the wait at once; the rest are dropped before
/// the error is returned.
#[test]
fn try_join_all_fails_fast_and_drops_the_rest_before_returning() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let slow = |id: u32| {
                guarded(DropGuard(drops.clone()), async move {
                    sleep(Duration::from_secs(10)).await;
                    Ok::<u32, String>(id)
                })
            };
            let failing = async {
                sleep(ms(10)).await;
                Err::<u32, String>("fetch 2 failed".to_string())
            };
            let failing = guarded(DropGuard(drops.clone()), failing);
            type Fetch<'a> = Pin<Box<dyn Future<Output = Result<u32, String>> + 'a>>;
            let fetches: [Fetch; 3] = [Box::pin(slow(1)), Box::pin(failing), Box::pin(slow(3))];
            let start = Instant::now();
            let mut joined = pin!(try_join_all(fetches));
            // Awaited by reference: the `TryJoinAll` is still alive afterwards, so the
            // drops counted here were made by `try_join_all` itself.
            let result = joined.as_mut().await;
            assert_eq!(result, Err("fetch 2 failed".to_string()));
            assert_eq!(
                count(&drops),
                3,
                "the failed future and both slow ones dropped"
            );
            let took = start.elapsed();
            assert!(took >= ms(10), "failed before the error: {took:?}");
            assert!(
                took < Duration::from_secs(1),
                "waited for the slow ones: {took:?}"
            );
        })
    });
}

#[test]
fn try_join_all_without_errors_returns_every_value_in_input_order() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = &RefCell::new(Vec::new());
            let ok = |n, name| async move { Ok::<_, ()>(after(n, name, log).await) };
            let out = try_join_all([ok(20, "a"), ok(10, "b")]).await;
            assert_eq!(out, Ok(vec!["a", "b"]));
            assert_eq!(*log.borrow(), ["b", "a"]);
        })
    });
}

// ---------------------------------------------------------------------------------------
// No busy polling: each child is polled once per wake of its own.
// ---------------------------------------------------------------------------------------

const CHILDREN: usize = 8;

/// Gates opened one at a time, in reverse: each child is polled exactly twice (the first
/// poll and the one after its own wake), and the task once per wake. A combinator that
/// polled every child on every wake would poll child `i` up to `CHILDREN + 1` times.
#[test]
fn join_all_polls_only_the_child_that_woke() {
    with_hang_guard(|| {
        tempo::run(async {
            let (openers, gates): (Vec<_>, Vec<_>) = (0..CHILDREN).map(gate).unzip();
            let (task_polls, joined) = counted(join_all(gates));
            let task = tempo::spawn(joined);
            yield_until("every child's first poll", || {
                openers.iter().all(|o| o.polls() == 1)
            })
            .await;
            for (i, opener) in openers.iter().enumerate().rev() {
                opener.open();
                yield_until("the woken child's poll", || opener.polls() == 2).await;
                for (j, other) in openers.iter().enumerate() {
                    let want = if j >= i { 2 } else { 1 };
                    assert_eq!(other.polls(), want, "child {j} after opening child {i}");
                }
            }
            let out = task.await.expect("the joining task");
            assert_eq!(out, (0..CHILDREN).collect::<Vec<_>>());
            assert_eq!(count(&task_polls), 1 + CHILDREN, "one task poll per wake");
        })
    });
}

#[test]
fn as_completed_polls_only_the_child_that_woke() {
    with_hang_guard(|| {
        tempo::run(async {
            let (openers, gates): (Vec<_>, Vec<_>) = (0..CHILDREN).map(gate).unzip();
            let mut completed = as_completed(gates);
            // One poll, which polls every child once.
            poll_fn(|cx| {
                assert!(Pin::new(&mut completed).poll_next(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            assert!(openers.iter().all(|o| o.polls() == 1));
            // Open in a scrambled order; each is yielded as soon as it is open.
            let order = [3, 0, 7, 1, 6, 2, 5, 4];
            for &i in &order {
                openers[i].open();
                assert_eq!(completed.next().await, Some(i));
            }
            assert_eq!(completed.next().await, None);
            for (i, opener) in openers.iter().enumerate() {
                assert_eq!(opener.polls(), 2, "child {i}");
            }
        })
    });
}

/// A child that wakes itself is polled again at the set's *next* poll, not in a loop
/// inside this one (which would starve the rest of the loop).
#[test]
fn a_self_waking_child_gets_one_poll_per_poll_of_the_task() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let (polls, joined) = counted(join_all([self_waking(0, 4, (), &log)]));
            let out = joined.await;
            assert_eq!(out, [()]);
            assert_eq!(log.borrow().len(), 5, "child polls");
            assert_eq!(count(&polls), 5, "one task poll per child poll");
        })
    });
}

/// Once built, the combinators allocate nothing to poll or to wake a child; `join_all`
/// allocates at most its result `Vec` at the end. Driven by hand on this thread, so only
/// our code runs between the counts.
#[test]
fn polling_and_waking_allocate_nothing() {
    let mut cx = Context::from_waker(Waker::noop());

    let (openers, gates): (Vec<_>, Vec<_>) = (0..CHILDREN).map(gate).unzip();
    let mut joined = join_all(gates);
    let before = allocations();
    assert!(Pin::new(&mut joined).poll(&mut cx).is_pending());
    for opener in &openers[..CHILDREN - 1] {
        opener.open();
        assert!(Pin::new(&mut joined).poll(&mut cx).is_pending());
    }
    assert_eq!(allocations() - before, 0, "join_all: polls and wakes");
    openers[CHILDREN - 1].open();
    let Poll::Ready(out) = Pin::new(&mut joined).poll(&mut cx) else {
        panic!("every gate is open");
    };
    assert!(
        allocations() - before <= 1,
        "join_all: at most the result Vec"
    );
    assert_eq!(out.len(), CHILDREN);

    let (openers, gates): (Vec<_>, Vec<_>) = (0..CHILDREN).map(gate).unzip();
    let mut completed = as_completed(gates);
    let before = allocations();
    assert!(Pin::new(&mut completed).poll_next(&mut cx).is_pending());
    for (i, opener) in openers.iter().enumerate() {
        opener.open();
        assert_eq!(
            Pin::new(&mut completed).poll_next(&mut cx),
            Poll::Ready(Some(i))
        );
    }
    assert_eq!(
        Pin::new(&mut completed).poll_next(&mut cx),
        Poll::Ready(None)
    );
    assert_eq!(allocations() - before, 0, "as_completed");
}

/// Children woken from other threads, all at once and in no particular order, while the
/// set may be in the middle of a poll: rules 2 and 3 of `set.rs` say no wake is lost. A
/// lost one would hang (and the hang guard would fail the test). 100 rounds.
#[test]
fn wakes_from_other_threads_are_never_lost() {
    with_hang_guard(|| {
        tempo::run(async {
            for round in 0..100 {
                let (openers, gates): (Vec<_>, Vec<_>) = (0..CHILDREN).map(gate).unzip();
                let threads: Vec<_> = openers
                    .into_iter()
                    .map(|opener| std::thread::spawn(move || opener.open()))
                    .collect();
                if round % 2 == 0 {
                    let out = join_all(gates).await;
                    assert_eq!(out, (0..CHILDREN).collect::<Vec<_>>(), "round {round}");
                } else {
                    let mut completed = as_completed(gates);
                    let mut seen = Vec::new();
                    while let Some(i) = completed.next().await {
                        seen.push(i);
                    }
                    seen.sort();
                    assert_eq!(seen, (0..CHILDREN).collect::<Vec<_>>(), "round {round}");
                }
                for thread in threads {
                    thread.join().expect("the opener thread");
                }
            }
        })
    });
}

// ---------------------------------------------------------------------------------------
// select!
// ---------------------------------------------------------------------------------------

/// The first to finish wins; the losers are dropped before the winner's handler runs.
#[test]
fn select_runs_the_first_to_finish_and_drops_the_losers_first() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let log = RefCell::new(Vec::new());
            let winner = tempo::select! {
                a = guarded(DropGuard(drops.clone()), after(10_000, "a", &log)) => a,
                b = guarded(DropGuard(drops.clone()), after(10, "b", &log)) => {
                    // The winner's guard went as it finished, the losers' as they were
                    // dropped: all before this handler runs.
                    assert_eq!(count(&drops), 3, "guards dropped before the handler");
                    b
                }
                c = guarded(DropGuard(drops.clone()), after(20_000, "c", &log)) => c,
            };
            assert_eq!(winner, "b");
            assert_eq!(*log.borrow(), ["b"], "the losers never finished");
        })
    });
}

/// A losing `sleep` takes its timer with it: the task that ran the `select!` is never
/// woken by it. The sleep is polled (armed) first, thanks to `biased;`.
#[test]
fn a_sleep_that_loses_a_select_leaves_no_timer_behind() {
    with_hang_guard(|| {
        tempo::run(async {
            let (polls, body) = counted(async {
                tempo::select! {
                    biased;
                    () = sleep(ms(10)) => panic!("the sleep cannot win: it is dropped first"),
                    () = tempo::task::yield_now() => {}
                }
                pending::<()>().await
            });
            let task = tempo::spawn(body);
            // Poll 1 arms the timer, yield_now wakes the task, poll 2 picks yield_now.
            yield_until("the select's second poll", || count(&polls) == 2).await;
            sleep(ms(60)).await; // well past the dropped timer's deadline
            assert_eq!(count(&polls), 2, "a wake from the dropped timer");
            task.abort();
            assert!(task.await.unwrap_err().is_cancelled());
        })
    });
}

/// `biased;` polls in the order written; otherwise ties are shared.
#[test]
fn select_biased_prefers_the_first_branch_and_unbiased_shares_ties() {
    with_hang_guard(|| {
        tempo::run(async {
            let mut wins = [0; 3];
            for _ in 0..300 {
                let i = tempo::select! {
                    biased;
                    i = ready(0) => i,
                    i = ready(1) => i,
                    i = ready(2) => i,
                };
                wins[i] += 1;
            }
            assert_eq!(wins, [300, 0, 0]);

            let mut wins = [0; 3];
            for _ in 0..3000 {
                let i = tempo::select! {
                    i = ready(0) => i,
                    i = ready(1) => i,
                    i = ready(2) => i,
                };
                wins[i] += 1;
            }
            for (i, n) in wins.iter().enumerate() {
                assert!(
                    (800..1200).contains(n),
                    "branch {i} won {n} of 3000: {wins:?}"
                );
            }
        })
    });
}

/// Within one `select!`, each poll starts one branch further round.
#[test]
fn select_rotates_its_start_on_each_poll() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            let winner = tempo::select! {
                () = self_waking(0, 10, (), &log) => 0,
                () = self_waking(1, 10, (), &log) => 1,
                () = self_waking(2, 2, (), &log) => 2,
            };
            assert_eq!(winner, 2);
            // Poll `p` starts at branch `start + p`; on the third poll branch 2 is ready,
            // and the branches after it in that poll's order are not polled.
            let log = log.borrow();
            let start = log[0];
            let mut want = Vec::new();
            'polls: for p in 0..3 {
                for i in 0..3 {
                    let branch = (start + p + i) % 3;
                    want.push(branch);
                    if p == 2 && branch == 2 {
                        break 'polls;
                    }
                }
            }
            assert_eq!(*log, want);
        })
    });
}

/// A value that does not match its pattern disables the branch; `if false` disables it
/// without polling; `else` runs when all are disabled.
#[test]
fn select_refutable_patterns_conditions_and_else() {
    with_hang_guard(|| {
        tempo::run(async {
            let (opener, never_polled) = gate(());
            let out = tempo::select! {
                Some(n) = async { None::<u32> } => n,
                () = never_polled, if false => 99,
                n = async { sleep(ms(5)).await; 7 } => n,
            };
            assert_eq!(out, 7);
            assert_eq!(
                opener.polls(),
                0,
                "a disabled branch's future is not polled"
            );

            let out = tempo::select! {
                Some(n) = ready(None::<u32>) => n,
                Ok(n) = ready(Err::<u32, ()>(())) => n,
                else => 0,
            };
            assert_eq!(out, 0);

            let out = tempo::select! {
                () = pending(), if 1 + 1 == 3 => 1,
                else => 2,
            };
            assert_eq!(out, 2);
        })
    });
}

#[test]
fn select_with_every_branch_disabled_and_no_else_panics() {
    let result = std::panic::catch_unwind(|| {
        tempo::run(async {
            tempo::select! {
                Some(()) = ready(None) => {}
            }
        })
    });
    let payload = result.expect_err("select! with nothing left to wait for");
    assert!(
        panic_text(&*payload).contains("every branch is disabled"),
        "{}",
        panic_text(&*payload)
    );
}

/// Patterns keep `mut`, `ref`, `&`, nesting and struct fields; handlers may `break`,
/// `continue`, `return` and use `?` in the enclosing function.
#[test]
fn select_patterns_and_handler_control_flow() {
    #[derive(Debug)]
    struct Point {
        x: i32,
        y: Option<i32>,
    }

    async fn first_error(fail: bool) -> Result<u32, String> {
        let n = tempo::select! {
            r = async { if fail { Err("boom".to_string()) } else { Ok(5u32) } } => r?,
        };
        Ok(n + 1)
    }

    with_hang_guard(|| {
        tempo::run(async {
            let sum = tempo::select! {
                (mut a, Some(ref b)) = ready((1, Some(2))) => {
                    a += *b;
                    a
                }
            };
            assert_eq!(sum, 3);

            let xs = [1, 2];
            let y = tempo::select! {
                Point { x: 1, y: Some(mut y) } = ready(Point { x: 1, y: Some(4) }) => {
                    y *= 2;
                    y
                }
                &[_, second] = ready(&xs) => second * 100,
            };
            assert!(y == 8 || y == 200, "either branch may win a tie: {y}");

            let mut rounds = 0;
            let mut skipped = 0;
            loop {
                rounds += 1;
                tempo::select! {
                    n = ready(rounds) => {
                        if n < 3 {
                            skipped += 1;
                            continue;
                        }
                        break;
                    }
                }
            }
            assert_eq!((rounds, skipped), (3, 2));

            assert_eq!(first_error(false).await, Ok(6));
            assert_eq!(first_error(true).await, Err("boom".to_string()));
        })
    });
}

// ---------------------------------------------------------------------------------------
// race and race_all
// ---------------------------------------------------------------------------------------

#[test]
fn race_returns_the_first_and_drops_the_loser_before_returning() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let log = RefCell::new(Vec::new());
            let mut raced = pin!(race(
                guarded(DropGuard(drops.clone()), after(10_000, "slow", &log)),
                guarded(DropGuard(drops.clone()), after(10, "fast", &log)),
            ));
            let start = Instant::now();
            assert_eq!(raced.as_mut().await, "fast");
            assert_eq!(count(&drops), 2, "both dropped before race returned");
            assert!(start.elapsed() < Duration::from_secs(1));
            assert_eq!(*log.borrow(), ["fast"]);
        })
    });
}

/// `a` goes first on the first poll, then the two take turns.
#[test]
fn race_alternates_which_goes_first() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = Rc::new(RefCell::new(Vec::new()));
            assert_eq!(race(ready('a'), ready('b')).await, 'a');
            // Both pending on the first poll; on the second, `b` goes first and wins.
            let won = race(self_waking(0, 1, 'a', &log), self_waking(1, 1, 'b', &log)).await;
            assert_eq!(won, 'b');
            assert_eq!(*log.borrow(), [0, 1, 1]);
        })
    });
}

#[test]
fn race_all_gives_the_winners_index_and_drops_the_rest() {
    with_hang_guard(|| {
        tempo::run(async {
            let drops = Arc::new(AtomicUsize::new(0));
            let log = RefCell::new(Vec::new());
            let mut raced = pin!(race_all(
                [(10_000, "a"), (10, "b"), (20_000, "c")]
                    .map(|(n, name)| guarded(DropGuard(drops.clone()), after(n, name, &log))),
            ));
            assert_eq!(raced.as_mut().await, (1, "b"));
            assert_eq!(count(&drops), 3, "all dropped before race_all returned");
            assert_eq!(*log.borrow(), ["b"]);
        })
    });
}

#[test]
#[should_panic(expected = "no futures to race")]
fn race_all_of_nothing_panics_at_once() {
    drop(race_all(Vec::<std::future::Ready<()>>::new()));
}

// ---------------------------------------------------------------------------------------
// as_completed
// ---------------------------------------------------------------------------------------

#[test]
fn as_completed_yields_in_completion_order_via_next() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = RefCell::new(Vec::new());
            let mut completed = as_completed([
                after(30, "a", &log),
                after(10, "b", &log),
                after(20, "c", &log),
            ]);
            assert_eq!(completed.len(), 3);
            let mut order = Vec::new();
            while let Some(name) = completed.next().await {
                order.push(name);
            }
            assert_eq!(order, ["b", "c", "a"]);
            assert!(completed.is_empty());
        })
    });
}

#[test]
fn as_completed_yields_in_completion_order_via_stream() {
    with_hang_guard(|| {
        tempo::run(async {
            let log = RefCell::new(Vec::new());
            let mut completed = as_completed([
                after(30, "a", &log),
                after(10, "b", &log),
                after(20, "c", &log),
            ]);
            assert_eq!(completed.size_hint(), (3, Some(3)));
            let mut order = Vec::new();
            while let Some(name) = next_via_stream(&mut completed).await {
                order.push(name);
                assert_eq!(completed.size_hint().0, 3 - order.len());
            }
            assert_eq!(order, ["b", "c", "a"]);
            assert!(completed.is_terminated());
            assert_eq!(next_via_stream(&mut completed).await, None, "fused");
        })
    });
}

/// Over spawned tasks: `as_completed` yields each task's `Result` in completion order, and
/// the tasks run by themselves, polled by the runtime rather than by the `AsCompleted`.
#[test]
fn as_completed_over_join_handles_of_spawned_tasks() {
    with_hang_guard(|| {
        tempo::run(async {
            let handles = [30u64, 10, 20].map(|n| {
                tempo::spawn(async move {
                    sleep(ms(n)).await;
                    n
                })
            });
            let mut completed = as_completed(handles);
            let mut order = Vec::new();
            while let Some(joined) = completed.next().await {
                order.push(joined.expect("the task ran to completion"));
            }
            assert_eq!(order, [10, 20, 30]);

            // Spawned tasks make progress without being polled through `as_completed`.
            let (opener, gated) = gate(());
            let handles = [tempo::spawn(gated), tempo::spawn(async {})];
            let mut completed = as_completed(handles);
            yield_until("the spawned gate's first poll", || opener.polls() == 1).await;
            opener.open();
            assert!(completed.next().await.is_some());
            assert!(completed.next().await.is_some());
            assert!(completed.next().await.is_none());
        })
    });
}

/// Dropping a pending `next()` (losing a select!) loses no output.
#[test]
fn as_completed_next_is_cancellation_safe() {
    with_hang_guard(|| {
        tempo::run(async {
            let (opener, gated) = gate(42);
            let mut completed = as_completed([gated]);
            tempo::select! {
                biased;
                _ = completed.next() => panic!("the gate is closed"),
                () = ready(()) => {}
            }
            opener.open();
            assert_eq!(completed.next().await, Some(42));
        })
    });
}

// ---------------------------------------------------------------------------------------
// Auto traits
// ---------------------------------------------------------------------------------------

fn assert_send<T: Send>(_: &T) {}
fn assert_unpin<T: Unpin>(_: &T) {}

/// Each combinator is `Send` when its futures are, so it can be spawned; the ones that box
/// their futures are `Unpin` whatever the futures are. Checked at compile time.
#[test]
fn combinators_are_send_and_the_boxed_ones_unpin() {
    // An async block is never `Unpin`, and neither is its output here.
    let not_unpin = || async { std::marker::PhantomPinned };
    let all = join_all([not_unpin()]);
    assert_send(&all);
    assert_unpin(&all);
    let tried = try_join_all([async { Ok::<_, ()>(std::marker::PhantomPinned) }]);
    assert_send(&tried);
    assert_unpin(&tried);
    let raced = race_all([not_unpin()]);
    assert_send(&raced);
    assert_unpin(&raced);
    let completed = as_completed([not_unpin()]);
    assert_send(&completed);
    assert_unpin(&completed);
    assert_send(&race(ready(1), async { 2 }));
    let macros = async {
        let (a, b) = tempo::join!(ready(1), async { 2 });
        tempo::select! {
            n = ready(a) => n + b,
            n = async { 3 } => n,
        }
    };
    assert_send(&macros);
}

// ---------------------------------------------------------------------------------------
// examples/gather.rs
// ---------------------------------------------------------------------------------------

/// The example's lessons at a tenth of the time: a 100 ms "fetch". The relationships, not
/// the exact times, are the lesson.
#[test]
fn the_gather_example_shows_what_its_header_says() {
    let report = with_hang_guard(|| tempo::run(gather_example::lessons(0.1)));
    let fetch = ms(100);

    assert!(
        report.one_by_one >= 3 * fetch,
        "one by one: {:?}",
        report.one_by_one
    );
    assert!(report.gathered >= fetch, "join_all: {:?}", report.gathered);
    assert!(
        report.gathered * 2 < report.one_by_one,
        "join_all {:?} is not well under one-by-one {:?}",
        report.gathered,
        report.one_by_one
    );
    assert_eq!(
        report.gathered_results,
        ["data from /data1", "data from /data2", "data from /data3"]
    );

    assert_eq!(
        report.completion_order,
        [
            "data from /slow-0.5",
            "data from /slow-1.0",
            "data from /slow-1.5"
        ]
    );

    assert_eq!(
        report.fail_fast_result,
        Err("task 2 encountered a critical error".to_string())
    );
    assert_eq!(report.cancelled, 2, "fail fast drops the two slow fetches");
    assert!(
        report.fail_fast >= fetch / 5,
        "fail fast: {:?}",
        report.fail_fast
    );
    assert!(
        report.fail_fast < fetch,
        "try_join_all {:?} waited for the slow fetches",
        report.fail_fast
    );

    assert!(report.keep_all >= fetch, "keep all: {:?}", report.keep_all);
    assert_eq!(
        report.outcomes,
        [
            Ok("data from /task1".to_string()),
            Err("task 2 encountered a critical error".to_string()),
            Ok("data from /task3".to_string()),
        ]
    );
}
