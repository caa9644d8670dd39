//! Who is parked in the reactor, for task dumps: [`WaitingOn`] and
//! [`Handle::for_each_waiter`](super::Handle::for_each_waiter).
//!
//! Every await point of a task ends in one of three places (DESIGN.md): a reactor
//! registration, a timer, or another task or primitive that holds its waker. The reactor
//! can name the first two. A task dump walks them here, then decodes each `Waker` into a
//! task through the executor — the reactor itself knows no tasks.
//!
//! **Locks.** The walk takes the I/O table's lock (and, under it, each registration's
//! waiter slots, the same order as `Reactor::turn`), clones the wakers out and lets go;
//! then the timer wheel's lock, likewise. Only then does it call the visitor, holding no
//! lock, so the visitor may do anything — even arm a timer on the same reactor. The worker
//! is held up for no longer than the clones take, and the dump is a snapshot: a waiter may
//! be woken (or a new one parked) while the visitor runs.

use std::fmt;
use std::task::Waker;
use std::time::Instant;

use super::{Shared, lock};
use crate::time::lateness::Compact;

/// What a parked waker is waiting for, as far as the reactor knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitingOn {
    /// Readiness to read (or accept, or receive) on a registered source.
    Read {
        /// The registration's key: the low bits of its mio `Token`, its slot in the
        /// reactor's I/O table. Unique among the reactor's live registrations; reused
        /// after one is dropped.
        token: usize,
    },
    /// Readiness to write (or connect, or send) on a registered source.
    Write {
        /// The registration's key, as for [`Read`](WaitingOn::Read).
        token: usize,
    },
    /// An armed timer.
    Timer {
        /// When it is due.
        deadline: Instant,
    },
}

impl fmt::Display for WaitingOn {
    /// `read on socket #3`, `write on socket #3`, `timer, due in 1.2 s`, or
    /// `timer, 40 µs overdue` for one whose deadline has passed but which has not fired yet
    /// (the loop is busy, or about to fire it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WaitingOn::Read { token } => write!(f, "read on socket #{token}"),
            WaitingOn::Write { token } => write!(f, "write on socket #{token}"),
            WaitingOn::Timer { deadline } => {
                let now = Instant::now();
                if deadline >= now {
                    write!(f, "timer, due in {}", Compact(deadline - now))
                } else {
                    write!(f, "timer, {} overdue", Compact(now - deadline))
                }
            }
        }
    }
}

/// Every waker parked in the reactor's registrations and armed timers, cloned out from
/// under the locks; see the module doc.
pub(super) fn collect(shared: &Shared) -> Vec<(Waker, WaitingOn)> {
    let mut waiters = Vec::new();
    lock(&shared.ios).collect_waiters(&mut waiters);
    lock(&shared.timers).collect_waiters(&mut waiters);
    waiters
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn display_names_the_socket_or_the_time_left() {
        assert_eq!(
            WaitingOn::Read { token: 3 }.to_string(),
            "read on socket #3"
        );
        assert_eq!(
            WaitingOn::Write { token: 7 }.to_string(),
            "write on socket #7"
        );
        let soon = WaitingOn::Timer {
            deadline: Instant::now() + Duration::from_millis(1500),
        }
        .to_string();
        assert!(
            soon.starts_with("timer, due in 1.4") || soon == "timer, due in 1.5 s",
            "{soon}"
        );
        let past = WaitingOn::Timer {
            deadline: Instant::now() - Duration::from_secs(2),
        }
        .to_string();
        assert!(
            past.starts_with("timer, 2") && past.ends_with(" s overdue"),
            "{past}"
        );
    }
}
