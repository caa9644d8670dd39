//! A channel that holds one value, the latest: [`channel`] gives a [`Sender`] that replaces
//! it and [`Receiver`]s that read it and wait for it to change — tokio's `watch`.
//!
//! asyncio code does this with a shared attribute plus an `Event` or `Condition` to say "it
//! changed": a configuration that reloads, a connection's state, a shutdown flag. Here the
//! value and the signal are one object, and the receiver knows which version it last saw.
//!
//! # How it works
//!
//! One `Shared` per channel, behind an `Arc` held by every handle: the value under a
//! `std::sync::RwLock` (many readers, one writer), a *version* counter, and a `WaitList` of
//! receivers waiting in `changed()`. The rules, cited in the code by number:
//!
//! 1. **Every send bumps the version, under the value's write lock,** so a reader holding
//!    the read lock sees a value and a version that belong together.
//! 2. **Each receiver remembers the version it last marked seen.** `changed()` returns as
//!    soon as the version differs, and marks it seen; so sends coalesce — a receiver that
//!    was busy while three values were sent wakes once and sees the last.
//! 3. **No lost wake-ups.** A sender bumps the version *before* it locks the waiter list to
//!    notify; `changed()` reads the version *under* that lock before queueing. Whichever
//!    takes the list lock first, the other sees it.
//! 4. **The end.** When the last sender is dropped the channel is closed: waiting
//!    receivers are woken, and `changed()` fails once it has reported the last change. When
//!    the last receiver is dropped, `send` fails and gives the value back (`send_replace`
//!    stores it anyway), and the senders' `closed()` completes.
//!
//! Shortcut: tokio keeps the version and the closed flag in one atomic word and its waiter
//! lists lock-free; here the lists sit behind a mutex held for a few instructions.
//!
//! # Reading order
//!
//! Each file uses only the files before it:
//!
//! 1. `error.rs` — [`error::SendError`] and [`error::RecvError`].
//! 2. `shared.rs` — what every handle shares, and [`Ref`], the borrow guard.
//! 3. `receiver.rs` — [`Receiver`]: borrow, and wait for a change.
//! 4. `sender.rs` — [`channel`], and [`Sender`]: send, replace, modify, subscribe, wait
//!    for the receivers to go.

// 1. Why a send or a wait failed.
pub mod error;

// 2. What the handles share, and the borrow guard.
mod shared;

// 3. The receiving half.
mod receiver;

// 4. The channel, and its sending half.
mod sender;

pub use receiver::{Changed, Receiver};
pub use sender::{Closed, Sender, channel};
pub use shared::Ref;
