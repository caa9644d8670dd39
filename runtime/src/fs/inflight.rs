//! [`Inflight`]: the one blocking-pool job an open [`File`](super::File) may have running,
//! and the buffer that travels to the pool thread and back — what lets a `File` be an
//! `AsyncRead`, `AsyncWrite` and `AsyncSeek`. (tokio's `File` is built the same way.)
//!
//! A poll function cannot wait for the disk: it must start the `std::fs` call on a pool
//! thread and return `Pending`, and the next poll must find that call again. So the file
//! keeps the call's `JoinHandle` here, and every operation first waits for the job in
//! flight to finish. Jobs therefore run one at a time, in the order they were started,
//! even when the future that started one was dropped: its job still runs, and the next
//! operation waits for it.
//!
//! ```text
//!            start(job): the buffer moves to the pool thread
//!   Idle(buf) ─────────────────────────────────────────────▶ Busy(JoinHandle)
//!       ▲                                                          │
//!       └──────── poll_idle: the job is done; the buffer is back ──┘
//! ```
//!
//! The buffer is one `Vec` that shuttles between the task and the pool, so the caller's
//! buffer is never borrowed by another thread:
//!
//! - **A read** reads up to `dst.len()` bytes (at most [`MAX_BUF`]) into it on the pool;
//!   the task copies them out. Bytes not taken (the future that asked was dropped, and
//!   the next read asks for fewer) stay in it, and the next read gets them first.
//! - **A write** copies up to [`MAX_BUF`] bytes into it and returns at once, saying they
//!   were written; the pool writes them. A write is complete — on the OS's side, with
//!   any error known — only after the next `poll_flush` (or the next write, which waits
//!   for it); an error is kept and returned by that next write or flush.
//! - **A seek** first forgets the bytes read ahead, moving back over them.

use std::fs::File as StdFile;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use super::asyncify::joined;
use crate::task::JoinHandle;

/// The most bytes one read or write moves in one round trip, and so the biggest the
/// travelling buffer grows: 2 MiB, as tokio's. A bigger request is served short, which
/// `read` and `write` are always allowed to do.
pub(super) const MAX_BUF: usize = 2 * 1024 * 1024;

/// The bytes that travel to the pool thread and back: read ahead and not yet taken
/// (`bytes[pos..]`), or about to be written.
#[derive(Debug, Default)]
pub(super) struct Buf {
    /// The bytes; only `bytes[pos..]` are still to be taken, after a read.
    bytes: Vec<u8>,
    /// How many of `bytes` were taken already.
    pos: usize,
}

impl Buf {
    /// Whether no byte read ahead is waiting.
    fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Forget everything, keeping the allocation.
    fn clear(&mut self) {
        self.bytes.clear();
        self.pos = 0;
    }

    /// Copy as many waiting bytes as fit into `dst`; returns how many.
    fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.bytes.len() - self.pos);
        dst[..n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
        self.pos += n;
        if self.is_empty() {
            self.clear();
        }
        n
    }

    /// Forget the waiting bytes; returns how far to move the file back to unread them (a
    /// negative offset, or 0).
    pub(super) fn discard(&mut self) -> i64 {
        let ahead = (self.bytes.len() - self.pos) as i64;
        self.clear();
        -ahead
    }

    /// Take all the waiting bytes, moving the `Vec` out when none were taken yet.
    pub(super) fn take_all(&mut self) -> Vec<u8> {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.drain(..std::mem::take(&mut self.pos));
        bytes
    }

    /// On the pool: read up to `len` bytes from `file` (the buffer holds none waiting).
    fn read_from(&mut self, mut file: &StdFile, len: usize) -> io::Result<usize> {
        self.clear();
        self.bytes.resize(len, 0);
        let result = loop {
            match file.read(&mut self.bytes) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.bytes.truncate(*result.as_ref().unwrap_or(&0));
        result
    }

    /// On the pool: read to the end of `file`, after the bytes already waiting.
    pub(super) fn read_to_end_from(&mut self, mut file: &StdFile) -> io::Result<usize> {
        file.read_to_end(&mut self.bytes)
    }

    /// On the pool: move back over `back` bytes read ahead (if any), then write all the
    /// buffer; it is left empty either way.
    fn write_to(&mut self, mut file: &StdFile, back: i64) -> io::Result<()> {
        let result = match back {
            0 => file.write_all(&self.bytes),
            _ => file
                .seek(SeekFrom::Current(back))
                .and_then(|_| file.write_all(&self.bytes)),
        };
        self.clear();
        result
    }
}

/// What a finished job did, and its result.
#[derive(Debug)]
pub(super) enum Operation {
    /// Read into the buffer (a read, or a read to the end).
    Read(io::Result<usize>),
    /// Wrote the buffer. Never seen with an error outside this file: `poll_idle` keeps the
    /// error for the next write or flush.
    Write(io::Result<()>),
    /// Moved the position to `target`, as the caller gave it.
    Seek {
        /// The caller's target, before any adjustment for bytes read ahead.
        target: SeekFrom,
        /// The new position from the start.
        result: io::Result<u64>,
    },
    /// Anything else that must wait its turn: `sync_all`, `sync_data`, `set_len`.
    Other(io::Result<()>),
}

/// Where a file's job is: see the diagram in the module doc.
#[derive(Debug)]
enum State {
    /// No job running; the buffer is here.
    Idle(Buf),
    /// A job is running on the pool, holding the buffer; it gives it back with its result.
    Busy(JoinHandle<(Operation, Buf)>),
}

/// The job a file has in flight, and the error of a write not yet reported.
#[derive(Debug)]
pub(super) struct Inflight {
    /// Idle with the buffer, or busy with a job.
    state: State,
    /// The error of a write that returned before it ran: the next write or flush returns it.
    write_error: Option<io::Error>,
}

impl Inflight {
    pub(super) fn new() -> Inflight {
        Inflight {
            state: State::Idle(Buf::default()),
            write_error: None,
        }
    }

    /// The buffer, if no job is in flight.
    pub(super) fn idle_buf(&mut self) -> Option<&mut Buf> {
        match &mut self.state {
            State::Idle(buf) => Some(buf),
            State::Busy(_) => None,
        }
    }

    /// The error of an earlier write, now reported.
    pub(super) fn take_write_error(&mut self) -> io::Result<()> {
        self.write_error.take().map_or(Ok(()), Err)
    }

    /// Wait for the job in flight, if any: `Ok(None)` if there was none, else what it did.
    /// A write's error is kept in `write_error` (and the write reported as done).
    pub(super) fn poll_idle(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Option<Operation>>> {
        let State::Busy(job) = &mut self.state else {
            return Poll::Ready(Ok(None));
        };
        let result = joined(ready!(Pin::new(job).poll(cx)));
        let (operation, buf) = match result {
            Ok(done) => done,
            Err(e) => {
                // The runtime shut down (or the job panicked, and the panic goes on up):
                // the buffer went with the job.
                self.state = State::Idle(Buf::default());
                return Poll::Ready(Err(e));
            }
        };
        self.state = State::Idle(buf);
        Poll::Ready(Ok(Some(match operation {
            Operation::Write(Err(e)) => {
                self.write_error = Some(e);
                Operation::Write(Ok(()))
            }
            operation => operation,
        })))
    }

    /// Send `job` to the pool with the buffer. No job may be in flight.
    pub(super) fn start<F>(&mut self, std: &Arc<StdFile>, job: F)
    where
        F: FnOnce(&StdFile, &mut Buf) -> Operation + Send + 'static,
    {
        let State::Idle(buf) = &mut self.state else {
            panic!("tempo::fs::File: a job was started while another was in flight");
        };
        let mut buf = std::mem::take(buf);
        let std = std.clone();
        self.state = State::Busy(crate::task::spawn_blocking(move || {
            let operation = job(&std, &mut buf);
            (operation, buf)
        }));
    }

    /// Run `job` after the one in flight, and wait for it: what the `async` methods of
    /// `File` that are not plain reads or writes use. If the future is dropped, the job
    /// still runs, and the next operation waits for it.
    pub(super) async fn run<F>(&mut self, std: &Arc<StdFile>, job: F) -> io::Result<Operation>
    where
        F: FnOnce(&StdFile, &mut Buf) -> Operation + Send + 'static,
    {
        let mut job = Some(job);
        std::future::poll_fn(|cx| {
            if job.is_some() {
                // The job before ours first; its result is not ours to report.
                ready!(self.poll_idle(cx))?;
                self.start(std, job.take().expect("checked just above"));
            }
            let done = ready!(self.poll_idle(cx))?;
            Poll::Ready(Ok(done.expect("our job was in flight")))
        })
        .await
    }

    /// `AsyncRead::poll_read`: the bytes read ahead, if any; else one read on the pool.
    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        std: &Arc<StdFile>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            if let Some(operation) = ready!(self.poll_idle(cx))? {
                if let Operation::Read(result) = operation {
                    // A read finished — ours, or one whose future was dropped: its bytes
                    // are the next in the file either way. 0 bytes is the end.
                    result?;
                    let buf = self.idle_buf().expect("just became idle");
                    return Poll::Ready(Ok(buf.copy_to(dst)));
                }
                continue;
            }
            let buf = self.idle_buf().expect("poll_idle said idle");
            if !buf.is_empty() || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            let len = dst.len().min(MAX_BUF);
            self.start(std, move |file, buf| {
                Operation::Read(buf.read_from(file, len))
            });
        }
    }

    /// `AsyncWrite::poll_write`: wait for the job in flight, then copy up to [`MAX_BUF`]
    /// bytes into the buffer, start writing them, and say they are written.
    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        std: &Arc<StdFile>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_idle(cx))?;
        self.take_write_error()?;
        if src.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let buf = self.idle_buf().expect("poll_idle said idle");
        let back = buf.discard();
        let n = src.len().min(MAX_BUF);
        buf.bytes.extend_from_slice(&src[..n]);
        self.start(std, move |file, buf| {
            Operation::Write(buf.write_to(file, back))
        });
        Poll::Ready(Ok(n))
    }

    /// `AsyncWrite::poll_flush`: wait for the job in flight; report a write's error.
    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_idle(cx))?;
        Poll::Ready(self.take_write_error())
    }

    /// `AsyncSeek::poll_seek`: wait for the job in flight, start the seek, and wait for it.
    ///
    /// **Shortcut, labelled:** the poll interface has no way to tell a seek being polled
    /// again from a new one, so a finished seek to the same `pos` is taken as this call's.
    /// If a seek's future is dropped and the next seek has the same target, the second
    /// is not made again: harmless for `Start` and `End`, one move short for
    /// `Current(n)`. tokio splits the call in two (`start_seek`, `poll_complete`) to
    /// avoid this; [`File::seek`](super::File::seek) has no such gap.
    pub(super) fn poll_seek(
        &mut self,
        cx: &mut Context<'_>,
        std: &Arc<StdFile>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        loop {
            match ready!(self.poll_idle(cx))? {
                Some(Operation::Seek { target, result }) if target == pos => {
                    return Poll::Ready(result);
                }
                Some(_) => continue,
                None => self.start(std, move |file, buf| seek(file, buf, pos)),
            }
        }
    }
}

/// On the pool: move to `target`, counting from before the bytes read ahead.
pub(super) fn seek(mut file: &StdFile, buf: &mut Buf, target: SeekFrom) -> Operation {
    let back = buf.discard();
    let result = match target {
        SeekFrom::Current(offset) => match offset.checked_add(back) {
            Some(offset) => file.seek(SeekFrom::Current(offset)),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tempo::fs::File: seek offset overflows",
            )),
        },
        other => file.seek(other),
    };
    Operation::Seek { target, result }
}
