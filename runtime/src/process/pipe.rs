//! The child's standard streams, as our end of three pipes: [`ChildStdin`] to write to,
//! [`ChildStdout`] and [`ChildStderr`] to read from — asyncio's `proc.stdin` (a
//! `StreamWriter`) and `proc.stdout`, `proc.stderr` (`StreamReader`s).
//!
//! Where they sit in the loop: each pipe end is made non-blocking and registered with the
//! current worker's reactor (`tempo_reactor::Registered`), exactly as a `TcpStream` is, and
//! read and written by the same readiness protocol (docs/DESIGN.md, *Readiness*; compare
//! `net/stream.rs`): ready? → `read(2)`/`write(2)` → `WouldBlock`, or a short transfer,
//! clears the readiness seen and waits for the next edge, which the reactor's turn turns
//! into a wake. A pipe is a stream socket with one direction: nothing else differs.
//!
//! They implement `futures_io::AsyncRead` / `AsyncWrite`, and, like `TcpStream`, have the
//! few `async` methods that a first program needs (`read`, `read_to_end`, `write`,
//! `write_all`).

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use mio::Interest;
use mio::unix::pipe::{Receiver, Sender};
use tempo_reactor::Registered;

use crate::net::stream;

/// How much [`PipeReader::poll_read_to_end`] asks for per `read(2)`: a Linux pipe's
/// default capacity, so one read usually empties the pipe.
const CHUNK: usize = 64 * 1024;

/// The writing end of the child's standard input. Dropping it closes the pipe, and the
/// child reads end of file — asyncio's `proc.stdin.close()`.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::process::{Command, Stdio};
///
/// tempo::run(async {
///     let mut child = Command::new("cat")
///         .stdin(Stdio::piped())
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let mut stdin = child.stdin.take().expect("piped");
///     stdin.write_all(b"hello\n").await?;
///     drop(stdin); // end of file: cat finishes
///     let mut echoed = Vec::new();
///     child.stdout.as_mut().expect("piped").read_to_end(&mut echoed).await?;
///     assert_eq!(echoed, b"hello\n");
///     assert!(child.wait().await?.success());
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ChildStdin {
    /// The pipe's write end, registered for writes; `None` once closed by `poll_close`.
    pipe: Option<Registered<Sender>>,
}

/// The reading end of the child's standard output. Reads return 0 (end of file) once the
/// child, and every process that inherited its stdout, has closed it — usually at exit.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::process::{Command, Stdio};
///
/// tempo::run(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo one; echo two"])
///         .stdout(Stdio::piped())
///         .spawn()?;
///     let mut text = Vec::new();
///     child.stdout.as_mut().expect("piped").read_to_end(&mut text).await?;
///     assert_eq!(text, b"one\ntwo\n");
///     child.wait().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ChildStdout {
    /// The pipe's read end.
    pipe: PipeReader,
}

/// The reading end of the child's standard error; as [`ChildStdout`].
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::process::{Command, Stdio};
///
/// tempo::run(async {
///     let mut child = Command::new("sh")
///         .args(["-c", "echo oops >&2"])
///         .stderr(Stdio::piped())
///         .spawn()?;
///     let mut text = Vec::new();
///     child.stderr.as_mut().expect("piped").read_to_end(&mut text).await?;
///     assert_eq!(text, b"oops\n");
///     child.wait().await?;
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ChildStderr {
    /// The pipe's read end.
    pipe: PipeReader,
}

/// A pipe's read end, registered for reads: what [`ChildStdout`] and [`ChildStderr`] share.
pub(super) struct PipeReader {
    /// The non-blocking read end.
    io: Registered<Receiver>,
}

impl PipeReader {
    /// Make the pipe non-blocking and register it with the current reactor.
    fn new(receiver: Receiver) -> io::Result<PipeReader> {
        receiver.set_nonblocking(true)?;
        Ok(PipeReader {
            io: Registered::with_interest(receiver, Interest::READABLE)?,
        })
    }

    /// One read, by the readiness protocol: the very code a `TcpStream` reads with
    /// (`net/stream.rs`). A short read means the pipe is empty now; zero is end of file,
    /// which stays.
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        stream::poll_read(&self.io, cx, buf)
    }

    /// Append everything up to end of file to `buf`. Cancel-safe in the sense that matters
    /// to `output()`: what was read before a `Pending` is in `buf` already.
    pub(super) fn poll_read_to_end(
        &self,
        cx: &mut Context<'_>,
        buf: &mut Vec<u8>,
    ) -> Poll<io::Result<()>> {
        loop {
            let start = buf.len();
            buf.resize(start + CHUNK, 0);
            let read = self.poll_read(cx, &mut buf[start..]);
            let n = match read {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(_)) | Poll::Pending => 0,
            };
            buf.truncate(start + n);
            match read {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl ChildStdin {
    /// Make the std pipe non-blocking and register it with the current reactor.
    pub(super) fn from_std(stdin: std::process::ChildStdin) -> io::Result<ChildStdin> {
        let sender = Sender::from(stdin);
        sender.set_nonblocking(true)?;
        Ok(ChildStdin {
            pipe: Some(Registered::with_interest(sender, Interest::WRITABLE)?),
        })
    }

    /// Write some of `buf`; returns how many bytes went into the pipe. Fails with
    /// `BrokenPipe` once the child has closed its standard input (or exited).
    ///
    /// Cancel-safe: if the future is dropped before it finishes, nothing was written.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::process::{Command, Stdio};
    ///
    /// tempo::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).spawn()?;
    ///     let stdin = child.stdin.as_mut().expect("piped");
    ///     let n = stdin.write(b"partial writes are allowed\n").await?;
    ///     assert!(n > 0);
    ///     child.wait().await?; // wait closes stdin first, so cat ends
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_shared(cx, buf)).await
    }

    /// Write all of `buf` — asyncio's `proc.stdin.write(data); await proc.stdin.drain()`.
    ///
    /// Not cancel-safe: if the future is dropped, an unknown prefix of `buf` was written.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::process::{Command, Stdio};
    ///
    /// tempo::run(async {
    ///     let mut child = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
    ///     // Far more than a pipe holds: write_all waits while cat drains it.
    ///     child.stdin.as_mut().expect("piped").write_all(&vec![b'x'; 1 << 20]).await?;
    ///     assert!(child.wait().await?.success());
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// One write, by the readiness protocol (`net/stream.rs`'s, as a socket's): a short write
    /// means the pipe is full.
    fn poll_write_shared(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let Some(io) = &self.pipe else {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "tempo: the child's stdin was closed",
            )));
        };
        stream::poll_write(io, cx, buf)
    }
}

impl ChildStdout {
    /// Make the std pipe non-blocking and register it with the current reactor.
    pub(super) fn from_std(stdout: std::process::ChildStdout) -> io::Result<ChildStdout> {
        Ok(ChildStdout {
            pipe: PipeReader::new(Receiver::from(stdout))?,
        })
    }

    /// Read into `buf`; returns how many bytes were read, 0 at end of file.
    ///
    /// Cancel-safe: if the future is dropped before it finishes, nothing was read.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::process::{Command, Stdio};
    ///
    /// tempo::run(async {
    ///     let mut child = Command::new("sh").args(["-c", "echo hi"]).stdout(Stdio::piped()).spawn()?;
    ///     let mut buf = [0u8; 64];
    ///     let n = child.stdout.as_mut().expect("piped").read(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi\n");
    ///     child.wait().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.pipe.poll_read(cx, buf)).await
    }

    /// Append everything up to end of file to `buf`; returns how many bytes were added —
    /// asyncio's `await proc.stdout.read()`. (See [`ChildStdout`] for an example.)
    ///
    /// Cancel-safe in that bytes read before the future is dropped are in `buf`.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let before = buf.len();
        poll_fn(|cx| self.pipe.poll_read_to_end(cx, buf)).await?;
        Ok(buf.len() - before)
    }

    /// The shared reader, for `output()`.
    pub(super) fn into_reader(self) -> PipeReader {
        self.pipe
    }
}

impl ChildStderr {
    /// Make the std pipe non-blocking and register it with the current reactor.
    pub(super) fn from_std(stderr: std::process::ChildStderr) -> io::Result<ChildStderr> {
        Ok(ChildStderr {
            pipe: PipeReader::new(Receiver::from(stderr))?,
        })
    }

    /// Read into `buf`; as [`ChildStdout::read`].
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::process::{Command, Stdio};
    ///
    /// tempo::run(async {
    ///     let mut child = Command::new("sh").args(["-c", "echo no >&2"]).stderr(Stdio::piped()).spawn()?;
    ///     let mut buf = [0u8; 64];
    ///     let n = child.stderr.as_mut().expect("piped").read(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"no\n");
    ///     child.wait().await?;
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.pipe.poll_read(cx, buf)).await
    }

    /// Append everything up to end of file to `buf`; as [`ChildStdout::read_to_end`]
    /// (see [`ChildStderr`] for an example).
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let before = buf.len();
        poll_fn(|cx| self.pipe.poll_read_to_end(cx, buf)).await?;
        Ok(buf.len() - before)
    }

    /// The shared reader, for `output()`.
    pub(super) fn into_reader(self) -> PipeReader {
        self.pipe
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_shared(cx, buf)
    }

    /// Nothing to flush: bytes are the kernel's once written.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Close the pipe, so the child reads end of file; later writes fail `NotConnected`.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().pipe = None;
        Poll::Ready(Ok(()))
    }
}

impl futures_io::AsyncRead for ChildStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_read(cx, buf)
    }
}

impl futures_io::AsyncRead for ChildStderr {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.pipe.poll_read(cx, buf)
    }
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdin")
            .field("closed", &self.pipe.is_none())
            .finish()
    }
}

impl fmt::Debug for ChildStdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStdout").finish_non_exhaustive()
    }
}

impl fmt::Debug for ChildStderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildStderr").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::io;
    use std::pin::Pin;

    use futures_io::{AsyncRead, AsyncWrite};

    use crate::process::{Command, Stdio};

    /// The futures-io traits, as the ecosystem's adapters call them: `poll_close` closes
    /// the pipe, so `cat` sees end of file, and later writes fail.
    #[test]
    fn the_pipes_implement_the_futures_io_traits() {
        crate::run(async {
            let mut child = Command::new("cat")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()?;
            let mut stdin = child.stdin.take().expect("piped");
            let n = poll_fn(|cx| Pin::new(&mut stdin).poll_write(cx, b"via the trait")).await?;
            assert_eq!(n, 13);
            poll_fn(|cx| Pin::new(&mut stdin).poll_close(cx)).await?;
            let closed = poll_fn(|cx| Pin::new(&mut stdin).poll_write(cx, b"x")).await;
            assert_eq!(
                closed.expect_err("closed").kind(),
                io::ErrorKind::NotConnected
            );
            let stdout = child.stdout.as_mut().expect("piped");
            let mut text = Vec::new();
            loop {
                let mut buf = [0u8; 4];
                match poll_fn(|cx| Pin::new(&mut *stdout).poll_read(cx, &mut buf)).await? {
                    0 => break,
                    n => text.extend_from_slice(&buf[..n]),
                }
            }
            assert_eq!(text, b"via the trait");
            assert!(child.wait().await?.success());
            Ok::<(), io::Error>(())
        })
        .expect("the test body");
    }
}
