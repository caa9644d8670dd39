//! The signal handler and everything it touches: the pending flags, the self-pipe it
//! writes to, its installation with `sigaction`, and the `errno` it must leave as it found
//! it. The handler, `on_signal`, is the one piece of the reactor that runs outside the
//! loop — on whatever thread the kernel interrupts — and its byte in the pipe is what
//! brings a signal into the loop, as readiness of the pipe's read end (asyncio's
//! `signal.set_wakeup_fd`). All of the `unsafe` of `signal/` is in this file; the rules
//! that make it sound are numbered in `signal/mod.rs`, and a `SAFETY` comment that rests on
//! one cites it.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use libc::c_int;
use mio::unix::pipe;

use super::kind::SLOTS;
use super::registry::SLOTS_TABLE;
use crate::sync::lock;

/// Set by the handler when its signal arrives; swapped back by a dispatch (rule 2).
pub(super) static PENDING: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// The self-pipe's write end, as the handler sees it: -1 until the pipe exists (rule 3).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// The self-pipe; created on first use, never dropped (rule 3).
static SELF_PIPE: OnceLock<SelfPipe> = OnceLock::new();

/// The pipe every handler writes to and every listener watches.
pub(super) struct SelfPipe {
    /// The write end. Only the handler writes (through `WAKE_FD`); kept here so it is never
    /// closed.
    sender: pipe::Sender,
    /// The read end. Every dispatch drains through it; each listener registers a duplicate.
    pub(super) receiver: pipe::Receiver,
}

/// The self-pipe, created on first use: non-blocking and close-on-exec at both ends.
pub(super) fn self_pipe() -> io::Result<&'static SelfPipe> {
    if let Some(self_pipe) = SELF_PIPE.get() {
        return Ok(self_pipe);
    }
    let (sender, receiver) = pipe::new()?;
    // Two threads may get here at once; the loser's pipe is dropped unused, before any
    // handler could know its fd.
    let self_pipe = SELF_PIPE.get_or_init(|| SelfPipe { sender, receiver });
    WAKE_FD.store(self_pipe.sender.as_raw_fd(), Ordering::SeqCst);
    Ok(self_pipe)
}

/// Install `on_signal` for signal `index`, once per process (rule 5).
pub(super) fn install(index: usize) -> io::Result<()> {
    let mut installed = lock(&SLOTS_TABLE[index].installed);
    if *installed {
        return Ok(());
    }
    let signum = c_int::try_from(index).expect("slot indexes are signal numbers");
    // SAFETY: rule C3 (lib.rs): `libc::sigaction` is a C struct of integers, a signal set and a
    // handler address held as an integer; all zeroes is a valid value of it (SIG_DFL, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    let handler: extern "C" fn(c_int) = on_signal;
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    // SA_RESTART: a blocking syscall in another thread (a std read, say) interrupted by the
    // signal resumes instead of failing with EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: rule C1 (lib.rs): `sa_mask` is a valid, exclusively borrowed `sigset_t`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: `action` is fully initialised and names a handler that keeps rule 1; the
    // handler's statics are ready, since `self_pipe` stored `WAKE_FD` before any call to
    // `install`. A null old-action pointer is allowed.
    if unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    *installed = true;
    Ok(())
}

/// The signal handler. Runs on any thread, between any two instructions: rule 1.
extern "C" fn on_signal(signum: c_int) {
    let saved = errno::get();
    if let Some(pending) = usize::try_from(signum).ok().and_then(|i| PENDING.get(i)) {
        pending.store(true, Ordering::SeqCst);
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // The result is ignored: the one failure, EAGAIN, means the pipe is full, so a byte
        // is already waiting to wake a reader.
        // SAFETY: `fd` is the self-pipe's write end, never closed (rule 3); the buffer is
        // one readable byte; write(2) is async-signal-safe.
        let _ = unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    }
    errno::set(saved);
}

/// The calling thread's `errno`, which the handler must leave as it found it (rule 1).
mod errno {
    use libc::c_int;

    #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
    use libc::__errno as location;
    #[cfg(any(
        target_os = "linux",
        target_os = "dragonfly",
        target_os = "redox",
        target_os = "emscripten"
    ))]
    use libc::__errno_location as location;
    #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
    use libc::__error as location;

    /// Read `errno`.
    pub(super) fn get() -> c_int {
        // SAFETY: rule C4 (lib.rs): `location` returns the calling thread's errno slot, valid for
        // the life of the thread; reading it is what the C macro `errno` does.
        unsafe { *location() }
    }

    /// Write `errno`.
    pub(super) fn set(value: c_int) {
        // SAFETY: rule C4, as in `get`; the slot is the calling thread's own.
        unsafe { *location() = value }
    }
}
