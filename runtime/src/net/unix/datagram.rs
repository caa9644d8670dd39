//! [`UnixDatagram`]: datagrams between paths — asyncio's `create_datagram_endpoint` with
//! `family=AF_UNIX`, without the protocol class.
//!
//! Like `UdpSocket` (`net/udp.rs`), each operation runs the readiness protocol through
//! `Registered::poll_io`: try the syscall; on `WouldBlock`, clear the readiness and park
//! until the reactor's turn reports the socket ready again.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll, ready};

use tempo_executor::coop;
use tempo_reactor::{Direction, Registered};

/// A Unix-domain datagram socket. Its methods take `&self`: share it in an `Arc` to send
/// and receive from several tasks. Datagrams keep their boundaries and, on one host, are
/// never lost or reordered; a full receive buffer makes the sender wait.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let (a, b) = tempo::net::UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     a.send(b"two").await?;
///     let mut buf = [0; 16];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"two");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UnixDatagram {
    /// The socket, registered for reads and writes.
    io: Registered<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// Bind to `path`. Synchronous, as tokio's is. Fails with `AddrInUse` if the path
    /// exists, and outside a tempo runtime.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// # let dir = std::env::temp_dir();
    /// # let (a_path, b_path) = (dir.join(format!("tempo-doc-dg-a-{}", std::process::id())), dir.join(format!("tempo-doc-dg-b-{}", std::process::id())));
    /// # let _ = (std::fs::remove_file(&a_path), std::fs::remove_file(&b_path));
    /// tempo::run(async {
    ///     let a = tempo::net::UnixDatagram::bind(&a_path)?;
    ///     let b = tempo::net::UnixDatagram::bind(&b_path)?;
    ///     a.send_to(b"hello", &b_path).await?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!((&buf[..n], from.as_pathname()), (&b"hello"[..], Some(a_path.as_path())));
    ///     std::fs::remove_file(&a_path)?;
    ///     std::fs::remove_file(&b_path)
    /// })
    /// .unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path: it can send (to a path, or once
    /// [`connect`](UnixDatagram::connect)ed), but nobody can reply to it.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let socket = tempo::net::UnixDatagram::unbound()?;
    ///     assert!(socket.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// Two connected, unnamed sockets: `socketpair(2)`. See the [type's
    /// example](UnixDatagram).
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Adopt a std socket (switching it to non-blocking mode).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let socket = std::os::unix::net::UnixDatagram::unbound()?;
    ///     let _socket = tempo::net::UnixDatagram::from_std(socket)?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::from_mio(mio::net::UnixDatagram::from_std(socket))
    }

    fn from_mio(socket: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Registered::new(socket)?,
        })
    }

    /// Set the default peer for [`send`](UnixDatagram::send) and filter
    /// [`recv`](UnixDatagram::recv) to datagrams from it. Synchronous, as tokio's is. A path
    /// nobody bound is `NotFound`.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let socket = tempo::net::UnixDatagram::unbound()?;
    ///     let err = socket.connect("/nonexistent/tempo.sock").unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Send one datagram to the connected peer; returns the bytes sent. Cancel-safe.
    /// See the [type's example](UnixDatagram).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_op(cx, Direction::Write, |s| s.send(buf))).await
    }

    /// Receive one datagram from the connected peer; a datagram longer than `buf` is
    /// truncated. Cancel-safe. See the [type's example](UnixDatagram).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_op(cx, Direction::Read, |s| s.recv(buf))).await
    }

    /// Send one datagram to the socket bound at `target`. Cancel-safe. See
    /// [`bind`](UnixDatagram::bind) for an example.
    ///
    /// A limit of Linux, not of tempo (tokio shares it): when `target`'s receive queue is
    /// full (`net.unix.max_dgram_qlen`, 10 datagrams by default), the kernel says
    /// `WouldBlock` but never signals this *unconnected* socket when room appears, so the
    /// send waits for this socket's next event, which may never come. A sender that may
    /// outrun its receiver should [`connect`](UnixDatagram::connect) and use
    /// [`send`](UnixDatagram::send), which the kernel does wake, or bound the wait with
    /// [`time::timeout`](crate::time::timeout).
    pub async fn send_to(&self, buf: &[u8], target: impl AsRef<Path>) -> io::Result<usize> {
        let target = target.as_ref();
        poll_fn(|cx| self.poll_op(cx, Direction::Write, |s| s.send_to(buf, target))).await
    }

    /// Receive one datagram; returns its length and its sender's address (unnamed if the
    /// sender is [`unbound`](UnixDatagram::unbound)). Cancel-safe. See
    /// [`bind`](UnixDatagram::bind) for an example.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_op(cx, Direction::Read, |s| s.recv_from(buf))).await
    }

    /// The local address. See [`unbound`](UnixDatagram::unbound) for an example.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address; `NotConnected` if there is none.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let socket = tempo::net::UnixDatagram::unbound()?;
    ///     assert_eq!(socket.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shut down reading, writing, or both. A `send` after `Shutdown::Write` fails at once
    /// with `BrokenPipe`.
    ///
    /// Do not `recv` after `Shutdown::Read`: Linux answers `WouldBlock` on such a datagram
    /// socket while reporting it closed for reading, and a receive that waits for a
    /// closed direction to stop saying `WouldBlock` never ends.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = tempo::net::UnixDatagram::pair()?;
    ///     a.shutdown(std::net::Shutdown::Write)?;
    ///     let err = a.send(b"too late").await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut op: impl FnMut(&mio::net::UnixDatagram) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        ready!(coop::poll_proceed(cx));
        self.io.poll_io(cx, direction, |s| op(s))
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
