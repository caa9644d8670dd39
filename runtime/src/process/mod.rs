//! Child processes: [`Command`] and [`Child`] — asyncio's `create_subprocess_exec` and
//! `Process`, in tokio's shapes.
//!
//! ```
//! # use tempo_runtime as tempo;
//! use tempo::process::{Command, Stdio};
//!
//! tempo::run(async {
//!     // proc = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)
//!     let mut cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
//!     // proc.stdin.write(b"meow\n"); await proc.stdin.drain(); proc.stdin.close()
//!     let mut stdin = cat.stdin.take().expect("piped");
//!     stdin.write_all(b"meow\n").await?;
//!     drop(stdin);
//!     // await proc.stdout.read()
//!     let mut heard = Vec::new();
//!     cat.stdout.as_mut().expect("piped").read_to_end(&mut heard).await?;
//!     assert_eq!(heard, b"meow\n");
//!     // await proc.wait()
//!     assert!(cat.wait().await?.success());
//!     Ok::<(), std::io::Error>(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The module's items, for asyncio's subprocess calls (every asyncio idea is mapped in the
//! project's one table, `docs/ASYNCIO.md`):
//!
//! | asyncio                                        | tempo                                   |
//! |------------------------------------------------|-----------------------------------------|
//! | `create_subprocess_exec(prog, *args, ...)`     | `Command::new(prog).args(args).spawn()` |
//! | `stdin=PIPE`, `stdout=DEVNULL`                 | `.stdin(Stdio::piped())`, `.stdout(Stdio::null())` |
//! | `env=`, `cwd=`                                 | [`Command::env`], [`Command::current_dir`] |
//! | `proc.stdin` / `proc.stdout` / `proc.stderr`   | [`Child::stdin`] / [`Child::stdout`] / [`Child::stderr`] |
//! | `await proc.wait()`, `proc.returncode`         | [`Child::wait`], [`Child::try_wait`]    |
//! | `proc.kill()`; `proc.kill(); await proc.wait()` | [`Child::start_kill`]; [`Child::kill`] |
//! | `await proc.communicate()`                     | [`Command::output`]                     |
//! | `proc.pid`                                     | [`Child::id`]                           |
//!
//! # Where a child sits in the loop
//!
//! Its pipes are three more registered file descriptors in the worker's reactor, read
//! and written like sockets. Its exit is a signal: the kernel sends the parent `SIGCHLD`,
//! tempo's handler writes a byte into the signal self-pipe (`tempo_reactor::signal`), and
//! the reactor's turn wakes every task waiting for a child. The first of them *sweeps*:
//! it calls `waitpid(pid, WNOHANG)` (std's `Child::try_wait`) on every child still
//! running and records each exit. So no thread waits in `waitpid` — a hundred children
//! add no thread — and every child is reaped, even one whose [`Child`] was dropped: it
//! stays in the process-wide set as an orphan until a sweep finds it gone.
//!
//! What this costs and where it stops:
//!
//! - **The `SIGCHLD` handler stays installed** for the life of the process once a child
//!   was waited for (as with every tempo signal). Code elsewhere in the process that sets
//!   `SIGCHLD` to `SIG_IGN`, or calls `waitpid(-1)`, steals our children's statuses; a
//!   wait then fails with the `ECHILD` error rather than hanging.
//! - **Each waiting task holds one descriptor** (its `SIGCHLD` listener), and each
//!   `SIGCHLD` wakes every waiting task once; one of them sweeps.
//! - **An orphan is waited for by a task** of the runtime it was dropped in. Dropped
//!   outside any runtime, or left when its runtime shut down, it is reaped by the next
//!   sweep or spawn anywhere in the process (tokio's orphan queue works the same way).
//!
//! # The files, in reading order
//!
//! This file holds no code. Each file below uses only those before it:
//!
//! 1. `reaper.rs` — the process-wide set of children, and the sweep.
//! 2. `watch.rs` — `ExitWatch`: how a task waits for an exit, on a `SIGCHLD` listener.
//! 3. `pipe.rs` — [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: non-blocking pipes.
//! 4. `child.rs` — [`Child`]: id, wait, try_wait, kill; what its drop does.
//! 5. `output.rs` — reading stdout and stderr while waiting, for [`Command::output`].
//! 6. `command.rs` — [`Command`]: the builder, and `spawn`, `status`, `output`.

// 1. The set of children, and the sweep.
mod reaper;

// 2. Waiting for an exit.
mod watch;

// 3. The pipes.
mod pipe;

// 4. A running child.
mod child;

// 5. Collecting output.
mod output;

// 6. The builder.
mod command;

pub use child::Child;
pub use command::Command;
pub use pipe::{ChildStderr, ChildStdin, ChildStdout};
pub use std::process::{ExitStatus, Output, Stdio};
