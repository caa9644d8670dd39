//! Unix-domain sockets: [`UnixListener`], [`UnixStream`] and [`UnixDatagram`] — asyncio's
//! `start_unix_server`, `open_unix_connection` and `create_datagram_endpoint(family=AF_UNIX)`.
//!
//! They are the TCP and UDP types with a path for an address: registered with the current
//! worker's reactor in the same way, and a stream reads and writes through the same paths
//! (`net/stream.rs`). This module holds, beside them, the halves of a split stream, the
//! `Stream` of a listener's connections, and the address type (std's: a path, or unnamed).
//!
//! The files, in reading order:
//!
//! 1. `stream.rs` — [`UnixStream`], on `net/stream.rs`'s read and write paths.
//! 2. `split.rs` — its owned halves, [`OwnedReadHalf`] and [`OwnedWriteHalf`].
//! 3. `listener.rs` — [`UnixListener`], which makes `UnixStream`s, and [`Incoming`].
//! 4. `datagram.rs` — [`UnixDatagram`].

// 1. A connected stream.
mod stream;

// 2. Its halves.
mod split;

// 3. Listening and accepting.
mod listener;

// 4. Datagrams.
mod datagram;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
/// The address of a Unix socket: a path, or unnamed. std's type, as mio returns it.
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
