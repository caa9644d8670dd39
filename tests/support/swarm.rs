//! Thousands of scripted client connections on one thread: a plain mio loop (no tempo in
//! it), so that a test can hold 10 000 connections without 10 000 threads.
//!
//! Each connection follows a [`Plan`]: the bytes to send (in uneven chunks, one `write` per
//! chunk, while reading whatever comes back), the bytes it expects back, and whether to
//! half-close (`shutdown(Write)`) once everything is sent. Replies are checked byte by byte
//! as they arrive, against the expected bytes at the same offset; nothing received is
//! stored.
//!
//! A test runs the swarm in phases: [`Swarm::run_until`] turns the loop until every
//! connection satisfies a condition ("has its first reply", "has ended"), and
//! [`Swarm::allow_writes`] lets the connections send further. Connections are opened as the
//! loop runs, at most [`Swarm::max_unanswered`] at a time without a first reply, so the
//! server's accept queue never overflows (a dropped SYN costs a one-second retransmit).
//!
//! Nonblocking sockets cannot have read and write timeouts; their equivalent here is the
//! loop's stall limit: if no byte moves and no connection opens or ends for
//! [`STALL_LIMIT`], the test fails with a summary of where each connection stands.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// How long the loop may go with nothing happening on any connection before it fails.
pub const STALL_LIMIT: Duration = Duration::from_secs(20);

/// A small seeded random number generator (xorshift64*): the same seed, the same test.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// Log-uniform in `lo..=hi` (`lo` ≥ 1): as many sizes near 10 as near 100 000.
    pub fn log_range(&mut self, lo: u64, hi: u64) -> u64 {
        let (a, b) = ((lo as f64).ln(), ((hi + 1) as f64).ln());
        let x = a + (b - a) * (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (x.exp() as u64).clamp(lo, hi)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// Write sizes that add up to `total`: mostly small and uneven, now and then large.
    pub fn chunks(&mut self, total: usize) -> Vec<usize> {
        let mut chunks = Vec::new();
        let mut left = total;
        while left > 0 {
            let size = match self.range(0, 9) {
                0..=5 => self.range(1, 100),
                6..=8 => self.range(100, 8_000),
                _ => self.range(8_000, 70_000),
            } as usize;
            let size = size.min(left);
            chunks.push(size);
            left -= size;
        }
        chunks
    }
}

/// What one connection sends and expects.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The bytes to send. With `endless`, they are sent over and over.
    pub send: Arc<[u8]>,
    /// The size of each `write`, in turn (cycled if the bytes outlast them). Never zero.
    pub chunks: Arc<[usize]>,
    /// Keep sending `send` again and again, for as long as the writes are allowed.
    pub endless: bool,
    /// `shutdown(Write)` once everything is sent (never, if `endless`).
    pub half_close: bool,
    /// The bytes expected back. With `endless`, expected over and over, like `send`.
    pub expect: Arc<[u8]>,
    /// A byte of `expect` that matches any byte received (an HTTP `Date`, say).
    pub wildcard: Option<u8>,
}

impl Plan {
    /// The echo plan: `send` in `chunks`, then half-close; everything comes back.
    pub fn echo(send: Vec<u8>, chunks: Vec<usize>) -> Plan {
        let send: Arc<[u8]> = send.into();
        Plan {
            expect: Arc::clone(&send),
            send,
            chunks: chunks.into(),
            endless: false,
            half_close: true,
            wildcard: None,
        }
    }
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// A clean end of stream (the server's FIN).
    Eof,
    /// The server reset the connection.
    Reset,
    /// Connecting or reading failed otherwise.
    Error(String),
}

/// One connection of the swarm, and where it stands.
pub struct Conn {
    /// What it does.
    pub plan: Plan,
    /// The socket; `None` before it is opened and after it has ended.
    stream: Option<TcpStream>,
    /// It has been opened (connect called).
    started: bool,
    /// The server has answered our connect (the first writable event).
    connected: bool,
    /// Bytes sent so far.
    pub written: usize,
    /// How many bytes it may send in all, for now ([`Swarm::allow_writes`]).
    write_limit: usize,
    /// Which of `plan.chunks` the next write belongs to, and how much of it is left.
    chunk: (usize, usize),
    /// A write failed (the server had closed or reset): no more writes.
    pub write_error: Option<io::ErrorKind>,
    /// `shutdown(Write)` has been sent.
    pub write_shut: bool,
    /// Bytes received so far.
    pub received: usize,
    /// The first received byte that did not match: offset, got, wanted (`None` past the end
    /// of what was expected).
    pub mismatch: Option<(usize, u8, Option<u8>)>,
    /// How it ended, once it has.
    pub end: Option<End>,
    /// When the loop saw it end (after reading everything before the end).
    pub ended_at: Option<Instant>,
}

impl Conn {
    /// How many bytes it sends in all (`usize::MAX` when endless).
    pub fn send_len(&self) -> usize {
        if self.plan.endless {
            usize::MAX
        } else {
            self.plan.send.len()
        }
    }

    /// Received exactly the expected bytes and then a clean end of stream.
    pub fn complete(&self) -> bool {
        self.mismatch.is_none()
            && self.received == self.plan.expect.len()
            && self.end == Some(End::Eof)
    }

    /// Everything received so far matches what was expected at its offset.
    pub fn prefix_ok(&self) -> bool {
        self.mismatch.is_none()
    }

    /// One line about this connection, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "started {} connected {} wrote {}/{} (limit {}) shut {} write_error {:?} \
             received {}/{} mismatch {:?} end {:?}",
            self.started,
            self.connected,
            self.written,
            self.plan.send.len(),
            self.write_limit,
            self.write_shut,
            self.write_error,
            self.received,
            self.plan.expect.len(),
            self.mismatch,
            self.end
        )
    }

    /// Sends as much as it may: chunk by chunk, until the socket is full, the limit or the
    /// bytes run out; then half-closes if the plan says so. Returns the bytes sent.
    fn pump_writes(&mut self) -> usize {
        let Some(stream) = self.stream.as_mut().filter(|_| self.connected) else {
            return 0;
        };
        if self.write_error.is_some() || self.write_shut {
            return 0;
        }
        let send_len = if self.plan.endless {
            usize::MAX
        } else {
            self.plan.send.len()
        };
        let mut moved = 0;
        while self.written < send_len.min(self.write_limit) {
            let data = &self.plan.send;
            let at = self.written % data.len();
            let want = self
                .chunk
                .1
                .min(data.len() - at)
                .min(send_len.min(self.write_limit) - self.written);
            match stream.write(&data[at..at + want]) {
                Ok(n) => {
                    moved += n;
                    self.written += n;
                    self.chunk.1 -= n;
                    if self.chunk.1 == 0 {
                        self.chunk.0 = (self.chunk.0 + 1) % self.plan.chunks.len();
                        self.chunk.1 = self.plan.chunks[self.chunk.0];
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return moved,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.write_error = Some(e.kind());
                    return moved;
                }
            }
        }
        // Half-close once everything is sent — but not while the limit is what stopped us:
        // a connection paused at exactly its length has not been told to finish yet.
        if self.plan.half_close
            && !self.plan.endless
            && self.written == send_len
            && self.write_limit > send_len
        {
            // A failure here means the server is gone already; the read side will say how.
            let _ = stream.shutdown(Shutdown::Write);
            self.write_shut = true;
        }
        moved
    }

    /// Reads everything available, checking each byte. Returns the bytes read.
    fn pump_reads(&mut self, buf: &mut [u8]) -> usize {
        let mut moved = 0;
        loop {
            let Some(stream) = self.stream.as_mut() else {
                return moved;
            };
            match stream.read(buf) {
                Ok(0) => {
                    self.finish(End::Eof);
                    return moved;
                }
                Ok(n) => {
                    self.check(&buf[..n]);
                    moved += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return moved,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    self.finish(End::Reset);
                    return moved;
                }
                Err(e) => {
                    self.finish(End::Error(format!("read: {e}")));
                    return moved;
                }
            }
        }
    }

    /// Compares received bytes with the expected ones at their offset.
    fn check(&mut self, got: &[u8]) {
        // Piece by piece, each piece within one cycle of the expected bytes, compared as
        // slices (a memcmp even in a debug build); byte by byte only to find a difference.
        let expect = &self.plan.expect;
        let mut done = 0;
        while self.mismatch.is_none() && done < got.len() {
            let offset = self.received + done;
            let at = if self.plan.endless {
                offset % expect.len()
            } else {
                offset
            };
            let wanted = expect.get(at..).unwrap_or_default();
            let n = wanted.len().min(got.len() - done).max(1);
            let piece = &got[done..done + n];
            if wanted.get(..n) != Some(piece) {
                for (i, &byte) in piece.iter().enumerate() {
                    let want = wanted.get(i).copied();
                    let ok = want.is_some_and(|w| w == byte || Some(w) == self.plan.wildcard);
                    if !ok {
                        self.mismatch = Some((offset + i, byte, want));
                        break;
                    }
                }
            }
            done += n;
        }
        self.received += got.len();
    }

    /// Records how it ended and closes the socket.
    fn finish(&mut self, end: End) {
        self.end = Some(end);
        self.ended_at = Some(Instant::now());
        self.stream = None;
    }
}

/// Many connections to one server, driven by one mio loop.
pub struct Swarm {
    /// The server.
    addr: SocketAddr,
    poll: Poll,
    /// Every connection; its index is its mio token.
    conns: Vec<Conn>,
    /// The first connection not opened yet.
    next_to_open: usize,
    /// Most connections open at once that have had no reply yet.
    pub max_unanswered: usize,
}

impl Swarm {
    /// A swarm of `plans.len()` connections to `addr`, none opened yet; each may send
    /// `initial_writes` bytes until [`allow_writes`](Self::allow_writes) says more.
    pub fn new(addr: SocketAddr, plans: Vec<Plan>, initial_writes: usize) -> Swarm {
        let conns = plans
            .into_iter()
            .map(|plan| {
                assert!(!plan.send.is_empty() && !plan.chunks.is_empty());
                assert!(plan.chunks.iter().all(|&c| c > 0), "a chunk of 0 bytes");
                Conn {
                    chunk: (0, plan.chunks[0]),
                    plan,
                    stream: None,
                    started: false,
                    connected: false,
                    written: 0,
                    write_limit: initial_writes,
                    write_error: None,
                    write_shut: false,
                    received: 0,
                    mismatch: None,
                    end: None,
                    ended_at: None,
                }
            })
            .collect();
        Swarm {
            addr,
            poll: Poll::new().expect("a mio Poll"),
            conns,
            next_to_open: 0,
            max_unanswered: 256,
        }
    }

    pub fn conns(&self) -> &[Conn] {
        &self.conns
    }

    /// From now on each connection may send `limit` bytes in all.
    pub fn allow_writes(&mut self, limit: usize) {
        for conn in &mut self.conns {
            conn.write_limit = limit;
        }
    }

    /// Turns the loop until every connection satisfies `done` (opening them all on the
    /// way). Fails after `limit` in all, or when nothing happens for [`STALL_LIMIT`].
    pub fn run_until(&mut self, what: &str, limit: Duration, done: impl Fn(&Conn) -> bool) {
        let started = Instant::now();
        let mut last_progress = Instant::now();
        let mut events = Events::with_capacity(1024);
        let mut buf = vec![0u8; 64 * 1024];
        let mut satisfied: Vec<bool> = self.conns.iter().map(&done).collect();
        let mut remaining = satisfied.iter().filter(|s| !**s).count();
        // Writes a new limit allows do not come as events: start them here.
        for i in 0..self.conns.len() {
            if self.conns[i].pump_writes() > 0 {
                last_progress = Instant::now();
            }
            self.recheck(i, &done, &mut satisfied, &mut remaining);
        }
        loop {
            if self.open_more() > 0 {
                last_progress = Instant::now();
            }
            if remaining == 0 && self.next_to_open == self.conns.len() {
                return;
            }
            let now = Instant::now();
            if now - started > limit || now - last_progress > STALL_LIMIT {
                let stalled = now - last_progress > STALL_LIMIT;
                panic!(
                    "swarm: {what}: {} after {:?}\n{}",
                    if stalled { "stalled" } else { "out of time" },
                    now - started,
                    self.summary(&done)
                );
            }
            self.poll
                .poll(&mut events, Some(Duration::from_millis(100)))
                .or_else(|e| {
                    if e.kind() == io::ErrorKind::Interrupted {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .expect("mio poll");
            for event in events.iter() {
                let i = event.token().0;
                let conn = &mut self.conns[i];
                if conn.stream.is_none() {
                    continue;
                }
                if !conn.connected && (event.is_writable() || event.is_error()) {
                    let stream = conn.stream.as_ref().expect("open");
                    match stream.take_error() {
                        Ok(None) if stream.peer_addr().is_ok() => {
                            conn.connected = true;
                            // Small chunks should leave as written, not batched by Nagle.
                            stream.set_nodelay(true).expect("set_nodelay");
                            last_progress = Instant::now();
                        }
                        Ok(None) => continue, // not connected yet: a later event
                        Ok(Some(e)) | Err(e) => {
                            conn.finish(End::Error(format!("connect: {e}")));
                            self.recheck(i, &done, &mut satisfied, &mut remaining);
                            continue;
                        }
                    }
                }
                let mut moved = 0;
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    moved += conn.pump_reads(&mut buf);
                }
                if event.is_writable() || event.is_write_closed() {
                    moved += conn.pump_writes();
                }
                if moved > 0 || conn.end.is_some() {
                    last_progress = Instant::now();
                }
                self.recheck(i, &done, &mut satisfied, &mut remaining);
            }
        }
    }

    /// Re-evaluates `done` for connection `i` after something happened to it.
    fn recheck(
        &self,
        i: usize,
        done: &impl Fn(&Conn) -> bool,
        satisfied: &mut [bool],
        remaining: &mut usize,
    ) {
        let now = done(&self.conns[i]);
        if now != satisfied[i] {
            satisfied[i] = now;
            if now {
                *remaining -= 1;
            } else {
                *remaining += 1;
            }
        }
    }

    /// Opens connections while fewer than `max_unanswered` are waiting for a first reply.
    fn open_more(&mut self) -> usize {
        let unanswered = self.conns[..self.next_to_open]
            .iter()
            .filter(|c| c.received == 0 && c.end.is_none())
            .count();
        let mut opened = 0;
        while self.next_to_open < self.conns.len() && unanswered + opened < self.max_unanswered {
            let i = self.next_to_open;
            let mut stream = TcpStream::connect(self.addr)
                .unwrap_or_else(|e| panic!("swarm: connect {} (#{i}): {e}", self.addr));
            self.poll
                .registry()
                .register(
                    &mut stream,
                    Token(i),
                    Interest::READABLE | Interest::WRITABLE,
                )
                .expect("register with mio");
            let conn = &mut self.conns[i];
            conn.stream = Some(stream);
            conn.started = true;
            self.next_to_open += 1;
            opened += 1;
        }
        opened
    }

    /// Counts of where the connections stand, and the first few that are not `done`.
    pub fn summary(&self, done: &impl Fn(&Conn) -> bool) -> String {
        let count = |f: &dyn Fn(&Conn) -> bool| self.conns.iter().filter(|c| f(c)).count();
        let mut out = format!(
            "{} connections: {} opened, {} connected, {} replied to, {} ended ({} EOF, {} reset), \
             {} mismatched, {} not done\n",
            self.conns.len(),
            count(&|c| c.started),
            count(&|c| c.connected),
            count(&|c| c.received > 0),
            count(&|c| c.end.is_some()),
            count(&|c| c.end == Some(End::Eof)),
            count(&|c| c.end == Some(End::Reset)),
            count(&|c| c.mismatch.is_some()),
            count(&|c| !done(c)),
        );
        for (i, conn) in self
            .conns
            .iter()
            .enumerate()
            .filter(|(_, c)| !done(c))
            .take(5)
        {
            out += &format!("  #{i}: {}\n", conn.describe());
        }
        out
    }
}
