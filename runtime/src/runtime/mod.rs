//! The runtime itself: [`Runtime`], [`Builder`], [`Handle`] and [`run`] — creating the
//! loops, running a future on them, reaching them from other threads.
//!
//! The files, in reading order (each uses only those before it, and the crate's lower
//! files: see the crate doc):
//!
//! 1. `handle.rs` — [`Handle`]: the runtime's workers' spawners, its pools, its
//!    diagnostics; round-robin placement.
//! 2. `current.rs` — what this thread is to a runtime: the `CURRENT_RUNTIME` thread-local,
//!    the thread's role (a worker, the `block_on` thread, a pool thread), entering and
//!    leaving (`RuntimeGuard`), and [`current_worker`].
//! 3. `config.rs` — `RuntimeConfig`, everything a runtime is built from, with its defaults.
//! 4. `threads.rs` — a worker on a thread of its own, started and stopped.
//! 5. `runtime.rs` — [`Runtime`]: built from a config, `block_on`, dropped; and [`run`].
//! 6. `builder.rs` — [`Builder`]: the documented setters over a `RuntimeConfig`.

// 1. The handle.
mod handle;

// 2. The thread's current runtime.
mod current;

// 3. What a runtime is built from.
mod config;

// 4. Worker threads.
mod threads;

// 5. The runtime. (Named like its module, as tokio's `runtime/runtime.rs` is.)
#[allow(clippy::module_inception)]
mod runtime;

// 6. The builder.
mod builder;

pub use builder::Builder;
pub use current::current_worker;
pub(crate) use current::placing_handle;
pub use handle::Handle;
pub use runtime::{Runtime, run};
