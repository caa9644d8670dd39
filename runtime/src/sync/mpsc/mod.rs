//! Multi-producer, single-consumer channels: [`channel`] (bounded) and
//! [`unbounded_channel`].
//!
//! asyncio has no channel type: asyncio code shares one `asyncio.Queue` between its
//! producers and its consumer. A channel is that queue split into handles, which buys the
//! two things a queue cannot say on its own: the consumer learns that every producer is
//! gone (`recv` returns `None`), and producers learn that the consumer is gone (`send`
//! fails and hands the value back). Use [`Queue`](super::Queue) when several consumers
//! share the work, or for `task_done`/`join`.
//!
//! # How it works
//!
//! One `Chan` per channel, shared through an `Arc` by every handle: a buffer, the one
//! receiver's waker, and — for a bounded channel — a `WaitList` of senders waiting for a
//! slot. The rules, cited in the code by number:
//!
//! 1. **A slot freed by `recv` goes to the first waiting sender**, which is notified and
//!    the slot `reserved` for it; `buffer.len() + reserved <= capacity` always. So senders
//!    wait only while no slot is free, a new `send` queues behind them, and waiting
//!    senders get slots in FIFO order.
//! 2. **A sender cancelled after being given a slot passes it to the next sender** (the
//!    rule in `sync::waitlist`); a cancelled `send` never sends.
//! 3. **Closing is permanent.** The receiver closes the channel by [`Receiver::close`] or
//!    by being dropped: every waiting sender is woken and fails, reservations are dropped,
//!    and no value enters afterwards. Values already buffered can still be received after
//!    `close`; when the receiver is dropped they are dropped with it.
//! 4. **The receiver sees the end** when the buffer is empty and either every sender has
//!    been dropped or the channel is closed: `recv` returns `None`.
//!
//! There is one receiver, so its waker is a single slot, not a list. Wakers are woken after
//! the lock is released, and values are never dropped under it.
//!
//! # Reading order
//!
//! Each file uses only the files before it:
//!
//! 1. `error.rs` — [`SendError`], [`TrySendError`] and [`TryRecvError`]: why a send or a
//!    receive failed.
//! 2. `chan.rs` — `Chan`, what every handle of one channel shares: the buffer, the waiting
//!    senders, the receiver's waker, and the operations on them that keep the rules above;
//!    also the `closed()` future both kinds of sender return.
//! 3. `methods.rs` — what both kinds of receiver do, and `Debug` for every handle, each
//!    written once as a macro that the next two files expand.
//! 4. `bounded.rs` — [`channel`]: a [`Sender`] whose `send` waits for a free slot, and its
//!    [`Receiver`].
//! 5. `unbounded.rs` — [`unbounded_channel`]: an [`UnboundedSender`] whose `send` never
//!    waits, and its [`UnboundedReceiver`].

// 1. Why a send or a receive failed.
mod error;

// 2. The state every handle shares, and its rules.
mod chan;

// 3. The receiving methods and `Debug`, written once.
mod methods;

// 4. The bounded channel.
mod bounded;

// 5. The unbounded channel.
mod unbounded;

pub use bounded::{Receiver, Sender, channel};
pub use error::{SendError, TryRecvError, TrySendError};
pub use unbounded::{UnboundedReceiver, UnboundedSender, unbounded_channel};
