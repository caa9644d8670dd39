//! [`TcpListener`]: accepting connections — the listening half of asyncio's `start_server` —
//! and [`Incoming`], its connections as a `Stream`.

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mio::Interest;
use socket2::{Domain, Protocol, Socket, Type};
use tempo_executor::coop;
use tempo_reactor::{Direction, Registered};

use super::addr::{ToSocketAddrs, each_addr};
use super::stream::TcpStream;

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
    io: Registered<mio::net::TcpListener>,
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
        each_addr(&addr, |addr| {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            socket.listen(backlog)?;
            TcpListener::from_std(socket.into())
        })
        .await
    }

    /// Bind a listening socket to `addr` with `SO_REUSEPORT` as well as `SO_REUSEADDR`, so
    /// that several such sockets — one per worker — may listen on the same port and the
    /// kernel spreads incoming connections over them. See [`TcpListener::bind_sharded`].
    #[cfg(unix)]
    pub async fn bind_reuseport(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        each_addr(&addr, |addr| TcpListener::from_std(reuseport_socket(addr)?)).await
    }

    /// One listener per worker, all on `addr` — the sharded mode of thread-per-core servers
    /// (monoio, glommio): each worker accepts its own connections and serves them itself,
    /// so no connection ever crosses a thread. On Linux the sockets share the port through
    /// `SO_REUSEPORT`, and the kernel hashes each new connection to one of them. Elsewhere
    /// (kqueue systems do not balance `SO_REUSEPORT`) this falls back to one shared socket
    /// that every worker accepts on. Port 0 picks one free port for all of them.
    ///
    /// The sockets are bound here but registered with each worker's reactor only when
    /// [`ShardedListener::spawn_accept_loops`] starts the loops. Must be called inside a
    /// tempo runtime.
    pub async fn bind_sharded(addr: impl ToSocketAddrs) -> io::Result<ShardedListener> {
        let handle = crate::Handle::try_current().ok_or_else(|| {
            io::Error::other("tempo: TcpListener::bind_sharded called outside a tempo runtime")
        })?;
        let workers = handle.workers();
        each_addr(&addr, |addr| {
            let mut sockets = Vec::with_capacity(workers);
            #[cfg(target_os = "linux")]
            {
                let first = reuseport_socket(addr)?;
                let bound = first.local_addr()?;
                sockets.push(first);
                for _ in 1..workers {
                    sockets.push(reuseport_socket(bound)?);
                }
            }
            #[cfg(not(target_os = "linux"))]
            {
                let shared = reuseport_socket(addr)?;
                for _ in 1..workers {
                    sockets.push(shared.try_clone()?);
                }
                sockets.insert(0, shared);
            }
            let local_addr = sockets[0].local_addr()?;
            Ok(ShardedListener {
                sockets,
                local_addr,
                handle: handle.clone(),
            })
        })
        .await
    }

    /// Adopt a bound, listening std listener (switching it to non-blocking mode).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let io = Registered::with_interest(
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

    /// The connections as they arrive, as a `futures_core::Stream` of
    /// `io::Result<TcpStream>` that never ends by itself (as std's `incoming`): the
    /// `async for` of a server. An accept error is an item, not the end: log it and go on.
    /// Polling it is cancel-safe, as `accept` is.
    ///
    /// ```no_run
    /// # use tempo_runtime as tempo;
    /// use futures_core::Stream; // futures_util's `StreamExt::next` reads better
    /// # tempo::run(async {
    /// let listener = tempo::net::TcpListener::bind("127.0.0.1:7000").await?;
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

    /// The address this listener is bound to (with the real port if bound to port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The `IP_TTL` of accepted sockets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

/// The connections of a [`TcpListener`], from [`TcpListener::incoming`]: a `Stream` that
/// never ends by itself.
#[derive(Debug)]
pub struct Incoming<'a> {
    /// The listener accepted from.
    listener: &'a TcpListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|accepted| Some(accepted.map(|(stream, _peer)| stream)))
    }
}

/// A bound `SO_REUSEADDR` + `SO_REUSEPORT` listening socket, non-blocking.
#[cfg(unix)]
fn reuseport_socket(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(TcpListener::DEFAULT_BACKLOG)?;
    Ok(socket.into())
}

/// Listening sockets for every worker of a runtime, from [`TcpListener::bind_sharded`].
#[derive(Debug)]
pub struct ShardedListener {
    /// One socket per worker, in worker order (on non-Linux systems, clones of one socket).
    sockets: Vec<std::net::TcpListener>,
    /// Where they listen.
    local_addr: SocketAddr,
    /// The runtime whose workers will accept.
    handle: crate::Handle,
}

impl ShardedListener {
    /// The address the listeners are bound to (with the real port if bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The sockets themselves, one per worker in worker order, for servers that run their
    /// own accept loops: move socket `i` into a task spawned with
    /// [`Handle::spawn_on`](crate::Handle::spawn_on)`(i, ..)` and adopt it there with
    /// [`TcpListener::from_std`], so it registers with that worker's reactor.
    pub fn into_std(self) -> Vec<std::net::TcpListener> {
        self.sockets
    }

    /// Start an accept loop on each worker: worker `i` registers socket `i` with its own
    /// reactor and, for each connection it accepts, spawns `serve(stream, peer)` as a task
    /// on itself. Returns the accept loops (abort them, or drop the set, to stop
    /// accepting). An accept error (EMFILE, say) is logged and the loop backs off for
    /// 100 ms, as a server should.
    pub fn spawn_accept_loops<F, Fut>(self, serve: F) -> crate::task::JoinSet<io::Error>
    where
        F: Fn(TcpStream, SocketAddr) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let serve = std::sync::Arc::new(serve);
        let mut loops = crate::task::JoinSet::new();
        for (worker, socket) in self.sockets.into_iter().enumerate() {
            let serve = serve.clone();
            let accept_loop = self.handle.spawn_on(worker, async move {
                let listener = match TcpListener::from_std(socket) {
                    Ok(l) => l,
                    Err(e) => return e,
                };
                loop {
                    match listener.accept().await {
                        // Spawned from this worker's thread, so it stays on this worker.
                        Ok((stream, peer)) => drop(crate::spawn(serve(stream, peer))),
                        Err(e) => {
                            log::warn!("tempo: accept failed on worker {worker}: {e}");
                            crate::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                    }
                }
            });
            loops.insert(accept_loop);
        }
        loops
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}
