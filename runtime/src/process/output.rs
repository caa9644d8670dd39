//! [`collect`]: what `Command::output` does once the child runs — read its stdout and its
//! stderr to end of file and wait for its exit, all three at once. asyncio's
//! `proc.communicate()` without input.
//!
//! "At once" is the point. A pipe holds 64 KiB; a child that writes a megabyte to stderr
//! before it writes anything to stdout blocks in `write(2)` once the stderr pipe is full.
//! A parent that reads stdout to the end first waits for bytes that will never come: both
//! processes sleep for ever. So one future polls all three, and whichever has news makes
//! progress (Python's `communicate` runs three tasks for the same reason; std's `output`
//! uses `poll(2)` on both pipes).

use std::future::poll_fn;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use super::child::Child;
use super::pipe::PipeReader;

/// One pipe read to end of file, with what it has given so far.
struct Drain {
    /// The pipe, until end of file; `None` if it was not piped, or is finished.
    pipe: Option<PipeReader>,
    /// Everything read so far.
    bytes: Vec<u8>,
}

impl Drain {
    /// Read what is there; `Ready` once the pipe is at end of file (or never was).
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(pipe) = &self.pipe else {
            return Poll::Ready(Ok(()));
        };
        let done = pipe.poll_read_to_end(cx, &mut self.bytes);
        if done.is_ready() {
            self.pipe = None;
        }
        done
    }
}

/// Close the child's stdin, then read its stdout and stderr (those that are piped) to end
/// of file while waiting for it to exit. The first error ends it; the child is then dropped, and so reaped in the
/// background.
pub(super) async fn collect(mut child: Child) -> io::Result<Output> {
    // A child that reads its stdin to the end must see the end, as with `wait`.
    drop(child.stdin.take());
    let mut stdout = Drain {
        pipe: child.stdout.take().map(|pipe| pipe.into_reader()),
        bytes: Vec::new(),
    };
    let mut stderr = Drain {
        pipe: child.stderr.take().map(|pipe| pipe.into_reader()),
        bytes: Vec::new(),
    };
    let mut status: Option<ExitStatus> = None;
    poll_fn(|cx| {
        // Poll all three every time: each registers its own waker, and a `Pending` from
        // one must not keep the others from running.
        let out = stdout.poll_drain(cx)?;
        let err = stderr.poll_drain(cx)?;
        if status.is_none() {
            if let Poll::Ready(exit) = child.poll_wait(cx) {
                status = Some(exit?);
            }
        }
        match (out, err, status) {
            (Poll::Ready(()), Poll::Ready(()), Some(_)) => Poll::Ready(Ok::<(), io::Error>(())),
            _ => Poll::Pending,
        }
    })
    .await?;
    Ok(Output {
        status: status.expect("the poll above returned only once the child had exited"),
        stdout: stdout.bytes,
        stderr: stderr.bytes,
    })
}
