//! [`AsyncWriteExt`] and [`AsyncSeekExt`]: the writing and seeking methods tokio's users
//! call — asyncio's `writer.write(b)` + `await writer.drain()`, `write_eof()`, and a file's
//! `seek`.
//!
//! Each returns futures-util's future unchanged, except [`shutdown`](AsyncWriteExt::shutdown),
//! which is futures-util's `close` under tokio's name ([`Shutdown`]).

use std::future::Future;
use std::io::{self, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncSeek, AsyncWrite};

/// Writing methods for every [`AsyncWrite`]: tokio's `AsyncWriteExt`, with the same names,
/// arguments and results. Import it to call them.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::io::{AsyncWriteExt, BufWriter};
///
/// tempo::run(async {
///     let mut out = BufWriter::new(Vec::new());
///     out.write_all(b"hello ").await?;
///     out.write_all(b"world").await?;
///     assert!(out.get_ref().is_empty()); // still in the BufWriter's buffer
///     out.flush().await?;
///     assert_eq!(out.get_ref(), b"hello world");
///     out.shutdown().await
/// })
/// .unwrap();
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Write some of `buf`; returns how many bytes. Cancel-safe: if the future is dropped
    /// before it finishes, nothing was written.
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> futures_util::io::Write<'a, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncWriteExt::write(self, buf)
    }

    /// Write all of `buf` — asyncio's `writer.write(buf)` then `await writer.drain()`. A
    /// write of 0 bytes (the stream takes no more) is a `WriteZero` error. Not cancel-safe:
    /// a dropped future may have written part of `buf`.
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> futures_util::io::WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncWriteExt::write_all(self, buf)
    }

    /// Push buffered bytes on to their destination: a [`BufWriter`](super::BufWriter)'s
    /// buffer to its stream, a [`File`](crate::fs::File)'s last write through to the OS.
    /// A socket has no buffer of its own: there it returns at once.
    fn flush(&mut self) -> futures_util::io::Flush<'_, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncWriteExt::flush(self)
    }

    /// Flush, then shut down the write side: on a TCP stream, send FIN, so the peer reads
    /// the end of the stream and can still send to us — asyncio's `writer.write_eof()`.
    /// futures-util calls it `close`.
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown {
            inner: futures_util::io::AsyncWriteExt::close(self),
        }
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

/// The future of [`AsyncWriteExt::shutdown`]: futures-util's `close`, renamed.
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await them"]
pub struct Shutdown<'a, W: ?Sized> {
    /// futures-util's future: `poll_close` until it is ready.
    inner: futures_util::io::Close<'a, W>,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// Seeking methods for every [`AsyncSeek`] (a [`File`](crate::fs::File), or a
/// [`BufReader`](super::BufReader) around one): tokio's `AsyncSeekExt`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::io::SeekFrom;
/// use tempo::io::{AsyncReadExt, AsyncSeekExt, BufReader};
///
/// tempo::run(async {
/// # let path = std::env::temp_dir().join(format!("tempo-doc-seek-{}", std::process::id()));
///     tempo::fs::write(&path, b"0123456789").await?;
///     let mut file = BufReader::new(tempo::fs::File::open(&path).await?);
///     assert_eq!(file.seek(SeekFrom::End(-3)).await?, 7);
///     let mut tail = String::new();
///     file.read_to_string(&mut tail).await?;
///     assert_eq!(tail, "789");
/// #   tempo::fs::remove_file(&path).await?;
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub trait AsyncSeekExt: AsyncSeek {
    /// Move the position; returns the new position from the start — a file's `seek`.
    fn seek(&mut self, pos: SeekFrom) -> futures_util::io::Seek<'_, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncSeekExt::seek(self, pos)
    }

    /// The current position from the start — a file's `tell`.
    fn stream_position(&mut self) -> futures_util::io::Seek<'_, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncSeekExt::seek(self, SeekFrom::Current(0))
    }
}

impl<S: AsyncSeek + ?Sized> AsyncSeekExt for S {}
