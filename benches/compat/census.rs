//! What the timings cannot see: how often the awaiting task was woken and from which
//! thread (a waker wrapped in an untimed pass), and how many context switches a run cost.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, ThreadId};

/// Wakes of the awaiting task's waker, and how many came from another thread.
#[derive(Default)]
pub(crate) struct Census {
    pub(crate) wakes: AtomicU64,
    pub(crate) remote: AtomicU64,
}

/// The waker the census hands the awaited future: counts, then wakes the real one.
pub(crate) struct CountingWaker {
    inner: Waker,
    home: ThreadId,
    census: Arc<Census>,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.census.wakes.fetch_add(1, Ordering::Relaxed);
        if thread::current().id() != self.home {
            self.census.remote.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.wake_by_ref();
    }
}

/// A future whose waker is counted (one allocation per poll: only in the census pass).
pub(crate) struct Counted<F> {
    future: Pin<Box<F>>,
    census: Arc<Census>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(CountingWaker {
            inner: cx.waker().clone(),
            home: thread::current().id(),
            census: self.census.clone(),
        }));
        self.future.as_mut().poll(&mut Context::from_waker(&waker))
    }
}

/// `future` itself when timing; wrapped in a [`Counted`] in the census pass.
pub(crate) async fn counted<F: Future>(future: F, census: &Option<Arc<Census>>) -> F::Output {
    match census {
        None => future.await,
        Some(census) => {
            Counted {
                future: Box::pin(future),
                census: census.clone(),
            }
            .await
        }
    }
}

/// Context switches so far, voluntary and not, of every thread of this process.
pub(crate) fn context_switches() -> u64 {
    // SAFETY: getrusage writes a `struct rusage` we own; all-zero is a valid one.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to that struct, and RUSAGE_SELF.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    (usage.ru_nvcsw + usage.ru_nivcsw) as u64
}
