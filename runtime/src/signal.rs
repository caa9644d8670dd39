//! Signals: [`ctrl_c`] and [`signal`] — asyncio's `loop.add_signal_handler`, as a future
//! and a stream.
//!
//! Where this sits in the loop: the OS half lives in `tempo-reactor`'s `signal` module. A
//! signal's handler raises a flag and writes a byte into a process-wide self-pipe; each
//! [`Signal`] watches its own duplicate of the pipe's read end, registered with the reactor
//! of the worker it was created on. So a signal is, to the loop, one more readable file
//! descriptor: step 5 of the loop (`reactor.turn`) sees it and wakes the task awaiting
//! [`Signal::recv`], which drains the pipe and wakes every other listener of that signal,
//! in this runtime and in any other.
//!
//! What a listener can count on:
//!
//! - **Every listener hears every signal.** Two `signal(SignalKind::Terminate)` streams,
//!   in one runtime or in two, are both notified by one `SIGTERM`.
//! - **Nothing is lost while nobody is listening**: a signal that arrives while a
//!   [`Signal`] is not being polled — between two `recv`s, say — is delivered by the next
//!   `recv`. Signals that arrived before the `Signal` was created are not.
//! - **Deliveries coalesce.** Several signals between two `recv`s give one `Some(())`:
//!   "it came at least once since you last asked", as the kernel itself merges a standard
//!   signal that is already pending. Count signals, and you count fewer than were sent.
//! - **`recv` is cancellation-safe.** Dropping a `recv` future — the losing branch of a
//!   [`select!`](crate::select) — loses no signal: the delivery stays for the next `recv`.
//!
//! And what to know before using it:
//!
//! - **The handler stays.** The first listener of a signal installs tempo's handler for
//!   it, process-wide, for good: once anything has listened for `SIGINT`, Ctrl-C no longer
//!   ends the process by itself, even after every listener is dropped. A program that wants
//!   Ctrl-C to stop it must keep listening and stop itself.
//! - **One handler per signal per process.** tempo's replaces whatever handler was
//!   installed before (another library's, or `SIG_IGN` from `nohup`), and is replaced in
//!   turn by a later `sigaction` from elsewhere, after which tempo hears nothing.
//!
//! The lesson that uses all of this is graceful shutdown, in `examples/common/server.rs`
//! (the skeleton every example server shares): on `SIGINT` or `SIGTERM`, stop accepting, give open connections a
//! grace period, then exit 0 — what the asyncio texts do with `CancelledError` when
//! "Kubernetes kills pods".

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::{FusedStream, Stream};
use tempo_executor::coop;
use tempo_reactor::signal::SignalListener;

pub use tempo_reactor::signal::SignalKind;

/// A stream of one signal's deliveries: [`recv`](Signal::recv) returns each time the signal
/// has arrived (at least once) since the last `recv`.
///
/// Created by [`signal`]. It is `Send` and `Unpin`, and implements
/// [`futures_core::Stream`] with `Item = ()` (and `FusedStream`): `poll_next` is
/// [`poll_recv`](Signal::poll_recv), so the stream keeps `recv`'s promises, and it ends —
/// `None`, then `None` for ever — once its runtime has shut down. Dropping it stops
/// listening (see the [module docs](self) for what stays behind: the handler).
///
/// Mirrors asyncio's `loop.add_signal_handler(sig, callback)`; differs in being a stream
/// that a task awaits rather than a callback the loop calls, and in allowing any number of
/// listeners per signal — asyncio keeps one callback per signal per loop, and a second
/// `add_signal_handler` replaces the first.
#[doc(alias = "add_signal_handler")]
pub struct Signal {
    /// The reactor-side listener: a registered duplicate of the self-pipe and the last
    /// delivery this stream has seen.
    listener: SignalListener,
}

/// Listen for `kind` from now on.
///
/// ```
/// # use tempo_runtime as tempo;
/// use tempo::signal::{SignalKind, signal};
///
/// tempo::run(async {
///     let mut hangups = signal(SignalKind::Hangup)?;
///     // Someone else sends the signal: here, the `kill` command, from a thread so that
///     // waiting for it does not block the loop.
///     let pid = std::process::id().to_string();
///     std::thread::spawn(move || std::process::Command::new("kill").args(["-HUP", &pid]).status());
///     hangups.recv().await;
///     println!("SIGHUP: reloading the configuration");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// The stream is registered with the current worker's reactor, so it must be created
/// inside a runtime; it may then be moved to, and awaited from, any task.
///
/// # Errors
/// Outside a tempo runtime; for a signal that cannot be handled (`SIGKILL`, `SIGSTOP`, and
/// `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`, which report faults); when the process is out
/// of file descriptors (each `Signal` holds one).
#[doc(alias = "add_signal_handler")]
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    Ok(Signal {
        listener: SignalListener::new(kind)?,
    })
}

impl Signal {
    /// Wait for the signal. `Some(())` when it has arrived at least once since the last
    /// `recv` returned (several arrivals give one `Some`); `None` once no signal can
    /// arrive any more, because the runtime this stream was created in has shut down.
    ///
    /// Cancellation-safe: if the future is dropped before it finishes, the delivery it
    /// would have returned is kept for the next call.
    pub async fn recv(&mut self) -> Option<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll for the signal; what [`recv`](Signal::recv) and `Stream::poll_next` do.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        ready!(coop::poll_proceed(cx));
        // The listener's stream: deliveries, then its error once the reactor has shut
        // down, then its end. The error says nothing a `Signal` can act on, so it ends here.
        Pin::new(&mut self.listener)
            .poll_next(cx)
            .map(|next| next.and_then(Result::ok))
    }

    /// The signal this stream listens for.
    pub fn kind(&self) -> SignalKind {
        self.listener.kind()
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

/// Terminated once `recv` has returned `None`: the runtime has shut down.
impl FusedStream for Signal {
    fn is_terminated(&self) -> bool {
        self.listener.is_terminated()
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal")
            .field("kind", &self.kind())
            .finish()
    }
}

/// Wait for Ctrl-C (`SIGINT`).
///
/// The listener is created when the future is first polled; a `SIGINT` that arrives
/// before that is not seen (and once *any* listener for `SIGINT` has existed, it no longer
/// ends the process either; see the [module docs](self)). To be sure of catching the
/// first Ctrl-C, poll this future early — or create a [`signal`]`(SignalKind::Interrupt)`
/// stream up front, which also serves a second Ctrl-C.
///
/// ```no_run
/// # use tempo_runtime as tempo;
/// tempo::run(async {
///     println!("press Ctrl-C to stop");
///     tempo::signal::ctrl_c().await?;
///     println!("stopping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Mirrors asyncio's `add_signal_handler(SIGINT, ...)` and Python's `KeyboardInterrupt`;
/// differs from `KeyboardInterrupt` in arriving only where awaited, never in the middle
/// of other code.
///
/// # Errors
/// As [`signal`]; and if the runtime shuts down before a `SIGINT` comes.
#[doc(alias = "KeyboardInterrupt")]
#[doc(alias = "add_signal_handler")]
pub async fn ctrl_c() -> io::Result<()> {
    let mut listener = SignalListener::new(SignalKind::Interrupt)?;
    poll_fn(|cx| {
        ready!(coop::poll_proceed(cx));
        listener.poll_recv(cx)
    })
    .await
}
