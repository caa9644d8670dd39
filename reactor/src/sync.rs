//! The reactor's lock discipline: how it takes its locks, and how it wakes once it has let
//! them go. The bottom of the crate's reading order; it knows nothing of the rest.
//!
//! Every turn of the loop ends the same way (`reactor.rs`, step 5): the wakers collected
//! under the I/O table's and the timer wheel's locks are woken by [`wake_all`] after the
//! locks are released. The signal fan-out (`signal.rs`) does the same with its waiter
//! lists. Two rules follow, one per function here:
//!
//! - [`lock`] ignores poison. A lock is poisoned when a thread panics holding it; the
//!   reactor calls no user code under its locks but a waker's `clone`, `will_wake` and
//!   `drop` (wakes come after), and it changes its tables only after those calls, so they
//!   are consistent even then, and refusing them would turn one panic into many.
//! - [`wake_all`] wakes outside every lock and contains a panicking waker, so the other
//!   wakers of the turn are still woken.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// Lock a mutex, ignoring poison: the reactor's tables stay consistent across a panic,
/// because no user code runs while they are locked beyond a waker's `clone`, `will_wake`
/// and `drop`, and nothing is left half-changed around those.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wake every waker in `wakers`, leaving it empty (and its capacity kept for the next turn).
///
/// A `Waker` is not always tempo's: a tempo future polled by another executor (a
/// `futures::executor::block_on`, a test harness) stores that executor's waker here, and
/// its `wake` is code we do not control. If one panics, the panic must not unwind out of
/// the reactor's turn: the wakers after it would be dropped unwoken, and their tasks would
/// wait for ever on readiness that has already come. So each wake runs inside
/// `catch_unwind`; a panic is logged and the rest are still woken. On the path where
/// nothing panics this costs nothing: unwinding tables, no extra instructions.
pub(crate) fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        // `AssertUnwindSafe`: the closure owns the waker it consumes and touches no other
        // state, so nothing half-updated can be observed after a panic.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| waker.wake())) {
            log::error!(
                "tempo reactor: a waker panicked while being woken ({}); the other wakers \
                 of this turn are still woken",
                panic_message(&*payload)
            );
        }
    }
}

/// The text of a panic's payload, as `panic!` formats it, or a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "a panic payload that is not a string"
    }
}
