//! The soak's steady load: echo, HTTP and job clients, each checking every answer.
//!
//! Every client is a thread with blocking sockets (10 s timeouts on every read and write),
//! which keeps each check a straight line of code: send, read the answer, compare. No fault
//! is ever injected on these connections, so any error on one is a lost message.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::{Ctx, Rng, Stat, connect};

/// Echo client threads.
pub const ECHO_CLIENTS: u64 = 6;
/// HTTP client threads.
pub const HTTP_CLIENTS: u64 = 3;
/// Job client threads: more than the pool's 4 threads, so jobs queue.
pub const JOB_CLIENTS: u64 = 8;
/// The largest echo message.
const MAX_MESSAGE: usize = 32 * 1024;
/// How long a job may take to be seen finished, queueing included.
const JOB_DEADLINE: Duration = Duration::from_secs(60);
/// The body of every `http_hello` answer.
const HELLO: &[u8] = b"Hello, World!";

/// An echo client: connections of 20 to 200 messages each, one after another, until the
/// run ends; each message random in size (mostly small) and content, its echo compared.
pub fn echo(ctx: &Ctx, id: u64) {
    let mut rng = Rng::new(ctx.seed, 100 + id);
    let mut sent = vec![0u8; MAX_MESSAGE];
    let mut got = vec![0u8; MAX_MESSAGE];
    while !ctx.stop.is_set() {
        let Some(mut stream) = open_echo(ctx, &format!("echo client {id}")) else {
            continue;
        };
        for _ in 0..rng.range(20, 200) {
            if ctx.stop.is_set() {
                break;
            }
            let len = message_len(&mut rng);
            rng.fill(&mut sent[..len]);
            match echo_once(&mut stream, &sent[..len], &mut got[..len]) {
                Ok(true) => {
                    ctx.tally.add(Stat::EchoMessages, 1);
                    ctx.tally.add(Stat::EchoBytes, len as u64);
                }
                Ok(false) => {
                    ctx.tally.add(Stat::Corrupted, 1);
                    ctx.tally.error(format!(
                        "echo client {id}: a {len}-byte echo came back changed"
                    ));
                    break;
                }
                Err(e) => {
                    ctx.tally.add(Stat::Lost, 1);
                    ctx.tally
                        .error(format!("echo client {id}: a {len}-byte message lost: {e}"));
                    break;
                }
            }
        }
    }
}

/// Connects to `echo`. A connect that fails while the pressure client holds `echo` out of
/// descriptors is counted `NotAccepted` (the kernel never completed it, nothing was sent
/// on it); at any other time it is an error.
pub fn open_echo(ctx: &Ctx, who: &str) -> Option<TcpStream> {
    match connect(ctx.echo) {
        Ok(stream) => Some(stream),
        Err(e) => {
            if ctx.exhausted.load(std::sync::atomic::Ordering::Relaxed) {
                ctx.tally.add(Stat::NotAccepted, 1);
            } else {
                ctx.tally.error(format!("{who}: connect to echo: {e}"));
                // Do not spin on a server that is gone: the main thread notices a crash.
                ctx.stop.wait(Duration::from_millis(100));
            }
            None
        }
    }
}

/// Sends `sent`, reads as many bytes back into `got`; true if they are the same.
pub fn echo_once(stream: &mut TcpStream, sent: &[u8], got: &mut [u8]) -> io::Result<bool> {
    stream.write_all(sent)?;
    stream.read_exact(got)?;
    Ok(sent == got)
}

/// A message size: mostly small, sometimes a few KiB, now and then up to 32 KiB.
fn message_len(rng: &mut Rng) -> usize {
    (match rng.range(0, 19) {
        0 => rng.range(4097, MAX_MESSAGE as u64),
        1..=5 => rng.range(257, 4096),
        _ => rng.range(1, 256),
    }) as usize
}

/// An HTTP client: keep-alive connections of 50 to 500 requests each, sent in pipelined
/// batches of 1 to 16, every answer parsed and compared.
pub fn http(ctx: &Ctx, id: u64) {
    let mut rng = Rng::new(ctx.seed, 200 + id);
    while !ctx.stop.is_set() {
        let stream = match connect(ctx.http) {
            Ok(s) => s,
            Err(e) => {
                ctx.tally
                    .error(format!("http client {id}: connect to http_hello: {e}"));
                ctx.stop.wait(Duration::from_millis(100));
                continue;
            }
        };
        let mut reader = match stream.try_clone() {
            Ok(s) => BufReader::new(s),
            Err(e) => {
                ctx.tally.error(format!("http client {id}: try_clone: {e}"));
                return;
            }
        };
        let mut writer = stream;
        let mut left = rng.range(50, 500);
        while left > 0 && !ctx.stop.is_set() {
            let batch = rng.range(1, 16).min(left);
            left -= batch;
            let mut requests = String::new();
            for i in 0..batch {
                let path = if i % 2 == 0 { "/" } else { "/plaintext" };
                requests.push_str(&format!("GET {path} HTTP/1.1\r\nHost: soak\r\n\r\n"));
            }
            if let Err(e) = writer.write_all(requests.as_bytes()) {
                ctx.tally.add(Stat::Lost, batch);
                ctx.tally
                    .error(format!("http client {id}: sending {batch} requests: {e}"));
                break;
            }
            let mut failed = false;
            for answered in 0..batch {
                match read_hello(&mut reader) {
                    Ok(()) => ctx.tally.add(Stat::HttpAnswers, 1),
                    Err(e) => {
                        let stat = if e.kind() == io::ErrorKind::InvalidData {
                            Stat::Corrupted
                        } else {
                            Stat::Lost
                        };
                        ctx.tally.add(stat, batch - answered);
                        ctx.tally.error(format!("http client {id}: answer: {e}"));
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                break;
            }
        }
    }
}

/// Reads one answer of `http_hello` and checks it: `200 OK`, `Content-Length: 13`, the
/// hello. A wrong answer is an `InvalidData` error.
fn read_hello(reader: &mut BufReader<TcpStream>) -> io::Result<()> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    if line != "HTTP/1.1 200 OK\r\n" {
        return Err(bad(format!("status line {line:?}")));
    }
    let mut length = None;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length:") {
            length = value.trim().parse::<usize>().ok();
        }
    }
    if length != Some(HELLO.len()) {
        return Err(bad(format!("Content-Length {length:?}")));
    }
    let mut body = [0u8; HELLO.len()];
    reader.read_exact(&mut body)?;
    if body != HELLO {
        return Err(bad(format!("body {:?}", String::from_utf8_lossy(&body))));
    }
    Ok(())
}

/// A job client: submits a 0.05 s job (one in eight asked to panic), then long-polls it
/// until it has finished, and checks how it ended.
pub fn jobs(ctx: &Ctx, id: u64) {
    let mut rng = Rng::new(ctx.seed, 300 + id);
    while !ctx.stop.is_set() {
        let panic = rng.one_in(8);
        if let Err(e) = one_job(ctx.jobs, panic, &ctx.tally) {
            ctx.tally.add(Stat::Lost, 1);
            ctx.tally.error(format!("job client {id}: {e}"));
            ctx.stop.wait(Duration::from_millis(100));
        }
    }
}

/// Submits one job and follows it to its end; counts it `JobsDone` or `JobsFailed`.
fn one_job(jobs: SocketAddr, panic: bool, tally: &crate::Tally) -> Result<(), String> {
    let id = submit_job(jobs, panic)?;
    let outcome = await_job(jobs, id)?;
    match (panic, outcome.as_str()) {
        (false, "done") => tally.add(Stat::JobsDone, 1),
        (true, "failed") => tally.add(Stat::JobsFailed, 1),
        (_, other) => return Err(format!("job {id} (panic: {panic}) ended {other:?}")),
    }
    Ok(())
}

/// `POST /jobs?seconds=0.05[&fail=panic]`; the new job's id, from a `202` answer.
pub fn submit_job(jobs: SocketAddr, panic: bool) -> Result<u64, String> {
    let fail = if panic { "&fail=panic" } else { "" };
    let request = format!(
        "POST /jobs?seconds=0.05{fail} HTTP/1.1\r\nHost: soak\r\nContent-Length: 0\r\n\r\n"
    );
    let (status, body) = exchange(jobs, &request).map_err(|e| format!("POST /jobs: {e}"))?;
    if status != 202 {
        return Err(format!("POST /jobs answered {status}: {body}"));
    }
    body.strip_prefix(r#"{"id":"#)
        .and_then(|rest| rest.split(',').next())
        .and_then(|id| id.parse().ok())
        .ok_or(format!("POST /jobs: no id in {body:?}"))
}

/// Long-polls `GET /jobs/ID?wait=5` until the job is `done` or `failed`, and returns which.
/// A `done` job must carry its result; a `failed` one, the panic.
pub fn await_job(jobs: SocketAddr, id: u64) -> Result<String, String> {
    let deadline = Instant::now() + JOB_DEADLINE;
    while Instant::now() < deadline {
        let request = format!("GET /jobs/{id}?wait=5 HTTP/1.1\r\nHost: soak\r\n\r\n");
        let (status, body) =
            exchange(jobs, &request).map_err(|e| format!("GET /jobs/{id}: {e}"))?;
        if status != 200 {
            return Err(format!("GET /jobs/{id} answered {status}: {body}"));
        }
        if body.contains(r#""status":"done""#) {
            if !body.contains(r#""result":"worked for"#) {
                return Err(format!("job {id} done without its result: {body}"));
            }
            return Ok("done".into());
        }
        if body.contains(r#""status":"failed""#) {
            if !body.contains("the job panicked") {
                return Err(format!(
                    "job {id} failed without saying it panicked: {body}"
                ));
            }
            return Ok("failed".into());
        }
        // Still queued or running after 5 s of waiting: ask again.
    }
    Err(format!("job {id} not finished after {JOB_DEADLINE:?}"))
}

/// One request on a connection of its own (`jobs` answers one and closes): the answer's
/// status code and body.
fn exchange(addr: SocketAddr, request: &str) -> io::Result<(u16, String)> {
    let mut stream = connect(addr)?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("answer {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_string();
    Ok((status, body))
}
