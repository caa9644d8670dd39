//! The owned halves of a [`TcpStream`], from
//! [`into_split`](super::TcpStream::into_split): asyncio's `(reader, writer)` pair from
//! `open_connection`, each half movable to its own task.
//!
//! Both halves share the stream. The reactor keeps a separate readiness and waker slot per
//! direction, so a task blocked reading never delays one writing.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::stream::{TcpStream, read_exact, write_all};

impl TcpStream {
    /// Split into a read half and a write half that can move to different tasks. Dropping
    /// the write half shuts down the write direction (the peer sees end of stream).
    ///
    /// (Defined here, beside the halves, so that `stream.rs` need not know them.)
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

/// The read half of a split [`TcpStream`].
pub struct OwnedReadHalf {
    /// Shared with the write half; this half only reads.
    stream: Arc<TcpStream>,
}

/// The write half of a split [`TcpStream`]. Dropping it shuts down the write direction.
pub struct OwnedWriteHalf {
    /// Shared with the read half; this half only writes.
    stream: Arc<TcpStream>,
    /// False once reunited, so that reuniting does not shut the stream down.
    shutdown_on_drop: bool,
}

/// The halves passed to [`OwnedReadHalf::reunite`] came from different streams.
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl OwnedReadHalf {
    /// Read into `buf`; 0 means end of stream.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.stream.poll_read_shared(cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes and return that count, or fail with `UnexpectedEof`.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_exact(&self.stream.io, buf).await?;
        Ok(buf.len())
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// Put the stream back together, if `write` is its other half.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Arc::try_unwrap(self.stream).expect("tempo: both halves were given back"))
    }
}

impl OwnedWriteHalf {
    /// Write some of `buf`; returns how many bytes were written.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.stream.poll_write_shared(cx, buf)).await
    }

    /// Write all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_all(&self.stream.io, buf).await
    }

    /// Does nothing; see [`TcpStream::flush`].
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Shut down the write direction, as tokio's `AsyncWriteExt::shutdown` does: the peer
    /// reads end of stream. A peer already gone (reset) is not an error.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self.stream.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The local address.
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
        self.stream.poll_read_shared(cx, buf)
    }
}

impl futures_io::AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_shared(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.stream.poll_write_vectored_shared(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // A reset peer is not an error here, as in tokio (see `TcpStream::poll_close`).
        Poll::Ready(match self.stream.shutdown_std(Shutdown::Write) {
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
        f.write_str("tried to reunite halves of two different TcpStreams")
    }
}

impl std::error::Error for ReuniteError {}
