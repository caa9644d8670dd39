//! `asyncify`: run one `std::fs` call on the blocking pool and await it — the helper under
//! every function and method of [`fs`](super). (tokio's helper has the same name.)
//!
//! It is the whole bridge between the loop and the disk: the task awaits a `JoinHandle`
//! while a pool thread blocks in the system call, as asyncio's `aiofiles` awaits
//! `loop.run_in_executor(None, f)`.

use std::io;

/// Run `f` on the blocking pool and await its result. A cancelled job — the runtime shut
/// down first — becomes an `io::Error`; a panic is re-raised here.
pub(crate) async fn asyncify<F, T>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match crate::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_cancelled) => Err(io::Error::other(
            "tempo::fs: the runtime shut down before the operation ran",
        )),
    }
}
