//! The signals by name: [`SignalKind`], asyncio's `signal.SIGINT`, `signal.SIGTERM`, …,
//! and which signal numbers may be listened for at all. The first file of `signal/`; it
//! knows nothing of handlers or listeners, and a `SignalListener` (`listener.rs`) asks it
//! for the slot of the signal it listens for.

#![forbid(unsafe_code)]

use std::fmt;
use std::io;

use libc::c_int;

/// One slot per signal number, 1 to 64 (Linux's `SIGRTMAX`; macOS stops at 31).
pub(super) const SLOTS: usize = 65;

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
    pub(super) fn slot_index(self) -> io::Result<usize> {
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
