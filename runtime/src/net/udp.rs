//! [`UdpSocket`]: datagrams — asyncio's `create_datagram_endpoint` without the protocol
//! class.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll, ready};

use tempo_executor::coop;
use tempo_reactor::{Direction, Registered};

use super::addr::{ToSocketAddrs, each_addr, resolve_first};

/// A UDP socket. Its methods take `&self`: share it in an `Arc` to send and receive from
/// several tasks (each waiting task is woken when the socket becomes ready).
pub struct UdpSocket {
    /// The socket, registered for reads and writes.
    io: Registered<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Bind to `addr` (port 0 picks a free port).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        each_addr(&addr, |addr| {
            Ok(UdpSocket {
                io: Registered::new(mio::net::UdpSocket::bind(addr)?)?,
            })
        })
        .await
    }

    /// Adopt a bound std socket (switching it to non-blocking mode).
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: Registered::new(mio::net::UdpSocket::from_std(socket))?,
        })
    }

    /// Send one datagram to `target`; returns the bytes sent. A host name is looked up
    /// on the blocking pool for every datagram: resolve it once yourself to send many.
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = resolve_first(&target).await?;
        poll_fn(|cx| self.poll_op(cx, Direction::Write, |s| s.send_to(buf, target))).await
    }

    /// Receive one datagram; returns its length and sender. A datagram longer than `buf`
    /// is truncated.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_op(cx, Direction::Read, |s| s.recv_from(buf))).await
    }

    /// Set the default peer for [`send`](UdpSocket::send) and filter
    /// [`recv`](UdpSocket::recv) to datagrams from it.
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(&addr, |addr| self.io.get_ref().connect(addr)).await
    }

    /// Send one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_op(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Receive one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_op(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Enable or disable `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&mio::net::UdpSocket) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        ready!(coop::poll_proceed(cx));
        self.io.poll_io(cx, direction, |s| op(s))
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
