//! [`TempoTimer`]: hyper's `rt::Timer`, whose sleeps are tempo's — what hyper-util calls
//! `TokioTimer`.
//!
//! hyper measures time only through the `Timer` it is given: a server's
//! `header_read_timeout` (how long a client may take to send a request's head), HTTP/2's
//! keep-alive pings, a client pool's idle expiry. Without one, a server configured with
//! those deadlines fails at its first use of them. Each deadline is a boxed future that
//! hyper polls inside the connection's own poll; here it is a
//! [`Sleep`](crate::time::Sleep) — a timer in the current worker's reactor wheel, the same
//! one `tempo::time::sleep` arms, as asyncio's `call_at` timers live in the loop's heap.
//!
//! Where hyper moves a deadline it already holds, it asks the timer to `reset` that boxed
//! sleep. We move our own sleeps in place ([`Sleep::reset`](crate::time::Sleep::reset)):
//! no new box, and the wheel moves the entry instead of freeing one slot and taking
//! another. (hyper 1.x's HTTP/1 server makes a fresh sleep for each request head instead:
//! one box and one timer per request, on tempo as on tokio.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::time::{Sleep, sleep, sleep_until};

/// hyper's timer on tempo: hands hyper tempo [`Sleep`]s, and resets them in place.
///
/// Give it to a builder that has deadlines:
///
/// ```
/// use std::time::Duration;
/// use hyper::server::conn::http1;
/// use tempo_runtime::hyper::TempoTimer;
///
/// let mut builder = http1::Builder::new();
/// builder
///     .timer(TempoTimer::new())
///     .header_read_timeout(Duration::from_secs(10));
/// ```
///
/// Or use it by hand, as hyper does:
///
/// ```
/// use std::time::{Duration, Instant};
/// use hyper::rt::Timer;
/// use tempo_runtime::hyper::TempoTimer;
///
/// tempo_runtime::run(async {
///     let timer = TempoTimer::new();
///     let start = Instant::now();
///     let mut deadline = timer.sleep(Duration::from_secs(3600));
///     // Moved in place to 10 ms from now: it completes then, not in an hour.
///     timer.reset(&mut deadline, start + Duration::from_millis(10));
///     deadline.await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
///
/// The sleeps it makes arm their timer in the reactor of the thread that first polls them,
/// so they must be polled inside a tempo runtime (hyper polls them inside the connection's
/// poll, which is); [`Sleep`] panics otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub struct TempoTimer {
    /// Nothing: each sleep finds its reactor when first polled.
    _private: (),
}

impl TempoTimer {
    /// A timer for hyper's builders (`http1::Builder::timer`).
    ///
    /// ```
    /// let timer = tempo_runtime::hyper::TempoTimer::new();
    /// # let _ = timer;
    /// ```
    pub fn new() -> TempoTimer {
        TempoTimer { _private: () }
    }
}

impl ::hyper::rt::Timer for TempoTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep(sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn ::hyper::rt::Sleep>> {
        Box::pin(HyperSleep(sleep_until(deadline)))
    }

    /// Moves one of our sleeps in the wheel; anything else (a sleep some other timer made)
    /// is replaced, as hyper's default `reset` does.
    fn reset(&self, sleep: &mut Pin<Box<dyn ::hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<HyperSleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A tempo [`Sleep`] as hyper's `rt::Sleep`. A type of our own because Rust lets a crate
/// implement hyper's trait only for its own types, and `Sleep` is the reactor crate's.
struct HyperSleep(Sleep);

impl Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl ::hyper::rt::Sleep for HyperSleep {}
