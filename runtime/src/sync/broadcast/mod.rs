//! A channel whose every receiver gets every value: [`channel`] gives a [`Sender`] and a
//! [`Receiver`]; [`Sender::subscribe`] makes more receivers — tokio's `broadcast`.
//!
//! asyncio has no such channel: asyncio code gives each subscriber its own `Queue` and has
//! the publisher `put_nowait` into all of them. A broadcast channel is that, sharing one
//! buffer: each value is stored once, and each receiver keeps its own place in it.
//!
//! # How it works
//!
//! One `Shared` per channel, behind an `Arc` held by every handle: a buffer of at most
//! `capacity` values, the *position* of its oldest value, and a `WaitList` of receivers
//! waiting in `recv()`. Values are numbered from 0 as they are sent; each receiver holds
//! the number of the next value it will receive. The rules, cited in the code by number:
//!
//! 1. **A value stays until every receiver that existed when it was sent has received
//!    it.** Each slot counts the receivers that still owe it a `recv` (`remaining`); the
//!    last one takes the value out *by move* (no clone), and the slot goes. The counts
//!    never decrease from older to newer slots, so the slot that empties is always the
//!    oldest.
//! 2. **A full buffer drops its oldest value to make room**, received or not: a sender
//!    never waits. A receiver whose next value was dropped has *lagged*: its next `recv`
//!    says how many it missed, `Err(Lagged(n))`, and moves it to the oldest value kept.
//! 3. **A new receiver starts at the end**: it gets the values sent after it subscribed.
//! 4. **The end.** When the last sender is dropped, receivers get what is left, then
//!    `Err(Closed)`. With no receiver, `send` fails and gives the value back. A receiver
//!    that is dropped gives up its claim on the values it had not received (rule 1).
//!
//! Waiting receivers are all woken by each send (after the lock is released, with a waker
//! buffer kept for its capacity, so waking allocates nothing once it has grown).
//!
//! Shortcut: tokio keeps the values in a ring of slots, each behind its own lock, so that
//! receivers clone in parallel; here one mutex guards the whole buffer, and a receiver
//! clones its value under it.
//!
//! # Reading order
//!
//! Each file uses only the files before it:
//!
//! 1. `error.rs` — [`error::SendError`], [`error::RecvError`], [`error::TryRecvError`].
//! 2. `shared.rs` — what every handle shares, and the rules above.
//! 3. `receiver.rs` — [`Receiver`]: receive, in order, learning of lag and of the end.
//! 4. `sender.rs` — [`channel`], and [`Sender`]: send to every receiver, subscribe more.

// 1. Why a send or a receive failed.
pub mod error;

// 2. What the handles share, and its rules.
mod shared;

// 3. The receiving half.
mod receiver;

// 4. The channel, and its sending half.
mod sender;

pub use receiver::{Receiver, Recv};
pub use sender::{Closed, Sender, channel};
