//! Files and directories without blocking the loop — what Python's `aiofiles` does for
//! asyncio.
//!
//! epoll cannot wait for a regular file: the kernel always reports it ready, and a `read`
//! that must go to the disk simply blocks. So, like aiofiles (and tokio), tempo does file
//! I/O on the [blocking pool](crate::blocking): every function here, and every method of
//! [`File`], runs the `std::fs` call there with
//! [`spawn_blocking`](crate::task::spawn_blocking) and awaits it.
//!
//! ```text
//!  task: fs::read(path).await ──▶ blocking pool: std::fs::read(path) ──▶ Vec<u8> back
//! ```
//!
//! Two costs follow, and they are why a tight loop of small reads is slow here:
//!
//! - **Each call is a round trip** to a pool thread: a channel send, maybe a thread
//!   wake-up, and a wake of the awaiting task — microseconds, where a `read` of cached
//!   data takes nanoseconds. Read and write in large pieces, or put a whole sequence of
//!   `std::fs` calls in one `spawn_blocking` of your own.
//! - **Data is copied once more.** The pool thread cannot borrow the caller's buffer (the
//!   caller's future may be dropped while the thread still writes to it), so
//!   [`File::read`] reads into a buffer of its own and copies into yours, and
//!   [`File::write`] copies your bytes before sending them. Whole-file functions ([`read`],
//!   [`read_to_string`], [`File::read_to_end`] into an empty `Vec`) move their buffer
//!   instead, and copy nothing.
//!
//! Errors are the `io::Error`s of `std::fs`, kinds included. If the runtime shuts down
//! before the call runs, it fails with an error of kind `Other`.
//!
//! A [`File`] is also a `futures_io` `AsyncRead`, `AsyncWrite` and `AsyncSeek`, so
//! [`tempo::io`](crate::io)'s [`copy`](crate::io::copy), `BufReader` and `BufWriter` work
//! on it as on a socket. Through those traits a write returns before it runs and is
//! complete after `flush`, as with tokio: see [`File`]. Every function needs a
//! current runtime and panics outside one, as [`spawn_blocking`](crate::task::spawn_blocking)
//! does.
//!
//! Mirrors `aiofiles` and `aiofiles.os`; differs in the names, which are `std::fs`'s.
//!
//! The files, in reading order:
//!
//! 1. `asyncify.rs` — the one helper: a `std::fs` call on the blocking pool, awaited.
//! 2. `paths.rs` — the functions on paths: whole files ([`read`],
//!    [`write`](fn@write), [`rename`], [`copy`], …) and directories ([`read_dir`],
//!    [`create_dir`], …).
//! 3. `inflight.rs` — the one call an open file has in flight, and the buffer that travels
//!    with it: what makes a file an `AsyncRead`, `AsyncWrite` and `AsyncSeek`.
//! 4. `file.rs` — [`File`], an open file.

// 1. A std::fs call, on the blocking pool.
mod asyncify;

// 2. Whole files and directories.
mod paths;

// 3. An open file's call in flight.
mod inflight;

// 4. An open file.
mod file;

pub use file::File;
pub use paths::{
    DirEntry, copy, create_dir, create_dir_all, metadata, read, read_dir, read_to_string,
    remove_dir, remove_dir_all, remove_file, rename, write,
};
