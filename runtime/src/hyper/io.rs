//! [`TempoIo`]: a tempo stream as hyper's `rt::Read` and `rt::Write` — what hyper-util calls
//! `TokioIo`.
//!
//! hyper reads and writes through traits of its own rather than `futures-io`'s, so that its
//! reads can fill memory it has not zeroed. tempo's streams implement the `futures-io` pair
//! (`AsyncRead`, `AsyncWrite`), as asyncio's transports implement one interface for every
//! protocol; this file is the few lines that translate one pair into the other. In the loop
//! it adds nothing: hyper's `poll_read` is the stream's `poll_read`, which asks the reactor
//! whether the socket is readable and parks the task's waker if not (`net/stream.rs`).
//!
//! # Reading without `unsafe`
//!
//! hyper hands a read a `ReadBufCursor`: the unfilled, possibly uninitialised, end of its
//! buffer. Filling it in place takes two `unsafe` calls (`as_mut`, then `advance` once the
//! bytes are written), and this crate is `#![forbid(unsafe_code)]`. So a read goes into a
//! buffer of the connection's own first — allocated and zeroed once, when the `TempoIo` is
//! made — and [`ReadBufCursor::put_slice`](::hyper::rt::ReadBufCursor) copies what arrived:
//! the cost per read is copying the bytes read. `cargo bench --bench versus --
//! --instructions` sets tempo and tokio side by side under the same hyper service. A
//! shortcut, labelled: hyper-util's `TokioIo` reads into hyper's buffer directly, with
//! `unsafe`, and reads up to all of it at once, where we read at most [`READ_CHUNK`] bytes a
//! call (hyper's first buffer is that size; for a large body this means more, smaller
//! reads).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

/// The most one read takes: the size of the stack buffer a read goes through, and of hyper's
/// first read buffer.
const READ_CHUNK: usize = 8 * 1024;

/// A stream that hyper can read and write: wraps any `futures_io::AsyncRead + AsyncWrite`
/// — a [`TcpStream`](crate::net::TcpStream), one of its owned halves, a `UnixStream` of
/// another crate — and implements `hyper::rt::Read` and `hyper::rt::Write` by calling
/// through. tokio's equivalent is `hyper_util::rt::TokioIo`.
///
/// Handing a connection to hyper, as a server (`serve_connection`) or as a client
/// (`handshake`):
///
/// ```
/// use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
/// use tempo_runtime::hyper::TempoIo;
/// use tempo_runtime::net::{TcpListener, TcpStream};
///
/// async fn hello(_: Request<Incoming>) -> Result<Response<String>, std::convert::Infallible> {
///     Ok(Response::new("Hello, World!".to_string()))
/// }
///
/// tempo_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     // The server: one connection, served by hyper over tempo's stream.
///     tempo_runtime::spawn(async move {
///         let (stream, _) = listener.accept().await?;
///         http1::Builder::new()
///             .serve_connection(TempoIo::new(stream), service_fn(hello))
///             .await
///             .map_err(std::io::Error::other)
///     });
///     // The client: hyper's connection future runs as a task; requests go through `sender`.
///     let stream = TempoIo::new(TcpStream::connect(addr).await?);
///     let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, String>(stream)
///         .await
///         .map_err(std::io::Error::other)?;
///     tempo_runtime::spawn(conn);
///     let request = Request::get("/").header("host", "x").body(String::new()).unwrap();
///     let response = sender.send_request(request).await.map_err(std::io::Error::other)?;
///     assert_eq!(response.status(), 200);
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct TempoIo<T> {
    /// The stream hyper reads and writes through us.
    inner: T,
    /// Where a read lands before it is copied into hyper's buffer: allocated and zeroed
    /// once per connection, not per read. (Zeroing 8 KiB on the stack at every read cost
    /// more than the rest of tempo's request path: 24 600 of 32 700 instructions per
    /// request under callgrind, which counts `rep stosb` byte by byte.)
    chunk: Box<[u8]>,
}

impl<T: std::fmt::Debug> std::fmt::Debug for TempoIo<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempoIo")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<T> TempoIo<T> {
    /// Wraps `inner` for hyper.
    ///
    /// ```
    /// use tempo_runtime::hyper::TempoIo;
    ///
    /// // Usually a `TcpStream`; `new` itself asks nothing of what it wraps.
    /// let io = TempoIo::new(Vec::<u8>::new());
    /// assert!(io.into_inner().is_empty());
    /// ```
    pub fn new(inner: T) -> TempoIo<T> {
        TempoIo {
            inner,
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }

    /// The wrapped stream.
    ///
    /// ```
    /// use tempo_runtime::hyper::TempoIo;
    ///
    /// let io = TempoIo::new(7);
    /// assert_eq!(*io.inner(), 7);
    /// ```
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably (to set a socket option mid-connection, say).
    ///
    /// ```
    /// use tempo_runtime::hyper::TempoIo;
    ///
    /// let mut io = TempoIo::new(7);
    /// *io.inner_mut() += 1;
    /// assert_eq!(io.into_inner(), 8);
    /// ```
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    ///
    /// ```
    /// use tempo_runtime::hyper::TempoIo;
    ///
    /// assert_eq!(TempoIo::new("stream").into_inner(), "stream");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> ::hyper::rt::Read for TempoIo<T> {
    /// One read of the stream, into this connection's buffer, copied into hyper's (see the
    /// file's doc).
    /// A read of 0 bytes into a non-empty cursor is end of stream, for hyper as for us.
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let want = buf.remaining().min(READ_CHUNK);
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.chunk[..want]))?;
        // A reader that claims more than it was given has broken `AsyncRead`'s contract;
        // say so rather than let `put_slice` panic.
        if n > want {
            return Poll::Ready(Err(io::Error::other(format!(
                "AsyncRead::poll_read returned {n} bytes into a buffer of {want}"
            ))));
        }
        buf.put_slice(&this.chunk[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> ::hyper::rt::Write for TempoIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    /// hyper's `poll_shutdown` is `futures-io`'s `poll_close`: for a `TcpStream`, send FIN
    /// (`shutdown(Write)`), and succeed if the peer has already gone.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    /// True: with it, hyper hands a response's head and body to one vectored write instead
    /// of copying both into one buffer. tempo's streams write vectored in one `writev(2)`;
    /// a `T` that keeps `futures-io`'s default (the first non-empty buffer only) is still
    /// correct, in more writes.
    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}
