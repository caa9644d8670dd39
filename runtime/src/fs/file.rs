//! [`File`]: an open file whose reads, writes and seeks are round trips to the blocking
//! pool, one at a time (`inflight.rs`), so that it is also an `AsyncRead`, `AsyncWrite`
//! and `AsyncSeek`, and `tempo::io`'s `copy` and `BufReader` work on it.

use std::fs::{Metadata, OpenOptions};
use std::future::poll_fn;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::asyncify::asyncify;
use super::inflight::{Inflight, Operation, seek};

/// An open file, read and written on the blocking pool — aiofiles' `async with
/// aiofiles.open(path) as f`.
///
/// Each operation sends one `std::fs::File` call to a pool thread; see the
/// [module doc](super) for what that costs. The file is closed when the `File` is dropped
/// (and a pool thread is no longer using it).
///
/// **One call in flight, in order.** A `File` runs its calls one at a time, in the order
/// they were made, even when a future is dropped before it finishes: its call still runs
/// to the end, and the next one waits for it (a dropped read's bytes are kept for the next
/// read). tokio's `File` works the same way. [`metadata`](File::metadata) alone takes
/// `&self` and does not wait.
///
/// **When a write is complete.** The methods here ([`write`](File::write),
/// [`write_all`](File::write_all)) return once the bytes have reached the OS, with any
/// error. Through the `AsyncWrite` trait — [`tempo::io::copy`](crate::io::copy), a
/// [`BufWriter`](crate::io::BufWriter) — a write returns as soon as its bytes are on their
/// way to the pool, as tokio's does: the write is complete, and its error known, only
/// after [`flush`](File::flush) (or the next write, which reports it). `copy` and
/// `shutdown` flush. Reaching the disk is [`sync_all`](File::sync_all)'s job.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let path = std::env::temp_dir().join(format!("tempo-doc-file-{}", std::process::id()));
///     let mut file = tempo::fs::File::create(&path).await?;
///     file.write_all(b"one line\n").await?;
///     file.sync_all().await?;
///
///     let mut file = tempo::fs::File::open(&path).await?;
///     let mut text = String::new();
///     file.read_to_string(&mut text).await?;
///     assert_eq!(text, "one line\n");
///     tempo::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
///
/// With `tempo::io`, as with `tokio::io`:
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
///
/// tempo::run(async {
///     let path = std::env::temp_dir().join(format!("tempo-doc-lines-{}", std::process::id()));
///     let mut out = BufWriter::new(tempo::fs::File::create(&path).await?);
///     for i in 0..3 {
///         out.write_all(format!("line {i}\n").as_bytes()).await?;
///     }
///     out.flush().await?; // the BufWriter's buffer, then the File's write in flight
///
///     let mut lines = BufReader::new(tempo::fs::File::open(&path).await?).lines();
///     let mut count = 0;
///     while let Some(line) = lines.next_line().await? {
///         assert_eq!(line, format!("line {count}"));
///         count += 1;
///     }
///     assert_eq!(count, 3);
///     tempo::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub struct File {
    /// The std file, shared with the pool thread running the current call: `&std::fs::File`
    /// implements `Read`, `Write` and `Seek`, so sharing needs no lock.
    std: Arc<std::fs::File>,
    /// The call in flight on the pool, if any, and the buffer that travels with it.
    inflight: Inflight,
}

impl File {
    /// Open a file for reading — `open(path, "rb")`.
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        let std = asyncify(move || std::fs::File::open(path)).await?;
        Ok(File::from_std(std))
    }

    /// Create a file for writing, truncating it if it exists — `open(path, "wb")`.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        let std = asyncify(move || std::fs::File::create(path)).await?;
        Ok(File::from_std(std))
    }

    /// Open a file with the given options (append, read-write, create-new, ...); the open
    /// itself runs on the pool.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// # tempo::run(async {
    /// # let path = std::env::temp_dir().join(format!("tempo-doc-log-{}", std::process::id()));
    /// let mut log = tempo::fs::File::open_with(
    ///     &path,
    ///     std::fs::OpenOptions::new().append(true).create(true),
    /// )
    /// .await?;
    /// log.write_all(b"started\n").await?;
    /// # tempo::fs::remove_file(&path).await
    /// # }).unwrap();
    /// ```
    pub async fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        let options = options.clone();
        let std = asyncify(move || options.open(path)).await?;
        Ok(File::from_std(std))
    }

    /// Wrap a `std::fs::File` that is already open.
    pub fn from_std(std: std::fs::File) -> File {
        File {
            std: Arc::new(std),
            inflight: Inflight::new(),
        }
    }

    /// Read up to `buf.len()` bytes (at most 2 MiB per call) and return how many; 0 means
    /// the end of the file, or an empty `buf`. The bytes are read into a buffer of the
    /// file's on the pool and copied into `buf`. Cancel-safe: bytes read for a dropped
    /// call are kept for the next.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inflight.poll_read(cx, &self.std, buf)).await
    }

    /// Read everything from the current position to the end, appending to `buf`; returns
    /// how many bytes were read. One round trip. Into an empty `buf` the pool's buffer is
    /// moved in, not copied.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let data = self.read_rest().await?;
        let n = data.len();
        if buf.is_empty() {
            *buf = data;
        } else {
            buf.extend_from_slice(&data);
        }
        Ok(n)
    }

    /// Read everything from the current position to the end as UTF-8, appending to `buf`;
    /// fails with `InvalidData` (and leaves `buf` as it was) if the bytes are not UTF-8.
    pub async fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let data = String::from_utf8(self.read_rest().await?).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        })?;
        let n = data.len();
        if buf.is_empty() {
            *buf = data;
        } else {
            buf.push_str(&data);
        }
        Ok(n)
    }

    /// The bytes from the position to the end: those read ahead, then the rest, read in
    /// one job.
    async fn read_rest(&mut self) -> io::Result<Vec<u8>> {
        let done = self
            .inflight
            .run(&self.std, |file, buf| {
                Operation::Read(buf.read_to_end_from(file))
            })
            .await?;
        let Operation::Read(result) = done else {
            unreachable!("a read job reports a read")
        };
        result?;
        let buf = self.inflight.idle_buf().expect("run returns idle");
        Ok(buf.take_all())
    }

    /// Write up to `buf.len()` bytes (at most 2 MiB per call) and return how many, once
    /// they have reached the OS. The bytes are copied to be sent to the pool thread.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut written = None;
        poll_fn(|cx| {
            if written.is_none() {
                written = Some(ready!(self.inflight.poll_write(cx, &self.std, buf))?);
            }
            ready!(self.inflight.poll_flush(cx))?;
            Poll::Ready(Ok(written.expect("set just above")))
        })
        .await
    }

    /// Write all of `buf`, in round trips of at most 2 MiB each, so the copy this makes is
    /// bounded however big `buf` is; returns once all of it has reached the OS.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| self.inflight.poll_write(cx, &self.std, buf)).await?;
            buf = &buf[n..];
        }
        self.flush().await
    }

    /// Wait until a write made through `AsyncWrite` (which returns before the write runs)
    /// has reached the OS, and return its error if it failed. With no write in flight it
    /// returns at once, with no round trip. To make bytes reach the disk, use
    /// [`sync_all`](File::sync_all).
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| self.inflight.poll_flush(cx)).await
    }

    /// Wait until the data and metadata are on the disk — `os.fsync`. Reports the error of
    /// an earlier write not yet reported.
    #[doc(alias = "fsync")]
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.other(|file| file.sync_all()).await
    }

    /// Wait until the data is on the disk, and the metadata needed to read it back —
    /// `os.fdatasync`. Reports the error of an earlier write not yet reported.
    #[doc(alias = "fdatasync")]
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.other(|file| file.sync_data()).await
    }

    /// Move the file's position; returns the new position from the start.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let done = self
            .inflight
            .run(&self.std, move |file, buf| seek(file, buf, pos))
            .await?;
        let Operation::Seek { result, .. } = done else {
            unreachable!("a seek job reports a seek")
        };
        result
    }

    /// Truncate or extend the file to `size` bytes.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.other(move |file| file.set_len(size)).await
    }

    /// The file's metadata — `os.fstat`. It does not wait for a call in flight: after a
    /// write through `AsyncWrite`, [`flush`](File::flush) first to see its size.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let std = self.std.clone();
        asyncify(move || std.metadata()).await
    }

    /// Run `f` with the std file on the blocking pool, after the call in flight; then
    /// report an earlier write's error, if any, before `f`'s. Bytes read ahead are given
    /// back first (the position moves back over them), as a seek does: after `set_len`, a
    /// read must not return bytes from before the file changed.
    async fn other<F>(&mut self, f: F) -> io::Result<()>
    where
        F: FnOnce(&std::fs::File) -> io::Result<()> + Send + 'static,
    {
        let done = self
            .inflight
            .run(&self.std, move |file, buf| {
                let result = match buf.discard() {
                    0 => Ok(()),
                    back => {
                        let mut file = file;
                        file.seek(SeekFrom::Current(back)).map(drop)
                    }
                };
                Operation::Other(result.and_then(|()| f(file)))
            })
            .await?;
        let Operation::Other(result) = done else {
            unreachable!("an other job reports other")
        };
        self.inflight.take_write_error()?;
        result
    }
}

/// Reads through the file's one call in flight: see [`File::read`].
impl futures_io::AsyncRead for File {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.inflight.poll_read(cx, &this.std, buf)
    }
}

/// Writes that return before they run, as tokio's: see "When a write is complete" on
/// [`File`].
impl futures_io::AsyncWrite for File {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.inflight.poll_write(cx, &this.std, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inflight.poll_flush(cx)
    }

    /// A file has no write side to shut down: closing is flushing, as tokio's `shutdown`.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().inflight.poll_flush(cx)
    }
}

/// Seeks through the file's one call in flight; see the shortcut labelled in
/// `inflight.rs` (`Inflight::poll_seek`) — [`File::seek`] has none.
impl futures_io::AsyncSeek for File {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        this.inflight.poll_seek(cx, &this.std, pos)
    }
}
