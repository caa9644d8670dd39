//! The soak's faults: resets, slow and stalled readers, idle clients, descriptor pressure —
//! and what the servers say about them on stderr, classified and checked against what we
//! injected.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::load::{await_job, echo_once, open_echo, submit_job};
use crate::procs::Proc;
use crate::{Ctx, ECHO_NOFILE, IDLE_SECS, IO_TIMEOUT, Rng, Stat, Tally, connect};

/// Descriptors the pressure client leaves `echo` below its limit, for the load and the
/// other faults.
const HEADROOM: u64 = 40;
/// Connections opened beyond the limit in each exhaustion: they wait in the listen backlog.
const OVER_LIMIT: u64 = 8;
/// Pings between the held connections' rounds, and rounds between exhaustions (~3 s).
const PING_EVERY: Duration = Duration::from_millis(250);
const ROUNDS_PER_EXHAUSTION: u64 = 12;
/// `accept failed` lines an exhaustion waits for: two, so that echo has retried after its
/// 100 ms backoff and failed again — the exhaustion lasted, and the load ran through it.
const EMFILE_LINES: usize = 2;
/// How long an idle fault waits for the server to cut it: the idle timeout, and slack.
const CUT_WITHIN: Duration = Duration::from_secs(IDLE_SECS + 5);

/// Resets with `SO_LINGER 0`, in turn: an echo mid-message, an HTTP request half sent, HTTP
/// answers left unread, and a long poll of `jobs` (whose job must still end `done`).
pub fn resets(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.seed, 400);
    let mut turn = 0u64;
    while !ctx.stop.is_set() {
        let result = match turn % 4 {
            0 => echo_reset(ctx, &mut rng),
            1 => http_reset(ctx, b"GET / HTTP/1.1\r\nHost: soak\r\nX-Half: "),
            2 => http_reset(
                ctx,
                "GET / HTTP/1.1\r\nHost: soak\r\n\r\n".repeat(16).as_bytes(),
            ),
            _ => jobs_reset(ctx),
        };
        if let Err(e) = result {
            ctx.tally.error(format!("resets: {e}"));
        }
        turn += 1;
        // Pacing: some 40 resets a second, a fault among the load, not the whole load.
        ctx.stop.wait(Duration::from_millis(20));
    }
}

/// Closes `stream` with `SO_LINGER 0`: the kernel sends RST, not FIN, and drops what is
/// unsent — the peer sees its connection reset, as when a client crashes.
fn reset(stream: TcpStream) -> io::Result<()> {
    SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    drop(stream);
    Ok(())
}

/// Sends up to 64 KiB to echo, reads the first part of the echo back (checked), resets.
fn echo_reset(ctx: &Ctx, rng: &mut Rng) -> Result<(), String> {
    let Some(mut stream) = open_echo(ctx, "resets") else {
        return Ok(());
    };
    let mut sent = vec![0u8; rng.range(1, 64 * 1024) as usize];
    rng.fill(&mut sent);
    stream
        .write_all(&sent)
        .map_err(|e| format!("echo reset: send: {e}"))?;
    let mut got = [0u8; 4096];
    let n = stream
        .read(&mut got)
        .map_err(|e| format!("echo reset: read: {e}"))?;
    if n == 0 || got[..n] != sent[..n] {
        ctx.tally.add(Stat::Corrupted, 1);
        return Err(format!("echo reset: the first {n} echoed bytes differ"));
    }
    reset(stream).map_err(|e| format!("echo reset: {e}"))?;
    ctx.tally.add(Stat::EchoResets, 1);
    Ok(())
}

/// Sends `bytes` to http_hello and resets without reading anything.
fn http_reset(ctx: &Ctx, bytes: &[u8]) -> Result<(), String> {
    let mut stream = connect(ctx.http).map_err(|e| format!("http reset: connect: {e}"))?;
    stream
        .write_all(bytes)
        .map_err(|e| format!("http reset: send: {e}"))?;
    reset(stream).map_err(|e| format!("http reset: {e}"))?;
    ctx.tally.add(Stat::HttpResets, 1);
    Ok(())
}

/// Submits a job, starts a long poll on it and resets that connection at once; the job
/// must still finish `done`, as another client then checks.
fn jobs_reset(ctx: &Ctx) -> Result<(), String> {
    let id = submit_job(ctx.jobs, false)?;
    let mut poll = connect(ctx.jobs).map_err(|e| format!("jobs reset: connect: {e}"))?;
    let request = format!("GET /jobs/{id}?wait=5 HTTP/1.1\r\nHost: soak\r\n\r\n");
    poll.write_all(request.as_bytes())
        .map_err(|e| format!("jobs reset: send: {e}"))?;
    reset(poll).map_err(|e| format!("jobs reset: {e}"))?;
    ctx.tally.add(Stat::JobsResets, 1);
    match await_job(ctx.jobs, id)?.as_str() {
        "done" => {
            ctx.tally.add(Stat::JobsDone, 1);
            Ok(())
        }
        other => Err(format!(
            "job {id}, whose long poll was reset, ended {other}"
        )),
    }
}

/// Slow readers: a 4 KiB receive buffer, 8 KiB sent at a time and read back 256 bytes at a
/// time, so echo's writes keep finding the socket full and waiting for it to drain.
pub fn slow_readers(ctx: &Ctx) {
    let mut rng = Rng::new(ctx.seed, 500);
    while !ctx.stop.is_set() {
        match slow_reader(ctx, &mut rng) {
            Ok(true) => ctx.tally.add(Stat::SlowReaders, 1),
            Ok(false) => {}
            Err(e) => {
                ctx.tally.add(Stat::Lost, 1);
                ctx.tally.error(format!("slow reader: {e}"));
            }
        }
        ctx.stop.wait(Duration::from_millis(50));
    }
}

/// One slow reader's session: 256 KiB, every byte checked. False if it could not connect
/// while echo was out of descriptors.
fn slow_reader(ctx: &Ctx, rng: &mut Rng) -> io::Result<bool> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    // Before connecting, so the window advertised from the start is small.
    socket.set_recv_buffer_size(4096)?;
    if let Err(e) = socket.connect_timeout(&ctx.echo.into(), IO_TIMEOUT) {
        if ctx.exhausted.load(Ordering::Relaxed) {
            ctx.tally.add(Stat::NotAccepted, 1);
            return Ok(false);
        }
        return Err(e);
    }
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut sent = [0u8; 8192];
    let mut got = [0u8; 256];
    for _ in 0..32 {
        rng.fill(&mut sent);
        stream.write_all(&sent)?;
        for part in sent.chunks(got.len()) {
            stream.read_exact(&mut got)?;
            if got != part {
                ctx.tally.add(Stat::Corrupted, 1);
                return Err(io::Error::other("an echoed chunk differs"));
            }
        }
        ctx.tally.add(Stat::SlowBytes, sent.len() as u64);
    }
    Ok(true)
}

/// Idle faults, three at a time, round after round: an echo client that goes quiet after
/// one message, an echo client that sends but never reads (its echoes back up until echo's
/// write waits, and the write's timeout fires), and an HTTP keep-alive client that goes
/// quiet after one answer. Each must be cut by the server within its idle timeout + 5 s.
pub fn idle(ctx: &Ctx) {
    while !ctx.stop.is_set() {
        std::thread::scope(|s| {
            s.spawn(|| note(ctx, Stat::IdleCut, idle_echo(ctx)));
            s.spawn(|| note(ctx, Stat::StalledCut, stalled_echo(ctx)));
            s.spawn(|| note(ctx, Stat::HttpIdleCut, idle_http(ctx)));
        });
    }
}

/// Counts a fault that had its effect, or records why it did not. `Ok(false)`: not
/// injected (echo was out of descriptors when we tried to connect).
fn note(ctx: &Ctx, stat: Stat, result: Result<bool, String>) {
    match result {
        Ok(true) => ctx.tally.add(stat, 1),
        Ok(false) => {}
        Err(e) => ctx.tally.error(e),
    }
}

/// Waits until the server ends `stream` (end of stream, or a reset); an error if it sends
/// data instead, or does not end it within [`CUT_WITHIN`].
fn expect_cut(mut stream: TcpStream, who: &str) -> Result<(), String> {
    stream
        .set_read_timeout(Some(CUT_WITHIN))
        .map_err(|e| e.to_string())?;
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(()),
        Ok(_) => Err(format!("{who}: the server sent data to an idle client")),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(format!("{who}: not cut within {CUT_WITHIN:?}"))
        }
        Err(e) => Err(format!("{who}: {e}")),
    }
}

fn idle_echo(ctx: &Ctx) -> Result<bool, String> {
    let Some(mut stream) = open_echo(ctx, "idle echo client") else {
        return Ok(false);
    };
    let mut got = [0u8; 16];
    match echo_once(&mut stream, b"going quiet now.", &mut got) {
        Ok(true) => {}
        Ok(false) => {
            ctx.tally.add(Stat::Corrupted, 1);
            return Err("idle echo client: its one echo differs".into());
        }
        Err(e) => {
            ctx.tally.add(Stat::Lost, 1);
            return Err(format!("idle echo client: its one message: {e}"));
        }
    }
    expect_cut(stream, "idle echo client").map(|()| true)
}

fn stalled_echo(ctx: &Ctx) -> Result<bool, String> {
    let Some(mut stream) = open_echo(ctx, "stalled reader") else {
        return Ok(false);
    };
    let fail = |e: io::Error| format!("stalled reader: {e}");
    let local = stream.local_addr().map_err(fail)?;
    let lines = ctx.echo_lines.listen(local);
    stream.set_nonblocking(true).map_err(fail)?;
    // Send until our socket is full: echo's replies have filled our receive buffer and its
    // send buffer, so its write waits, and it stopped reading us.
    let chunk = [b's'; 64 * 1024];
    let mut sent = 0usize;
    loop {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(fail(e)),
        }
        if sent > 512 * 1024 * 1024 {
            return Err("stalled reader: 512 MiB sent and still not blocked".into());
        }
    }
    // Now wait for the cut without reading: a read would make room for what echo is
    // waiting to write. We cannot see the cut on the socket either — echo's FIN sits behind
    // the echoes our full receive buffer refuses — so we wait for what echo says about
    // this connection, then read what is left, which must end in end of stream or a reset.
    let said = lines.recv_timeout(CUT_WITHIN);
    ctx.echo_lines.forget(local);
    match said {
        Ok(line) if line.contains(": idle for") => {}
        Ok(line) => return Err(format!("stalled reader: echo said {line:?}")),
        Err(_) => return Err(format!("stalled reader: not cut within {CUT_WITHIN:?}")),
    }
    stream.set_nonblocking(false).map_err(fail)?;
    stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(fail)?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut drained = 0usize;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(n) => drained += n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(true),
            Err(e) => return Err(format!("stalled reader: draining after the cut: {e}")),
        }
        if drained > sent {
            return Err(format!(
                "stalled reader: {drained} bytes echoed, only {sent} sent"
            ));
        }
    }
}

fn idle_http(ctx: &Ctx) -> Result<bool, String> {
    let fail = |e: io::Error| format!("idle http client: {e}");
    let mut stream = connect(ctx.http).map_err(fail)?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
        .map_err(fail)?;
    // The answer is small and the connection stays open (keep-alive): read until the
    // hello, which ends it.
    let mut answer = Vec::new();
    let mut buf = [0u8; 512];
    while !answer.ends_with(b"Hello, World!") {
        match stream.read(&mut buf) {
            Ok(0) => return Err("idle http client: closed before its answer".into()),
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => {
                ctx.tally.add(Stat::Lost, 1);
                return Err(fail(e));
            }
        }
        if answer.len() > 4096 {
            return Err("idle http client: an answer over 4 KiB".into());
        }
    }
    if !answer.starts_with(b"HTTP/1.1 200 OK\r\n") {
        ctx.tally.add(Stat::Corrupted, 1);
        return Err("idle http client: not a 200".into());
    }
    ctx.tally.add(Stat::HttpAnswers, 1);
    expect_cut(stream, "idle http client").map(|()| true)
}

// ---------------------------------------------------------------------------------------
// Descriptor pressure

/// The pressure client. Holds `echo` [`HEADROOM`] descriptors short of its limit with live
/// connections, pinging each every [`PING_EVERY`] (so the idle timeout never cuts them),
/// and every [`ROUNDS_PER_EXHAUSTION`] rounds drives it out of descriptors (see
/// [`exhaust`]). It goes on pinging after the load stops, until `ctx.release`, so that
/// echo's idle timeout never cuts them; then returns them, for echo's shutdown to cut.
pub fn pressure(ctx: &Ctx, emfile: Receiver<()>) -> Vec<TcpStream> {
    let mut held = Vec::new();
    let open = |ctx: &Ctx| -> u64 {
        crate::procs::proc_fds(ctx.echo_pid).unwrap_or(ECHO_NOFILE as usize) as u64
    };
    let target = ECHO_NOFILE.saturating_sub(HEADROOM + open(ctx)) as usize;
    fill(ctx, &mut held, target);
    let mut round = 0u64;
    while !ctx.release.is_set() {
        ping(ctx, &mut held);
        round += 1;
        if round % ROUNDS_PER_EXHAUSTION == 0 && !ctx.stop.is_set() {
            let free = ECHO_NOFILE.saturating_sub(open(ctx));
            exhaust(ctx, &emfile, &mut held, free + OVER_LIMIT);
            fill(ctx, &mut held, target);
        }
        ctx.release.wait(PING_EVERY);
    }
    held
}

/// Opens connections to echo, each checked by one echo, until `held` has `target`.
fn fill(ctx: &Ctx, held: &mut Vec<TcpStream>, target: usize) {
    while held.len() < target && !ctx.stop.is_set() {
        let Some(mut stream) = open_echo(ctx, "pressure") else {
            continue;
        };
        let mut got = [0u8; 1];
        match echo_once(&mut stream, b"h", &mut got) {
            Ok(true) => {
                ctx.tally.add(Stat::HeldPings, 1);
                held.push(stream);
            }
            Ok(false) => {
                ctx.tally.add(Stat::Corrupted, 1);
                ctx.tally.error("pressure: an echo differs".into());
            }
            Err(e) => {
                ctx.tally.add(Stat::Lost, 1);
                ctx.tally
                    .error(format!("pressure: opening a held connection: {e}"));
            }
        }
    }
}

/// One byte echoed on every held connection: written on all, then read on all. A
/// connection that fails it is dropped from the set (and is an error: nothing cuts these).
fn ping(ctx: &Ctx, held: &mut Vec<TcpStream>) {
    let mut failed = Vec::new();
    for (i, s) in held.iter_mut().enumerate() {
        if let Err(e) = s.write_all(b"p") {
            failed.push((i, e.to_string()));
        }
    }
    for (i, s) in held.iter_mut().enumerate() {
        if failed.iter().any(|(f, _)| *f == i) {
            continue;
        }
        let mut got = [0u8; 1];
        match s.read_exact(&mut got) {
            Ok(()) if got == *b"p" => ctx.tally.add(Stat::HeldPings, 1),
            Ok(()) => {
                ctx.tally.add(Stat::Corrupted, 1);
                failed.push((i, format!("ping came back as {got:?}")));
            }
            Err(e) => failed.push((i, e.to_string())),
        }
    }
    for (i, why) in failed.into_iter().rev() {
        ctx.tally.add(Stat::Lost, 1);
        ctx.tally
            .error(format!("pressure: held connection {i}: {why}"));
        held.swap_remove(i);
    }
}

/// One exhaustion. Opens `extra` connections at once — more than echo has descriptors
/// left, so the last of them stay in the kernel's listen backlog, completed by the kernel
/// but not accepted — and sends a byte on each. Waits (pinging the held connections
/// meanwhile) until echo says `accept failed` twice. Then closes some held connections,
/// which frees echo's descriptors, and checks that every extra connection is served: its
/// byte echoed.
fn exhaust(ctx: &Ctx, emfile: &Receiver<()>, held: &mut Vec<TcpStream>, extra: u64) {
    // Lines from earlier exhaustions, or from the load's own, are not this one's.
    while emfile.try_recv().is_ok() {}
    ctx.exhausted.store(true, Ordering::Relaxed);
    let mut extras = Vec::new();
    for _ in 0..extra {
        if let Some(mut stream) = open_echo(ctx, "pressure") {
            match stream.write_all(b"x") {
                Ok(()) => extras.push(stream),
                Err(e) => {
                    ctx.tally.add(Stat::Lost, 1);
                    ctx.tally
                        .error(format!("pressure: writing past the limit: {e}"));
                }
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = 0;
    while seen < EMFILE_LINES && Instant::now() < deadline {
        match emfile.recv_timeout(PING_EVERY) {
            Ok(()) => seen += 1,
            Err(RecvTimeoutError::Timeout) => ping(ctx, held),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if seen >= EMFILE_LINES {
        ctx.tally.add(Stat::Exhaustions, 1);
    }
    // Release: closed connections end their tasks in echo, and free its descriptors.
    for _ in 0..(extras.len() + 4).min(held.len()) {
        held.pop();
    }
    for (i, stream) in extras.iter_mut().enumerate() {
        let mut got = [0u8; 1];
        match stream.read_exact(&mut got) {
            Ok(()) if got == *b"x" => ctx.tally.add(Stat::PressureServed, 1),
            Ok(()) => {
                ctx.tally.add(Stat::Corrupted, 1);
                ctx.tally
                    .error(format!("pressure: extra connection {i} echoed {got:?}"));
            }
            Err(e) => {
                ctx.tally.add(Stat::Lost, 1);
                ctx.tally.error(format!(
                    "pressure: extra connection {i} not served after the release: {e}"
                ));
            }
        }
    }
    ctx.exhausted.store(false, Ordering::Relaxed);
}

/// After echo has stopped: each connection still held must have been cut by its shutdown
/// (its task cancelled, its socket closed) — end of stream, or a reset.
pub fn check_shutdown_cut(ctx: &Ctx, held: Vec<TcpStream>) {
    for (i, stream) in held.into_iter().enumerate() {
        match expect_cut(stream, &format!("held connection {i} at echo's shutdown")) {
            Ok(()) => ctx.tally.add(Stat::ShutdownCut, 1),
            Err(e) => ctx.tally.error(e),
        }
    }
}

// ---------------------------------------------------------------------------------------
// What the servers say

/// A server's stderr, line by line, classified by what each line is about.
#[derive(Debug, Default)]
pub struct Said {
    /// Lines per kind, by kind.
    pub kinds: BTreeMap<&'static str, u64>,
    /// Lines of no known kind (the first 50).
    pub other: Vec<String>,
}

impl Said {
    /// The lines of `kind`.
    pub fn count(&self, kind: &str) -> u64 {
        self.kinds.get(kind).copied().unwrap_or(0)
    }
}

/// The kinds of line the servers write, by a piece of text each contains. The first match
/// wins.
const KINDS: [(&str, &str); 10] = [
    ("accept failed", "accept failed"),
    ("accepting again", "accepting again"),
    (": reset by peer", "reset by peer"),
    (": idle for", "idle cut"),
    ("Broken pipe", "broken pipe"),
    ("Connection reset by peer", "connection reset"),
    ("panicked at", "job panic"),
    ("gave up after", "job panic message"),
    ("RUST_BACKTRACE", "backtrace note"),
    ("did not take the answer", "write timeout"),
];

/// Lines of a server's stderr about particular connections (`echo: 127.0.0.1:PORT: idle
/// for 3s, closed`), routed to the client that owns that connection's local address — so a
/// fault can wait for exactly what the server says about it.
#[derive(Default)]
pub struct PeerLines {
    /// Who waits for lines about which client address.
    waiters: Mutex<HashMap<SocketAddr, Sender<String>>>,
}

impl PeerLines {
    /// Lines about the connection whose client end is `local`, from now on.
    pub fn listen(&self, local: SocketAddr) -> Receiver<String> {
        let (tx, rx) = mpsc::channel();
        self.lock().insert(local, tx);
        rx
    }

    /// No more lines about `local`.
    pub fn forget(&self, local: SocketAddr) {
        self.lock().remove(&local);
    }

    /// Hands `line` to whoever listens for the address after the program's name, if any.
    fn route(&self, line: &str) {
        let addr = line
            .split_once(": ")
            .and_then(|(_, rest)| rest.split_once(": "))
            .and_then(|(addr, _)| addr.parse::<SocketAddr>().ok());
        if let Some(addr) = addr
            && let Some(tx) = self.lock().get(&addr)
        {
            let _ = tx.send(line.to_string());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Sender<String>>> {
        self.waiters.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Watching one server's stderr, on a thread of its own.
pub struct Watch {
    /// The classified lines, sent when the server's stderr closes.
    result: Receiver<Said>,
}

/// Starts classifying `proc`'s stderr lines; each `accept failed` also goes to `emfile`,
/// and each line about a connection to whoever listens for it in `peers`.
pub fn watch_stderr(
    proc: &mut Proc,
    emfile: Option<Sender<()>>,
    peers: Option<Arc<PeerLines>>,
) -> Watch {
    let lines = proc.stderr.take().expect("stderr not yet watched");
    let (tx, result) = mpsc::channel();
    std::thread::spawn(move || {
        let mut said = Said::default();
        for line in lines {
            if let Some(peers) = &peers {
                peers.route(&line);
            }
            // A panic's message may span lines, and blank ones separate them: not news.
            if line.trim().is_empty() {
                continue;
            }
            match KINDS.iter().find(|(text, _)| line.contains(text)) {
                Some(&(_, kind)) => {
                    *said.kinds.entry(kind).or_default() += 1;
                    if kind == "accept failed"
                        && let Some(emfile) = &emfile
                    {
                        let _ = emfile.send(());
                    }
                }
                None if said.other.len() < 50 => said.other.push(line),
                None => {}
            }
        }
        let _ = tx.send(said);
    });
    Watch { result }
}

impl Watch {
    /// What the server said, once its stderr has closed (it has exited); waits at most 5 s.
    pub fn finish(self) -> Said {
        self.result
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| Said {
                other: vec!["(stderr still open after the server stopped)".into()],
                ..Said::default()
            })
    }
}

/// What the servers said, against what we did. Each idle and stalled echo client is one
/// `idle for` line of echo's, exactly; jobs reports no more panics than the `fail=panic`
/// jobs we checked; no server says anything we cannot classify — except `jobs`, whose
/// panic messages come from std's panic hook, which writes to stderr without the lock that
/// `eprintln!` takes, so a panic and a connection's error line can interleave mid-line.
/// Those fragments are reported, not failed.
pub fn check_server_reports(ctx: &Ctx, said: &[(&str, Said)]) {
    let t: &Tally = &ctx.tally;
    for (name, s) in said {
        if *name != "jobs" {
            for line in s.other.iter().take(5) {
                t.error(format!("{name} said something unexpected: {line}"));
            }
        }
        if *name == "echo" {
            let cut = t.get(Stat::IdleCut) + t.get(Stat::StalledCut);
            if s.count("idle cut") != cut {
                t.error(format!(
                    "echo reported {} idle cuts; we made {cut} idle or stalled clients",
                    s.count("idle cut")
                ));
            }
        }
        if *name == "jobs" && s.count("job panic") > t.get(Stat::JobsFailed) {
            t.error(format!(
                "jobs reported {} panics; only {} fail=panic jobs were checked failed",
                s.count("job panic"),
                t.get(Stat::JobsFailed)
            ));
        }
    }
}
