//! [`Lines`]: the lines of a buffered stream, one `next_line().await` at a time — asyncio's
//! `async for line in reader`, in tokio's shape.
//!
//! The splitting is futures-util's `Lines` (a `Stream` of lines); this file only gives it
//! tokio's method, `next_line`, which returns `Ok(None)` at the end instead of a stream's
//! `None`.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::AsyncBufRead;

/// The lines of a buffered reader, from
/// [`AsyncBufReadExt::lines`](super::AsyncBufReadExt::lines).
///
/// Each line comes without its `\n` (or `\r\n`). A last line with no newline is still a
/// line; then [`next_line`](Lines::next_line) returns `Ok(None)`. A line is as long as it
/// is: the reader's buffer size does not limit it (bound it yourself — with
/// [`AsyncBufReadExt::read_until`](super::AsyncBufReadExt::read_until) on a
/// `take`n reader — if the peer is not trusted). A line that is not UTF-8 is an
/// `InvalidData` error. Also a `futures_core::Stream` of `io::Result<String>`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::io::{AsyncBufReadExt, BufReader};
///
/// tempo::run(async {
///     let mut lines = BufReader::new(&b"GET /\r\nHost: a\n\nbody"[..]).lines();
///     let mut seen = Vec::new();
///     while let Some(line) = lines.next_line().await? {
///         seen.push(line);
///     }
///     assert_eq!(seen, ["GET /", "Host: a", "", "body"]);
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
#[must_use = "lines do nothing unless you call next_line"]
pub struct Lines<R> {
    /// futures-util's splitter: the reader, the line read so far, and its bytes.
    inner: futures_util::io::Lines<R>,
}

impl<R: AsyncBufRead> Lines<R> {
    /// Wrap futures-util's lines (from its `AsyncBufReadExt::lines`).
    pub(super) fn new(inner: futures_util::io::Lines<R>) -> Lines<R> {
        Lines { inner }
    }
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// The next line, without its line ending; `Ok(None)` at the end of the stream.
    ///
    /// Cancel-safe, as tokio's: the part of a line read so far is kept in `self`, so
    /// dropping this future (in a `select!` or a timeout) loses nothing, and the next call
    /// goes on where it stopped.
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        poll_fn(|cx| self.poll_next_line(cx)).await
    }

    /// [`next_line`](Lines::next_line) as a poll function, for hand-written futures.
    pub fn poll_next_line(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<String>>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(Option::transpose)
    }
}

/// The same lines as a `Stream`, for stream combinators; needs `R: Unpin` (tempo's streams
/// are), as `next_line` does, so that no pin projection — no `unsafe` — is needed here.
impl<R: AsyncBufRead + Unpin> Stream for Lines<R> {
    type Item = io::Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().inner).poll_next(cx)
    }
}
