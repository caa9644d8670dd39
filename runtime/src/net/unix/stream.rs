//! [`UnixStream`]: a connected Unix-domain stream socket — what asyncio's
//! `open_unix_connection` gives, a reader and a writer in one object.
//!
//! A Unix stream is read and written exactly as a TCP stream is: this file registers a mio
//! `UnixStream` with the current worker's reactor and reads and writes it through the
//! generic paths of `net/stream.rs` (`poll_read`, `poll_write`), so a read of a Unix socket
//! crosses the same files, in the same order, as a read of a TCP socket.

use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use tempo_reactor::{Direction, Registered};

use crate::net::stream::{poll_read, poll_write, poll_write_vectored, read_exact, write_all};

/// A Unix-domain stream socket, connected.
///
/// Its methods mirror [`TcpStream`](crate::net::TcpStream)'s: `async` reads and writes on
/// `&mut self`, [`into_split`](UnixStream::into_split) to read and write from two tasks,
/// and `futures_io::AsyncRead`/`AsyncWrite`.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let (mut a, mut b) = tempo::net::UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    /// The socket, registered for reads and writes. The halves (`split.rs`) read and write
    /// it through `net/stream.rs`'s paths, as the stream itself does.
    pub(super) io: Registered<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connect to the socket bound at `path` — asyncio's `open_unix_connection(path)`.
    ///
    /// A path nobody bound is `NotFound`; a path bound by a socket nobody listens on any
    /// more is `ConnectionRefused`. On Linux, a listener whose backlog of unaccepted
    /// connections is full makes the connect fail at once with `WouldBlock`, as tokio's
    /// does: try again later, or let the listener accept faster.
    ///
    /// ```no_run
    /// # use tempo_runtime as tempo;
    /// # tempo::run(async {
    /// let mut stream = tempo::net::UnixStream::connect("/tmp/app.sock").await?;
    /// stream.write_all(b"hello\n").await?;
    /// # Ok::<(), std::io::Error>(()) });
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let stream = UnixStream::from_mio(mio::net::UnixStream::connect(path)?)?;
        // On Linux a Unix connect completes or fails at once: a listener whose backlog is
        // full makes it fail with `WouldBlock` (EAGAIN), returned to the caller as it is —
        // as tokio does — rather than waited out. Where a connect can be in progress, the
        // socket becomes writable when it completes: wait for that, then ask the kernel
        // how it went.
        poll_fn(|cx| stream.io.registration().poll_ready(cx, Direction::Write)).await?;
        match stream.io.get_ref().take_error()? {
            Some(e) => Err(e),
            None => Ok(stream),
        }
    }

    /// Two connected, unnamed sockets: `socketpair(2)`. Each end reads what the other
    /// writes (see the [type's example](UnixStream)).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// Adopt a connected std stream (switching it to non-blocking mode).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     let a = tempo::net::UnixStream::from_std(a)?;
    ///     assert!(a.peer_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(stream))
    }

    pub(super) fn from_mio(stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Registered::new(stream)?,
        })
    }

    /// Read into `buf`; returns how many bytes were read. 0 means end of stream, unless
    /// `buf` is empty. Cancel-safe: a read dropped before it completes took no bytes.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (mut a, b) = tempo::net::UnixStream::pair()?;
    ///     drop(b);
    ///     assert_eq!(a.read(&mut [0; 8]).await?, 0); // end of stream
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| poll_read(&self.io, cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes; an end of stream first is `UnexpectedEof`.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (mut a, mut b) = tempo::net::UnixStream::pair()?;
    ///     b.write_all(b"abc").await?;
    ///     drop(b);
    ///     let err = a.read_exact(&mut [0; 4]).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_exact(&self.io, buf).await?;
        Ok(buf.len())
    }

    /// Write some of `buf`; returns how many bytes were written. Cancel-safe.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (mut a, _b) = tempo::net::UnixStream::pair()?;
    ///     assert_eq!(a.write(b"hi").await?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| poll_write(&self.io, cx, buf)).await
    }

    /// Write all of `buf`. Not cancel-safe: if dropped, some of `buf` may have been sent.
    /// See the [type's example](UnixStream).
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_all(&self.io, buf).await
    }

    /// Does nothing: the bytes are the kernel's once `write` returns (see
    /// [`TcpStream::flush`](crate::net::TcpStream::flush)).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (mut a, _b) = tempo::net::UnixStream::pair()?;
    ///     a.flush().await
    /// })
    /// .unwrap();
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Shut down the read half, the write half, or both. `Shutdown::Write` makes the peer
    /// read end of stream while it can still send to us — a half-close.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::net::Shutdown;
    /// tempo::run(async {
    ///     let (mut a, mut b) = tempo::net::UnixStream::pair()?;
    ///     a.shutdown_std(Shutdown::Write)?;
    ///     assert_eq!(b.read(&mut [0; 8]).await?, 0);
    ///     b.write_all(b"still open").await?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Shut down the write direction, as tokio's `AsyncWriteExt::shutdown` does: the peer
    /// reads end of stream. A peer already gone is not an error.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        }
    }

    /// The address of the peer: its path, or unnamed (a client that did not bind, or one
    /// end of a [`pair`](UnixStream::pair)).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = tempo::net::UnixStream::pair()?;
    ///     assert_eq!(a.peer_addr()?.as_pathname(), None);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address: unnamed for a connecting client, the listener's path for a
    /// stream it accepted.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = tempo::net::UnixStream::pair()?;
    ///     assert!(a.local_addr()?.is_unnamed());
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl futures_io::AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read(&self.io, cx, buf)
    }
}

impl futures_io::AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.io, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(&self.io, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.shutdown_std(Shutdown::Write) {
            // A reset peer is not an error here, as in tokio (see `TcpStream::poll_close`).
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        })
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
