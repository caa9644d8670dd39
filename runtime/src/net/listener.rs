//! [`TcpListener`]: accepting connections — the listening half of asyncio's `start_server`.

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::task::{Context, Poll, ready};

use mio::Interest;
use socket2::{Domain, Protocol, Socket, Type};
use tempo_executor::coop;
use tempo_reactor::{Direction, PollEvented};

use super::{TcpStream, each_addr};

/// A TCP socket listening for connections.
///
/// ```no_run
/// # use tempo_runtime as tempo;
/// # tempo::run(async {
/// let listener = tempo::net::TcpListener::bind("127.0.0.1:7000").await?;
/// loop {
///     let (mut stream, peer) = listener.accept().await?;
///     tempo::spawn(async move {
///         let _ = stream.write_all(format!("hello, {peer}\n").as_bytes()).await;
///     });
/// }
/// # #[allow(unreachable_code)] Ok::<(), std::io::Error>(()) });
/// ```
///
/// Several tasks may `accept` on one listener (share it in an `Arc`); each connection goes
/// to one of them.
pub struct TcpListener {
    /// The listening socket, registered for reads (a pending connection reads as readable).
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// The listen backlog [`TcpListener::bind`] asks for. The kernel caps it at
    /// `net.core.somaxconn` (4096 on recent Linux).
    pub const DEFAULT_BACKLOG: i32 = 1024;

    /// Bind to `addr` with `SO_REUSEADDR` (so a restarted server can bind while old
    /// connections linger in TIME_WAIT) and a backlog of [`TcpListener::DEFAULT_BACKLOG`].
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(addr, TcpListener::DEFAULT_BACKLOG).await
    }

    /// Bind to `addr` with `SO_REUSEADDR` and the given listen backlog: how many
    /// connections the kernel queues, fully established, before the server accepts them.
    pub async fn bind_with_backlog(
        addr: impl ToSocketAddrs,
        backlog: i32,
    ) -> io::Result<TcpListener> {
        each_addr(addr, |addr| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            socket.listen(backlog)?;
            TcpListener::from_std(socket.into())
        })
    }

    /// Adopt a bound, listening std listener (switching it to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let io = PollEvented::with_interest(
            mio::net::TcpListener::from_std(listener),
            Interest::READABLE,
        )?;
        Ok(TcpListener { io })
    }

    /// Wait for a connection; returns the connected stream and the peer's address.
    ///
    /// Errors are returned as they come from `accept(2)`; a server should log them and go
    /// on. `EMFILE` (too many open files) in particular is not fatal: the connection stays
    /// queued, and accepting again once descriptors are free succeeds.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        ready!(coop::poll_proceed(cx));
        let (stream, peer) = ready!(self.io.poll_io(cx, Direction::Read, |l| l.accept()))?;
        Poll::Ready(TcpStream::from_mio(stream).map(|s| (s, peer)))
    }

    /// The address this listener is bound to (with the real port if bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The `IP_TTL` of accepted sockets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
