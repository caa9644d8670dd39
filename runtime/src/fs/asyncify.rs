//! `asyncify`: run one `std::fs` call on the blocking pool and await it — the helper under
//! every function of [`fs`](super) on paths. (tokio's helper has the same name.)
//!
//! It is the whole bridge between the loop and the disk: the task awaits a `JoinHandle`
//! while a pool thread blocks in the system call, as asyncio's `aiofiles` awaits
//! `loop.run_in_executor(None, f)`. [`File`](super::File) keeps its `JoinHandle` instead of
//! awaiting it at once (`inflight.rs`), and shares [`joined`] with it.

use std::io;

use crate::task::JoinError;

/// Run `f` on the blocking pool and await its result. A cancelled job — the runtime shut
/// down first — becomes an `io::Error`; a panic is re-raised here.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    joined(crate::task::spawn_blocking(f).await)?
}

/// What a blocking job's `JoinHandle` gave, as an `io::Result`: a cancelled job — the
/// runtime shut down before it ran — is an error of kind `Other`; a panic is re-raised in
/// the awaiting task, as if the call had panicked there.
pub(crate) fn joined<T>(result: Result<T, JoinError>) -> io::Result<T> {
    match result {
        Ok(output) => Ok(output),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_cancelled) => Err(io::Error::other(
            "tempo::fs: the runtime shut down before the operation ran",
        )),
    }
}
