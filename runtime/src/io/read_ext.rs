//! [`AsyncReadExt`] and [`AsyncBufReadExt`]: the reading methods tokio's users call —
//! asyncio's `reader.read(n)`, `readexactly(n)`, `read(-1)`, `readline()` and
//! `readuntil()`.
//!
//! Each is implemented for every `futures_io::AsyncRead` (or `AsyncBufRead`), and each
//! returns futures-util's future for it, unchanged, except where tokio's shape differs:
//! [`read_exact`](AsyncReadExt::read_exact) returns the count ([`ReadExact`] adds it),
//! [`read_to_string`](AsyncReadExt::read_to_string) leaves the string alone on an error
//! ([`ReadToString`]), and
//! [`lines`](AsyncBufReadExt::lines) returns tempo's [`Lines`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncBufRead, AsyncRead};

use super::lines::Lines;

/// Reading methods for every [`AsyncRead`]: tokio's `AsyncReadExt`, with the same names,
/// arguments and results. Import it to call them.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::io::AsyncReadExt;
///
/// tempo::run(async {
///     let mut reader = &b"\x00\x05hello, and the rest"[..];
///     let mut len = [0; 2];
///     reader.read_exact(&mut len).await?;
///     let mut body = vec![0; u16::from_be_bytes(len) as usize];
///     reader.read_exact(&mut body).await?;
///     let mut rest = String::new();
///     reader.read_to_string(&mut rest).await?;
///     assert_eq!((&body[..], &rest[..]), (&b"hello"[..], ", and the rest"));
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub trait AsyncReadExt: AsyncRead {
    /// Read some bytes into `buf`; how many, 0 at the end of the stream (or for an empty
    /// `buf`) — asyncio's `await reader.read(n)`. Cancel-safe: if the future is dropped
    /// before it finishes, no bytes were read.
    fn read<'a>(&'a mut self, buf: &'a mut [u8]) -> futures_util::io::Read<'a, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncReadExt::read(self, buf)
    }

    /// Read exactly `buf.len()` bytes and return that count; an end of stream first is an
    /// `UnexpectedEof` error — `await reader.readexactly(n)`. Not cancel-safe: a dropped
    /// future may have consumed part of the bytes.
    fn read_exact<'a>(&'a mut self, buf: &'a mut [u8]) -> ReadExact<'a, Self>
    where
        Self: Unpin,
    {
        let len = buf.len();
        ReadExact {
            inner: futures_util::io::AsyncReadExt::read_exact(self, buf),
            len,
        }
    }

    /// Read to the end of the stream, appending to `buf`; returns how many bytes were
    /// appended — `await reader.read(-1)`. Not cancel-safe, but what was read before the
    /// drop is in `buf`.
    fn read_to_end<'a>(&'a mut self, buf: &'a mut Vec<u8>) -> futures_util::io::ReadToEnd<'a, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncReadExt::read_to_end(self, buf)
    }

    /// Read to the end as UTF-8, appending to `buf`; returns how many bytes were appended.
    /// Bytes that are not UTF-8 are an `InvalidData` error, and leave `buf` as it was, as
    /// does any other error. Not cancel-safe: the bytes read before a drop are lost (`buf`
    /// is unchanged).
    fn read_to_string<'a>(&'a mut self, buf: &'a mut String) -> ReadToString<'a, Self>
    where
        Self: Unpin,
    {
        ReadToString {
            reader: self,
            buf,
            bytes: Vec::new(),
        }
    }

    /// A reader that ends after `limit` bytes — to bound what a peer may send. Pass
    /// `&mut reader` to keep the reader.
    fn take(self, limit: u64) -> futures_util::io::Take<Self>
    where
        Self: Sized,
    {
        futures_util::io::AsyncReadExt::take(self, limit)
    }
}

impl<R: AsyncRead + ?Sized> AsyncReadExt for R {}

/// The future of [`AsyncReadExt::read_exact`]: futures-util's, with tokio's result (the
/// count read, always `buf.len()`).
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await them"]
pub struct ReadExact<'a, R: ?Sized> {
    /// futures-util's future, which yields `()`.
    inner: futures_util::io::ReadExact<'a, R>,
    /// The length of the buffer, the count to return.
    len: usize,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadExact<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let len = self.len;
        Pin::new(&mut self.inner).poll(cx).map_ok(|()| len)
    }
}

/// The future of [`AsyncReadExt::read_to_string`]: the bytes gathered apart, by futures-util's
/// `read_to_end`, and appended to the string only once they are known to be UTF-8 — tokio's
/// contract. (futures-util's own `read_to_string` empties the string on an error.)
#[derive(Debug)]
#[must_use = "futures do nothing unless you .await them"]
pub struct ReadToString<'a, R: ?Sized> {
    /// The stream read.
    reader: &'a mut R,
    /// The caller's string, appended to only at the end.
    buf: &'a mut String,
    /// The bytes read so far.
    bytes: Vec<u8>,
}

impl<R: AsyncRead + Unpin + ?Sized> Future for ReadToString<'_, R> {
    type Output = io::Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // A fresh `read_to_end` per poll: it keeps what it read in `bytes` when it returns
        // `Pending` (or an error), so starting it again goes on where it stopped.
        let mut rest =
            futures_util::io::AsyncReadExt::read_to_end(&mut *this.reader, &mut this.bytes);
        ready!(Pin::new(&mut rest).poll(cx))?;
        match String::from_utf8(std::mem::take(&mut this.bytes)) {
            Ok(text) => {
                let n = text.len();
                if this.buf.is_empty() {
                    *this.buf = text;
                } else {
                    this.buf.push_str(&text);
                }
                Poll::Ready(Ok(n))
            }
            Err(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))),
        }
    }
}

/// Line-reading methods for every [`AsyncBufRead`] (a [`BufReader`](super::BufReader)
/// around a stream): tokio's `AsyncBufReadExt`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::io::{AsyncBufReadExt, BufReader};
///
/// tempo::run(async {
///     let mut reader = BufReader::new(&b"one\ntwo"[..]);
///     let mut line = String::new();
///     assert_eq!(reader.read_line(&mut line).await?, 4);
///     assert_eq!(line, "one\n");
///     line.clear();
///     assert_eq!(reader.read_line(&mut line).await?, 3);
///     assert_eq!(reader.read_line(&mut line).await?, 0); // the end
///     assert_eq!(line, "two");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub trait AsyncBufReadExt: AsyncBufRead {
    /// Read up to and including the next `\n`, appending it to `buf`; returns how many
    /// bytes were appended, 0 at the end — asyncio's `await reader.readline()`, which also
    /// keeps the newline. Not UTF-8 is an `InvalidData` error. Not cancel-safe: use
    /// [`lines`](AsyncBufReadExt::lines) in a `select!`.
    fn read_line<'a>(&'a mut self, buf: &'a mut String) -> futures_util::io::ReadLine<'a, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncBufReadExt::read_line(self, buf)
    }

    /// Read up to and including the next `byte`, appending to `buf`; returns how many bytes
    /// were appended, 0 at the end — `await reader.readuntil(sep)`. Not cancel-safe.
    fn read_until<'a>(
        &'a mut self,
        byte: u8,
        buf: &'a mut Vec<u8>,
    ) -> futures_util::io::ReadUntil<'a, Self>
    where
        Self: Unpin,
    {
        futures_util::io::AsyncBufReadExt::read_until(self, byte, buf)
    }

    /// The reader's lines, without their line endings: see [`Lines`].
    fn lines(self) -> Lines<Self>
    where
        Self: Sized,
    {
        Lines::new(futures_util::io::AsyncBufReadExt::lines(self))
    }
}

impl<R: AsyncBufRead + ?Sized> AsyncBufReadExt for R {}
