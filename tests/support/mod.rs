//! What the tests that run the example servers share: starting an example as a child process
//! and watching it, the clients that talk to it, and the counters `/proc` keeps about it.
//!
//! Everything here talks to tempo from outside, with std sockets (and, for thousands of
//! connections at once, a plain mio loop), so nothing depends on tempo being right in
//! order to judge tempo. The rules every user of this module keeps:
//!
//! - Events are ordered by what the server says — its `listening on` line, a reply, an end
//!   of stream, a line on its stderr — never by sleeping.
//! - Every socket has read and write timeouts, and every wait a deadline, so a bug fails a
//!   test instead of hanging it.
//! - A child is killed when its guard drops; if the test is failing, its exit status (if it
//!   had already died) and its stderr are printed.
//!
//! The parts, lowest first:
//!
//! - [`examples`]: [`examples::example`], the path of a built example (all are built
//!   once per test binary);
//! - [`child`]: [`child::Running`] (any example, or any program, as a process; run to its
//!   end within a deadline, or watched line by line) and [`child::Server`] (one that
//!   listens);
//! - [`procfs`]: a process's CPU ticks and resident memory, read from `/proc`;
//! - [`client`]: [`client::Client`], a blocking line client with timeouts;
//! - [`swarm`]: [`swarm::Swarm`], thousands of scripted connections on one thread.

#![allow(
    dead_code,
    reason = "each test binary that includes this module uses a different part of it"
)]

pub mod child;
pub mod client;
pub mod examples;
pub mod procfs;
pub mod swarm;

use std::time::Duration;

/// Longest we wait for any one read or write on a socket.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest we wait for a child to print a line (the server's `listening on`, say).
pub const LINE_TIMEOUT: Duration = Duration::from_secs(30);
