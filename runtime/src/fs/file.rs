//! [`File`]: an open file whose every read and write is a round trip to the blocking pool.

use std::fs::{Metadata, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use super::asyncify::asyncify;

/// The most bytes one [`File::read`] or [`File::write`] moves in one round trip, and so
/// the biggest extra buffer it allocates: 2 MiB, as tokio's. A bigger request is served
/// short, which `read` and `write` are always allowed to do.
const MAX_BUF: usize = 2 * 1024 * 1024;

/// An open file, read and written on the blocking pool — aiofiles' `async with
/// aiofiles.open(path) as f`.
///
/// Each method sends one `std::fs::File` call to a pool thread and awaits it; see the
/// [module doc](super) for what that costs. The file is closed when the `File` is dropped
/// (and a pool thread is no longer using it).
///
/// Writes are not buffered: each `write` reaches the OS before it returns, so
/// [`flush`](File::flush) has nothing to do. Batch small writes yourself (into a `Vec`,
/// then [`write_all`](File::write_all)), or they each cost a round trip.
///
/// **Shortcut, labelled:** if a read or write future is dropped before it finishes, the
/// call still runs to the end on its pool thread, and moves the file's position; a call
/// made meanwhile may run before it. tokio's `File` instead keeps the in-flight call inside
/// itself and waits for it before starting the next one. Await each call to completion (or
/// drop the `File` after cancelling one) and the order is exactly the order of the calls.
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
#[derive(Debug)]
pub struct File {
    /// The std file, shared with the pool thread running the current call: `&std::fs::File`
    /// implements `Read`, `Write` and `Seek`, so sharing needs no lock.
    std: Arc<std::fs::File>,
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
        File { std: Arc::new(std) }
    }

    /// Read up to `buf.len()` bytes (at most 2 MiB per call) and return how many; 0 means
    /// the end of the file, or an empty `buf`. The bytes are read into a buffer of the
    /// pool's and copied into `buf`.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = buf.len().min(MAX_BUF);
        let data = self
            .call(move |mut file| {
                let mut data = vec![0; len];
                let n = file.read(&mut data)?;
                data.truncate(n);
                Ok(data)
            })
            .await?;
        buf[..data.len()].copy_from_slice(&data);
        Ok(data.len())
    }

    /// Read everything from the current position to the end, appending to `buf`; returns
    /// how many bytes were read. One round trip. Into an empty `buf` the pool's buffer is
    /// moved in, not copied.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let data = self
            .call(|mut file| {
                let mut data = Vec::new();
                file.read_to_end(&mut data)?;
                Ok(data)
            })
            .await?;
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
        let data = self
            .call(|mut file| {
                let mut data = String::new();
                file.read_to_string(&mut data)?;
                Ok(data)
            })
            .await?;
        let n = data.len();
        if buf.is_empty() {
            *buf = data;
        } else {
            buf.push_str(&data);
        }
        Ok(n)
    }

    /// Write up to `buf.len()` bytes (at most 2 MiB per call) and return how many. The
    /// bytes are copied to be sent to the pool thread.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let data = buf[..buf.len().min(MAX_BUF)].to_vec();
        self.call(move |mut file| file.write(&data)).await
    }

    /// Write all of `buf`, in round trips of at most 2 MiB each, so the copy this makes is
    /// bounded however big `buf` is.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        for chunk in buf.chunks(MAX_BUF) {
            let data = chunk.to_vec();
            self.call(move |mut file| file.write_all(&data)).await?;
        }
        Ok(())
    }

    /// Nothing to do: writes are not buffered (see [`File`]), so every byte written has
    /// already reached the OS. To make it reach the disk, use
    /// [`sync_all`](File::sync_all). Returns at once, with no round trip.
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Wait until the data and metadata are on the disk — `os.fsync`.
    #[doc(alias = "fsync")]
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.call(|file| file.sync_all()).await
    }

    /// Wait until the data is on the disk, and the metadata needed to read it back —
    /// `os.fdatasync`.
    #[doc(alias = "fdatasync")]
    pub async fn sync_data(&mut self) -> io::Result<()> {
        self.call(|file| file.sync_data()).await
    }

    /// Move the file's position; returns the new position from the start.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.call(move |mut file| file.seek(pos)).await
    }

    /// Truncate or extend the file to `size` bytes.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.call(move |file| file.set_len(size)).await
    }

    /// The file's metadata — `os.fstat`.
    pub async fn metadata(&self) -> io::Result<Metadata> {
        self.call(|file| file.metadata()).await
    }

    /// Run `f` with the std file on the blocking pool.
    async fn call<F, T>(&self, f: F) -> io::Result<T>
    where
        F: FnOnce(&std::fs::File) -> io::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let std = self.std.clone();
        asyncify(move || f(&std)).await
    }
}
