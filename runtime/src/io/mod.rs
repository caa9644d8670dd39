//! I/O beyond sockets: [`unix::AsyncFd`], the reactor's readiness protocol open to any
//! non-blocking descriptor the user owns.

#[cfg(unix)]
pub mod unix;
