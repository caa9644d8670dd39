//! [`Builder`]: configuring a runtime — workers, the blocking pools, diagnostics.

use std::io;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use super::threads::{self, WorkerConfig};
use super::{DEFAULT_EVENT_INTERVAL, Handle, Runtime};
use crate::blocking::Pools;
use crate::diagnostics::service::ServiceOptions;
use crate::diagnostics::{RuntimeDiag, Service, WorkerDiag};
use crate::worker::Worker;

/// Configures and builds a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Builder {
    /// See [`Builder::workers`].
    workers: usize,
    /// Read `TEMPO_DEBUG`. False only for the diagnostics service's own runtime, which must
    /// not start a service of its own.
    honour_env: bool,
    /// See [`Builder::event_interval`].
    event_interval: usize,
    /// See [`Builder::park_spin`].
    park_spin: Duration,
    /// The blocking and CPU pools' settings: see [`Builder::max_blocking_threads`] and the
    /// methods after it.
    blocking: crate::blocking::Config,
    /// Diagnostics settings: see [`Builder::diagnostics`] and the methods after it.
    diag: DiagConfig,
}

/// What the Builder's diagnostics methods set.
#[derive(Clone, Debug, Default)]
struct DiagConfig {
    /// Keep task tables and loop statistics.
    enabled: bool,
    /// Warn about polls (and whole run phases) longer than this; run the watchdog.
    slow_poll: Option<Duration>,
    /// Serve the monitor console here (loopback only).
    monitor: Option<SocketAddr>,
    /// Print a task dump to stderr on SIGUSR1.
    dump_on_sigusr1: bool,
    /// Use the high-resolution timer mode at this resolution.
    timer_resolution: Option<Duration>,
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
            workers: 1,
            honour_env: true,
            event_interval: DEFAULT_EVENT_INTERVAL,
            park_spin: Duration::ZERO,
            blocking: crate::blocking::Config::default(),
            diag: DiagConfig::default(),
        }
    }

    /// How many workers: `n` complete loops, each on its own thread, no work stealing
    /// (`docs/DESIGN.md`, "Many cores"). Default 1, in which case the worker is the thread
    /// that calls `block_on`, as with tokio's `current_thread` runtime. `0` is taken as 1.
    pub fn workers(&mut self, n: usize) -> &mut Builder {
        self.workers = n.max(1);
        self
    }

    /// A plain runtime that ignores `TEMPO_DEBUG`: the diagnostics service's own.
    pub(crate) fn without_env(&mut self) -> &mut Builder {
        self.honour_env = false;
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
        self.park_spin = spin;
        self
    }

    /// One worker per core (as many as `std::thread::available_parallelism` says).
    pub fn worker_per_core(&mut self) -> &mut Builder {
        self.workers(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// Keep diagnostics: per-worker task tables (names, spawn locations, states, poll
    /// counts, busy time), the ring of recently finished tasks, loop statistics and the
    /// timer-lateness histogram — what [`Handle::dump`] and the monitor console show. Off by
    /// default; then they cost nothing measurable. `TEMPO_DEBUG=1` in the environment turns
    /// them on with a 100 ms slow-poll threshold, without recompiling.
    pub fn diagnostics(&mut self, on: bool) -> &mut Builder {
        self.diag.enabled = on;
        self
    }

    /// asyncio debug mode's `slow_callback_duration`: log a warning for every task poll
    /// longer than `threshold`, naming the task; log a warning for a run phase that takes
    /// longer as a whole (many short polls adding up); and start a watchdog that reports a
    /// worker stuck in one poll *while* it is stuck. Turns diagnostics on.
    #[doc(alias = "slow_callback_duration")]
    pub fn slow_poll_threshold(&mut self, threshold: Duration) -> &mut Builder {
        self.diag.enabled = true;
        self.diag.slow_poll = Some(threshold);
        self
    }

    /// Serve a monitor console on `addr`, which must be a loopback address (port 0 picks a
    /// free one; see [`Runtime::monitor_addr`]) — aiomonitor for tempo. Connect with
    /// `nc 127.0.0.1 PORT` and type `ps`, `ps-finished` or `stats`. It runs on its own
    /// thread, so it answers even while the workers are blocked. Turns diagnostics on. An
    /// address that does not resolve makes [`build`](Builder::build) fail.
    pub fn monitor(&mut self, addr: impl std::net::ToSocketAddrs) -> &mut Builder {
        self.diag.enabled = true;
        self.diag.monitor = addr.to_socket_addrs().ok().and_then(|mut a| a.next());
        if self.diag.monitor.is_none() {
            // Remembered as an unspecified address: `build` reports it.
            self.diag.monitor = Some(SocketAddr::from(([0, 0, 0, 0], 0)));
        }
        self
    }

    /// Print a task dump to stderr when the process receives SIGUSR1 (`kill -USR1 PID`) —
    /// `py-spy dump` for tempo tasks. Turns diagnostics on. Unix only.
    pub fn dump_on_sigusr1(&mut self, on: bool) -> &mut Builder {
        self.diag.enabled |= on;
        self.diag.dump_on_sigusr1 = on;
        self
    }

    /// Sleep with finer than millisecond precision: below 1 ms, the reactor arms a Linux
    /// `timerfd` for the nearest deadline instead of relying on `epoll_wait`'s millisecond
    /// timeout, so a 200 µs sleep wakes tens of microseconds late rather than a millisecond
    /// (tokio#5021). On other systems kqueue's nanosecond timeout is used as is. Costs a
    /// `timerfd_settime` when the nearest deadline changes.
    pub fn timer_resolution(&mut self, resolution: Duration) -> &mut Builder {
        self.diag.timer_resolution = Some(resolution);
        self
    }

    /// How many task polls the worker runs before it looks at the reactor again, when tasks
    /// are always ready. Lower is fairer to I/O and timers; higher spends fewer syscalls.
    /// Default 61.
    pub fn event_interval(&mut self, polls: usize) -> &mut Builder {
        self.event_interval = polls.max(1);
        self
    }

    /// The most threads the blocking pool ([`spawn_blocking`](crate::task::spawn_blocking))
    /// runs at once; more jobs than that wait in its queue. Default 512, as tokio's. At
    /// least 1.
    pub fn max_blocking_threads(&mut self, threads: usize) -> &mut Builder {
        self.blocking.max_blocking_threads = threads.max(1);
        self
    }

    /// How long a blocking-pool thread with no work waits for some before it exits.
    /// Default 10 s, as tokio's.
    pub fn blocking_keep_alive(&mut self, keep_alive: Duration) -> &mut Builder {
        self.blocking.blocking_keep_alive = keep_alive;
        self
    }

    /// Bound the blocking pool's queue to `jobs` jobs (at least 1): a job that finds it
    /// full waits, asynchronously, for a place — see [`blocking_slot`] for the producer
    /// side and the [`blocking`](crate::blocking) module for where memory can still grow.
    /// Default: unbounded.
    ///
    /// [`blocking_slot`]: crate::task::blocking_slot
    pub fn blocking_queue_limit(&mut self, jobs: usize) -> &mut Builder {
        self.blocking.blocking_queue_limit = Some(jobs.max(1));
        self
    }

    /// How many threads the CPU pool ([`spawn_cpu`](crate::task::spawn_cpu)) runs, started
    /// as jobs arrive and kept until shutdown. Default: the number of cores
    /// (`std::thread::available_parallelism`). At least 1.
    pub fn cpu_threads(&mut self, threads: usize) -> &mut Builder {
        self.blocking.cpu_threads = Some(threads.max(1));
        self
    }

    /// Bound the CPU pool's queue to `jobs` jobs (at least 1), as
    /// [`blocking_queue_limit`](Builder::blocking_queue_limit) does for the blocking pool;
    /// producers wait with [`cpu_slot`](crate::task::cpu_slot). Default: unbounded.
    pub fn cpu_queue_limit(&mut self, jobs: usize) -> &mut Builder {
        self.blocking.cpu_queue_limit = Some(jobs.max(1));
        self
    }

    /// How long dropping the runtime waits for blocking and CPU jobs that are still
    /// running; after that their threads are detached and finish on their own. Queued jobs
    /// do not wait: they are cancelled. Default 10 s.
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Builder {
        self.blocking.shutdown_timeout = timeout;
        self
    }

    /// Build the runtime: its workers (threads, if more than one), the pools, and — if
    /// diagnostics ask for them — the watchdog, monitor and SIGUSR1 listener.
    pub fn build(&self) -> io::Result<Runtime> {
        let mut diag = self.diag.clone();
        let from_env = self
            .honour_env
            .then(crate::diagnostics::env_slow_poll)
            .flatten();
        if let Some(threshold) = from_env {
            diag.enabled = true;
            diag.slow_poll.get_or_insert(threshold);
        }
        let config = WorkerConfig {
            event_interval: self.event_interval,
            diagnostics: diag.enabled.then_some(diag.slow_poll),
            timer_resolution: diag.timer_resolution,
            park_spin: self.park_spin,
        };
        // The loop `block_on` runs on this thread: with one worker, the worker itself.
        let mut driver = Worker::new(self.event_interval)?;
        let mut reports = Vec::with_capacity(self.workers);
        let mut started = Vec::new();
        if self.workers == 1 {
            reports.push(threads::configure(&mut driver, 0, &config)?);
        } else {
            // The driver runs only the block_on future (and its spawn_local tasks), with
            // the timer mode asked for but no diagnostics of its own.
            let driver_config = WorkerConfig {
                diagnostics: None,
                ..config.clone()
            };
            threads::configure(&mut driver, usize::MAX, &driver_config)?;
            for number in 0..self.workers {
                // A failure drops the threads started so far: they exit, never given a Handle.
                let (thread, report, handle_tx) = threads::start(number, config.clone())?;
                started.push((thread, handle_tx));
                reports.push(report);
            }
        }
        let blocking = Arc::new(Pools::new(&self.blocking));
        let live = reports.iter().map(|r| r.live.clone()).collect();
        let spawners = reports.iter().map(|r| r.spawner.clone()).collect();
        let workers: Vec<WorkerDiag> = reports.into_iter().filter_map(|r| r.diag).collect();
        let mut service = None;
        let runtime_diag = if diag.enabled {
            let pools = blocking.clone();
            let shared = Arc::new(RuntimeDiag {
                workers,
                extra_stats: Box::new(move || {
                    let s = pools.stats();
                    format!("blocking pool: {:?}\ncpu pool: {:?}\n", s.blocking, s.cpu)
                }),
            });
            if diag.slow_poll.is_some() || diag.monitor.is_some() || diag.dump_on_sigusr1 {
                service = Some(Service::start(
                    shared.clone(),
                    ServiceOptions {
                        watchdog: diag.slow_poll,
                        monitor: diag.monitor,
                        dump_on_sigusr1: diag.dump_on_sigusr1,
                    },
                )?);
            }
            Some(shared)
        } else {
            None
        };
        let handle = Handle {
            spawners,
            next: Arc::new(AtomicUsize::new(0)),
            blocking,
            diag: runtime_diag,
        };
        handle.blocking.set_context(Some(handle.clone()));
        let threads = started
            .into_iter()
            .map(|(thread, handle_tx)| {
                // A worker that has died cannot take the handle; its loop is gone, and its
                // tasks will be reported Cancelled.
                let _ = handle_tx.send(handle.clone());
                thread
            })
            .collect();
        Ok(Runtime {
            driver,
            threads,
            handle,
            service,
            live,
            _not_send: PhantomData,
        })
    }
}
