//! The reaper: the process-wide set of children tempo has spawned and not yet seen exit,
//! and the *sweep* that reaps those that have.
//!
//! A Unix process that exits stays a *zombie* — an entry in the kernel's process table
//! holding its exit status — until its parent collects the status with `waitpid`. A parent
//! that never does leaks one entry per child. asyncio's child watcher (`ThreadedChildWatcher`
//! by default: a thread per child, parked in `waitpid`) and tokio's SIGCHLD driver exist to
//! collect it. tempo's is this file, driven by `SIGCHLD`:
//!
//! ```text
//!  a child exits ─► kernel: zombie, then SIGCHLD ─► tempo's handler: a byte in the self-pipe
//!    ─► every SIGCHLD listener's task is woken (reactor/src/signal/, the fan-out)
//!    ─► the first of them to run sweeps: `try_wait` on every child still running here,
//!       recording each exit status (and forgetting each exited orphan)
//!    ─► the others find the delivery swept, and look only at their own child's record
//! ```
//!
//! **Where the set lives: one per process, behind a mutex.** `SIGCHLD` is sent to the
//! process, not to the thread or runtime that spawned the child, and coalesces — one
//! delivery may stand for many exits, of children spawned on any worker of any runtime.
//! So whichever loop hears a delivery must be able to look at every child, wherever it was
//! spawned: the set is a static, and the lock is taken by spawns, waits, drops and sweeps,
//! from any thread — never on a socket's path, and never while user code runs. Runtimes
//! come and go (the test suite makes hundreds); the set outlives them all.
//!
//! **Who sweeps.** Every task waiting for a child holds its own SIGCHLD listener (see
//! `watch.rs`), and the fan-out wakes all of them on each delivery. If each swept, `n`
//! waiting children would cost `n²` `waitpid`s per signal; so a sweep records the signal's
//! generation it was run for (`SignalListener::generation`, the same count in every
//! listener), and a listener that has heard nothing newer than the last sweep skips it.
//! That is safe because the generation a listener reports was bumped *after* the exits it
//! stands for (the kernel makes a child a zombie before it sends `SIGCHLD`), and a sweep
//! run for generation `g` calls `waitpid` after `g` was reached: it sees every exit that
//! any delivery up to `g` announced. Each delivery thus costs one `try_wait` per child
//! still running, and one wake per waiting task.
//!
//! **Only our own children, one at a time.** A sweep calls `std::process::Child::try_wait`
//! — `waitpid(pid, WNOHANG)` for that pid — never `waitpid(-1)`, which would steal the
//! status of children spawned by other code in the process (`std::process::Command::status`,
//! say). And it goes through std's `Child`, which remembers the status once reaped, so a
//! pid is never signalled after the kernel may have given it to a new process.
//!
//! This file knows no runtime and no signal: it is the set, and the sweep's arithmetic.

use std::io;
use std::process::ExitStatus;
use std::sync::{Mutex, MutexGuard, PoisonError};

use slab::Slab;

/// Every child spawned through `tempo::process` and not yet forgotten, for the whole
/// process. Taken by any thread; held only around `waitpid(WNOHANG)` and `kill(2)`.
static CHILDREN: Mutex<Children> = Mutex::new(Children {
    slab: Slab::new(),
    serial: 0,
    swept: 0,
});

/// The set, and the last sweep's generation.
struct Children {
    /// The children, keyed by [`Ticket::key`].
    slab: Slab<Entry>,
    /// The serial number the next child gets ([`Ticket::serial`]).
    serial: u64,
    /// The `SIGCHLD` generation the last sweep was run for: a listener whose generation is
    /// no newer has nothing to sweep for (see the module docs).
    swept: u64,
}

/// One child.
struct Entry {
    /// std's handle, its pipes taken: the pid, and `try_wait`, which remembers the status.
    child: std::process::Child,
    /// What has become of it, as far as we have looked.
    exit: Exit,
    /// Its `tempo::process::Child` was dropped before it exited. The first look that finds
    /// it exited removes the entry: nobody is left to read the status.
    orphan: bool,
    /// Which child this is, so a ticket whose entry was removed never reaches a newer
    /// child filed under the same slab key.
    serial: u64,
}

/// What became of a child.
enum Exit {
    /// Still running, or exited and not yet looked at (a zombie).
    Running,
    /// Reaped: the status `waitpid` returned.
    Exited(ExitStatus),
    /// `waitpid` failed — `ECHILD` if other code reaped the child behind our back (a
    /// `waitpid(-1)` elsewhere, or `SIGCHLD` set to `SIG_IGN`). The status is lost.
    Lost(io::ErrorKind, String),
}

/// A claim on one entry of the set: what a `Child`, its wait, and an orphan's reaper hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket {
    /// The entry's slab key.
    key: usize,
    /// The entry's serial number.
    serial: u64,
}

/// What [`release`] did with a child whose `Child` is being dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(super) enum Released {
    /// It had exited: reaped, and forgotten.
    Reaped,
    /// Still running: it stays in the set as an orphan, for a sweep to reap when it exits.
    Orphaned,
}

/// The set, locked. Nothing run under the lock can panic halfway through an update (it is
/// `waitpid` and `kill`), so a poisoned lock holds consistent data.
fn children() -> MutexGuard<'static, Children> {
    CHILDREN.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Children {
    /// The entry `ticket` names, if it is still there.
    fn get(&mut self, ticket: Ticket) -> Option<&mut Entry> {
        self.slab
            .get_mut(ticket.key)
            .filter(|entry| entry.serial == ticket.serial)
    }
}

impl Entry {
    /// Ask the kernel, if we do not know yet, whether the child has exited, reaping it if
    /// so: `waitpid(pid, WNOHANG)`. Returns whether it has exited.
    fn look(&mut self) -> bool {
        if let Exit::Running = self.exit {
            match self.child.try_wait() {
                Ok(None) => {}
                Ok(Some(status)) => self.exit = Exit::Exited(status),
                Err(e) => self.exit = Exit::Lost(e.kind(), e.to_string()),
            }
        }
        !matches!(self.exit, Exit::Running)
    }

    /// The exit as `Child::try_wait` reports it.
    fn status(&self) -> io::Result<Option<ExitStatus>> {
        match &self.exit {
            Exit::Running => Ok(None),
            Exit::Exited(status) => Ok(Some(*status)),
            Exit::Lost(kind, why) => Err(io::Error::new(
                *kind,
                format!(
                    "tempo: could not collect the exit status of child {}: {why}",
                    self.child.id()
                ),
            )),
        }
    }
}

/// File a freshly spawned child (its pipes already taken).
pub(super) fn watch(child: std::process::Child) -> Ticket {
    let mut set = children();
    let serial = set.serial;
    set.serial += 1;
    let key = set.slab.insert(Entry {
        child,
        exit: Exit::Running,
        orphan: false,
        serial,
    });
    Ticket { key, serial }
}

/// The child's pid while it has not been reaped; `None` after.
pub(super) fn pid(ticket: Ticket) -> Option<u32> {
    let mut set = children();
    let entry = set.get(ticket)?;
    matches!(entry.exit, Exit::Running).then(|| entry.child.id())
}

/// Its exit status if it has exited, reaping it; `Ok(None)` if it is still running.
pub(super) fn try_wait(ticket: Ticket) -> io::Result<Option<ExitStatus>> {
    let mut set = children();
    let entry = set
        .get(ticket)
        .expect("a Child's entry lives as long as the Child");
    entry.look();
    entry.status()
}

/// Its exit as recorded, without asking the kernel: what a waiter checks after a sweep.
/// `None` while no look has found it exited.
pub(super) fn recorded(ticket: Ticket) -> Option<io::Result<ExitStatus>> {
    let mut set = children();
    let entry = set
        .get(ticket)
        .expect("a Child's entry lives as long as the Child");
    entry.status().transpose()
}

/// Whether an orphan is gone from the set (reaped, and forgotten): what an orphan's
/// reaper task waits for.
pub(super) fn orphan_reaped(ticket: Ticket) -> Option<()> {
    children().get(ticket).is_none().then_some(())
}

/// Look once at one child, reaping it if it has exited: what a waiter does right after
/// its SIGCHLD listener exists, for a child that exited before anyone listened.
pub(super) fn look(ticket: Ticket) {
    let mut set = children();
    if let Some(entry) = set.get(ticket) {
        if entry.look() && entry.orphan {
            set.slab.remove(ticket.key);
        }
    }
}

/// The sweep: a SIGCHLD listener heard a delivery of `generation`. Unless a sweep has
/// already been run for it (or a later one), look at every child still running, record
/// each exit, and forget each exited orphan.
pub(super) fn sweep(generation: u64) {
    let mut set = children();
    if generation <= set.swept {
        return;
    }
    set.swept = generation;
    set.slab.retain(|_, entry| !(entry.look() && entry.orphan));
}

/// Look at the orphans only, forgetting those that exited: done at every spawn, as tokio
/// does, so that orphans no runtime is left to sweep for are reaped by the next spawn.
pub(super) fn reap_orphans() {
    children()
        .slab
        .retain(|_, entry| !(entry.orphan && entry.look()));
}

/// Send `SIGKILL`. Fails if the child has been reaped already (its pid may belong to
/// another process by now), as tokio's `start_kill` does.
pub(super) fn start_kill(ticket: Ticket) -> io::Result<()> {
    let mut set = children();
    let entry = set
        .get(ticket)
        .expect("a Child's entry lives as long as the Child");
    match entry.exit {
        Exit::Running => entry.child.kill(),
        Exit::Exited(_) | Exit::Lost(..) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "tempo: cannot kill a child that has exited and been waited for",
        )),
    }
}

/// The child's `Child` is being dropped: forget the child if it has exited; otherwise,
/// after sending it `SIGKILL` if `kill` (`kill_on_drop`), leave it in the set as an orphan.
pub(super) fn release(ticket: Ticket, kill: bool) -> Released {
    let mut set = children();
    let Some(entry) = set.get(ticket) else {
        return Released::Reaped;
    };
    if entry.look() {
        set.slab.remove(ticket.key);
        return Released::Reaped;
    }
    if kill {
        // Fails only if the child is gone already, which the next look will find.
        let _ = entry.child.kill();
    }
    entry.orphan = true;
    Released::Orphaned
}
