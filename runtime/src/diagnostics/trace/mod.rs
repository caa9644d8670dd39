//! The loop, visible: a trace of every poll, reactor turn and wake, written as Chrome
//! trace-event JSON for Perfetto or `chrome://tracing` — turned on with
//! [`Builder::trace`](crate::Builder::trace) or `TEMPO_TRACE=FILE`.
//!
//! It watches through the two seams diagnostics use and nothing else: each worker's
//! executor tells a [`Recorder`] about its tasks (`TaskObserver`), and its loop tells the
//! same recorder about the `block_on` future's polls and the reactor's turns
//! (`LoopObserver`, `../observe.rs`). Off, it costs what those seams cost empty: one branch
//! per task poll, wake and spawn, one per `block_on` poll and two per reactor turn, and no
//! clock read.
//!
//! The files, in reading order:
//!
//! 1. `json.rs` — JSON strings and times, written by hand (the runtime has no JSON library).
//! 2. `recorder.rs` — [`Recorder`]: one worker's events, and who woke whom.
//! 3. `file.rs` — [`TraceFile`]: the runtime's recorders, and the file written at shutdown.

// 1. Writing JSON.
mod json;

// 2. One worker's events.
mod recorder;

// 3. The runtime's trace file.
mod file;

pub use file::DEFAULT_TRACE_MAX_EVENTS;
pub(crate) use file::TraceFile;
pub(crate) use recorder::Track;
