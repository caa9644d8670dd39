//! The reactor's lock discipline: how it takes its locks. The bottom of the crate's reading
//! order; it knows nothing of the rest.
//!
//! [`lock`] ignores poison. A lock is poisoned when a thread panics holding it; the reactor
//! calls no user code under its locks but a waker's `clone`, `will_wake` and `drop`, and it
//! changes its tables only after those calls, so they are consistent even then, and
//! refusing them would turn one panic into many.
//!
//! The other half of the discipline — wakers are woken only after every lock is let go, and
//! a panicking waker is contained — is `wake_all`, in `io/readiness.rs`, beside the
//! dispatch that collects the wakers it wakes, so that the turn's wake path stays in two
//! files.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock a mutex, ignoring poison: the reactor's tables stay consistent across a panic,
/// because no user code runs while they are locked beyond a waker's `clone`, `will_wake`
/// and `drop`, and nothing is left half-changed around those.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
