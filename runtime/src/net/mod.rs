//! Networking: TCP and UDP sockets whose operations are futures.
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
//! Addresses are resolved with the standard library's blocking resolver. That is instant for
//! an IP address; a host name that needs DNS blocks the loop while it resolves — a labelled
//! shortcut: a production runtime resolves on its blocking pool.

mod listener;
mod stream;
pub mod tcp;
mod udp;

pub use listener::{ShardedListener, TcpListener};
pub use stream::TcpStream;
pub use udp::UdpSocket;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolve `addr`, failing clearly if it names no address.
fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        ));
    }
    Ok(addrs)
}

/// Try `f` on each address in turn; return the first success, or the last error.
fn each_addr<T>(
    addr: impl ToSocketAddrs,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for addr in resolve(addr)? {
        match f(addr) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}
