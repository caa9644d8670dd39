//! [`UnixListener`]: accepting connections on a path — the listening half of asyncio's
//! `start_unix_server` — and [`Incoming`], its connections as a `Stream`.
//!
//! The listener is registered with the current worker's reactor for reads only (a pending
//! connection reads as readable); `accept` follows the readiness protocol through
//! `Registered::poll_io`, as `TcpListener::accept` does.

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mio::Interest;
use tempo_executor::coop;
use tempo_reactor::{Direction, Registered};

use super::stream::UnixStream;

/// A Unix-domain socket listening for connections on a path.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let dir = std::env::temp_dir().join(format!("tempo-doc-{}", std::process::id()));
///     std::fs::create_dir_all(&dir)?;
///     let path = dir.join("listener.sock");
///     let _ = std::fs::remove_file(&path);
///     let listener = tempo::net::UnixListener::bind(&path)?;
///     let client = tempo::spawn(tempo::net::UnixStream::connect(path.clone()));
///     let (mut served, _peer) = listener.accept().await?;
///     let mut client = client.await.unwrap()?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0; 2];
///     served.read_exact(&mut buf).await?;
///     std::fs::remove_file(&path)?;
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
///
/// The socket file stays on disk when the listener is dropped, as with std and tokio:
/// remove it yourself, or binding the same path again fails with `AddrInUse`.
pub struct UnixListener {
    /// The listening socket, registered for reads.
    io: Registered<mio::net::UnixListener>,
}

impl UnixListener {
    /// Bind to `path` and listen. Synchronous, as tokio's is: nothing here waits. Fails
    /// with `AddrInUse` if the path exists (a socket file left behind, or any other file),
    /// and outside a tempo runtime.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let taken = std::env::temp_dir(); // a directory already exists there
    ///     let err = tempo::net::UnixListener::bind(taken).unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    /// });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_mio(mio::net::UnixListener::bind(path)?)
    }

    /// Adopt a bound, listening std listener (switching it to non-blocking mode).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// # let path = std::env::temp_dir().join(format!("tempo-doc-std-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// tempo::run(async {
    ///     let std_listener = std::os::unix::net::UnixListener::bind(&path)?;
    ///     let listener = tempo::net::UnixListener::from_std(std_listener)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(listener))
    }

    fn from_mio(listener: mio::net::UnixListener) -> io::Result<UnixListener> {
        let io = Registered::with_interest(listener, Interest::READABLE)?;
        Ok(UnixListener { io })
    }

    /// Wait for a connection; returns the connected stream and the peer's address (usually
    /// unnamed: clients rarely bind). Cancel-safe: a dropped `accept` took no connection.
    /// See the [type's example](UnixListener).
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll for a connection. See [`accept`](UnixListener::accept); [`incoming`] is the
    /// same as a `Stream`.
    ///
    /// [`incoming`]: UnixListener::incoming
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        ready!(coop::poll_proceed(cx));
        let (stream, peer) = ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(UnixStream::from_mio(stream).map(|s| (s, peer)))
    }

    /// The connections as they arrive, as a `futures_core::Stream` of
    /// `io::Result<UnixStream>`, which never ends by itself (as std's `incoming`). An
    /// accept error is an item, not the end: log it and go on.
    ///
    /// ```no_run
    /// # use tempo_runtime as tempo;
    /// use futures_core::Stream; // futures_util's `StreamExt::next` reads better
    /// # tempo::run(async {
    /// let listener = tempo::net::UnixListener::bind("/tmp/app.sock")?;
    /// let mut incoming = std::pin::pin!(listener.incoming());
    /// while let Some(stream) = std::future::poll_fn(|cx| incoming.as_mut().poll_next(cx)).await {
    ///     let mut stream = stream?;
    ///     tempo::spawn(async move { stream.write_all(b"hello\n").await });
    /// }
    /// # Ok::<(), std::io::Error>(()) });
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The path this listener is bound to.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// # let path = std::env::temp_dir().join(format!("tempo-doc-addr-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// tempo::run(async {
    ///     let listener = tempo::net::UnixListener::bind(&path)?;
    ///     assert_eq!(listener.local_addr()?.as_pathname(), Some(path.as_path()));
    ///     std::fs::remove_file(&path)
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// The connections of a [`UnixListener`], from [`UnixListener::incoming`]: a `Stream` that
/// never ends by itself. Polling it is cancel-safe, as `accept` is.
///
/// (`futures_util::StreamExt::next` is one way to await it; see
/// [`UnixListener::incoming`].)
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener accepted from.
    listener: &'a UnixListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|accepted| Some(accepted.map(|(stream, _peer)| stream)))
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
