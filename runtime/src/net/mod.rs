//! Networking: TCP, UDP and Unix-domain sockets whose operations are futures.
//!
//! Each socket is a non-blocking mio socket registered with the current worker's reactor.
//! An operation tries the syscall; if the kernel says `WouldBlock`, the task parks its waker
//! with the reactor and returns `Pending`, and the reactor wakes it when epoll reports the
//! socket ready. That is the whole trick behind asyncio's streams and transports, and behind
//! these types.
//!
//! Errors are `io::Error`s, as with `std::net`: end of stream is a read of 0 bytes, a reset
//! is `ConnectionReset`, a half-close (`shutdown(Write)`) leaves the other direction open.
//! Creating a socket outside a tempo runtime is an error, not a panic.
//!
//! An address literal is parsed on the loop; a host name is looked up on the blocking pool,
//! as asyncio's `loop.getaddrinfo` runs in its executor: see `addr.rs` and
//! [`ToSocketAddrs`].
//!
//! The files, in reading order (each uses only those before it):
//!
//! 1. `addr.rs` — [`ToSocketAddrs`]: resolving an address (a host name on the blocking
//!    pool), trying each it resolves to.
//! 2. `stream.rs` — [`TcpStream`], the one runtime file a read crosses from the reactor to
//!    the task; `udp.rs` — [`UdpSocket`].
//! 3. `tcp.rs` — the owned halves of [`TcpStream::into_split`]; a half reads through
//!    `stream.rs`.
//! 4. `listener.rs` — [`TcpListener`], which makes `TcpStream`s, its [`Incoming`]
//!    connections, and [`ShardedListener`], which spawns an accept loop on every worker.
//! 5. `unix/` — Unix-domain sockets: [`UnixStream`] (on `stream.rs`'s read and write
//!    paths), [`UnixListener`], [`UnixDatagram`].

// 1. Addresses.
mod addr;

// 2. A connected TCP stream; a UDP socket.
pub(crate) mod stream;
mod udp;

// 3. A stream's owned halves.
pub mod tcp;

// 4. Listening and accepting.
mod listener;

// 5. Unix-domain sockets.
#[cfg(unix)]
pub mod unix;

pub use addr::ToSocketAddrs;
pub use listener::{Incoming, ShardedListener, TcpListener};
pub use stream::TcpStream;
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
