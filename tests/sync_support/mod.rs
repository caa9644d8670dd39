//! Helpers for the `sync_*` tests: polling a primitive's future by hand, and counting how
//! often it is woken.
//!
//! The hand-polled [`Probe`] is how the cancellation tests reach the exact moments that
//! matter — "queued", "notified but not yet polled", "dropped" — with no scheduler in
//! between: a test polls a future once to queue it, acts, then asserts which probes were
//! woken and how many times. Nothing here sleeps.

#![allow(dead_code)] // each test file uses a different subset

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes.
#[derive(Default)]
pub struct WakeCounter(AtomicUsize);

impl WakeCounter {
    /// Wakes so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future polled by hand, with its own counting waker.
pub struct Probe<F: Future> {
    /// The future; `None` once it has completed.
    future: Option<Pin<Box<F>>>,
    /// Counts the wakes of `waker`.
    wakes: Arc<WakeCounter>,
    /// The waker every poll uses.
    waker: Waker,
}

impl<F: Future> Probe<F> {
    /// Wrap `future`; nothing is polled yet.
    pub fn new(future: F) -> Probe<F> {
        let wakes = Arc::new(WakeCounter::default());
        Probe {
            future: Some(Box::pin(future)),
            waker: Waker::from(wakes.clone()),
            wakes,
        }
    }

    /// Poll once.
    ///
    /// # Panics
    /// If the future already completed.
    pub fn poll(&mut self) -> Poll<F::Output> {
        let future = self.future.as_mut().expect("probe polled after completion");
        let poll = future.as_mut().poll(&mut Context::from_waker(&self.waker));
        if poll.is_ready() {
            self.future = None;
        }
        poll
    }

    /// Poll once and insist on `Pending`.
    #[track_caller]
    pub fn pending(&mut self) {
        assert!(
            self.poll().is_pending(),
            "expected the future to be pending"
        );
    }

    /// Poll once and insist on `Ready`.
    #[track_caller]
    pub fn ready(&mut self) -> F::Output {
        match self.poll() {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("expected the future to be ready"),
        }
    }

    /// How many times the future's waker has been woken.
    pub fn wakes(&self) -> usize {
        self.wakes.count()
    }
}

/// Poll `future` once with a no-op waker, insisting on `Ready`: for the fast paths that
/// must complete without waiting.
#[track_caller]
pub fn now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("expected the future to complete on its first poll"),
    }
}

/// Compile-time check that `T` is `Send` and `Sync`.
pub fn assert_send_sync<T: Send + Sync>() {}

/// Compile-time check that a value is `Send`.
pub fn assert_send<T: Send>(_: &T) {}
