//! How a task ends: with its output, cancelled, or panicked.
//!
//! The types here describe the end of a task to two audiences. [`JoinError`] is what the
//! code awaiting a `JoinHandle` receives when there is no output — asyncio's
//! `CancelledError`, or the task's own exception re-raised. [`Outcome`] and [`CancelCause`]
//! say the same for a record of the task (a task dump, a log line): how it ended, and if it
//! was cancelled, by whom. They sit low in the crate because the task allocation
//! (`task/raw.rs`) stores a `Result<Output, JoinError>` and reports an `Outcome`.

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::sync::Mutex;

/// Why a task was cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelCause {
    /// `JoinHandle::abort` or `AbortHandle::abort`, called here.
    Abort {
        /// The call site.
        at: &'static Location<'static>,
    },
    /// Cancelled by the runtime's machinery on the user's behalf, for this reason — a
    /// TaskGroup cancelling the siblings of a failed task, a JoinSet being dropped, a
    /// timeout or a lost `select!` dropping an abort-on-drop handle.
    Because {
        /// Why, in a few words.
        reason: &'static str,
        /// Where the code that cancelled it was called.
        at: &'static Location<'static>,
    },
    /// The runtime shut down with the task still running.
    Shutdown,
}

impl fmt::Display for CancelCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CancelCause::Abort { at } => write!(f, "abort() at {at}"),
            CancelCause::Because { reason, at } => write!(f, "{reason} (at {at})"),
            CancelCause::Shutdown => f.write_str("runtime shutdown"),
        }
    }
}

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It returned its output.
    Completed,
    /// It panicked, with this message if the payload was a string.
    Panicked(Option<String>),
    /// It was cancelled, for this reason if known.
    Cancelled(Option<CancelCause>),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Completed => f.write_str("completed"),
            Outcome::Panicked(Some(m)) => write!(f, "panicked: {m}"),
            Outcome::Panicked(None) => f.write_str("panicked"),
            Outcome::Cancelled(Some(c)) => write!(f, "cancelled by {c}"),
            Outcome::Cancelled(None) => f.write_str("cancelled"),
        }
    }
}

/// Why a task produced no output: it was cancelled, or it panicked.
///
/// asyncio's equivalents are `CancelledError` raised from `await task`, and the task's own
/// exception re-raised there.
#[doc(alias = "CancelledError")]
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    /// Boxed so that a task's output slot stays one word for `JoinError`.
    Panicked(Box<Panic>),
}

struct Panic {
    /// The panic message when the payload was a `&str` or `String` (it nearly always is).
    message: Option<String>,
    /// The payload, for `resume_unwind`. A Mutex makes `JoinError: Sync` without unsafe.
    payload: Mutex<Box<dyn Any + Send + 'static>>,
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    /// A `JoinError` for a panic caught with [`std::panic::catch_unwind`] — for code that
    /// runs a future under its own catch (a task group, say) and reports like a JoinHandle.
    pub fn from_panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError::panicked(payload)
    }

    pub(crate) fn panicked(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        JoinError {
            repr: Repr::Panicked(Box::new(Panic {
                message,
                payload: Mutex::new(payload),
            })),
        }
    }

    /// True if the task was cancelled: aborted, or dropped at runtime shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panicked(_))
    }

    /// The panic's message, if the task panicked with a string (`panic!("...")` does).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panicked(p) => p.message.as_deref(),
            Repr::Cancelled => None,
        }
    }

    /// The panic payload, to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .unwrap_or_else(|_| panic!("tempo: JoinError::into_panic on a cancelled task"))
    }

    /// Report a panic that no one will ever read — asyncio's "Task exception was never
    /// retrieved": `who` panicked and its handle was dropped unread. Like asyncio's report,
    /// it reaches stderr in a program that installed no logger (`log`'s records would go
    /// nowhere); with a logger, it is a `log` error record instead. (`log`'s level tells
    /// the two apart: it is `Off` until a logger is installed.)
    pub(crate) fn report_unread(&self, who: fmt::Arguments<'_>) {
        if log::max_level() != log::LevelFilter::Off {
            log::error!("tempo: {who}: {self}, and nobody read its JoinHandle");
        } else {
            eprintln!("tempo: {who}: {self}, and nobody read its JoinHandle");
        }
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panicked(p) => Ok(p.payload.into_inner().unwrap_or_else(|e| e.into_inner())),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panicked(p) => match &p.message {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::Panicked(p) => write!(f, "JoinError::Panicked({:?})", p.message),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}
