//! The fan-out: turning bytes in the self-pipe into wakes. Whichever listener polls first
//! — in any runtime, on any thread — drains the pipe and hands every pending signal to all
//! its listeners: it bumps the signal's generation and wakes every parked waker, after
//! letting go of the lock, through the reactor's `wake_all` (`io/readiness.rs`). This is
//! the step asyncio's loop takes when its self-pipe is readable and it runs the handlers
//! registered with `add_signal_handler`; here it is ordinary code, called by a
//! `SignalListener` (`listener.rs`), never by the handler.
//!
//! The rules cited by number are those of `signal/mod.rs`.

#![forbid(unsafe_code)]

use std::io::{self, Read};
use std::sync::atomic::Ordering;

use super::handler::{PENDING, SelfPipe};
use super::registry::SLOTS_TABLE;
use crate::io::readiness::wake_all;
use crate::sync::lock;

/// Drain the pipe, then hand out every pending signal: bump its generation and wake its
/// listeners (rules 2 and 4). Any thread may dispatch at any time; dispatches may overlap.
pub(super) fn dispatch(self_pipe: &SelfPipe) -> io::Result<()> {
    let mut sink = [0u8; 64];
    loop {
        match (&self_pipe.receiver).read(&mut sink) {
            // 0 would be end of file, impossible while `sender` lives; stop either way.
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let mut to_wake = Vec::new();
    for (pending, slot) in PENDING.iter().zip(&SLOTS_TABLE) {
        if pending.swap(false, Ordering::SeqCst) {
            let mut waiters = lock(&slot.waiters);
            slot.generation.fetch_add(1, Ordering::SeqCst);
            to_wake.extend(waiters.iter_mut().filter_map(|(_, w)| w.take()));
        }
    }
    wake_all(&mut to_wake);
    Ok(())
}
