//! [`RuntimeConfig`]: everything a runtime is built from, as plain data with its defaults.
//!
//! The public [`Builder`](crate::Builder) (`builder.rs`) is a set of documented setters over
//! one of these; [`Runtime::new`](crate::Runtime::new) uses the defaults. Keeping the data
//! here, below both, is what lets `runtime.rs` build a runtime without knowing the
//! `Builder`, and the diagnostics service build its own plain runtime.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::blocking::PoolsConfig;

/// Task polls between two looks at the reactor when tasks are always ready. tokio uses the
/// same default (61: a prime, so it does not fall into step with the application's cycles).
pub(super) const DEFAULT_EVENT_INTERVAL: usize = 61;

/// What a runtime is built from. Each field is documented at the `Builder` method that sets
/// it.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeConfig {
    /// See `Builder::workers`. At least 1.
    pub(super) workers: usize,
    /// Read `TEMPO_DEBUG`. False only for the diagnostics service's own runtime, which must
    /// not start a service of its own.
    pub(super) honour_env: bool,
    /// See `Builder::event_interval`.
    pub(super) event_interval: usize,
    /// See `Builder::park_spin`.
    pub(super) park_spin: Duration,
    /// The blocking and CPU pools' settings: see `Builder::max_blocking_threads` and the
    /// methods after it.
    pub(super) blocking: PoolsConfig,
    /// Diagnostics settings: see `Builder::diagnostics` and the methods after it.
    pub(super) diag: DiagConfig,
}

/// What the Builder's diagnostics methods set.
#[derive(Clone, Debug, Default)]
pub(super) struct DiagConfig {
    /// Keep task tables and loop statistics.
    pub(super) enabled: bool,
    /// Warn about polls (and whole run phases) longer than this; run the watchdog.
    pub(super) slow_poll: Option<Duration>,
    /// Serve the monitor console here (loopback only).
    pub(super) monitor: Option<SocketAddr>,
    /// Print a task dump to stderr on SIGUSR1.
    pub(super) dump_on_sigusr1: bool,
    /// Use the high-resolution timer mode at this resolution.
    pub(super) timer_resolution: Option<Duration>,
    /// Write a trace of the loop to this file.
    pub(super) trace: Option<PathBuf>,
    /// The most events the trace keeps per worker, if not the default.
    pub(super) trace_max_events: Option<usize>,
}

/// Where a runtime's trace goes, and who asked for it.
pub(super) enum TraceTarget {
    /// `Builder::trace`: a file that cannot be created fails the build.
    Builder(PathBuf),
    /// `TEMPO_TRACE`: a file that cannot be created is reported, and the program runs
    /// untraced — as it would have without the variable.
    Env(PathBuf),
}

impl Default for RuntimeConfig {
    /// One worker, no diagnostics unless `TEMPO_DEBUG` asks, the pools' defaults.
    fn default() -> RuntimeConfig {
        RuntimeConfig {
            workers: 1,
            honour_env: true,
            event_interval: DEFAULT_EVENT_INTERVAL,
            park_spin: Duration::ZERO,
            blocking: PoolsConfig::default(),
            diag: DiagConfig::default(),
        }
    }
}

impl RuntimeConfig {
    /// The diagnostics service's own runtime: the defaults, with `TEMPO_DEBUG` ignored.
    pub(super) fn plain() -> RuntimeConfig {
        RuntimeConfig {
            honour_env: false,
            ..RuntimeConfig::default()
        }
    }

    /// The diagnostics settings to build with: the Builder's, with `TEMPO_DEBUG` (if
    /// honoured and set) turning diagnostics on and supplying a slow-poll threshold the
    /// Builder did not.
    pub(super) fn effective_diag(&self) -> DiagConfig {
        let mut diag = self.diag.clone();
        let from_env = self
            .honour_env
            .then(crate::diagnostics::env_slow_poll)
            .flatten();
        if let Some(threshold) = from_env {
            diag.enabled = true;
            diag.slow_poll.get_or_insert(threshold);
        }
        diag
    }

    /// Where to write the trace: the Builder's file, or else (if honoured and set)
    /// `TEMPO_TRACE`'s.
    pub(super) fn trace_target(&self) -> Option<TraceTarget> {
        match &self.diag.trace {
            Some(path) => Some(TraceTarget::Builder(path.clone())),
            None => self
                .honour_env
                .then(crate::diagnostics::env_trace)
                .flatten()
                .map(TraceTarget::Env),
        }
    }
}
