//! The owned halves of a [`UnixStream`], from [`into_split`](UnixStream::into_split): the
//! `(reader, writer)` pair of asyncio's `open_unix_connection`, each half movable to its
//! own task.
//!
//! They are built as TCP's are (`net/tcp.rs`): both halves share the stream in an `Arc`,
//! and read and write it through `net/stream.rs`'s paths. The reactor keeps a readiness and
//! a waker slot per direction, so a task blocked reading never delays one writing.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::stream::UnixStream;
use crate::net::stream::{poll_read, poll_write, poll_write_vectored, read_exact, write_all};

impl UnixStream {
    /// Split into a read half and a write half that can move to different tasks. Dropping
    /// the write half shuts down the write direction (the peer sees end of stream).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, mut b) = tempo::net::UnixStream::pair()?;
    ///     let (mut read, mut write) = a.into_split();
    ///     let writer = tempo::spawn(async move { write.write_all(b"from a task").await });
    ///     let mut buf = [0; 11];
    ///     b.read_exact(&mut buf).await?;
    ///     writer.await.unwrap()?;
    ///     b.write_all(b"back").await?;
    ///     read.read_exact(&mut buf[..4]).await?;
    ///     assert_eq!(&buf[..4], b"back");
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf {
                stream: stream.clone(),
            },
            OwnedWriteHalf {
                stream,
                shutdown_on_drop: true,
            },
        )
    }
}

/// The read half of a split [`UnixStream`].
pub struct OwnedReadHalf {
    /// Shared with the write half; this half only reads.
    stream: Arc<UnixStream>,
}

/// The write half of a split [`UnixStream`]. Dropping it shuts down the write direction.
pub struct OwnedWriteHalf {
    /// Shared with the read half; this half only writes.
    stream: Arc<UnixStream>,
    /// False once reunited, so that reuniting does not shut the stream down.
    shutdown_on_drop: bool,
}

/// The halves passed to [`OwnedReadHalf::reunite`] came from different streams.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let (a, b) = tempo::net::UnixStream::pair()?;
///     let (read_a, _write_a) = a.into_split();
///     let (_read_b, write_b) = b.into_split();
///     assert!(read_a.reunite(write_b).is_err());
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl OwnedReadHalf {
    /// Read into `buf`; 0 means end of stream. Cancel-safe.
    /// See [`UnixStream::into_split`] for an example.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| poll_read(&self.stream.io, cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes, or fail with `UnexpectedEof`.
    /// See [`UnixStream::into_split`] for an example.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_exact(&self.stream.io, buf).await?;
        Ok(buf.len())
    }

    /// The peer's address. See [`UnixStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address. See [`UnixStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Put the stream back together, if `write` is its other half.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = tempo::net::UnixStream::pair()?;
    ///     let (read, write) = a.into_split();
    ///     let a = read.reunite(write).expect("halves of one stream");
    ///     a.shutdown_std(std::net::Shutdown::Both)?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<UnixStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Arc::try_unwrap(self.stream).expect("tempo: both halves were given back"))
    }
}

impl OwnedWriteHalf {
    /// Write some of `buf`; returns how many bytes were written. Cancel-safe.
    /// See [`UnixStream::into_split`] for an example.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| poll_write(&self.stream.io, cx, buf)).await
    }

    /// Write all of `buf`. See [`UnixStream::into_split`] for an example.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_all(&self.stream.io, buf).await
    }

    /// Does nothing; see [`UnixStream::flush`].
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = tempo::net::UnixStream::pair()?;
    ///     a.into_split().1.flush().await
    /// })
    /// .unwrap();
    /// ```
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Shut down the write direction now: the peer reads end of stream.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, mut b) = tempo::net::UnixStream::pair()?;
    ///     let (_read, mut write) = a.into_split();
    ///     write.shutdown().await?;
    ///     assert_eq!(b.read(&mut [0; 8]).await?, 0);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self.stream.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        }
    }

    /// The peer's address. See [`UnixStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address. See [`UnixStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone (NotConnected); there is nothing to tell it then.
            let _ = self.stream.shutdown_std(Shutdown::Write);
        }
    }
}

impl futures_io::AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read(&self.stream.io, cx, buf)
    }
}

impl futures_io::AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.stream.io, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(&self.stream.io, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.stream.shutdown_std(Shutdown::Write) {
            // A reset peer is not an error here, as in tokio (see `TcpStream::poll_close`).
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        })
    }
}

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&self.stream).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&self.stream).finish()
    }
}

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different UnixStreams")
    }
}

impl std::error::Error for ReuniteError {}
