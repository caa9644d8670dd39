//! [`Builder`]: configuring a runtime — workers, the blocking pools, diagnostics — then
//! building it. The top of the runtime's files: each setter fills in a field of a
//! [`RuntimeConfig`] (`config.rs`), and [`Builder::build`] hands it to `runtime.rs`.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::config::RuntimeConfig;
use super::runtime::Runtime;

/// Configures and builds a [`Runtime`] — asyncio's `new_event_loop()` with the loop's
/// settings, and tokio's `runtime::Builder`.
#[derive(Clone, Debug)]
pub struct Builder {
    /// What the setters have set so far.
    config: RuntimeConfig,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The default configuration: one worker.
    pub fn new() -> Builder {
        Builder {
            config: RuntimeConfig::default(),
        }
    }

    /// How many workers: `n` complete loops, each on its own thread, no work stealing
    /// (`docs/DESIGN.md`, "Many cores"). Default 1, in which case the worker is the thread
    /// that calls `block_on`, as with tokio's `current_thread` runtime. With `n > 1` the
    /// `block_on` thread runs one more, smaller loop of its own (see [`Runtime`]): `n + 1`
    /// loops in all. `0` is taken as 1.
    pub fn workers(&mut self, n: usize) -> &mut Builder {
        self.config.workers = n.max(1);
        self
    }

    /// How long a worker that has run out of work keeps looking for more — polling the
    /// reactor without blocking — before it sleeps in `epoll_wait`. Default zero: sleep at
    /// once. On a VM, waking a sleeping core costs tens of microseconds (about 20 µs on
    /// the machines tempo is measured on), while a look costs a fraction of one; a short
    /// spin (tens of microseconds) cuts the latency of a request that arrives just after
    /// the worker ran dry, at the price of that much CPU per idle period. The `versus`
    /// benchmark measures both settings.
    pub fn park_spin(&mut self, spin: Duration) -> &mut Builder {
        self.config.park_spin = spin;
        self
    }

    /// One worker per core (as many as `std::thread::available_parallelism` says).
    pub fn worker_per_core(&mut self) -> &mut Builder {
        self.workers(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Keep diagnostics: per-worker task tables (names, spawn locations, states, poll
    /// counts, busy time), the ring of recently finished tasks, loop statistics and the
    /// timer-lateness histogram — what [`Handle::dump`](crate::Handle::dump) and the monitor
    /// console show. Off by default; then they cost nothing measurable. `TEMPO_DEBUG=1` in
    /// the environment turns them on with a 100 ms slow-poll threshold, without
    /// recompiling; its warnings go through `log` if the program installed a logger, and
    /// are printed on stderr if it did not (see [`slow_poll_threshold`](Builder::slow_poll_threshold)).
    pub fn diagnostics(&mut self, on: bool) -> &mut Builder {
        self.config.diag.enabled = on;
        self
    }

    /// asyncio debug mode's `slow_callback_duration`: log a warning for every task poll
    /// longer than `threshold`, naming the task; log a warning for a run phase that takes
    /// longer as a whole (many short polls adding up); and start a watchdog that reports a
    /// worker stuck in one poll *while* it is stuck. Turns diagnostics on.
    ///
    /// Debug mode speaks without setup: the warnings are `log` records if the program
    /// installed a logger (whose filters then decide what shows), and lines on stderr if it
    /// installed none — as asyncio's debug mode falls back to `logging`'s last-resort
    /// handler.
    #[doc(alias = "slow_callback_duration")]
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.config.diag.enabled = true;
        self.config.diag.slow_poll = Some(threshold);
        self
    }

    /// Serve a monitor console on `addr`, which must be a loopback address (port 0 picks a
    /// free one; see [`Runtime::monitor_addr`]) — aiomonitor for tempo. Connect with
    /// `nc 127.0.0.1 PORT` and type `ps`, `ps-finished` or `stats`. It runs on its own
    /// thread, so it answers even while the workers are blocked. Turns diagnostics on. An
    /// address that does not resolve makes [`build`](Builder::build) fail.
    pub fn monitor(&mut self, addr: impl std::net::ToSocketAddrs) -> &mut Builder {
        self.config.diag.enabled = true;
        self.config.diag.monitor = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
        if self.config.diag.monitor.is_none() {
            // Remembered as an unspecified address: `build` reports it.
            self.config.diag.monitor = Some(SocketAddr::from(([0, 0, 0, 0], 0)));
        }
        self
    }

    /// Print a task dump to stderr when the process receives SIGUSR1 (`kill -USR1 PID`) —
    /// `py-spy dump` for tempo tasks. Turns diagnostics on. Unix only.
    pub fn dump_on_sigusr1(&mut self, on: bool) -> &mut Builder {
        self.config.diag.enabled |= on;
        self.config.diag.dump_on_sigusr1 = on;
        self
    }

    /// Sleep with finer than millisecond precision: below 1 ms, the reactor arms a Linux
    /// `timerfd` for the nearest deadline instead of relying on `epoll_wait`'s millisecond
    /// timeout, so a 200 µs sleep wakes tens of microseconds late rather than a millisecond
    /// (tokio#5021). On other systems kqueue's nanosecond timeout is used as is. Costs a
    /// `timerfd_settime` when the nearest deadline changes.
    pub fn timer_resolution(&mut self, resolution: Duration) -> &mut Builder {
        self.config.diag.timer_resolution = Some(resolution);
        self
    }

    /// Record the loop and write it to `path` as a Chrome trace (JSON trace events) that
    /// opens in Perfetto (<https://ui.perfetto.dev>) or `chrome://tracing`: one track per
    /// worker with each task poll (named by the task's name, see
    /// [`task::Builder::name`](crate::task::Builder::name)) and each reactor turn (the time
    /// blocked in `epoll_wait`, the I/O events it returned, the timers it fired), and an
    /// arrow from each wake — a poll that woke or spawned a task, a turn that delivered its
    /// event or fired its timer, or another thread — to the poll it caused.
    /// `cargo run --example trace_view -- FILE` draws the same file as text.
    ///
    /// `TEMPO_TRACE=FILE` in the environment does the same for a program that did not ask,
    /// without recompiling (this setting wins over it). Off by default; off, it costs one
    /// branch per task poll, wake and spawn, one per `block_on` poll and two per reactor
    /// turn, and no clock read —
    /// the seams debug mode also uses — and it runs beside debug mode.
    ///
    /// The file is created by [`build`](Builder::build), which fails if it cannot be, and
    /// written when the runtime shuts down — when it is dropped, which is the end of
    /// [`run`](crate::run). Until then the events are held in memory, at most
    /// [`trace_max_events`](Builder::trace_max_events) per worker (a million by default);
    /// further ones are dropped and counted, and the shutdown says so on stderr (or through
    /// the application's logger) and in the file's `otherData`. A process that ends
    /// without shutting its runtime down — killed, or `std::process::exit` from inside it
    /// — leaves the file empty. One file holds one runtime: a second runtime of the process
    /// given the same path (as `TEMPO_TRACE` gives every runtime) writes to `FILE.2`, the
    /// next to `FILE.3`, and so on, and says so in a warning.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// let path = std::env::temp_dir().join(format!("tempo-doc-{}.json", std::process::id()));
    /// let runtime = tempo::Builder::new().trace(&path).build()?;
    /// runtime.block_on(async {
    ///     let nap = tempo::task::Builder::new()
    ///         .name("nap")
    ///         .spawn(tempo::time::sleep(std::time::Duration::from_millis(5)));
    ///     nap.await.expect("a sleep does not panic");
    /// });
    /// drop(runtime); // writes the trace
    /// let json = std::fs::read_to_string(&path)?;
    /// assert!(json.starts_with("{\"traceEvents\":["));
    /// assert!(json.contains("\"name\":\"nap\""));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace(&mut self, path: impl AsRef<Path>) -> &mut Builder {
        self.config.diag.trace = Some(path.as_ref().to_path_buf());
        self
    }

    /// The most events the [`trace`](Builder::trace) keeps for each worker (at least 1);
    /// later ones are dropped, counted, and reported at shutdown. Default
    /// [`DEFAULT_TRACE_MAX_EVENTS`](crate::diagnostics::DEFAULT_TRACE_MAX_EVENTS), a
    /// million: some 50 MB of memory and 150 MB of file per worker that fills it. A poll
    /// is one event, a reactor turn one, a wake one. Applies to `TEMPO_TRACE` too.
    ///
    /// ```
    /// # use tempo_runtime as tempo;
    /// let path = std::env::temp_dir().join(format!("tempo-doc-max-{}.json", std::process::id()));
    /// let runtime = tempo::Builder::new().trace(&path).trace_max_events(1_000).build()?;
    /// runtime.block_on(async {});
    /// # drop(runtime);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn trace_max_events(&mut self, events: usize) -> &mut Builder {
        self.config.diag.trace_max_events = Some(events.max(1));
        self
    }

    /// How many task polls the worker runs before it looks at the reactor again, when tasks
    /// are always ready. Lower is fairer to I/O and timers; higher spends fewer syscalls.
    /// Default 61.
    pub fn event_interval(&mut self, polls: usize) -> &mut Builder {
        self.config.event_interval = polls.max(1);
        self
    }

    /// The most threads the blocking pool ([`spawn_blocking`](crate::task::spawn_blocking))
    /// runs at once; more jobs than that wait in its queue. Default 512, as tokio's. At
    /// least 1.
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Builder {
        self.config.blocking.max_blocking_threads = threads.max(1);
        self
    }

    /// How long a blocking-pool thread with no work waits for some before it exits.
    /// Default 10 s, as tokio's.
    pub fn blocking_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.config.blocking.blocking_keep_alive = keep_alive;
        self
    }

    /// Bound the blocking pool's queue to `jobs` jobs (at least 1): a job that finds it
    /// full waits, asynchronously, for a place — see [`blocking_slot`] for the producer
    /// side and the [`blocking`](crate::blocking) module for where memory can still grow.
    /// Default: unbounded.
    ///
    /// [`blocking_slot`]: crate::task::blocking_slot
    pub fn blocking_queue_limit(&mut self, jobs: usize) -> &mut Builder {
        self.config.blocking.blocking_queue_limit = Some(jobs.max(1));
        self
    }

    /// How many threads the CPU pool ([`spawn_cpu`](crate::task::spawn_cpu)) runs, started
    /// as jobs arrive and kept until shutdown. Default: the number of cores
    /// (`std::thread::available_parallelism`). At least 1.
    pub fn cpu_threads(&mut self, threads: usize) -> &mut Builder {
        self.config.blocking.cpu_threads = Some(threads.max(1));
        self
    }

    /// Bound the CPU pool's queue to `jobs` jobs (at least 1), as
    /// [`blocking_queue_limit`](Builder::blocking_queue_limit) does for the blocking pool;
    /// producers wait with [`cpu_slot`](crate::task::cpu_slot). Default: unbounded.
    pub fn cpu_queue_limit(&mut self, jobs: usize) -> &mut Builder {
        self.config.blocking.cpu_queue_limit = Some(jobs.max(1));
        self
    }

    /// How long dropping the runtime waits for blocking and CPU jobs that are still
    /// running; after that their threads are detached and finish on their own. Queued jobs
    /// do not wait: they are cancelled. Default 10 s.
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Builder {
        self.config.blocking.shutdown_timeout = timeout;
        self
    }

    /// Build the runtime: its workers (threads, if more than one), the pools, and — if
    /// diagnostics ask for them — the watchdog, monitor and SIGUSR1 listener.
    pub fn build(&self) -> io::Result<Runtime> {
        Runtime::with_config(&self.config)
    }
}
