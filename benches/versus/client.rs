//! The load client: one thread, one `mio::Poll`, `conns` connections to the server under
//! test, each with exactly one message in flight.
//!
//! ```text
//!  for each connection:  write message ──► server echoes ──► read until all of it is back
//!                              ▲                                         │
//!                              └──── verify every byte, record the RTT ◄─┘
//! ```
//!
//! A closed loop: a connection sends its next message only once the last one is back in
//! full, so the load adapts to the server — a slow server gets fewer requests, not a queue
//! — and requests/s is `conns` divided by the mean round-trip time. Each message is a
//! pattern made from the connection's number and the request's sequence number, and every
//! echoed byte is compared with what was sent: a server that mixed up two connections, lost
//! a byte or replied twice fails the run instead of scoring.
//!
//! Sockets are edge-triggered, like the servers'. A read returns at most `SCRATCH` bytes;
//! since a message is smaller, a read that returns fewer bytes than asked for has emptied
//! the socket, and we wait for the next edge instead of reading again to hear `WouldBlock`
//! (the same saving the servers make; see `servers.rs`).
//!
//! The same loop speaks HTTP for the instruction meter (`instructions.rs`): each message is
//! then a keep-alive `GET /`, and what must come back is `http_hello`'s
//! `200 Hello, World!`, checked as strictly. A [`Session`] keeps its connections open
//! across several runs, each ending with no request in flight, so that the meter can zero
//! and read a server's counters while it has nothing to do.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::cpu::{self, CpuTimes, MachineTimes};

/// Bytes one `read` may return: more than any message, so every complete read is short.
const SCRATCH: usize = 64 * 1024;
/// A measurement fails if no echo at all comes back for this long.
const STALL: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Clone, Debug)]
pub struct Load {
    /// The server.
    pub addr: SocketAddr,
    /// Its process, whose CPU time is read at the start and end of the measured window
    /// (`None`: a server we did not start, whose CPU time we do not report).
    pub server_pid: Option<u32>,
    /// Connections, each with one message in flight.
    pub conns: usize,
    /// Bytes per message (echo only: an HTTP request is always [`HTTP_REQUEST`]).
    pub msg_size: usize,
    /// When to stop.
    pub until: Until,
    /// What each message is, and what must come back.
    pub protocol: Protocol,
}

/// What the connections say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// A pattern of `msg_size` bytes, which must come back byte for byte.
    Echo,
    /// [`HTTP_REQUEST`] on a keep-alive connection; the answer must be a `200` whose body
    /// is `Hello, World!`, and nothing more.
    Http,
}

/// The request of [`Protocol::Http`]: the one `wrk` sends in the HTTP part, less the port
/// in its `Host`.
pub const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
/// The body an HTTP answer must carry.
const HTTP_BODY: &[u8] = b"Hello, World!";
/// An HTTP answer's head longer than this is an error, not an answer still arriving.
const HTTP_MAX_HEAD: usize = 8 * 1024;

/// How long a load runs.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// Each connection makes exactly this many round trips, all measured: the smoke test.
    RoundTrips(u64),
    /// Run for `warmup` unmeasured (connections settle, caches and the server's tables warm
    /// up), then for `measure`, measured.
    Time {
        /// Unmeasured lead-in.
        warmup: Duration,
        /// The measured window.
        measure: Duration,
    },
}

/// What one load measured, over its measured window only.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Round trips completed (every byte verified).
    pub requests: u64,
    /// Length of the window.
    pub elapsed: Duration,
    /// Round-trip times of those requests.
    pub latency: Histogram,
    /// CPU the server process used in the window.
    pub server_cpu: CpuTimes,
    /// CPU this client thread used in the window.
    pub client_cpu: Duration,
    /// CPU the whole machine used in the window: with the two above, what tells whether
    /// another program was competing for the cores.
    pub machine: MachineTimes,
}

impl Outcome {
    /// CPU time the rest of the machine used in the window: neither the server nor this
    /// client.
    pub fn other_cpu(&self) -> Duration {
        self.machine
            .busy
            .saturating_sub(self.server_cpu.total() + self.client_cpu)
    }
}

impl Outcome {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Run `load` on a thread of its own and wait for it.
pub fn run_on_thread(load: Load) -> io::Result<Outcome> {
    std::thread::Builder::new()
        .name("versus-client".into())
        .spawn(move || run(&load))?
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the load client panicked")))
}

/// Run `load` on this thread: connect, then one run until `load.until`.
pub fn run(load: &Load) -> io::Result<Outcome> {
    Session::connect(load)?.run(load.until)
}

/// A load client's connections, open across several runs.
pub struct Session {
    /// The readiness of every connection.
    poll: Poll,
    /// Reused by every `poll`.
    events: Events,
    /// The connections, indexed by token.
    conns: Vec<Conn>,
    /// Where reads land before they are checked.
    scratch: Vec<u8>,
    /// The server's process, if we may read its CPU times.
    server_pid: Option<u32>,
}

impl Session {
    /// Open `load.conns` connections to `load.addr`; nothing is sent yet.
    pub fn connect(load: &Load) -> io::Result<Session> {
        let poll = Poll::new()?;
        let mut conns = Vec::with_capacity(load.conns);
        for index in 0..load.conns {
            let mut conn = Conn::connect(load, index)?;
            poll.registry().register(
                &mut conn.stream,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            conns.push(conn);
        }
        Ok(Session {
            poll,
            events: Events::with_capacity(1024),
            conns,
            scratch: vec![0u8; SCRATCH],
            server_pid: load.server_pid,
        })
    }

    /// One run: every connection sends, and sends again, until `until` says stop. With
    /// `Until::RoundTrips`, the run returns only once every answer is back, so the server
    /// is left with nothing to do.
    pub fn run(&mut self, until: Until) -> io::Result<Outcome> {
        let mut window = Window::new(until, self.server_pid, self.conns.len())?;
        // Every connection starts with its first message.
        for conn in &mut self.conns {
            conn.begin_run();
            conn.drive(&mut self.scratch, &mut window)?;
        }
        let mut last_echo = Instant::now();
        loop {
            match self
                .poll
                .poll(&mut self.events, Some(Duration::from_millis(50)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let completed_before = window.completed_total;
            for event in self.events.iter() {
                let conn = &mut self.conns[event.token().0];
                conn.drive(&mut self.scratch, &mut window).map_err(|e| {
                    io::Error::new(e.kind(), format!("connection {}: {e}", conn.index))
                })?;
            }
            let now = Instant::now();
            if window.completed_total != completed_before {
                last_echo = now;
            } else if now - last_echo > STALL {
                let waiting = self.conns.iter().filter(|c| c.in_flight()).count();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no answer for {STALL:?}; {waiting} connection(s) waiting for one"),
                ));
            }
            if window.tick(now, &self.conns)? {
                return Ok(window.into_outcome());
            }
        }
    }
}

/// One connection and its message in flight.
struct Conn {
    /// Its number: the token, and part of every message's pattern.
    index: usize,
    /// The socket, non-blocking, `TCP_NODELAY`.
    stream: TcpStream,
    /// What it says.
    protocol: Protocol,
    /// The message in flight: what we sent, so (echo) what must come back.
    msg: Vec<u8>,
    /// How much of `msg` has been written.
    written: usize,
    /// Echo: how much of `msg` has come back (and matched).
    echoed: usize,
    /// HTTP: the answer so far.
    reply: Vec<u8>,
    /// A message was sent and its answer is not complete yet.
    awaiting: bool,
    /// When its first byte was written.
    sent_at: Instant,
    /// Round trips completed on this connection, over all runs.
    round_trips: u64,
    /// `round_trips` when the current run began: a quota counts from there.
    run_start: u64,
    /// No message in flight and none to send: the connection has made its quota.
    finished: bool,
}

impl Conn {
    fn connect(load: &Load, index: usize) -> io::Result<Conn> {
        // A blocking connect is simplest, and on loopback the handshake is done in the
        // call: the kernel completes it even before the server accepts.
        let stream = std::net::TcpStream::connect(load.addr)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let msg = match load.protocol {
            Protocol::Echo => vec![0; load.msg_size],
            Protocol::Http => HTTP_REQUEST.to_vec(),
        };
        Ok(Conn {
            index,
            stream: TcpStream::from_std(stream),
            protocol: load.protocol,
            msg,
            written: 0,
            echoed: 0,
            reply: Vec::new(),
            awaiting: false,
            sent_at: Instant::now(),
            round_trips: 0,
            run_start: 0,
            finished: false,
        })
    }

    fn in_flight(&self) -> bool {
        !self.finished && self.awaiting
    }

    /// Start a run: its quota counts from here, and the first message goes out.
    fn begin_run(&mut self) {
        self.run_start = self.round_trips;
        self.finished = false;
        self.start_request();
    }

    /// Make the next message — for echo, a pattern of this connection's number and the
    /// request's, so no two messages in a run look alike — and note when it leaves.
    fn start_request(&mut self) {
        if self.protocol == Protocol::Echo {
            let seed = (self.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ self.round_trips.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            for (i, byte) in self.msg.iter_mut().enumerate() {
                *byte = (seed >> ((i % 8) * 8)) as u8 ^ (i / 8) as u8;
            }
        }
        self.written = 0;
        self.echoed = 0;
        self.reply.clear();
        self.awaiting = true;
        self.sent_at = Instant::now();
    }

    /// Make what progress the socket allows: finish writing the message, read its echo,
    /// and on a complete echo record it and send the next. Returns on `WouldBlock` or a
    /// short read (the socket is empty; its next edge brings us back).
    fn drive(&mut self, scratch: &mut [u8], window: &mut Window) -> io::Result<()> {
        while !self.finished {
            while self.written < self.msg.len() {
                match self.stream.write(&self.msg[self.written..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            let n = match self.stream.read(scratch) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let complete = match self.protocol {
                Protocol::Echo => {
                    self.check_echo(&scratch[..n])?;
                    self.echoed == self.msg.len()
                }
                Protocol::Http => self.check_http(&scratch[..n])?,
            };
            if complete {
                let rtt = self.sent_at.elapsed();
                self.round_trips += 1;
                self.awaiting = false;
                if window.record(rtt, self.round_trips - self.run_start) {
                    self.start_request();
                } else {
                    self.finished = true;
                }
            } else if n < scratch.len() {
                return Ok(()); // short read: the rest of the echo has not arrived yet
            }
        }
        Ok(())
    }

    /// Compare echoed bytes with what we sent.
    fn check_echo(&mut self, got: &[u8]) -> io::Result<()> {
        let expected = &self.msg[self.echoed..];
        if got.len() > expected.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} bytes came back where {} were outstanding (request {})",
                    got.len(),
                    expected.len(),
                    self.round_trips
                ),
            ));
        }
        if let Some(at) = got.iter().zip(expected).position(|(g, e)| g != e) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "echoed byte {} of request {} is {:#04x}, sent {:#04x}",
                    self.echoed + at,
                    self.round_trips,
                    got[at],
                    expected[at]
                ),
            ));
        }
        self.echoed += got.len();
        Ok(())
    }

    /// Add `got` to the HTTP answer so far; true once it is complete. It must be a `200`
    /// with a `Content-Length` body of `Hello, World!`, and nothing may follow it (one
    /// request is in flight, so one answer may come back).
    fn check_http(&mut self, got: &[u8]) -> io::Result<bool> {
        let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidData, what));
        self.reply.extend_from_slice(got);
        let Some(head_end) = self.reply.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.reply.len() > HTTP_MAX_HEAD {
                return invalid(format!("an answer head over {HTTP_MAX_HEAD} bytes"));
            }
            return Ok(false);
        };
        let head = String::from_utf8_lossy(&self.reply[..head_end]);
        if !head.starts_with("HTTP/1.1 200 OK\r\n") {
            return invalid(format!("unexpected answer {head:?}"));
        }
        let length = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        });
        let Some(length) = length else {
            return invalid(format!("an answer without Content-Length: {head:?}"));
        };
        let body = &self.reply[head_end + 4..];
        if body.len() < length {
            return Ok(false);
        }
        if body.len() > length || body != HTTP_BODY {
            return invalid(format!(
                "answer body {:?}, expected {:?}",
                String::from_utf8_lossy(body),
                String::from_utf8_lossy(HTTP_BODY)
            ));
        }
        Ok(true)
    }
}

/// The measured window: when it opens and closes, and what happened inside it.
struct Window {
    /// When to stop, and what to measure.
    until: Until,
    /// The server's process, if we may read its CPU times.
    server_pid: Option<u32>,
    /// Connections that must finish their quota (`Until::RoundTrips`).
    conns: usize,
    /// When the load started.
    started: Instant,
    /// When measuring began, and the CPU clocks then; `None` while warming up.
    opened: Option<Opened>,
    /// Requests completed since the window opened.
    requests: u64,
    /// Requests completed since the start, warm-up included (for stall detection).
    completed_total: u64,
    /// Their round-trip times.
    latency: Histogram,
    /// Set when the window closes.
    outcome: Option<Outcome>,
}

impl Window {
    fn new(until: Until, server_pid: Option<u32>, conns: usize) -> io::Result<Window> {
        let mut window = Window {
            until,
            server_pid,
            conns,
            started: Instant::now(),
            opened: None,
            requests: 0,
            completed_total: 0,
            latency: Histogram::new(),
            outcome: None,
        };
        if let Until::RoundTrips(_) = until {
            window.open(window.started)?; // no warm-up: everything counts
        }
        Ok(window)
    }

    /// The server's CPU times now (zero if we may not know them).
    fn server_cpu(&self) -> io::Result<CpuTimes> {
        self.server_pid
            .map_or(Ok(CpuTimes::default()), CpuTimes::of_process)
    }

    fn open(&mut self, now: Instant) -> io::Result<()> {
        self.opened = Some(Opened {
            at: now,
            server: self.server_cpu()?,
            client: cpu::this_thread(),
            machine: MachineTimes::now()?,
        });
        self.requests = 0;
        self.latency = Histogram::new();
        Ok(())
    }

    fn close(&mut self, now: Instant) -> io::Result<()> {
        let then = self.opened.expect("a window is opened before it is closed");
        self.outcome = Some(Outcome {
            requests: self.requests,
            elapsed: now - then.at,
            latency: std::mem::take(&mut self.latency),
            server_cpu: self.server_cpu()?.since(then.server),
            client_cpu: cpu::this_thread().saturating_sub(then.client),
            machine: MachineTimes::now()?.since(then.machine),
        });
        Ok(())
    }

    /// A request completed after `rtt`, its connection's `round_trips`-th. Returns whether
    /// that connection should send another.
    fn record(&mut self, rtt: Duration, round_trips: u64) -> bool {
        self.completed_total += 1;
        if self.opened.is_some() {
            self.requests += 1;
            self.latency.record(rtt);
        }
        match self.until {
            Until::RoundTrips(quota) => round_trips < quota,
            Until::Time { .. } => true,
        }
    }

    /// Open or close the window as time (or the quota) says. True once closed.
    fn tick(&mut self, now: Instant, conns: &[Conn]) -> io::Result<bool> {
        match self.until {
            Until::RoundTrips(_) => {
                let finished = conns.iter().filter(|c| c.finished).count();
                if finished == self.conns {
                    self.close(now)?;
                }
            }
            Until::Time { warmup, measure } => {
                if self.opened.is_none() && now - self.started >= warmup {
                    self.open(now)?;
                } else if self.opened.is_some_and(|o| now - o.at >= measure) {
                    self.close(now)?;
                }
            }
        }
        Ok(self.outcome.is_some())
    }

    fn into_outcome(self) -> Outcome {
        self.outcome.expect("tick said the window is closed")
    }
}

/// The clocks when the measured window opened.
#[derive(Clone, Copy, Debug)]
struct Opened {
    /// When.
    at: Instant,
    /// The server's CPU times.
    server: CpuTimes,
    /// This thread's CPU time.
    client: Duration,
    /// The machine's.
    machine: MachineTimes,
}

/// Round-trip times, in an HDR histogram (the `hdrhistogram` crate): three significant
/// figures, so a reported quantile is within 0.1 % of the true one, from a nanosecond to a
/// minute; recording is a few instructions, with no allocation. A thin wrapper, so the
/// harness records `Duration`s and reads quantiles as `Duration`s.
#[derive(Clone, Debug)]
pub struct Histogram {
    /// Nanoseconds.
    inner: hdrhistogram::Histogram<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Histogram {
        Histogram {
            inner: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("valid bounds"),
        }
    }

    /// Count one value; one above a minute counts as a minute.
    pub fn record(&mut self, value: Duration) {
        let ns = u64::try_from(value.as_nanos()).unwrap_or(u64::MAX);
        self.inner.saturating_record(ns.max(1));
    }

    /// How many values were recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// The value below which a fraction `q` of the recorded values lie (0 ≤ q ≤ 1), or
    /// `None` if nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        (!self.inner.is_empty())
            .then(|| Duration::from_nanos(self.inner.value_at_quantile(q.clamp(0.0, 1.0))))
    }
}
