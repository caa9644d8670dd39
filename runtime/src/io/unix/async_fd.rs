//! [`AsyncFd`] and its readiness guard: a user's descriptor registered with the current
//! worker's reactor, and the proof, handed back by a wait, that it was ready. The protocol
//! they follow is in the module doc (`io/unix.rs`).

use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll, ready};

use tempo_executor::coop;
use tempo_reactor::{Direction, ReadyEvent, Registered};

use super::interest::{FdSource, Interest};

/// A non-blocking file descriptor registered with the current worker's reactor, so tasks
/// can await its readiness — tokio's `tokio::io::unix::AsyncFd`, asyncio's `add_reader` and
/// `add_writer`.
///
/// `T` owns the descriptor (a `File`, an `OwnedFd`, a pipe end) and must have put it in
/// non-blocking mode: `AsyncFd` only waits, the calls are yours. Dropping the `AsyncFd`
/// deregisters the descriptor, then drops `T` (which closes it);
/// [`into_inner`](AsyncFd::into_inner) deregisters and hands `T` back.
///
/// ```
/// # use tempo_runtime as tempo;
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream; // any non-blocking descriptor will do
/// use tempo::io::unix::AsyncFd;
///
/// tempo::run(async {
///     let (theirs, ours) = UnixStream::pair()?;
///     ours.set_nonblocking(true)?;
///     let fd = AsyncFd::new(ours)?;
///     std::thread::spawn(move || (&theirs).write_all(b"ping"));
///     let mut buf = [0; 4];
///     let mut got = 0;
///     while got < 4 {
///         let mut guard = fd.readable().await?;
///         match guard.try_io(|inner| inner.get_ref().read(&mut buf[got..])) {
///             Ok(result) => got += result?,
///             Err(_would_block) => continue, // readiness cleared: wait for the next edge
///         }
///     }
///     assert_eq!(&buf, b"ping");
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
pub struct AsyncFd<T: AsRawFd> {
    /// The registration. Declared before `inner`, so that on drop the descriptor leaves
    /// epoll before `inner` closes it (fields drop in declaration order).
    io: Registered<FdSource>,
    /// What the registration was made for; a wait in any other direction is an error.
    interest: Interest,
    /// The owner of the descriptor.
    inner: T,
}

impl<T: AsRawFd> AsyncFd<T> {
    /// Register `inner`'s descriptor with the current worker's reactor, for reads and
    /// writes. Fails outside a tempo runtime, and for descriptors epoll cannot watch (a
    /// regular file: `PermissionDenied`). See the [type's example](AsyncFd).
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Register `inner`'s descriptor for `interest` only.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use tempo::io::unix::{AsyncFd, Interest};
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = AsyncFd::with_interest(a, Interest::READABLE)?;
    ///     // Not registered for writes: waiting for them is an error, not a hang.
    ///     let err = fd.writable().await.err().expect("no WRITABLE interest");
    ///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let io = Registered::with_interest(FdSource(inner.as_raw_fd()), interest.to_mio())?;
        Ok(AsyncFd {
            io,
            interest,
            inner,
        })
    }

    /// Wait until the descriptor is readable. Cancel-safe. The guard says so until
    /// [cleared](AsyncFdReadyGuard::clear_ready); see the [type's example](AsyncFd).
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Wait until the descriptor is writable. Cancel-safe.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::io::Write;
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = tempo::io::unix::AsyncFd::new(a)?;
    ///     let mut guard = fd.writable().await?; // an empty send buffer: at once
    ///     let sent = guard.try_io(|inner| inner.get_ref().write(b"hi"));
    ///     assert_eq!(sent.expect("not WouldBlock")?, 2);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Poll for read readiness: [`readable`](AsyncFd::readable) for hand-written futures
    /// (an `AsyncRead` implementation, say).
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = tempo::io::unix::AsyncFd::new(a)?;
    ///     drop(b); // the peer hangs up: readable, to read end of stream
    ///     let guard = std::future::poll_fn(|cx| fd.poll_read_ready(cx)).await?;
    ///     drop(guard);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_read_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.poll_ready(cx, Direction::Read)
    }

    /// Poll for write readiness: [`writable`](AsyncFd::writable) for hand-written futures.
    /// See [`poll_read_ready`](AsyncFd::poll_read_ready).
    pub fn poll_write_ready(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        self.poll_ready(cx, Direction::Write)
    }

    fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'_, T>>> {
        if !self.interest.includes(direction) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "tempo: AsyncFd waits for {direction:?} but was registered without that interest"
                ),
            )));
        }
        // A descriptor that is always ready must not let its task starve the others.
        ready!(coop::poll_proceed(cx));
        let event = ready!(self.io.registration().poll_ready(cx, direction))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            event: Some(event),
        }))
    }

    /// The inner object.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::os::fd::AsRawFd;
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let raw = a.as_raw_fd();
    ///     let fd = tempo::io::unix::AsyncFd::new(a)?;
    ///     assert_eq!((fd.get_ref().as_raw_fd(), fd.as_raw_fd()), (raw, raw));
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The inner object, mutably. Do not close or replace its descriptor: it is still
    /// registered.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let mut fd = tempo::io::unix::AsyncFd::new(std::os::unix::net::UnixStream::pair()?.0)?;
    ///     fd.get_mut().set_nonblocking(true)?;
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Deregister the descriptor and hand back the inner object, open.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = tempo::io::unix::AsyncFd::new(a)?;
    ///     let a = fd.into_inner();
    ///     let _again = tempo::io::unix::AsyncFd::new(a)?; // registering twice would fail
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_inner(self) -> T {
        let AsyncFd { io, inner, .. } = self;
        drop(io); // deregisters, while `inner` still holds the descriptor open
        inner
    }
}

impl<T: AsRawFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl<T: AsRawFd + AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .field("interest", &self.interest)
            .finish()
    }
}

/// Proof that an [`AsyncFd`] was ready in one direction, from
/// [`readable`](AsyncFd::readable) or [`writable`](AsyncFd::writable). Dropping it keeps
/// the readiness; [`clear_ready`](AsyncFdReadyGuard::clear_ready) (or a `WouldBlock` inside
/// [`try_io`](AsyncFdReadyGuard::try_io)) forgets it.
pub struct AsyncFdReadyGuard<'a, T: AsRawFd> {
    /// The descriptor that was ready.
    fd: &'a AsyncFd<T>,
    /// The readiness it had, with its tick; `None` once cleared.
    event: Option<ReadyEvent>,
}

/// The operation in [`AsyncFdReadyGuard::try_io`] said `WouldBlock`: readiness was cleared,
/// wait again.
#[derive(Debug)]
pub struct TryIoError(());

impl<'a, T: AsRawFd> AsyncFdReadyGuard<'a, T> {
    /// Forget the readiness this guard reports, unless a newer event arrived since: the
    /// next wait in this direction waits for a new edge. Call it only after the descriptor
    /// said `WouldBlock`.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// use std::io::Read;
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = tempo::io::unix::AsyncFd::new(a)?;
    ///     let mut guard = fd.writable().await?;
    ///     guard.clear_ready(); // (as if a write had said WouldBlock)
    ///     # let _ = fd.get_ref().read(&mut [0; 1]);
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.io.registration().clear_readiness(event);
        }
    }

    /// Keep the readiness (what dropping the guard does): the next wait returns at once.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let fd = tempo::io::unix::AsyncFd::new(a)?;
    ///     fd.writable().await?.retain_ready();
    ///     fd.writable().await?; // still ready
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn retain_ready(self) {}

    /// Run the non-blocking operation `f` on the `AsyncFd`. If it says `WouldBlock`, clear
    /// the readiness and return `Err(TryIoError)`: wait again. Anything else — success or
    /// another error — is returned in `Ok`. See the [type's example](AsyncFd).
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard is for.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// tempo::run(async {
    ///     let fd = tempo::io::unix::AsyncFd::new(std::os::unix::net::UnixStream::pair()?.0)?;
    ///     let guard = fd.writable().await?;
    ///     assert!(std::ptr::eq(guard.get_ref(), &fd));
    ///     assert!(std::ptr::eq(guard.get_inner(), fd.get_ref()));
    ///     Ok::<(), std::io::Error>(())
    /// })
    /// .unwrap();
    /// ```
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The inner object of the `AsyncFd`. See [`get_ref`](AsyncFdReadyGuard::get_ref).
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsRawFd + std::fmt::Debug> std::fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", self.fd)
            .field("cleared", &self.event.is_none())
            .finish()
    }
}

impl std::fmt::Display for TryIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the operation would block; readiness was cleared")
    }
}

impl std::error::Error for TryIoError {}
