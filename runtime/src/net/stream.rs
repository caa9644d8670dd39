//! [`TcpStream`]: a connected TCP socket — asyncio's `StreamReader` and `StreamWriter` in
//! one object.
//!
//! This is the one runtime file a read crosses between the reactor and the task: a task's
//! `stream.read(buf).await` polls [`TcpStream::poll_read_shared`] here, which asks the
//! reactor's registration whether the socket is readable (`tempo_reactor::Registration`)
//! and, if so, calls `read(2)`. If the kernel says `WouldBlock`, the registration keeps the
//! task's waker, and the worker's loop (`worker.rs`, step 5) wakes the task when
//! `epoll_wait` reports the socket readable — as asyncio's `selector_events.py` calls a
//! reader callback when `select` reports its file descriptor.
//!
//! The read and write paths themselves ([`poll_read`], [`poll_write`] and the helpers
//! built on them) are written here once, generic over the mio socket, and shared with
//! `UnixStream` (`unix/stream.rs`): a read still crosses this one file. The owned halves of
//! [`into_split`](TcpStream::into_split) are in `tcp.rs`, which builds on this file.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mio::event::Source;
use tempo_executor::coop;
use tempo_reactor::{Direction, Registered};

use super::addr::{ToSocketAddrs, resolve};

/// A TCP connection.
///
/// Reads and writes are `async` and take `&mut self`, as `std::net::TcpStream`'s take
/// `&mut`; to read in one task and write in another, [`into_split`](TcpStream::into_split)
/// the stream. It also implements `futures_io::AsyncRead` and `AsyncWrite`, so the wider
/// ecosystem's adapters work on it.
pub struct TcpStream {
    /// The socket, registered for reads and writes. `tcp.rs`'s halves read and write it
    /// through [`read_exact`] and [`write_all`] below, as the stream itself does.
    pub(super) io: Registered<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connect to `addr`, trying each address it resolves to in turn. A host name is
    /// looked up on the blocking pool, an address literal in place (see
    /// [`ToSocketAddrs`](super::ToSocketAddrs)).
    ///
    /// ```no_run
    /// # use tempo_runtime as tempo;
    /// # tempo::run(async {
    /// let mut stream = tempo::net::TcpStream::connect("example.com:80").await?;
    /// stream.write_all(b"HEAD / HTTP/1.0\r\n\r\n").await?;
    /// # Ok::<(), std::io::Error>(()) });
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for addr in resolve(&addr).await? {
            match TcpStream::connect_one(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    /// A non-blocking connect: start it, wait until the socket is writable, then ask the
    /// kernel how it went (mio's documented recipe).
    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        let registration = stream.io.registration();
        loop {
            let ev = poll_fn(|cx| registration.poll_ready(cx, Direction::Write)).await?;
            if let Some(e) = stream.io.get_ref().take_error()? {
                return Err(e);
            }
            match stream.io.get_ref().peer_addr() {
                Ok(_) => return Ok(stream),
                // Woken before the handshake finished: wait again.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    registration.clear_readiness(ev)
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Adopt a connected std stream (switching it to non-blocking mode).
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Registered::new(stream)?,
        })
    }

    /// Read into `buf`; returns how many bytes were read. 0 means end of stream (the peer
    /// closed or shut down its side), unless `buf` is empty.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_shared(cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes, and return that count (as tokio's `read_exact` does).
    /// An end of stream first is `UnexpectedEof`, as with `std::io::Read::read_exact`.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_exact(&self.io, buf).await?;
        Ok(buf.len())
    }

    /// Write some of `buf`; returns how many bytes were written.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_shared(cx, buf)).await
    }

    /// Write all of `buf`.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        write_all(&self.io, buf).await
    }

    /// Does nothing: a `TcpStream` has no user-space buffer; bytes are the kernel's once
    /// `write` returns. Here so code written for buffered writers reads naturally.
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Shut down the write direction, as tokio's `AsyncWriteExt::shutdown` does: send FIN,
    /// so the peer reads end of stream and can still send to us. A peer already gone (reset)
    /// is not an error: there is nobody left to tell.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        }
    }

    /// Shut down the read half, the write half, or both, now, exactly as
    /// `std::net::TcpStream::shutdown` does (a reset peer is `NotConnected` here).
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Set `TCP_NODELAY`: send small writes at once instead of waiting to coalesce them
    /// (Nagle's algorithm). Request/response protocols want it on.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// One read: [`poll_read`] below, the readiness protocol of
    /// `tempo_reactor::io` (ready? → `read(2)` → `WouldBlock` clears readiness and waits
    /// again).
    ///
    /// Every read of a stream comes here: [`read`](TcpStream::read), `AsyncRead::poll_read`
    /// and the split read half's. It takes `&self` where `AsyncRead::poll_read` takes
    /// `Pin<&mut Self>`, so that the halves, which share the stream in an `Arc`, can call it
    /// too (tokio calls its version `poll_read_priv`).
    pub(crate) fn poll_read_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_read(&self.io, cx, buf)
    }

    /// One write ([`poll_write`]). Takes `&self`, for the write half, as
    /// [`poll_read_shared`](TcpStream::poll_read_shared) does.
    pub(crate) fn poll_write_shared(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write(&self.io, cx, buf)
    }

    /// Vectored write: several buffers in one syscall. Takes `&self`, for the write half.
    pub(crate) fn poll_write_vectored_shared(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_write_vectored(&self.io, cx, bufs)
    }
}

// The read and write paths of every registered stream socket — `TcpStream`, `UnixStream`
// and their halves — written once, generic over the mio socket `S`. `poll_read` and
// `poll_write` are `#[inline(always)]`, so each type's `poll_read_shared` is the very code
// it was when it was written out here for TCP alone: sharing it costs the TCP request path
// nothing (it is measured in instructions per request).

/// One read, the readiness protocol of `tempo_reactor::io`:
/// ready? → `read(2)` → `WouldBlock` clears readiness and waits again; a short read
/// clears it too, sparing the syscall that would only say `WouldBlock`.
#[inline(always)]
pub(crate) fn poll_read<S>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    S: Source,
    for<'a> &'a S: Read,
{
    ready!(coop::poll_proceed(cx));
    let registration = io.registration();
    loop {
        let ev = ready!(registration.poll_ready(cx, Direction::Read))?;
        match io.get_ref().read(buf) {
            Ok(n) => {
                if n > 0 && n < buf.len() {
                    registration.clear_readiness(ev);
                }
                return Poll::Ready(Ok(n));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => registration.clear_readiness(ev),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// One write. A short write means the send buffer is full: clear readiness.
#[inline(always)]
pub(crate) fn poll_write<S>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>>
where
    S: Source,
    for<'a> &'a S: Write,
{
    ready!(coop::poll_proceed(cx));
    let registration = io.registration();
    loop {
        let ev = ready!(registration.poll_ready(cx, Direction::Write))?;
        match io.get_ref().write(buf) {
            Ok(n) => {
                if n < buf.len() {
                    registration.clear_readiness(ev);
                }
                return Poll::Ready(Ok(n));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => registration.clear_readiness(ev),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

/// Vectored write: several buffers in one syscall.
pub(super) fn poll_write_vectored<S>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    bufs: &[io::IoSlice<'_>],
) -> Poll<io::Result<usize>>
where
    S: Source,
    for<'a> &'a S: Write,
{
    ready!(coop::poll_proceed(cx));
    io.poll_io(cx, Direction::Write, |mut s| s.write_vectored(bufs))
}

/// Read until `buf` is full. An end of stream first is `UnexpectedEof`, as with
/// `std::io::Read::read_exact`.
pub(super) async fn read_exact<S>(io: &Registered<S>, mut buf: &mut [u8]) -> io::Result<()>
where
    S: Source,
    for<'a> &'a S: Read,
{
    while !buf.is_empty() {
        let n = poll_fn(|cx| poll_read(io, cx, buf)).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "end of stream before the buffer was filled",
            ));
        }
        buf = &mut std::mem::take(&mut buf)[n..];
    }
    Ok(())
}

/// Write all of `buf`.
pub(super) async fn write_all<S>(io: &Registered<S>, mut buf: &[u8]) -> io::Result<()>
where
    S: Source,
    for<'a> &'a S: Write,
{
    while !buf.is_empty() {
        match poll_fn(|cx| poll_write(io, cx, buf)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_shared(cx, buf)
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_shared(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_shared(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Sends FIN (`shutdown(Write)`). A peer that has already reset or gone leaves nothing
    /// to tell: the kernel then says `NotConnected`, and closing has still done all it can,
    /// so that is `Ok(())` — as tokio's `poll_shutdown` reports it, and as asyncio's
    /// `transport.close()` raises nothing for a peer that went first. (hyper shuts down
    /// every connection it finishes; without this, each client that resets would be an
    /// error.)
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.shutdown_std(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
            done => Poll::Ready(done),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}
