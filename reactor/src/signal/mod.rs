//! Signals: the OS half of `tempo::signal` — a handler, a self-pipe, and a fan-out.
//!
//! A Unix signal interrupts whichever thread the kernel picks, at any instruction, and the
//! handler it runs may call only async-signal-safe functions: no locks, no allocation, no
//! waking of tasks. So the handler does the least that can be done — it raises a flag and
//! writes one byte into a pipe — and everything else happens later, in ordinary code, when
//! the pipe's read end turns readable in some reactor:
//!
//! ```text
//!  kernel delivers SIGTERM (any thread)
//!    └─► on_signal: PENDING[SIGTERM] = true; write(pipe, 1 byte)       rules 1–3
//!  pipe read end ──dup per listener──► Registered in the listener's reactor
//!    └─► epoll says readable ─► the listener's task is woken and polls
//!  SignalListener::poll_recv
//!    └─► dispatch: drain the pipe; for each flag swapped from true:
//!          generation += 1 and take every waiter of that signal        rule 4
//!        wake them all (outside the lock)
//!    └─► generation != the one this listener last saw? one delivery
//! ```
//!
//! asyncio's `loop.add_signal_handler` is the same machine: `signal.set_wakeup_fd` points
//! CPython's C-level handler at the loop's self-pipe, and the loop turns the byte into a
//! callback. tempo turns it into a woken task.
//!
//! # Rules
//!
//! 1. **The handler touches only statics of atomics and calls `write(2)`**, which POSIX lists
//!    as async-signal-safe. It saves and restores `errno`, so the thread it interrupted
//!    never sees the handler's `EAGAIN` in place of its own error.
//! 2. **Flag before byte, drain before swap.** The handler sets the signal's flag, then
//!    writes; a dispatch drains the pipe until `WouldBlock`, then swaps the flags. So a
//!    signal either has its flag seen by a dispatch under way, or leaves a byte (and a new
//!    readiness edge) for the next one: it is never lost. At worst a dispatch finds a byte
//!    whose flag an earlier one already took: a spurious wake, which costs one more look.
//! 3. **The pipe is created once and never closed.** The handler writes to a raw fd it read
//!    from a static; were the pipe ever closed, that fd number could be reused by a socket
//!    and the handler would write into it.
//! 4. **A dispatch bumps a signal's generation under that signal's waiter lock, and a
//!    listener compares generations under the same lock before it parks its waker.** So a
//!    listener either sees the bump or is in the waiter list the dispatch wakes.
//! 5. **A handler, once installed, stays for the life of the process** (as tokio's does),
//!    even after the last listener is gone: restoring the default action would race with a
//!    signal arriving meanwhile, which for `SIGINT` or `SIGTERM` kills the process.
//!
//! # Fan-out and coalescing
//!
//! Any number of listeners may wait for one signal, in one runtime or several; each is
//! notified of each delivery. The byte names no signal and no listener: whichever listener
//! polls first drains the pipe and dispatches for everyone (the others' epoll may then
//! report nothing — the bytes are gone — which is why a dispatch wakes the waiter list and
//! does not rely on each listener's own readiness).
//!
//! A listener remembers the last generation it saw, so a signal raised while nobody polls
//! is not lost: the next `poll_recv` finds the byte, or the bumped generation. Several
//! deliveries between two polls **coalesce into one**, as they do in the kernel (a standard
//! signal that is already pending is not queued twice): a listener learns "the signal came
//! at least once since you last looked", not how many times.
//!
//! # Why a pipe and not `signalfd`
//!
//! Linux's `signalfd` reports signals through a file descriptor without a handler, but only
//! signals *blocked* in every thread of the process: one thread that has not blocked
//! `SIGTERM` receives it the ordinary way, and then its default action kills the process. A
//! library cannot block a signal in threads it did not create (`sigprocmask` affects only
//! the calling thread and those it spawns later), and a signalfd read consumes the signal,
//! so it cannot serve two listeners either. The self-pipe works on every Unix, in any
//! thread layout, and is what `cargo check --target x86_64-apple-darwin` builds too.
//!
//! # The files, in reading order
//!
//! This file holds no code. Each file below uses only those before it:
//!
//! 1. `kind.rs` — [`SignalKind`]: the signals by name and number, and which numbers may
//!    be listened for.
//! 2. `registry.rs` — what the process keeps per signal number for ordinary code: whether
//!    the handler is installed, the generation, the listeners' parked wakers.
//! 3. `handler.rs` — the handler and what it touches: the pending flags, the self-pipe,
//!    `sigaction`, `errno`. All of this module's `unsafe` is there (rules 1, 3 and 5); the
//!    other four files say `#![forbid(unsafe_code)]`.
//! 4. `fanout.rs` — `dispatch`: drain the pipe, then bump the generation of each pending
//!    signal and wake its listeners (rules 2 and 4).
//! 5. `listener.rs` — [`SignalListener`]: one task's subscription, and its `poll_recv`.

mod kind;

mod registry;

mod handler;

mod fanout;

mod listener;

pub use kind::SignalKind;
pub use listener::SignalListener;
