//! Byte streams the way tokio shapes them — asyncio's `StreamReader` and `StreamWriter`
//! methods (`readline`, `readexactly`, `read(-1)`, `write` + `drain`, `close`), as traits
//! any stream can use.
//!
//! Every tempo stream — [`TcpStream`](crate::net::TcpStream), its halves,
//! [`File`](crate::fs::File) — implements the futures ecosystem's poll traits,
//! [`AsyncRead`], [`AsyncWrite`] (and the file [`AsyncSeek`]): one `poll_read` or
//! `poll_write` that the reactor (or the blocking pool) can wake. That is the whole
//! contract between a stream and the loop. Everything here is built on top of it, from the
//! outside, and knows no runtime:
//!
//! ```text
//!  your task ──.await──▶ AsyncReadExt::read_exact / Lines::next_line / copy / ...
//!                            │  (futures that call poll_read / poll_write in a loop)
//!                            ▼
//!                 AsyncRead::poll_read ──▶ TcpStream: read(2), or park the waker with
//!                                          the reactor until epoll says readable
//! ```
//!
//! The adapters themselves — [`BufReader`], [`BufWriter`], line splitting, copying — are the
//! `futures-util` crate's, re-exported or wrapped; tempo writes only the thin layer that
//! gives them tokio's names and shapes, so code written for `tokio::io` compiles with the
//! crate name changed: [`AsyncWriteExt::shutdown`] (futures-util calls it `close`),
//! [`Lines::next_line`] (futures-util's `Lines` is a `Stream`),
//! [`AsyncReadExt::read_exact`] returning the count, and [`copy_bidirectional`], which
//! futures-util lacks.
//!
//! Import the extension traits to get the methods: `use tempo::io::{AsyncReadExt,
//! AsyncWriteExt, AsyncBufReadExt};`. A type's own method of the same name wins over a
//! trait's (Rust looks at inherent methods first), so `stream.read(&mut buf)` on a
//! `TcpStream` calls its inherent `read`, which does the same thing.
//!
//! The module's items, for asyncio's stream methods (every asyncio idea is mapped in the
//! project's one table, `docs/ASYNCIO.md`):
//!
//! | asyncio                         | tempo (and tokio)                                   |
//! |---------------------------------|-----------------------------------------------------|
//! | `await reader.readline()`       | [`AsyncBufReadExt::read_line`], [`Lines::next_line`] |
//! | `async for line in reader`      | `while let Some(line) = lines.next_line().await?`   |
//! | `await reader.readexactly(n)`   | [`AsyncReadExt::read_exact`]                        |
//! | `await reader.read(-1)`         | [`AsyncReadExt::read_to_end`]                       |
//! | `writer.write(b); await writer.drain()` | [`AsyncWriteExt::write_all`]                |
//! | `writer.write_eof()`, `close()` | [`AsyncWriteExt::shutdown`]                         |
//! | `shutil.copyfileobj`            | [`copy`]                                            |
//!
//! The files, in reading order (each uses only those before it):
//!
//! 1. `lines.rs` — [`Lines`], a stream's lines one `next_line().await` at a time.
//! 2. `read_ext.rs` — [`AsyncReadExt`] and [`AsyncBufReadExt`]: reading, and reading lines.
//! 3. `write_ext.rs` — [`AsyncWriteExt`] and [`AsyncSeekExt`]: writing, shutting down,
//!    seeking.
//! 4. `copy.rs` — [`copy`], one way; `bidirectional.rs` — [`copy_bidirectional`], a proxy's
//!    two ways at once.
//! 5. `unix.rs` (Unix only) — [`unix::AsyncFd`]: the reactor's readiness protocol open to
//!    any non-blocking descriptor the user owns (asyncio's `loop.add_reader`).

// 1. Lines.
mod lines;

// 2. Reading.
mod read_ext;

// 3. Writing and seeking.
mod write_ext;

// 4. Copying.
mod bidirectional;
mod copy;

// 5. Any descriptor, with the reactor's readiness.
#[cfg(unix)]
pub mod unix;

pub use bidirectional::copy_bidirectional;
pub use copy::copy;
/// The poll traits every stream implements; the futures ecosystem's (`futures-io`).
pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
/// Buffering adapters: futures-util's, which tokio's mirror method for method.
pub use futures_util::io::{BufReader, BufWriter};
pub use lines::Lines;
pub use read_ext::{AsyncBufReadExt, AsyncReadExt, ReadExact, ReadToString};
pub use write_ext::{AsyncSeekExt, AsyncWriteExt, Shutdown};
