//! hyper on tempo: the three things hyper asks of a runtime, given by tempo (the `hyper`
//! feature; `tempo::hyper`).
//!
//! [hyper](https://hyper.rs) is an HTTP/1 and HTTP/2 library that brings no event loop of its
//! own: a connection is a future (`hyper::server::conn::http1::Connection`, say) that some
//! runtime polls. It asks that runtime for three things, as traits in `hyper::rt`:
//!
//! 1. **bytes in and out** — `rt::Read` and `rt::Write`, hyper's own I/O traits, which a
//!    tempo [`TcpStream`](crate::net::TcpStream) does not implement (it implements the
//!    `futures-io` pair); [`TempoIo`] adapts one to the other.
//! 2. **a place to run background futures** — `rt::Executor`: HTTP/2 runs each stream, and
//!    a client its connection, as a task of its own; [`TempoExecutor`] spawns them with
//!    [`spawn`](crate::spawn).
//! 3. **timers** — `rt::Timer`: `header_read_timeout` and keep-alive deadlines;
//!    [`TempoTimer`] makes them tempo [`Sleep`](crate::time::Sleep)s, and moves one in the
//!    reactor's wheel when hyper resets it.
//!
//! In asyncio's terms, hyper is a protocol (`asyncio.Protocol` with its `data_received`)
//! written against an abstract transport and loop, and these three types are the transport
//! and the loop it is handed. tokio's versions live in `hyper-util`'s `rt` module:
//! `TokioIo`, `TokioExecutor`, `TokioTimer`.
//!
//! Where this sits in the loop: nowhere new. A hyper connection is an ordinary task; its
//! reads and writes go through [`TcpStream`](crate::net::TcpStream)'s, and its timers are
//! the reactor's, so `worker.rs` runs it as it runs any other task.
//!
//! The files, in reading order (each uses only the crate's files before it, never the
//! others here):
//!
//! 1. `io.rs` — [`TempoIo`], the byte adapter;
//! 2. `executor.rs` — [`TempoExecutor`];
//! 3. `timer.rs` — [`TempoTimer`] and the `Sleep` it hands hyper.

// 1. Bytes.
mod io;

// 2. Background futures.
mod executor;

// 3. Timers.
mod timer;

pub use executor::TempoExecutor;
pub use io::TempoIo;
pub use timer::TempoTimer;
