//! [`copy_bidirectional`]: a proxy's two copies at once, each passing its end of stream on —
//! what asyncio code writes as two `pipe(reader, writer)` tasks under `gather`.
//!
//! futures-util has no such function, so it is written here: one [`OneWay`] per direction,
//! both polled by one future. Each is a small state machine:
//!
//! ```text
//!  Copying ──reader at end, all written, flushed──▶ ShuttingDown ──poll_close──▶ Done
//! ```
//!
//! A direction that is waiting to read flushes what it wrote first, so a buffered writer
//! never sits on bytes while the other side waits for them.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

/// The bytes one direction carries at a time: 8 KiB, as tokio and futures-util's `copy`.
const BUF_SIZE: usize = 8 * 1024;

/// Copy from `a` to `b` and from `b` to `a` at once, until both have reached the end of
/// the stream; returns `(bytes a → b, bytes b → a)`.
///
/// When one side's reading reaches the end of the stream, the other side's writing is
/// shut down ([`shutdown`](super::AsyncWriteExt::shutdown): on TCP, a FIN), and the other
/// direction goes on until it ends too — so a half-close passes through the proxy. The
/// first error of either direction ends both, and is returned. tokio's function of the
/// same name, with the same contract.
///
/// Not cancel-safe: bytes read but not yet written are lost if the future is dropped.
///
/// ```no_run
/// # use tempo_runtime as tempo;
/// use tempo::net::{TcpListener, TcpStream};
///
/// // A TCP proxy: every connection to :8081 is relayed to :8080.
/// async fn proxy() -> std::io::Result<()> {
///     let listener = TcpListener::bind("127.0.0.1:8081").await?;
///     loop {
///         let (mut client, _) = listener.accept().await?;
///         tempo::spawn(async move {
///             let mut server = TcpStream::connect("127.0.0.1:8080").await?;
///             tempo::io::copy_bidirectional(&mut client, &mut server).await
///         });
///     }
/// }
/// tempo::run(proxy()).unwrap();
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut a_to_b = OneWay::new();
    let mut b_to_a = OneWay::new();
    poll_fn(|cx| {
        // Poll both every time: each keeps its own waker registrations (a's read and b's
        // write for one, b's read and a's write for the other), so either may progress.
        let a_done = a_to_b.poll(cx, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let b_done = b_to_a.poll(cx, Pin::new(&mut *b), Pin::new(&mut *a))?;
        ready!(a_done);
        ready!(b_done);
        Poll::Ready(Ok((a_to_b.copied, b_to_a.copied)))
    })
    .await
}

/// Where one direction is: see the diagram in the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading and writing; the reader has not reached its end, or its last bytes are
    /// not yet all written and flushed.
    Copying,
    /// Everything is written: shutting the writer's write side down.
    ShuttingDown,
    /// Shut down; nothing more to do.
    Done,
}

/// One direction of the copy: a buffer between a reader and a writer.
struct OneWay {
    /// The bytes read and not yet written are `buf[start..end]`.
    buf: Box<[u8]>,
    /// The first byte not yet written.
    start: usize,
    /// One past the last byte read.
    end: usize,
    /// The reader has reached its end of stream.
    read_done: bool,
    /// Bytes were written since the last flush.
    need_flush: bool,
    /// How many bytes were written, in all.
    copied: u64,
    /// Where this direction is.
    phase: Phase,
}

impl OneWay {
    fn new() -> OneWay {
        OneWay {
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            read_done: false,
            need_flush: false,
            copied: 0,
            phase: Phase::Copying,
        }
    }

    /// Drive this direction as far as it goes; `Ready(Ok(()))` once it is done.
    fn poll<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<()>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            match self.phase {
                Phase::Copying => {
                    ready!(self.poll_copy(cx, reader.as_mut(), writer.as_mut()))?;
                    self.phase = Phase::ShuttingDown;
                }
                Phase::ShuttingDown => {
                    ready!(writer.as_mut().poll_close(cx))?;
                    self.phase = Phase::Done;
                }
                Phase::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Copy until the reader's end of stream, with everything written and flushed.
    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<()>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            // 1. The buffer is empty: read more, flushing before waiting for the reader.
            if self.start == self.end && !self.read_done {
                match reader.as_mut().poll_read(cx, &mut self.buf) {
                    Poll::Ready(Ok(0)) => self.read_done = true,
                    Poll::Ready(Ok(n)) => (self.start, self.end) = (0, n),
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                }
            }
            // 2. Write what the buffer holds.
            while self.start < self.end {
                let n = ready!(
                    writer
                        .as_mut()
                        .poll_write(cx, &self.buf[self.start..self.end])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.start += n;
                self.copied += n as u64;
                self.need_flush = true;
            }
            // 3. The end, and all of it written: flush, and this direction is copied.
            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                self.need_flush = false;
                return Poll::Ready(Ok(()));
            }
        }
    }
}
