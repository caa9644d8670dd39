//! The crawler lab, "The Crawler That Doesn't Lie": an HTTP/1.1 client written by hand on
//! tempo's `TcpStream`, crawling a site of pages that are quick, slow, failing and silent,
//! with a cap on requests in flight, a per-request timeout that really cancels, structured
//! concurrency, and a summary whose every figure is measured.
//!
//! ```text
//! cargo run --example crawler                        # crawls a 40-page site in this process
//! cargo run --example crawler -- --concurrency 2 --timeout 1 --pages 100 --seed 7
//! TEMPO_DEBUG=1 cargo run --example crawler -- --block   # the seed's bug, and debug mode
//! cargo run --example crawl_site                     # or: the site in its own terminal,
//! cargo run --example crawler -- --site 127.0.0.1:8013   # and the crawler in another
//! cargo run --example crawler -- --block --trace crawl.json  # then draw the loop:
//! cargo run --example trace_view -- crawl.json             # (or open it in Perfetto)
//! ```
//!
//! Reference seed 004 (`004_e8f93ab8424043a0.txt`, §13.3) sets the lab in Python:
//!
//! ```text
//! - Build an async HTTP crawler with httpx.AsyncClient and a TaskGroup. Limit concurrency
//!   with a Semaphore(N).
//! - Add a 5-second per-request timeout using asyncio.timeout. Verify cancellation
//!   propagates cleanly to the httpx request.
//! - Inject a deliberately blocking time.sleep(2) somewhere. Detect it with
//!   asyncio.get_event_loop().slow_callback_duration = 0.1 and the resulting log warnings.
//! - Replace the blocker with asyncio.sleep. Confirm via py-spy dump that the loop never
//!   stalls.
//! ```
//!
//! # The site
//!
//! Without `--site`, the crawler starts the `crawl_site` example's server inside this
//! process, on its own thread with its own tempo runtime, on an ephemeral loopback port
//! (`--pages`, `--seed`): one command runs the whole lab. It is a separate event loop, so
//! it stands for a remote site — a crawler that blocks its own loop does not slow it. Its
//! lines are prefixed `site:`. With `--site HOST:PORT` the crawler crawls a site already
//! running (`crawl_site` in another terminal). The site prints its plan — how many pages
//! of each kind — so the summary can be checked against it: pages = fast + slow, errors =
//! status500 + reset, timeouts = hang.
//!
//! # The lesson, piece by piece
//!
//! | asyncio (the seed)                     | here                                          |
//! | -------------------------------------- | --------------------------------------------- |
//! | `httpx.AsyncClient().get(url)`         | [`fetch`]: connect, write, read — by hand      |
//! | `asyncio.Semaphore(N)`, `async with`   | `tempo::sync::Semaphore`, a permit held per request |
//! | `async with asyncio.timeout(5):`       | `tempo::time::timeout(5 s, fetch(...))`        |
//! | `async with asyncio.TaskGroup() as tg` | `tempo::task::TaskGroup`, one child per page   |
//! | `time.sleep(2)` → `asyncio.sleep(2)`   | `--block`: `std::thread::sleep` → `tempo::time::sleep` |
//! | `slow_callback_duration = 0.1`         | `TEMPO_DEBUG=1`: the slow-poll warning (100 ms) |
//! | `py-spy dump`: the loop never stalls   | the `loop stall` line, measured by a sleeper task |
//!
//! - **The client** ([`fetch`]) is what httpx does for us in Python, written out because
//!   reading a response is the lesson in framing: write `GET path HTTP/1.1` with `Host` and
//!   `Connection: close`; read until the blank line that ends the head (at most 8 KiB);
//!   parse the status line and the headers ([`parse_head`]); read exactly `Content-Length`
//!   bytes of body (at most 256 KiB), or to end of stream if there is none. Every size is
//!   bounded, and so is the crawl (`--max-pages`, 10 000 pages by default: new links past
//!   it are counted, not followed), so a hostile site — one that makes up links without
//!   end — cannot make the crawler hold unbounded memory or tasks. Shortcuts,
//!   labelled: one connection per request (httpx keeps a pool of keep-alive connections),
//!   no chunked bodies (refused as an error), no redirects, no HTTPS.
//! - **The cap**: each page's task takes a permit from a `Semaphore(N)` (`--concurrency`,
//!   default 8) before it connects and gives it back when its request ends, however it
//!   ends — the permit is a value, dropped with the task's locals. A gauge beside it counts
//!   the requests in flight and keeps the highest count: the `peak concurrency` line, which
//!   never exceeds N.
//! - **The timeout** (`--timeout`, default 5 s, the seed's) wraps the whole request,
//!   connect to last byte. When it fires, `timeout` *drops* the request's future, and with
//!   it the `TcpStream` inside: the socket is closed there and then. That is what "cancels
//!   cleanly" means in Rust — there is no `CancelledError` for the request to catch, or to
//!   swallow by mistake; its cleanup is its destructors. The site sees it: for each page
//!   that never answers it prints `the client closed the connection after 5.00 s`.
//! - **The TaskGroup**: every page is a child of one `TaskGroup`, so no request outlives
//!   the crawl, and a bug (a panic) in one child cancels its siblings and ends the crawl
//!   with an error — asyncio's TaskGroup does the same with an unexpected exception. A
//!   failed *page* is not a failed child: a 500, a reset or a timeout is an outcome to
//!   count, returned as a value, so one bad page never cancels the crawl. (Had we wanted
//!   every child to run whatever its siblings did, panics included, a `JoinSet` would be
//!   the tool; the seed teaches the group.) Children report to this task over a channel,
//!   and this task alone decides what to visit next: it owns the set of URLs seen, so
//!   each is fetched once, with no lock.
//! - **The blocking call** (`--block`): the task that fetches the first link on `/`
//!   pauses 2 s before its request. By default it pauses with `tempo::time::sleep` — the
//!   fix, `asyncio.sleep` — and only that task waits. With `--block` it pauses with
//!   `std::thread::sleep`, the seed's `time.sleep(2)`: the one worker thread sleeps, and
//!   every other request, timer and task of the crawl waits with it. The two lines are
//!   side by side in `pause`. For blocking work that has no async version (a
//!   synchronous driver, a CPU-heavy parse), the fix is `tempo::task::spawn_blocking`
//!   (`asyncio.to_thread`), shown there too.
//!
//! With `TEMPO_DEBUG=1` (asyncio's debug mode with `slow_callback_duration = 0.1`), tempo
//! names the task that blocks, on stderr — the watchdog while it is stuck, the slow-poll
//! warning once its poll returns, and the loop turn that poll held up:
//!
//! ```text
//! tempo watchdog: worker 0 is blocked now: task 1.2 spawned at examples/crawler.rs:306:15
//!   has been running for 121.510287ms in its poll #1, and no other task, socket or timer on
//!   that worker can make progress until it returns
//! tempo: slow poll: task 1.2 spawned at examples/crawler.rs:306:15 ran for 2.00033782s in
//!   its poll #1 on worker 0, blocking every other task on that worker; move blocking work
//!   to spawn_blocking
//! tempo: long loop turn on worker 0: 2.002057131s running 10 task polls, after a reactor
//!   turn that delivered 1 I/O events and fired 0 timers; I/O and timers waited all that time
//! ```
//!
//! The location is the `group.spawn` in `crawl_pages`: the page tasks are spawned without
//! a name, so debug mode names them by where they were spawned
//! (`TaskGroup::spawn_named`, asyncio's `tg.create_task(coro, name=...)`, would give each
//! its path as a name; the location is what points at the line to fix). And
//! what `py-spy dump` is for in the seed — confirming that the loop never stalls — a task
//! here measures: it sleeps 10 ms at a time and records how late it wakes. The summary's
//! `loop stall` is the worst: 2 s with `--block` (1 993 ms in the run above), a few
//! milliseconds without — tens on a loaded machine, where the watcher also waits for a
//! core (48 ms below, on a 2-core machine with a load average of 11).
//!
//! # What it prints
//!
//! A line per page as its request ends, then the summary (from one default run):
//!
//! ```text
//! site: listening on 127.0.0.1:36159 (in this process, on its own thread)
//! site: plan: pages=40 seed=13 fast=21 slow=9 status500=4 reset=2 hang=4
//! crawling http://127.0.0.1:36159/: at most 8 requests at once, 5 s each
//! ok       /                  0 ms  8 links
//! ok       /page/2            3 ms  5 links
//! error    /page/18           3 ms  HTTP 500
//! ...
//! timeout  /page/5         5001 ms  no answer: request cancelled, socket closed
//! site: /page/5: the client closed the connection after 5.00 s, never answered
//! ...
//! summary
//!   pages               30  answered 200, of 40 requests: one per page found (60 repeated
//!                           and 1 off-site links not followed)
//!   errors               6  4 × HTTP 500, 2 × connection reset
//!   timeouts             4  no answer within 5 s: each request cancelled, its socket closed
//!   elapsed           5.01 s
//!   peak concurrency     8  requests in flight at once (limit 8)
//!   loop stall          48 ms  the longest a 10 ms sleeper woke late
//! ```
//!
//! With `--block`, the same crawl took 7.21 s: every request after the blocking call
//! waited for it, so the whole crawl moved 2 s later.
//!
//! Exit status 0 when the crawl ran to its end (whatever the pages did), 1 if it could not
//! (a page task panicked, the runtime or the in-process site could not start), 2 for a
//! mistake in the flags.

#[path = "crawl_site.rs"]
mod site;

use std::collections::{BTreeMap, HashSet};
use std::convert::Infallible;
use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempo::net::TcpStream;
use tempo::sync::Semaphore;
use tempo::sync::mpsc::{self, UnboundedSender};
use tempo::task::{TaskGroup, TaskGroupError};
use tempo::time::{sleep, timeout};

/// Requests in flight at once unless `--concurrency` says otherwise.
const DEFAULT_CONCURRENCY: usize = 8;
/// The most `--concurrency` may ask for: each request is a socket.
const MAX_CONCURRENCY: usize = 1024;
/// The most pages one crawl fetches, unless `--max-pages` says otherwise: a site that makes
/// up new links without end (any site given with `--site` may) cannot make the crawler
/// spawn tasks, or remember URLs, without end. Links past it are counted, not followed.
const DEFAULT_MAX_PAGES: usize = 10_000;
/// The per-request deadline unless `--timeout` says otherwise: the seed's 5 s.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause one task takes before its request: the seed's `time.sleep(2)`.
const PAUSE: Duration = Duration::from_secs(2);
/// The longest response head we read.
const MAX_HEAD: usize = 8 * 1024;
/// The longest response body we read.
const MAX_BODY: usize = 256 * 1024;
/// The most links we take from one page...
const MAX_LINKS: usize = 256;
/// ...and the longest link we follow.
const MAX_LINK_LEN: usize = 2048;
/// How often the loop watcher wakes to see how late it is.
const TICK: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    let args = match site::server::parse_args("crawler", USAGE, Args::parse) {
        Ok(args) => args,
        // `--help` (status 0) or a mistake in the flags (status 2), already reported.
        Err(status) => return status,
    };
    // One worker, as asyncio has one loop: every page task, and the loop watcher, share it.
    // With `--trace FILE`, every poll, reactor turn and wake of the crawl is recorded, and
    // written to FILE when the runtime is dropped at the end of `main`.
    let mut builder = tempo::Builder::new();
    builder.workers(1);
    if let Some(path) = &args.trace {
        builder.trace(path);
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("crawler: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let site = match args.site.clone() {
        Some(site) => site,
        None => match site::run_in_thread(args.pages, args.seed, site::DEFAULT_HOLD, "site: ") {
            Ok((addr, plan)) => {
                println!("site: listening on {addr} (in this process, on its own thread)");
                println!("site: {plan}");
                addr.to_string()
            }
            Err(e) => {
                eprintln!("crawler: cannot start the site: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    println!(
        "crawling http://{site}/: at most {} requests at once, {} each",
        args.concurrency,
        secs(args.timeout)
    );
    match runtime.block_on(crawl(site, args)) {
        Ok(summary) => {
            summary.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crawler: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// The crawl: a TaskGroup of page tasks, and this task deciding what to visit
// ---------------------------------------------------------------------------------------

/// What every page task shares.
struct Crawl {
    /// The site, `HOST:PORT`; also the `Host` header.
    site: String,
    /// One permit per request in flight: `asyncio.Semaphore(N)`.
    limit: Semaphore,
    /// Requests in flight now, and the most there ever were.
    gauge: Gauge,
    /// The per-request deadline.
    timeout: Duration,
}

/// What a page task sends back when its request has ended.
struct Report {
    /// The page's path.
    path: String,
    /// What came of it.
    outcome: Outcome,
    /// How long the request took, connect to last byte (or to the timeout).
    took: Duration,
}

/// What came of one request.
enum Outcome {
    /// 200: the page's same-site links, and how many links left the site.
    Page { links: Vec<String>, offsite: usize },
    /// Anything else that ended the request: a status other than 200, a reset, a
    /// malformed response. The text is what the summary groups errors by.
    Error(String),
    /// No answer within the deadline; the request was cancelled.
    Timeout,
}

/// Crawls `site` from `/` with the loop watcher running beside the crawl.
async fn crawl(site: String, args: Args) -> Result<Summary, String> {
    // Not part of the crawl, so not in its group: a task of its own, aborted at the end.
    let longest_stall = Arc::new(AtomicU64::new(0));
    let watcher = tempo::spawn(watch_the_loop(Arc::clone(&longest_stall)));
    let crawled = crawl_pages(site, args).await;
    watcher.abort();
    let mut summary = crawled?;
    summary.stall = Duration::from_micros(longest_stall.load(Ordering::Relaxed));
    Ok(summary)
}

/// The crawl itself: one child of a `TaskGroup` per page, each URL once.
async fn crawl_pages(site: String, args: Args) -> Result<Summary, String> {
    let started = Instant::now();
    let crawl = Arc::new(Crawl {
        site,
        limit: Semaphore::new(args.concurrency),
        gauge: Gauge::default(),
        timeout: args.timeout,
    });
    let (reports_tx, mut reports) = mpsc::unbounded_channel::<Report>();
    // A page's failure is an `Outcome`, not an error of its task, so a child's `Result`
    // has no error to return (`Infallible`): only a panic — a bug — fails the group.
    let mut group = TaskGroup::<Infallible>::new();
    let spawn = |group: &TaskGroup<Infallible>, path: String, pause_first: Option<Pause>| {
        let crawl = Arc::clone(&crawl);
        let reports = reports_tx.clone();
        // Each page is a child of the group: `tg.create_task(visit(path))`.
        group.spawn(async move {
            visit(crawl, path, pause_first, reports).await;
            Ok(())
        });
    };

    let mut summary = Summary {
        limit: args.concurrency,
        timeout: args.timeout,
        ..Summary::default()
    };
    let mut seen = HashSet::from(["/".to_string()]);
    spawn(&group, "/".to_string(), None);
    // Children spawned and not yet reported.
    let mut pending = 1;
    while pending > 0 {
        let report = tempo::select! {
            // `biased`: a report that is waiting is read before the group is asked whether
            // its children are all done — each child reports before it ends.
            biased;
            Some(report) = reports.recv() => report,
            joined = group.join() => match joined {
                Err(TaskGroupError::Panicked(e)) => {
                    return Err(format!("a page task panicked, and the crawl was cancelled: {e}"));
                }
                Err(TaskGroupError::Failed(never)) => match never {},
                // Every child has ended, yet `pending` says one has not reported.
                Ok(()) => match reports.try_recv() {
                    Ok(report) => report,
                    Err(_) => return Err("a page task ended without a report".into()),
                },
            },
        };
        pending -= 1;
        let new_links = summary.count(&report);
        for link in new_links {
            // Each URL once: this task alone holds `seen`.
            if seen.contains(&link) {
                summary.repeats += 1;
                continue;
            }
            // The bound on the crawl: past `--max-pages`, a new link is counted, not fetched
            // and not remembered — so `seen` is bounded too.
            if summary.links + 1 >= args.max_pages {
                summary.over_max += 1;
                continue;
            }
            seen.insert(link.clone());
            // The experiment: the first link followed — the first on `/` — pauses first.
            let pause = (summary.links == 0).then_some(if args.block {
                Pause::Blocking
            } else {
                Pause::Async
            });
            summary.links += 1;
            spawn(&group, link, pause);
            pending += 1;
        }
    }
    // Every child has reported; wait for each to have ended too, so none outlives the crawl.
    if let Err(TaskGroupError::Panicked(e)) = group.join().await {
        return Err(format!("a page task panicked: {e}"));
    }
    summary.elapsed = started.elapsed();
    summary.peak = crawl.gauge.peak.load(Ordering::Relaxed);
    Ok(summary)
}

/// One page: pause if asked to, wait for a permit, fetch under the deadline, report.
async fn visit(
    crawl: Arc<Crawl>,
    path: String,
    pause_first: Option<Pause>,
    reports: UnboundedSender<Report>,
) {
    if let Some(how) = pause_first {
        pause(how).await;
    }
    // `async with sem:` — the permit is released when `_permit` is dropped, at the end of
    // this function however it ends (a cancelled task drops it too).
    let _permit = crawl
        .limit
        .acquire()
        .await
        .expect("the crawl never closes its semaphore");
    let _in_flight = crawl.gauge.enter();
    let start = Instant::now();
    // `async with asyncio.timeout(5): await client.get(url)`. On timeout, `timeout` drops
    // `fetch`'s future, and the `TcpStream` it owns is closed right there.
    let outcome = match timeout(crawl.timeout, fetch(&crawl.site, &path)).await {
        Ok(Ok(response)) if response.status == 200 => {
            let (links, offsite) = links(&response.body);
            Outcome::Page { links, offsite }
        }
        Ok(Ok(response)) => Outcome::Error(format!("HTTP {}", response.status)),
        Ok(Err(e)) => Outcome::Error(e.to_string()),
        Err(_elapsed) => Outcome::Timeout,
    };
    let took = start.elapsed();
    // The receiver lives as long as the crawl; if it is gone, so is anyone to tell.
    let _ = reports.send(Report {
        path,
        outcome,
        took,
    });
}

/// How the paused task pauses.
#[derive(Clone, Copy, Debug)]
enum Pause {
    /// `--block`: the seed's `time.sleep(2)`.
    Blocking,
    /// The default, and the fix: `asyncio.sleep(2)`.
    Async,
}

/// The seed's experiment, the bug and its fix side by side.
async fn pause(how: Pause) {
    match how {
        // The bug. `std::thread::sleep` blocks the thread this poll runs on — the worker's
        // only thread — so no other task, socket or timer of the crawl moves for 2 s.
        // `TEMPO_DEBUG=1` names this task; the summary's `loop stall` measures it.
        Pause::Blocking => std::thread::sleep(PAUSE),
        // The fix. `tempo::time::sleep` registers a timer and returns `Pending`: this task
        // waits, the loop runs everyone else. For blocking work with no async version,
        // the fix is the blocking pool instead, awaited the same way:
        //     tempo::task::spawn_blocking(|| legacy_call()).await
        Pause::Async => sleep(PAUSE).await,
    }
}

/// Requests in flight now, and the most there ever were. Counted inside the permit, so
/// `peak` can never exceed the semaphore's N — unless the semaphore is broken.
#[derive(Default)]
struct Gauge {
    /// In flight now.
    now: AtomicUsize,
    /// The highest `now` has been.
    peak: AtomicUsize,
}

/// One request in flight; counted out when dropped, however the request ends.
struct InFlight<'a>(&'a Gauge);

impl Gauge {
    fn enter(&self) -> InFlight<'_> {
        let now = self.now.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        InFlight(self)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What `py-spy dump` confirms in the seed — that the loop never stalls — measured from
/// inside: sleep `TICK`, see how late the wake-up came, keep the worst. A late wake-up is
/// time the loop spent on something else: on a poll that did not return.
async fn watch_the_loop(longest: Arc<AtomicU64>) {
    loop {
        let asked = Instant::now();
        sleep(TICK).await;
        let late = asked.elapsed().saturating_sub(TICK);
        let micros = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
        longest.fetch_max(micros, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------
// The client: one GET, by hand
// ---------------------------------------------------------------------------------------

/// A response: its status and its body.
#[derive(Debug)]
struct Response {
    /// The status code, 100 to 599.
    status: u16,
    /// The body, at most `MAX_BODY` bytes.
    body: Vec<u8>,
}

/// What the head of a response says about reading the rest.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    /// The status code.
    status: u16,
    /// `Content-Length`, if there was one.
    length: Option<usize>,
}

/// Why a request failed before a whole response came back.
#[derive(Debug)]
enum FetchError {
    /// The connection failed: refused, reset, broken.
    Io(io::Error),
    /// The site sent something we do not accept, or closed early.
    Protocol(&'static str),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The kind, not the message: "connection reset", not "Connection reset by peer
            // (os error 104)", so that the summary groups them.
            FetchError::Io(e) => write!(f, "{}", e.kind()),
            FetchError::Protocol(why) => f.write_str(why),
        }
    }
}

impl From<io::Error> for FetchError {
    fn from(e: io::Error) -> FetchError {
        FetchError::Io(e)
    }
}

/// `GET path` from `site` (`HOST:PORT`): connect, send the request, read the head, read the
/// body. Every read is bounded; the caller bounds the time.
async fn fetch(site: &str, path: &str) -> Result<Response, FetchError> {
    // A host name is looked up on the blocking pool (`tempo::net::ToSocketAddrs`), never on
    // the loop; an address literal is parsed in place.
    let mut stream = TcpStream::connect(site).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {site}\r\nUser-Agent: tempo-crawler\r\n\
         Accept: text/html\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;

    // 1. The head: read until the blank line that ends it, in at most MAX_HEAD bytes. The
    //    same reads may bring the start of the body; it stays in `buf`, after the head.
    let mut buf = Vec::with_capacity(4096);
    let head_len = loop {
        if let Some(at) = find(&buf, b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() >= MAX_HEAD {
            return Err(FetchError::Protocol("response head over 8 KiB"));
        }
        if read_some(&mut stream, &mut buf).await? == 0 {
            return Err(FetchError::Protocol("closed before a whole response head"));
        }
    };
    let head = parse_head(&buf[..head_len])?;
    let mut body = buf.split_off(head_len);

    // 2. The body (RFC 9112 §6.3): no body for 204 and 304; exactly `Content-Length`
    //    bytes if there is one; otherwise everything until the site closes (we asked for
    //    `Connection: close`, so that is where it ends).
    match (head.status, head.length) {
        (204 | 304, _) => body.clear(),
        (_, Some(length)) => {
            if length > MAX_BODY {
                return Err(FetchError::Protocol("response body over 256 KiB"));
            }
            while body.len() < length {
                if read_some(&mut stream, &mut body).await? == 0 {
                    return Err(FetchError::Protocol("closed before the whole body"));
                }
            }
            // Bytes past the body would be a second response, which we did not ask for.
            body.truncate(length);
        }
        (_, None) => {
            while read_some(&mut stream, &mut body).await? > 0 {
                if body.len() > MAX_BODY {
                    return Err(FetchError::Protocol("response body over 256 KiB"));
                }
            }
        }
    }
    Ok(Response {
        status: head.status,
        body,
    })
}

/// Reads what the socket has (up to 4 KiB) onto the end of `buf`; 0 at end of stream.
async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses a response head, blank line included (RFC 9112 §4 and §5):
///
/// ```text
/// status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF
/// field-line  = field-name ":" OWS field-value OWS CRLF
/// ```
///
/// We keep the status and `Content-Length` — digits only; repeated, it must repeat the same
/// value (§6.3) — and refuse `Transfer-Encoding` (chunked), which this client does not
/// decode: a labelled shortcut.
fn parse_head(head: &[u8]) -> Result<Head, FetchError> {
    let bad = FetchError::Protocol;
    let text = std::str::from_utf8(head).map_err(|_| bad("response head is not text"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let (version, rest) = status_line
        .split_once(' ')
        .ok_or(bad("malformed status line"))?;
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(bad("not an HTTP/1.x response"));
    }
    let code = rest.get(..3).ok_or(bad("malformed status line"))?;
    if !code.bytes().all(|b| b.is_ascii_digit())
        || !matches!(rest.as_bytes().get(3), None | Some(b' '))
    {
        return Err(bad("malformed status code"));
    }
    let status: u16 = code.parse().map_err(|_| bad("malformed status code"))?;
    if !(100..=599).contains(&status) {
        return Err(bad("status code out of range"));
    }
    if status < 200 {
        // We send no `Expect: 100-continue` and ask for no upgrade.
        return Err(bad("unexpected interim (1xx) response"));
    }
    let mut length = None;
    for line in lines.take_while(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(bad("malformed header line"))?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad("malformed header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("malformed Content-Length"));
            }
            // Too many digits for a usize is, a fortiori, over MAX_BODY.
            let n = value.parse().unwrap_or(usize::MAX);
            if length.is_some_and(|earlier| earlier != n) {
                return Err(bad("conflicting Content-Length headers"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(bad("chunked bodies are not supported"));
        }
    }
    Ok(Head { status, length })
}

/// The links in an HTML page: each `href="..."`. Same-site paths (`/...`, not `//...`)
/// are kept, without their `#fragment`, up to `MAX_LINKS` of at most `MAX_LINK_LEN` bytes;
/// the rest leave the site and are only counted. A crawler of the real web would parse
/// the HTML and resolve relative links against the page's URL; this site writes its links
/// as absolute paths, so finding the attribute is enough.
fn links(body: &[u8]) -> (Vec<String>, usize) {
    let text = String::from_utf8_lossy(body);
    let mut links = Vec::new();
    let mut offsite = 0;
    for piece in text.split("href=\"").skip(1) {
        let Some((link, _)) = piece.split_once('"') else {
            break;
        };
        let link = link.split('#').next().unwrap_or_default();
        if link.starts_with('/') && !link.starts_with("//") && link.len() <= MAX_LINK_LEN {
            if links.len() == MAX_LINKS {
                break;
            }
            links.push(link.to_string());
        } else {
            offsite += 1;
        }
    }
    (links, offsite)
}

// ---------------------------------------------------------------------------------------
// The summary
// ---------------------------------------------------------------------------------------

/// What the crawl found, every figure counted or measured in this run.
#[derive(Debug, Default)]
struct Summary {
    /// Pages answered 200.
    pages: usize,
    /// Requests that ended in an error, by what the error was.
    errors: BTreeMap<String, usize>,
    /// Requests that timed out.
    timeouts: usize,
    /// Links to pages not seen before: each one request (`/` is the one more).
    links: usize,
    /// Links to pages already seen (or queued): not fetched again.
    repeats: usize,
    /// Links off the site: not followed.
    offsite: usize,
    /// Links to pages not fetched, past `--max-pages` (a link seen twice counts twice).
    over_max: usize,
    /// From the first request to the last report.
    elapsed: Duration,
    /// The most requests in flight at once.
    peak: usize,
    /// The semaphore's N.
    limit: usize,
    /// The per-request deadline.
    timeout: Duration,
    /// The longest the loop watcher woke late.
    stall: Duration,
}

impl Summary {
    /// Counts one report and prints its line; returns the links it found.
    fn count(&mut self, report: &Report) -> Vec<String> {
        let path = &report.path;
        let ms = report.took.as_millis();
        match &report.outcome {
            Outcome::Page { links, offsite } => {
                self.pages += 1;
                self.offsite += offsite;
                println!("ok       {path:<14} {ms:>5} ms  {} links", links.len());
                links.clone()
            }
            Outcome::Error(why) => {
                *self.errors.entry(why.clone()).or_default() += 1;
                println!("error    {path:<14} {ms:>5} ms  {why}");
                Vec::new()
            }
            Outcome::Timeout => {
                self.timeouts += 1;
                println!(
                    "timeout  {path:<14} {ms:>5} ms  no answer: request cancelled, socket closed"
                );
                Vec::new()
            }
        }
    }

    fn print(&self) {
        let errors: usize = self.errors.values().sum();
        let kinds: Vec<String> = self
            .errors
            .iter()
            .map(|(why, n)| format!("{n} × {why}"))
            .collect();
        println!("summary");
        println!(
            "  pages           {:>6}  answered 200, of {} requests: one per page found \
             ({} repeated and {} off-site links not followed)",
            self.pages,
            self.links + 1,
            self.repeats,
            self.offsite
        );
        if self.over_max > 0 {
            println!(
                "  not followed    {:>6}  links (repeats counted) to pages past --max-pages {}",
                self.over_max,
                self.links + 1
            );
        }
        println!("  errors          {errors:>6}  {}", kinds.join(", "));
        println!(
            "  timeouts        {:>6}  no answer within {}: each request cancelled, its socket closed",
            self.timeouts,
            secs(self.timeout)
        );
        println!("  elapsed         {:>6.2} s", self.elapsed.as_secs_f64());
        println!(
            "  peak concurrency {:>5}  requests in flight at once (limit {})",
            self.peak, self.limit
        );
        println!(
            "  loop stall      {:>6} ms  the longest a {} ms sleeper woke late",
            self.stall.as_millis(),
            TICK.as_millis()
        );
    }
}

/// A duration as the command line gives it: `5 s`, `0.5 s`.
fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

// ---------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------

const USAGE: &str = "usage: crawler [--site HOST:PORT | --pages N --seed S] [--concurrency N] \
                     [--timeout SECS] [--max-pages N] [--block] [--trace FILE]";

/// The command line, parsed by hand to keep the example free of dependencies.
#[derive(Debug)]
struct Args {
    /// The site to crawl; `None`: start `crawl_site` in this process.
    site: Option<String>,
    /// Pages of the in-process site.
    pages: usize,
    /// Seed of the in-process site.
    seed: u64,
    /// Requests in flight at once: the semaphore's N.
    concurrency: usize,
    /// The per-request deadline.
    timeout: Duration,
    /// Pause with `std::thread::sleep` (the bug) instead of `tempo::time::sleep`.
    block: bool,
    /// Record the loop to this file (`tempo::Builder::trace`).
    trace: Option<std::path::PathBuf>,
    /// The most pages to fetch, `/` included.
    max_pages: usize,
}

impl Args {
    /// Parses the flags in `USAGE`. An empty error means `--help`.
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut args = Args {
            site: None,
            pages: site::DEFAULT_PAGES,
            seed: site::DEFAULT_SEED,
            concurrency: DEFAULT_CONCURRENCY,
            timeout: DEFAULT_TIMEOUT,
            block: false,
            trace: None,
            max_pages: DEFAULT_MAX_PAGES,
        };
        let mut site_flags = false;
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--site" => {
                    let text = value()?;
                    args.site = Some(
                        site::server::parse_addr(text)
                            .map_err(|e| e.replacen("--addr", "--site", 1))?,
                    );
                }
                "--pages" => {
                    args.pages = site::parse_pages(&value()?)?;
                    site_flags = true;
                }
                "--seed" => {
                    let text = value()?;
                    args.seed = text
                        .parse()
                        .map_err(|_| format!("--seed {text}: expected a whole number"))?;
                    site_flags = true;
                }
                "--concurrency" => {
                    let text = value()?;
                    args.concurrency = match text.parse() {
                        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => n,
                        _ => {
                            return Err(format!(
                                "--concurrency {text}: expected a number in 1..={MAX_CONCURRENCY}"
                            ));
                        }
                    };
                }
                "--timeout" => args.timeout = site::server::parse_secs("--timeout", &value()?)?,
                "--block" => args.block = true,
                "--trace" => args.trace = Some(value()?.into()),
                "--max-pages" => {
                    let text = value()?;
                    args.max_pages = match text.parse() {
                        Ok(n) if n >= 1 => n,
                        _ => {
                            return Err(format!(
                                "--max-pages {text}: expected a number, 1 or more"
                            ));
                        }
                    };
                }
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if site_flags && args.site.is_some() {
            return Err(
                "--pages and --seed are for the in-process site; the site given \
                        with --site has its own"
                    .into(),
            );
        }
        Ok(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, String> {
        parse_head(text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn response_heads() {
        assert_eq!(
            head("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX: y\r\n\r\n"),
            Ok(Head {
                status: 200,
                length: Some(12)
            })
        );
        assert_eq!(
            head("HTTP/1.0 500\r\ncontent-length:  3 \r\ncontent-length: 3\r\n\r\n"),
            Ok(Head {
                status: 500,
                length: Some(3)
            })
        );
        assert_eq!(
            head("HTTP/1.1 404 Not Found\r\n\r\n"),
            Ok(Head {
                status: 404,
                length: None
            })
        );
        for (bad, why) in [
            ("HTTP/2 200 OK\r\n\r\n", "not an HTTP/1.x response"),
            ("HTTP/1.1 20 OK\r\n\r\n", "malformed status code"),
            ("HTTP/1.1 2000 OK\r\n\r\n", "malformed status code"),
            ("HTTP/1.1 999 Huh\r\n\r\n", "status code out of range"),
            (
                "HTTP/1.1 100 Continue\r\n\r\n",
                "unexpected interim (1xx) response",
            ),
            (
                "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                "malformed header line",
            ),
            ("HTTP/1.1 200 OK\r\nA b: c\r\n\r\n", "malformed header name"),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                "malformed Content-Length",
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "conflicting Content-Length headers",
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                "chunked bodies are not supported",
            ),
        ] {
            assert_eq!(head(bad), Err(why.to_string()), "{bad:?}");
        }
    }

    #[test]
    fn links_stay_on_the_site() {
        let html = br##"<a href="/page/1">1</a> <a href="/page/2#top">2</a>
            <a href="https://example.invalid/">x</a> <a href="//cdn.invalid/x">y</a>
            <a href="/page/3"##;
        let (links, offsite) = links(html);
        assert_eq!(links, ["/page/1", "/page/2"]);
        assert_eq!(offsite, 2);
    }

    #[test]
    fn command_line() {
        let parse = |args: &[&str]| Args::parse(args.iter().map(|s| s.to_string()));
        let args = parse(&[]).expect("defaults");
        assert_eq!(args.site, None);
        assert_eq!(
            (args.concurrency, args.timeout),
            (DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT)
        );
        let args = parse(&[
            "--site",
            "127.0.0.1:8013",
            "--concurrency",
            "2",
            "--timeout",
            "0.5",
        ])
        .expect("valid");
        assert_eq!(args.site.as_deref(), Some("127.0.0.1:8013"));
        assert_eq!(args.timeout, Duration::from_millis(500));
        for bad in [
            &["--concurrency", "0"][..],
            &["--concurrency", "9999"],
            &["--timeout", "0"],
            &["--timeout"],
            &["--site", "localhost"],
            &["--site", "127.0.0.1:1", "--pages", "5"],
            &["--pages", "0"],
            &["--bogus"],
        ] {
            assert!(parse(bad).is_err_and(|e| !e.is_empty()), "{bad:?}");
        }
    }
}
