//! Resolving addresses: the two helpers every socket constructor of [`net`](super) uses.
//!
//! Addresses are resolved with the standard library's blocking resolver. That is instant for
//! an IP address; a host name that needs DNS blocks the loop while it resolves — a labelled
//! shortcut: a production runtime resolves on its blocking pool (asyncio's
//! `loop.getaddrinfo` runs `socket.getaddrinfo` in the default executor).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolve `addr`, failing clearly if it names no address.
pub(super) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
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
pub(super) fn each_addr<T>(
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
