//! [`Interest`], which directions an `AsyncFd` waits for, and `FdSource`, a descriptor's
//! number as a mio source: the two small pieces `async_fd.rs` registers with.
//!
//! `FdSource` registers through `mio::unix::SourceFd` (mio's `os-ext` feature, which the
//! reactor enables for the same workspace mio).

use std::io;
use std::os::fd::RawFd;

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Registry, Token};
use tempo_reactor::Direction;

/// Which readiness an [`AsyncFd`](super::AsyncFd) is registered for: [`READABLE`](Interest::READABLE),
/// [`WRITABLE`](Interest::WRITABLE), or both (`READABLE | WRITABLE`, the default of
/// [`AsyncFd::new`](super::AsyncFd::new)).
///
/// ```
/// use tempo_runtime::io::unix::Interest;
/// let both = Interest::READABLE | Interest::WRITABLE;
/// assert!(both.is_readable() && both.is_writable());
/// assert!(!Interest::READABLE.is_writable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    /// Wait for reads.
    readable: bool,
    /// Wait for writes.
    writable: bool,
}

impl Interest {
    /// Readiness to read (or to accept, or a hang-up).
    pub const READABLE: Interest = Interest {
        readable: true,
        writable: false,
    };
    /// Readiness to write.
    pub const WRITABLE: Interest = Interest {
        readable: false,
        writable: true,
    };

    /// Whether this includes [`READABLE`](Interest::READABLE).
    pub fn is_readable(self) -> bool {
        self.readable
    }

    /// Whether this includes [`WRITABLE`](Interest::WRITABLE).
    pub fn is_writable(self) -> bool {
        self.writable
    }

    pub(super) fn includes(self, direction: Direction) -> bool {
        match direction {
            Direction::Read => self.readable,
            Direction::Write => self.writable,
        }
    }

    pub(super) fn to_mio(self) -> mio::Interest {
        match (self.readable, self.writable) {
            (true, false) => mio::Interest::READABLE,
            (false, true) => mio::Interest::WRITABLE,
            _ => mio::Interest::READABLE | mio::Interest::WRITABLE,
        }
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        Interest {
            readable: self.readable || other.readable,
            writable: self.writable || other.writable,
        }
    }
}

/// The descriptor's number, as a mio source. It owns nothing: the `AsyncFd`'s `inner` owns
/// the descriptor and outlives the registration (field order, below).
pub(super) struct FdSource(pub(super) RawFd);

impl Source for FdSource {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0).register(registry, token, interest)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: mio::Interest,
    ) -> io::Result<()> {
        SourceFd(&self.0).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0).deregister(registry)
    }
}
