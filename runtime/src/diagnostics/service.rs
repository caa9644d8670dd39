//! The service thread: a private tempo runtime running the watchdog, the monitor console
//! and the SIGUSR1 dump listener, so they keep answering while the workers are blocked.
//!
//! The [`Runtime`](crate::Runtime) owns the [`Service`] and stops it when dropped, so this
//! file comes before the runtime in the crate's reading order — and cannot build the
//! service's own runtime itself. The runtime hands [`Service::start`] a function that
//! does ([`OwnRuntime`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::thread::JoinHandle as ThreadHandle;
use std::time::Duration;

use super::RuntimeDiag;
use crate::net::{TcpListener, TcpStream};
use crate::sync::oneshot;
use crate::task::JoinSet;

/// Runs the service's tasks to completion on a new plain runtime (one worker, no
/// diagnostics, `TEMPO_DEBUG` ignored) on the calling thread — the service thread. `Err` if
/// the runtime could not be built. Supplied by the runtime (`runtime/runtime.rs`).
pub(crate) type OwnRuntime = fn(Pin<Box<dyn Future<Output = ()>>>) -> io::Result<()>;

/// What the service thread should run.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceOptions {
    /// Run the watchdog with this threshold.
    pub(crate) watchdog: Option<Duration>,
    /// Serve the monitor console on this address (loopback only; `start` binds it).
    pub(crate) monitor: Option<std::net::SocketAddr>,
    /// Print a dump to stderr on SIGUSR1.
    pub(crate) dump_on_sigusr1: bool,
}

/// The running service thread; stopped and joined on drop.
pub(crate) struct Service {
    /// Tells the thread to stop.
    stop: Option<oneshot::Sender<()>>,
    /// The thread.
    thread: Option<ThreadHandle<()>>,
    /// Where the monitor listens, if it does.
    monitor_addr: Option<SocketAddr>,
}

/// Longest command line the console accepts.
const MAX_COMMAND: usize = 256;
/// A console connection silent this long is closed.
const CONSOLE_IDLE: Duration = Duration::from_secs(300);
/// At most this many console connections at once.
const MAX_CONSOLES: usize = 8;

impl Service {
    /// Start the thread, binding the monitor's listener first so that errors (a port in
    /// use, a non-loopback address) come back to `Builder::build`. The thread runs its
    /// tasks on a runtime of its own, which `own_runtime` builds.
    pub(crate) fn start(
        diag: Arc<RuntimeDiag>,
        opts: ServiceOptions,
        own_runtime: OwnRuntime,
    ) -> io::Result<Service> {
        let listener = match opts.monitor {
            Some(addr) => {
                if !addr.ip().is_loopback() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("tempo: the monitor console binds loopback only, not {addr}"),
                    ));
                }
                Some(std::net::TcpListener::bind(addr)?)
            }
            None => None,
        };
        let monitor_addr = listener.as_ref().map(|l| l.local_addr()).transpose()?;
        let (stop, stopped) = oneshot::channel::<()>();
        // The thread says when its signal listener is installed: `build` must not return
        // before, or a SIGUSR1 arriving just after it would meet the default action and kill
        // the process.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("tempo-diagnostics".into())
            .spawn(move || {
                let services = Box::pin(async move {
                    let mut services = JoinSet::new();
                    if opts.dump_on_sigusr1 {
                        match crate::signal::signal(crate::signal::SignalKind::User1) {
                            Ok(signals) => {
                                services.spawn(dump_on_sigusr1(diag.clone(), signals));
                            }
                            Err(e) => log::error!("tempo: cannot listen for SIGUSR1: {e}"),
                        }
                    }
                    let _ = ready_tx.send(());
                    if let Some(threshold) = opts.watchdog {
                        services.spawn(watchdog(diag.clone(), threshold));
                    }
                    if let Some(listener) = listener {
                        services.spawn(console(listener, diag.clone()));
                    }
                    let _ = stopped.await;
                    services.shutdown().await;
                });
                // Not a runtime with diagnostics: under TEMPO_DEBUG that would start a
                // service thread of its own, and so on without end. If it cannot be
                // built, `services` is dropped unrun, with `ready_tx` in it.
                if let Err(e) = own_runtime(services) {
                    log::error!("tempo: the diagnostics thread could not start its runtime: {e}");
                }
            })?;
        // An error here means the thread ended early (it logged why); go on without it.
        let _ = ready_rx.recv();
        Ok(Service {
            stop: Some(stop),
            thread: Some(thread),
            monitor_addr,
        })
    }

    /// Where the monitor console listens.
    pub(crate) fn monitor_addr(&self) -> Option<SocketAddr> {
        self.monitor_addr
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Report a worker stuck in one poll *while it is stuck*: asyncio only learns of a slow
/// callback once it returns. Looks four times per threshold, so a stuck poll is reported
/// within 1¼ thresholds of starting, once.
async fn watchdog(diag: Arc<RuntimeDiag>, threshold: Duration) {
    let period = (threshold / 4).clamp(Duration::from_millis(1), Duration::from_millis(250));
    let mut tick = crate::time::interval(period);
    tick.set_missed_tick_behavior(crate::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for worker in &diag.workers {
            if let Some(stuck) = worker.tasks.take_stuck_poll() {
                tempo_executor::diag::warn(format_args!(
                    "tempo watchdog: worker {} is blocked now: task {} {} has been running for \
                     {:?} in its poll #{}, and no other task, socket or timer on that worker \
                     can make progress until it returns",
                    worker.tasks.worker(),
                    stuck.task.id,
                    stuck.task.label(),
                    stuck.running_for,
                    stuck.poll,
                ));
            }
        }
    }
}

/// On each SIGUSR1, print a task dump to stderr (`kill -USR1 <pid>`).
async fn dump_on_sigusr1(diag: Arc<RuntimeDiag>, mut signals: crate::signal::Signal) {
    while signals.recv().await.is_some() {
        let dump = diag.dump();
        eprintln!("{dump}\n{}", dump.finished_table());
    }
}

/// The monitor console: a line protocol on a loopback TCP port (`nc 127.0.0.1 PORT`).
async fn console(listener: std::net::TcpListener, diag: Arc<RuntimeDiag>) {
    let listener = match listener
        .set_nonblocking(true)
        .and_then(|()| TcpListener::from_std(listener))
    {
        Ok(l) => l,
        Err(e) => {
            log::error!("tempo: monitor console: {e}");
            return;
        }
    };
    let mut sessions = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                log::warn!("tempo: monitor console: accept failed: {e}");
                crate::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        while sessions.try_join_next().is_some() {}
        if sessions.len() >= MAX_CONSOLES {
            let mut stream = stream;
            let _ = stream.write_all(b"too many console sessions\n").await;
            continue;
        }
        sessions.spawn(session(stream, diag.clone()));
    }
}

const HELP: &str = "commands: ps (live tasks), ps-finished (recently finished tasks and how \
                    they ended), stats (per-worker counters), help, quit\n";

/// One console connection: read a command line, answer, repeat.
async fn session(mut stream: TcpStream, diag: Arc<RuntimeDiag>) {
    let _ = stream.write_all(b"tempo monitor. ").await;
    let _ = stream.write_all(HELP.as_bytes()).await;
    let mut buf = [0u8; MAX_COMMAND];
    let mut len = 0;
    loop {
        if stream.write_all(b"> ").await.is_err() {
            return;
        }
        // Read one line, bounded in length and in idle time.
        let line = loop {
            if let Some(end) = buf[..len].iter().position(|&b| b == b'\n') {
                let line = String::from_utf8_lossy(&buf[..end]).trim().to_string();
                buf.copy_within(end + 1..len, 0);
                len -= end + 1;
                break line;
            }
            if len == buf.len() {
                let _ = stream.write_all(b"line too long\n").await;
                return;
            }
            match crate::time::timeout(CONSOLE_IDLE, stream.read(&mut buf[len..])).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
                Ok(Ok(n)) => len += n,
            }
        };
        let reply = match line.as_str() {
            "ps" => diag.dump().to_string(),
            "ps-finished" => diag.dump().finished_table(),
            "stats" => diag.stats(),
            "help" | "" => HELP.to_string(),
            "quit" | "exit" => return,
            other => format!("unknown command {other:?}; {HELP}"),
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
