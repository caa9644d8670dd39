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

use std::fmt;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll, Waker, ready};

use libc::c_int;
use mio::Interest;
use mio::unix::pipe;
use slab::Slab;

use crate::io::readiness::wake_all;
use crate::io::{Direction, Registered};
use crate::sync::lock;

/// One slot per signal number, 1 to 64 (Linux's `SIGRTMAX`; macOS stops at 31).
const SLOTS: usize = 65;

/// Signals that cannot or must not be handled: `SIGKILL` and `SIGSTOP` cannot be caught, and
/// the others report a fault in the instruction that raised them — returning from a handler
/// that only writes a byte would re-run that instruction forever.
const FORBIDDEN: [c_int; 6] = [
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGSEGV,
    libc::SIGBUS,
];

/// Set by the handler when its signal arrives; swapped back by a dispatch (rule 2).
static PENDING: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// The self-pipe's write end, as the handler sees it: -1 until the pipe exists (rule 3).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// The self-pipe; created on first use, never dropped (rule 3).
static SELF_PIPE: OnceLock<SelfPipe> = OnceLock::new();

/// What the process knows about each signal number, for ordinary (non-handler) code.
static SLOTS_TABLE: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

/// The pipe every handler writes to and every listener watches.
struct SelfPipe {
    /// The write end. Only the handler writes (through `WAKE_FD`); kept here so it is never
    /// closed.
    sender: pipe::Sender,
    /// The read end. Every dispatch drains through it; each listener registers a duplicate.
    receiver: pipe::Receiver,
}

/// One signal number's state outside the handler.
struct Slot {
    /// Whether tempo's handler is installed for this signal. Locked while installing, so
    /// two first listeners do not both call `sigaction`.
    installed: Mutex<bool>,
    /// How many dispatches have found this signal pending. Bumped under `waiters`' lock
    /// (rule 4).
    generation: AtomicU64,
    /// The listeners of this signal, keyed by [`SignalListener::key`]: each one's parked
    /// waker, or `None` while it is not waiting.
    waiters: Mutex<Slab<Option<Waker>>>,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            installed: Mutex::new(false),
            generation: AtomicU64::new(0),
            waiters: Mutex::new(Slab::new()),
        }
    }
}

/// The signals `tempo::signal` knows by name, and any other by number.
///
/// Mirrors the `signal.SIGINT`, `signal.SIGTERM`, … constants asyncio's
/// `loop.add_signal_handler` takes; differs in being an enum, so a typo is a compile error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// `SIGINT`: Ctrl-C at the terminal. Its default action ends the process.
    Interrupt,
    /// `SIGTERM`: a polite request to stop — what `kill PID`, systemd and Kubernetes send.
    Terminate,
    /// `SIGHUP`: the terminal went away; daemons take it as "reload your configuration".
    Hangup,
    /// `SIGQUIT`: Ctrl-\ at the terminal; by default, end with a core dump.
    Quit,
    /// `SIGUSR1`: no meaning but the one a program gives it (tempo: print a task dump).
    User1,
    /// `SIGUSR2`: the same, a second one.
    User2,
    /// `SIGALRM`: a timer set by `alarm(2)` or `setitimer(2)` expired.
    Alarm,
    /// `SIGCHLD`: a child process stopped or exited.
    Child,
    /// `SIGPIPE`: a write to a pipe or socket nobody reads. Rust programs ignore it by
    /// default (the write returns `EPIPE` instead).
    Pipe,
    /// `SIGWINCH`: the terminal was resized.
    WindowChange,
    /// Any other signal, by number: a real-time signal (`libc::SIGRTMIN() + n`) for
    /// instance. [`SignalKind::from_raw`] turns a known number into its named variant.
    Raw(i32),
}

impl SignalKind {
    /// The signal's number on this platform.
    pub fn as_raw(self) -> i32 {
        match self {
            SignalKind::Interrupt => libc::SIGINT,
            SignalKind::Terminate => libc::SIGTERM,
            SignalKind::Hangup => libc::SIGHUP,
            SignalKind::Quit => libc::SIGQUIT,
            SignalKind::User1 => libc::SIGUSR1,
            SignalKind::User2 => libc::SIGUSR2,
            SignalKind::Alarm => libc::SIGALRM,
            SignalKind::Child => libc::SIGCHLD,
            SignalKind::Pipe => libc::SIGPIPE,
            SignalKind::WindowChange => libc::SIGWINCH,
            SignalKind::Raw(signum) => signum,
        }
    }

    /// The kind for signal number `signum`: a named variant if there is one, else `Raw`.
    pub fn from_raw(signum: i32) -> SignalKind {
        const NAMED: [SignalKind; 10] = [
            SignalKind::Interrupt,
            SignalKind::Terminate,
            SignalKind::Hangup,
            SignalKind::Quit,
            SignalKind::User1,
            SignalKind::User2,
            SignalKind::Alarm,
            SignalKind::Child,
            SignalKind::Pipe,
            SignalKind::WindowChange,
        ];
        NAMED
            .into_iter()
            .find(|kind| kind.as_raw() == signum)
            .unwrap_or(SignalKind::Raw(signum))
    }

    /// The slot of this signal, or why it cannot be listened for.
    fn slot_index(self) -> io::Result<usize> {
        let signum = self.as_raw();
        match usize::try_from(signum) {
            Ok(i) if (1..SLOTS).contains(&i) && !FORBIDDEN.contains(&signum) => Ok(i),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tempo: cannot listen for {self}"),
            )),
        }
    }
}

impl fmt::Display for SignalKind {
    /// The C name (`SIGTERM`), or `signal N` for a number without one here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match SignalKind::from_raw(self.as_raw()) {
            SignalKind::Interrupt => "SIGINT",
            SignalKind::Terminate => "SIGTERM",
            SignalKind::Hangup => "SIGHUP",
            SignalKind::Quit => "SIGQUIT",
            SignalKind::User1 => "SIGUSR1",
            SignalKind::User2 => "SIGUSR2",
            SignalKind::Alarm => "SIGALRM",
            SignalKind::Child => "SIGCHLD",
            SignalKind::Pipe => "SIGPIPE",
            SignalKind::WindowChange => "SIGWINCH",
            SignalKind::Raw(signum) => return write!(f, "signal {signum}"),
        };
        f.write_str(name)
    }
}

/// One listener for one signal: its own duplicate of the self-pipe's read end, registered
/// with the reactor current when it was created, and the last generation it saw.
///
/// Dropping it deregisters and closes the duplicate and leaves the waiter list. The
/// handler stays installed (rule 5).
pub struct SignalListener {
    /// Which signal.
    kind: SignalKind,
    /// Its slot in `SLOTS_TABLE` and `PENDING`: the signal number.
    index: usize,
    /// A duplicate of the pipe's read end in this listener's reactor. Only its readiness is
    /// used; dispatches read through `SelfPipe::receiver`, the same pipe.
    pipe: Registered<pipe::Receiver>,
    /// This listener's key in its slot's `waiters`.
    key: usize,
    /// The slot's generation when this listener last delivered (or was created).
    seen: u64,
}

impl SignalListener {
    /// Listen for `kind`, installing tempo's handler for it if this is the first listener
    /// in the process. Signals raised before this call are not delivered to this listener.
    ///
    /// Fails outside a tempo runtime (there is no reactor to register with), for a signal
    /// that cannot be handled (`SIGKILL`, `SIGSTOP`, the fault signals, numbers out of
    /// range), or when the process is out of file descriptors.
    pub fn new(kind: SignalKind) -> io::Result<SignalListener> {
        let index = kind.slot_index()?;
        let self_pipe = self_pipe()?;
        // Register first: outside a runtime this fails before any handler is installed.
        let dup = pipe::Receiver::from(self_pipe.receiver.as_fd().try_clone_to_owned()?);
        let pipe = Registered::with_interest(dup, Interest::READABLE)?;
        install(index)?;
        // Signals already raised belong to the listeners that existed then: hand them out
        // now, so the generation read below is after them.
        dispatch(self_pipe)?;
        let slot = &SLOTS_TABLE[index];
        let mut waiters = lock(&slot.waiters);
        let key = waiters.insert(None);
        let seen = slot.generation.load(Ordering::SeqCst);
        drop(waiters);
        Ok(SignalListener {
            kind,
            index,
            pipe,
            key,
            seen,
        })
    }

    /// The signal this listener is for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// `Ready(Ok(()))` if the signal arrived (at least once) since the last delivery to this
    /// listener; otherwise park the task's waker and return `Pending`. An error means the
    /// reactor this listener was registered with has shut down (or reading the pipe failed).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            // 1. Has a dispatch — ours or another listener's, in any runtime — found our
            //    signal since we last looked? If not, join the waiter list (rule 4).
            if self.delivered_or_park(cx.waker()) {
                return Poll::Ready(Ok(()));
            }
            // 2. Are bytes waiting in the pipe? If not, the registration parks the waker
            //    too, and the next byte written wakes us through epoll.
            let ev = ready!(self.pipe.registration().poll_ready(cx, Direction::Read))?;
            // 3. Drain and dispatch, forget the readiness (the drain reached `WouldBlock`),
            //    and look at the generation again.
            dispatch(self_pipe()?)?;
            self.pipe.registration().clear_readiness(ev);
        }
    }

    /// Step 1 of `poll_recv`: deliver if the generation moved, else park `waker`.
    fn delivered_or_park(&mut self, waker: &Waker) -> bool {
        let slot = &SLOTS_TABLE[self.index];
        let mut waiters = lock(&slot.waiters);
        let parked = &mut waiters[self.key];
        let now = slot.generation.load(Ordering::SeqCst);
        if now != self.seen {
            self.seen = now;
            *parked = None;
            return true;
        }
        match parked {
            Some(w) if w.will_wake(waker) => {}
            _ => *parked = Some(waker.clone()),
        }
        false
    }
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        lock(&SLOTS_TABLE[self.index].waiters).remove(self.key);
        // `pipe` drops next: deregistered from epoll, the duplicate fd closed.
    }
}

impl fmt::Debug for SignalListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalListener")
            .field("kind", &self.kind)
            .field("seen", &self.seen)
            .finish()
    }
}

/// The self-pipe, created on first use: non-blocking and close-on-exec at both ends.
fn self_pipe() -> io::Result<&'static SelfPipe> {
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
fn install(index: usize) -> io::Result<()> {
    let mut installed = lock(&SLOTS_TABLE[index].installed);
    if *installed {
        return Ok(());
    }
    let signum = c_int::try_from(index).expect("slot indexes are signal numbers");
    // SAFETY: `libc::sigaction` is a C struct of integers, a signal set and a handler
    // address held as an integer; all zeroes is a valid value of it (SIG_DFL, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    let handler: extern "C" fn(c_int) = on_signal;
    action.sa_sigaction = handler as *const () as libc::sighandler_t;
    // SA_RESTART: a blocking syscall in another thread (a std read, say) interrupted by the
    // signal resumes instead of failing with EINTR.
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a valid, exclusively borrowed `sigset_t`.
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

/// Drain the pipe, then hand out every pending signal: bump its generation and wake its
/// listeners (rules 2 and 4). Any thread may dispatch at any time; dispatches may overlap.
fn dispatch(self_pipe: &SelfPipe) -> io::Result<()> {
    let mut sink = [0u8; 64];
    loop {
        match (&self_pipe.receiver).read(&mut sink) {
            // 0 would be end of file, impossible while `sender` lives; stop either way.
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut to_wake = Vec::new();
    for (pending, slot) in PENDING.iter().zip(&SLOTS_TABLE) {
        if pending.swap(false, Ordering::SeqCst) {
            let mut waiters = lock(&slot.waiters);
            slot.generation.fetch_add(1, Ordering::SeqCst);
            to_wake.extend(waiters.iter_mut().filter_map(|(_, w)| w.take()));
        }
    }
    wake_all(&mut to_wake);
    Ok(())
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
        // SAFETY: `location` returns the calling thread's errno slot, valid for the life of
        // the thread; reading it is what the C macro `errno` does.
        unsafe { *location() }
    }

    /// Write `errno`.
    pub(super) fn set(value: c_int) {
        // SAFETY: as in `get`; the slot is the calling thread's own.
        unsafe { *location() = value }
    }
}
