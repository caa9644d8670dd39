//! Cooperative scheduling: the budget, and [`yield_now`].
//!
//! An event loop that runs one task at a time depends on every task giving the loop back.
//! asyncio's tasks give it back at each `await` that actually waits; a coroutine that
//! `await`s only things that are already done never yields, and starves everything else.
//! Rust futures have the same trap: a loop over a socket that always has data, or a channel
//! that is always full, returns `Ready` forever.
//!
//! tempo gives every task poll, and every poll of the `block_on` future, a budget of
//! [`BUDGET_PER_POLL`] operations: the executor runs each task poll, and the runtime each
//! poll of the `block_on` future, inside [`with_budget`]. tempo's own resources call
//! [`poll_proceed`] before doing work: JoinHandles here, and in `tempo-runtime` its sockets
//! (TCP, UDP, listeners), signals, channels (`mpsc`, `oneshot`, `Queue`) and `Mutex`,
//! `RwLock`, `Semaphore`, `Event` and `Barrier`; the reactor's timers do not. Once the
//! budget is spent they return `Pending` after waking the task, so the poll ends, the task
//! goes to the back of the run queue and the tasks ahead of it run first, and the loop
//! turns the reactor at least every `event_interval` polls. `yield_now` is the explicit
//! version: `await asyncio.sleep(0)`.
//!
//! Outside those polls (say, a future polled by another executor, or a job on a
//! blocking-pool thread) there is no budget and `poll_proceed` always proceeds.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How many operations on tempo resources one task poll may perform.
pub const BUDGET_PER_POLL: u8 = 128;

thread_local! {
    /// The budget left in the current task poll; `None` outside one.
    static BUDGET: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Run `f` (one task poll, or one poll of the `block_on` future) with a fresh budget, and
/// restore the budget that was there before when it returns or unwinds.
pub fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.set(self.0);
        }
    }
    let _restore = Restore(BUDGET.replace(Some(BUDGET_PER_POLL)));
    f()
}

/// Spend one unit of the current task's budget. Returns `Pending` (having woken the task,
/// so it runs again soon) when the budget is spent.
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    match BUDGET.get() {
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            BUDGET.set(Some(n - 1));
            Poll::Ready(())
        }
        None => Poll::Ready(()),
    }
}

/// True unless the current task poll has spent its budget.
pub fn has_budget_remaining() -> bool {
    BUDGET.get() != Some(0)
}

/// Give the loop a turn: the task goes to the back of the run queue and runs again after
/// the tasks ahead of it — asyncio's `await asyncio.sleep(0)`.
#[doc(alias = "sleep(0)")]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    /// Set on the first poll, which returns Pending after waking the task.
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
