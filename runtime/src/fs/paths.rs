//! The functions of [`fs`](super) on paths: whole files ([`read`], [`read_to_string`],
//! [`write`](fn@write), [`metadata`], [`remove_file`], [`rename`], [`copy`]) and directories
//! ([`create_dir`], [`create_dir_all`], [`remove_dir`], [`remove_dir_all`], [`read_dir`] and
//! its [`DirEntry`]). Each is one `std::fs` call on the
//! blocking pool, through `asyncify.rs` — `aiofiles.os`, and aiofiles' whole-file reads.

use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use super::asyncify::asyncify;

/// Read a whole file into a `Vec` — `std::fs::read` on the blocking pool; aiofiles'
/// `async with open(p, "rb") as f: await f.read()`.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let path = std::env::temp_dir().join(format!("tempo-doc-read-{}", std::process::id()));
///     tempo::fs::write(&path, b"hello").await?;
///     assert_eq!(tempo::fs::read(&path).await?, b"hello");
///     tempo::fs::remove_file(&path).await
/// })
/// .unwrap();
/// ```
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Read a whole file into a `String`; fails with `InvalidData` if it is not UTF-8.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Create or truncate a file and write `contents` to it. The bytes are copied once, to be
/// sent to the pool thread.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}

/// The metadata of a file or directory, following symlinks — aiofiles' `os.stat`.
#[doc(alias = "stat")]
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::metadata(path)).await
}

/// Create a directory and any missing parents; succeeds if it already exists —
/// `os.makedirs(p, exist_ok=True)`.
#[doc(alias = "makedirs")]
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir_all(path)).await
}

/// Create one directory; its parent must exist, and it must not — `os.mkdir`. A missing
/// parent is `NotFound`, an existing path `AlreadyExists`.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let dir = std::env::temp_dir().join(format!("tempo-doc-mkdir-{}", std::process::id()));
///     tempo::fs::create_dir(&dir).await?;
///     let again = tempo::fs::create_dir(&dir).await.unwrap_err();
///     assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
///     tempo::fs::remove_dir(&dir).await
/// })
/// .unwrap();
/// ```
#[doc(alias = "mkdir")]
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::create_dir(path)).await
}

/// Remove an empty directory — `os.rmdir`.
#[doc(alias = "rmdir")]
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir(path)).await
}

/// Rename a file or directory, replacing `to` if it is a file — `os.replace` (on Unix
/// also `os.rename`). Both paths must be on the same file system; a missing `from` is
/// `NotFound`.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("tempo-doc-mv-a-{}", std::process::id())),
///                   dir.join(format!("tempo-doc-mv-b-{}", std::process::id())));
///     tempo::fs::write(&a, b"moved").await?;
///     tempo::fs::rename(&a, &b).await?;
///     assert_eq!(tempo::fs::read(&b).await?, b"moved");
///     assert!(tempo::fs::metadata(&a).await.is_err());
///     tempo::fs::remove_file(&b).await
/// })
/// .unwrap();
/// ```
#[doc(alias = "replace")]
#[doc(alias = "mv")]
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::rename(from, to)).await
}

/// Copy a file's contents and permissions to `to`, creating or truncating it; returns how
/// many bytes were copied — `shutil.copy`. One round trip, however big the file (the
/// kernel copies it where it can: `copy_file_range` on Linux). A missing `from` is
/// `NotFound`.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     let dir = std::env::temp_dir();
///     let (a, b) = (dir.join(format!("tempo-doc-cp-a-{}", std::process::id())),
///                   dir.join(format!("tempo-doc-cp-b-{}", std::process::id())));
///     tempo::fs::write(&a, b"twice").await?;
///     assert_eq!(tempo::fs::copy(&a, &b).await?, 5);
///     assert_eq!(tempo::fs::read(&b).await?, tempo::fs::read(&a).await?);
///     tempo::fs::remove_file(&a).await?;
///     tempo::fs::remove_file(&b).await
/// })
/// .unwrap();
/// ```
#[doc(alias = "cp")]
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    let (from, to) = (from.as_ref().to_owned(), to.as_ref().to_owned());
    asyncify(move || std::fs::copy(from, to)).await
}

/// Remove a file — aiofiles' `os.remove`.
#[doc(alias = "remove")]
#[doc(alias = "unlink")]
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_file(path)).await
}

/// Remove a directory and everything in it — `shutil.rmtree`. One round trip, however
/// big the tree.
#[doc(alias = "rmtree")]
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::remove_dir_all(path)).await
}

/// The entries of a directory, in the order the OS gives them (not sorted), without `.`
/// and `..` — aiofiles' `os.listdir` / `os.scandir`.
///
/// The whole listing is read in one round trip to the pool and returned as a `Vec`, not
/// as an async iterator that would pay a round trip per entry (or per batch): the simple
/// choice, at the price of holding a huge directory's listing in memory at once. Each
/// entry's type is read on the pool thread too, so nothing an entry offers blocks.
///
/// ```
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     for entry in tempo::fs::read_dir(std::env::temp_dir()).await? {
///         let _: &std::path::Path = entry.path();
///     }
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap();
/// ```
#[doc(alias = "listdir")]
#[doc(alias = "scandir")]
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<Vec<DirEntry>> {
    let path = path.as_ref().to_owned();
    asyncify(move || {
        std::fs::read_dir(path)?
            .map(|entry| {
                let entry = entry?;
                Ok(DirEntry {
                    file_type: entry.file_type()?,
                    path: entry.path(),
                    file_name: entry.file_name(),
                })
            })
            .collect()
    })
    .await
}

/// One entry of a [`read_dir`] listing, read in full on the pool thread. Unlike
/// `std::fs::DirEntry`, none of its methods touch the file system.
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// The directory's path joined with the entry's name.
    path: PathBuf,
    /// The entry's name alone.
    file_name: OsString,
    /// File, directory or symlink (not followed).
    file_type: FileType,
}

impl DirEntry {
    /// The full path: the directory given to [`read_dir`] joined with the name.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry's name, without the directory.
    pub fn file_name(&self) -> &OsString {
        &self.file_name
    }

    /// Whether it is a file, a directory or a symlink; a symlink is not followed.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }
}
