//! [`WaitingOn`]: what a parked waker waits for — a read, a write, or a timer — as far as
//! the reactor knows. The words of a task dump.
//!
//! Every await point of a task ends in one of three places (docs/DESIGN.md, "The loop (one
//! worker)"): a reactor registration, a timer, or another task or primitive that holds its waker.
//! The reactor can name the first two, and this is how it names them. The I/O table
//! (`io/readiness.rs`) and the timer wheel (`time/wheel/`) each say what their parked wakers wait
//! on in these terms; `ReactorHandle::for_each_waiter` (`handle.rs`) walks both for a dump. Near
//! the bottom of the crate's reading order: it uses only the lateness module's compact durations.

use std::fmt;
use std::time::Instant;

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
