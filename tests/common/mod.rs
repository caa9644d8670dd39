//! Helpers shared by the integration tests.
//!
//! None of them orders events with a wall-clock sleep. They are:
//! - [`with_hang_guard`]: run a test body on its own thread and fail (not hang) if a lost
//!   wake-up keeps it from finishing;
//! - [`block_on`]: the smallest possible executor (`std::thread::park`), for awaiting a
//!   tempo future from a thread that is *not* a tempo worker;
//! - [`oneshot`]: a hand-written one-value channel whose receiver is a future, so a test can
//!   hand a value (or a waker) between a tempo task and a plain thread without blocking the
//!   worker;
//! - [`DropGuard`]: counts destructor runs;
//! - [`yield_until`]: let the runtime turn until a condition holds, with a bound.

#![allow(dead_code)] // each test file uses a different subset

use std::any::Any;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

/// How long any one test body may run before we call it hung. Generous: a debug build of
/// the 100 000-task test on a loaded two-core machine must fit comfortably.
pub const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Run `body` on a fresh thread and return its result; panic if it is still running after
/// [`HANG_LIMIT`], and re-raise its panic if it panicked.
///
/// A runtime bug that loses a wake-up shows as a future that never completes; without this
/// guard that is a test suite that never ends.
pub fn with_hang_guard<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    let name = thread::current().name().unwrap_or("test").to_string();
    let worker = thread::Builder::new()
        .name(name)
        .spawn(move || {
            let _ = done_tx.send(body());
        })
        .expect("spawn the test body's thread");
    match done_rx.recv_timeout(HANG_LIMIT) {
        Ok(value) => {
            worker.join().expect("the test body's thread ended cleanly");
            value
        }
        Err(RecvTimeoutError::Timeout) => panic!(
            "test body still running after {HANG_LIMIT:?}: a lost wake-up, a starved task or \
             a deadlock"
        ),
        Err(RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body's thread dropped its sender without sending"),
        },
    }
}

/// Wakes a parked thread. The waker of [`block_on`].
struct ThreadUnparker(Thread);

impl Wake for ThreadUnparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drive `future` to completion on the current thread, parking between polls.
///
/// This is deliberately not tempo: it proves that tempo futures (a `JoinHandle`, or a
/// socket call made outside any runtime) behave when polled by a foreign executor.
/// `park` may return spuriously; we just poll again.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(ThreadUnparker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

/// Shared state of a [`oneshot`] channel.
struct Slot<T> {
    /// The value, once sent and until received.
    value: Option<T>,
    /// The receiver's waker while it waits.
    waker: Option<Waker>,
}

/// The sending half of a [`oneshot`]; usable from any thread, and from inside tasks.
pub struct OneshotSender<T>(Arc<Mutex<Slot<T>>>);

/// The receiving half of a [`oneshot`]: a future of the value.
pub struct OneshotReceiver<T>(Arc<Mutex<Slot<T>>>);

/// A one-value channel. The receiver is woken through whatever waker last polled it, from
/// whichever thread sends, so awaiting it inside tempo exercises tempo's cross-thread wakes.
pub fn oneshot<T>() -> (OneshotSender<T>, OneshotReceiver<T>) {
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));
    (OneshotSender(slot.clone()), OneshotReceiver(slot))
}

impl<T> OneshotSender<T> {
    /// Store `value` and wake the receiver (outside the lock).
    pub fn send(self, value: T) {
        let waker = {
            let mut slot = self.0.lock().unwrap();
            slot.value = Some(value);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Future for OneshotReceiver<T> {
    type Output = T;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0.lock().unwrap();
        match slot.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Adds one to its counter when dropped: "did this future's destructor run, and how often?"
pub struct DropGuard(pub Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// How many times [`yield_until`] yields before deciding the condition will never hold.
pub const YIELD_LIMIT: usize = 100_000;

/// Yield to the runtime until `condition()` holds. Panics (naming `what`) after
/// [`YIELD_LIMIT`] yields, so a task that never runs fails the test instead of hanging it.
pub async fn yield_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..YIELD_LIMIT {
        if condition() {
            return;
        }
        tempo::task::yield_now().await;
    }
    panic!("still waiting for {what} after {YIELD_LIMIT} yields to the runtime");
}

/// The message of a panic payload (`panic!` with a literal gives `&str`, with arguments
/// `String`).
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}
