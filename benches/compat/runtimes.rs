//! The rows' ingredients: the work each call awaits, the ways of reaching it, and the
//! runtimes they run on (tempo, tokio `current_thread`, and two side tokio runtimes reached
//! through their handles). `Runtimes::run` times one row's calls for the ready and yield
//! work; the echo's rows are in `echo.rs`.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use async_compat::Compat;

use crate::census::{Census, counted};

/// The tokio-side work each call awaits.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Work {
    /// Completes at its first poll.
    Ready,
    /// `Pending` once, then complete.
    Yield,
    /// One byte's round trip over a loopback TCP connection to a plain-thread echo server:
    /// the client's wake comes from whichever reactor holds its socket.
    Echo,
}

impl Work {
    /// Its name on a `--child` command line.
    pub(crate) fn arg(self) -> &'static str {
        match self {
            Work::Ready => "ready",
            Work::Yield => "yield",
            Work::Echo => "echo",
        }
    }

    /// The inverse of [`Work::arg`].
    pub(crate) fn from_arg(arg: &str) -> Work {
        match arg {
            "yield" => Work::Yield,
            "echo" => Work::Echo,
            _ => Work::Ready,
        }
    }
}

/// The ways that make sense for `work`: the echo keeps one connection, so it has no
/// spawn-per-call rows except the handle's, which moves the socket there and back.
pub(crate) fn applies(way: Way, work: Work) -> bool {
    work != Work::Echo
        || matches!(
            way,
            Way::TempoInPlace | Way::TokioInPlace | Way::Compat | Way::HandleMultiThread
        )
}

/// How the awaiting task reaches the work. See the table in the crate doc.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Way {
    TempoInPlace,
    TokioInPlace,
    Compat,
    TempoSpawn,
    TokioSpawn,
    HandleMultiThread,
    HandleCurrentThread,
    CompatTokioSpawn,
}

pub(crate) const WAYS: [(Way, &str); 8] = [
    (Way::TempoInPlace, "tempo, in place"),
    (Way::TokioInPlace, "tokio, in place"),
    (Way::Compat, "compat"),
    (Way::TempoSpawn, "tempo, spawn+join"),
    (Way::TokioSpawn, "tokio, spawn+join"),
    (Way::HandleMultiThread, "handle, multi_thread"),
    (Way::HandleCurrentThread, "handle, current_thread"),
    (Way::CompatTokioSpawn, "compat + tokio::spawn"),
];

/// The native row a way is compared with: the same shape of call, all in tempo (for the
/// echo, tempo's own socket).
pub(crate) fn baseline(way: Way, work: Work) -> Way {
    match way {
        Way::TempoInPlace | Way::TokioInPlace | Way::Compat => Way::TempoInPlace,
        _ if work == Work::Echo => Way::TempoInPlace,
        _ => Way::TempoSpawn,
    }
}

pub(crate) async fn tokio_work(work: Work) {
    if work == Work::Yield {
        tokio::task::yield_now().await;
    }
}

pub(crate) async fn tempo_work(work: Work) {
    if work == Work::Yield {
        tempo::task::yield_now().await;
    }
}

/// Every runtime a row needs, built once and reused by every round.
pub(crate) struct Runtimes {
    pub(crate) tempo: tempo::Runtime,
    pub(crate) tokio: tokio::runtime::Runtime,
    pub(crate) side_multi: tokio::runtime::Runtime,
    pub(crate) side_current: SideCurrentThread,
}

/// A tokio `current_thread` runtime held open by a thread of its own, as async-compat
/// holds its own: the thread blocks on a future that ends only at shutdown.
pub(crate) struct SideCurrentThread {
    pub(crate) handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SideCurrentThread {
    fn start() -> SideCurrentThread {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("build the side current_thread runtime");
        let handle = rt.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = thread::Builder::new()
            .name("side-tokio-ct".into())
            .spawn(move || {
                let _ = rt.block_on(stopped);
            })
            .expect("spawn the side runtime's thread");
        SideCurrentThread {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for SideCurrentThread {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        let _ = self.thread.take().map(thread::JoinHandle::join);
    }
}

impl Runtimes {
    pub(crate) fn new() -> Runtimes {
        Runtimes {
            tempo: tempo::Runtime::new().expect("build tempo"),
            tokio: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build tokio"),
            side_multi: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("side-tokio-mt")
                .enable_all()
                .build()
                .expect("build the side multi_thread runtime"),
            side_current: SideCurrentThread::start(),
        }
    }

    /// Run `calls` calls of `way` on `work` (ready or yield) in a task of the right
    /// runtime, and return the time they took. With a census, each call's future is
    /// wrapped so that its wakes are counted (for the untimed pass only).
    pub(crate) fn run(
        &self,
        way: Way,
        work: Work,
        calls: usize,
        census: Option<Arc<Census>>,
    ) -> Duration {
        let multi = self.side_multi.handle().clone();
        let current = self.side_current.handle.clone();
        match way {
            Way::TokioInPlace | Way::TokioSpawn => self.tokio.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..calls {
                        if way == Way::TokioInPlace {
                            counted(tokio_work(work), &census).await;
                        } else {
                            counted(tokio::spawn(tokio_work(work)), &census)
                                .await
                                .unwrap();
                        }
                    }
                    start.elapsed()
                })
                .await
                .expect("the tokio row ran")
            }),
            _ => self.tempo.block_on(async move {
                tempo::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..calls {
                        match way {
                            Way::TempoInPlace => counted(tempo_work(work), &census).await,
                            Way::Compat => counted(Compat::new(tokio_work(work)), &census).await,
                            Way::TempoSpawn => counted(tempo::spawn(tempo_work(work)), &census)
                                .await
                                .unwrap(),
                            Way::HandleMultiThread => {
                                counted(multi.spawn(tokio_work(work)), &census)
                                    .await
                                    .unwrap()
                            }
                            Way::HandleCurrentThread => {
                                counted(current.spawn(tokio_work(work)), &census)
                                    .await
                                    .unwrap()
                            }
                            Way::CompatTokioSpawn => {
                                // The whole library call under Compat: it spawns, and awaits.
                                let call =
                                    Compat::new(
                                        async move { tokio::spawn(tokio_work(work)).await },
                                    );
                                counted(call, &census).await.unwrap()
                            }
                            Way::TokioInPlace | Way::TokioSpawn => unreachable!(),
                        }
                    }
                    start.elapsed()
                })
                .await
                .expect("the tempo row ran")
            }),
        }
    }
}
