//! [`TraceFile`]: a runtime's trace — the file it goes to, the clock its times count from,
//! every worker's [`Recorder`] — and the writing of it, once, at shutdown.
//!
//! The file is Chrome's trace-event format (the "JSON Object Format": one object holding a
//! `traceEvents` array), which Perfetto (<https://ui.perfetto.dev>) and `chrome://tracing`
//! open. What it holds:
//!
//! | event | `ph` | on track | what |
//! |-------|------|----------|------|
//! | a worker's name | `M` `thread_name` | each worker | `worker N` (or `block_on thread`) |
//! | a poll | `X` (cat `poll`) | the worker | named by the task (`async sleep 1`), or `task 3.1` if it has no name; `block_on future` for the main future |
//! | a reactor turn | `X` (cat `turn`) | the worker | `epoll_wait` (`kevent` on BSD and macOS), with the I/O events, timers fired and wakers woken |
//! | a wake | `s` then `f` (cat `wake`) | waker's track → woken poll's | an arrow from the poll or turn that woke a task to the poll it caused |
//! | a wake from another thread | `X` (cat `remote`) | `worker N: other threads` | the interval in which it came, where its arrow starts |
//!
//! Times are microseconds since the runtime was built, with three decimals (nanoseconds).
//! `otherData` notes the cap on events and how many were dropped.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::json;
use super::recorder::{Event, Polled, Recorder, Track, Waker};

/// What `Builder::trace` keeps at most per worker unless `Builder::trace_max_events` says
/// otherwise: about 50 MB of memory (some 50 bytes an event) and 150 MB of file for each
/// worker that fills it.
pub const DEFAULT_TRACE_MAX_EVENTS: usize = 1_000_000;

/// The trace files this process's runtimes have written or are writing.
static CLAIMED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// `path`, or the first of `path.2`, `path.3`, … that no other runtime of this process has
/// claimed; claimed now, for the life of the process — so that runtimes run one after
/// another keep their traces too (a program that builds a thousand traced runtimes holds a
/// thousand small paths).
fn claim(path: &Path) -> PathBuf {
    let mut claimed = CLAIMED.lock().unwrap_or_else(|p| p.into_inner());
    let mut chosen = path.to_path_buf();
    let mut n = 1;
    while claimed.contains(&claim_key(&chosen)) {
        n += 1;
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        chosen = PathBuf::from(name);
    }
    if n > 1 {
        tempo_executor::diag::warn(format_args!(
            "tempo: trace file {} is another runtime's in this process; this runtime's trace \
             goes to {}",
            path.display(),
            chosen.display()
        ));
    }
    claimed.push(claim_key(&chosen));
    chosen
}

/// How a claim is recorded: the absolute path, so `t.json` and `./t.json` are one file.
fn claim_key(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Gives back a claim whose file could not be created.
fn unclaim(path: &Path) {
    let key = claim_key(path);
    let mut claimed = CLAIMED.lock().unwrap_or_else(|p| p.into_inner());
    claimed.retain(|p| *p != key);
}

/// The name of a reactor turn: the system call it waits in.
const TURN: &str = if cfg!(any(target_os = "linux", target_os = "android")) {
    "epoll_wait"
} else {
    "kevent"
};

/// A runtime's trace, from its build to its shutdown. See the module doc.
pub(crate) struct TraceFile {
    /// Where it goes.
    path: PathBuf,
    /// The file, created when the runtime was built and written once; `None` after.
    file: Mutex<Option<File>>,
    /// Time zero.
    epoch: Instant,
    /// The cap given to each recorder.
    max_events: usize,
    /// Every loop's recorder, in the order their tracks are listed.
    recorders: Mutex<Vec<Arc<Recorder>>>,
}

impl std::fmt::Debug for TraceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TraceFile {
    /// Create (or truncate) the file now, so that a path that cannot be written fails the
    /// build rather than the shutdown. It stays empty until [`finish`](Self::finish).
    ///
    /// One file holds one runtime's trace. A second runtime of the process given the same
    /// path (`TEMPO_TRACE` applies to every runtime) writes beside it instead — `FILE.2`,
    /// `FILE.3`, …, said in a warning — so that neither truncates nor interleaves with the
    /// other's.
    pub(crate) fn create(path: &Path, max_events: usize) -> io::Result<Arc<TraceFile>> {
        let path = &claim(path);
        let file = File::create(path).map_err(|e| {
            unclaim(path);
            io::Error::new(
                e.kind(),
                format!("tempo: trace file {}: {e}", path.display()),
            )
        })?;
        Ok(Arc::new(TraceFile {
            path: path.to_path_buf(),
            file: Mutex::new(Some(file)),
            epoch: Instant::now(),
            max_events: max_events.max(1),
            recorders: Mutex::new(Vec::new()),
        }))
    }

    /// A recorder for one loop, to install as its observers.
    pub(crate) fn recorder(&self, track: Track, record_main: bool) -> Arc<Recorder> {
        let recorder = Arc::new(Recorder::new(
            track,
            record_main,
            self.epoch,
            self.max_events,
        ));
        self.recorders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(recorder.clone());
        recorder
    }

    /// Write the trace, once every loop has stopped. A failure, or events dropped at the
    /// cap, is reported as debug mode reports (`tempo_executor::diag::warn`): stderr, or the
    /// application's logger. A second call does nothing.
    pub(crate) fn finish(&self) {
        let Some(file) = self.file.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let recorders =
            std::mem::take(&mut *self.recorders.lock().unwrap_or_else(|p| p.into_inner()));
        let mut taken = Vec::with_capacity(recorders.len());
        let mut dropped = 0;
        for recorder in &recorders {
            let (events, lost) = recorder.take();
            dropped += lost;
            taken.push((recorder.track, events));
        }
        let mut out = BufWriter::new(file);
        let written =
            write_trace(&mut out, &taken, self.max_events, dropped).and_then(|()| out.flush());
        if let Err(e) = written {
            tempo_executor::diag::warn(format_args!(
                "tempo: could not write the trace to {}: {e}",
                self.path.display()
            ));
        }
        if dropped > 0 {
            tempo_executor::diag::warn(format_args!(
                "tempo: trace {}: {dropped} events dropped: each worker keeps its first {} \
                 (Builder::trace_max_events)",
                self.path.display(),
                self.max_events
            ));
        }
    }
}

/// A track's thread id in the file.
fn tid(track: Track) -> u64 {
    match track {
        Track::Worker(n) => n as u64,
        Track::BlockOn => 100_000,
    }
}

/// The thread id of the track where wakes from other threads to `track` begin.
fn remote_tid(track: Track) -> u64 {
    tid(track) + 200_000
}

fn track_name(track: Track) -> String {
    match track {
        Track::Worker(n) => format!("worker {n}"),
        Track::BlockOn => "block_on thread".to_string(),
    }
}

/// Writes the trace-event JSON: metadata, then each loop's events in the order recorded.
fn write_trace(
    out: &mut impl Write,
    tracks: &[(Track, Vec<Event>)],
    max_events: usize,
    dropped: u64,
) -> io::Result<()> {
    let pid = std::process::id();
    let program = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tempo".to_string());
    let mut w = EventWriter {
        out,
        pid,
        first: true,
        next_flow: 1,
    };
    w.out.write_all(b"{\"traceEvents\":[")?;
    w.metadata(0, "process_name", "name", &format!("tempo: {program}"))?;
    for (i, (track, events)) in tracks.iter().enumerate() {
        let name = track_name(*track);
        w.metadata(tid(*track), "thread_name", "name", &name)?;
        w.sort_index(tid(*track), 2 * i)?;
        let remote = events.iter().any(|e| {
            matches!(
                e,
                Event::Flow {
                    wake: super::recorder::Wake {
                        by: Waker::Remote { .. },
                        ..
                    },
                    ..
                }
            )
        });
        if remote {
            let remote_name = format!("{name}: other threads");
            w.metadata(remote_tid(*track), "thread_name", "name", &remote_name)?;
            w.sort_index(remote_tid(*track), 2 * i + 1)?;
        }
    }
    for (track, events) in tracks {
        w.track(*track, events)?;
    }
    write!(
        w.out,
        "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{{\"clock\":\"microseconds since the \
         runtime was built\",\"max_events_per_worker\":\"{max_events}\",\"dropped_events\":\
         \"{dropped}\"}}}}\n"
    )
}

/// Writes events one per line, with the commas between them.
struct EventWriter<'a, W: Write> {
    /// The file.
    out: &'a mut W,
    /// The process id every event carries.
    pid: u32,
    /// No event written yet: no comma before the next.
    first: bool,
    /// The id of the next flow arrow.
    next_flow: u64,
}

impl<W: Write> EventWriter<'_, W> {
    /// Start an event object: `{"ph":PH,"pid":P,"tid":T` (the caller finishes it).
    fn begin(&mut self, ph: &str, tid: u64) -> io::Result<()> {
        let comma = if std::mem::take(&mut self.first) {
            ""
        } else {
            ","
        };
        write!(
            self.out,
            "{comma}\n{{\"ph\":\"{ph}\",\"pid\":{},\"tid\":{tid}",
            self.pid
        )
    }

    fn metadata(&mut self, tid: u64, kind: &str, key: &str, value: &str) -> io::Result<()> {
        self.begin("M", tid)?;
        write!(self.out, ",\"name\":\"{kind}\",\"args\":{{\"{key}\":")?;
        json::string(self.out, value)?;
        self.out.write_all(b"}}")
    }

    fn sort_index(&mut self, tid: u64, index: usize) -> io::Result<()> {
        self.begin("M", tid)?;
        write!(
            self.out,
            ",\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{index}}}}}"
        )
    }

    /// A complete event: `name` from `start` to `end`, with `args` (a JSON object's
    /// members, already written out).
    fn complete(
        &mut self,
        tid: u64,
        cat: &str,
        name: &str,
        start: u64,
        end: u64,
        args: &str,
    ) -> io::Result<()> {
        self.begin("X", tid)?;
        write!(self.out, ",\"cat\":\"{cat}\",\"name\":")?;
        json::string(self.out, name)?;
        self.out.write_all(b",\"ts\":")?;
        json::micros(self.out, start)?;
        self.out.write_all(b",\"dur\":")?;
        json::micros(self.out, end.saturating_sub(start))?;
        write!(self.out, ",\"args\":{{{args}}}}}")
    }

    /// One end of a flow arrow.
    fn flow(&mut self, ph: &str, tid: u64, id: u64, at: u64) -> io::Result<()> {
        self.begin(ph, tid)?;
        write!(
            self.out,
            ",\"cat\":\"wake\",\"name\":\"wake\",\"id\":{id},\"ts\":"
        )?;
        json::micros(self.out, at)?;
        if ph == "f" {
            // Bind to the slice that encloses the time — the poll that begins then —
            // rather than the next slice to begin.
            self.out.write_all(b",\"bp\":\"e\"")?;
        }
        self.out.write_all(b"}")
    }

    fn track(&mut self, track: Track, events: &[Event]) -> io::Result<()> {
        let tid = tid(track);
        let worker = match track {
            Track::Worker(n) => n.to_string(),
            Track::BlockOn => "\"block_on\"".to_string(),
        };
        // The remote slice last written, so that wakes drained together share one.
        let mut remote_slice: Option<u64> = None;
        for event in events {
            match event {
                Event::Poll { polled, start, end } => {
                    let (name, args) = match polled {
                        Polled::Main => (
                            "block_on future".to_string(),
                            format!("\"task\":\"block_on\",\"worker\":{worker}"),
                        ),
                        Polled::Task(id, label) => {
                            let name = label
                                .as_ref()
                                .and_then(|l| l.name.as_deref())
                                .map_or_else(|| format!("task {id}"), str::to_string);
                            let mut args = format!("\"task\":\"{id}\",\"worker\":{worker}");
                            if let Some(label) = label {
                                let mut at = Vec::new();
                                json::string(&mut at, &label.location.to_string())?;
                                args.push_str(",\"spawned at\":");
                                args.push_str(&String::from_utf8_lossy(&at));
                            }
                            (name, args)
                        }
                    };
                    self.complete(tid, "poll", &name, *start, *end, &args)?;
                }
                Event::Turn {
                    start,
                    end,
                    stats,
                    polls,
                    looked,
                } => {
                    let args = format!(
                        "\"io events\":{},\"timers fired\":{},\"wakers woken\":{},\
                         \"polls before\":{polls},\"only looked\":{looked}",
                        stats.events, stats.timers, stats.woken
                    );
                    self.complete(tid, "turn", TURN, *start, *end, &args)?;
                }
                Event::Flow { wake, to } => {
                    let id = self.next_flow;
                    self.next_flow += 1;
                    let (from_tid, from) = match wake.by {
                        Waker::Poll | Waker::Turn => (tid, wake.at),
                        Waker::Itself(started) => (tid, started),
                        Waker::Remote { since } => {
                            if remote_slice != Some(since) {
                                remote_slice = Some(since);
                                self.complete(
                                    remote_tid(track),
                                    "remote",
                                    "wake from another thread",
                                    since,
                                    wake.at,
                                    "",
                                )?;
                            }
                            (remote_tid(track), since)
                        }
                    };
                    self.flow("s", from_tid, id, from)?;
                    self.flow("f", tid, id, *to)?;
                }
            }
        }
        Ok(())
    }
}
