//! [`Event`]: a flag that tasks wait on — asyncio's `Event`.
//!
//! `set` raises the flag and notifies every queued waiter; a notified waiter returns when
//! next polled, *whatever the flag says by then*. That is asyncio's semantics (`set`
//! resolves each waiter's future, and a resolved future stays resolved), and it matters for
//! the pulse `event.set(); event.clear()`: every task waiting at the moment of the `set`
//! wakes, even though none of them may run before the `clear`. A design that woke waiters to
//! re-check the flag would lose that pulse. The [`WaitList`]'s per-waiter `notified` mark is
//! what remembers it.
//!
//! Dropping a waiting future just leaves the queue: `set` notifies everyone, so there is no
//! notification a leaving waiter could owe to another.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::PoisonError;
use std::task::{Context, Poll, Waker, ready};

use tempo_executor::coop;

use super::waitlist::{Progress, WaitList};

/// A flag that tasks can wait for: [`wait`](Event::wait) returns once it is [`set`](Event::set).
///
/// Mirrors asyncio's `Event` — `set`, `clear`, `is_set`, `wait` — including the rule that a
/// `set` wakes every task waiting at that moment even if the flag is cleared again before
/// they run. Differs in that it works between threads (asyncio's belongs to one loop) and
/// that `wait` returns `()` rather than `True`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::sync::Arc;
/// use tempo::sync::Event;
///
/// tempo::run(async {
///     let ready = Arc::new(Event::new());
///     let waiter = tempo::spawn({
///         let ready = ready.clone();
///         async move {
///             ready.wait().await;
///             "go"
///         }
///     });
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "go");
/// });
/// ```
#[doc(alias = "asyncio.Event")]
pub struct Event {
    /// The flag and the queue; held for a few instructions, never across a wake.
    state: std::sync::Mutex<State>,
}

/// An [`Event`]'s state, behind its `std::sync::Mutex`.
///
/// Invariant: while `set` is true, no waiter is queued (un-notified).
struct State {
    /// The flag.
    set: bool,
    /// Tasks waiting for the flag, in arrival order.
    waiters: WaitList<()>,
}

impl Event {
    /// A new event, not set. Allocates nothing.
    pub const fn new() -> Event {
        Event {
            state: std::sync::Mutex::new(State {
                set: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Set the flag and wake every task waiting for it. Later `wait`s return at once until
    /// [`clear`](Event::clear).
    pub fn set(&self) {
        let mut wakers = Vec::new();
        {
            let mut state = self.state();
            state.set = true;
            state.waiters.notify_all(&mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Lower the flag. Tasks already woken by an earlier `set` still return.
    pub fn clear(&self) {
        self.state().set = false;
    }

    /// True if the flag is set.
    pub fn is_set(&self) -> bool {
        self.state().set
    }

    /// Wait until the flag is set; returns at once if it is set now.
    ///
    /// **Cancellation safe:** dropping the future just leaves the queue.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            progress: Progress::Idle,
        }
    }

    /// Lock the state. A poisoned state is still consistent (see `Mutex::state`).
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Event")
            .field("set", &state.set)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct EventWait<'a> {
    /// The event waited for.
    event: &'a Event,
    /// Queued or not, and under which key.
    progress: Progress,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match this.progress {
            Progress::Idle => {
                ready!(coop::poll_proceed(cx));
                let mut state = this.event.state();
                if state.set {
                    this.progress = Progress::Done;
                    return Poll::Ready(());
                }
                this.progress = Progress::Waiting(state.waiters.push_back((), cx.waker()));
                Poll::Pending
            }
            Progress::Waiting(key) => {
                let mut state = this.event.state();
                // Notified means a `set` happened after we queued; the flag may since have
                // been cleared, and we return all the same (see the module docs).
                if !state.waiters.is_notified(key) {
                    state.waiters.set_waker(key, cx.waker());
                    return Poll::Pending;
                }
                state.waiters.remove(key);
                this.progress = Progress::Done;
                Poll::Ready(())
            }
            Progress::Done => panic!("an Event::wait() future was polled after it completed"),
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Progress::Waiting(key) = self.progress {
            // Notified or not, nothing to pass on: `set` woke everyone.
            self.event.state().waiters.remove(key);
        }
    }
}
