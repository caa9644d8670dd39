//! Long jobs do not live in a request handler: an HTTP endpoint that accepts a job, answers
//! `202 Accepted` with a job id at once, runs the job on the blocking pool, and reports its
//! status and result by id — the "endpoint returns 202 and a job_id, and the worker does the
//! rest" tip of the asyncio texts (reference seed 000, where the worker is an ARQ queue).
//!
//! Run it, then try it with `curl` from another terminal:
//!
//! ```text
//! cargo run --example jobs                                   # listens on 127.0.0.1:8081
//! curl -i -X POST 'http://127.0.0.1:8081/jobs?seconds=10'     # 202 {"id":1,...} at once
//! curl -i http://127.0.0.1:8081/jobs/1                        # {"id":1,"status":"running",...}
//! curl -i 'http://127.0.0.1:8081/jobs/1?wait=30'              # waits for it: "done"
//! curl -i -d seconds=2 -d fail=panic http://127.0.0.1:8081/jobs   # a job that fails
//! curl -i http://127.0.0.1:8081/jobs/999                      # 404
//! ```
//!
//! Post five 10-second jobs in a row: each answer comes at once, the first four run (one
//! pool thread each, `--workers 4`), and the fifth stays `queued` until a thread is free.
//! Meanwhile every `GET` is answered at once too, because no job runs on the loop. And
//! `kill -USR1 PID` prints a task dump to the server's stderr, with a `job N` task for each
//! unfinished job, waiting for its pool thread.
//!
//! # The API
//!
//! - `POST /jobs` submits a job. Its parameters come in the query (`/jobs?seconds=2`) or in
//!   a form body (`curl -d seconds=2`): `seconds` is how long the job works (default 5, at
//!   most 60, fractions allowed); `fail=error` makes it fail and `fail=panic` makes it
//!   panic, to see both ways a job can end badly. The answer is `202 Accepted`, with
//!   `Location: /jobs/ID` and `{"id":ID,"status":"queued","url":"/jobs/ID"}`.
//! - `GET /jobs/ID` answers `200` with `{"id":ID,"status":S,"result":R}`: `S` is `queued`
//!   (waiting for a pool thread), `running`, `done` (`R` is the job's result) or `failed`
//!   (`R` is null and an `"error"` field says why). `?wait=SECS` (at most 30) is a long
//!   poll: the answer waits until the job has finished or `SECS` have passed.
//! - An unknown id is `404`; a request that is not HTTP/1.x, or has a bad parameter, is
//!   `400`; a request line and headers over 8 KiB are `431`; a body over 1 KiB, `413`; a
//!   chunked body, `501`; a wrong method, `405`; a request not complete within 10 s
//!   (`--request-secs`), `408`.
//!
//! # How it works
//!
//! The handler does only quick things on the loop: parse, look up, answer. The job itself
//! — `std::thread::sleep`, standing for a report, a scan, a call into a blocking SDK — goes
//! to `tempo::task::spawn_blocking`, asyncio's `to_thread`, and a small task per job awaits
//! its JoinHandle and writes the outcome into the job table (a panic arrives there as a
//! `JoinError`). The blocking pool is the queue: `--workers N` (default 4) threads at most,
//! `Builder::max_blocking_threads`, so more jobs than that wait in the pool's queue, in
//! order — the `queued` state.
//!
//! The job table is a `std::sync::Mutex<HashMap>`, not a `tempo::sync::Mutex`: the pool
//! threads update it too, and they are not tasks; and nobody holds it across an `.await`,
//! only for a few instructions. An async mutex is for a lock that must be held *while
//! waiting*. The long poll waits on a `tempo::sync::Event` per job (asyncio's `Event`),
//! which the job's task sets when it records the outcome.
//!
//! # Bounds
//!
//! A server must bound what clients can make it hold:
//!
//! - the job table remembers at most `--max-jobs` jobs (default 10 000). A new job evicts
//!   the oldest *finished* one (its id is then `404`); if every remembered job is still
//!   queued or running, `POST` answers `503 Service Unavailable` with `Retry-After`. That
//!   also bounds the pool's queue, and the per-job tasks.
//! - one request per connection: the server reads one request, answers with
//!   `Connection: close`, and closes — no keep-alive, no pipelining (a labelled shortcut:
//!   HTTP/1.1 servers keep connections open by default; that needs a loop here and an idle
//!   timeout between requests).
//! - the request line and headers fit in 8 KiB, the body in 1 KiB, and the whole request
//!   must arrive within 10 s (`--request-secs`) — one deadline for the request, not a
//!   timeout per read, which a client sending a byte every few seconds (slowloris) would
//!   never trip.
//! - a connection cap (`--max-conns`, default 1 000; over it, a connection is closed at
//!   once) and a write timeout, as in the `echo` example.
//!
//! On SIGINT or SIGTERM the server stops accepting, lets requests under way finish (a long
//! poll included) for up to `--grace-secs` (default 5), and exits 0. Jobs still running get
//! the same grace period (`Builder::shutdown_timeout`), and then they, and the queued ones,
//! are lost: this table lives in memory. That is the labelled shortcut of the whole
//! example — ARQ or Celery keep jobs in Redis, so a restarted worker picks them up.
//!
//! The accept loop, the connection cap and that shutdown are the skeleton every example
//! server shares, in `common/server.rs`, which explains them.
//!
//! Ids are sequential, another shortcut: anyone can read anyone's job by guessing. A real
//! service uses random ids (a UUID) and checks who may read what.

#[path = "common/server.rs"]
mod server;

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use tempo::net::TcpStream;
use tempo::sync::Event;
use tempo::time::{Instant, timeout};

/// Loopback, so nothing outside this machine can reach the example.
const DEFAULT_ADDR: &str = "127.0.0.1:8081";
/// Pool threads, and so jobs running at once.
const DEFAULT_WORKERS: usize = 4;
/// Jobs remembered, finished or not.
const DEFAULT_MAX_JOBS: usize = 10_000;
/// Connections served at once before new ones are turned away.
const DEFAULT_MAX_CONNS: usize = 1_000;
/// How long requests under way, and running jobs, get once the server is asked to stop.
const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// How long a job works when the request does not say.
const DEFAULT_JOB_SECS: f64 = 5.0;
/// The longest job we accept, in seconds.
const MAX_JOB_SECS: f64 = 60.0;
/// The longest long poll (`?wait=`), in seconds.
const MAX_WAIT_SECS: f64 = 30.0;
/// The request line and headers, with their line endings, must fit in this many bytes.
const MAX_HEAD: usize = 8 * 1024;
/// The largest body we read.
const MAX_BODY: usize = 1024;
/// The whole request must arrive within this, unless `--request-secs` says otherwise.
const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// A client must take our answer within this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After answering, how long we read and discard what a client still sends (see
/// `linger_close`)...
const LINGER: Duration = Duration::from_secs(1);
/// ...and how much of it.
const LINGER_BYTES: usize = 64 * 1024;

fn main() -> ExitCode {
    let args = match server::parse_args("jobs", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    // The runtime's warnings (`TEMPO_DEBUG=1`) go through `log`; show them.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();

    let runtime = tempo::Builder::new()
        // The pool is the job queue: this many jobs run at once, the rest wait in order.
        .max_blocking_threads(args.workers)
        // At shutdown, running jobs get the grace period, then are abandoned.
        .shutdown_timeout(args.grace)
        // `kill -USR1 PID` prints the tasks: connections, and one `job N` per unfinished job.
        .dump_on_sigusr1(true)
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("jobs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobs: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, serves until SIGINT or SIGTERM, then shuts down gracefully: the skeleton of
/// `common/server.rs`, with a task per connection that answers one request.
async fn serve(args: &Args) -> io::Result<()> {
    let (listener, stop) = server::listen(&args.addr).await?;
    let config = server::Config {
        name: "jobs",
        max_conns: args.max_conns,
        grace: args.grace,
    };
    let jobs = Arc::new(JobTable::new(args.max_jobs));
    let deadline = args.request_deadline;
    server::serve(listener, config, stop, |stream, peer| {
        // Named, like the jobs' tasks, for the task dump.
        tempo::task::Builder::new()
            .name(&format!("http {peer}"))
            .spawn(connection(stream, peer, deadline, jobs.clone()))
    })
    .await;
    let unfinished = jobs.unfinished();
    if unfinished > 0 {
        // The runtime's drop, after this returns, gives running jobs the grace period.
        println!("{unfinished} unfinished job(s) will be lost");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

/// Where a job is in its life: the `status` of `GET /jobs/ID`.
///
/// ```text
///  POST ─► Queued ──(a pool thread takes it)──► Running ──► Done(result)
///                                                    └────► Failed(why)
/// ```
#[derive(Clone, Debug, PartialEq)]
enum JobState {
    /// Submitted; waiting in the pool's queue for a free thread.
    Queued,
    /// A pool thread is working on it.
    Running,
    /// Finished; its result.
    Done(String),
    /// Finished badly: it returned an error, panicked, or was cancelled; why.
    Failed(String),
}

impl JobState {
    fn is_finished(&self) -> bool {
        matches!(self, JobState::Done(_) | JobState::Failed(_))
    }
}

/// One remembered job.
struct Job {
    /// Where it is.
    state: JobState,
    /// Set once it has finished, for long polls to wait on.
    finished: Arc<Event>,
}

/// What a `POST` asks for.
#[derive(Debug, PartialEq)]
struct JobSpec {
    /// How long the job works.
    work: Duration,
    /// Whether, and how, it should end badly.
    fail: Option<Failure>,
}

/// The two bad endings a client can ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Failure {
    /// The job returns an error (`fail=error`).
    Error,
    /// The job panics (`fail=panic`).
    Panic,
}

/// The POST found every remembered job unfinished: nothing to evict.
struct TableFull;

/// Every job the server remembers, shared by the loop's tasks and the pool's threads.
struct JobTable {
    /// Locked for a few instructions at a time, never across an `.await`.
    inner: std::sync::Mutex<Jobs>,
}

/// The table's contents, behind its lock.
struct Jobs {
    /// The id the next job gets.
    next_id: u64,
    /// Most jobs remembered.
    max: usize,
    /// Every remembered job, by id.
    jobs: HashMap<u64, Job>,
    /// The finished jobs' ids, oldest first: the eviction order.
    finished: VecDeque<u64>,
}

impl JobTable {
    fn new(max: usize) -> JobTable {
        JobTable {
            inner: std::sync::Mutex::new(Jobs {
                next_id: 1,
                max,
                jobs: HashMap::new(),
                finished: VecDeque::new(),
            }),
        }
    }

    /// The lock. No code panics while holding it, so a poisoned lock can only come from a
    /// bug elsewhere in the thread; the table itself is still consistent, so go on.
    fn lock(&self) -> std::sync::MutexGuard<'_, Jobs> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers a new, queued job and returns its id, evicting the oldest finished job if
    /// the table is full.
    fn admit(&self) -> Result<u64, TableFull> {
        let mut t = self.lock();
        if t.jobs.len() >= t.max {
            let oldest = t.finished.pop_front().ok_or(TableFull)?;
            t.jobs.remove(&oldest);
        }
        let id = t.next_id;
        t.next_id += 1;
        let job = Job {
            state: JobState::Queued,
            finished: Arc::new(Event::new()),
        };
        t.jobs.insert(id, job);
        Ok(id)
    }

    /// A pool thread took job `id`.
    fn start(&self, id: u64) {
        if let Some(job) = self.lock().jobs.get_mut(&id) {
            job.state = JobState::Running;
        }
    }

    /// Job `id` ended: record how, and wake its long polls.
    fn finish(&self, id: u64, outcome: Result<String, String>) {
        let finished = {
            let mut t = self.lock();
            let Some(job) = t.jobs.get_mut(&id) else {
                return;
            };
            job.state = match outcome {
                Ok(result) => JobState::Done(result),
                Err(why) => JobState::Failed(why),
            };
            let finished = job.finished.clone();
            t.finished.push_back(id);
            finished
        };
        // Outside the lock: setting the event wakes tasks, and wakes go outside locks.
        finished.set();
    }

    /// Job `id`'s state and its "finished" event, if it is remembered.
    fn get(&self, id: u64) -> Option<(JobState, Arc<Event>)> {
        let t = self.lock();
        let job = t.jobs.get(&id)?;
        Some((job.state.clone(), job.finished.clone()))
    }

    /// How many remembered jobs are queued or running.
    fn unfinished(&self) -> usize {
        let t = self.lock();
        t.jobs.len() - t.finished.len()
    }
}

/// Submits a job: remembers it, hands the work to the blocking pool, and spawns the small
/// task that records its outcome. Returns at once, with the job's id.
fn submit(jobs: &Arc<JobTable>, spec: JobSpec) -> Result<u64, TableFull> {
    let id = jobs.admit()?;
    let table = jobs.clone();
    // `asyncio.to_thread(run_job, spec)`: the closure runs on a pool thread, when one is
    // free (the pool has `--workers` of them); until then the job is `Queued`.
    let work = tempo::task::spawn_blocking(move || {
        table.start(id);
        run_job(spec)
    });
    let jobs = jobs.clone();
    // The job's task: it waits on the loop without blocking it. Named, so `kill -USR1`
    // shows one `job N` per unfinished job. Its JoinHandle is dropped: it runs detached,
    // and the table is where its outcome goes.
    let _detached = tempo::task::Builder::new()
        .name(&format!("job {id}"))
        .spawn(async move {
            let outcome = match work.await {
                Ok(result) => result,
                // The closure panicked: the pool caught it, and here it is.
                Err(e) if e.is_panic() => Err(format!(
                    "the job panicked: {}",
                    e.panic_message().unwrap_or("(not a string)")
                )),
                // Cancelled: the runtime is shutting down and the job had not started.
                Err(e) => Err(format!("the job did not run: {e}")),
            };
            jobs.finish(id, outcome);
        });
    Ok(id)
}

/// The job itself, on a pool thread: blocking work, simulated.
fn run_job(spec: JobSpec) -> Result<String, String> {
    let started = Instant::now();
    std::thread::sleep(spec.work);
    let took = started.elapsed().as_secs_f64();
    match spec.fail {
        None => Ok(format!("worked for {took:.2} s")),
        Some(Failure::Error) => Err(format!("failed after {took:.2} s, as asked (fail=error)")),
        Some(Failure::Panic) => panic!("gave up after {took:.2} s, as asked (fail=panic)"),
    }
}

// ---------------------------------------------------------------------------------------
// HTTP: one request per connection
// ---------------------------------------------------------------------------------------

/// The task of one connection: read one request, arriving within `deadline`, answer it,
/// close.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    deadline: Duration,
    jobs: Arc<JobTable>,
) {
    // One deadline for the whole request; see "Bounds" in the header.
    let response = match timeout(deadline, read_request(&mut stream)).await {
        Ok(Ok(Ok(request))) => respond(&request, &jobs).await,
        // The request was bad (malformed, too large): answer why.
        Ok(Ok(Err(refusal))) => refusal,
        // The client closed before sending a whole request: nobody to answer.
        Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => return,
        // A reset or another error while reading: report it, nobody to answer.
        Ok(Err(e)) => {
            eprintln!("jobs: {peer}: {e}");
            return;
        }
        Err(_elapsed) => Response::error(
            408,
            &format!("the request did not arrive within {deadline:?}"),
        ),
    };
    match timeout(WRITE_TIMEOUT, stream.write_all(&response.to_bytes())).await {
        Ok(Ok(())) => linger_close(stream).await,
        // The client reset, or closed before reading (broken pipe): it is gone.
        Ok(Err(e)) => eprintln!("jobs: {peer}: {e}"),
        Err(_elapsed) => {
            eprintln!("jobs: {peer}: did not take the answer within {WRITE_TIMEOUT:?}")
        }
    }
}

/// A parsed request.
#[derive(Debug, PartialEq)]
struct Request {
    /// `GET`, `POST`, ...
    method: String,
    /// The path, without the query.
    path: String,
    /// The query's and a form body's `name=value` pairs, in order.
    params: Vec<(String, String)>,
}

/// Reads one request: the head up to `MAX_HEAD`, then a body of `Content-Length` bytes up
/// to `MAX_BODY`. `Ok(Err(response))` refuses a bad request with that response; `Err` is
/// an I/O error, `UnexpectedEof` if the client closed early.
async fn read_request(stream: &mut TcpStream) -> io::Result<Result<Request, Response>> {
    let mut buf = [0u8; MAX_HEAD + MAX_BODY];
    let mut filled = 0;
    // 1. The head: read until an empty line, into at most `MAX_HEAD` bytes.
    let (head_len, body_start) = loop {
        if let Some(end) = head_end(&buf[..filled]) {
            break end;
        }
        if filled >= MAX_HEAD {
            return Ok(Err(Response::error(
                431,
                "the request line and headers exceed 8 KiB",
            )));
        }
        filled += read_some(stream, &mut buf[filled..MAX_HEAD]).await?;
    };
    let head = match parse_head(&buf[..head_len]) {
        Ok(head) => head,
        Err(refusal) => return Ok(Err(refusal)),
    };
    // 2. The body, all of it, so that closing does not reset the connection under our
    //    answer; `parse_head` made sure it fits.
    let body_end = body_start + head.content_length;
    while filled < body_end {
        filled += read_some(stream, &mut buf[filled..body_end]).await?;
    }
    // 3. The parameters: the query's, then a form body's.
    let mut params = match parse_params(head.query.as_deref().unwrap_or("")) {
        Ok(params) => params,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let body = &buf[body_start..body_end];
    if !body.is_empty() {
        let Ok(body) = std::str::from_utf8(body) else {
            return Ok(Err(Response::error(400, "the body is not UTF-8")));
        };
        match parse_params(body.trim_end()) {
            Ok(more) => params.extend(more),
            Err(refusal) => return Ok(Err(refusal)),
        }
    }
    Ok(Ok(Request {
        method: head.method,
        path: head.path,
        params,
    }))
}

/// One read into `buf`; EOF is an `UnexpectedEof` error, since we always expect more.
async fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    match stream.read(buf).await? {
        0 => Err(io::ErrorKind::UnexpectedEof.into()),
        n => Ok(n),
    }
}

/// Where the head ends: the length of the head (through its last line's end) and where
/// the body starts, if the empty line has arrived. Lines end in `\r\n`; a bare `\n` is
/// accepted too, as RFC 9112 allows (`nc` without `-C` sends those).
fn head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut line_start = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let line = &buf[line_start..i];
        if line.is_empty() || line == b"\r" {
            return Some((line_start, i + 1));
        }
        line_start = i + 1;
    }
    None
}

/// The parts of the head we use.
#[derive(Debug, PartialEq)]
struct Head {
    method: String,
    path: String,
    /// The target's query, after `?`.
    query: Option<String>,
    /// The body's length; 0 without a `Content-Length`.
    content_length: usize,
}

/// Parses the request line and headers (`head` without the empty line that ends it).
fn parse_head(head: &[u8]) -> Result<Head, Response> {
    let bad = |why: &str| Response::error(400, why);
    let head = std::str::from_utf8(head).map_err(|_| bad("the head is not UTF-8"))?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    // The request line: `METHOD SP TARGET SP VERSION`, exactly.
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request line is not `METHOD TARGET HTTP/1.1`"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad("the method is not an uppercase word"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(bad("only HTTP/1.0 and HTTP/1.1 are spoken here"));
    }
    if !target.starts_with('/') {
        return Err(bad("the target is not a path starting with /"));
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query.to_string())),
        None => (target, None),
    };

    // The headers: `Name: value`. We act on two and check the form of all.
    let mut content_length = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("a header line has no colon"));
        };
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(bad("a header name is empty or has whitespace"));
        }
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(Response::error(
                501,
                "chunked bodies are not supported; send Content-Length",
            ));
        }
        if name.eq_ignore_ascii_case("content-length") {
            let length: usize = value
                .parse()
                .map_err(|_| bad("Content-Length is not a number"))?;
            // Two different lengths is a request smuggling attempt or a broken client.
            if content_length.is_some_and(|l| l != length) {
                return Err(bad("two different Content-Length headers"));
            }
            content_length = Some(length);
        }
    }
    let content_length = content_length.unwrap_or(0);
    if content_length > MAX_BODY {
        return Err(Response::error(413, "the body exceeds 1 KiB"));
    }
    Ok(Head {
        method: method.to_string(),
        path: path.to_string(),
        query,
        content_length,
    })
}

/// Splits `a=1&b=2` into pairs. Shortcut, labelled: no percent-decoding — our values are
/// numbers and words. A real server decodes `%20` and `+`.
fn parse_params(text: &str) -> Result<Vec<(String, String)>, Response> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => Ok((name.to_string(), value.to_string())),
            None => Err(Response::error(
                400,
                &format!("parameter {pair:?} has no value"),
            )),
        })
        .collect()
}

/// Routes a request and builds the answer. Only the long poll awaits.
async fn respond(request: &Request, jobs: &Arc<JobTable>) -> Response {
    let method = request.method.as_str();
    match request.path.as_str() {
        "/jobs" if method == "POST" => submit_job(&request.params, jobs),
        "/jobs" => Response::error(405, "use POST to submit a job").header("Allow", "POST"),
        path => match path.strip_prefix("/jobs/") {
            Some(id) if method == "GET" => job_status(id, &request.params, jobs).await,
            Some(_) => Response::error(405, "use GET to read a job").header("Allow", "GET"),
            None => Response::error(404, "no such resource; try POST /jobs"),
        },
    }
}

/// `POST /jobs`: validates the parameters, submits, answers 202 at once.
fn submit_job(params: &[(String, String)], jobs: &Arc<JobTable>) -> Response {
    let mut spec = JobSpec {
        work: Duration::from_secs_f64(DEFAULT_JOB_SECS),
        fail: None,
    };
    for (name, value) in params {
        match name.as_str() {
            "seconds" => match seconds(value, MAX_JOB_SECS) {
                Some(work) => spec.work = work,
                None => return Response::error(400, "seconds must be a number from 0 to 60"),
            },
            "fail" => match value.as_str() {
                "error" => spec.fail = Some(Failure::Error),
                "panic" => spec.fail = Some(Failure::Panic),
                _ => return Response::error(400, "fail must be error or panic"),
            },
            other => return Response::error(400, &format!("unknown parameter {other:?}")),
        }
    }
    match submit(jobs, spec) {
        Ok(id) => Response::new(
            202,
            format!(r#"{{"id":{id},"status":"queued","url":"/jobs/{id}"}}"#),
        )
        .header("Location", &format!("/jobs/{id}")),
        Err(TableFull) => Response::error(
            503,
            "every remembered job is still queued or running; retry later",
        )
        .header("Retry-After", "1"),
    }
}

/// `GET /jobs/ID[?wait=SECS]`: the job's state, after waiting for it to finish if asked.
async fn job_status(id: &str, params: &[(String, String)], jobs: &Arc<JobTable>) -> Response {
    let mut wait = Duration::ZERO;
    for (name, value) in params {
        match (name.as_str(), seconds(value, MAX_WAIT_SECS)) {
            ("wait", Some(secs)) => wait = secs,
            ("wait", None) => return Response::error(400, "wait must be a number from 0 to 30"),
            (other, _) => return Response::error(400, &format!("unknown parameter {other:?}")),
        }
    }
    // Not a number is the same as not known: there is no such job.
    let unknown = || Response::error(404, &format!("no job {id:?}"));
    let Ok(id) = id.parse::<u64>() else {
        return unknown();
    };
    let Some((mut state, finished)) = jobs.get(id) else {
        return unknown();
    };
    if !state.is_finished() && !wait.is_zero() {
        // The long poll: this task sleeps until the job's task sets the event, or the wait
        // is over — no polling loop, and the loop serves everyone else meanwhile.
        let _ = timeout(wait, finished.wait()).await;
        // Look again; evicted meanwhile (only a finished job can be) reads as not known.
        match jobs.get(id) {
            Some((now, _)) => state = now,
            None => return unknown(),
        }
    }
    let (status, result, error) = match &state {
        JobState::Queued => ("queued", None, None),
        JobState::Running => ("running", None, None),
        JobState::Done(result) => ("done", Some(result.as_str()), None),
        JobState::Failed(why) => ("failed", None, Some(why.as_str())),
    };
    let mut body = format!(
        r#"{{"id":{id},"status":"{status}","result":{}"#,
        json_or_null(result)
    );
    if let Some(why) = error {
        let _ = write!(body, r#","error":{}"#, json_string(why));
    }
    body.push('}');
    Response::new(200, body)
}

/// Parses a number of seconds from 0 to `max`, fractions allowed.
fn seconds(text: &str, max: f64) -> Option<Duration> {
    let secs: f64 = text.parse().ok()?;
    (0.0..=max)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

/// An answer: status, extra headers, a JSON body.
#[derive(Debug, PartialEq)]
struct Response {
    /// The status code.
    status: u16,
    /// Headers beyond the ones every answer has, each `Name: value\r\n`.
    headers: String,
    /// JSON, without its final newline.
    body: String,
}

impl Response {
    fn new(status: u16, body: String) -> Response {
        Response {
            status,
            headers: String::new(),
            body,
        }
    }

    /// `{"error": why}` with `status`.
    fn error(status: u16, why: &str) -> Response {
        Response::new(status, format!(r#"{{"error":{}}}"#, json_string(why)))
    }

    fn header(mut self, name: &str, value: &str) -> Response {
        let _ = write!(self.headers, "{name}: {value}\r\n");
        self
    }

    /// The bytes on the wire.
    fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            202 => "Accepted",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            _ => "",
        };
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n{}\r\n{}\n",
            self.status,
            self.body.len() + 1,
            self.headers,
            self.body
        )
        .into_bytes()
    }
}

/// A JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c < ' ' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_or_null(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_string(), json_string)
}

/// Closes a connection without losing our answer: if we dropped the socket with request
/// bytes still unread in it (a refused oversized request), the kernel would send a reset,
/// and a reset can make the client discard the answer before reading it. So send our FIN
/// first, then read and discard until the client closes too — at most `LINGER_BYTES` for at
/// most `LINGER`. (The `hex` example explains it at more length.)
async fn linger_close(mut stream: TcpStream) {
    // NotConnected: the client is gone already, which is what we wanted.
    if stream.shutdown_std(Shutdown::Write).is_err() {
        return;
    }
    let drain = async {
        let mut sink = [0u8; 4096];
        let mut discarded = 0;
        while discarded < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    };
    // Out of time or bytes: close regardless.
    let _ = timeout(LINGER, drain).await;
}

const USAGE: &str = "usage: jobs [--addr HOST:PORT] [--workers N] [--max-jobs N] \
                     [--max-conns N] [--request-secs SECS] [--grace-secs SECS]";

/// The command line, parsed by hand to keep the example free of dependencies.
struct Args {
    /// Address to listen on, `HOST:PORT`.
    addr: String,
    /// Pool threads: jobs running at once.
    workers: usize,
    /// Jobs remembered.
    max_jobs: usize,
    /// Most connections served at once.
    max_conns: usize,
    /// How long a client has to send its whole request.
    request_deadline: Duration,
    /// How long requests under way, and running jobs, get after a stop signal.
    grace: Duration,
}

impl Args {
    /// Parses the flags in `USAGE`. An empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            addr: DEFAULT_ADDR.to_string(),
            workers: DEFAULT_WORKERS,
            max_jobs: DEFAULT_MAX_JOBS,
            max_conns: DEFAULT_MAX_CONNS,
            request_deadline: DEFAULT_REQUEST_DEADLINE,
            grace: DEFAULT_GRACE,
        };
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--addr" => args.addr = server::parse_addr(value()?)?,
                "--workers" => args.workers = count("--workers", &value()?)?,
                "--max-jobs" => args.max_jobs = count("--max-jobs", &value()?)?,
                "--max-conns" => args.max_conns = count("--max-conns", &value()?)?,
                "--request-secs" => {
                    args.request_deadline = server::parse_secs("--request-secs", &value()?)?;
                }
                "--grace-secs" => {
                    let text = value()?;
                    args.grace = match text.parse::<f64>() {
                        Ok(secs) if secs > 0.0 && secs.is_finite() => Duration::from_secs_f64(secs),
                        _ => return Err(format!("--grace-secs {text}: expected positive seconds")),
                    };
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(args)
    }
}

/// Parses a positive integer.
fn count(flag: &str, text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag} {text}: expected a positive integer")),
    }
}

// The pure parts, checked without sockets; `tests/examples.rs` checks the server end to end.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_ends_at_the_first_empty_line() {
        assert_eq!(
            head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"),
            Some((25, 27))
        );
        assert_eq!(head_end(b"GET / HTTP/1.1\nHost: x\n\nbody"), Some((23, 24)));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn a_good_head_parses() {
        let head = parse_head(b"POST /jobs?seconds=2 HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n")
            .expect("a good head");
        assert_eq!(
            head,
            Head {
                method: "POST".into(),
                path: "/jobs".into(),
                query: Some("seconds=2".into()),
                content_length: 9,
            }
        );
    }

    #[test]
    fn bad_heads_are_refused_with_the_right_status() {
        let status = |head: &str| parse_head(head.as_bytes()).unwrap_err().status;
        assert_eq!(status("GARBAGE"), 400);
        assert_eq!(status("GET /jobs/1"), 400);
        assert_eq!(status("GET /jobs/1 HTTP/2.0"), 400);
        assert_eq!(status("GET  /jobs/1 HTTP/1.1"), 400);
        assert_eq!(status("get /jobs/1 HTTP/1.1"), 400);
        assert_eq!(status("GET jobs HTTP/1.1"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nno colon"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nContent-Length: x"), 400);
        assert_eq!(
            status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2"),
            400
        );
        assert_eq!(status("POST / HTTP/1.1\r\nContent-Length: 1025"), 413);
        assert_eq!(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"), 501);
    }

    #[test]
    fn params_and_seconds() {
        assert_eq!(
            parse_params("seconds=2&fail=error").unwrap(),
            [
                ("seconds".into(), "2".into()),
                ("fail".into(), "error".into())
            ]
        );
        assert!(parse_params("").unwrap().is_empty());
        assert_eq!(parse_params("seconds").unwrap_err().status, 400);
        assert_eq!(seconds("0.5", 60.0), Some(Duration::from_millis(500)));
        assert_eq!(seconds("61", 60.0), None);
        assert_eq!(seconds("-1", 60.0), None);
        assert_eq!(seconds("NaN", 60.0), None);
    }

    #[test]
    fn the_table_evicts_the_oldest_finished_job_and_is_full_without_one() {
        let table = JobTable::new(2);
        let a = table.admit().ok().unwrap();
        let b = table.admit().ok().unwrap();
        assert!(
            table.admit().is_err(),
            "two unfinished jobs fill a table of two"
        );
        table.finish(b, Ok("b".into()));
        table.finish(a, Ok("a".into()));
        let c = table.admit().ok().unwrap();
        assert!(table.get(b).is_none(), "b finished first, so it goes first");
        assert_eq!(table.get(a).unwrap().0, JobState::Done("a".into()));
        assert_eq!(table.get(c).unwrap().0, JobState::Queued);
        assert_eq!(table.unfinished(), 1);
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(json_string("x\ny\u{1}"), r#""x\ny\u0001""#);
        assert_eq!(json_or_null(None), "null");
    }
}
