//! The scale bench's child processes: one measurement on one runtime each
//! (`scale --child KIND RUNTIME COUNT`), and the tokio echo server the connections part sets
//! beside tempo's `echo` (`scale --serve-tokio-echo`).
//!
//! A child prints `ready`, measures, prints one line —
//! `result count=N rss_before=B rss_after=B after_ns=T` — and exits. `rss_before` and
//! `rss_after` are its `VmRSS` before the items were made and once every one of them is
//! pending; `after_ns` is the time of what follows (a drop, an abort, a wake), 0 if nothing
//! does. Exits 1 if the items did not end as they should (an abort that did not cancel, a
//! wake that did not finish a task).

use std::future::{Future, poll_fn};
use std::io::Write;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::procs::own_rss;

/// Items made before the maker yields until each of them has been polled once.
const BATCH: usize = 1024;
/// How long every sleep is: longer than any run, so none fires.
const FOREVER: Duration = Duration::from_secs(3600);
/// The tokio echo server's idle timeout and connection cap, as `echo` is started with.
const IDLE: Duration = Duration::from_secs(600);
const MAX_CONNS: usize = 20_000;

/// What a child measured.
#[derive(Clone, Copy, Debug)]
pub struct Figures {
    /// Items made.
    count: u64,
    /// RSS before, bytes.
    rss_before: u64,
    /// RSS with every item pending, bytes.
    rss_after: u64,
    /// The time of what followed, ns.
    after_ns: u64,
}

impl Figures {
    /// RSS growth per item, bytes.
    pub fn per_item(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.count.max(1) as f64
    }

    /// The time of what followed, ms.
    pub fn after_ms(&self) -> f64 {
        self.after_ns as f64 / 1e6
    }

    /// Reads a `result ...` line.
    pub fn parse(line: &str) -> Option<Figures> {
        let mut f = Figures {
            count: 0,
            rss_before: 0,
            rss_after: 0,
            after_ns: 0,
        };
        for pair in line.strip_prefix("result ")?.split_whitespace() {
            let (key, value) = pair.split_once('=')?;
            let value = value.parse().ok()?;
            match key {
                "count" => f.count = value,
                "rss_before" => f.rss_before = value,
                "rss_after" => f.rss_after = value,
                "after_ns" => f.after_ns = value,
                _ => return None,
            }
        }
        Some(f)
    }

    fn print(&self) {
        println!(
            "result count={} rss_before={} rss_after={} after_ns={}",
            self.count, self.rss_before, self.rss_after, self.after_ns
        );
        let _ = std::io::stdout().flush();
    }
}

/// `--child KIND RUNTIME COUNT`.
pub fn child(args: &[String]) -> ExitCode {
    let (Some(kind), Some(runtime), Some(count)) = (
        args.first(),
        args.get(1),
        args.get(2).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("scale --child needs KIND RUNTIME COUNT");
        return ExitCode::from(2);
    };
    println!("ready");
    let result = match runtime.as_str() {
        "tempo" => on_tempo(kind, count),
        "tokio" => on_tokio(kind, count),
        other => Err(format!("unknown runtime {other}")),
    };
    match result {
        Ok(figures) => {
            figures.print();
            // A million pending tasks take a while to tear down, and it measures nothing:
            // leave without it.
            std::process::exit(0);
        }
        Err(e) => {
            eprintln!("scale --child {kind} {runtime}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// RSS now, or 0 if `/proc` cannot say (the figure is then visibly wrong, not hidden).
fn rss() -> u64 {
    own_rss().unwrap_or(0)
}

/// Spawns `count` tasks with `spawn`, in batches, each batch polled once (each task counts
/// itself into `polled` on its first poll) before the next.
async fn spawn_all<Y: Future<Output = ()>>(
    count: usize,
    polled: &AtomicUsize,
    mut spawn: impl FnMut(),
    yield_now: impl Fn() -> Y,
) {
    let mut spawned = 0;
    while spawned < count {
        let n = BATCH.min(count - spawned);
        for _ in 0..n {
            spawn();
        }
        spawned += n;
        while polled.load(Ordering::Relaxed) < spawned {
            yield_now().await;
        }
    }
}

/// Arms every sleep in `sleeps`: polls each once, from the task that holds them.
async fn arm<S: Future<Output = ()> + ?Sized>(sleeps: &mut [Pin<Box<S>>]) {
    poll_fn(|cx| {
        for s in sleeps.iter_mut() {
            let _ = s.as_mut().poll(cx);
        }
        Poll::Ready(())
    })
    .await;
}

fn on_tempo(kind: &str, count: usize) -> Result<Figures, String> {
    let runtime = tempo::Builder::new()
        .workers(1)
        .build()
        .map_err(|e| e.to_string())?;
    let polled = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        let rss_before = rss();
        let mut after_ns = 0;
        let yield_now = tempo::task::yield_now;
        match kind {
            "sleeps" => {
                let mut sleeps = Vec::with_capacity(count);
                while sleeps.len() < count {
                    let first = sleeps.len();
                    for _ in first..count.min(first + BATCH) {
                        sleeps.push(Box::pin(tempo::time::sleep(FOREVER)));
                    }
                    arm(&mut sleeps[first..]).await;
                }
                let rss_after = rss();
                let started = Instant::now();
                drop(sleeps);
                after_ns = started.elapsed().as_nanos() as u64;
                return Ok(figures(count, rss_before, rss_after, after_ns));
            }
            "sleeping-tasks" => {
                spawn_all(
                    count,
                    &polled,
                    || {
                        let polled = polled.clone();
                        let _detached = tempo::spawn(async move {
                            polled.fetch_add(1, Ordering::Relaxed);
                            tempo::time::sleep(FOREVER).await;
                        });
                    },
                    yield_now,
                )
                .await;
            }
            "waiting-tasks" => {
                let event = Arc::new(tempo::sync::Event::new());
                let done = Arc::new(AtomicUsize::new(0));
                spawn_all(
                    count,
                    &polled,
                    || {
                        let (polled, event, done) = (polled.clone(), event.clone(), done.clone());
                        let _detached = tempo::spawn(async move {
                            polled.fetch_add(1, Ordering::Relaxed);
                            event.wait().await;
                            done.fetch_add(1, Ordering::Relaxed);
                        });
                    },
                    yield_now,
                )
                .await;
                let rss_after = rss();
                let started = Instant::now();
                event.set();
                while done.load(Ordering::Relaxed) < count {
                    yield_now().await;
                }
                after_ns = started.elapsed().as_nanos() as u64;
                return Ok(figures(count, rss_before, rss_after, after_ns));
            }
            "abort" => {
                let mut handles = Vec::with_capacity(count);
                spawn_all(
                    count,
                    &polled,
                    || {
                        let polled = polled.clone();
                        handles.push(tempo::spawn(async move {
                            polled.fetch_add(1, Ordering::Relaxed);
                            tempo::time::sleep(FOREVER).await;
                        }));
                    },
                    yield_now,
                )
                .await;
                let rss_after = rss();
                let started = Instant::now();
                for h in &handles {
                    h.abort();
                }
                let mut cancelled = 0;
                for h in handles {
                    if h.await.is_err_and(|e| e.is_cancelled()) {
                        cancelled += 1;
                    }
                }
                after_ns = started.elapsed().as_nanos() as u64;
                if cancelled != count {
                    return Err(format!(
                        "{cancelled} of {count} aborted tasks ended cancelled"
                    ));
                }
                return Ok(figures(count, rss_before, rss_after, after_ns));
            }
            other => return Err(format!("unknown measurement {other}")),
        }
        Ok(figures(count, rss_before, rss(), after_ns))
    })
}

fn on_tokio(kind: &str, count: usize) -> Result<Figures, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    let polled = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        let rss_before = rss();
        let mut after_ns = 0;
        let yield_now = tokio::task::yield_now;
        match kind {
            "sleeps" => {
                let mut sleeps = Vec::with_capacity(count);
                while sleeps.len() < count {
                    let first = sleeps.len();
                    for _ in first..count.min(first + BATCH) {
                        sleeps.push(Box::pin(tokio::time::sleep(FOREVER)));
                    }
                    arm(&mut sleeps[first..]).await;
                }
                let rss_after = rss();
                let started = Instant::now();
                drop(sleeps);
                after_ns = started.elapsed().as_nanos() as u64;
                return Ok(figures(count, rss_before, rss_after, after_ns));
            }
            "sleeping-tasks" => {
                spawn_all(
                    count,
                    &polled,
                    || {
                        let polled = polled.clone();
                        tokio::spawn(async move {
                            polled.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(FOREVER).await;
                        });
                    },
                    yield_now,
                )
                .await;
            }
            "waiting-tasks" => {
                let notify = Arc::new(tokio::sync::Notify::new());
                let done = Arc::new(AtomicUsize::new(0));
                spawn_all(
                    count,
                    &polled,
                    || {
                        let (polled, notify, done) = (polled.clone(), notify.clone(), done.clone());
                        tokio::spawn(async move {
                            polled.fetch_add(1, Ordering::Relaxed);
                            notify.notified().await;
                            done.fetch_add(1, Ordering::Relaxed);
                        });
                    },
                    yield_now,
                )
                .await;
                let rss_after = rss();
                let started = Instant::now();
                notify.notify_waiters();
                while done.load(Ordering::Relaxed) < count {
                    yield_now().await;
                }
                after_ns = started.elapsed().as_nanos() as u64;
                return Ok(figures(count, rss_before, rss_after, after_ns));
            }
            "abort" => {
                let mut handles = Vec::with_capacity(count);
                spawn_all(
                    count,
                    &polled,
                    || {
                        let polled = polled.clone();
                        handles.push(tokio::spawn(async move {
                            polled.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(FOREVER).await;
                        }));
                    },
                    yield_now,
                )
                .await;
                let rss_after = rss();
                let started = Instant::now();
                for h in &handles {
                    h.abort();
                }
                let mut cancelled = 0;
                for h in handles {
                    if h.await.is_err_and(|e| e.is_cancelled()) {
                        cancelled += 1;
                    }
                }
                after_ns = started.elapsed().as_nanos() as u64;
                if cancelled != count {
                    return Err(format!(
                        "{cancelled} of {count} aborted tasks ended cancelled"
                    ));
                }
                return Ok(figures(count, rss_before, rss_after, after_ns));
            }
            other => return Err(format!("unknown measurement {other}")),
        }
        Ok(figures(count, rss_before, rss(), after_ns))
    })
}

fn figures(count: usize, rss_before: u64, rss_after: u64, after_ns: u64) -> Figures {
    Figures {
        count: count as u64,
        rss_before,
        rss_after,
        after_ns,
    }
}

/// `--serve-tokio-echo`: `examples/echo.rs`'s server on tokio's `current_thread` runtime,
/// the same shape line for line — an accept loop that reaps finished connections from a
/// `JoinSet` and enforces the cap, a task per connection with its 4 KiB buffer inside, a
/// timeout around every read and every write — so that the connections part compares the
/// runtimes, not two designs. It has no graceful shutdown; the bench kills it.
pub fn serve_tokio_echo() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio echo: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served: std::io::Result<()> = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("listening on {}", listener.local_addr()?);
        std::io::stdout().flush()?;
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                biased;
                Some(_) = conns.join_next() => continue,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) if conns.len() < MAX_CONNS => {
                        conns.spawn(tokio_connection(stream));
                    }
                    Ok(_) => {} // over the cap: dropped, so closed
                    // Out of descriptors, as echo does: rest, then try again.
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                },
            }
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio echo: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One connection of the tokio echo server.
async fn tokio_connection(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::timeout;
    let _ = stream.set_nodelay(true);
    let mut buf = [0u8; 4096];
    loop {
        let n = match timeout(IDLE, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(n)) => n,
        };
        if !matches!(timeout(IDLE, stream.write_all(&buf[..n])).await, Ok(Ok(()))) {
            return;
        }
    }
}
