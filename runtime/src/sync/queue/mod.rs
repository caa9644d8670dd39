//! [`Queue`]: asyncio's `Queue` — a FIFO of items that many tasks put into and many tasks
//! get from, optionally bounded, with `task_done`/`join` to wait until every item has been
//! processed and a `close` that shuts it down the way Python 3.13's `Queue.shutdown` does.
//!
//! # How it works
//!
//! Everything lives in one `State` (`state.rs`) behind a `std::sync::Mutex` that is held
//! only for a few instructions and never across an `await`. Three `WaitList`s
//! (`sync/waitlist.rs`) hold the tasks that wait: getters (for an item), putters (for a free slot) and joiners (for the last
//! `task_done`). An item is always in exactly one place:
//!
//! ```text
//!   put ──► first waiting getter's node ("handed") ──► that getter's get() returns it
//!       └─► back of `buffer` ──────────────────────────► front popped by a get()
//! ```
//!
//! The rules, cited in the code by number:
//!
//! 1. **`len()` counts every item put and not yet returned by a `get`**: the ones in
//!    `buffer` and the ones `handed` to a getter that has not run yet. This is asyncio's
//!    `qsize()`, and an item holds its slot of a bounded queue until its `get` returns it.
//! 2. **Getters wait only while `buffer` is empty.** So a `put` that finds a queued getter
//!    hands its item straight to the first one (FIFO among getters, and no later `get` can
//!    take the item first), and a `get` that finds `buffer` non-empty never has to look at
//!    the getters.
//! 3. **A slot freed by a `get` goes to the first queued putter**, which is notified and
//!    the slot `reserved` for it; `len() + reserved <= maxsize` always. Hence putters wait
//!    only while no slot is free, and a new `put` queues behind them (FIFO among putters).
//! 4. **A waiter that goes away passes on what it was given** (the rule in
//!    [`waitlist`](super::waitlist)): a getter cancelled after an item was handed to it
//!    gives the item to the next queued getter, or puts it back at the *front* of `buffer`;
//!    a putter cancelled after being given a slot passes the slot to the next putter. A
//!    cancelled `put` never inserts its item.
//! 5. **`close` is permanent.** It notifies every waiting getter and putter and drops all
//!    reservations; after it, no `put` succeeds, and `get`s drain what is left.
//!
//! Wakers are collected under the lock and woken after it is released. Nothing here runs a
//! user's code (an item's destructor, say) under the lock.
//!
//! # Reading order
//!
//! Each file uses only the files before it. [`Queue`]'s methods are spread over the files
//! in `impl Queue` blocks, each beside the future it returns:
//!
//! 1. `error.rs` — [`PutError`], [`GetError`], [`TryPutError`] and [`TryGetError`]: why an
//!    operation failed, as asyncio's `QueueFull`, `QueueEmpty` and `QueueShutDown`.
//! 2. `state.rs` — the [`Queue`] type and the `State` behind its lock: where an item is, who
//!    waits, and the moves (insert, hand to a getter, give back, free a slot) that keep the
//!    rules above.
//! 3. `nowait.rs` — what never waits: `try_put`, `try_get` (asyncio's `put_nowait` and
//!    `get_nowait`), `close`, and the sizes (`len`, `is_full`, `maxsize`).
//! 4. `put.rs` — `put`, and its future that waits for a free slot.
//! 5. `get.rs` — `get`, and its future that waits for an item.
//! 6. `join.rs` — `task_done`, and `join`'s future that waits for the last of them.
//! 7. `stream.rs` — [`QueueStream`], one consumer's gets as a `Stream` (`stream`,
//!    `into_stream`), built on `get.rs`'s poll.

// 1. Why an operation failed.
mod error;

// 2. The queue and its state.
mod state;

// 3. The operations that never wait.
mod nowait;

// 4. Waiting for a free slot.
mod put;

// 5. Waiting for an item.
mod get;

// 6. Waiting for every item to be done.
mod join;

// 7. One consumer's gets, as a stream.
mod stream;

pub use error::{GetError, PutError, TryGetError, TryPutError};
pub use state::Queue;
pub use stream::QueueStream;
