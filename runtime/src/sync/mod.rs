//! Coordination between tasks: locks, semaphores, events, conditions, barriers, and
//! channels — asyncio's `asyncio.Lock`, `Semaphore`, `Event`, `Condition`, `Barrier` and
//! `Queue`, plus Rust's usual `mpsc` and `oneshot` channels.
//!
//! Every primitive here is `Send + Sync`, works between tasks on different workers and
//! from `spawn_local` tasks, and allocates nothing on an uncontended operation. Each keeps
//! its waiting tasks in a `WaitList` (`sync/waitlist.rs`) — a FIFO, so whoever waited first is served
//! first — inside a short-lived `std::sync::Mutex`, and wakes them after releasing it.
//!
//! **Cancellation.** Dropping a pending `lock()`, `acquire()`, `get()` or `recv()` future is
//! always safe: it never leaks the lock or a permit, never loses an item, and never
//! swallows a wake-up meant for the next waiter. The rule that guarantees it is in
//! `waitlist.rs`'s docs.

mod barrier;
mod condition;
mod event;
pub mod mpsc;
mod mutex;
pub mod oneshot;
mod queue;
mod rwlock;
mod semaphore;
pub(crate) mod waitlist;

pub use barrier::*;
pub use condition::*;
pub use event::*;
pub use mutex::*;
pub use queue::*;
pub use rwlock::*;
pub use semaphore::*;
